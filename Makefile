# Two commands from a fresh clone (a machine with Python 3.11 only):
#   make book   — install, get the data, execute every chapter (full profile, papermill), build the site
#   make test   — install, get the data, run the tests (unit tests + every chapter notebook, quick profile)
# Both fetch the required data first (`make data`: from pinned public sources, verified; a no-op
# when the files are already in a data directory). `make data` also tries the optional sets.
# Everything installs into ./.venv from requirements.txt (pinned). torch is the CPU build;
# for a GPU build: make env TORCH_INDEX=https://download.pytorch.org/whl/cu126
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# pip gets the torch index only where its host resolves: on a closed network with a local wheel
# mirror pip would look it up, fail and retry for every package (26 s of a 79-s install there).
TORCH_INDEX_ARG = $(shell $(PYTHON) -c 'import socket, sys, urllib.parse as up; \
    u = up.urlparse(sys.argv[1]); ok = u.scheme == "file" or (u.hostname and socket.getaddrinfo(u.hostname, 443)); \
    ok and print("--extra-index-url", sys.argv[1])' '$(TORCH_INDEX)' 2>/dev/null)
DEVICE ?= auto
TEST_WORKERS ?= auto
# The bytecode is compiled after the install, on every core: pip compiles one file at a time
# (half of a warm-cache install; HISTORY.md). Skipped: a torch test helper in Python 3.12 syntax.
COMPILE_SKIP := torch/testing/_internal/py312_intrinsics

.PHONY: env data required-data book chapters site test quick clean

env: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile --retries 1 --timeout 30 \
	    $(TORCH_INDEX_ARG) -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-compile --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m compileall -q -j 0 -x '$(COMPILE_SKIP)' $(VENV)/lib
	touch $@

data: env              ## every data set the book reads (Nichols and Kato's MAT file: optional)
	$(BIN)/python -m wormlib.data --optional

required-data: env     ## the data every chapter needs, fetched where missing
	$(BIN)/python -m wormlib.data

chapters: required-data ## execute the chapters whose inputs changed (full profile → book/chapters)
	$(BIN)/python tools/execute_chapters.py --profile full --device $(DEVICE)
	$(BIN)/python tools/execute_chapters.py --profile quick

site: env              ## render the executed chapters (no execution)
	$(BIN)/jupyter-book build book/

book: chapters site

test: required-data    ## the tests, one pytest-xdist worker per core (TEST_WORKERS=0: none)
	$(BIN)/python -m pytest --nbval -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

clean:
	rm -rf book/_build

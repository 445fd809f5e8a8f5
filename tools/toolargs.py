"""What the command-line tools that run chapter code share: a profile and a thread count, with the
threads pinned as ``execute_chapters.py`` pins them for a chapter (before torch is imported)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from wormlib.jobs import ONE_THREAD_ENV  # imports no NumPy or torch

THREAD_VARS = tuple(ONE_THREAD_ENV)
"""The BLAS/OpenMP thread variables: those a training worker starts at one (``wormlib.jobs``)."""


def openblas_core(machine: str | None = None, cpuinfo: str | None = None) -> dict[str, str]:
    """``OPENBLAS_CORETYPE=Haswell`` on an x86-64 Linux CPU with AVX2 and FMA, else nothing.

    NumPy's and SciPy's OpenBLAS pick their kernels from the CPU they load on: AVX2 kernels on
    one machine, AVX-512 ones on another, with other rounding. Logistic regression (scikit-learn's
    L-BFGS on NumPy) then converges to other bits: on an AVX-512 machine, 22 of chapter 3's 2,394
    quick records moved by up to 0.0047 (HISTORY.md, the run of 2026-12-04). Haswell's kernels run on every
    AVX2 machine, so the book's numbers are the same bits on all of them. Torch's BLAS is not
    OpenBLAS and does not read this variable."""
    machine = platform.machine() if machine is None else machine
    if machine.lower() not in ("x86_64", "amd64"):
        return {}
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:                                     # not Linux: leave OpenBLAS to choose
            return {}
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return {"OPENBLAS_CORETYPE": "Haswell"} if {"avx2", "fma"} <= set(flags) else {}


CHAPTER_ENV = {"NUMPY_MADVISE_HUGEPAGE": "0", **openblas_core()}
"""The environment every process that runs chapter code gets (unless the caller set a variable).
NumPy madvises each large array for transparent huge pages; where the kernel's THP defrag setting
is ``madvise`` (as on the development machine), faulting such an array in can stall on synchronous
memory compaction (numpy issue 31590). Chapter 1's quick profile, mostly ADMM's large distance
blocks, took 81–84 s with the advice and 55–58 s without, on the 2-core development machine
(HISTORY.md). Where memory comes from changes, not a single number. ``openblas_core``: the same
BLAS kernels on every AVX2 machine, so the same numbers."""


def chapter_environment(env: dict | None = None) -> dict:
    """``env`` (default: this process's ``os.environ``, changed in place) with ``CHAPTER_ENV``'s
    variables set where it has none; call before NumPy is imported for this process to feel it."""
    env = os.environ if env is None else env
    for var, value in CHAPTER_ENV.items():
        env.setdefault(var, value)
    return env


def chapter_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with ``--profile`` and ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("quick", "full"))
    parser.add_argument("--threads", type=int, default=1)
    return parser


def pin_threads(n: int) -> None:
    """Set the BLAS/OpenMP thread counts of this process to ``n`` and the rest of a chapter's
    environment (``CHAPTER_ENV``), as the chapters run (call before importing NumPy or torch)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    chapter_environment()


def json_at_commit(script: str, commit: str, args: list[str]) -> dict:
    """Run ``script`` (this repository's copy) with ``--json --root <tree> *args`` on ``commit``'s
    wormlib, checked out in a temporary git worktree; the last line it prints, as JSON. The
    ``--against`` of the benchmarks: both commits measured in one run, on one machine."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=root, check=True,
                       capture_output=True)
        try:
            cmd = [sys.executable, str(Path(script).resolve()), "--json", "--root", str(tree), *args]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, check=False)
    return json.loads(out.strip().splitlines()[-1])

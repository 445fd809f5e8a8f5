"""The book never shows numbers from code that has since changed."""

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from execute_chapters import CHAPTERS, fix_command, output_path, why_stale  # noqa: E402

from wormlib.provenance import inputs_hash  # noqa: E402
from wormlib.results import FIELDS, VOCABULARY  # noqa: E402


@pytest.mark.parametrize("profile", ["full", "quick"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_chapter_is_current(chapter, profile):
    # one rule for both profiles (execute_chapters.why_stale): inputs hash, the results files, the
    # store entries of its experiments and the data files the page read, as recorded when it ran
    path = output_path(chapter, profile)
    fix = f"`{fix_command(chapter, profile)}`, then commit the page and results/"
    assert path.exists(), f"{path} missing: run {fix}"
    meta = nbformat.read(path, as_version=4).metadata["wormlib"]
    assert meta["profile"] == profile
    digest = inputs_hash(chapter, profile, meta["device"], meta["seed"], meta.get("threads", 1))
    reason = why_stale(meta, digest)
    assert reason is None, f"{path.relative_to(ROOT)} is stale ({reason}). Run {fix}."


ABSOLUTE = re.compile(r"(?<![\w.~])/(?:home|root|tmp|work|Users|mnt|var|opt|srv|private)/")


@pytest.mark.parametrize("profile", ["full", "quick"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_pages_hold_no_machine_paths_and_stable_ids(chapter, profile):
    nb = nbformat.read(output_path(chapter, profile), as_version=4)
    for cell in nb.cells:
        assert re.fullmatch(r"\d\d-\d{3}", cell.get("id", "")), cell.get("id")
        for output in cell.get("outputs", []):
            text = json.dumps({k: v for k, v in output.items() if k != "data"} |
                              {"data": {m: v for m, v in output.get("data", {}).items()
                                        if not m.startswith("image/")}})
            assert not ABSOLUTE.search(text), (cell.id, ABSOLUTE.search(text).group())


ECHOED = r"""'[^']*'|"[^"]*"|-?\d+(\.\d*)?(e-?\d+)?|None|True|False|\(.*\)"""
"""What a bare value echoed by a cell's last line looks like: a string (either quote), a number,
None, a bool or a tuple."""


def test_the_echo_pattern_matches_what_a_cell_echoes():
    echoed = ["'results/models.json'", '"it\'s"', "3", "-0.5", "1e-06", "None", "True", "(1, 2)"]
    assert all(re.fullmatch(ECHOED, e) for e in echoed)
    assert not any(re.fullmatch(ECHOED, e) for e in ["<Figure size 640x480>", "   a  b\n0  1  2"])


@pytest.mark.parametrize("profile", ["full", "quick"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_pages_show_no_stray_return_values(chapter, profile):
    """A cell's last expression is echoed on the page (e.g. the path ``Results.save()`` returns):
    shown cells end on a statement, or display on purpose (a figure, a table, Markdown)."""
    nb = nbformat.read(output_path(chapter, profile), as_version=4)
    for cell in nb.cells:
        if "remove-output" in cell.metadata.get("tags", []) or "remove-cell" in cell.metadata.get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                shown = output.get("data", {}).get("text/plain", "")
                assert not re.fullmatch(ECHOED, shown.strip()), (cell.id, shown)


RECORDING = re.compile(r"\bresults\.(add\w*|save)\(")
"""A call that writes the chapter's results file: plumbing, which the page hides."""


def test_the_recording_pattern_finds_every_writing_call():
    assert all(RECORDING.search(s) for s in ["results.add(", "    results.add_scores_by_derivative(t, 'x')",
                                              "results.save()", "results.add_frame("])
    assert not any(RECORDING.search(s) for s in ["load_results('classification')", "saved_results.add(",
                                                  "results.records"])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shown_code_cells_never_write_results(chapter):
    """Recording a number and saving the results file happen in cells whose code the page removes
    (``remove-cell``, ``remove-input``): the code a reader sees, or can unfold (``hide-input``),
    computes and shows; it does not do bookkeeping."""
    import jupytext

    from wormlib.provenance import chapter_source

    shown = [cell for cell in jupytext.read(chapter_source(chapter)).cells if cell.cell_type == "code"
             and not {"remove-cell", "remove-input"} & set(cell.metadata.get("tags", []))]
    writing = [line.strip() for cell in shown for line in cell.source.splitlines() if RECORDING.search(line)]
    assert not writing, f"{chapter}: shown cells write results: {writing}"


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds anywhere, names it reads) by its syntax tree."""
    import ast

    bound, read = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, read


def test_the_name_reader_sees_bindings_and_reads():
    bound, read = _names("import numpy as np\nfrom a import b\nx = [k for k in y]\ndef f(z):\n    return z + w\n")
    assert bound >= {"np", "b", "x", "k", "f", "z"} and read >= {"y", "w", "k", "z"}
    assert "x" not in read and "y" not in bound


def _reads_of_removed_bindings(cells: list[tuple[set[str], str]]) -> list[str]:
    """Names that shown code cells (given as (tags, source), in page order) read while their latest
    binding is in a removed cell. The parameters cell and the set-up cell (the one binding ``cfg``)
    count as shown: the banner under the set-up prints what they set."""
    import builtins

    shown_last = dict.fromkeys(dir(builtins), True)  # name -> was its latest binding shown?
    missing = []
    for tags, source in cells:
        bound, read = _names(source)
        shown = "parameters" in tags or not {"remove-cell", "remove-input"} & tags or "cfg" in bound
        if shown:
            missing += sorted(name for name in read - bound if not shown_last.get(name, True))
        shown_last |= dict.fromkeys(bound, shown)
    return missing


def test_the_removed_binding_check_flags_hidden_values_only():
    removed, shown, unfoldable = {"remove-cell"}, set(), {"hide-input"}
    assert _reads_of_removed_bindings([(set(), "cfg = 1"), (shown, "a = cfg"), (removed, "b = a"),
                                       (shown, "print(a, b)")]) == ["b"]
    assert _reads_of_removed_bindings([(shown, "a = 1"), (removed, "a = 2"), (unfoldable, "a + 1")]) == ["a"]
    assert _reads_of_removed_bindings([(removed, "a = 1"), (shown, "a = 2\nprint(a)"), ({"remove-input"}, "a"),
                                       (shown, "[k for k in range(a)]")]) == []


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shown_code_reads_only_names_the_page_defines(chapter):
    """Every name a shown (or unfoldable) code cell reads was last bound by code the page shows, or by
    the parameters and set-up cells that the banner under the set-up describes: a reader who copies
    the shown cells in order runs the page's computation, with no value that a removed cell set."""
    import jupytext

    from wormlib.provenance import chapter_source

    missing = _reads_of_removed_bindings([(set(cell.metadata.get("tags", [])), cell.source) for cell in
                                          jupytext.read(chapter_source(chapter)).cells if cell.cell_type == "code"])
    assert not missing, f"{chapter}: shown cells read names last bound by removed cells: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_inputs_hash_covers_every_library_module_the_chapter_loads(chapter):
    # run the chapter's import statements in a fresh interpreter: every wormlib module they load
    # must be in the files the inputs hash reads (a module outside it could change a page unseen)
    import ast
    import subprocess

    from wormlib.provenance import chapter_source, library_closure

    tree = ast.parse(chapter_source(chapter).read_text())
    imports = "\n".join(ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                        and "wormlib" in ast.unparse(n))
    probe = imports + "\nimport sys\nprint(' '.join(m for m in sys.modules if m.split('.')[0] == 'wormlib'))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    files = {(ROOT / m.replace(".", "/")).with_suffix(".py") for m in loaded.stdout.split()}
    files = {f if f.exists() else f.with_suffix("") / "__init__.py" for f in files}
    closure = set(library_closure(chapter_source(chapter)))
    assert files and files <= closure, sorted(str(f.relative_to(ROOT)) for f in files - closure)


def _copy_inputs(copy: Path) -> None:
    """The files a chapter's inputs hash reads (wormlib, chapter sources, profile sizes), into ``copy``."""
    inputs = [*(ROOT / "wormlib").rglob("*.py"), *(ROOT / "chapters").glob("*.py"), ROOT / "chapters" / "profiles.toml"]
    for f in inputs:
        (copy / f.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        (copy / f.relative_to(ROOT)).write_bytes(f.read_bytes())


def test_inputs_hash_ignores_a_module_the_chapter_cannot_load(tmp_path, monkeypatch):
    # chapter 3 never imports the scorecard: changing its code must not make chapter 3 stale, while
    # a module it does load (train.py) must
    from wormlib import provenance

    copy = tmp_path / "repo"
    _copy_inputs(copy)
    monkeypatch.setattr(provenance, "REPO_ROOT", copy)
    before, before5 = (provenance.inputs_hash(c, "quick", "cpu", 0) for c in ("03_classification", "05_discussion"))
    with open(copy / "wormlib" / "scorecard.py", "a") as f:
        f.write("\nEDITED = 1\n")
    assert provenance.inputs_hash("03_classification", "quick", "cpu", 0) == before
    assert provenance.inputs_hash("05_discussion", "quick", "cpu", 0) != before5  # chapter 5 reads it
    with open(copy / "wormlib" / "train.py", "a") as f:
        f.write("\nEDITED = 1\n")
    assert provenance.inputs_hash("03_classification", "quick", "cpu", 0) != before


def test_comments_docstrings_and_formatting_change_no_page(tmp_path, monkeypatch):
    # the inputs hash reads wormlib as parsed code: a comment, a docstring or a reformatted line
    # anywhere in it leaves every page current; one changed constant does not
    from wormlib import provenance

    copy = tmp_path / "repo"
    _copy_inputs(copy)
    monkeypatch.setattr(provenance, "REPO_ROOT", copy)
    pages = [(c, p) for c in ("01_background", "03_classification", "05_discussion") for p in ("quick", "full")]
    before = {page: provenance.inputs_hash(*page, "cpu", 0) for page in pages}
    for module in ("data/recording.py", "preprocess.py", "models.py", "scorecard.py"):
        path = copy / "wormlib" / module
        text = path.read_text()
        text = text.replace('"""', '"""An added docstring sentence. ', 1)           # the module docstring
        text = text.replace("\ndef ", "\n# a comment\ndef   ", 1)                   # a comment, spaces
        path.write_text(text + "\n\n# a trailing comment\n")
    assert {page: provenance.inputs_hash(*page, "cpu", 0) for page in pages} == before
    path = copy / "wormlib" / "preprocess.py"
    path.write_text(path.read_text() + "\nCHANGED = 2\n")
    after = {page: provenance.inputs_hash(*page, "cpu", 0) for page in pages}
    assert all(after[page] != before[page] for page in pages)


def test_inputs_hash_reads_only_its_own_profiles_sizes(tmp_path, monkeypatch):
    # the quick profile's sizes are not an input of a book page: editing them re-executes only
    # the quick notebooks
    from wormlib import provenance

    copy = tmp_path / "repo"
    _copy_inputs(copy)
    monkeypatch.setattr(provenance, "REPO_ROOT", copy)
    before = {p: provenance.inputs_hash("02_models", p, "cpu", 0) for p in ("quick", "full")}
    toml = copy / "chapters" / "profiles.toml"
    toml.write_text(re.sub(r"(\[quick\][^\[]*?)steps = \d+", r"\g<1>steps = 70", toml.read_text()))
    assert provenance.load_profiles()["quick"]["steps"] == 70
    assert provenance.inputs_hash("02_models", "full", "cpu", 0) == before["full"]
    assert provenance.inputs_hash("02_models", "quick", "cpu", 0) != before["quick"]
    toml.write_text(toml.read_text() + "\n[other]\nsteps = 1\n")  # a profile missing sizes is refused
    with pytest.raises(provenance.ParameterError, match=r"\[other\].*missing"):
        provenance.load_profiles()


@pytest.mark.parametrize("size, value, why", [
    ("steps", -5, "untrained"), ("steps", 0, "untrained"), ("n_seeds", 0, "spread"), ("n_seeds", 1, "spread"),
    ("n_folds", 1, "2 folds"), ("hidden", 0, "hidden unit"), ("max_subsets", 0, "training subset"),
    ("steps", 2.5, "whole number"), ("hidden", True, "whole number"), ("n_folds", "10", "whole number")])
def test_absurd_profile_sizes_are_refused_by_name(tmp_path, monkeypatch, size, value, why):
    from wormlib import provenance

    copy = tmp_path / "repo"
    _copy_inputs(copy)
    monkeypatch.setattr(provenance, "REPO_ROOT", copy)
    toml = copy / "chapters" / "profiles.toml"
    shown = f'"{value}"' if isinstance(value, str) else str(value).lower()
    toml.write_text(toml.read_text() + f"\n[odd]\nn_folds = 3\nsteps = 3\nhidden = 3\nn_seeds = 3\n"
                    .replace(f"{size} = 3", f"{size} = {shown}") + (f"max_subsets = {shown}\n" if size == "max_subsets" else ""))
    with pytest.raises(provenance.ProfileError, match=rf"\[odd\]: {size} = .*{why}"):
        provenance.load_profiles()


OWN_PARAMETERS = {"06_your_worms": {"dataset", "states", "neurons", "lag_s"}}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_literal_parameters_cell(chapter):
    import jupytext

    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    names = {line.split("=")[0].strip() for line in cells[0].source.splitlines() if "=" in line}
    # the runner sets these three; chapter 6 also takes the dataset a lab runs it on (issue 52)
    assert names == {"profile", "device", "seed"} | OWN_PARAMETERS.get(chapter, set())


def test_book_shows_every_chapter_and_no_duplicate_stems():
    toc = (ROOT / "_toc.yml").read_text()
    for chapter in CHAPTERS:
        assert f"chapters/{chapter}" in toc
    stems = [p.stem for p in (ROOT / "book").rglob("*") if p.suffix in {".ipynb", ".md", ".py"}
             and "_build" not in p.parts]
    assert len(stems) == len(set(stems))
    assert (ROOT / "book" / "_config.yml").resolve() == (ROOT / "_config.yml")


def test_results_files_follow_the_record_format():
    files = sorted((ROOT / "results").glob("*.json"))
    assert files, "no results/*.json committed"
    for path in files:
        records = json.loads(path.read_text())
        assert records, path
        for record in records:
            assert tuple(record) == FIELDS, path
            for field, allowed in VOCABULARY.items():
                assert record[field] in allowed, (path, field, record[field])


def test_chapter_code_runs_without_numpys_huge_page_advice():
    # conftest.py, the runner and the tools give every process that runs chapter code
    # toolargs.CHAPTER_ENV (set before NumPy is imported): this process and its kernels too
    import numpy as np
    from toolargs import CHAPTER_ENV, chapter_environment

    assert CHAPTER_ENV["NUMPY_MADVISE_HUGEPAGE"] == "0"
    chosen = os.environ.get("NUMPY_MADVISE_HUGEPAGE")  # conftest's "0", or what whoever ran pytest chose
    assert chosen is not None, "conftest.py did not apply toolargs.CHAPTER_ENV"
    assert np._core.multiarray._get_madvise_hugepage() == (chosen != "0")  # set before NumPy's import
    assert chapter_environment({}) == CHAPTER_ENV
    caller = {var: "1" for var in CHAPTER_ENV}
    assert chapter_environment(dict(caller)) == caller                      # the caller's values win


def test_openblas_gets_the_same_kernels_on_every_avx2_machine():
    # toolargs.openblas_core: Haswell's kernels where they run (x86-64 with AVX2 and FMA), else
    # OpenBLAS's own choice; NumPy's OpenBLAS reads the variable at its import (conftest set it)
    import numpy  # noqa: F401  (loads NumPy's OpenBLAS)
    from threadpoolctl import threadpool_info
    from toolargs import CHAPTER_ENV, openblas_core

    avx512 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n"
    assert openblas_core("x86_64", avx512) == {"OPENBLAS_CORETYPE": "Haswell"}
    assert openblas_core("x86_64", "flags\t\t: fpu sse2 avx\n") == {}             # no AVX2: Haswell's would crash
    assert openblas_core("aarch64", avx512) == {} and openblas_core("arm64", "") == {}
    if "OPENBLAS_CORETYPE" in CHAPTER_ENV:
        chosen = os.environ.get("OPENBLAS_CORETYPE")  # conftest's "Haswell", or what whoever ran pytest chose
        assert chosen is not None, "conftest.py did not apply toolargs.CHAPTER_ENV"
        cores = {info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"}
        assert chosen != "Haswell" or cores == {"Haswell"}, cores       # another name may map to other kernels


def test_the_suite_runs_the_longest_files_first_and_keeps_each_files_order(tmp_path):
    # conftest.py orders the collection for pytest-xdist's --dist loadfile --no-loadscope-reorder:
    # notebooks by their recorded quick run time, longest first, then test files, most tests first
    import importlib.util
    from types import SimpleNamespace

    import nbformat

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    paths = {}
    for name, runtime in (("short.ipynb", 5.0), ("long.ipynb", 120.0)):
        paths[name] = tmp_path / name
        nbformat.write(nbformat.v4.new_notebook(metadata={"wormlib": {"runtime_s": runtime}}), paths[name])
    paths["test_few.py"], paths["test_many.py"] = tmp_path / "test_few.py", tmp_path / "test_many.py"
    items = [SimpleNamespace(fspath=paths[f], name=f"{f}:{i}") for f, n in
             (("test_few.py", 1), ("short.ipynb", 2), ("test_many.py", 3), ("long.ipynb", 2)) for i in range(n)]
    root_conftest.pytest_collection_modifyitems(None, items)
    assert [item.name for item in items] == ["long.ipynb:0", "long.ipynb:1", "short.ipynb:0", "short.ipynb:1",
                                             "test_many.py:0", "test_many.py:1", "test_many.py:2", "test_few.py:0"]


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="reads the page at a commit: needs the git history, "
                    "which an unpacked source archive does not have")
def test_status_page_compares_a_stopped_run_section_by_section(tmp_path, monkeypatch):
    # a run on another machine stopped inside chapter 2: the section it finished gets a speed-up
    # against the page's recorded time, the one it entered "partly", the ones it never reached "not reached"
    import subprocess

    import execute_chapters
    from profile_chapters import cells

    sections = [c[2] or "setup" for c in cells((ROOT / "chapters" / "02_models.py").read_text())]
    first_two = [s for s in dict.fromkeys(sections) if s != "setup"][:2]
    done = [i for i, s in enumerate(sections) if s in ("setup", first_two[0])]
    partly = next(i for i, s in enumerate(sections) if s == first_two[1])
    timed = [dict(cell=i, seconds=20.0, first_line="x") for i in done + [partly]]
    run = tmp_path / "gpu-test"
    run.mkdir()
    (run / "timing.json").write_text(json.dumps({"chapters": {"02_models": {"cells": timed, "total_s": 1.0}}}))
    (run / "about.json").write_text(json.dumps({"machine": "M", "date": "D", "how": "", "commit": "HEAD"}))
    monkeypatch.setattr(execute_chapters, "BENCHMARKS", tmp_path)
    page = execute_chapters.other_machines()
    shown = subprocess.run(["git", "show", "HEAD:book/chapters/02_models.ipynb"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout                # the page at the run's commit
    recorded = json.loads(shown)["metadata"]["wormlib"]["section_times_s"]
    n_done = sum(s == first_two[0] for s in sections)
    row = next(line for line in page.splitlines() if line.startswith(f"| 02_models | {first_two[0]} |"))
    assert row.endswith(f"| {20.0 * n_done:.0f} | {recorded[first_two[0]] / (20.0 * n_done):.1f}× |")
    assert f"| 02_models | {first_two[1]} | {recorded[first_two[1]]} | 20 (partly) | — |" in page
    unreached = [s for s in dict.fromkeys(sections) if s not in ("setup", *first_two)]
    assert unreached
    for s in unreached:  # a row only where the page spent ≥ 10 s on it
        assert (f"| 02_models | {s} | {recorded.get(s, '—')} | not reached | — |" in page) == (recorded.get(s, 0) >= 10)


def test_profiler_runs_the_set_up_and_the_chosen_sections_only():
    from profile_chapters import cells, wanted

    source = cells("# %%\nimport x\n\n# %% [markdown]\n# ## Data\n\n# %%\nd = 1\n\n# %% [markdown]\n"
                   "# ## Fig. 4A: seven states\n\n# %%\na = d\n\n# %% [markdown]\n# ## Time context\n\n"
                   "# %%\nt = d\n\n# %%\nu = t\n")
    assert [s for _, _, s in source] == ["", "Data", "Fig. 4A: seven states", "Time context", "Time context"]
    assert wanted(source, None) == [0, 1, 2, 3, 4]
    assert wanted(source, ["data", "time CONTEXT"]) == [0, 1, 3, 4]      # prefixes, any case
    assert wanted(source, ["Fig. 4"]) == [0, 2]
    assert wanted(source, ["nothing"]) == [0]                           # the set-up cells always run

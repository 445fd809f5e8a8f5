"""Outputs are all-or-nothing, parameters are checked where they enter (issue: nothing lost)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from wormlib import atomic, provenance, results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import execute_chapters  # noqa: E402


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text("old")

    def broken_fsync(fd):
        raise OSError(27, "File too large")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic.write_text_atomic(path, "new" * 1000)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_a_writer_killed_mid_save_leaves_the_previous_results(tmp_path):
    """A process killed (os._exit) after it began writing: the previous file is intact."""
    target = tmp_path / "r.json"
    target.write_text('["previous"]')
    script = f"""
import os, wormlib.atomic as a
real = os.replace
os.replace = lambda *args: os._exit(9)   # killed right before the rename
a.write_text_atomic(__import__('pathlib').Path({str(target)!r}), '["new", ' + '0,' * 100000 + '0]')
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT)
    assert proc.returncode == 9
    assert target.read_text() == '["previous"]'


def test_results_inside_a_chapter_run_go_to_the_stage(tmp_path, monkeypatch):
    monkeypatch.setenv(results.STAGE_ENV, str(tmp_path))
    saved = results.Results("scratch-test", "quick")
    saved.add("e", "accuracy", 0.5)
    assert saved.save() is None                                 # a cell ending on it shows nothing
    assert not results.results_path("scratch-test", "quick").exists()  # nothing in results/ yet
    assert json.loads((tmp_path / "quick" / "scratch-test.json").read_text())[0]["value"] == 0.5
    assert results.load_results("scratch-test", "quick").value.tolist() == [0.5]  # reads its own stage


def test_a_running_page_reads_its_own_results_from_the_stage_only(tmp_path, monkeypatch):
    # chapter 5's scorecard once read the committed file it was about to replace (of the page
    # before the split) beside the section pages' new ones: a running page's own file comes from
    # the stage only, and a later page of its chapter (which runs after it) is not read at all
    committed, stage = tmp_path / "results", tmp_path / "stage"
    committed.mkdir()
    monkeypatch.setattr(results, "RESULTS_DIR", committed)
    monkeypatch.setattr(results, "PARTS", {"whole": ("whole", "whole-section", "whole-later")})
    monkeypatch.setitem(results._WRITING, "full", None)
    for name, value in (("whole", 1.0), ("whole-section", 2.0), ("whole-later", 4.0)):
        (committed / f"{name}.json").write_text(json.dumps([dict.fromkeys(results.FIELDS, "") | {
            "experiment": "e", "metric": "accuracy", "value": value}]))
    assert sorted(results.load_results("whole", "full").value) == [1.0, 2.0, 4.0]  # outside a run: all
    monkeypatch.setenv(results.STAGE_ENV, str(stage))
    page = results.Results("whole-section", "full")
    assert results.load_results("whole", "full").value.tolist() == [1.0]  # its own not saved yet
    page.add("e", "accuracy", 3.0)
    page.save()
    assert sorted(results.load_results("whole", "full").value) == [1.0, 3.0]  # never the later page
    results.Results("whole", "full")                                       # the first page runs
    with pytest.raises(FileNotFoundError):                                 # nothing of its own yet
        results.load_results("whole", "full")


def test_runner_failure_leaves_results_and_book_as_they_were(monkeypatch):
    """A chapter that saved results and then failed: results/, the executed notebooks and the
    stage are exactly as before (papermill replaced by a fake kernel that saves, then raises)."""
    import papermill

    chapter = "01_background"
    watched = [ROOT / "results" / "background.json", execute_chapters.output_path(chapter, "full")]
    before = [p.read_bytes() for p in watched]
    stage_before = os.environ.get(results.STAGE_ENV)  # set by conftest.py under --nbval

    def fake_execute(source, output, **kwargs):
        saved = results.Results("background", "full")
        saved.add("e", "accuracy", 0.5)
        saved.save()
        raise papermill.PapermillExecutionError(3, 3, "boom", "KeyboardInterrupt", "killed", [])

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    with pytest.raises(execute_chapters.ChapterFailed, match="cell 3"):
        execute_chapters.execute(chapter, "full", "cpu", 0, force=True)
    assert [p.read_bytes() for p in watched] == before
    assert not list((ROOT / "results").glob(".stage-*"))
    assert os.environ.get(results.STAGE_ENV) == stage_before


@pytest.mark.parametrize("error, calls", [("Kernel didn't respond in 60 seconds", 3), ("something else", 1)])
def test_a_kernel_that_does_not_start_is_started_again_and_nothing_else_is_retried(monkeypatch, error, calls):
    """Two kernels started at once can race for a port (``--jobs 2``); the runner starts another
    kernel then, up to KERNEL_START_ATTEMPTS times, and retries nothing else."""
    import papermill

    chapter, made = "01_background", []
    page = execute_chapters.output_path(chapter, "full")
    before = page.read_bytes()

    def fake_execute(source, output, **kwargs):
        made.append(Path(source).read_text())       # each attempt gets the chapter afresh
        raise RuntimeError(error)

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    with pytest.raises(RuntimeError, match=error):
        execute_chapters.execute(chapter, "full", "cpu", 0, force=True)
    assert len(made) == calls == min(calls, execute_chapters.KERNEL_START_ATTEMPTS) and len(set(made)) == 1
    assert page.read_bytes() == before
    assert not list((ROOT / "results").glob(".stage-*"))


@pytest.mark.parametrize("seed", [-1, 2**32, "abc", 1.5, True, None])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(provenance.ParameterError, match="seed"):
        provenance.chapter_config("01_background", "quick", "cpu", seed)


@pytest.mark.parametrize("device", ["gpu", "", None, "CUDA"])
def test_bad_devices_are_refused(device):
    with pytest.raises(provenance.ParameterError, match="device"):
        provenance.chapter_config("01_background", "quick", device, 0)


def test_unavailable_accelerators_are_refused_not_recorded():
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(provenance.ParameterError, match="no GPU"):
            provenance.resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(provenance.ParameterError, match="MPS"):
            provenance.resolve_device("mps")
    assert provenance.resolve_device("auto") in {"cpu", "cuda"}
    assert provenance.chapter_config("01_background", "quick", "auto", 0).device != "auto"


def test_good_seed_extremes_are_accepted():
    assert provenance.chapter_config("01_background", "quick", "cpu", 2**32 - 1).seed == 2**32 - 1


@pytest.mark.parametrize("argv, message", [
    (["99_nothing"], "unknown chapter"),
    (["--seed", "-1"], "seed"),
    (["--seed", "abc"], "invalid int"),
    (["--device", "tpu"], "invalid choice"),
])
def test_runner_refuses_bad_arguments_with_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        execute_chapters.parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_runner_without_gpu_says_so_in_one_line(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit):
        execute_chapters.parse_args(["--device", "cuda"])
    err = capsys.readouterr().err
    assert "no GPU" in err and "Traceback" not in err


def test_results_read_are_declared():
    """Every results file a chapter loads besides its own is part of its inputs hash."""
    import re

    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py")):
        source = path.read_text()
        own = set(re.findall(r'Results\("([a-z-]+)"', source))
        loaded = set(re.findall(r'load_results\("([a-z-]+)"', source))
        loaded |= {n for group in re.findall(r"load_results\(name[^\n]*for name in \(([^)]*)\)", source)
                   for n in re.findall(r'"([a-z-]+)"', group)}
        read = set()
        for name in loaded:  # a chapter's name reads its pages: those up to the running one's
            parts = results.PARTS.get(name, (name,))
            cut = next((parts.index(o) for o in own if o in parts), len(parts) - 1)
            read |= set(parts[: cut + 1])
        if "scorecard.evidence_records(" in source:  # the scorecard's records, read through the library
            read |= set(provenance.SCORECARD_EVIDENCE)
        assert read - own <= set(provenance.RESULTS_READ.get(path.stem, ())), path.stem


def test_the_scorecards_declared_reads_are_the_parts_it_loads():
    from wormlib import scorecard

    loaded = [part for name in scorecard.EVIDENCE.values() for part in results.PARTS.get(name, (name,))]
    assert tuple(loaded) == provenance.SCORECARD_EVIDENCE


def test_numbers_within_cross_machine_noise_are_not_stated_with_a_sign():
    tol = provenance.CROSS_MACHINE_TOLERANCE["correlation"]
    for r in (-0.0126, 0.0117):  # the same chapter-2 number on two machines
        text = provenance.machine_stable(r, "r", tol)
        assert "|r| < 0.05" in text and "0.01" not in text
    assert provenance.machine_stable(-0.31, "r", tol) == "r = −0.31"


def test_section_times_sum_each_headings_code_cells():
    nb = nbformat.v4.new_notebook()
    code = lambda seconds: nbformat.v4.new_code_cell("x", metadata={"papermill": {"duration": seconds}})  # noqa: E731
    nb.cells = [code(2.0), nbformat.v4.new_markdown_cell("# Title\n\ntext"), code(1.0),
                nbformat.v4.new_markdown_cell("## Table 1: two states\n\nprose"), code(10.0), code(5.5),
                nbformat.v4.new_markdown_cell("prose without a heading"), code(0.25),
                nbformat.v4.new_markdown_cell("## Fig. 4A"), code(None), code(3.0)]
    assert execute_chapters.section_times(nb) == {"setup": 3.0, "Table 1: two states": 15.8, "Fig. 4A": 3.0}


def test_a_chapters_pages_share_its_first_pages_store_and_results():
    """Each section page of ``_toc.yml`` keeps its experiments in its chapter's store (the first
    page's name must sort first: ``results.store_dir``) and writes a results file that
    ``results.PARTS`` reads with the chapter's, so the scorecard sees every page's records."""
    import re

    import yaml

    from wormlib.results import PARTS, store_dir

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [c for part in toc["parts"] for c in part["chapters"] if c.get("sections")]
    assert chapters, "no chapter of the book has section pages"
    for chapter in chapters:
        first = Path(chapter["file"]).name
        own = re.findall(r'Results\("([a-z-]+)"', (ROOT / "chapters" / f"{first}.py").read_text())[0]
        for section in chapter["sections"]:
            page = Path(section["file"]).name
            assert store_dir(page, "full") == store_dir(first, "full"), page
            written = re.findall(r'Results\("([a-z-]+)"', (ROOT / "chapters" / f"{page}.py").read_text())[0]
            assert written in PARTS[own], (page, written)
        assert store_dir(first, "full").name == first, f"a section page's name sorts before {first}"


def test_the_status_page_counts_each_store_entry_once_by_step_and_family(tmp_path, monkeypatch):
    """Two pages of a chapter share an entry: a run from scratch computes it once. An entry counts
    its CPU seconds (its work) where it recorded them, else its wall seconds, and says so."""
    store = tmp_path / "store" / "03_x"
    for step, name, code, cost in (("experiments.scores_of", "a", {"tavrnn.py:TAVRNN.forward": "h"},
                                    {"seconds": 100.0, "cpu_seconds": 60.0}),
                                   ("experiments.scores_of", "b", {"models.py:GNN.forward": "h",
                                                                   "models.py:MLP.forward": "h"}, {"seconds": 30.0}),
                                   ("experiments.scores_of", "c", {"evaluate.py:score_table": "h"}, {"seconds": 20.0})):
        (store / step).mkdir(parents=True, exist_ok=True)
        (store / step / f"{name}.json").write_text(json.dumps({**cost, "code": code}))
    used = {"first": ["a", "b"], "second": ["a", "c"]}
    monkeypatch.setattr(execute_chapters, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(execute_chapters, "FROM_SCRATCH", tmp_path / "from-scratch")
    pages = {page: {"experiments_sha256": {f"store/03_x/experiments.scores_of/{n}.json": "" for n in names}}
             for page, names in used.items()}
    page = execute_chapters.time_from_scratch(pages)
    assert "In all at most 110 s" in page and "2 of 3 entries predate that record" in page
    assert "at least" not in page                  # wall seconds overstate: no lower bound on the time
    assert "| 03_x | `experiments.scores_of` | TAVRNN | 1 | 60 | 55% |" in page
    assert "| 03_x | `experiments.scores_of` | graph networks | 1 | 30 | 27% |" in page      # GNN before MLP
    assert "| 03_x | `experiments.scores_of` | baselines and evaluation | 1 | 20 | 18% |" in page
    assert "from scratch (`--fresh --force`" not in page                                   # no run recorded
    execute_chapters.record_from_scratch("full", 5460.4, jobs=2, threads=1, device="auto", commit="abc1234")
    page = execute_chapters.time_from_scratch(pages)
    assert "Every page of the full profile from scratch (`--fresh --force`, 2 pages at a time) last took 91 min" in page
    assert "commit `abc1234`" in page
    # the run rewrites its entries with their CPU seconds; its status page counts those, not the
    # versions it had read before (in the 2026-12-08 run it still said "69 of 212 predate")
    for name in "bc":
        path = store / "experiments.scores_of" / f"{name}.json"
        entry = json.loads(path.read_text())
        path.write_text(json.dumps({**entry, "cpu_seconds": 10.0}))
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    page = execute_chapters.time_from_scratch(pages)
    assert "In all 80 s" in page and "predate" not in page and "at most" not in page

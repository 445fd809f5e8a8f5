"""What the runner (tools/execute_chapters.py) counts as current, for both profiles, and what a
chapter refuses to run with."""

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from wormlib import provenance

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner(load_tool):
    return load_tool("execute_chapters")


def _meta(runner, chapter, profile):
    meta = nbformat.read(runner.output_path(chapter, profile), as_version=4).metadata["wormlib"]
    return meta, provenance.inputs_hash(chapter, profile, meta["device"], meta["seed"], meta.get("threads", 1))


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_edited_results_of_either_profile_make_the_page_stale(runner, profile, tmp_path, monkeypatch):
    # the runner once called chapter 3 [quick] "up to date" after 148 of its records were lowered
    meta, digest = _meta(runner, "03_classification", profile)
    assert runner.why_stale(meta, digest) is None
    name = next(iter(meta["results_sha256"]))
    copied = tmp_path / "results"
    (copied / name).parent.mkdir(parents=True)
    (copied / name).write_bytes((runner.RESULTS_DIR / name).read_bytes().replace(b'"value": 0.', b'"value": 0.0', 1))
    monkeypatch.setattr(runner, "RESULTS_DIR", copied)
    assert "results files differ" in runner.why_stale(meta, digest)


def test_chapter_5_reads_the_results_of_its_own_profile():
    # chapter 5's inputs hash covers chapters 3 and 4's results of the profile it runs, quick too
    reads = {p: [path.relative_to(ROOT).as_posix() for path in provenance.results_read("05_discussion", p)]
             for p in ("quick", "full")}
    parts = ("classification", "classification-seeds", "classification-time", "trajectories",
             "trajectories-without-future", "discussion-neurons", "discussion-graphs")
    assert reads == {"quick": [f"results/quick/{name}.json" for name in parts],
                     "full": [f"results/{name}.json" for name in parts]}


def test_a_missing_or_edited_store_entry_makes_the_page_stale(runner):
    meta, digest = _meta(runner, "03_classification", "quick")
    entries = meta["experiments_sha256"]
    assert entries, "the page recorded no experiment"
    edited = copy.deepcopy(meta)
    first = next(iter(entries))
    edited["experiments_sha256"][first] = "0" * 64
    assert "store entry" in runner.why_stale(edited, digest)


def test_a_changed_data_file_makes_the_page_stale(runner, tmp_path, monkeypatch):
    # pages record the SHA-256 of every data file they read; another file under the same name is
    # seen even when its SHA256SUMS line was changed with it
    meta, digest = _meta(runner, "01_background", "quick")
    assert any(name.startswith("kato2015/") for name in meta["data_sha256"])
    from wormlib.data import study_dir

    copied = tmp_path / "kato2015"
    copied.mkdir()
    for f in study_dir("kato2015").iterdir():
        (copied / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("WORMLIB_DATA", str(tmp_path))
    assert runner.why_stale(meta, digest) is None
    victim = copied / next(n for n in meta["data_sha256"] if n.startswith("kato2015/")).split("/", 1)[1]
    victim.write_bytes(victim.read_bytes() + b"\n")
    sums = copied / "SHA256SUMS"
    sums.write_text(sums.read_text().replace(meta["data_sha256"][f"kato2015/{victim.name}"],
                                             hashlib.sha256(victim.read_bytes()).hexdigest()))
    assert "data file" in runner.why_stale(meta, digest)


def test_a_kernel_with_another_checkouts_wormlib_is_refused(tmp_path):
    # another checkout's editable install first on the path: the chapter must not run on it
    env = {**os.environ, provenance.REPO_ENV: str(tmp_path)}
    probe = "from wormlib import provenance; provenance.chapter_config('02_models', 'quick', 'cpu', 0)"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "ForeignLibraryError" in out.stderr and str(tmp_path) in out.stderr
    env[provenance.REPO_ENV] = str(ROOT)
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True).returncode == 0


@pytest.mark.parametrize("args, message", [(["--threads", "0"], "--threads"), (["--seed", "-1"], "seed"),
                                            (["no_such_chapter"], "unknown chapter"), (["--jobs", "0"], "--jobs")])
def test_the_runner_refuses_bad_parameters_by_name(runner, args, message, capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(args)
    assert message in capsys.readouterr().err


def test_the_thread_count_is_an_input_of_a_page():
    assert provenance.inputs_hash("02_models", "quick", "cpu", 0, 1) != provenance.inputs_hash("02_models", "quick",
                                                                                                "cpu", 0, 2)


def test_every_committed_store_entry_is_valid_for_the_code_here(load_tool):
    # the store holds only entries a page used (promotion prunes the rest), and each must still be
    # valid: otherwise the next run of its chapter would recompute it (tools/store_status.py)
    rows = load_tool("store_status").status()
    assert {r["profile"] for r in rows} == {"quick", "full"}
    stale = [f"{r['path']}: {r['why'][:2]}" for r in rows if r["why"]]
    assert not stale, f"{len(stale)} entries would be recomputed, e.g. {stale[:3]}"


def test_the_store_status_names_the_code_that_changed(load_tool, monkeypatch):
    tool = load_tool("store_status")
    real = tool.store.code_hash
    monkeypatch.setattr(tool.store, "code_hash", lambda module, name: "changed" if (
        str(module).endswith("tavrnn.py") and name == "TAVRNN.forward") else real(module, name))
    rows = [r for r in tool.status() if r["profile"] == "quick"]
    hit = {r["experiment"] for r in rows if r["why"]}
    assert hit and hit <= {"experiments.scores_of", "tavrnn.embeddings_of_every_worm",
                           "stepcount.learning_curve"}  # chapter 2's curves include TAVRNN's
    assert all(r["why"] == ["code tavrnn.py:TAVRNN.forward"] for r in rows if r["why"])
    assert sum(bool(r["why"]) for r in rows) < len(rows) / 4  # the MLPs', GNNs' and baselines' stay


def test_a_page_keeps_every_entry_of_its_chapters_store_while_another_page_is_stale(runner, tmp_path, monkeypatch):
    # a page of chapter 3 once pruned the entries its section pages were about to read (computed on
    # another branch for their new code, recorded by none of their stale pages): 67 recomputed
    folder = tmp_path / "store" / "03_a"
    for name in ("used.json", "recorded.json", "for-the-stale-page.json"):
        (folder / "f").mkdir(parents=True, exist_ok=True)
        (folder / "f" / name).write_text("{}")
    monkeypatch.setattr(runner, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(runner, "CHAPTERS", ["03_a", "03_b"])
    monkeypatch.setattr(runner, "store_dir", lambda chapter, profile: folder)
    monkeypatch.setattr(runner, "recorded", lambda path: {"experiments_sha256": {"store/03_a/f/recorded.json": "x"}})
    monkeypatch.setattr(runner, "output_path", lambda chapter, profile: chapter)
    monkeypatch.setattr(runner, "inputs_hash", lambda chapter, *a: chapter)
    current = {"03_b": True}
    monkeypatch.setattr(runner, "up_to_date", lambda meta, digest: current[digest])
    assert runner.shared_entries("03_a", "full", "cpu", 0, 1) == {"store/03_a/f/recorded.json"}
    current["03_b"] = False  # its source changed: what it will read is unknown
    assert runner.shared_entries("03_a", "full", "cpu", 0, 1) == {
        f"store/03_a/f/{n}" for n in ("used.json", "recorded.json", "for-the-stale-page.json")}


def test_one_at_a_time_a_page_runs_after_the_pages_whose_results_it_reads(runner):
    # chapter 5's first page holds the scorecard, which reads its two section pages' results
    order = runner.in_dependency_order(runner.CHAPTERS)
    assert sorted(order) == sorted(runner.CHAPTERS)
    for page, reads in provenance.RESULTS_READ.items():
        for name in reads:
            assert order.index(runner.producers()[name]) < order.index(page), (page, name)
    assert order.index("05_discussion") > order.index("05_graphs_and_other_lab")


@pytest.mark.parametrize("chapters, recorded", [([], True), (["01_background"], False)])
def test_a_run_of_every_page_from_scratch_records_its_wall_time(runner, tmp_path, monkeypatch, chapters, recorded):
    """Only ``--fresh --force`` over every page (no chapter named: all) is a run from scratch."""
    ran = []
    monkeypatch.setattr(runner, "execute", lambda chapter, *a, **k: ran.append(chapter))
    monkeypatch.setattr(runner, "FROM_SCRATCH", tmp_path)
    monkeypatch.setenv("WORMLIB_STORE_FRESH", "")           # main sets it; monkeypatch restores it
    assert runner.main(["--fresh", "--force", "--profile", "quick", "--jobs", "1", *chapters]) == 0
    assert ran and (tmp_path / "quick.json").exists() == recorded


def test_a_run_from_scratch_starts_the_longest_chain_of_pages_first(runner, monkeypatch):
    """From the store every page takes seconds; from scratch the first page of a chapter whose
    later pages wait for it must start first, though its last run was the shortest."""
    runtime = {"first": 8.0, "later": 9.0, "alone": 15.0}
    work = {"first": 3000.0, "later": 12000.0, "alone": 6000.0}
    monkeypatch.setattr(runner, "needs", lambda chapters: {"first": set(), "later": {"first"}, "alone": set()})
    monkeypatch.setattr(runner, "output_path", lambda chapter, profile: chapter)
    monkeypatch.setattr(runner, "recorded", lambda chapter: {"runtime_s": runtime[chapter], "name": chapter})
    monkeypatch.setattr(runner, "experiments_seconds", lambda meta: work[meta["name"]])
    chapters = ["alone", "later", "first"]
    fresh = runner.critical_path(chapters, "full", fresh=True)
    assert sorted(chapters, key=lambda c: -fresh[c]) == ["first", "later", "alone"]
    assert fresh["first"] == 8.0 + 3000.0 + 9.0 + 12000.0
    from_store = runner.critical_path(chapters, "full", fresh=False)
    assert sorted(chapters, key=lambda c: -from_store[c]) == ["first", "alone", "later"]  # 17 s > 15 s > 9 s


def test_the_pages_of_a_run_from_scratch_share_its_start(runner, monkeypatch):
    """With --jobs, each page runs in a runner process of its own, started with --fresh: it must
    keep the run's start, or every page recomputes the entries the pages before it computed."""
    monkeypatch.setattr(runner, "execute", lambda *a, **k: None)
    monkeypatch.setenv("WORMLIB_STORE_FRESH", "1765000000.5")                # set by the parent run
    runner.main(["--fresh", "--force", "--profile", "quick", "--jobs", "1", "01_background", "--no-status"])
    assert os.environ["WORMLIB_STORE_FRESH"] == "1765000000.5"
    monkeypatch.setenv("WORMLIB_STORE_FRESH", "")
    runner.main(["--fresh", "--force", "--profile", "quick", "--jobs", "1", "01_background", "--no-status"])
    assert float(os.environ["WORMLIB_STORE_FRESH"]) > 1765000000.5

"""A chapter run changes its page, results and store entries together or not at all
(wormlib.transaction), whatever fails or is killed, and two runs of one chapter never overlap."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wormlib import results, transaction

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A stand-in ``results/`` with one committed chapter (results file, two store entries, page)."""
    folder = tmp_path / "results"
    monkeypatch.setattr(results, "RESULTS_DIR", folder)
    monkeypatch.setattr(transaction, "RESULTS_DIR", folder)
    entries = folder / "store" / "03_x"
    entries.mkdir(parents=True)
    (folder / "x.json").write_text("old results\n")
    (entries / "used.json").write_text("old used entry\n")
    (entries / "unused.json").write_text("stale entry\n")
    page = tmp_path / "book" / "03_x.ipynb"
    page.parent.mkdir()
    page.write_text("old page\n")
    return folder, page


def _run(folder: Path, page: Path):
    """A finished run's staging folder and its promotion plan: new results, one new entry, the
    committed ``used`` entry kept, the ``unused`` one to delete."""
    stage = transaction.new_stage("03_x", "full")
    (stage / "x.json").write_text("new results\n")
    (stage / "store" / "03_x").mkdir(parents=True)
    (stage / "store" / "03_x" / "new.json").write_text("new entry\n")
    used = {"store/03_x/used.json": "a", "store/03_x/new.json": "b"}
    plan = transaction.plan_promotion(stage, "03_x", "full", used)
    (stage / transaction.PAGE).write_text("new page\n")
    plan.moves.append((stage / transaction.PAGE, page))
    return stage, plan


def _state(folder: Path, page: Path) -> dict:
    files = {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.json")
             if not p.relative_to(folder).parts[0].startswith(".")}
    return {**files, "page": page.read_text()}


OLD = {"x.json": "old results\n", "store/03_x/used.json": "old used entry\n",
       "store/03_x/unused.json": "stale entry\n", "page": "old page\n"}
NEW = {"x.json": "new results\n", "store/03_x/used.json": "old used entry\n",
       "store/03_x/new.json": "new entry\n", "page": "new page\n"}


def test_a_promotion_moves_everything_and_prunes_unused_entries(repo):
    folder, page = repo
    stage, plan = _run(folder, page)
    assert set(plan.results_sha256) == {"x.json"} and set(plan.entries_sha256) == {"store/03_x/used.json",
                                                                                     "store/03_x/new.json"}
    plan.commit()
    assert _state(folder, page) == NEW
    assert not transaction.pending()


@pytest.mark.parametrize("fail_at", [0, 1, 2, 3, 4])
def test_a_failure_at_any_rename_leaves_everything_as_it_was(repo, monkeypatch, fail_at):
    # a full disk, a read-only folder or an interrupt in the middle of the renames: rolled back
    folder, page = repo
    _, plan = _run(folder, page)
    real, calls = os.replace, []

    def failing(src, dst):
        calls.append(dst)
        if len(calls) == fail_at + 1:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(transaction.os, "replace", failing)
    with pytest.raises(OSError, match="No space"):
        plan.commit()
    monkeypatch.setattr(transaction.os, "replace", real)
    assert _state(folder, page) == OLD
    assert not transaction.pending()


def test_an_unwritable_folder_is_refused_before_anything_moves(repo, monkeypatch):
    folder, page = repo
    _, plan = _run(folder, page)
    monkeypatch.setattr(transaction.os, "access", lambda path, mode: Path(path) != page.parent)
    with pytest.raises(transaction.PromotionError, match="not writable: nothing was changed"):
        plan.commit()
    assert _state(folder, page) == OLD and not transaction.pending()


def test_a_kill_during_the_renames_is_completed_by_the_next_run(repo):
    # a process killed after its 3rd rename (os._exit: no except or finally runs, as with SIGKILL):
    # the journal stays, no page counts as current (execute_chapters.why_stale) until recover() —
    # which the runner calls first — completes the promotion
    folder, page = repo
    _, plan = _run(folder, page)
    journal = folder / ".promote-03_x-full.json"
    journal.write_text(json.dumps(dict(stage=str(plan.stage), moves=[[str(a), str(b)] for a, b in plan.moves],
                                       deletions=[str(p) for p in plan.deletions])))
    code = ("import os, sys; sys.path.insert(0, %r)\n"
            "from wormlib import transaction\nfrom pathlib import Path\n"
            "real, calls = os.replace, []\n"
            "def killed(a, b):\n    calls.append(b)\n    if len(calls) == 4: os._exit(9)\n    real(a, b)\n"
            "transaction.os.replace = killed\ntransaction._apply(Path(%r))\n" % (str(ROOT), str(journal)))
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert transaction.pending() == [journal]                      # half done, and it says so
    assert _state(folder, page) not in (OLD, NEW)
    assert transaction.recover() == [journal]
    assert _state(folder, page) == NEW and not transaction.pending()


def test_a_second_run_of_the_same_chapter_is_refused(repo):
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from wormlib import results, transaction\nfrom pathlib import Path\n"
            "transaction.RESULTS_DIR = results.RESULTS_DIR = Path(%r)\n"
            "with transaction.chapter_lock('03_x', 'full'):\n    print('locked', flush=True); time.sleep(30)\n"
            % (str(ROOT), str(repo[0])))
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(transaction.ChapterLocked, match="being executed by another run"):
            with transaction.chapter_lock("03_x", "full"):
                pass
        with transaction.chapter_lock("03_x", "quick"):             # another profile is another lock
            pass
    finally:
        holder.kill()
        holder.wait()
    with transaction.chapter_lock("03_x", "full"):                  # a dead holder's lock is free
        pass


def test_leftover_staging_folders_are_removed(repo):
    folder, _ = repo
    mine = transaction.new_stage("03_x", "full")
    other = transaction.new_stage("04_y", "full")
    old_layout = folder / ".stage-abc123_x"
    old_layout.mkdir()
    removed = transaction.clean_stages("03_x", "full")
    assert set(removed) == {mine, old_layout} and other.exists()


def test_an_interrupted_promotion_makes_every_page_stale(repo, load_tool):
    folder, page = repo
    execute_chapters = load_tool("execute_chapters")  # its pending() reads the stand-in results/
    (folder / ".promote-03_x-full.json").write_text("{}")
    assert "interrupted" in execute_chapters.why_stale({"inputs_sha256": "h"}, "h")

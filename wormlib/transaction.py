"""A chapter run changes its page, its results and its store entries together or not at all.

A run writes everything into its staging folder (``results/.stage-<chapter>-<profile>-*``): the
results files, the store entries of the experiments it computed (``wormlib.store``), the executed
page. Promotion then moves them into place by renames, under a *journal*:

1. every target folder is checked writable and the plan (moves and the deletion of the store
   entries no page uses any more) is written, atomically, to ``results/.promote-<chapter>-<profile>.json``;
2. each target that exists is moved aside into the stage, each new file moved in;
3. the journal is removed.

A failure in 1 leaves everything as it was. A failure in 2 is rolled back from the files moved
aside. A kill in 2 leaves the journal: the next run (or ``recover()``, which the runner and the
tests call first) completes it, and until then no page counts as current. A second run of the
same chapter and profile while one is running is refused (``ChapterLocked``); staging folders
left by killed runs are removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_text_atomic
from .results import RESULTS_DIR, sha256_file, store_dir
from .store import USAGE_DIR

PAGE = "page.ipynb"
"""The executed page inside a staging folder."""
STAGE_PREFIX = ".stage-"
JOURNAL_PREFIX = ".promote-"


class ChapterLocked(RuntimeError):
    """Another run of the same chapter and profile is executing."""


class PromotionError(RuntimeError):
    """The results, entries and page could not be put in place; nothing was changed."""


def _lock_path(chapter: str, profile: str) -> Path:
    return RESULTS_DIR / f".lock-{chapter}-{profile}"


@contextmanager
def chapter_lock(chapter: str, profile: str):
    """Hold the lock of one chapter and profile for the duration (released if the process dies)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fh = open(_lock_path(chapter, profile), "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ChapterLocked(f"{chapter} [{profile}] is being executed by another run (lock "
                                f"{_lock_path(chapter, profile).name}); wait for it to finish") from None
        fh.seek(0), fh.truncate(), fh.write(str(os.getpid())), fh.flush()
        yield
    finally:
        fh.close()


def _held(chapter: str, profile: str) -> bool:
    path = _lock_path(chapter, profile)
    if not path.exists():
        return False
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def new_stage(chapter: str, profile: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{chapter}-{profile}-", dir=RESULTS_DIR))


def clean_stages(chapter: str, profile: str) -> list[Path]:
    """Remove the staging folders left by killed runs of this chapter and profile (call with its
    lock held, after ``recover``), and those of the old layout (``.stage-<random>``) whose run
    cannot be told."""
    removed = []
    for stage in RESULTS_DIR.glob(f"{STAGE_PREFIX}*"):
        name = stage.name[len(STAGE_PREFIX):]
        if name.startswith(f"{chapter}-{profile}-") or "-" not in name:
            shutil.rmtree(stage, ignore_errors=True)
            removed.append(stage)
    return removed


def read_usage(stage: Path) -> dict[str, dict[str, str]]:
    """What the run's processes logged (``wormlib.store.log_use``): ``{"entry": {path under
    results/: value SHA-256}, "data": {"<study>/<file>": SHA-256}}``."""
    usage: dict[str, dict[str, str]] = defaultdict(dict)
    for log in sorted((stage / USAGE_DIR).glob("*.txt")):
        for line in log.read_text().splitlines():
            kind, name, sha = line.split(" ")
            usage[kind][name] = sha
    return {"entry": dict(usage["entry"]), "data": dict(usage["data"])}


@dataclass
class Plan:
    """What promotion will do: ``moves`` (staged file → target) and ``deletions`` (entries no page
    of this chapter and profile uses), with the SHA-256 of the results and entries the page used."""

    name: str
    moves: list[tuple[Path, Path]] = field(default_factory=list)
    deletions: list[Path] = field(default_factory=list)
    results_sha256: dict[str, str] = field(default_factory=dict)
    entries_sha256: dict[str, str] = field(default_factory=dict)
    stage: Path | None = None

    def commit(self) -> None:
        _check_writable([dst for _, dst in self.moves] + self.deletions)
        journal = RESULTS_DIR / f"{JOURNAL_PREFIX}{self.name}.json"
        write_text_atomic(journal, json.dumps(dict(
            stage=str(self.stage), moves=[[str(a), str(b)] for a, b in self.moves],
            deletions=[str(p) for p in self.deletions])))
        _apply(journal)


def plan_promotion(stage: Path, chapter: str, profile: str, used: dict[str, str],
                   keep: frozenset[str] = frozenset()) -> Plan:
    """The moves of a finished run's staging folder into ``results/``: its results files, the store
    entries it wrote, and the deletion of the chapter's entries it did not use, but those in
    ``keep`` (used by the other pages that share its store: ``results.store_dir``)."""
    plan = Plan(f"{chapter}-{profile}", stage=stage)
    for staged in sorted(stage.rglob("*.json")):
        relative = staged.relative_to(stage)
        if relative.parts[0] == USAGE_DIR:
            continue
        if "store" in relative.parts:
            if relative.as_posix() not in used:
                continue  # written, then not used (cannot happen in one run; never promoted)
        else:
            plan.results_sha256[relative.as_posix()] = sha256_file(staged)
        plan.moves.append((staged, RESULTS_DIR / relative))
    for name in sorted(used):
        path = stage / name if (stage / name).exists() else RESULTS_DIR / name
        if not path.exists():
            raise PromotionError(f"the run used the store entry {name}, which no longer exists")
        plan.entries_sha256[name] = sha256_file(path)
    folder, kept = store_dir(chapter, profile), keep.union(used)
    if folder.exists():
        plan.deletions = sorted(p for p in folder.rglob("*.json") if p.relative_to(RESULTS_DIR).as_posix() not in kept)
    return plan


def _check_writable(targets: list[Path]) -> None:
    for target in targets:
        folder = target.parent
        while not folder.exists():
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            raise PromotionError(f"{folder} is not writable: nothing was changed (results, store entries and "
                                 "the page are as they were)")


def _apply(journal: Path) -> None:
    """Carry out a journal: move old files aside, new ones in; on an error, put the old ones back.
    Re-running a journal whose moves were partly done completes it (a source already moved is
    skipped)."""
    plan = json.loads(journal.read_text())
    stage = Path(plan["stage"])
    aside = stage / ".replaced"
    done: list[tuple[Path, Path | None, Path | None]] = []  # (target, moved-aside copy, new file's source)
    try:
        for i, (src, dst) in enumerate(plan["moves"]):
            src, dst = Path(src), Path(dst)
            if not src.exists():
                continue  # moved by an earlier, interrupted attempt
            old = None
            if dst.exists():
                old = aside / f"{i}"
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, old)
            dst.parent.mkdir(parents=True, exist_ok=True)
            done.append((dst, old, src))
            os.replace(src, dst)
        for j, target in enumerate(plan["deletions"]):
            target = Path(target)
            if target.exists():
                old = aside / f"d{j}"
                old.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, old)
                done.append((target, old, None))
    except BaseException:
        for dst, old, src in reversed(done):  # roll back: new files back to the stage, old ones in place
            try:
                if src is not None and dst.exists():
                    os.replace(dst, src)
                if old is not None and old.exists():
                    os.replace(old, dst)
            except OSError:
                raise PromotionError(f"promotion failed and could not be undone; run the runner again to "
                                     f"complete it from {journal.name}") from None
        journal.unlink(missing_ok=True)
        raise
    journal.unlink()
    for target in plan["deletions"]:  # empty entry folders
        folder = Path(target).parent
        while folder != RESULTS_DIR and folder.exists() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def pending() -> list[Path]:
    """Journals of promotions that were interrupted."""
    return sorted(RESULTS_DIR.glob(f"{JOURNAL_PREFIX}*.json")) if RESULTS_DIR.exists() else []


def recover(holding: str | None = None) -> list[Path]:
    """Complete every interrupted promotion (its new files are all in its staging folder), except
    those of a chapter another process is executing; ``holding``: the ``<chapter>-<profile>``
    whose lock the caller holds."""
    finished = []
    for journal in pending():
        name = journal.name[len(JOURNAL_PREFIX):-len(".json")]
        if name != holding and _held(*name.rsplit("-", 1)):
            continue
        _apply(journal)
        finished.append(journal)
    return finished

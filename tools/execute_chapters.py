"""Execute the chapters with papermill, only those whose inputs changed.

    python tools/execute_chapters.py                 # full profile → book/chapters/*.ipynb
    python tools/execute_chapters.py --profile quick # quick profile → chapters/*.ipynb (nbval's reference)
    python tools/execute_chapters.py --device cuda --force 03_classification

A chapter's inputs are its source, the wormlib files it can load, the results files it reads and its
parameters (wormlib.provenance.inputs_hash). Each run is all-or-nothing: the chapter writes its
results into a staging folder; only when every cell has succeeded are they moved into results/
and the executed notebook written (both by rename). The notebook's metadata ("wormlib") records
the inputs hash, the parameters, the run time and the SHA-256 of the results it produced; a
chapter whose recorded results differ from the files in results/ is not up to date.
Cell ids are stable (numbered), so a re-run changes a notebook only where its outputs change.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from toolargs import chapter_environment  # noqa: E402  (tools/ is this script's folder)

# before NumPy loads, and before any inputs hash: the hash reads the environment the chapters get
chapter_environment()
from wormlib.atomic import write_text_atomic  # noqa: E402
from wormlib.provenance import (DEVICES, REPO_ENV, ParameterError, check_seed, inputs_hash,  # noqa: E402
                                resolve_device)
from wormlib.results import RESULTS_DIR, STAGE_ENV, sha256_file, store_dir  # noqa: E402
from wormlib.transaction import (PAGE, chapter_lock, clean_stages, new_stage, pending, plan_promotion,  # noqa: E402
                                 read_usage, recover)


CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; nothing it wrote was kept."""


def output_path(chapter: str, profile: str) -> Path:
    return (ROOT / "book" / "chapters" if profile == "full" else ROOT / "chapters") / f"{chapter}.ipynb"


def recorded(path: Path) -> dict:
    if not path.exists():
        return {}
    return nbformat.read(path, as_version=4).metadata.get("wormlib", {})


def shared_entries(chapter: str, profile: str, device: str, seed: int, threads: int) -> frozenset[str]:
    """The store entries that the other pages sharing ``chapter``'s store (the section pages of
    one chapter: ``results.store_dir``) recorded using: a run of one page never deletes them.
    Every entry while one of those pages has never been executed or is not up to date: what it
    will need is unknown (an entry computed elsewhere, for code that page has not run yet, is
    kept for it)."""
    folder = store_dir(chapter, profile)
    others = {c: recorded(output_path(c, profile)) for c in CHAPTERS
              if c != chapter and store_dir(c, profile) == folder}
    if any(not up_to_date(meta, inputs_hash(c, profile, device, seed, threads)) for c, meta in others.items()):
        return frozenset(p.relative_to(RESULTS_DIR).as_posix() for p in folder.rglob("*.json"))
    return frozenset(name for meta in others.values() for name in meta["experiments_sha256"])


def files_current(recorded_digests: dict | None) -> bool:
    """Every file recorded (path under results/ → SHA-256) exists with that SHA-256."""
    if recorded_digests is None:
        return False
    return all((RESULTS_DIR / name).is_file() and sha256_file(RESULTS_DIR / name) == digest
               for name, digest in recorded_digests.items())


def data_current(recorded_digests: dict) -> bool:
    """Every data file the page read (``<study>/<file>`` → SHA-256) is still the file it read."""
    from wormlib.data import DataError, study_dir
    from wormlib.data.locate import sha256

    for name, digest in recorded_digests.items():
        study, _, file = name.partition("/")
        try:
            if sha256(study_dir(study) / file) != digest:
                return False
        except DataError:
            return False
    return True


def why_stale(meta: dict, digest: str) -> str | None:
    """None when the page was produced from these inputs and everything it recorded — its results,
    the store entries of its experiments, the data files it read — is still there, unchanged;
    else the first reason it is not. The same rule for every profile."""
    if not meta:
        return "never executed"
    if meta.get("inputs_sha256") != digest:
        return "its source, the wormlib code it can load, its parameters, sizes or the results it reads changed"
    if pending():
        return "a promotion was interrupted (run the runner to finish it)"
    if not files_current(meta.get("results_sha256")):
        return "its results files differ from those it wrote"
    if not files_current(meta.get("experiments_sha256")):
        return "a store entry of its experiments is missing or differs from the one it used"
    if not data_current(meta.get("data_sha256", {})):
        return "a data file it read changed"
    return None


def up_to_date(meta: dict, digest: str) -> bool:
    return why_stale(meta, digest) is None


def stable_ids(notebook: nbformat.NotebookNode, chapter: str) -> None:
    """Numbered cell ids instead of random ones (valid nbformat ids: [a-zA-Z0-9-_], ≤ 64)."""
    for i, cell in enumerate(notebook.cells):
        cell.id = f"{chapter[:2]}-{i:03d}"


def fix_command(chapter: str, profile: str) -> str:
    """The command that makes a stale page current."""
    return f"python tools/execute_chapters.py --profile {profile} {chapter}"


KERNEL_START_ATTEMPTS = 3
"""Kernels started at once (``--jobs 2``) can race for the same free port: the loser's kernel dies
with "Address already in use" and its client gives up after a minute. Nothing ran yet, so the
runner starts another kernel."""


def kernel_did_not_start(exc: BaseException) -> bool:
    """Whether ``exc`` is jupyter_client giving up on a kernel that never answered (before any
    cell ran), not an error of the chapter's code (a ``PapermillExecutionError``)."""
    return "Kernel didn't respond" in str(exc)


def execute(chapter: str, profile: str, device: str, seed: int, force: bool = False, threads: int = 1) -> None:
    """Execute one chapter all-or-nothing (see ``wormlib.transaction``); refused while another
    run of the same chapter and profile holds its lock."""
    out = output_path(chapter, profile)
    with chapter_lock(chapter, profile):
        recover(holding=f"{chapter}-{profile}")
        clean_stages(chapter, profile)
        digest = inputs_hash(chapter, profile, device, seed, threads)
        meta = recorded(out)
        if not force and up_to_date(meta, digest):
            print(f"{chapter} [{profile}]: up to date", flush=True)
            return
        _execute(chapter, profile, device, seed, threads, digest, out)


def _execute(chapter: str, profile: str, device: str, seed: int, threads: int, digest: str, out: Path) -> None:
    notebook = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    notebook.metadata["kernelspec"] = KERNEL
    notebook.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    stage = new_stage(chapter, profile)
    kernel_env = {STAGE_ENV: str(stage), REPO_ENV: str(ROOT),
                  # this repository's wormlib first, whatever else the environment has installed
                  "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
                  # float reductions depend on the thread count: a fixed count keeps reruns bit-identical
                  "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    previous = {var: os.environ.get(var) for var in kernel_env}
    try:
        source = stage / f"{chapter}.ipynb"
        print(f"{chapter} [{profile}, device={device}]: executing", flush=True)
        start = time.perf_counter()
        os.environ.update(kernel_env)  # the kernel inherits them
        chapter_environment()  # the kernel inherits it too (toolargs.CHAPTER_ENV)
        try:
            for attempt in range(KERNEL_START_ATTEMPTS):
                nbformat.write(notebook, source)
                try:
                    papermill.execute_notebook(
                        str(source), str(source), kernel_name="python3", cwd=str(ROOT / "chapters"),
                        parameters=dict(profile=profile, device=device, seed=seed),
                        progress_bar=False, request_save_on_cell_execute=False)
                    break
                except RuntimeError as exc:
                    if not kernel_did_not_start(exc) or attempt + 1 == KERNEL_START_ATTEMPTS:
                        raise
                    print(f"{chapter} [{profile}]: the kernel did not start ({exc}); starting another",
                          flush=True)
                    start = time.perf_counter()
        except papermill.PapermillExecutionError as exc:
            raise ChapterFailed(f"{chapter} [{profile}] failed in cell {exc.exec_count}: "
                                f"{exc.ename}: {exc.evalue}. Nothing was written; results/ and "
                                "the executed notebooks are as they were.") from None
        runtime = time.perf_counter() - start
        executed = nbformat.read(source, as_version=4)
        source.unlink()
        executed.metadata.pop("papermill", None)
        sections = section_times(executed)
        for cell in executed.cells:  # per-cell timestamps would make every re-run a diff
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            tags = cell.metadata.get("tags", [])
            if "injected-parameters" in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = tags + ["remove-cell"]  # plumbing: not on the page
        stable_ids(executed, chapter)
        usage = read_usage(stage)
        plan = plan_promotion(stage, chapter, profile, usage["entry"],
                              shared_entries(chapter, profile, device, seed, threads))
        executed.metadata["wormlib"] = dict(
            inputs_sha256=digest, profile=profile, device=device, seed=seed, threads=threads,
            runtime_s=round(runtime, 1), executed_on=time.strftime("%Y-%m-%d", time.gmtime()),
            section_times_s=sections, results_sha256=plan.results_sha256,
            experiments_sha256=plan.entries_sha256, data_sha256=dict(sorted(usage["data"].items())))
        staged_page = stage / PAGE
        write_text_atomic(staged_page, nbformat.writes(executed) + "\n")
        plan.moves.append((staged_page, out))
        computed = sum("store" in Path(dst).relative_to(RESULTS_DIR).parts for _, dst in plan.moves
                       if Path(dst).is_relative_to(RESULTS_DIR))
        plan.commit()
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for var, value in previous.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    used = len(executed.metadata["wormlib"]["experiments_sha256"])
    print(f"{chapter} [{profile}]: done in {runtime:.0f} s → {out.relative_to(ROOT)}; {used} experiments, "
          f"{used - computed} from the store, {computed} computed", flush=True)


def section_times(notebook) -> dict[str, float]:
    """Seconds spent per section of an executed notebook (the code cells under each ``## ``
    heading, from papermill's per-cell durations; cells before the first heading under
    "setup"): the chapter's profile, kept in its metadata instead of the per-cell timestamps."""
    times, section = {}, "setup"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = next((line[3:].strip() for line in cell.source.splitlines() if line.startswith("## ")), None)
            section = heading or section
        elif cell.cell_type == "code":
            duration = cell.metadata.get("papermill", {}).get("duration") or 0.0
            times[section] = times.get(section, 0.0) + duration
    return {name: round(seconds, 1) for name, seconds in times.items()}


def write_status() -> None:
    """book/status.md: environment and, per chapter, the profile, device and run time that
    produced the page the book shows; and book/other_machines.md, the recorded runs elsewhere
    (a page of its own, so that the status page stays short)."""
    import numpy
    import torch

    pages = {chapter: recorded(output_path(chapter, "full")) for chapter in CHAPTERS}
    rows = []
    for chapter, meta in pages.items():
        digest = inputs_hash(chapter, "full", meta.get("device", "auto"), meta.get("seed", 0),
                             meta.get("threads", 1))
        stale = not up_to_date(meta, digest)
        rows.append(f"| {chapter} | {meta.get('executed_on', '—')} | "
                    f"{meta.get('device', '—')}, {meta.get('seed', '—')} | {meta.get('runtime_s', '—')} | "
                    f"{len(meta.get('experiments_sha256', {}))} ({experiments_seconds(meta):,.0f} s) | "
                    f"`{meta.get('inputs_sha256', '')[:8]}` | {'**stale**' if stale else 'current'} |")
    write_text_atomic(ROOT / "book" / "status.md",
        "# Execution status\n\n"
        "How each chapter page was produced (written by `tools/execute_chapters.py`). A chapter is "
        "*current* when the hash of its inputs — its source, the `wormlib` modules its imports "
        "can load (`wormlib.provenance.library_closure`) as parsed code (comments and docstrings "
        "do not count), the results it reads, its parameters, thread count and library versions — "
        "equals the hash recorded when it was executed, and its results files, the store entries "
        "of its experiments and the data files it read are those it recorded; the test suite "
        "fails otherwise. The run time is the page's last execution: when its experiments came "
        "from the store (`wormlib.store`: each expensive step keyed by the code it ran, its "
        "arguments and environment), it trained nothing, and each entry records the seconds its "
        "own computation took.\n\n"
        "The book shows the full profile's pages.\n\n"
        + wide_table("| chapter | executed (UTC) | device, seed | run time (s) | experiments (their work) | inputs "
                     "| state |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)) +
        "*Experiments*: the expensive steps the page used (`wormlib.store`), and the core-seconds their "
        "computation took, added up: the work a run from scratch (`--fresh`) spends on them, on worker "
        "processes several at once.\n\n"
        "Run times are wall-clock seconds of one chapter's execution; chapters run two at a time on "
        "the 2-core machine (`--jobs 2`), each on one thread, and chapter 3 trains its independent "
        "model stacks on one-thread worker processes, one per core (`wormlib.jobs`; "
        "`WORMLIB_WORKERS`): every job seeds itself, so neither can change a result.\n\n"
        f"Environment of the last execution: Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}, on {cpu_name()}, {os.cpu_count()} cores ({platform.system()}).\n\n"
        "## The source of this site\n\n"
        "The code, chapters and results this site was built from, as one archive written by the "
        "build itself (`git archive` of commit {{ source_commit }}; no data, which `make data` "
        "fetches): {{ source_link }}, SHA-256 {{ source_sha256 }}. Unpack it, then "
        "`make data && make test`, or `make book` (the README of the archive).\n\n"
        + time_from_scratch(pages)
        + "Runs of the same code on other machines, a GPU among them, are on their own page: "
          "{doc}`other_machines`.\n")
    write_text_atomic(ROOT / "book" / "other_machines.md", other_machines())


def entry_cost(entry: dict) -> float:
    """The core-seconds a store entry's computation took: its ``cpu_seconds`` (the CPU time of the
    one-thread process that computed it), or its wall ``seconds`` where it predates that record;
    wall time overstates the work when the process shared its core (``benchmarks/retime_entries.py``)."""
    return entry.get("cpu_seconds", entry.get("seconds", 0.0))


def experiments_seconds(meta: dict) -> float:
    """The core-seconds the store entries a page used took when they were computed, added up."""
    return sum(entry_cost(store_entry(RESULTS_DIR / name)) for name in meta.get("experiments_sha256", {}))


def store_entry(path: Path) -> dict:
    """An experiment-store entry's JSON (empty when it is gone), read once per version of its
    file: the status page counts an entry per page that used it and once more in a run from
    scratch, and the status page a run writes at its end counts the entries the run rewrote."""
    return _read_store_entry(path, path.stat().st_mtime_ns) if path.exists() else {}


@functools.lru_cache(maxsize=None)
def _read_store_entry(path: Path, mtime_ns: int) -> dict:
    import json

    return json.loads(path.read_text())


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else the architecture: results differ
    across CPUs in their last bits, so the status page says which one produced them."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


FAMILIES = (("TAVRNN", ("tavrnn.py:TAVRNN",)), ("GRU-window networks", ("models.py:GRUWindow",)),
            ("trajectory networks", ("trajectories.py:",)), ("graph networks", ("models.py:GNN",)),
            ("MLPs", ("models.py:MLP",)), ("ADMM", ("admm.py:",)))
"""The model family an experiment-store entry trained, from the code it ran (first match; an
entry of several families, e.g. a table of GNNs and MLPs, counts under the costlier)."""


def family_of_entry(code: dict) -> str:
    return next((name for name, marks in FAMILIES if any(k.startswith(marks) for k in code)),
                "baselines and evaluation")


def time_from_scratch(pages: dict[str, dict]) -> str:
    """The status page's account of a run from scratch (``--fresh``): the experiment-store entries
    the book's full pages use, each counted once, in the seconds each took when it was computed,
    by the step that computes it and the model family it trained. ``pages``: each full page's
    recorded metadata, by chapter."""
    used = sorted({name for meta in pages.values() for name in meta.get("experiments_sha256", {})})
    seconds, entries, wall_only = {}, {}, 0
    for name in used:
        entry = store_entry(RESULTS_DIR / name)
        if not entry:
            continue
        key = (Path(name).parts[1], Path(name).parts[2], family_of_entry(entry.get("code", {})))
        seconds[key] = seconds.get(key, 0.0) + entry_cost(entry)
        entries[key] = entries.get(key, 0) + 1
        wall_only += "cpu_seconds" not in entry
    total = sum(seconds.values())
    if not total:
        return ""
    rows = [f"| {chapter} | `{step}` | {family} | {entries[chapter, step, family]} | {sec:,.0f} | {sec / total:.0%} |"
            for (chapter, step, family), sec in sorted(seconds.items(), key=lambda kv: -kv[1]) if sec >= 10]
    return ("## Where the time goes\n\n"
            "What a run from scratch (`--fresh`) computes: the experiment-store entries the book's pages "
            "use, each once, by the chapter whose store holds it, the step that computes it and the model "
            "family it trains (steps under 10 s left out), in the CPU seconds each took when it was "
            "computed on one thread (core-seconds: the work, not the time it waited for a core"
            + (f"; {wall_only} of {sum(entries.values())} entries predate that record and count their wall "
               "seconds, which overstate it" if wall_only else "")
            + (f"). In all at most {total:,.0f} s, {total / 3600:.1f} core-hours. " if wall_only else
               f"). In all {total:,.0f} s, {total / 3600:.1f} core-hours: on 2 cores, at least "
               f"{total / 7200:.1f} hours of wall time. ") + from_scratch_runs()
            + "One optimiser step of each family against the "
            "machine's measured roofline: `benchmarks/benchmark_step.py` (this machine's run: "
            "`benchmarks/cpu-roofline-2026-12-07/`).\n\n"
            + wide_table("| chapter | step | family | entries | core-seconds | share |\n|---|---|---|---|---|---|\n"
                         + "\n".join(rows)))


BENCHMARKS = ROOT / "benchmarks"
FROM_SCRATCH = BENCHMARKS / "from-scratch"
"""``<profile>.json``: the last run of every page of a profile from scratch (``--fresh --force``),
written by the runner when it succeeds, read by the status page."""


def record_from_scratch(profile: str, wall_s: float, jobs: int, threads: int, device: str,
                        commit: str | None = None) -> Path:
    """Write ``FROM_SCRATCH/<profile>.json``: how long every page of ``profile`` took from scratch,
    where and at which commit."""
    import datetime
    import json

    from wormlib.provenance import git_commit

    path = FROM_SCRATCH / f"{profile}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(dict(
        profile=profile, wall_s=round(wall_s), jobs=jobs, threads=threads, device=device,
        commit=commit or git_commit(), date=datetime.date.today().isoformat(),
        machine=f"{cpu_name()}, {os.cpu_count()} cores"), indent=1) + "\n")
    return path


def from_scratch_runs() -> str:
    """A sentence per recorded run of every page from scratch (``FROM_SCRATCH``), or nothing."""
    import json

    runs = [json.loads(p.read_text()) for p in sorted(FROM_SCRATCH.glob("*.json"))]
    return "".join(
        f"Every page of the {r['profile']} profile from scratch (`--fresh --force`, {r['jobs']} pages at a "
        f"time) last took {r['wall_s'] / 60:.0f} min of wall time ({r['date']}, commit `{r['commit']}`, "
        f"{r['machine']}). " for r in sorted(runs, key=lambda r: r["profile"] != "full"))


def wide_table(table: str) -> str:
    """A markdown table given the page's full width on a wide screen (book/_static/tables.css)."""
    return f":::{{container}} full-width\n{table}\n:::\n\n"


def dropdown(title: str, body: str) -> str:
    """``body`` (MyST) in a collapsed box titled ``title``; nothing when ``body`` is empty."""
    return f":::{{admonition}} {title}\n:class: dropdown\n\n{body.strip()}\n:::\n\n" if body.strip() else ""


def other_machines() -> str:
    """A section per recorded run on another machine (``benchmarks/<run>/``, written from
    ``tools/profile_chapters.py`` and ``tools/compare_results.py``; see ``benchmarks/README.md``):
    per chapter its run time there beside the book's, how far it got, and how its results compare
    with the book's record by record."""
    import collections
    import functools
    import json
    import statistics

    from profile_chapters import cells

    @functools.lru_cache(maxsize=None)
    def at_commit(path: str, commit: str | None) -> str | None:
        """A file's text at ``commit`` (None without a commit or where git cannot show it)."""
        import subprocess

        shown = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, capture_output=True,
                               text=True) if commit else None
        return shown.stdout if shown and shown.returncode == 0 else None

    def chapter_cells(chapter: str, commit: str | None) -> list:
        """The chapter's code cells as the run saw them (its source at ``commit``, else now)."""
        path = f"chapters/{chapter}.py"
        return cells(at_commit(path, commit) or (ROOT / path).read_text())

    def page_record(chapter: str, commit: str | None, profile: str) -> dict:
        """What the book's page of ``profile`` recorded at ``commit`` (its notebook's metadata)."""
        shown = at_commit(str(output_path(chapter, profile).relative_to(ROOT)), commit)
        return json.loads(shown).get("metadata", {}).get("wormlib", {}) if shown else {}

    def section_table(timing: dict, commit: str | None, profile: str) -> str:
        """Per section that took ≥ 10 s on either side: the page's recorded time beside the
        run's (the sum of its cells there; "not reached" or "partly" where it was stopped)."""
        lines = []
        for chapter, r in timing["chapters"].items():
            book = page_record(chapter, commit, profile).get("section_times_s", {})
            of_cell = [c[2] or "setup" for c in chapter_cells(chapter, commit)]    # section of each code cell
            expected, ran, seconds = collections.Counter(of_cell), collections.Counter(), collections.defaultdict(float)
            for c in r.get("cells", []):
                ran[of_cell[c["cell"]]] += 1
                seconds[of_cell[c["cell"]]] += c["seconds"]
            for name, n_cells in expected.items():
                here = ("not reached" if not ran[name] else f"{seconds[name]:.0f}"
                        + ("" if ran[name] == n_cells else " (partly)"))
                if max(book.get(name, 0.0), seconds[name]) >= 10:
                    ratio = (f"{book[name] / seconds[name]:.1f}×" if ran[name] == n_cells and book.get(name)
                             and seconds[name] else "—")
                    lines.append(f"| {chapter} | {name} | {book.get(name, '—')} | {here} | {ratio} |")
        return ("Per section (≥ 10 s on either side), the time the book's page recorded beside the time here:\n\n"
                "| chapter | section | the page (s) | here (s) | speed-up |\n|---|---|---|---|---|\n"
                + "\n".join(lines) + "\n\n") if lines else ""

    sections = []
    for run in sorted(p for p in BENCHMARKS.glob("*/") if (p / "timing.json").exists()):
        timing = json.loads((run / "timing.json").read_text())
        compared = json.loads((run / "compare.json").read_text()) if (run / "compare.json").exists() else {}
        about = json.loads((run / "about.json").read_text())
        profile = about.get("profile", "full")
        rows = []
        for chapter, r in timing["chapters"].items():
            n_cells = r.get("n_cells") or len(chapter_cells(chapter, about.get("commit")))
            book = page_record(chapter, about.get("commit"), profile).get("runtime_s", "—")
            name = f"{chapter.split('_', 1)[1]}.json"
            c = compared.get(name)
            if c:
                worst = max(c["metrics"].items(), key=lambda kv: kv[1]["max"], default=None)
                agree = (f"{c['identical']} of {c['shared']} identical"
                         + (f"; largest difference {worst[1]['max']:.2g} ({worst[0]})" if worst else ""))
            else:
                agree = "not compared (no results written)"
            ran = f"{r.get('total_s', '—')}" + ("" if r.get("finished") else " (stopped)")
            rows.append(f"| {chapter} | {book} | {ran} | {len(r.get('cells', []))} of {n_cells} | {agree} |")
        busy = [int(line.split()[1]) for line in (run / "gpu-utilisation.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")] if (run / "gpu-utilisation.txt").exists() else []
        step = (run / "step.txt").read_text().rstrip() if (run / "step.txt").exists() else ""
        cell_table = "" if about.get("baseline") else section_table(timing, about.get("commit"), profile)
        if about.get("baseline") and (BENCHMARKS / about["baseline"] / "timing.json").exists():
            base = json.loads((BENCHMARKS / about["baseline"] / "timing.json").read_text())["chapters"]
            seconds = lambda r: {c["cell"]: c for c in r.get("cells", [])}  # noqa: E731
            pairs = [(chapter, cell, there.get(cell), here)
                     for chapter, r in timing["chapters"].items() if chapter in base
                     for cell, here in seconds(base[chapter]).items() for there in [seconds(r)]]
            pairs = sorted(pairs, key=lambda p: -p[3]["seconds"])[:8]
            section = {ch: [c[2] for c in chapter_cells(ch, about.get("commit"))] for ch in base}
            cell_table = (f"The slowest cells of the CPU run `{about['baseline']}` (same code, the chapters two at a "
                          "time on the book's 2-core machine) and their time here:\n\n"
                          "| chapter | section | cell (first line) | CPU (s) | here (s) |\n"
                          "|---|---|---|---|---|\n"
                          + "\n".join(f"| {ch} | {section[ch][cell] or '(set-up)'} | `{h['first_line'][:40]}` | "
                                       f"{h['seconds']:.0f} | "
                                       f"{'not reached' if t is None else format(t['seconds'], '.0f')} |"
                                       for ch, cell, t, h in pairs) + "\n\n")
        sections.append(
            f"\n## {about['machine']} ({about['date']})\n\n{about['how']}\n\n"
            f"| chapter | the book's {'quick ' if profile == 'quick' else ''}run at {about.get('commit', '—')} (s) | "
            "there (s) | cells run | "
            "results against the book's (same commit) |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
            + dropdown("Per section or cell", cell_table)
            + (f"GPU busy (streaming multiprocessors, sampled every 5 s while the chapters ran): median "
               f"{statistics.median(busy):.0f} %, above 50 % in {sum(b > 50 for b in busy)} of {len(busy)} "
               "samples.\n\n" if busy else "")
            + dropdown("One optimiser step of each model family there",
                       f"`benchmarks/benchmark_step.py --device cuda`:\n\n```text\n{step}\n```\n\n" if step else "")
            + about.get("reading", "") + "\n")
    return ("# Runs on other machines\n\nThe chapters come from the CPU run on the {doc}`status` page; these "
            "runs check that the same code runs elsewhere and measure it there (written by "
            "`tools/execute_chapters.py` from `benchmarks/<run>/`). Nothing from them is shown in the "
            "chapters.\n"
            + "".join(sections)) if sections else ("# Runs on other machines\n\nNone recorded yet.\n")


def producers() -> dict[str, str]:
    """results name → the chapter that writes it (from the chapter sources)."""
    import re

    out = {}
    for chapter in CHAPTERS:
        for name in re.findall(r'Results\("([a-z-]+)"', (ROOT / "chapters" / f"{chapter}.py").read_text()):
            out[name] = chapter
    return out


def needs(chapters: list[str]) -> dict[str, set[str]]:
    """chapter → the chapters of ``chapters`` whose results it reads (provenance.RESULTS_READ)."""
    from wormlib.provenance import RESULTS_READ

    made_by = producers()
    return {c: {made_by[n] for n in RESULTS_READ.get(c, ()) if made_by.get(n) in chapters} for c in chapters}


def in_dependency_order(chapters: list[str]) -> list[str]:
    """``chapters`` with each after the chapters whose results it reads (:func:`needs`): a
    chapter's first page reads its section pages' results (the scorecard of chapter 5)."""
    reads = needs(chapters)
    ordered: list[str] = []
    while len(ordered) < len(chapters):
        ready = [c for c in chapters if c not in ordered and reads[c] <= set(ordered)]
        if not ready:
            raise SystemExit(f"error: the chapters read each other's results in a cycle: {sorted(set(chapters) - set(ordered))}")
        ordered.append(ready[0])
    return ordered


def critical_path(chapters: list[str], profile: str, fresh: bool) -> dict[str, float]:
    """Each page's expected seconds plus the longest chain of pages waiting for its results
    (:func:`needs`): the order in which a run with spare slots starts pages. A page's expected
    seconds are its last run time, and in a run from scratch (``fresh``) also the work of its
    store entries (``experiments_seconds``): a page last executed from the store took seconds,
    but from scratch it trains for hours, and the pages after it wait."""
    reads = needs(chapters)
    own = {}
    for chapter in chapters:
        meta = recorded(output_path(chapter, profile))
        own[chapter] = meta.get("runtime_s", 0) + (experiments_seconds(meta) if fresh else 0)
    rank: dict[str, float] = {}

    def chain(chapter: str) -> float:
        if chapter not in rank:
            rank[chapter] = own[chapter] + max((chain(c) for c in chapters if chapter in reads[c]), default=0)
        return rank[chapter]

    for chapter in chapters:
        chain(chapter)
    return rank


def run_parallel(chapters: list[str], args: argparse.Namespace) -> int:
    """Execute ``chapters`` as separate processes, ``args.jobs`` at a time, each on
    ``args.threads`` threads, a chapter starting only after the chapters whose results it
    reads (provenance.RESULTS_READ) have finished. Returns the number of failed chapters."""
    import subprocess

    reads = needs(chapters)
    env = dict(os.environ)
    rank = critical_path(chapters, args.profile, args.fresh)
    pending = sorted(chapters, key=lambda c: -rank[c])   # the longest chain first; the short pages fill in
    running, done, failed = {}, set(), set()
    while pending or running:
        for chapter in list(pending):
            if len(running) >= args.jobs:
                break
            if reads[chapter] & failed:
                print(f"{chapter} [{args.profile}]: skipped, it reads the results of a failed chapter", flush=True)
                pending.remove(chapter)
                failed.add(chapter)
            elif reads[chapter] <= done:
                pending.remove(chapter)
                cmd = [sys.executable, __file__, chapter, "--jobs", "1", "--profile", args.profile,
                       "--device", args.device, "--seed", str(args.seed), "--threads", str(args.threads),
                       "--no-status"] + (["--fresh"] if args.fresh else [])
                running[chapter] = subprocess.Popen(cmd + (["--force"] if args.force else []), env=env)
        time.sleep(0.2)
        for chapter, proc in list(running.items()):
            if proc.poll() is not None:
                del running[chapter]
                (done if proc.returncode == 0 else failed).add(chapter)
    return len(failed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", default=CHAPTERS, help=f"default: all ({', '.join(CHAPTERS)})")
    parser.add_argument("--profile", default="full", choices=["quick", "full"])
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument("--seed", type=int, default=0, help="an integer in [0, 2**32 - 1]")
    parser.add_argument("--force", action="store_true", help="execute even when up to date")
    parser.add_argument("--fresh", action="store_true",
                        help="compute every experiment again instead of reading the store (with --force: "
                             "the whole chapter from scratch; a rerun reproduces the entries' values bit for bit; "
                             "with every chapter, the run's wall time goes to benchmarks/from-scratch/)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="chapters executed at once, each on --threads threads (default: 2 "
                             "on a CPU with 2 or more cores, 1 on a GPU; a chapter that reads "
                             "another's results waits for it)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads per chapter (default 1: chapters run in parallel instead; "
                             "results are bit-identical between runs with the same value)")
    parser.add_argument("--no-status", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    unknown = [c for c in args.chapters if c not in CHAPTERS]
    if unknown:
        parser.error(f"unknown chapter(s) {unknown}; chapters are {', '.join(CHAPTERS)}")
    try:
        check_seed(args.seed)
        device = resolve_device(args.device)
    except ParameterError as exc:
        parser.error(str(exc))
    if args.jobs is None:  # chapters on one GPU would compete for its memory
        args.jobs = 1 if device == "cuda" else min(2, os.cpu_count() or 1)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fresh:
        from wormlib.store import FRESH_ENV

        # the run's start: the pages this run computes read each other's entries; the kernels, their
        # workers and, with --jobs, the runner's own processes for each page inherit it (and keep it)
        if not os.environ.get(FRESH_ENV):
            os.environ[FRESH_ENV] = repr(time.time())
    start = time.perf_counter()
    try:
        if args.jobs > 1 and len(args.chapters) > 1:
            if run_parallel(args.chapters, args):
                return 1
        else:
            for chapter in in_dependency_order(args.chapters):
                execute(chapter, args.profile, args.device, args.seed, args.force, args.threads)
        if args.fresh and args.force and set(args.chapters) == set(CHAPTERS):
            record_from_scratch(args.profile, time.perf_counter() - start, args.jobs, args.threads, args.device)
    except ChapterFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.profile == "full" and not args.no_status:
            write_status()
    return 0


if __name__ == "__main__":
    sys.exit(main())

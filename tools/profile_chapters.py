"""Run chapters as plain Python, timing every cell: a profiler, and a way to run the book's
computations on a machine without Jupyter (e.g. a GPU box with only torch and the scientific stack).

    python tools/profile_chapters.py --profile full --device cuda --jobs 5 --threads 3 --out /tmp/run
    python tools/profile_chapters.py --profile quick 02_models          # one chapter, quick profile
    python tools/profile_chapters.py --profile full --device cuda 03_classification \
        --sections "Data and protocols,Fig. 4A,Fig. 4B,Seeds,Time context"  # a section and those it reads

Each chapter's percent-format source (``chapters/<name>.py``) is split into cells; the code cells
run in one namespace, in order, with the parameters (profile, device, seed) set right after the
cell tagged ``parameters`` — as papermill would inject them. Nothing of the book is touched: the
chapter's results are written to ``--out/<chapter>/`` (``WORMLIB_RESULTS_STAGE``) and no notebook
is written. Where ``myst_nb`` or ``IPython`` is not installed, ``glue`` and ``display`` become
no-ops (``--stub-jupyter`` forces that). ``--out/timing.json`` gets, per chapter, the wall time of
every cell (with its first line) and the error that stopped it, if any; the ten slowest cells
are printed. Compare the results with ``tools/compare_results.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

from toolargs import chapter_environment

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"^# %%(.*)$", re.MULTILINE)


def cells(source: str) -> list[tuple[str, str, str]]:
    """``[(header, code, section)]`` of the code cells of a percent-format script (markdown cells
    dropped): the header is what follows ``# %%`` (e.g. ``tags=["parameters"]``), the section the
    last ``## `` heading above the cell."""
    marks = list(CELL.finditer(source))
    out, section = [], ""
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
        header, body = mark.group(1).strip(), source[mark.end():end].strip("\n")
        if header.startswith("[markdown]"):
            section = next((line[5:].strip() for line in body.splitlines() if line.startswith("# ## ")), section)
        elif body.strip():
            out.append((header, body, section))
    return out


def wanted(source: list[tuple[str, str, str]], sections: list[str] | None) -> list[int]:
    """Indices of the code cells to run: all of them, or (``sections``: heading prefixes, any
    case) the set-up cells before the first heading plus the cells under a matching heading.
    A skipped section's variables are missing later: a cell that needs them fails, and the
    failure is recorded like any other."""
    if not sections:
        return list(range(len(source)))
    prefixes = [p.casefold() for p in sections]
    return [i for i, (_, _, section) in enumerate(source)
            if not section or any(section.casefold().startswith(p) for p in prefixes)]


def stub_jupyter(force: bool) -> None:
    """No-op ``myst_nb.glue`` and ``IPython.display`` where they cannot be imported (or ``force``)."""
    def missing(name: str, force: bool = force) -> bool:
        if force:
            return True
        try:
            __import__(name)
            return False
        except ImportError:
            return True

    if missing("myst_nb"):
        sys.modules["myst_nb"] = types.SimpleNamespace(glue=lambda *args, **kwargs: None)
    if missing("IPython.display"):
        display = types.ModuleType("IPython.display")
        display.display = lambda *args, **kwargs: None
        display.Markdown = display.HTML = lambda text, *args, **kwargs: text
        if missing("IPython", force=False):
            sys.modules["IPython"] = types.ModuleType("IPython")
            # what matplotlib asks of IPython: not running in IPython, a version with nothing to patch
            sys.modules["IPython"].get_ipython, sys.modules["IPython"].version_info = (lambda: None), (9, 0, 0)
        sys.modules["IPython.display"] = display


def run_chapter(chapter: str, profile: str, device: str, seed: int, out: Path, force_stubs: bool,
                sections: list[str] | None = None) -> dict:
    """Execute one chapter in this process; returns its timing record, also written (after every
    cell, so a killed run leaves what it timed) to ``out/.timing-<chapter>.json``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stub_jupyter(force_stubs)
    stage = out / chapter
    stage.mkdir(parents=True, exist_ok=True)
    os.environ["WORMLIB_RESULTS_STAGE"] = str(stage)
    # a profile times the computation: every experiment runs once (wormlib.store.FRESH_ENV), its entry
    # goes to the stage with the results, and the committed store is neither read nor changed
    os.environ["WORMLIB_STORE_FRESH"] = repr(time.time())
    os.chdir(ROOT / "chapters")
    sys.path.insert(0, str(ROOT))
    namespace = {"__name__": "__main__"}
    record = dict(chapter=chapter, profile=profile, device=device, seed=seed, cells=[], error=None,
                  sections=sections)
    start = time.perf_counter()
    source = cells((ROOT / "chapters" / f"{chapter}.py").read_text())
    record["n_cells"] = len(source)
    for i in wanted(source, sections):
        header, code, section = source[i]
        first = next(line for line in code.splitlines() if line.strip())
        tic = time.perf_counter()
        try:
            exec(compile(code, f"{chapter}.py [cell {i}]", "exec"), namespace)
            if "parameters" in header:
                namespace.update(profile=profile, device=device, seed=seed)
        except Exception:  # noqa: BLE001 — recorded, the chapter stops here
            record["error"] = traceback.format_exc(limit=8)
            print(f"{chapter}: cell {i} failed\n{record['error']}", file=sys.stderr, flush=True)
            break
        finally:
            record["cells"].append(dict(cell=i, section=section, first_line=first[:100],
                                        seconds=round(time.perf_counter() - tic, 2)))
            plt.close("all")
        record["total_s"] = round(time.perf_counter() - start, 1)
        (out / f".timing-{chapter}.json").write_text(json.dumps(record))
        print(f"{chapter}: cell {i} {record['cells'][-1]['seconds']:.1f} s  {first[:60]}", flush=True)
    record["finished"] = record["error"] is None
    (out / f".timing-{chapter}.json").write_text(json.dumps(record))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter names (default: every chapter)")
    parser.add_argument("--profile", default="full")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/wormlib-profile", help="results and timing.json go here")
    parser.add_argument("--jobs", type=int, default=1, help="chapters run at the same time")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per chapter")
    parser.add_argument("--deadline", type=float, default=None,
                        help="seconds after which unfinished chapters are stopped (their cells so far are kept)")
    parser.add_argument("--stub-jupyter", action="store_true", help="no-op glue/display even if installed")
    parser.add_argument("--sections", help="comma-separated heading prefixes: run only the set-up cells and these "
                                           "sections (e.g. 'Time context' to time one section within a deadline)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run this chapter in this process
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.one:
        import torch

        torch.set_num_threads(args.threads)
        sections = [x.strip() for x in args.sections.split(",")] if args.sections else None
        record = run_chapter(args.one, args.profile, args.device, args.seed, out, args.stub_jupyter, sections)
        sys.exit(1 if record["error"] else 0)
    chapters = args.chapters or sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    env.setdefault("WORMLIB_DATA", str(ROOT.parent / "shared" / "data"))
    chapter_environment(env)
    base = [sys.executable, str(Path(__file__).resolve()), "--profile", args.profile, "--device", args.device,
            "--seed", str(args.seed), "--out", str(out), "--threads", str(args.threads)]
    if args.stub_jupyter:
        base.append("--stub-jupyter")
    if args.sections:
        base += ["--sections", args.sections]
    start, running, pending = time.perf_counter(), [], list(chapters)
    while pending or running:
        while pending and len(running) < args.jobs:
            running.append(subprocess.Popen(base + ["--one", pending.pop(0)], env=env))
        time.sleep(0.5)
        running = [p for p in running if p.poll() is None]
        if args.deadline and time.perf_counter() - start > args.deadline:
            for p in running:
                p.kill()
            pending, running = [], []
            print(f"deadline of {args.deadline:.0f} s reached: unfinished chapters stopped", flush=True)
    records = {}
    for chapter in chapters:
        path = out / f".timing-{chapter}.json"
        records[chapter] = json.loads(path.read_text()) if path.exists() else dict(error="not started")
        if "finished" not in records[chapter]:
            records[chapter]["error"] = records[chapter].get("error") or "stopped at the deadline"
        path.unlink(missing_ok=True)
    summary = dict(wall_s=round(time.perf_counter() - start, 1), jobs=args.jobs, threads=args.threads,
                   chapters=records)
    (out / "timing.json").write_text(json.dumps(summary, indent=1))
    print(f"\nwall time {summary['wall_s']:.0f} s ({args.jobs} at a time, {args.threads} thread(s) each)")
    for chapter, r in records.items():
        print(f"  {chapter}: {r.get('total_s', '—')} s{'' if r.get('finished') else '  (' + r['error'][-80:] + ')'}")
    slow = sorted(((c["seconds"], ch, c["first_line"]) for ch, r in records.items() for c in r.get("cells", [])),
                  reverse=True)[:10]
    print("slowest cells:")
    for seconds, chapter, first in slow:
        print(f"  {seconds:7.1f} s  {chapter}  {first[:70]}")
    sys.exit(1 if any(r.get("error") for r in records.values()) else 0)


if __name__ == "__main__":
    main()

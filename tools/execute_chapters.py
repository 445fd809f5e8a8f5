"""Execute the chapters with papermill, only those whose inputs changed.

    python tools/execute_chapters.py                 # full profile → book/chapters/*.ipynb
    python tools/execute_chapters.py --profile quick # quick profile → chapters/*.ipynb (nbval's reference)
    python tools/execute_chapters.py --device cuda --force 03_classification

A chapter's inputs are its source, every file of wormlib and its parameters
(wormlib.provenance.inputs_hash); the hash is stored in the executed notebook's metadata
("wormlib") together with the parameters and the run time. Chapters run one after another
(never in parallel: each would grab the GPU's memory).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
import papermill

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wormlib.provenance import inputs_hash  # noqa: E402

CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def output_path(chapter: str, profile: str) -> Path:
    return (ROOT / "book" / "chapters" if profile == "full" else ROOT / "chapters") / f"{chapter}.ipynb"


def recorded_hash(path: Path) -> str | None:
    if not path.exists():
        return None
    return nbformat.read(path, as_version=4).metadata.get("wormlib", {}).get("inputs_sha256")


def execute(chapter: str, profile: str, device: str, seed: int, force: bool = False) -> None:
    out = output_path(chapter, profile)
    digest = inputs_hash(chapter, profile, device, seed)
    if not force and recorded_hash(out) == digest:
        print(f"{chapter} [{profile}]: up to date", flush=True)
        return
    notebook = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    notebook.metadata["kernelspec"] = KERNEL
    notebook.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"{chapter}.ipynb"
        nbformat.write(notebook, source)
        print(f"{chapter} [{profile}, device={device}]: executing", flush=True)
        start = time.perf_counter()
        papermill.execute_notebook(
            str(source), str(source), kernel_name="python3", cwd=str(ROOT / "chapters"),
            parameters=dict(profile=profile, device=device, seed=seed),
            progress_bar=False, request_save_on_cell_execute=False)
        runtime = time.perf_counter() - start
        executed = nbformat.read(source, as_version=4)
    executed.metadata["wormlib"] = dict(inputs_sha256=digest, profile=profile, device=device,
                                        seed=seed, runtime_s=round(runtime, 1))
    executed.metadata.pop("papermill", None)
    for cell in executed.cells:  # per-cell timestamps would make every re-run a diff
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(executed, out)
    print(f"{chapter} [{profile}]: done in {runtime:.0f} s → {out.relative_to(ROOT)}", flush=True)


def write_status() -> None:
    """book/status.md: environment and, per chapter, the profile, device and run time that
    produced the page the book shows."""
    import platform

    import numpy
    import torch

    rows = []
    for chapter in CHAPTERS:
        path = output_path(chapter, "full")
        meta = nbformat.read(path, as_version=4).metadata.get("wormlib", {}) if path.exists() else {}
        stale = meta.get("inputs_sha256") != inputs_hash(chapter, "full", meta.get("device", "auto"), meta.get("seed", 0))
        rows.append(f"| {chapter} | {meta.get('profile', '—')} | {meta.get('device', '—')} | "
                    f"{meta.get('seed', '—')} | {meta.get('runtime_s', '—')} | "
                    f"`{meta.get('inputs_sha256', '')[:12]}` | {'**stale**' if stale else 'current'} |")
    (ROOT / "book" / "status.md").write_text(
        "# Execution status\n\n"
        "How each chapter page was produced (written by `tools/execute_chapters.py`). A chapter is "
        "*current* when the hash of its inputs — its source, every file of `wormlib` and its "
        "parameters — equals the hash recorded when it was executed; the test suite fails otherwise.\n\n"
        "| chapter | profile | device | seed | run time (s) | inputs hash | state |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Environment of the last execution: Python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}, on {platform.machine()} ({platform.system()}).\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", default=CHAPTERS, help=f"default: all ({', '.join(CHAPTERS)})")
    parser.add_argument("--profile", default="full", choices=["quick", "full"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="execute even when up to date")
    args = parser.parse_args()
    for chapter in args.chapters:
        execute(chapter, args.profile, args.device, args.seed, args.force)
    if args.profile == "full":
        write_status()


if __name__ == "__main__":
    main()

"""Benchmark: loading each study's recordings (``wormlib.data``), cold, in a fresh process.

    python benchmarks/benchmark_loaders.py [--repeats 3]
    python benchmarks/benchmark_loaders.py --against <commit>   # also that commit's loaders, same run

For each loader of the book's data — the five Kato worms, the seven Dag worms, and the Dag
NeuroPAL label file alone (the JLD2 tree of object references that the Dag loader walks) — it
prints the size of its files and the median wall time of ``--repeats`` loads, each in a new Python
process (so no in-process cache helps; the operating system's file cache is warm after the
first). ``--against`` times the same loads with a given commit's wormlib (a temporary git
worktree), interleaved with this tree's, for a speed-up measured on one machine in one run.
Last, it counts the object references in the whole Dag label file and the objects they reach.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import json
import os
import statistics
import subprocess


LOADERS = {
    "kato2015 (5 worms)": ("from wormlib.data import load_kato2015 as f; f()", "kato2015", "*"),
    "dag2023 (7 worms)": ("from wormlib.data import load_dag2023 as f; f()", "dag2023", "*"),
    "dag2023 labels (JLD2)": ("from wormlib.data import dag; from wormlib.data.locate import study_dir; "
                              "dag._read_labels(study_dir('dag2023') / dag.LABELS_FILE)",
                              "dag2023", "NeuroPAL_labels_dict.jld2"),
}


def timed_load(code: str, root: str) -> float:
    """Seconds to run ``code`` in a fresh interpreter whose ``wormlib`` is ``root``'s, imports
    excluded."""
    probe = (f"import sys, time; sys.path.insert(0, {root!r}); import numpy, h5py, scipy.io; "
             f"t = time.perf_counter(); {code}; print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def label_file_references() -> tuple[int, int]:
    """(references followed, distinct objects) in a walk of the whole Dag label file, every
    entry (the counts behind ``wormlib.data.dag``'s one walk of what it uses)."""
    import h5py

    from wormlib.data import dag
    from wormlib.data.locate import study_dir

    calls, follow = [0], h5py.h5r.dereference

    def counted(*args):
        calls[0] += 1
        return follow(*args)

    memo: dict = {}
    h5py.h5r.dereference = counted
    try:
        with h5py.File(study_dir("dag2023") / dag.LABELS_FILE) as handle:
            dag._jld2_value(handle, handle["NeuroPAL_labels"][()], memo)
    finally:
        h5py.h5r.dereference = follow
    return calls[0], len(memo)


def measure(root: str, repeats: int) -> dict:
    return {name: statistics.median(timed_load(code, root) for _ in range(repeats))
            for name, (code, _, _) in LOADERS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--against", help="a git commit to time in the same run")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("WORMLIB_DATA", str(ROOT.parent / "shared" / "data"))
    if args.json:
        print(json.dumps(measure(args.root, args.repeats)))
        return
    sys.path.insert(0, str(ROOT))
    from toolargs import json_at_commit

    from wormlib.data.locate import study_dir

    other = json_at_commit(__file__, args.against, ["--repeats", str(args.repeats)]) if args.against else None
    here = measure(args.root, args.repeats)
    head = f"{'loader':<24} {'MB files':>8} {'seconds':>8}"
    print(head + (f" {'s @' + args.against[:7]:>11} {'speed-up':>8}" if other else ""))
    for name, (_, study, pattern) in LOADERS.items():
        mb = sum(p.stat().st_size for p in study_dir(study).glob(pattern) if p.name != "SHA256SUMS") / 1e6
        line = f"{name:<24} {mb:>8.1f} {here[name]:>8.2f}"
        if other:
            line += f" {other[name]:>11.2f} {other[name] / here[name]:>7.1f}×"
        print(line)
    followed, objects = label_file_references()
    print(f"dag2023 label file, every entry walked, each object read once: {followed} references followed "
          f"to {objects} distinct objects")


if __name__ == "__main__":
    main()

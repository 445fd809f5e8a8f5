"""Compare two sets of results files record by record (e.g. a CUDA run against the book's CPU run).

    python tools/compare_results.py results /tmp/run            # every <chapter>.json found in both
    python tools/compare_results.py results/quick /tmp/run --atol 1e-9

A record is identified by every field but ``value`` (``wormlib.results.FIELDS``); records are
matched on that key. For each file it prints how many records match exactly, how many differ by
at most ``--atol``, and per metric the largest and the median absolute difference; records that
exist on one side only are counted per experiment, task, model and number of training worms
(e.g. a new network on a new protocol). With ``--strict``, exit status 1 when any record is
missing or differs by more than ``--atol`` (default: report only, exit 0).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wormlib.results import FIELDS  # noqa: E402

KEY = tuple(f for f in FIELDS if f != "value")
GROUP = ("experiment", "task", "model", "n_train_worms")  # how one-sided records are counted


def key(record: dict) -> tuple:
    """What identifies a record: every field but its value (``KEY``)."""
    return tuple(record.get(f) for f in KEY)


def load(path: Path) -> dict[tuple, float]:
    return {key(r): r["value"] for r in json.loads(path.read_text())}


def find(folder: Path) -> dict[str, Path]:
    """``<name>.json`` → path, searched below ``folder`` (a run's stage has one folder per chapter);
    the shallowest wins, so ``results/`` means the full profile, not ``results/quick/``."""
    found = {}
    for p in sorted(folder.rglob("*.json"), key=lambda p: (len(p.parts), p)):
        if p.name != "timing.json":
            found.setdefault(p.name, p)
    return found


def difference(a, b) -> float:
    if a is None or b is None:
        return 0.0 if a is b else math.inf
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return 0.0
    return abs(float(a) - float(b))


def compare(a: dict, b: dict, atol: float) -> tuple[list[str], bool, dict]:
    lines = []
    only_a, only_b = sorted(set(a) - set(b), key=str), sorted(set(b) - set(a), key=str)
    shared = [k for k in a if k in b]
    diffs = {k: difference(a[k], b[k]) for k in shared}
    exact = sum(d == 0 for d in diffs.values())
    within = sum(d <= atol for d in diffs.values())
    lines.append(f"  {len(shared)} records in both: {exact} identical, {within} within {atol:g}; "
                 f"{len(only_a)} only in the first, {len(only_b)} only in the second")
    by_metric, summary = defaultdict(list), dict(shared=len(shared), identical=exact, within=within,
                                                   only_first=len(only_a), only_second=len(only_b), metrics={})
    for k, d in diffs.items():
        by_metric[k[KEY.index("metric")]].append(d)
    for metric, ds in sorted(by_metric.items()):
        finite = [d for d in ds if math.isfinite(d)]
        if finite and max(finite) > 0:
            summary["metrics"][metric] = dict(n=len(ds), max=max(finite), median=statistics.median(finite))
            lines.append(f"    {metric:<28} n={len(ds):<5} max |Δ| {max(finite):.3g}   median |Δ| "
                         f"{statistics.median(finite):.3g}")
    for label, keys in (("only in the first", only_a), ("only in the second", only_b)):
        groups = Counter(tuple(k[KEY.index(f)] for f in GROUP) for k in keys)
        for group, n in sorted(groups.items(), key=str):
            lines.append(f"    {label}: {n} records of " + ", ".join(f"{f}={v}" for f, v in zip(GROUP, group)))
    ok = not only_a and not only_b and within == len(shared)
    return lines, ok, summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--atol", type=float, default=0.0)
    parser.add_argument("--strict", action="store_true", help="exit 1 on any difference beyond --atol")
    parser.add_argument("--json", type=Path, help="also write the per-file summary here")
    args = parser.parse_args(argv)
    first, second = find(args.first), find(args.second)
    all_ok, summaries = True, {}
    for name in sorted(set(first) & set(second)):
        lines, ok, summaries[name] = compare(load(first[name]), load(second[name]), args.atol)
        all_ok &= ok
        print(f"{name}:")
        print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1) + "\n")
    sys.exit(1 if args.strict and not all_ok else 0)


if __name__ == "__main__":
    main()

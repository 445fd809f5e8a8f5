"""Compare the scorecard of two sets of results files claim by claim (e.g. the book's pages
against a rerun on another CPU, whose training sums in another order).

    python tools/compare_verdicts.py /tmp/previous results        # full profile in both folders

Each folder holds ``classification.json``, ``trajectories.json`` and ``discussion.json`` (a
``results/`` folder or a copy of one). Prints, per claim of ``wormlib.scorecard``, the verdict
on each side and whether it changed, then the evidence of the claims whose verdict changed.
Exit status 1 when a verdict changed.

A run that covers only some sections (a short GPU lease) is compared with ``--partial``: the
second folder's records replace the first's with the same keys (every field but the value), and
the first's other records are kept, so the scorecard is complete on both sides. A results file
may sit in the folder or below it, as ``tools/profile_chapters.py --out`` writes it (the shallowest wins).

    python tools/compare_verdicts.py --partial results /tmp/gpu-run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wormlib import scorecard  # noqa: E402
from wormlib.results import FIELDS, PARTS  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from compare_results import find, key  # noqa: E402

CHAPTERS = ("classification", "trajectories", "discussion")


def records_in(folder: Path) -> dict[str, list[dict]]:
    """``folder``'s results files by name (``compare_results.find``: at its top or below it)."""
    found = find(folder)
    records = {}
    for c in CHAPTERS:  # a chapter of several pages: every page's file (results.PARTS)
        files = [found[f"{part}.json"] for part in PARTS.get(c, (c,)) if f"{part}.json" in found]
        if files:
            records[c] = [r for f in files for r in json.loads(f.read_text())]
    return records


def overlay(base: dict[str, list[dict]], partial: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``base`` with each record that ``partial`` also has (same ``compare_results.key``) replaced
    by ``partial``'s, in ``base``'s order; ``partial``'s other records appended."""
    merged = dict(base)
    for name, new in partial.items():
        replacement = {key(r): r for r in new}
        ours = {key(r) for r in base[name]}
        merged[name] = [replacement.get(key(r), r) for r in base[name]] + [r for r in new if key(r) not in ours]
    return merged


def card(records: dict[str, list[dict]]) -> pd.DataFrame:
    """The scorecard of results records by file name (``scorecard.build``)."""
    return scorecard.build({c: pd.DataFrame(r, columns=list(FIELDS)) for c, r in records.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--partial", action="store_true",
                        help="the second folder holds some sections' records: overlay them on the first's")
    args = parser.parse_args(argv)
    first, second = records_in(args.first), records_in(args.second)
    a, b = card(first), card(overlay(first, second) if args.partial else second)
    if args.partial:
        print(f"{args.second}'s records overlaid on {args.first}'s: "
              + ", ".join(f"{n} {len(r)}" for n, r in second.items()))
    changed = a.verdict != b.verdict
    for i, (claim, va, vb, moved) in enumerate(zip(a.claim, a.verdict, b.verdict, changed), 1):
        print(f"{i:2d}. {'CHANGED ' if moved else ''}{va} → {vb}: {claim}")
    print(f"{int(changed.sum())} of {len(a)} verdicts changed")
    for i in changed[changed].index:
        print(f"\n{i + 1}. {a.claim[i]}\n  {args.first}: {a.evidence[i]}\n  {args.second}: {b.evidence[i]}")
    return int(changed.any())


if __name__ == "__main__":
    sys.exit(main())

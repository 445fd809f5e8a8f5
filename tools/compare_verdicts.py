"""Compare the scorecard of two sets of results files claim by claim (e.g. the book's pages
against a rerun on another CPU, whose training sums in another order).

    python tools/compare_verdicts.py /tmp/previous results        # full profile in both folders

Each folder holds ``classification.json``, ``trajectories.json`` and ``discussion.json`` (a
``results/`` folder or a copy of one). Prints, per claim of ``wormlib.scorecard``, the verdict
on each side and whether it changed, then the evidence of the claims whose verdict changed.
Exit status 1 when a verdict changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from wormlib import scorecard  # noqa: E402
from wormlib.results import read_records  # noqa: E402

CHAPTERS = ("classification", "trajectories", "discussion")


def card(folder: Path) -> pd.DataFrame:
    """The scorecard computed from ``folder``'s results files (``scorecard.build``)."""
    records = {c: read_records(folder / f"{c}.json") for c in CHAPTERS if (folder / f"{c}.json").exists()}
    return scorecard.build(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    a, b = card(args.first), card(args.second)
    changed = a.verdict != b.verdict
    for i, (claim, va, vb, moved) in enumerate(zip(a.claim, a.verdict, b.verdict, changed), 1):
        print(f"{i:2d}. {'CHANGED ' if moved else ''}{va} → {vb}: {claim}")
    print(f"{int(changed.sum())} of {len(a)} verdicts changed")
    for i in changed[changed].index:
        print(f"\n{i + 1}. {a.claim[i]}\n  {args.first}: {a.evidence[i]}\n  {args.second}: {b.evidence[i]}")
    return int(changed.any())


if __name__ == "__main__":
    sys.exit(main())

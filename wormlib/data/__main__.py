"""``python -m wormlib.data``: the book's data from their pinned public sources (``make data``).

    python -m wormlib.data                  # the required studies (Kato 2015, Dag 2023)
    python -m wormlib.data --optional       # also Nichols 2017 and Kato's official MAT file
    python -m wormlib.data nichols2017      # named sets only
    python -m wormlib.data --list           # every file: address, size, SHA-256 (no download)

Files already present and matching their pins are kept; the rest are downloaded into
``WORMLIB_DATA`` (its first writable directory) or ``./data``. Exit status 2 on a data error
(a required file that cannot be fetched); an optional set that cannot be fetched is reported and
skipped.
"""

from __future__ import annotations

import argparse
import sys

from .download import fetch
from .errors import DataError
from .locate import display_path
from .registry import BOOK_FILES, REQUIRED, book_files


def _list() -> None:
    for name in BOOK_FILES:
        print(f"{name} ({'required' if name in REQUIRED else 'optional'}):")
        for f in book_files(name):
            size = f"{f.size:,} bytes" if f.size else "size from OSF"
            print(f"  {f.name}  {size}  sha256 {f.sha256 or '(listed by OSF)'}\n    {f.where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wormlib.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", choices=[[], *BOOK_FILES], metavar="SET",
                        help=f"data sets to fetch, among {', '.join(BOOK_FILES)} (default: {', '.join(REQUIRED)})")
    parser.add_argument("--optional", action="store_true", help="also the optional sets (failures there are reported)")
    parser.add_argument("--list", action="store_true", help="print every file's address, size and SHA-256")
    args = parser.parse_args(argv)
    if args.list:
        _list()
        return 0
    chosen = list(args.sets) or [*REQUIRED, *([n for n in BOOK_FILES if n not in REQUIRED] if args.optional else [])]
    failed_required = False
    for name in chosen:
        try:
            paths = [fetch(f.study, f.name) for f in book_files(name)]
        except DataError as exc:
            required = name in REQUIRED or name in args.sets
            print(f"{name}: {'FAILED' if required else 'skipped (optional)'}: {exc}", file=sys.stderr)
            failed_required |= required
            continue
        folders = sorted({display_path(p.parent) for p in paths})
        print(f"{name}: {len(paths)} files verified in {', '.join(folders)}")
    return 2 if failed_required else 0


if __name__ == "__main__":
    sys.exit(main())

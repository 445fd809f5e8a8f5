"""What a change would re-run: every entry of the experiment store checked against the code here.

    python tools/store_status.py            # per chapter and profile: entries, still valid, to recompute
    python tools/store_status.py --list     # and each entry to recompute, with the code that changed

An entry stays valid while every definition it executed (``wormlib.store``) hashes as it did and
the libraries that change bits are the versions it was made with (its device and thread count are
its own; arguments are not re-checked here: they change only with a chapter's code or data).
Reads only; a page is re-executed by ``tools/execute_chapters.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from toolargs import chapter_environment  # noqa: E402  (tools/ is this script's folder)

chapter_environment()  # the environment the chapters run in (it enters the entries' keys)
from wormlib import store  # noqa: E402
from wormlib.results import RESULTS_DIR  # noqa: E402


def changed_environment(entry: dict) -> list[str]:
    made = entry.get("environment", {})
    here = store.environment(made.get("device", "cpu"))
    return [k for k in here if k not in ("device", "threads") and here[k] != made.get(k)]


def status(folder: Path = RESULTS_DIR) -> list[dict]:
    """One row per entry: where it is, its experiment, and why it would be recomputed (empty: valid)."""
    rows = []
    for path in sorted(folder.glob("**/store/*/*/*.json")):
        relative = path.relative_to(folder)
        entry = store.read_entry(path)
        why = [f"code {c}" for c in store.changed_code(entry)] + [f"{k} version" for k in changed_environment(entry)]
        if entry.get("format") != store.FORMAT:
            why.insert(0, f"entry format {entry.get('format')} (now {store.FORMAT})")
        profile = relative.parts[0] if relative.parts[0] != "store" else "full"
        rows.append(dict(profile=profile, chapter=path.parent.parent.name, experiment=path.parent.name,
                         path=relative.as_posix(), why=why))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="every entry to recompute, and why")
    args = parser.parse_args(argv)
    rows = status()
    total, stale = Counter(), Counter()
    for r in rows:
        total[r["profile"], r["chapter"]] += 1
        stale[r["profile"], r["chapter"]] += bool(r["why"])
    print(f"{'profile':8} {'chapter':20} {'entries':>8} {'valid':>6} {'to recompute':>13}")
    for key in sorted(total):
        print(f"{key[0]:8} {key[1]:20} {total[key]:8d} {total[key] - stale[key]:6d} {stale[key]:13d}")
    if args.list:
        for r in rows:
            if r["why"]:
                print(f"{r['path']}: {', '.join(r['why'][:3])}{' …' if len(r['why']) > 3 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Screenshots of every page of the built book, as a reader sees them (headless Chromium).

    python tools/screenshots.py [--site book/_build/html] [--out screenshots] [--width 1400]

Needs Debian's ``chromium`` (``apt-get install chromium``). One full-height PNG per page; look
at them (figures legible? tables formatted? no code plumbing?) before a release.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no Chromium found: apt-get install chromium")


def shoot(browser: str, page: Path, out: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                        "--no-first-run", "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default=str(ROOT / "book" / "_build" / "html"))
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=9000, help="window height: the part of each page captured")
    args = parser.parse_args()
    site, out = Path(args.site), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    browser = chromium()
    pages = sorted(site.glob("*.html")) + sorted((site / "chapters").glob("*.html"))
    for page in pages:
        if page.name in ("genindex.html", "search.html"):
            continue
        target = out / f"{page.stem}.png"
        shoot(browser, page, target, args.width, args.height)
        print(target)


if __name__ == "__main__":
    main()

"""Screenshots of every page of the built book, as a reader sees them (headless Chromium).

    python tools/screenshots.py [--site book/_build/html] [--out screenshots] [--width 1400]
    python tools/screenshots.py --layout 1280,1366,1440      # what does not fit, per width

Needs Debian's ``chromium`` (``apt-get install chromium``). One full-height PNG per page; look
at them (figures legible? tables formatted? no code plumbing?) before a release. ``--layout``
takes no pictures: for each page and window width it prints the page's height, its code cells
a reader sees without opening a dropdown, how many code and output blocks need a horizontal
scroll bar, how many characters a code line can have there, each table wider than its container
(table / container px) and each table whose rows wrap (rows on more than one line / rows: a
candidate for the "full-width" cell tag or shorter labels). It marks what misses issue 50's
targets (taller than 10,000 px at 1280 px or wider, more than 8 visible code cells, wider than
the window, an error in the browser's console) and exits non-zero when a page misses one.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_HEIGHT = 10_000      # px at 1280 px: a page read in one sitting (issue 50)
MAX_CODE_CELLS = 8       # code cells a reader sees without opening a dropdown


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    raise SystemExit("no Chromium found: apt-get install chromium")


def headless(browser: str, page: Path, width: int, height: int, *action: str) -> subprocess.CompletedProcess:
    """Run Chromium headless on ``page`` in a window of ``width`` × ``height`` px, its console
    messages logged to stderr."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                               "--no-first-run", "--disable-background-networking",
                               "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                               "--v=0", f"--user-data-dir={profile}", f"--window-size={width},{height}", *action,
                               page.as_uri()], check=True, capture_output=True, text=True, timeout=120)


CONSOLE_ERROR = re.compile(r':CONSOLE[:(]\d+\)?\] "((?:Uncaught|Failed to load|Error)[^"]*)"')
"""A console message a reader's browser reports as an error: an uncaught exception, a resource
that did not load, or ``console.error`` output starting "Error"."""


def shoot(browser: str, page: Path, out: Path, width: int, height: int) -> None:
    headless(browser, page, width, height, "--hide-scrollbars", f"--screenshot={out}")


MEASURE = """<script>addEventListener("load", () => {
  const over = e => e.scrollWidth > e.clientWidth + 1;
  const blocks = [...document.querySelectorAll("div.highlight pre")];
  const code = document.querySelector("div.cell_input div.highlight pre");
  let chars = null;
  if (code) {
    const s = getComputedStyle(code), ctx = document.createElement("canvas").getContext("2d");
    ctx.font = s.fontSize + " " + s.fontFamily;
    chars = (code.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight))
            / ctx.measureText("0").width;
  }
  const containers = [...document.querySelectorAll("div.pst-scrollable-table-container")];
  const tables = containers.filter(over).map(c => [c.querySelector("table").id, c.scrollWidth, c.clientWidth]);
  const wrapped = containers.map(c => {   // rows taller than one line: [id, such rows, rows]
    const rows = [...c.querySelectorAll("table > tbody > tr")];
    const cell = rows.length ? rows[0].querySelector("td, th") : null;
    const line = cell ? parseFloat(getComputedStyle(cell).lineHeight) || 18 : 18;
    return [c.querySelector("table").id, rows.filter(r => r.getBoundingClientRect().height > 1.6 * line).length,
            rows.length];
  }).filter(t => t[1] > 0);
  const cells = [...document.querySelectorAll("div.cell")].filter(c => {
    const input = c.querySelector("div.cell_input");   // a code cell a reader sees without a click
    return input && !c.classList.contains("tag_hide-input") && !c.classList.contains("tag_remove-input")
           && input.offsetParent !== null;
  }).length;
  const doc = document.documentElement;
  document.body.dataset.layout = encodeURIComponent(JSON.stringify(
    {blocks: blocks.length, scrolling: blocks.filter(over).length, chars, tables, wrapped,
     height: doc.scrollHeight, wide: doc.scrollWidth > doc.clientWidth + 1, cells}));
});</script></body>"""


def layout(browser: str, page: Path, width: int) -> dict:
    """What does not fit ``page`` at ``width`` px (see the module docstring), measured in the page
    itself, with its vertical scroll bar: a copy beside it, with a script that writes the
    measurements into the DOM."""
    probe = page.with_name(f".layout-{page.name}")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE, 1), encoding="utf-8")
    try:
        run = headless(browser, probe, width, 900, "--dump-dom")
    finally:
        probe.unlink()
    found = re.search(r'data-layout="([^"]*)"', run.stdout)
    if not found:
        raise SystemExit(f"{page.name}: no measurement in the page (did its script run?)")
    from urllib.parse import unquote

    return json.loads(unquote(found.group(1))) | {"console": CONSOLE_ERROR.findall(run.stderr)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default=str(ROOT / "book" / "_build" / "html"))
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=9000, help="window height: the part of each page captured")
    parser.add_argument("--layout", help="comma-separated window widths (px): measure instead of shooting")
    args = parser.parse_args()
    site, out = Path(args.site).resolve(), Path(args.out)  # file URIs need absolute paths
    browser = chromium()
    if args.layout:
        over = 0
        for width in map(int, args.layout.split(",")):
            for page in book_pages(site):
                m = layout(browser, page, width)
                wide = ", ".join(f"{t} {w}/{c}" for t, w, c in m["tables"]) or "none"
                tall = ", ".join(f"{t} {n}/{rows}" for t, n, rows in m["wrapped"]) or "none"
                chars = f"{m['chars']:.0f}" if m["chars"] else "—"
                misses = [f"taller than {MAX_HEIGHT:,} px"] * (m["height"] > MAX_HEIGHT and width >= 1280)
                misses += [f"more than {MAX_CODE_CELLS} visible code cells"] * (m["cells"] > MAX_CODE_CELLS)
                misses += ["wider than the window"] * m["wide"]
                misses += [f"console error: {message}" for message in m["console"]]
                over += bool(misses)
                print(f"{width:5d} px  {page.stem:28s} height {m['height']:6,d} px; visible code cells "
                      f"{m['cells']:2d}; code/output blocks scrolling {m['scrolling']:2d} of {m['blocks']:2d}; "
                      f"characters per code line {chars}; tables wider (px) {wide}; "
                      f"rows on more than one line {tall}" + "".join(f"; MISSES: {x}" for x in misses))
        raise SystemExit(f"{over} page(s) miss a target" if over else 0)
    out.mkdir(parents=True, exist_ok=True)
    for page in book_pages(site):
        target = out / f"{page.stem}.png"
        shoot(browser, page, target, args.width, args.height)
        print(target)


def book_pages(site: Path) -> list[Path]:
    """Every page a reader reads: the top-level pages and the chapters, not the index, search and
    redirect pages."""
    pages = sorted(site.glob("*.html")) + sorted((site / "chapters").glob("*.html"))
    return [p for p in pages if p.name not in ("genindex.html", "search.html") and not is_redirect(p)]


def is_redirect(page: Path) -> bool:
    """A page that only sends the browser on (jupyter-book's ``index.html``: a meta refresh to the
    first page); headless Chromium waits on it until the screenshot times out."""
    return 'http-equiv="Refresh"' in page.read_text(errors="replace")[:500]


if __name__ == "__main__":
    main()

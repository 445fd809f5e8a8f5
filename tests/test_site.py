"""The built site, as a reader meets it: no plumbing, no machine paths, every figure captioned
and described, every internal link and anchor resolves, code fits its block, and maths renders
without the network. The book is built here (`jupyter-book build book/`, render only)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
ABSOLUTE = re.compile(r"(?<![\w.~:/])/(?:home|root|tmp|work|Users|mnt|var|opt|srv|private)/[\w.-]")
CODE_WIDTH = 90
"""Characters a code line may have before the code block needs a horizontal scroll bar
(book/_static/code.css scales the code font for them, from 11 px up to the theme's size)."""


class Page(HTMLParser):
    """The parts of a page the checks need: ids, links, images, figures, code lines, scripts, text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.images, self.scripts, self.stylesheets = set(), [], [], [], []
        self.figures, self.text, self.code_lines = [], [], []
        self._stack, self._in_figure, self._pre_depth, self._pre_text = [], [], 0, []
        self._skip = 0
        self.tables, self._numbering = [], False

    def _stack_has(self, tag):
        return any(t == tag for t, _ in self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", "").split("?")[0])
        if tag == "script":
            self.scripts.append(a.get("src"))
            self._skip += 1
        if tag == "style":
            self._skip += 1
        if tag == "figure":
            self._in_figure.append({"caption": False})
        if tag == "figcaption" and self._in_figure:
            self._in_figure[-1]["caption"] = True
        if tag == "table":
            self.tables.append({"id": a.get("id", ""), "number": ""})
        if tag == "span" and "caption-number" in a.get("class", "") and self._stack_has("table"):
            self._numbering = True
        if tag == "img":
            self.images.append((a.get("alt") or "", a.get("src", ""), bool(self._in_figure)))
        if tag == "pre":
            self._pre_depth += 1
            self._pre_text = []
        self._stack.append((tag, a.get("class", "")))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        if tag == "figure" and self._in_figure:
            self.figures.append(self._in_figure.pop())
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
            inside_input = any("cell_input" in c for _, c in self._stack)
            if inside_input:
                self.code_lines += "".join(self._pre_text).splitlines()
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._numbering and self.tables:
            self.tables[-1]["number"] += data
            self._numbering = False
        if self._pre_depth:
            self._pre_text.append(data)
        if not self._skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    source = Path(os.environ.get("WORMLIB_SITE_SOURCE", ROOT / "book"))  # e.g. a copy with other runs
    build = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(source),
                            "--path-output", str(out)], check=True, capture_output=True, text=True)
    (out / "build.log").write_text(build.stdout + build.stderr)
    html = out / "_build" / "html"
    pages = {p: Page() for p in sorted(html.rglob("*.html")) if p.name not in ("genindex.html", "search.html")}
    for path, page in pages.items():
        page.feed(path.read_text(encoding="utf-8"))
    return html, pages


def test_build_has_no_warnings_and_every_cross_reference_resolves(site):
    html, _ = site
    log = (html.parents[1] / "build.log").read_text()
    assert "WARNING" not in log and "undefined label" not in log, [
        line for line in log.splitlines() if "WARNING" in line][:5]


def chapter_pages(pages):
    return {p: page for p, page in pages.items() if p.parent.name == "chapters"}


def test_no_plumbing_on_the_page(site):
    _, pages = site
    for path, page in pages.items():
        text = " ".join(page.text)
        assert "NBVAL" not in text, path.name
        assert "injected-parameters" not in text and 'profile = "full"' not in text, path.name
        assert "plotting.caption(" not in text and "plotting.figure(" not in text, path.name
        assert "results.save()" not in text or path.name == "status.html", path.name


def test_no_absolute_paths(site):
    _, pages = site
    for path, page in pages.items():
        hit = ABSOLUTE.search(" ".join(page.text))
        assert not hit, (path.name, hit and hit.group())


def test_every_image_is_a_captioned_figure_with_meaningful_alt_text(site):
    _, pages = site
    hashed = re.compile(r"^[0-9a-f]{16,}(\.\w+)?$")
    for path, page in chapter_pages(pages).items():  # a section page may hold tables only
        for alt, src, in_figure in page.images:
            assert alt.strip() and not hashed.match(alt) and len(alt.split()) >= 5, (path.name, src, alt)
            assert in_figure, (path.name, src)
        assert all(f["caption"] for f in page.figures), path.name
        assert bool(page.images) == bool(page.figures), path.name
    assert sum(bool(page.images) for page in chapter_pages(pages).values()) >= 6


def test_internal_links_and_anchors_resolve(site):
    html, pages = site
    for path, page in pages.items():
        for href in page.links:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(url.path)).resolve() if url.path else path
            if target.suffix != ".html":
                assert target.exists(), (path.name, href)
                continue
            assert target.exists(), (path.name, href)
            if url.fragment:
                ids = pages[target].ids if target in pages else set()
                assert url.fragment in ids, (path.name, href)


def test_code_fits_its_block(site):
    _, pages = site
    for path, page in chapter_pages(pages).items():
        wide = [line for line in page.code_lines if len(line) > CODE_WIDTH]
        assert not wide, (path.name, wide[:3])


def test_the_code_font_scales_so_that_the_width_fits_on_a_laptop():
    """book/_static/code.css sizes code from its block's width for CODE_WIDTH characters."""
    css = (ROOT / "book" / "_static" / "code.css").read_text()
    width = re.search(r"calc\(\(100cqi - 2rem - 2px\) / \((\d+) \* 0\.602\)\)", css)
    assert width and int(width.group(1)) == CODE_WIDTH, width


def test_every_chapter_page_links_the_books_stylesheets(site):
    _, pages = site
    sheets = sorted(p.name for p in (ROOT / "book" / "_static").glob("*.css"))
    assert {"code.css", "tables.css"} <= set(sheets)
    for path, page in chapter_pages(pages).items():
        linked = {s.rsplit("/", 1)[-1] for s in page.stylesheets if "_static/" in s}
        assert set(sheets) <= linked, (path.name, sorted(set(sheets) - linked))


def test_maths_renders_without_the_network(site):
    html, pages = site
    for path, page in pages.items():
        remote = [s for s in page.scripts if s and urlparse(s).scheme]
        assert not remote, (path.name, remote)
    local = [s for p in pages.values() for s in p.scripts if s and "mathjax" in s.lower()]
    assert local, "no MathJax script on any page"
    chapter = next(p for p in pages if p.name == "02_models.html")
    src = next(s for s in pages[chapter].scripts if s and "mathjax" in s.lower())
    assert (chapter.parent / src).resolve().exists(), src


def test_every_table_of_a_chapter_is_numbered_and_labelled(site):
    _, pages = site
    numbered = 0
    for path, page in chapter_pages(pages).items():
        for table in page.tables:
            assert table["number"].startswith("Table ") and table["id"].startswith("tbl-"), (path.name, table)
            numbered += 1
    assert numbered >= 20


def test_an_edited_stylesheet_reaches_the_site_without_a_rebuilt_page(tmp_path):
    """book/_ext/static_files.py: the book's own static files are copied when they changed (Sphinx
    copies them only with a rebuilt page); unchanged ones and other folders' files are left alone."""
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("static_files", ROOT / "book" / "_ext" / "static_files.py")
    static_files = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(static_files)

    book, site, theme = tmp_path / "book", tmp_path / "html", tmp_path / "theme"
    for folder, name, text in ((book / "_static", "tables.css", "new"), (book / "_static", "code.css", "same"),
                               (theme, "theme.css", "theirs")):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (site / "_static").mkdir(parents=True)
    (site / "_static" / "tables.css").write_text("old")
    (site / "_static" / "code.css").write_text("same")
    unchanged = 10**9  # an old time stamp, which a rewrite would replace
    os.utime(site / "_static" / "code.css", ns=(unchanged, unchanged))
    app = SimpleNamespace(builder=SimpleNamespace(format="html"), confdir=str(book), outdir=str(site),
                          config=SimpleNamespace(html_static_path=["_static", str(theme)]))
    static_files.copy_changed_static_files(app, None)
    assert (site / "_static" / "tables.css").read_text() == "new"
    assert (site / "_static" / "code.css").stat().st_mtime_ns == unchanged
    assert not (site / "_static" / "theme.css").exists()
    (book / "_static" / "tables.css").write_text("newer")
    static_files.copy_changed_static_files(app, RuntimeError("the build failed"))
    assert (site / "_static" / "tables.css").read_text() == "new"


def test_the_landing_page_lists_every_verdict_of_the_scorecard(site):
    """book/intro.md pastes chapter 5's verdict summary of the paper's claims (not the book's own
    tests): one linked row per claim, and the counts of their verdicts saved in
    results/discussion.json."""
    from wormlib import scorecard
    from wormlib.results import load_results

    html, pages = site
    intro = pages[html / "intro.html"]
    claims = [href for href in intro.links if href.startswith("chapters/") and "#" in href]
    paper = [c for c in scorecard.CLAIMS
             if c[2].__name__.removeprefix("claim_").replace("_", "-") not in scorecard.BOOK_TESTS]
    assert len(claims) == len(paper), claims
    records = load_results("discussion").query("metric == 'verdict-code'")
    keys = {f"scorecard-{c[2].__name__.removeprefix('claim_').replace('_', '-')}" for c in paper}
    codes = records[records.experiment.isin(keys)].value.astype(int).tolist()
    assert len(codes) == len(paper)
    text = " ".join(" ".join(intro.text).split())
    for i, verdict in enumerate(scorecard.VERDICTS):
        assert f"{verdict}: {codes.count(i)} of {len(codes)}" in text, verdict


def test_screenshots_skip_the_redirect_page_chromium_would_wait_on(load_tool, tmp_path):
    shots = load_tool("screenshots")
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (tmp_path / "intro.html").write_text("<html><head><title>Intro</title></head><body>text</body></html>")
    assert shots.is_redirect(tmp_path / "index.html") and not shots.is_redirect(tmp_path / "intro.html")


def _extension(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "book" / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="the archive is made with git archive; a site built "
                    "from an unpacked archive says that no archive is available")
def test_the_site_carries_the_source_it_was_built_from(site):
    """Issue 49: the site, downloaded alone, holds everything needed to rerun any chapter (the
    data come by `make data`, never in the archive); no button leads to an unset repository."""
    import hashlib
    import tarfile

    html, pages = site
    (archive,) = (html / "_source").glob("wormbook-*.tar.gz")
    for path, page in pages.items():
        if path.name != "index.html" and "_static" not in path.parts:  # not the redirect page, not a template
            assert any(href.endswith(f"_source/{archive.name}") for href in page.links), path.name
    with tarfile.open(archive) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"Makefile", "LICENSE", "CITATION.cff", "wormlib/data/registry.py", "chapters/03_classification.py",
            "book/_config.yml", "requirements.txt"} <= names
    assert any(n.startswith("results/store/") for n in names)
    assert not [n for n in names if n.endswith((".npz", ".h5", ".jld2", ".mat"))]  # no data redistributed
    status = " ".join(pages[html / "status.html"].text)
    assert hashlib.sha256(archive.read_bytes()).hexdigest() in status
    for page in pages.values():
        assert not [h for h in page.links if "github.com/executablebooks" in h or "mybinder" in h]


def test_the_source_archive_is_the_commit_or_says_it_is_modified(tmp_path):
    import tarfile

    source_archive = _extension("source_archive")
    repo, out = tmp_path / "repo", tmp_path / "out"
    repo.mkdir()
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    (repo / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    name, digest, commit = source_archive.write_archive(repo, out)
    assert name == f"wormbook-{head[:10]}.tar.gz" and commit == head[:10]
    (repo / "code.py").write_text("x = 2\n")  # an uncommitted edit is what the site was built from
    name, _, commit = source_archive.write_archive(repo, out)
    assert name.endswith("-modified.tar.gz") and commit.endswith("with uncommitted changes")
    with tarfile.open(out / "_source" / name) as tar:
        assert tar.extractfile(f"{name[:-7]}/code.py").read() == b"x = 2\n"
    assert [p.name for p in (out / "_source").iterdir()] == [name]  # the older archive is gone
    assert source_archive.write_archive(tmp_path / "not-a-repository", out) is None


def test_every_page_sets_a_valid_colour_mode(site):
    """An empty default mode makes the theme's script log "Got invalid theme mode" on every page."""
    html, pages = site
    for path in pages:
        if "_static" not in path.parts and path.name != "index.html":
            assert '|| "light";' in path.read_text(encoding="utf-8"), path.name


def test_a_script_added_twice_is_on_the_page_once():
    """sphinx-thebe adds its configuration at each read of the sources; on an incremental build
    the copy restored from the environment (file "") and the new one (file None) both reached the
    page, and the second declaration of THEBE_JS_URL was a console error."""
    from sphinx.builders.html._assets import _JavaScript

    unique_scripts = _extension("unique_scripts")
    thebe, toggle = 'const THEBE_JS_URL = "x"', "var togglebuttonSelector = '.toggle'"
    context = {"script_files": [_JavaScript(None, body=thebe), _JavaScript("a.js"), _JavaScript("", body=thebe),
                                _JavaScript(None, body=toggle), _JavaScript("a.js", priority=200)]}
    unique_scripts.drop_repeated_scripts(None, "p", "page.html", context, None)  # a file loads once too
    assert [(s.filename, s.attributes) for s in context["script_files"]] == [
        (None, {"body": thebe}), ("a.js", {}), (None, {"body": toggle})]

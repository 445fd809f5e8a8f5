"""Sphinx extension: the site carries the code it was built from (issue 49).

At the start of every build (``config-inited``, so that a new commit re-renders the pages that
name it) this writes ``_source/wormbook-<commit>.tar.gz`` into the site with ``git archive``:
the repository at the commit the site is built from, or, when tracked files have uncommitted
changes, exactly those working-tree files (``git stash create``; the name then says
``-modified``). No data are in it (they are fetched, never redistributed). It then offers:

* MyST substitutions for the pages: ``{{ source_link }}`` (a link, for pages at the book's root),
  ``{{ source_link_chapter }}`` (the same link from ``chapters/``), ``{{ source_sha256 }}`` and
  ``{{ source_commit }}``;
* a "Source code" link in the navigation bar (the ``source-link.html`` sidebar template);
* the theme's default colour mode, set (light), so that no page logs "Got invalid theme mode".

Outside a git checkout (a site rebuilt from the archive itself) no archive is made and the
links say so. ``repository.url`` in ``_config.yml`` is the one setting that, once the project
has a public address, turns on the repository, issues and launch buttons; empty, the site shows
none (no dead link).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

FOLDER = "_source"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def write_archive(root: Path, outdir: Path) -> tuple[str, str, str] | None:
    """(file name, SHA-256, commit description) of the source archive written to
    ``outdir/_source``, or None outside a git checkout."""
    head = _git(root, "rev-parse", "HEAD")
    if not head:
        return None
    tree = _git(root, "stash", "create") or head   # a commit of the working tree when it differs from HEAD
    modified = tree != head
    stem = f"wormbook-{head[:10]}" + ("-modified" if modified else "")
    folder = outdir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.tar.gz"
    if modified or not target.exists():
        partial = target.with_suffix(".part")
        if _git(root, "archive", "--format=tar.gz", f"--prefix={stem}/", "-o", str(partial), tree) is None:
            partial.unlink(missing_ok=True)
            return None
        os.replace(partial, target)
    for old in folder.glob("wormbook-*.tar.gz"):
        if old != target:
            old.unlink()
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return target.name, digest, head[:10] + (" with uncommitted changes" if modified else "")


def configure(app, config) -> None:
    book = Path(app.confdir).resolve()
    made = write_archive(book.parent, Path(app.outdir))
    if made:
        name, digest, commit = made
        link = f'<a href="{{}}{FOLDER}/{name}" download>{name}</a>'
        subs = dict(source_link=link.format(""), source_link_chapter=link.format("../"),
                    source_sha256=digest, source_commit=commit)
    else:
        missing = "not available (this site was built outside a git checkout)"
        subs = dict(source_link=missing, source_link_chapter=missing, source_sha256="–", source_commit="unknown")
    config.myst_substitutions = {**config.myst_substitutions, **subs}
    config.html_context = {**config.html_context, "source_archive": f"{FOLDER}/{made[0]}" if made else ""}
    options = dict(config.html_theme_options)
    public = bool(options.get("repository_url"))
    options.update(use_repository_button=public, use_issues_button=public, use_edit_page_button=public)
    # the theme's script reads the reader's stored mode or the context's default_mode; empty, every
    # page logs "Got invalid theme mode" (issue 50). Light: the figures are drawn on white.
    config.html_context = {**config.html_context, "default_mode": config.html_context.get("default_mode") or "light"}
    if not public:
        options["launch_buttons"] = {}
    config.html_theme_options = options
    config.templates_path = [*config.templates_path, str(Path(__file__).parent / "templates")]
    sidebars = dict(config.html_sidebars or {})
    default = ["navbar-logo.html", "icon-links.html", "search-button-field.html", "sbt-sidebar-nav.html"]
    sidebars["**"] = [*sidebars.get("**", default), "source-link.html"]
    config.html_sidebars = sidebars


def setup(app):
    app.connect("config-inited", configure, priority=900)  # after jupyter-book has set the theme options
    return {"parallel_read_safe": True, "parallel_write_safe": True}

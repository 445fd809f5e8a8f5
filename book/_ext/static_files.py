"""Sphinx extension: copy the book's own static files (``book/_static``: the code and table CSS)
into the site on every build.

Sphinx copies static files only when at least one page is rebuilt, so ``jupyter-book build book/``
after an edit to the CSS alone would keep serving the old CSS. At the end of every HTML build this
copies each file of a static folder inside the book whose built copy is missing or differs.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def copy_changed_static_files(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    book, site = Path(app.confdir).resolve(), Path(app.outdir) / "_static"
    for entry in app.config.html_static_path:
        folder = (book / entry).resolve()
        if not folder.is_dir() or not folder.is_relative_to(book):
            continue  # a theme's or an extension's static files: Sphinx's own business
        for source in (f for f in folder.rglob("*") if f.is_file()):
            target = site / source.relative_to(folder)
            if not target.exists() or target.read_bytes() != source.read_bytes():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


def setup(app):
    app.connect("build-finished", copy_changed_static_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

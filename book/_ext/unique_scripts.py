"""Sphinx extension: each script once per page.

sphinx-thebe adds its configuration script (``const THEBE_JS_URL = …``) at every
``env-before-read-docs``, which jupyter-book's build emits more than once; a page carrying it
twice logs "Identifier 'THEBE_JS_URL' has already been declared" in the reader's console. This
drops a script identical to one before it (same file or body, same attributes) from the page.
"""

from __future__ import annotations


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # an inline script's file is None when added in this build, "" when restored from the
        # pickled environment: the two copies differ there and nowhere else
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

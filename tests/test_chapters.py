"""The book never shows numbers from code that has since changed."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from execute_chapters import CHAPTERS, output_path, results_current  # noqa: E402

from wormlib.provenance import inputs_hash  # noqa: E402
from wormlib.results import FIELDS, VOCABULARY  # noqa: E402


@pytest.mark.parametrize("profile", ["full", "quick"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_chapter_is_current(chapter, profile):
    path = output_path(chapter, profile)
    assert path.exists(), f"{path} missing: run `make chapters`"
    meta = nbformat.read(path, as_version=4).metadata["wormlib"]
    assert meta["profile"] == profile
    assert meta["inputs_sha256"] == inputs_hash(chapter, profile, meta["device"], meta["seed"]), (
        f"{path} is stale: its chapter source, wormlib or parameters changed since it was "
        "executed. Run `make chapters` and commit the result.")
    assert results_current(meta), (  # results/ (full) and results/quick/ are both committed
        f"results/ differ from what {path.name} produced (partial, edited or stale results "
        f"files: {sorted(meta.get('results_sha256', {}))}). Re-run `make chapters`.")


ABSOLUTE = re.compile(r"(?<![\w.~])/(?:home|root|tmp|work|Users|mnt|var|opt|srv|private)/")


@pytest.mark.parametrize("profile", ["full", "quick"])
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_pages_hold_no_machine_paths_and_stable_ids(chapter, profile):
    nb = nbformat.read(output_path(chapter, profile), as_version=4)
    for cell in nb.cells:
        assert re.fullmatch(r"\d\d-\d{3}", cell.get("id", "")), cell.get("id")
        for output in cell.get("outputs", []):
            text = json.dumps({k: v for k, v in output.items() if k != "data"} |
                              {"data": {m: v for m, v in output.get("data", {}).items()
                                        if not m.startswith("image/")}})
            assert not ABSOLUTE.search(text), (cell.id, ABSOLUTE.search(text).group())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_literal_parameters_cell(chapter):
    import jupytext

    nb = jupytext.read(ROOT / "chapters" / f"{chapter}.py")
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    names = {line.split("=")[0].strip() for line in cells[0].source.splitlines() if "=" in line}
    assert names == {"profile", "device", "seed"}


def test_book_shows_every_chapter_and_no_duplicate_stems():
    toc = (ROOT / "_toc.yml").read_text()
    for chapter in CHAPTERS:
        assert f"chapters/{chapter}" in toc
    stems = [p.stem for p in (ROOT / "book").rglob("*") if p.suffix in {".ipynb", ".md", ".py"}
             and "_build" not in p.parts]
    assert len(stems) == len(set(stems))
    assert (ROOT / "book" / "_config.yml").resolve() == (ROOT / "_config.yml")


def test_results_files_follow_the_record_format():
    files = sorted((ROOT / "results").glob("*.json"))
    assert files, "no results/*.json committed"
    for path in files:
        records = json.loads(path.read_text())
        assert records, path
        for record in records:
            assert tuple(record) == FIELDS, path
            for field, allowed in VOCABULARY.items():
                assert record[field] in allowed, (path, field, record[field])

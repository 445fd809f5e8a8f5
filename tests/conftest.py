import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # matfixtures

from wormlib.data import load_kato2015  # noqa: E402


@pytest.fixture(scope="session")
def kato():
    """The five real Kato 2015 worms (derived files, hashes checked)."""
    return load_kato2015()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory that WORMLIB_DATA points to."""
    monkeypatch.setenv("WORMLIB_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture
def load_tool():
    """Import a script of ``tools/`` or ``benchmarks/`` by name (``load_tool("compare_results")``):
    the tools are scripts, not a package."""
    import importlib.util

    def load(name: str):
        root = Path(__file__).resolve().parents[1]
        path = next(p for p in (root / "tools" / f"{name}.py", root / "benchmarks" / f"{name}.py") if p.exists())
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


@pytest.fixture(autouse=True)
def store_off_between_tests():
    """The experiment store is off in every test unless the test turns it on, and off again after
    it: ``provenance.chapter_config`` turns it on for the repository's store (``store.configure``
    sets an environment variable), and a later test once wrote its entries there."""
    import os

    from wormlib.store import STORE_ENV

    before = os.environ.pop(STORE_ENV, None)
    yield
    os.environ.pop(STORE_ENV, None)
    if before is not None:
        os.environ[STORE_ENV] = before

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

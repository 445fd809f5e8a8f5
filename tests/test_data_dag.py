"""Dag 2023 loader: the README's indexing rule on the real files."""

import numpy as np
import pytest

from wormlib.data import load_dag2023
from wormlib.data.dag import column_labels


@pytest.fixture(scope="module")
def dag():
    return load_dag2023()


def test_shapes_and_states(dag):
    assert len(dag) == 7
    for rec in dag:
        assert rec.n_frames == 800 and 130 <= rec.n_neurons <= 146
        assert rec.fps == pytest.approx(1 / 0.6, rel=0.02)
        share = rec.states.mean()
        assert 0.10 <= share <= 0.32
        assert (rec.extra["velocity"][rec.states == 1] < 0).all()  # reversal ⇒ moving backwards


def test_indexing_rule_gives_physiology(dag):
    """Key k labels column k-1: then AVAL and AVAR traces correlate strongly in every recording."""
    for rec in dag:
        a, b = rec.column("AVAL"), rec.column("AVAR")
        assert a is not None and b is not None
        assert np.corrcoef(rec.traces[:, a], rec.traces[:, b])[0, 1] > 0.9


def test_column_labels_drop_uncertain_and_repeated():
    records = {1: {"label": "AVAL"}, 3: {"label": "RIM?"}, 4: {"label": "AIBL"}, 5: {"label": "AIBL"},
               2: {"label": "AVAR"}}
    assert column_labels(records, 6) == ["AVAL", "AVAR", None, None, None, None]

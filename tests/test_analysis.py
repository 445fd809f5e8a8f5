"""Chapter 1 analyses (PCA, episodes, consistency) and the results records."""

import numpy as np
import pytest

from wormlib import manifold, variability
from wormlib.data import Recording
from wormlib.results import Results


def test_pca_recovers_planted_components():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(2000, 3)) * [5, 3, 2]
    basis = np.linalg.qr(rng.normal(size=(20, 3)))[0].T       # (3, 20) orthonormal
    x = latent @ basis + 0.01 * rng.normal(size=(2000, 20)) + 7
    pca = manifold.fit_pca(x, 3)
    assert pca.explained.sum() == pytest.approx(1.0, abs=1e-3)
    assert pca.variance_captured(x) == pytest.approx(pca.explained.sum(), abs=1e-9)
    np.testing.assert_allclose(np.abs(pca.components @ basis.T), np.eye(3), atol=0.05)


def test_centroid_accuracy_separable_vs_random():
    rng = np.random.default_rng(0)
    states = np.repeat([0, 1, 2], 100)
    separated = np.eye(3)[states] * 10 + rng.normal(size=(300, 3))
    assert manifold.centroid_accuracy(separated, states, np.ones(300, bool)) > 0.99
    assert manifold.centroid_accuracy(rng.normal(size=(300, 3)), states, np.ones(300, bool)) < 0.6


def test_episodes():
    assert variability.episodes(np.array([1, 1, 2, 2, 2, 1])) == [(1, 0, 2), (2, 2, 5), (1, 5, 6)]


def _worm(seed, offset):
    """A synthetic worm: 40 alternating episodes of states 0/1 (15 frames each); one neuron whose
    level is 0.2 in state 0 and 0.8 + offset in state 1, plus noise; two reference neurons pin
    the min–max range."""
    rng = np.random.default_rng(seed)
    states = np.repeat(np.arange(40) % 2, 15)
    x = np.where(states == 1, 0.8 + offset, 0.2) + 0.05 * rng.normal(size=states.size)
    x[0], x[1] = -0.5, 1.5  # fixed range so normalisation does not hide the offset
    return Recording("test", str(seed), "", x[:, None], ("X",), states, ("a", "b"), 3.0,
                     np.arange(states.size) / 3.0)


def test_consistency_detects_a_shifted_worm():
    alike = [_worm(s, 0.0) for s in range(4)]
    shifted = alike[:3] + [_worm(3, 0.3)]
    p_alike = variability.consistency_pvalues(alike, ("X",), ("b",)).loc["X", "b"]
    p_shifted = variability.consistency_pvalues(shifted, ("X",), ("b",)).loc["X", "b"]
    assert p_alike > 0.01 and p_shifted < 1e-4
    assert variability.consistent_neurons(variability.consistency_pvalues(alike, ("X",), ("a", "b"))) == ["X"]


def test_results_vocabulary_is_enforced():
    res = Results("test", "quick")
    res.add("x", "accuracy", 0.5, task="2-state", population="unseen", protocol="leave-worms-out")
    for bad in (dict(task="3-state"), dict(population="other"), dict(model="GNN Inferred")):
        with pytest.raises(ValueError):
            res.add("x", "accuracy", 0.5, **bad)
    with pytest.raises(ValueError):
        res.add("x", "accuracy", float("nan"))
    assert list(res.frame().columns)[-2:] == ["metric", "value"]

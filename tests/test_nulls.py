"""The ROC AUC on ranks (wormlib.nulls) against scikit-learn, and the Dag transfer's shift null."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from wormlib import crosslab, nulls


@pytest.mark.parametrize("decimals", [12, 1])  # continuous scores, then many ties
def test_auc_from_ranks_is_sklearns_roc_auc_row_by_row(decimals):
    rng = np.random.default_rng(0)
    scores = rng.random((6, 300)).round(decimals)                           # (R, K)
    labels = rng.random((6, 300)) < 0.3                                     # (R, K)
    expected = [roc_auc_score(lab, s) for lab, s in zip(labels, scores)]
    assert nulls.auc_from_ranks(nulls.midranks(scores), labels) == pytest.approx(expected, abs=1e-12)
    # broadcasting: one score series against many labellings, many series against one labelling
    one = nulls.auc_from_ranks(nulls.midranks(scores[0]), labels)
    assert one == pytest.approx([roc_auc_score(lab, scores[0]) for lab in labels], abs=1e-12)
    many = nulls.auc_from_ranks(nulls.midranks(scores), labels[0])
    assert many == pytest.approx([roc_auc_score(labels[0], s) for s in scores], abs=1e-12)


def test_auc_from_ranks_refuses_a_row_with_one_kind_of_label():
    ranks = nulls.midranks(np.arange(5.0))
    with pytest.raises(ValueError, match="both kinds"):
        nulls.auc_from_ranks(ranks, np.array([[True, False, True, False, False], [False] * 5]))


def test_equal_u_gives_equal_auc_and_a_tie_counts_in_the_p_value():
    # two labellings with the same U (positives at ranks {1, 4} and {2, 3}) give the same float
    ranks = nulls.midranks(np.array([0.1, 0.2, 0.3, 0.4]))
    a, b = nulls.auc_from_ranks(ranks, np.array([[True, False, False, True], [False, True, True, False]]))
    assert a == b == 0.5
    assert nulls.p_at_least(np.array([0.4, 0.5, 0.6]), 0.5) == pytest.approx(3 / 4)


def test_circular_shift_null_is_sklearn_on_each_rolled_labelling():
    rng = np.random.default_rng(1)
    truth = (np.sin(np.arange(800) / 30) > 0.4).astype(int)
    score = (truth + rng.normal(0, 1, 800)).round(1)
    null = crosslab.circular_shift_null(score, truth, n_shifts=50, seed=3)
    shifts = np.random.default_rng(3).integers(80, 800 - 80 + 1, 50)
    assert null == pytest.approx([roc_auc_score(np.roll(truth, s), score) for s in shifts], abs=1e-12)

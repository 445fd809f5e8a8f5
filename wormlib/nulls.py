"""The ROC AUC and its null distributions, for every relabelling or shift at once (chapter 5:
the inferred graphs against the connectome, the Kato → Dag transfer, the next-motor-command
forecast).

The ROC AUC of scores s for binary labels is the Mann–Whitney U of the scores' midranks over
its maximum n₊·n₋, ties counting one half: what ``sklearn.metrics.roc_auc_score`` computes.
Written on ranks, the observed AUC and every null AUC come out of one array operation, and the
same U always gives the same float, so a null AUC that ties the observed one is counted by a
p-value's "≥", as the permutation test defines it (a sum over a ROC curve can land a tie one
unit in the last place below).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def auc_from_ranks(ranks: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """ranks (..., K): midranks of the scores (``midranks``); positive (..., K) bool, the
    labels; both broadcast → (...,) the ROC AUC of each row."""
    positive = np.broadcast_to(positive, np.broadcast_shapes(np.shape(ranks), np.shape(positive)))
    n_pos, n = positive.sum(-1), positive.shape[-1]
    if np.any((n_pos == 0) | (n_pos == n)):
        raise ValueError("a ROC AUC needs both kinds of label in every row")
    u = np.where(positive, ranks, 0.0).sum(-1) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * (n - n_pos))


def midranks(scores: np.ndarray) -> np.ndarray:
    """(..., K) → (..., K) ranks 1…K along the last axis, tied scores sharing their mean rank."""
    return stats.rankdata(scores, axis=-1)


def p_at_least(null: np.ndarray, observed: float) -> float:
    """One-sided permutation p-value: (1 + #{null ≥ observed}) / (1 + #null)."""
    return float((1 + np.sum(null >= observed)) / (1 + len(null)))

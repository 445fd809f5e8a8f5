"""Brennan & Proekt's second test (2019, eLife 8:e46814): predicting the next motor command.

From the activity up to frame t of a worm crawling forward, how likely is a reversal to start
within the next h seconds? Every model answers through one classifier of the *time to the next
reversal onset*, binned at the horizons (0–3 s, 3–6 s, …, 27–30 s, later): the score for
horizon h is the predicted probability of the bins up to h, so one trained model gives a
monotone score for every h. Scored per test worm by ROC AUC, against a circular-shift null
(the score series shifted in time against the onsets, which keeps both autocorrelations).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch

from . import admm, experiments
from .nulls import auc_from_ranks, midranks, p_at_least
from .preprocess import PAPER_NEURONS
from .store import cached
from .train import TaskData

HORIZONS_S = tuple(range(3, 31, 3))
"""Horizons h in seconds (3 … 30 s, Brennan & Proekt's range)."""
FORWARD, REVERSE = 0, 1
"""Class codes of the 2-state task (``wormlib.preprocess.CLASSES['2-state']``)."""


def onset_bins(states: np.ndarray, fps: float, horizons: tuple[int, ...] = HORIZONS_S) -> np.ndarray:
    """(T,) 2-state codes (0 forward, 1 reverse, −1 other) → (T,) forecasting class per frame:
    k if the next reversal onset (a reverse frame after a non-reverse one) comes within
    (h_{k−1}, h_k] seconds, len(horizons) if none comes within the last horizon; −1 for frames
    not crawling forward, and for frames whose remaining recording is shorter than the last
    horizon without an onset (censored)."""
    t = np.arange(len(states))
    onset = np.flatnonzero((states[1:] == REVERSE) & (states[:-1] != REVERSE)) + 1
    nxt = np.searchsorted(onset, t, side="right")                               # index of the next onset after t
    wait = np.where(nxt < len(onset), (onset[np.minimum(nxt, len(onset) - 1)] - t) / fps, np.inf)
    bins = np.searchsorted(np.asarray(horizons, float), wait, side="left")     # (T,) 0 … len(horizons)
    censored = ~np.isfinite(wait) & ((len(states) - 1 - t) / fps < horizons[-1])
    return np.where((states == FORWARD) & ~censored, bins, -1)


def forecast_data(data, fps: float, horizons: tuple[int, ...] = HORIZONS_S):
    """A 2-state ``TaskData`` relabelled for forecasting: same features, y the onset bins."""
    y = np.full(data.y.shape, -1, np.int64)
    for w, n in enumerate(data.lengths.tolist()):
        y[w, :n] = onset_bins(data.y[w, :n].numpy(), fps, horizons)            # padding stays −1
    edges = (0,) + tuple(horizons)
    classes = tuple(f"onset in {a}–{b} s" for a, b in zip(edges, edges[1:])) + (f"none within {horizons[-1]} s",)
    return dataclasses.replace(data, y=torch.from_numpy(y), classes=classes)


def horizon_scores(probs: np.ndarray, horizons: tuple[int, ...] = HORIZONS_S) -> np.ndarray:
    """(T, len(horizons) + 1) bin probabilities → (T, len(horizons)): P(onset within h)."""
    return np.cumsum(probs[:, : len(horizons)], axis=1)


def auc_with_null(scores: np.ndarray, bins: np.ndarray, horizon_index: int, n_shifts: int = 200,
                  min_shift: int = 100, seed: int = 0) -> dict:
    """ROC AUC of ``scores`` (T,) for "onset within horizon ``horizon_index``" over the frames
    with bins ≥ 0, and the same after circular shifts of the score series by at least
    ``min_shift`` frames: {auc, null_mean, null_q95, p} (p: share of shifts at least as high).
    The observed series and all shifts are one (1 + shifts, frames) array (``wormlib.nulls``)."""
    keep = np.flatnonzero(bins >= 0)
    target = bins[keep] <= horizon_index
    if target.all() or not target.any():
        return dict(auc=np.nan, null_mean=np.nan, null_q95=np.nan, p=np.nan)
    rng = np.random.default_rng(seed)
    shifts = rng.integers(min_shift, len(scores) - min_shift, n_shifts)
    frames = np.concatenate([keep[None], (keep[None] - shifts[:, None]) % len(scores)])  # (1 + S, K): np.roll's
    auc = auc_from_ranks(midranks(scores[frames]), target)                             # (1 + S,)
    return dict(auc=float(auc[0]), null_mean=float(auc[1:].mean()), null_q95=float(np.quantile(auc[1:], 0.95)),
                p=p_at_least(auc[1:], auc[0]))


def evaluate(probs: torch.Tensor, data, test_mask: torch.Tensor, splits: list[dict],
             horizons: tuple[int, ...] = HORIZONS_S, n_shifts: int = 200) -> pd.DataFrame:
    """One row per (model, test worm, horizon): AUC and its circular-shift null. probs:
    (M, W, T, C) from any model of ``wormlib.experiments``; data: the ``forecast_data``."""
    rows = []
    y = data.y.numpy()
    for m, split in enumerate(splits):
        for w in torch.nonzero(test_mask[m].any(1)).ravel().tolist():
            n = int(data.lengths[w])
            scores = horizon_scores(probs[m, w, :n].numpy(), horizons)
            for k, h in enumerate(horizons):
                rows.append({**split, "test": data.worms[w], "horizon_s": h,
                             **auc_with_null(scores[:, k], y[w, :n], k, n_shifts, seed=w)})
    return pd.DataFrame(rows)


@cached
def run(recordings: list, models: tuple[str, ...], hidden: int, train_cfg, n_seeds: int = 1,
        n_shifts: int = 200, max_subsets: int | None = None) -> pd.DataFrame:
    """The forecasting test, leave-one-worm-out on ``recordings``: features with the past-only
    derivative (activity up to frame t), every model trained on the onset bins of its training
    worms; networks in ``n_seeds`` replicates (AUCs averaged per worm). ADMM uses a fixed
    embedding (``wormlib.admm.FIGURE_EMBEDDING``, ≈ 3 s of past), set before any forecast was
    run and not tuned. Returns one row per (model, test worm, horizon)."""
    data = forecast_data(TaskData.build(recordings, "2-state", PAPER_NEURONS, derivative_kind="causal"),
                         recordings[0].fps)
    splits = experiments.unseen_splits(data, len(recordings) - 1, max_subsets, classify=False)
    rows = []
    for name in models:
        if name == "admm":
            train, test, info = splits
            probs = experiments.fit_predict_admm(data, train, test.any(-1), grid=(admm.FIGURE_EMBEDDING,))
        else:
            train, test, info = experiments.replicate(splits, 1 if name in experiments.BASELINES else n_seeds)
            probs = experiments.run(name, data, train, test, info, hidden, train_cfg)[1]
        scored = evaluate(probs, data, test, [dict(s, model=name) for s in info], n_shifts=n_shifts)
        rows.append(scored.groupby(["model", "train", "test", "horizon_s"], as_index=False)
                    [["auc", "null_mean", "null_q95", "p"]].mean())
    return pd.concat(rows, ignore_index=True)

"""Cross-lab generalisation (chapter 5): forward-vs-reverse decoders trained on the immobilised
Kato worms, tested on the freely moving Dag et al. 2023 worms — the stand-in for the paper's
"separate study" (Section 5.1, Nichols worms).

The pitfalls of that test (``shared/data/dag2023/README.md``) and how they are handled here:
unbalanced classes → balanced accuracy and ROC AUC per recording; autocorrelated frames →
whole recordings held out, and a circular time shift of the labels as the null; GCaMP lagging
behaviour by 2–6 s → the lag is fixed in advance (``LAG_S``), never tuned on a test worm;
1.67 frames per second instead of ≈ 2.9 → the time-context decoders read the same seconds of
the past in both labs (``window_lags``), not the same number of frames.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from .data import Recording
from .evaluate import balanced_accuracy
from .experiments import LAGS, WINDOW, replicate, run_models, transfer_split, unseen_splits
from .nulls import auc_from_ranks, midranks, p_at_least
from .preprocess import shared_neurons
from .store import cached
from .train import TaskData, TrainConfig

LAG_S = 0.0
"""Primary lag between behaviour and neural activity, fixed before any Dag result was seen:
none, as in the Kato worms, whose states are defined from the neural recording itself."""
SENSITIVITY_LAG_S = 3.0
"""A second lag, also fixed in advance: the middle of the 2–6 s GCaMP delay (Dag README);
reported as a sensitivity check, never chosen between."""
N_SHIFTS = 200
MIN_SHIFT_FRACTION = 0.1
WINDOWED = {"logistic-regression-lagged": "logistic-regression", "mlp-concat" + WINDOW: "mlp-concat",
            "gnn-inferred-static" + WINDOW: "gnn-inferred-static"}
"""The time-context decoders of chapter 3 (a window of past frames, ``experiments.LAGS``), each
with the single-frame decoder it is compared with."""


def lag_labels(y: torch.Tensor, lag_frames: int) -> torch.Tensor:
    """Pair neural frame t with the behaviour of frame t − lag (activity lags behaviour):
    (W, T) labels → (W, T), -1 where no label is ``lag_frames`` earlier."""
    if lag_frames < 0:
        raise ValueError("the lag of activity behind behaviour must be ≥ 0")
    out = torch.full_like(y, -1)
    out[:, lag_frames:] = y[:, : y.shape[1] - lag_frames]
    return out


def circular_shift_null(score: np.ndarray, truth: np.ndarray, n_shifts: int = N_SHIFTS,
                        min_fraction: float = MIN_SHIFT_FRACTION, seed: int = 0) -> np.ndarray:
    """ROC AUCs of ``score`` (T,) against the labels ``truth`` (T,) circularly shifted by
    random offsets of at least ``min_fraction`` of the recording: the decoder's score with the
    labels' own autocorrelation and class balance, but no alignment to the activity. All shifts
    at once, on the score's ranks (``wormlib.nulls``) → (n_shifts,)."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    shifts = rng.integers(int(min_fraction * n), n - int(min_fraction * n) + 1, n_shifts)
    rolled = truth[(np.arange(n)[None] - shifts[:, None]) % n]               # (S, T): np.roll(truth, s) per row
    return auc_from_ranks(midranks(score), rolled == 1)


def score_recordings(probs: torch.Tensor, y: torch.Tensor, worms: tuple[str, ...], tested: torch.Tensor,
                     n_shifts: int = N_SHIFTS, seed: int = 0) -> pd.DataFrame:
    """Per tested recording: balanced accuracy, ROC AUC of p(reverse), and the circular-shift
    null (its mean, 95th percentile and the one-sided p-value of the observed AUC).

    probs: (W, T, 2) of one model; y: (W, T) in {0 forward, 1 reverse, -1 excluded};
    tested: (W,) bool. Labels are shifted over the labelled frames only, in their order.
    """
    rows = []
    for w in torch.nonzero(tested).ravel().tolist():
        keep = (y[w] >= 0).numpy()
        truth, score = y[w].numpy()[keep], probs[w, :, 1].numpy()[keep]
        auc = float(auc_from_ranks(midranks(score), truth == 1))
        null = circular_shift_null(score, truth, n_shifts, seed=seed + w)
        rows.append(dict(test=worms[w], n_frames=int(keep.sum()), reversal_fraction=float(truth.mean()),
                         balanced_accuracy=balanced_accuracy(truth, (score > 0.5).astype(int)),
                         roc_auc=auc,
                         null_auc_mean=float(null.mean()), null_auc_95=float(np.quantile(null, 0.95)),
                         p_value=p_at_least(null, auc)))
    return pd.DataFrame(rows)


def lagged(data: TaskData, lag_s: float, fps: float, first: int = 0) -> TaskData:
    """``data`` with the labels of worms ``first`` onwards (recorded at ``fps``) lagged by
    ``lag_s`` seconds (``lag_labels``)."""
    y = data.y.clone()
    y[first:] = lag_labels(data.y[first:], round(lag_s * fps))
    return replace(data, y=y)


def window_lags(fps: list[float], reference_fps: float, n_reference: int = 0) -> torch.Tensor:
    """``experiments.LAGS`` — frames at the Kato rate, ``reference_fps`` — as the same seconds in
    each recording's own frames (rounded): (W, L), for ``experiments.run``. The first
    ``n_reference`` recordings (the Kato worms themselves) keep the frames, so that their
    window is chapter 3's."""
    return torch.tensor([list(LAGS) if i < n_reference else [round(lag * f / reference_fps) for lag in LAGS]
                         for i, f in enumerate(fps)])


@cached
def kato_to_dag(kato: list[Recording], dag: list[Recording], models: tuple[str, ...], hidden: int,
                train_cfg: TrainConfig, lags_s: tuple[float, ...] = (LAG_S, SENSITIVITY_LAG_S),
                n_shifts: int = N_SHIFTS) -> pd.DataFrame:
    """Train each model on all Kato worms (the neurons identified in every Kato and Dag
    recording) and score it on every Dag recording at each pre-set lag: one row per model ×
    lag × recording (``score_recordings``). Time-context decoders (``WINDOWED``) see the same
    seconds of the past in both labs (``window_lags``)."""
    neurons = shared_neurons(kato + dag)
    data = TaskData.build(kato + dag, "2-state", neurons)
    window = window_lags([r.fps for r in kato + dag], float(np.mean([r.fps for r in kato])), len(kato))
    _, probs = run_models(models, data, transfer_split(data, len(kato), "kato2015"), hidden, train_cfg, window)
    tested = torch.arange(len(data.worms)) >= len(kato)
    rows = [score_recordings(probs[name][0], lagged(data, lag, dag[0].fps, len(kato)).y, data.worms, tested, n_shifts)
            .assign(model=name, lag_s=lag, train="kato2015") for name in models for lag in lags_s]
    return pd.concat(rows, ignore_index=True)


@cached
def kato_to_dag_seeds(kato: list[Recording], dag: list[Recording], models: tuple[str, ...], hidden: int,
                      train_cfg: TrainConfig, n_seeds: int, lag_s: float = LAG_S) -> pd.DataFrame:
    """``kato_to_dag``'s networks in ``n_seeds`` independently initialised replicates, at the
    primary lag: one row per model × seed × Dag recording (``score_recordings``' columns and
    ``seed``), for a paired comparison of two networks that covers seed-to-seed spread (the
    scorecard's claim 2). Single-frame decoders only."""
    neurons = shared_neurons(kato + dag)
    data = TaskData.build(kato + dag, "2-state", neurons)
    splits = replicate(transfer_split(data, len(kato), "kato2015"), n_seeds)
    _, probs = run_models(models, data, splits, hidden, train_cfg)
    tested = torch.arange(len(data.worms)) >= len(kato)
    y = lagged(data, lag_s, dag[0].fps, len(kato)).y
    return pd.concat([score_recordings(probs[name][m], y, data.worms, tested).assign(model=name, seed=split["seed"])
                      for name in models for m, split in enumerate(splits[2])], ignore_index=True)


@cached
def leave_one_recording_out(recordings: list[Recording], neurons: tuple[str, ...], models: tuple[str, ...],
                            hidden: int, train_cfg: TrainConfig,
                            lags_s: tuple[float, ...] = (LAG_S, SENSITIVITY_LAG_S), n_shifts: int = N_SHIFTS,
                            kato_fps: float | None = None, label: str = "other-recordings") -> pd.DataFrame:
    """Forward vs reverse on worms never seen in training, within one dataset: train on all
    recordings but one and test on it (every recording in turn), with the labels lagged as in
    the test; same rows as ``kato_to_dag``, ``train`` = ``label``. Chapter 5's ceiling (the Dag
    recordings) and the generalisation test on any lab's worms (``06_your_worms``). Time-context
    decoders see the seconds of ``experiments.LAGS`` at ``kato_fps`` (the Kato rate; without it,
    the frames of ``LAGS`` themselves)."""
    rows = []
    for lag in lags_s:
        data = lagged(TaskData.build(recordings, "2-state", neurons), lag, recordings[0].fps)
        train, test, info = unseen_splits(data, len(recordings) - 1)
        window = window_lags([r.fps for r in recordings], kato_fps) if kato_fps else LAGS
        _, probs = run_models(models, data, (train, test, info), hidden, train_cfg, window)
        for name in models:
            for m, split in enumerate(info):
                tested = test[m].any(-1)
                rows.append(score_recordings(probs[name][m], data.y, data.worms, tested, n_shifts)
                            .assign(model=name, lag_s=lag, train=label))
    return pd.concat(rows, ignore_index=True)

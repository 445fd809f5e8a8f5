"""The classification experiments of Section 5.1: models by name, the paper's splits, and one
function that trains and scores all the models of a protocol together."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import admm, connectome, tavrnn
from .evaluate import confusion, score_table
from .jobs import run_jobs
from .models import GNN, GRUWindow, MLPClassifier
from .store import cached
from .preprocess import (DERIVATIVES, PAPER_NEURONS, contiguous_block_folds, leave_worms_out,
                         shuffled_window_folds)
from .train import TaskData, TrainConfig, fit, predict

NEURAL_MODELS = ("mlp-sum", "mlp-concat", "gnn-inferred-static", "gnn-inferred-dynamic", "gnn-connectome")
AGGREGATION_MODELS = ("gnn-inferred-static-sum", "gnn-inferred-static-messages")
"""The static-edge GNN with its node update by summation (h_i = v_i + m_i) and by the messages alone
(h_i = m_i) instead of the paper's concatenation (``models.GNN``'s ``aggregate``; chapter 3's design
choice section)."""
TEMPORAL_MODELS = ("tavrnn", "tavrnn-probe")
"""Models that read a sequence of graphs (``wormlib.tavrnn``), on leave-worms-out splits."""
LAGS = (0, 3, 6, 9, 12, 15)
"""Frames into the past that ``logistic-regression-lagged`` reads (≈ 5 s at 2.9 Hz), the span
of TAVRNN's 18-frame correlation window; fixed in advance, not tuned."""
BASELINES = ("logistic-regression", "svm", "admm", "logistic-regression-lagged")
WINDOW = "-window"
WINDOW_MODELS = ("mlp-concat" + WINDOW, "gnn-inferred-static" + WINDOW)
"""The paper's MLP and GNN reading each neuron's features at the frames ``LAGS`` back (node
features of F·len(LAGS) values, ``TaskData.with_lags``): the node encoder mixes a neuron's
recent past (a temporal convolution over the window) and the GNN infers its edges from the
windows. Otherwise the same models, trained the same way."""
GRU = "-gru"
GRU_WINDOW_MODELS = ("mlp-concat" + GRU + WINDOW, "gnn-inferred-static" + GRU + WINDOW)
"""The same window read by a GRU per neuron (``models.GRUWindow``: shared by the neurons, oldest
frame first) whose last state is the node feature of the paper's MLP or GNN: a recurrent
encoder of the past where ``WINDOW_MODELS`` mix it in one layer. The hidden size is the
networks' own; nothing else is new."""
SVM_MAX_TRAIN = 4000
"""RBF-SVM training frames per model (a random subset when there are more): keeps the O(n²)
kernel fit to seconds; logistic regression and the networks use every training frame."""


def build_model(name: str, n_models: int, data: TaskData, hidden: int) -> torch.nn.Module:
    """A stack of ``n_models`` copies of the named network for ``data``'s neurons and classes."""
    n_nodes, n_feat, n_out = data.x.shape[2], data.x.shape[3], len(data.classes)
    if name.endswith(GRU):  # the head reads the GRU's state, H features per neuron
        head = build_model(name.removesuffix(GRU), n_models, _with_features(data, hidden), hidden)
        return GRUWindow(n_models, data.window, n_feat // data.window, hidden, head)
    if name in ("mlp-sum", "mlp-concat"):
        return MLPClassifier(n_models, n_nodes, n_feat, n_out, hidden, aggregate=name.split("-")[1])
    if name in ("gnn-inferred-static", "gnn-inferred-dynamic"):
        return GNN(n_models, n_nodes, n_feat, n_out, hidden, edges=name.rsplit("-", 1)[1])
    if name in AGGREGATION_MODELS:
        return GNN(n_models, n_nodes, n_feat, n_out, hidden, edges="static", aggregate=name.rsplit("-", 1)[1])
    if name == "gnn-connectome":
        adj = torch.tensor(connectome.adjacency(data.neurons), dtype=torch.float32)
        return GNN(n_models, n_nodes, n_feat, n_out, hidden, edges="fixed", adjacency=adj)
    raise ValueError(f"unknown model {name!r}; choose from {NEURAL_MODELS + AGGREGATION_MODELS + BASELINES}")


def _with_features(data: TaskData, n_features: int) -> TaskData:
    """``data``'s shape with ``n_features`` per neuron and one frame (to size a model's head)."""
    return dataclasses.replace(data, x=data.x.new_zeros(()).expand(*data.x.shape[:3], n_features), window=1)


# ------------------------------------------------------------------------------------------
# Splits: (train_mask, test_mask) of shape (M, W, T) and one description per model
# ------------------------------------------------------------------------------------------

def seen_splits(data: TaskData, protocol: str, n_folds: int, seed: int = 0):
    """Same-worm cross-validation for every worm: model (worm w, fold k) trains on w's other
    folds and is tested on fold k (``shuffled-windows``: the paper's 8-frame windows dealt into
    folds at random; ``contiguous-blocks``: n_folds consecutive blocks)."""
    n_worms, t_max = data.y.shape
    train, test, info = [], [], []
    for w, worm in enumerate(data.worms):
        n = int((data.y[w] >= 0).nonzero().max()) + 1 if (data.y[w] >= 0).any() else t_max
        folds = np.full(t_max, -1)
        folds[:n] = (shuffled_window_folds(n, n_folds, seed=seed + w) if protocol == "shuffled-windows"
                     else contiguous_block_folds(n, n_folds))
        for k in range(n_folds):
            tr, te = torch.zeros(n_worms, t_max, dtype=torch.bool), torch.zeros(n_worms, t_max, dtype=torch.bool)
            tr[w] = torch.from_numpy((folds >= 0) & (folds != k))
            te[w] = torch.from_numpy(folds == k)
            train.append(tr), test.append(te)
            info.append(dict(protocol=protocol, population="seen", n_train_worms=1, train=worm, fold=k))
    return check_splits(data, torch.stack(train), torch.stack(test), info)


def paper_tasks(recordings: list) -> dict[str, TaskData]:
    """Chapter 3's three tasks (2, 4 and 7 states) on the paper's 15 neurons, by task name."""
    return {task: TaskData.build(recordings, task, PAPER_NEURONS) for task in ("2-state", "4-state", "7-state")}


def unseen_splits(data: TaskData, n_train: int, max_subsets: int | None = None, classify: bool = True):
    """Leave-worms-out: every subset of ``n_train`` training worms (the first ``max_subsets``
    in a fixed order when limited); each model is tested on all the other worms. ``classify``:
    the splits train classifiers (``check_splits``); False for forecasting, which needs no labels."""
    splits = leave_worms_out(data.worms, n_train)[:max_subsets]
    index = {w: i for i, w in enumerate(data.worms)}
    train = torch.zeros(len(splits), *data.y.shape, dtype=torch.bool)
    for m, (tr, _) in enumerate(splits):
        train[m, [index[w] for w in tr]] = True
    test = ~train
    info = [dict(protocol="leave-worms-out", population="unseen", n_train_worms=n_train,
                 train=",".join(tr), fold=-1) for tr, _ in splits]
    return check_splits(data, train, test, info) if classify else (train, test, info)


def check_splits(data: TaskData, train: torch.Tensor, test: torch.Tensor, info: list[dict]):
    """The splits themselves, or a named error (``TaskError``) for the first model whose
    training frames hold fewer than two classes or whose test frames hold no labelled frame: a
    recording with one state, or too short for its folds. train/test: (M, W, T) bool."""
    from .data.errors import TaskError

    for m, description in enumerate(info):
        classes = torch.unique(data.y[train[m] & data.labelled])
        where = f"split {description['train']} ({description['protocol']}, fold {description['fold']})"
        if len(classes) < 2:
            found = ", ".join(data.classes[c] for c in classes.tolist()) or "no labelled frame"
            raise TaskError(f"{where}: the training frames hold {found} only; a classifier needs two classes "
                            f"of {', '.join(data.classes)}. The recording has too few states for this task.")
        if not (test[m] & data.labelled).any():
            raise TaskError(f"{where}: no labelled test frame; the recording is too short for its folds.")
    return train, test, info


def replicate(splits, n_seeds: int):
    """Every split ``n_seeds`` times, for stacked training: each copy gets its own random
    initialisation and its own mini-batch draws (a seed replicate); ``seed`` in its description."""
    train, test, info = splits
    return (train.repeat(n_seeds, 1, 1), test.repeat(n_seeds, 1, 1),
            [dict(s, seed=r) for r in range(n_seeds) for s in info])


def transfer_split(data: TaskData, n_source: int, source: str):
    """One model trained on the first ``n_source`` worms of ``data`` (a whole study, e.g. every
    Kato worm) and tested on all the others (another study)."""
    train = torch.zeros(1, *data.y.shape, dtype=torch.bool)
    train[0, :n_source] = True
    return train, ~train, [dict(protocol="leave-worms-out", population="unseen", n_train_worms=n_source,
                                train=source, fold=-1)]


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------

_BANKS: dict[str, admm.ManifoldBank] = {}


def admm_bank(data: TaskData) -> admm.ManifoldBank:
    """The ADMM manifolds of ``data``'s worms (one bank per distinct activity, kept for the
    session: every task and training subset of a chapter reuses them). ADMM sees the
    normalised trace of the neurons identified in every worm (the derivative is its own
    backward difference), so the bank does not depend on the task or the derivative kind."""
    shared = data.present.all(0).numpy()
    activity = [data.x[w, : int(n), shared, 0].double().numpy() for w, n in enumerate(data.lengths)]
    key = hashlib.sha256(b"".join(a.tobytes() for a in activity)).hexdigest()
    if key not in _BANKS:
        _BANKS[key] = admm.ManifoldBank(activity)
    return _BANKS[key]


def fit_predict_admm(data: TaskData, train_mask: torch.Tensor, needed: torch.Tensor,
                     grid: tuple[admm.Embedding, ...] = admm.EMBEDDINGS) -> torch.Tensor:
    """Brennan & Proekt's ADMM as a decoder (``wormlib.admm``) on leave-worms-out splits: per
    model, the manifold of its training worms (embedding chosen from ``grid`` on them), each
    needed worm placed on it and decoded; (M, W, T, C) class shares, zeros elsewhere."""
    bank, y = admm_bank(data), data.y.numpy()
    targets = [y[w, : int(n)] for w, n in enumerate(data.lengths)]
    n_models, (n_worms, t_max) = train_mask.shape[0], data.y.shape
    out = np.zeros((n_models, n_worms, t_max, len(data.classes)), np.float32)
    for m in range(n_models):
        worm_rows = train_mask[m].any(1).numpy()
        train = tuple(int(w) for w in np.flatnonzero(worm_rows))
        whole = all(bool(train_mask[m, w, : int(data.lengths[w])].all()) for w in train)
        if not whole:
            raise ValueError("ADMM builds its manifold from whole worms: use leave-worms-out splits")
        probs, _ = bank.predict(train, targets, len(data.classes),
                                [int(w) for w in np.flatnonzero(needed[m].numpy())], grid)
        for w, p in probs.items():
            out[m, w, : len(p)] = p
    return torch.from_numpy(out)


@cached
def admm_choices(data: TaskData, n_train: int, max_subsets: int | None = None) -> pd.DataFrame:
    """The embedding ADMM chose for each leave-worms-out training subset (nested, on the
    training worms only): one row per subset with each candidate's inner balanced accuracy."""
    bank, y = admm_bank(data), data.y.numpy()
    targets = [y[w, : int(n)] for w, n in enumerate(data.lengths)]
    index = {w: i for i, w in enumerate(data.worms)}
    rows = []
    for train, _ in leave_worms_out(data.worms, n_train)[:max_subsets]:
        best, scores = bank.select(tuple(index[w] for w in train), targets, len(data.classes))
        rows.append({"training worms": ",".join(train), "chosen": f"τ = {best.tau}, K = {best.n_delays}",
                     **{f"τ = {e.tau}, K = {e.n_delays}": v for e, v in scores.items()}})
    return pd.DataFrame(rows)


def receptive_fields(data: TaskData, hidden: int) -> pd.DataFrame:
    """What each classifier reads to label frame t, and its size for ``data``'s neurons and
    classes (trainable parameters; ADMM and the SVM keep training frames instead). A frame is
    its features: a derivative among them also reads the frames its filter spans (chapter 1)."""
    from .models import count_parameters
    n_in, n_classes = data.x.shape[2] * data.x.shape[3], len(data.classes)
    cfg = tavrnn.TAVRNNConfig()
    lags = "frames " + ", ".join(f"t−{k}" for k in LAGS[:0:-1]) + ", t"   # oldest first
    admm_reads = [e.reads for e in sorted(admm.EMBEDDINGS, key=lambda e: -e.window)]  # the candidates, longest first
    rows = [(m, "frame t", f"{count_parameters(build_model(m, 1, data, hidden)):,}") for m in NEURAL_MODELS]
    rows += [("logistic-regression", "frame t", f"{(n_in + 1) * n_classes:,}"),
             ("svm", f"frame t; ≤ {SVM_MAX_TRAIN} training frames as support vectors", "—"),
             ("logistic-regression-lagged", lags, f"{(n_in * len(LAGS) + 1) * n_classes:,}"),
             *[(m, lags + (", read by a GRU per neuron" if m in GRU_WINDOW_MODELS else " as node features"),
                f"{count_parameters(build_model(m.removesuffix(WINDOW), 1, data.with_lags(LAGS), hidden)):,}")
               for m in WINDOW_MODELS + GRU_WINDOW_MODELS],
             ("admm", "traces of " + " or ".join(admm_reads) + "; all training frames", "—"),
             ("tavrnn", f"{cfg.window}-frame graphs every {cfg.stride} frames, read by a GRU; attention over "
                        f"{cfg.attention_width} states",
              f"{count_parameters(tavrnn.TAVRNN(1, data.x.shape[-1], n_classes, cfg)):,}")]
    return pd.DataFrame(rows, columns=["model", "reads, to label frame t", "parameters"]).set_index("model")


def fit_predict_tavrnn(name: str, data: TaskData, train_mask: torch.Tensor, needed: torch.Tensor,
                       train_cfg: TrainConfig, on_step=None) -> tuple[torch.Tensor, torch.Tensor]:
    """TAVRNN (``wormlib.tavrnn``) per leave-worms-out split: ``tavrnn`` trains the behaviour head
    jointly; ``tavrnn-probe`` trains without labels and fits a logistic-regression probe on the
    training worms' embeddings (the authors' protocol). Returns (M, W, T, C) probabilities (a
    frame's prediction uses graphs of frames ≤ t only) and (M,) the optimiser steps each model
    skipped because its gradient was not finite (``tavrnn.NonFiniteGradientWarning``, which is
    not raised again: the count goes with the scores). The model is initialised on the CPU (the
    same weights on every device) and trains and predicts on ``train_cfg.device``.
    ``on_step(s, probabilities)``, when given, is called after every optimiser step s with a
    function that returns the probabilities of the model as it is then."""
    cfg = tavrnn.TAVRNNConfig()
    seq = tavrnn.Sequences.build(data, cfg)
    train_worms = train_mask.any(-1)                                         # (M, W)
    n_models, n_classes = train_mask.shape[0], len(data.classes)
    supervised = name == "tavrnn"
    torch.manual_seed(train_cfg.seed)
    model = tavrnn.TAVRNN(n_models, data.x.shape[-1], n_classes if supervised else 0, cfg).to(train_cfg.device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tavrnn.NonFiniteGradientWarning)
        tavrnn.fit(model, seq, train_worms, train_cfg.for_model(name).steps, train_cfg.seed, supervised,
                   on_step and (lambda step: on_step(step, lambda: tavrnn_probabilities(
                       model, seq, data, train_worms, needed, supervised))))
    return tavrnn_probabilities(model, seq, data, train_worms, needed, supervised), model.skipped_steps


def tavrnn_probabilities(model: tavrnn.TAVRNN, seq: tavrnn.Sequences, data: TaskData, train_worms: torch.Tensor,
                         needed: torch.Tensor, supervised: bool) -> torch.Tensor:
    """(M, W, T, C) frame probabilities of trained TAVRNN stacks (``fit_predict_tavrnn``) for the
    worms each model is ``needed`` on: the behaviour head's, or the probe's fitted on the
    embeddings of the model's ``train_worms``."""
    cfg = model.cfg
    n_models, n_classes = train_worms.shape[0], len(data.classes)
    runs = {w: tavrnn.run_worm(model, seq, w) for w in range(len(data.worms))
            if not supervised or needed[:, w].any()}                         # the probe needs every worm
    out = torch.zeros(n_models, *data.y.shape, n_classes)
    for w, r in runs.items():
        n = int(data.lengths[w])
        if supervised:
            out[:, w, :n] = tavrnn.frames_from_steps(torch.softmax(r["logits"], -1), n, cfg.stride)
    if not supervised:
        emb = {w: tavrnn.embedding(r["hidden"]).numpy() for w, r in runs.items()}   # (M, S_w, 2H)
        for m in range(n_models):
            tr = [int(w) for w in torch.nonzero(train_worms[m]).ravel()]
            labels = {w: seq.y[w, : len(emb[w][m])].numpy() for w in tr}                 # (S_w,), −1: none
            xs = np.concatenate([emb[w][m][labels[w] >= 0] for w in tr])
            ys = np.concatenate([labels[w][labels[w] >= 0] for w in tr])
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(xs, ys)
            for w in torch.nonzero(needed[m]).ravel().tolist():
                n = int(data.lengths[w])
                p = np.zeros((len(emb[w][m]), n_classes), np.float32)
                p[:, probe.classes_] = probe.predict_proba(emb[w][m])
                out[m, w, :n] = tavrnn.frames_from_steps(torch.from_numpy(p)[None], n, cfg.stride)[0]
    return out


def fit_predict_baseline(name: str, data: TaskData, train_mask: torch.Tensor, needed: torch.Tensor,
                         seed: int = 0, lags=LAGS, normalisation: str = "per-worm") -> torch.Tensor:
    """Logistic regression (of the frame, or of the frames ``lags`` back: ``-lagged``; L lags, or
    (W, L) per worm as ``TaskData.with_lags`` takes them) or RBF SVM
    (scikit-learn) per split, or ADMM (:func:`fit_predict_admm`), on the concatenated features
    of the neurons (missing neurons as zeros); (M, W, T, C) probabilities (one-hot for SVM) for
    the worms each model is ``needed`` on ((M, W) bool), zeros elsewhere. ``normalisation``: the
    contract (``wormlib.normalisation``): ``per-worm`` (the book's, as the networks' batch norm)
    and ``causal-per-worm`` standardise each worm by its own statistics, ``training-worms`` fits
    a scaler on the training frames."""
    if name == "admm":
        return fit_predict_admm(data, train_mask, needed)
    n_models, (n_worms, t_max) = train_mask.shape[0], data.y.shape
    if name == "logistic-regression-lagged":                                # frames t − lag side by side
        w, t, n, _ = data.x.shape
        n_lags = torch.as_tensor(lags).shape[-1]
        x = data.with_lags(lags).x.reshape(w, t, n, n_lags, -1).transpose(2, 3).flatten(2).numpy()  # (W, T, L·N·F)
    else:
        x = data.x.flatten(2).numpy()                                        # (W, T, N·F)
    if normalisation != "training-worms":
        from .normalisation import standardise
        x = standardise(x, data.lengths.tolist(), normalisation)
    y = data.y.numpy()
    n_classes = len(data.classes)
    out = np.zeros((n_models, n_worms, t_max, n_classes), np.float32)
    rng = np.random.default_rng(seed)
    for m in range(n_models):
        keep = train_mask[m].numpy() & (y >= 0)
        xs, ys = x[keep], y[keep]
        if name == "svm" and len(ys) > SVM_MAX_TRAIN:
            pick = rng.choice(len(ys), SVM_MAX_TRAIN, replace=False)
            xs, ys = xs[pick], ys[pick]
        clf = SVC(kernel="rbf", C=1.0) if name == "svm" else LogisticRegression(max_iter=2000)
        if normalisation == "training-worms":
            clf = make_pipeline(StandardScaler(), clf)
        clf.fit(xs, ys)
        for w in np.flatnonzero(needed[m].numpy()):
            if name == "svm":
                out[m, w, np.arange(t_max), clf.predict(x[w])] = 1.0
            else:
                out[m, w][:, clf.classes_] = clf.predict_proba(x[w])
    return torch.from_numpy(out)


def run(name: str, data: TaskData, train_mask: torch.Tensor, test_mask: torch.Tensor,
        splits: list[dict], hidden: int, train_cfg: TrainConfig, lags=LAGS) -> tuple[pd.DataFrame, torch.Tensor]:
    """Train and score one model on every split at once: (scores per model × test worm,
    probabilities (M, W, T, C)). The time-context models read the frames ``lags`` back (L lags,
    or (W, L): each worm's own, e.g. the same seconds at another frame rate). TAVRNN's rows also
    have ``skipped_updates``: the optimiser steps its model skipped (a non-finite gradient)."""
    needed = test_mask.any(-1)                                               # (M, W)
    info = [dict(s, model=name) for s in splits]
    if name in BASELINES:
        probs = fit_predict_baseline(name, data, train_mask, needed, train_cfg.seed, lags)
    elif name in TEMPORAL_MODELS:
        probs, skipped = fit_predict_tavrnn(name, data, train_mask, needed, train_cfg)
        info = [dict(i, skipped_updates=int(n)) for i, n in zip(info, skipped)]
    else:
        seen = data.with_lags(lags) if name.endswith(WINDOW) else data
        torch.manual_seed(train_cfg.seed)
        model = build_model(name.removesuffix(WINDOW), train_mask.shape[0], seen, hidden)
        fit(model, seen, train_mask, train_cfg.for_model(name), desc=name)
        probs = predict(model, seen, needed, train_cfg.device)
    scores = score_table(probs, data.y, test_mask, info)
    scores["test"] = [data.worms[i] for i in scores.pop("test_index")]
    return scores, probs


def run_models(models: tuple[str, ...], data: TaskData, splits, hidden: int,
               train_cfg: TrainConfig, lags=LAGS) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    """``run`` for several models on the same splits: (all scores, probabilities per model)."""
    train_mask, test_mask, info = splits
    scores, probs = [], {}
    for name in models:
        s, probs[name] = run(name, data, train_mask, test_mask, info, hidden, train_cfg, lags)
        scores.append(s)
    return pd.concat(scores, ignore_index=True), probs


@cached
def scores_of(name: str, data: TaskData, train_mask: torch.Tensor, test_mask: torch.Tensor, splits: list[dict],
              hidden: int, train_cfg: TrainConfig, lags=LAGS) -> pd.DataFrame:
    """``run``'s scores alone: one model family on one protocol, the book's unit of computation
    (an experiment of ``wormlib.store``) and one job for ``wormlib.jobs.run_jobs`` (the
    probabilities stay behind)."""
    return run(name, data, train_mask, test_mask, splits, hidden, train_cfg, lags)[0]


def score_models(models: tuple[str, ...], data: TaskData, splits, hidden: int, train_cfg: TrainConfig,
                 lags=LAGS) -> pd.DataFrame:
    """``run_models``' scores, each model an experiment of its own (``scores_of``)."""
    return pd.concat([scores_of(name, data, *splits, hidden, train_cfg, lags) for name in models], ignore_index=True)


@cached
def confusion_of(name: str, data: TaskData, splits, hidden: int, train_cfg: TrainConfig) -> np.ndarray:
    """Counts (C, C) of each true state (rows) predicted as each state (columns), pooled over the
    test worms of every split (paper Fig. 4C): the model trained as ``scores_of`` trains it."""
    train_mask, test_mask, info = splits
    probs = run(name, data, train_mask, test_mask, info, hidden, train_cfg)[1]
    return confusion(probs, data.y, test_mask, len(data.classes))


@cached
def calibration_of(name: str, data: TaskData, splits, hidden: int, train_cfg: TrainConfig) -> dict:
    """The model trained as ``scores_of`` trains it, judged by its probabilities
    (``evaluate.calibration``): {"per_worm": one row per model × test worm (log-loss, Brier
    score, ECE, per-class recall; ``test`` the worm, ``seed`` where the splits are replicated),
    "reliability": the pooled reliability table}."""
    from .evaluate import calibration

    train_mask, test_mask, info = splits
    probs = run(name, data, train_mask, test_mask, info, hidden, train_cfg)[1]
    per_worm, reliability = calibration(probs, data.y, test_mask, data.classes)
    per_worm["test"] = [data.worms[i] for i in per_worm.pop("test_index")]
    per_worm["seed"] = [info[m].get("seed", 0) for m in per_worm.pop("model_index")]
    return {"per_worm": per_worm.assign(model=name), "reliability": reliability.assign(model=name)}


@cached
def contract_scores(name: str, data: TaskData, causal: TaskData, splits, hidden: int,
                    train_cfg: TrainConfig) -> pd.DataFrame:
    """One model's scores under each normalisation contract (``wormlib.normalisation``), as
    model ``<name>@<contract>`` with column ``normalisation``. A network is trained once on
    ``data`` and predicted per worm (the book's contract) and with its batch norm frozen at the
    training worms' statistics, and trained once on ``causal`` (past-only features, running
    [0, 1] scaling) and predicted with running statistics; a baseline is fitted under each."""
    from .normalisation import CONTRACTS, causal_network, frozen_network

    train_mask, test_mask, info = splits
    needed = test_mask.any(-1)
    if name in BASELINES:
        probs = {c: fit_predict_baseline(name, causal if c == "causal-per-worm" else data, train_mask, needed,
                                         train_cfg.seed, normalisation=c) for c in CONTRACTS}
    else:
        probs = {}
        for seen in (data, causal):
            torch.manual_seed(train_cfg.seed)
            model = build_model(name, train_mask.shape[0], seen, hidden)
            fit(model, seen, train_mask, train_cfg.for_model(name), desc=name)
            if seen is data:
                probs["per-worm"] = predict(model, seen, needed, train_cfg.device)
                probs["training-worms"] = predict(frozen_network(model, seen, train_mask), seen, needed,
                                                  train_cfg.device)
            else:
                probs["causal-per-worm"] = predict(causal_network(model), seen, needed, train_cfg.device)
    parts = []
    for contract, p in probs.items():
        rows = score_table(p, data.y, test_mask, [dict(s, model=f"{name}@{contract}", normalisation=contract)
                                                  for s in info])
        rows["test"] = [data.worms[i] for i in rows.pop("test_index")]
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


def _unseen_jobs(recordings: list, settings: tuple[tuple[str, int], ...], models: tuple[str, ...],
                 networks: tuple[str, ...], n_seeds: int, max_subsets: int | None) -> list[tuple]:
    """(task, data, model, splits) for each (task, training worms) of ``settings`` and each model
    on its unseen-worm splits (the paper's neurons), the ``networks`` in ``n_seeds`` seed replicates."""
    jobs = []
    for task, k in settings:
        data = TaskData.build(recordings, task, PAPER_NEURONS)
        splits = unseen_splits(data, k, max_subsets)
        jobs += [(task, data, name, replicate(splits, n_seeds) if name in networks else splits) for name in models]
    return jobs


def contract_comparison(recordings: list, settings: tuple[tuple[str, int], ...], models: tuple[str, ...],
                        networks: tuple[str, ...], n_seeds: int, max_subsets: int | None, hidden: int,
                        train_cfg: TrainConfig, workers: int = 1) -> pd.DataFrame:
    """``contract_scores`` of each model for each (task, training worms) of ``settings`` on its
    unseen-worm splits, the ``networks`` in ``n_seeds`` seed replicates; column ``task``."""
    from .normalisation import running_minmax

    jobs = _unseen_jobs(recordings, settings, models, networks, n_seeds, max_subsets)
    causal = {task: running_minmax(TaskData.build(recordings, task, PAPER_NEURONS, "causal")) for task, _ in settings}
    found = run_jobs(contract_scores, [(name, data, causal[task], splits, hidden, train_cfg)
                                       for task, data, name, splits in jobs], workers, "normalisation contracts")
    return pd.concat([f.assign(task=job[0]) for f, job in zip(found, jobs)], ignore_index=True)


def calibration_study(recordings: list, settings: tuple[tuple[str, int], ...], models: tuple[str, ...],
                      networks: tuple[str, ...], n_seeds: int, max_subsets: int | None, hidden: int,
                      train_cfg: TrainConfig, workers: int = 1) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """``calibration_of`` for each (task, training worms) of ``settings`` and each model on its
    unseen-worm splits, the ``networks`` in ``n_seeds`` seed replicates, on ``workers`` processes:
    (every per-worm row with its ``task``, the pooled reliability table of each task)."""
    jobs = _unseen_jobs(recordings, settings, models, networks, n_seeds, max_subsets)
    found = run_jobs(calibration_of, [(name, data, splits, hidden, train_cfg) for _, data, name, splits in jobs],
                     workers, "calibration")
    tasks = [job[0] for job in jobs]
    per_worm = pd.concat(f["per_worm"].assign(task=t) for t, f in zip(tasks, found))
    reliability = {t: pd.concat(f["reliability"] for u, f in zip(tasks, found) if u == t) for t in dict.fromkeys(tasks)}
    return per_worm, reliability


JOB_ORDER = (*TEMPORAL_MODELS, *GRU_WINDOW_MODELS, *WINDOW_MODELS)
"""The models whose jobs start first, longest first (``benchmarks/benchmark_step.py``), so that no
worker is left with a long job at the end; the order cannot change a result."""


def replicated_jobs(models: tuple[str, ...], replicated: tuple[str, ...], data: TaskData, splits, n_seeds: int,
                    hidden: int, train_cfg: TrainConfig) -> tuple[list[tuple], Callable]:
    """``run_replicated``'s work as jobs for ``scores_of``, one per model (the models in
    ``replicated`` on ``n_seeds`` replicates of the splits), and the function that assembles
    their scores, in the jobs' order, into ``run_replicated``'s table."""
    many = tuple(m for m in models if m in replicated)
    once = tuple(m for m in models if m not in replicated)
    copies = replicate(splits, n_seeds)
    jobs = [(m, data, *copies, hidden, train_cfg) for m in many] + [(m, data, *splits, hidden, train_cfg) for m in once]

    def assemble(scores: list[pd.DataFrame]) -> pd.DataFrame:
        parts = [pd.concat(scores[: len(many)], ignore_index=True)] if many else []
        parts += [pd.concat(scores[len(many):], ignore_index=True).assign(seed=0)] if once else []
        return pd.concat(parts, ignore_index=True)

    return jobs, assemble


def run_settings(settings: list[tuple[list[tuple], Callable]], workers: int = 1, desc: str = "models") -> list:
    """The jobs of several settings (each a ``replicated_jobs`` pair) on ``workers`` one-thread
    processes at once (``wormlib.jobs``; the longest first): each setting's assembled table.
    Every job seeds itself, so the tables are those of ``workers=1`` to the bit."""
    flat = [job for jobs, _ in settings for job in jobs]
    rank = {m: i for i, m in enumerate(JOB_ORDER)}
    order = sorted(range(len(flat)), key=lambda i: rank.get(flat[i][0], len(rank)))
    done = dict(zip(order, run_jobs(scores_of, [flat[i] for i in order], workers, desc)))
    tables, start = [], 0
    for jobs, assemble in settings:
        tables.append(assemble([done[i] for i in range(start, start + len(jobs))]))
        start += len(jobs)
    return tables


def run_replicated(models: tuple[str, ...], replicated: tuple[str, ...], data: TaskData, splits, n_seeds: int,
                   hidden: int, train_cfg: TrainConfig, workers: int = 1) -> pd.DataFrame:
    """``run_models`` with the models in ``replicated`` trained in ``n_seeds`` seed replicates
    (``replicate``) and the others once (``seed`` 0): the scores of all, column ``seed``; the
    models on ``workers`` processes (``run_settings``)."""
    return run_settings([replicated_jobs(models, replicated, data, splits, n_seeds, hidden, train_cfg)], workers)[0]


def derivative_comparison(recordings: list, settings: list[tuple[str, int]], models: tuple[str, ...],
                          n_seeds: int, hidden: int, train_cfg: TrainConfig,
                          max_subsets: int | None = None, workers: int = 1) -> pd.DataFrame:
    """Unseen-worm scores with the paper's centred derivative and with the past-only one, for
    each (task, number of training worms) of ``settings``; networks in ``n_seeds`` replicates
    (column ``seed``), baselines once. Columns ``derivative`` and ``task`` say which. The models
    of every setting train on ``workers`` processes (``run_settings``)."""
    nets = tuple(m for m in models if m not in BASELINES)
    return time_context(recordings, [(kind, task, k, models, nets) for kind in DERIVATIVES for task, k in settings],
                        hidden, train_cfg, max_subsets, n_seeds, workers, desc="derivatives")


def aggregation_comparison(data: dict[str, TaskData], settings: list[tuple[str, int]], reused: pd.DataFrame,
                           n_seeds: int, hidden: int, train_cfg: TrainConfig, max_subsets: int | None = None,
                           workers: int = 1) -> pd.DataFrame:
    """The static-edge GNN's node update (§3.2: "performance improves when using concatenation
    instead of summation"): ``AGGREGATION_MODELS`` in ``n_seeds`` replicates on the unseen-worm
    splits of each (task, number of training worms) of ``settings`` (``data[task]``: the paper's
    features), beside the paper's concatenation GNN, whose rows come from ``reused`` (a
    ``derivative_comparison`` table of the same splits and seeds), not trained again. Columns
    as ``derivative_comparison``'s (``derivative`` "centred")."""
    jobs = [replicated_jobs(AGGREGATION_MODELS, AGGREGATION_MODELS, data[task],
                            unseen_splits(data[task], k, max_subsets), n_seeds, hidden, train_cfg)
            for task, k in settings]
    concat = reused[(reused.derivative == "centred") & (reused.model == "gnn-inferred-static")]
    parts = []
    for (task, k), table in zip(settings, run_settings(jobs, workers, desc="aggregation")):
        same = concat[(concat.task == task) & (concat.n_train_worms == k)]
        if set(zip(same.train, same.test, same.seed)) != set(zip(table.train, table.test, table.seed)):
            raise ValueError(f"the concatenation GNN to reuse was not run on the splits and seeds of {task} "
                             f"with {k} training worms")
        parts += [same, table.assign(derivative="centred", task=task)]
    return pd.concat(parts, ignore_index=True)


def time_context(recordings: list, settings: list[tuple], hidden: int, train_cfg: TrainConfig,
                 max_subsets: int | None = None, n_seeds: int = 1, workers: int = 1,
                 desc: str = "time context") -> pd.DataFrame:
    """Unseen-worm scores of models that see a window of past frames (TAVRNN, lagged logistic
    regression, the windowed MLP and GNN) for each (derivative kind, task, number of training
    worms, models[, replicated]) of ``settings``. The models in ``replicated`` (by default the
    windowed networks, like the single-frame networks they are compared with) in ``n_seeds``
    replicates (column ``seed``), the others once. Columns ``derivative`` and ``task`` say which.
    The models of every setting train on ``workers`` processes (``run_settings``)."""
    keys, jobs = [], []
    for kind, task, k, models, *replicated in settings:
        data = TaskData.build(recordings, task, PAPER_NEURONS, derivative_kind=kind)
        many = replicated[0] if replicated else WINDOW_MODELS
        jobs.append(replicated_jobs(models, many, data, unseen_splits(data, k, max_subsets), n_seeds, hidden,
                                    train_cfg))
        keys.append((kind, task))
    tables = run_settings(jobs, workers, desc)
    return pd.concat([t.assign(derivative=kind, task=task) for t, (kind, task) in zip(tables, keys)],
                     ignore_index=True)


def tavrnn_replicates(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per TAVRNN model trained for a score table (``run``'s rows, with any setting
    columns such as ``derivative`` and ``task``): its setting, training worms, seed and
    ``skipped_updates``, the optimiser steps it skipped because its gradient was not finite."""
    keys = [c for c in ("derivative", "task", "model", "n_train_worms", "train", "fold", "seed") if c in scores]
    if "skipped_updates" not in scores:
        return pd.DataFrame(columns=[*keys, "skipped_updates"])
    rows = scores.dropna(subset=["skipped_updates"])
    return rows.drop_duplicates(keys)[keys + ["skipped_updates"]].astype({"skipped_updates": int})


def summarise(scores: pd.DataFrame, by: list[str], metric: str = "accuracy") -> pd.DataFrame:
    """Mean and spread of a metric: per group, the mean over test worms of each worm's mean
    over folds or training subsets, and the standard deviation across those per-worm means."""
    per_worm = scores.groupby(by + ["test"])[metric].mean().reset_index()
    return per_worm.groupby(by)[metric].agg(mean="mean", sd="std", n_worms="count").reset_index()


def neuron_sets(recordings: list, task: str, sets: dict[str, tuple[str, ...]], models: tuple[str, ...],
                n_train: int, max_subsets: int | None, hidden: int, train_cfg: TrainConfig,
                reuse: dict[str, pd.DataFrame] | None = None, n_seeds: int = 1,
                networks: tuple[str, ...] = ()) -> pd.DataFrame:
    """Unseen-worm scores of the same models on several neuron sets (e.g. the paper's 15 and the
    3 its Nichols evaluation rests on); column ``neurons``: the set's name. ``reuse`` maps a set's
    name to the scores of these models on its splits already computed elsewhere (e.g. by
    ``wormlib.results.scores_from_records`` from another chapter's records): that set is not
    trained again. The ``networks`` among ``models`` are trained in ``n_seeds`` seed replicates
    (column ``seed``), the others once."""
    rows = []
    for label, neurons in sets.items():
        data = TaskData.build(recordings, task, neurons)
        splits = unseen_splits(data, n_train, max_subsets)
        if reuse and label in reuse:
            done = reuse[label]
            if set(done.model) != set(models) or set(done.train) != {s["train"] for s in splits[2]}:
                raise ValueError(f"the scores given for the {label!r} set are not of these models and splits")
            rows.append(done.assign(neurons=label))
        else:
            rows.append(run_replicated(models, networks, data, splits, n_seeds, hidden, train_cfg).assign(neurons=label))
    return pd.concat(rows, ignore_index=True)


def neuron_ablation(recordings: list, tasks: tuple[str, ...], sets: dict[str, tuple[str, ...]],
                    models: tuple[str, ...], networks: tuple[str, ...], n_train: int, max_subsets: int | None,
                    n_seeds: int, hidden: int, train_cfg: TrainConfig, workers: int = 1) -> pd.DataFrame:
    """Unseen-worm scores of ``models`` for every task and neuron set, the ``networks`` in
    ``n_seeds`` seed replicates (column ``seed``; the other models once), on one-thread worker
    processes (``run_settings``): how much of the decoding survives without given neurons
    (chapter 5: without the neurons that define the fictive states). Columns ``task``, ``neurons``."""
    settings, keys = [], []
    for task in tasks:
        for label, neurons in sets.items():
            data = TaskData.build(recordings, task, neurons)
            settings.append(replicated_jobs(models, networks, data, unseen_splits(data, n_train, max_subsets),
                                            n_seeds, hidden, train_cfg))
            keys.append((task, label))
    tables = run_settings(settings, workers, desc="neuron sets")
    return pd.concat([t.assign(task=task, neurons=label) for (task, label), t in zip(keys, tables)],
                     ignore_index=True)


def best_single_neuron(recordings: list, task: str, candidates: tuple[str, ...], n_train: int,
                       max_subsets: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Brennan & Proekt's one-neuron question, with logistic regression on one neuron's
    [trace, derivative]. Returns (every neuron's scores on the test worms — the post-hoc view;
    the scores of the neuron chosen per split by its balanced accuracy on the *training* worms,
    so that the choice never sees the test worms)."""
    tested, fitted = [], []
    for neuron in candidates:
        data = TaskData.build(recordings, task, (neuron,))
        train, test, info = unseen_splits(data, n_train, max_subsets)
        everywhere = torch.ones(train.shape[:2], dtype=torch.bool)
        probs = fit_predict_baseline("logistic-regression", data, train, everywhere, seed)
        splits = [dict(s, model="logistic-regression", neuron=neuron) for s in info]
        for mask, out in ((test, tested), (train, fitted)):
            scores = score_table(probs, data.y, mask, splits)
            scores["test"] = [data.worms[i] for i in scores.pop("test_index")]
            out.append(scores)
    tested, fitted = pd.concat(tested, ignore_index=True), pd.concat(fitted, ignore_index=True)
    chosen = (fitted.groupby(["train", "neuron"]).balanced_accuracy.mean().reset_index()
              .sort_values("balanced_accuracy", ascending=False).drop_duplicates("train"))
    best = tested.merge(chosen[["train", "neuron"]], on=["train", "neuron"])
    return tested, best

"""Nested selection of the time-context networks' window on the training worms only.

``experiments.LAGS`` (six frames, ≈ 5 s) was fixed before any run. This module asks whether a
window chosen from the data would have done better, without letting the choice see a test worm:
for each leave-worms-out training subset (the outer split), every candidate window is scored by
leave-one-worm-out cross-validation *inside* that subset, the best mean inner balanced accuracy
picks the window, and the outer model with that window is scored on the outer test worms
(chapter 3, "Choosing the window on the training worms").
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch

from .experiments import LAGS, WINDOW, WINDOW_MODELS, replicate, run_settings, summarise, unseen_splits
from .preprocess import PAPER_NEURONS
from .train import TaskData, TrainConfig

WINDOWS = {1: (0,), 3: (0, 3, 6), 6: LAGS, 10: tuple(range(0, 30, 3))}
"""Candidate windows (frames read → lags), fixed in advance with ``LAGS``' 3-frame (≈ 1 s)
spacing: the frame alone (the single-frame network), ≈ 2 s, ``LAGS`` (≈ 5 s) and ≈ 9 s of past."""
NESTED = "-nested"
"""Suffix of the model whose window was chosen per outer split by the inner cross-validation."""


def windowed(model: str, n_frames: int) -> str:
    """The name of a ``WINDOW_MODELS`` network with ``n_frames`` of ``WINDOWS``: the single-frame
    network for 1, the model itself for ``LAGS``' length, else e.g. ``gnn-inferred-static-window-10``."""
    if n_frames == 1:
        return model.removesuffix(WINDOW)
    return model if WINDOWS[n_frames] == LAGS else f"{model}-{n_frames}"


def candidates(networks: tuple[str, ...] = WINDOW_MODELS) -> pd.DataFrame:
    """Every (network, window) candidate with its model name (``windowed``)."""
    return pd.DataFrame([(net, n, windowed(net, n)) for net in networks for n in WINDOWS],
                        columns=["network", "window", "model"])


def inner_splits(data: TaskData, outer) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """Leave-one-worm-out inside each outer training subset: an outer split training on worms S
    gives |S| inner splits, each training on S − {w} and tested on the whole of worm w. Outer
    test worms appear in no inner split. Masks (M', W, T); ``outer`` in each description."""
    outer_train, _, outer_info = outer
    train, test, info = [], [], []
    for mask, split in zip(outer_train, outer_info):
        worms = torch.nonzero(mask.any(-1)).ravel().tolist()
        for held in worms:
            tr, te = mask.clone(), torch.zeros_like(mask)
            tr[held], te[held] = False, mask[held]
            train.append(tr), test.append(te)
            info.append(dict(split, n_train_worms=len(worms) - 1, outer=split["train"],
                             train=",".join(data.worms[w] for w in worms if w != held)))
    return torch.stack(train), torch.stack(test), info


def _window_jobs(models: tuple[str, ...], data: TaskData, splits, hidden: int, train_cfg: TrainConfig,
                 windows: dict[int, tuple[int, ...]], inner: bool) -> tuple[list[tuple], Callable]:
    """Every ``models`` network with every window of ``windows`` (key: frames read, value: lags) on
    ``splits`` (train masks, test masks, descriptions), as jobs for ``scores_of`` (the widest window
    first, the slowest jobs start first), and the function that assembles their scores, in the jobs'
    order, into one table with ``windowed`` model names, window by window in ``windows``' order
    (``run_settings``' pair). ``inner`` adds the columns ``network`` and ``window`` that ``choose``
    reads."""
    keys = [(n, m) for n in sorted(windows, reverse=True) for m in models]

    def assemble(scores: list[pd.DataFrame]) -> pd.DataFrame:
        done = dict(zip(keys, scores))
        tables = []
        for n in windows:
            table = pd.concat([done[n, m] for m in models], ignore_index=True)
            named = table.assign(model=[windowed(m, n) for m in table.model])
            tables.append(named.assign(network=table.model, window=n) if inner else named)
        return pd.concat(tables, ignore_index=True)

    return [(m, data, *splits, hidden, train_cfg, windows[n]) for n, m in keys], assemble


def inner_jobs(models: tuple[str, ...], data: TaskData, outer, hidden: int, train_cfg: TrainConfig,
               windows: dict[int, tuple[int, ...]] = WINDOWS) -> tuple[list[tuple], Callable]:
    """``inner_scores``' work as jobs and the function that assembles them (``_window_jobs``)."""
    return _window_jobs(models, data, inner_splits(data, outer), hidden, train_cfg, windows, inner=True)


def inner_scores(models: tuple[str, ...], data: TaskData, outer, hidden: int, train_cfg: TrainConfig,
                 windows: dict[int, tuple[int, ...]] = WINDOWS, workers: int = 1) -> pd.DataFrame:
    """Every candidate window of every ``WINDOW_MODELS`` network on the inner splits of ``outer``
    (one seed: ``train_cfg.seed``): scores per inner split × held-out worm, model names from
    ``windowed``, columns ``network`` (the ``WINDOW_MODELS`` name), ``outer`` and ``window``.
    The models train on ``workers`` one-thread processes (``wormlib.jobs``)."""
    return run_settings([inner_jobs(models, data, outer, hidden, train_cfg, windows)], workers, "inner windows")[0]


def outer_jobs(models: tuple[str, ...], data: TaskData, outer, n_seeds: int, hidden: int,
               train_cfg: TrainConfig, windows: tuple[int, ...]) -> tuple[list[tuple], Callable]:
    """``outer_scores``' work as jobs and the function that assembles them (``_window_jobs``)."""
    return _window_jobs(models, data, replicate(outer, n_seeds), hidden, train_cfg,
                        {n: WINDOWS[n] for n in windows}, inner=False)


def outer_scores(models: tuple[str, ...], data: TaskData, outer, n_seeds: int, hidden: int,
                 train_cfg: TrainConfig, windows: tuple[int, ...], workers: int = 1) -> pd.DataFrame:
    """The outer models of the given candidate windows (``WINDOWS`` keys) in ``n_seeds`` seed
    replicates, on the outer test worms, named by ``windowed``; on ``workers`` processes."""
    pair = outer_jobs(models, data, outer, n_seeds, hidden, train_cfg, windows)
    return run_settings([pair], workers, "outer windows")[0]


def choose(inner: pd.DataFrame, metric: str = "balanced_accuracy") -> pd.DataFrame:
    """Per network and outer training subset, the window of the best mean inner score over the
    held-out training worms (a tie goes to the shorter window). ``inner``: ``inner_scores``'
    table; returns columns ``network``, ``outer``, ``window`` and ``inner_score``."""
    mean = inner.groupby(["network", "outer", "window"])[metric].mean().rename("inner_score").reset_index()
    best = mean.sort_values(["network", "outer", "inner_score", "window"], ascending=[True, True, False, True])
    return best.drop_duplicates(["network", "outer"]).sort_values(["network", "outer"], ignore_index=True)


def nested_records(records: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Results records (``wormlib.results``) of the nested model: for each network and outer
    training subset, the outer test records of the window ``choose`` picked for it, renamed
    ``<network>-nested``. ``records`` must hold every candidate's outer records (``windowed``
    names, the ``train`` field the outer subset); raises ``ValueError`` if one is missing."""
    parts = []
    for row in chosen.itertuples(index=False):
        name = windowed(row.network, row.window)
        pick = records[(records.model == name) & (records.train == row.outer)]
        if pick.empty:
            raise ValueError(f"no outer records of {name} trained on {row.outer}")
        parts.append(pick.assign(model=row.network + NESTED))
    return pd.concat(parts, ignore_index=True)


def summary(inner: pd.DataFrame, chosen: pd.DataFrame, outer: pd.DataFrame) -> pd.DataFrame:
    """Per network and candidate window: the mean inner balanced accuracy (over outer subsets
    and held-out training worms), how many outer subsets ``chosen`` picked it for, and, not used
    to choose, its outer models' accuracy and balanced accuracy on the test worms (mean over test
    worms of each worm's mean over subsets and seeds). ``inner``, ``outer``: results records of
    the inner models and of every candidate's outer models."""
    def per_model(records: pd.DataFrame, metric: str) -> pd.Series:
        column = metric.replace("-", "_")
        rows = records[records.metric == metric].rename(columns={"value": column})
        return summarise(rows, ["model"], column).set_index("model")["mean"]

    picked = chosen.groupby(["network", "window"]).size().rename("chosen")
    table = candidates(tuple(chosen.network.unique())).join(picked, on=["network", "window"])
    return table.assign(inner_balanced_accuracy=table.model.map(per_model(inner, "balanced-accuracy")),
                        chosen=table.chosen.fillna(0).astype(int),
                        test_accuracy=table.model.map(per_model(outer, "accuracy")),
                        test_balanced_accuracy=table.model.map(per_model(outer, "balanced-accuracy")))


def run(recordings: list, settings: list[tuple[str, int]], n_seeds: int, hidden: int, train_cfg: TrainConfig,
        max_subsets: int | None = None, workers: int = 1) -> dict[tuple[str, int], dict[str, pd.DataFrame]]:
    """The nested choice for the ``WINDOW_MODELS`` networks on past-only features, per (task,
    number of training worms) of ``settings``: ``inner`` (``inner_scores``), ``outer`` (the 3- and
    10-frame outer models, ``outer_scores``; the 1- and 6-frame ones are the single-frame and
    windowed networks run elsewhere on the same splits) and ``chosen`` (``choose``, columns
    renamed to the record fields: ``model`` the network, ``train`` the outer subset). The models
    train on ``workers`` one-thread processes (``wormlib.jobs``)."""
    pairs = []
    for task, k in settings:
        data = TaskData.build(recordings, task, PAPER_NEURONS, derivative_kind="causal")
        outer = unseen_splits(data, k, max_subsets)
        pairs += [inner_jobs(WINDOW_MODELS, data, outer, hidden, train_cfg),
                  outer_jobs(WINDOW_MODELS, data, outer, n_seeds, hidden, train_cfg, (3, 10))]
    tables = run_settings(pairs, workers, "window choice")                  # one pool for every setting
    runs = {}
    for i, (task, k) in enumerate(settings):
        inner, wide = tables[2 * i], tables[2 * i + 1]
        runs[task, k] = dict(inner=inner, outer=wide,
                             chosen=choose(inner).rename(columns={"network": "model", "outer": "train"}))
    return runs


def from_records(records: pd.DataFrame, task: str, k: int, inner: str, chosen: str,
                 outer: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``summary`` and the outer records with the nested models' added, for one setting, from
    results records: ``inner`` and ``chosen`` name the experiments ``run``'s tables were saved
    under, ``outer`` every experiment holding a candidate's outer records (1, 3, 6, 10 frames)."""
    setting = (records.task == task) & (records.n_train_worms == k)
    picked = records[setting & (records.experiment == chosen)]
    picked = pd.DataFrame(dict(network=picked.model, outer=picked.train, window=picked.value.astype(int)))
    outer_records = records[setting & records.experiment.isin(outer)]
    inner_records = records[(records.experiment == inner) & (records.task == task)
                            & (records.n_train_worms == k - 1)]                # inner splits hold one worm out
    table = summary(inner_records, picked, outer_records)
    return table, pd.concat([outer_records, nested_records(outer_records, picked)], ignore_index=True)

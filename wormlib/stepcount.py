"""How long each network family trains: learning curves on training worms only (issue 51).

The paper does not state how long its networks trained. The book's ceiling is the profile's
``steps``; below it, each family's step count comes from learning curves that never see a test
worm, nested as the window choice is (``wormlib.selection``): on the design setting (4 states,
3 training worms), each outer training subset is split leave-one-worm-out, a stack of networks
trains on each inner split, and its held-out training worm is scored at the ``checkpoints``
during the one training run (``on_step``). Per outer subset, the one-standard-error rule picks
the fewest steps whose mean inner score is within one standard error of the best; a family
trains for the most steps any outer subset picked for any of its networks. The outer models
train in the same stack and are scored on their test worms at the same checkpoints: shown, never
used to choose. Chapter 2 draws the curves; ``chapters/profiles.toml`` holds the choice, and a
test checks that the two agree.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .evaluate import score_table
from .experiments import LAGS, WINDOW, build_model, fit_predict_tavrnn
from .store import cached
from .train import TaskData, TrainConfig, fit, predict

FAMILIES = {
    "mlp": ("mlp-concat", "mlp-sum"),
    "gnn": ("gnn-inferred-static", "gnn-inferred-dynamic"),
    "window": ("mlp-concat-window", "gnn-inferred-static-window"),
    "gru-window": ("mlp-concat-gru-window", "gnn-inferred-static-gru-window"),
    "tavrnn": ("tavrnn",),
    "trajectory-mlp": ("mlp", "mlp-gru"),
    "trajectory-gnn": ("gnn", "gnn-static", "gnn-gru"),
}
"""Each family and the networks whose curves choose its steps (every other network of the
family, e.g. the connectome GNN or a 10-frame window, follows them: ``family_of``)."""
CHECKPOINT_FRACTIONS = (1 / 12, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3, 1)
"""Where a curve is scored, as fractions of the ceiling (50, 100, … 600 steps in the full profile)."""
TRAJECTORY_FAMILIES = ("trajectory-mlp", "trajectory-gnn")


def family_of(name: str) -> str:
    """The family of a classification or trajectory network by name (``FAMILIES``)."""
    for family, members in FAMILIES.items():
        if name in members:
            return family
    if name.startswith("tavrnn"):
        return "tavrnn"
    if "-gru-window" in name:
        return "gru-window"
    if "-window" in name:
        return "window"
    if name.startswith("mlp-"):
        return "mlp"
    if name.startswith("gnn-"):
        return "gnn"
    raise ValueError(f"{name!r} is not a trained network of wormlib")


def checkpoints(ceiling: int) -> tuple[int, ...]:
    """The steps at which a curve is scored, up to ``ceiling`` (``CHECKPOINT_FRACTIONS``)."""
    return tuple(sorted({max(1, round(f * ceiling)) for f in CHECKPOINT_FRACTIONS}))


def nested_splits(data: TaskData, outer) -> dict[str, tuple]:
    """The inner leave-one-worm-out splits of ``outer`` (role ``validation``) and the outer
    splits themselves (role ``test``), each (train (M, W, T), test (M, W, T), descriptions with
    ``outer`` and ``role``): two stacks, since a stack's models train on equally many worms."""
    from .selection import inner_splits

    inner = inner_splits(data, outer)
    return {"validation": (*inner[:2], [dict(i, role="validation") for i in inner[2]]),
            "test": (*outer[:2], [dict(i, outer=i["train"], role="test") for i in outer[2]])}


@cached
def learning_curve(name: str, data: TaskData, outer, hidden: int, train_cfg: TrainConfig) -> pd.DataFrame:
    """One network's learning curve on ``outer``'s nested splits (``nested_splits``), each stack
    trained once up to ``train_cfg.steps`` and scored at ``checkpoints``: one row per model ×
    scored worm × checkpoint (``step``), with ``role``, ``outer`` and the scores: ``accuracy``
    and ``balanced_accuracy`` for a classifier, ``mse`` (the 16-step free-running prediction's
    mean squared error) for a chapter-4 trajectory network."""
    rows = [_curve(name, data, splits, hidden, train_cfg) for splits in nested_splits(data, outer).values()]
    table = pd.concat(rows, ignore_index=True).assign(model=name)
    table["test"] = [data.worms[i] for i in table.pop("test_index")]
    return table


def _curve(name: str, data: TaskData, splits, hidden: int, train_cfg: TrainConfig) -> pd.DataFrame:
    """``learning_curve``'s rows for one stack of splits (test worm as ``test_index``)."""
    train, test, info = splits
    needed, marks, rows = test.any(-1), checkpoints(train_cfg.steps), []     # (M, W)
    torch.manual_seed(train_cfg.seed)
    if family_of(name) in TRAJECTORY_FAMILIES:
        from . import trajectories as tj

        model = tj.build_model(name, len(info), data.x.shape[2], data.x.shape[3], hidden)

        def score(step: int) -> None:
            if step in marks:
                mse = tj.evaluate(model, data, needed, train_cfg.device).mean(-1)    # (M, W)
                rows.append(pd.DataFrame([dict(split, test_index=w, mse=float(mse[m, w]), step=step)
                                          for m, split in enumerate(info)
                                          for w in torch.nonzero(needed[m]).ravel().tolist()]))

        tj.fit(model, data, train.any(-1), train_cfg, desc=name, on_step=score)
        return pd.concat(rows, ignore_index=True)

    def scored(step: int, probabilities) -> None:
        if step in marks:
            rows.append(score_table(probabilities(), data.y, test, info).assign(step=step))

    if name.startswith("tavrnn"):
        fit_predict_tavrnn(name, data, train, needed, train_cfg, on_step=scored)
    else:
        seen = data.with_lags(LAGS) if name.endswith(WINDOW) else data
        model = build_model(name.removesuffix(WINDOW), len(info), seen, hidden)
        fit(model, seen, train, train_cfg, desc=name,
            on_step=lambda step: scored(step, lambda: predict(model, seen, needed, train_cfg.device)))
    return pd.concat(rows, ignore_index=True)


DESIGN = {"classification": ("4-state", 3), "trajectory": ("2-state", 4)}
"""The setting each kind of network's curves are drawn on: chapter 3's nested window choice
(4 states, 3 training worms) and chapter 4's (2-state worms, 4 training worms)."""


def run(recordings: list, hidden: int, train_cfg: TrainConfig, max_subsets: int | None = None,
        workers: int = 1) -> pd.DataFrame:
    """Every ``FAMILIES`` network's ``learning_curve`` on its ``DESIGN`` setting, up to the
    ceiling ``train_cfg.steps``, on ``workers`` one-thread processes (the slowest first)."""
    from .experiments import unseen_splits
    from .jobs import run_jobs
    from .preprocess import PAPER_NEURONS

    jobs = []
    for kind, (task, k) in DESIGN.items():
        data = TaskData.build(recordings, task, PAPER_NEURONS)
        outer = unseen_splits(data, k, max_subsets, classify=kind == "classification")
        trajectory = kind == "trajectory"
        jobs += [(name, data, outer, hidden, train_cfg) for family, names in FAMILIES.items()
                 if (family in TRAJECTORY_FAMILIES) == trajectory for name in names]
    slowest = ("gnn", "gnn-gru", "gnn-static", "tavrnn", "gnn-inferred-static-gru-window",
               "mlp-concat-gru-window", "gnn-inferred-dynamic")
    jobs.sort(key=lambda job: slowest.index(job[0]) if job[0] in slowest else len(slowest))
    return pd.concat(run_jobs(learning_curve, jobs, workers, "learning curves"), ignore_index=True)


def choose(curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per network and outer subset, the fewest checkpoint steps whose mean validation score
    (over the held-out training worms) is within one standard error of the best checkpoint's
    (higher is better, except ``mse``). Returns ``model``, ``outer``, ``steps``, ``best_steps``."""
    sign = -1.0 if metric == "mse" else 1.0
    val = curves[curves.role == "validation"].assign(score=lambda t: sign * t[metric])
    stats = val.groupby(["model", "outer", "step"]).score.agg(["mean", "std", "count"]).reset_index()
    rows = []
    for (model, outer), curve in stats.groupby(["model", "outer"], sort=True):
        best = curve.loc[curve["mean"].idxmax()]
        se = best["std"] / np.sqrt(best["count"]) if best["count"] > 1 else 0.0
        good = curve[curve["mean"] >= best["mean"] - np.nan_to_num(se)]
        rows.append(dict(model=model, outer=outer, steps=int(good.step.min()), best_steps=int(best.step)))
    return pd.DataFrame(rows)


def family_steps(chosen: pd.DataFrame) -> dict[str, int]:
    """Each family's steps: the most any outer subset chose for any of its networks."""
    return {family: int(chosen[chosen.model.isin(members)].steps.max())
            for family, members in FAMILIES.items() if chosen.model.isin(members).any()}


def test_curve(curves: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The outer models' mean test score per network and checkpoint (mean over test worms of each
    worm's mean over outer subsets), shown beside the choice and never used for it."""
    test = curves[curves.role == "test"]
    per_worm = test.groupby(["model", "step", "test"])[metric].mean()
    return per_worm.groupby(["model", "step"]).mean().unstack("step")


def choices(curves: pd.DataFrame) -> pd.DataFrame:
    """``choose`` for every network of ``run``'s curves, each on its own score (balanced
    accuracy for the classifiers, the 16-step MSE for the trajectory networks), with its family."""
    trajectory = curves.model.map(family_of).isin(TRAJECTORY_FAMILIES)
    chosen = pd.concat([choose(curves[~trajectory], "balanced_accuracy"), choose(curves[trajectory], "mse")],
                       ignore_index=True)
    return chosen.assign(family=chosen.model.map(family_of))


def steps_table(chosen: pd.DataFrame, ceiling: int, configured: dict[str, int]) -> pd.DataFrame:
    """Per family: its networks, the fewest and most steps its outer subsets chose, the family's
    steps (``family_steps``) and the steps the profile trains it for (``configured``, else the
    ceiling)."""
    steps = family_steps(chosen)
    rows = [dict(family=f, networks=", ".join(FAMILIES[f]),
                 chosen=f"{g.steps.min()}–{g.steps.max()}" if g.steps.min() != g.steps.max() else str(g.steps.min()),
                 steps=steps[f], trained=configured.get(f, ceiling))
            for f, g in chosen.groupby("family", sort=False)]
    return pd.DataFrame(rows).set_index("family")


def audit(curves: pd.DataFrame, chosen: pd.DataFrame, ceiling: int) -> pd.DataFrame:
    """What the choice costs on the test worms, read after the choice and never used for it: per
    network, the outer models' mean test score (mean over test worms of each worm's mean over
    outer subsets) at each outer subset's own nested choice (``chosen``: strictly nested, no test
    worm of that subset in its curve), at its family's steps, and at the ``ceiling``; and whether
    the held-out curve was still improving there (the median outer subset's best checkpoint is
    the ceiling)."""
    steps = family_steps(chosen)
    rows = []
    for model, picks in chosen.groupby("model", sort=False):
        metric = "mse" if family_of(model) in TRAJECTORY_FAMILIES else "balanced_accuracy"
        test = curves[(curves.model == model) & (curves.role == "test")]
        own = test.merge(picks[["outer", "steps"]], left_on=["outer", "step"], right_on=["outer", "steps"])

        def mean(rows_: pd.DataFrame) -> float:
            return float(rows_.groupby("test")[metric].mean().mean())

        rows.append(dict(model=model, metric=metric, own_choice=mean(own),
                         family_steps=mean(test[test.step == steps[family_of(model)]]),
                         ceiling=mean(test[test.step == ceiling]),
                         improving_at_ceiling=bool(picks.best_steps.median() >= ceiling)))
    return pd.DataFrame(rows).set_index("model")

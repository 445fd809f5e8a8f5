"""Metrics: accuracy per model and test worm, confusion matrices, paired model comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats


def score_table(probs: torch.Tensor, y: torch.Tensor, test_mask: torch.Tensor,
                splits: list[dict]) -> pd.DataFrame:
    """One row per (model, test worm): accuracy and balanced accuracy over its test frames.

    probs: (M, W, T, C); y: (W, T); test_mask: (M, W, T) bool; splits[m]: the model's
    description (train worms, fold, …), copied into its rows.
    """
    pred = probs.argmax(-1)                                                  # (M, W, T)
    rows = []
    for m, split in enumerate(splits):
        for w in torch.nonzero(test_mask[m].any(1)).ravel().tolist():
            keep = test_mask[m, w] & (y[w] >= 0)
            truth, guess = y[w][keep].numpy(), pred[m, w][keep].numpy()
            rows.append({**split, "test_index": w, "n_test_frames": int(keep.sum()),
                         "accuracy": float(np.mean(guess == truth)),
                         "balanced_accuracy": balanced_accuracy(truth, guess)})
    return pd.DataFrame(rows)


def balanced_accuracy(truth: np.ndarray, guess: np.ndarray) -> float:
    """Mean recall over the classes present in ``truth``."""
    return float(np.mean([np.mean(guess[truth == c] == c) for c in np.unique(truth)]))


def confusion(probs: torch.Tensor, y: torch.Tensor, test_mask: torch.Tensor, n_classes: int) -> np.ndarray:
    """(C, C) counts over every model's test frames: rows true class, columns predicted."""
    pred = probs.argmax(-1)
    keep = test_mask & (y >= 0)[None]
    truth = y[None].expand_as(pred)[keep].numpy()
    return np.bincount(truth * n_classes + pred[keep].numpy(), minlength=n_classes ** 2).reshape(n_classes, n_classes)


def paired_difference(scores: pd.DataFrame, model_a: str, model_b: str, unit: str = "test",
                      metric: str = "accuracy", higher_is_better: bool = True,
                      across_contracts: bool = False) -> dict:
    """Mean of ``a − b`` over ``unit`` (e.g. the test worm: scores are first averaged over
    splits within a unit), with a 95% t-interval, a two-sided paired t-test p-value and a
    verdict: "<a> better" or "<b> better" when the interval excludes 0, else "not detectable"
    (the scorecard's word: with five worms, absence of evidence; for an error such as MSE, pass
    ``higher_is_better=False``). Every comparison of the book passes here, and none compares two
    normalisation contracts (``normalisation.ContractError``; the model names or the scores'
    ``normalisation`` column say them) unless ``across_contracts`` says it means to."""
    from .normalisation import check_same_contract

    if not across_contracts:
        check_same_contract(model_a, model_b, scores)
    per_unit = scores.pivot_table(index=unit, columns="model", values=metric, aggfunc="mean")
    diff = (per_unit[model_a] - per_unit[model_b]).dropna().to_numpy()
    n = diff.size
    mean = float(diff.mean())
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    p = float(stats.ttest_1samp(diff, 0).pvalue) if n > 1 and diff.std() > 0 else np.nan
    sign = 1 if higher_is_better else -1
    verdict = ("not detectable" if not (mean - half > 0 or mean + half < 0)
               else f"{model_a if sign * mean > 0 else model_b} better")
    return dict(a=model_a, b=model_b, n_units=n, mean_difference=mean, ci_low=mean - half,
                ci_high=mean + half, p_value=p, verdict=verdict)


def interval_text(d: dict, digits: int = 3) -> str:
    """A ``paired_difference`` as text: the mean difference and its 95% interval,
    e.g. ``+0.012 [-0.003, +0.030]``, written as :func:`interval_parts` writes them:
    ``-0.0008 [-0.0013, -0.0003]``, not ``-0.001 [-0.001, -0.000]``; ``+0.000``, never ``-0.000``."""
    mean, low, high = interval_parts(d["mean_difference"], d["ci_low"], d["ci_high"], digits)
    return f"{mean} [{low}, {high}]"


def interval_parts(mean: float, low: float, high: float, digits: int = 3, plus: bool = True) -> tuple[str, str, str]:
    """A paired difference's mean and 95% interval bounds as three texts, the rule of every table
    and caption of the book: all three with :func:`interval_digits` decimals (a bound that is not 0
    never prints as ±0); a mean that rounds to 0 prints as 0, never −0 (its interval then says on
    which sides of 0 it may lie), while the bounds keep their sign, which says on which side of 0
    each lies. ``plus``: positive numbers get a "+"."""
    shown, sign = interval_digits(low, high, digits), "+" if plus else ""
    return f"{mean:{sign}z.{shown}f}", f"{low:{sign}.{shown}f}", f"{high:{sign}.{shown}f}"


def interval_digits(low: float, high: float, digits: int = 3) -> int:
    """Decimals to print an interval with: ``digits``, or up to two more while a bound that is not
    0 would print as ±0 (which would hide the side of 0 it lies on)."""
    for shown in range(digits, digits + 3):
        if not any(b != 0 and round(b, shown) == 0 for b in (low, high)):
            break
    return shown


def comparisons_text(rows: pd.DataFrame, digits: int = 3) -> str:
    """Rows of ``paired_comparisons`` as one caption sentence, e.g. ``4-state, train 3, balanced
    accuracy: +0.034 [+0.007, +0.060] → gnn better; …``."""
    return "; ".join(f"{r.comparison}, {r.metric.replace('-', ' ')}: {interval_text(r._asdict(), digits)} → "
                     f"{r.verdict}" for r in rows.itertuples())


def paired_table(records: pd.DataFrame, by: list[str], models: dict[str, str], pairs: dict[str, tuple[str, str]],
                 metrics: tuple[str, ...] = ("accuracy", "balanced-accuracy"), digits: int = 3) -> pd.DataFrame:
    """A table of results records (``wormlib.results``): one row per ``by`` group and metric, with
    each model's mean over test worms (splits averaged within a worm first) under its label in
    ``models`` (label → model), and each paired difference of ``pairs`` (label → (a, b)) as
    ``interval_text``. Values are text with ``digits`` decimals, ready to show. A model or pair that
    a group lacks (e.g. a baseline run on one task only) is left out of that group's rows."""
    rows = []
    for metric in metrics:
        column = metric.replace("-", "_")
        scores = records[records.metric == metric].rename(columns={"value": column})
        for key, group in scores.groupby(by):
            per_worm = group.pivot_table(index="test", columns="model", values=column)  # (test worms, models)
            rows.append({**dict(zip(by, key)), "metric": metric,
                         **{label: f"{per_worm[m].mean():.{digits}f}" for label, m in models.items()
                            if m in per_worm},
                         **{label: interval_text(paired_difference(group, a, b, metric=column), digits)
                            for label, (a, b) in pairs.items() if a in per_worm and b in per_worm}})
    return pd.DataFrame(rows)


def replace_with_seeded(single: pd.DataFrame, seeded: pd.DataFrame,
                        key: tuple[str, ...] = ("model", "n_train_worms")) -> pd.DataFrame:
    """``single``'s records with the rows of every ``key`` group (e.g. a model trained on k worms)
    that ``seeded`` has replaced by ``seeded``'s rows: a run of the same models on the same splits
    and test data in several seeds, averaged over them. Groups ``seeded`` lacks stay as they are."""
    key = list(key)
    swapped = pd.MultiIndex.from_frame(single[key]).isin(pd.MultiIndex.from_frame(seeded[key].drop_duplicates()))
    return pd.concat([single[~swapped], seeded], ignore_index=True)


def paired_comparisons(groups: dict[str, pd.DataFrame], pairs: list[tuple[str, str]],
                       metrics: tuple[str, ...] = ("accuracy", "balanced-accuracy")) -> pd.DataFrame:
    """``paired_difference`` a − b for every metric, group and pair: ``groups`` maps a label to
    results records (``wormlib.results``: columns ``model``, ``test``, ``metric``, ``value``) of one
    comparison; a pair is skipped where the group lacks one of its models. One row per test,
    metric-major: ``comparison`` (the label), ``metric`` and ``paired_difference``'s fields."""
    rows = []
    for metric in metrics:
        column = metric.replace("-", "_")
        for label, records in groups.items():
            scores = records[records.metric == metric].rename(columns={"value": column})
            rows += [{"comparison": label, "metric": metric, **paired_difference(scores, a, b, metric=column)}
                     for a, b in pairs if {a, b} <= set(scores.model)]
    return pd.DataFrame(rows)


def p_text(p: float, floor: float = 0.001) -> str:
    """A p-value for a caption: ``p = 0.012``, or ``p < 0.001`` below ``floor``."""
    return f"p < {floor:g}" if p < floor else f"p = {p:.3f}"


def ablation_table(scores: pd.DataFrame, reference: str, classes: dict[str, tuple[str, ...]],
                   metric: str = "balanced_accuracy") -> pd.DataFrame:
    """``experiments.neuron_ablation``'s scores as one row per task, neuron set and model: the
    mean ``metric`` over test worms (seed replicates and training subsets averaged first), the
    paired loss against the ``reference`` set with its 95 % interval, and chance (1 / classes)."""
    rows = []
    for (task, model), group in scores.groupby(["task", "model"], sort=False):
        chance = 1 / len(classes[task])
        for label in dict.fromkeys(group.neurons):
            mine = group[group.neurons == label]
            row = dict(task=task, neurons=label, model=model, chance=chance,
                       **{metric: mine.groupby("test")[metric].mean().mean()})
            if label != reference:
                both = group[group.neurons.isin([reference, label])].assign(model=group.neurons)
                d = paired_difference(both, reference, label, metric=metric)
                row.update(loss=d["mean_difference"], ci=f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]")
            rows.append(row)
    return pd.DataFrame(rows)


def ablation_summary(table: pd.DataFrame, model: str, reference: str, name: str = "The GNN") -> str:
    """:func:`ablation_table`'s finding for one model, in words: per task, what removing each set
    costs (mean loss and interval) and where that leaves the model against chance."""
    rows = table[(table.model == model) & (table.neurons != reference)]
    parts = [f"{row.task.split('-')[0]} states {row.neurons}: loses {row.loss:.3f} {row.ci} (left at "
             f"{row.balanced_accuracy:.3f}, chance {row.chance:.3f})" for row in rows.itertuples()]
    return (f"**{name}'s balanced accuracy, lost against {reference} neurons** (paired per test worm): "
            + "; ".join(parts) + ".")


def calibration(probs: torch.Tensor, y: torch.Tensor, test_mask: torch.Tensor, classes: tuple[str, ...],
                bins: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How far a classifier's probabilities can be trusted, on its test frames: one row per
    (model, test worm) with the log-loss (mean −log p of the true class), the Brier score (mean
    squared distance to the one-hot truth), the expected calibration error (top-label confidence
    in ``bins`` equal bins: Σ share·|accuracy − confidence|) and each class's recall; and the
    reliability table pooled over every model and worm (per bin: mean confidence, accuracy,
    frames). probs: (M, W, T, C); y: (W, T); test_mask: (M, W, T)."""
    edges = np.linspace(0, 1, bins + 1)
    rows, pooled = [], []
    for m in range(probs.shape[0]):
        for w in torch.nonzero(test_mask[m].any(1)).ravel().tolist():
            keep = test_mask[m, w] & (y[w] >= 0)
            p, truth = probs[m, w][keep].double().numpy(), y[w][keep].numpy()   # (n, C), (n,)
            confidence, guess = p.max(1), p.argmax(1)
            where = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)     # (n,) bin of each frame
            ece = sum(abs((guess[where == b] == truth[where == b]).mean() - confidence[where == b].mean())
                      * (where == b).mean() for b in range(bins) if (where == b).any())
            rows.append(dict(model_index=m, test_index=w, n_test_frames=len(truth),
                             log_loss=float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, 1)).mean()),
                             brier=float(((p - np.eye(p.shape[1])[truth]) ** 2).sum(1).mean()), ece=float(ece),
                             **{f"recall_{c}": float((guess[truth == i] == i).mean()) if (truth == i).any() else np.nan
                                for i, c in enumerate(classes)}))
            pooled.append(pd.DataFrame(dict(bin=where, confidence=confidence, correct=guess == truth)))
    frames = pd.concat(pooled, ignore_index=True)
    reliability = frames.groupby("bin").agg(confidence=("confidence", "mean"), accuracy=("correct", "mean"),
                                            frames=("correct", "size")).reset_index()
    return pd.DataFrame(rows), reliability


def contract_tables(scores: pd.DataFrame, models: dict[str, str] | None = None,
                    baseline: str = "logistic-regression") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chapter 5's two normalisation tables, from per-worm scores of ``<model>@<contract>``
    (column ``task``): (each model's mean under each contract and its paired difference from the
    per-worm contract; each network − ``baseline`` under each contract, like with like). Both on
    accuracy and balanced accuracy, 95 % intervals over test worms."""
    from .normalisation import BOOK_CONTRACT, CONTRACTS

    models = models or {"GNN": "gnn-inferred-static", "MLP": "mlp-concat"}
    metrics = ("accuracy", "balanced_accuracy")
    worth = []
    base = scores.model.str.split("@").str[0]
    for (task, name), rows in scores.groupby([scores.task, base], sort=False):
        for metric in metrics:
            row = dict(task=task, model=name, metric=metric.replace("_", " "))
            row |= {c: f"{rows.loc[rows.model == f'{name}@{c}', metric].mean():.3f}" for c in CONTRACTS}
            row |= {f"{c} − {BOOK_CONTRACT}": interval_text(paired_difference(
                        rows, f"{name}@{c}", f"{name}@{BOOK_CONTRACT}", metric=metric, across_contracts=True))
                    for c in CONTRACTS if c != BOOK_CONTRACT}
            worth.append(row)
    pairs = [dict(task=task, contract=c, metric=metric.replace("_", " "),
                  **{f"{label} − LR": interval_text(paired_difference(rows, f"{m}@{c}", f"{baseline}@{c}", metric=metric))
                     for label, m in models.items()})
             for task, rows in scores.groupby("task") for c in CONTRACTS for metric in metrics]
    return pd.DataFrame(worth), pd.DataFrame(pairs)


def contract_summary(scores: pd.DataFrame, model: str = "gnn-inferred-static",
                     baseline: str = "logistic-regression", metric: str = "accuracy") -> str:
    """Chapter 5's normalisation finding in words, from per-worm scores of ``<model>@<contract>``
    (``experiments.contract_comparison``; column ``task``): per task, the verdict of ``model`` −
    ``baseline`` under each contract, and whether it is the same under all of them."""
    from .normalisation import CONTRACTS

    def words(d: dict) -> str:
        if d["verdict"] == "not detectable":
            return "not detectable"
        return "the network ahead" if d["verdict"].startswith(model) else "the linear model ahead"

    parts = []
    for task, rows in scores.groupby("task"):
        found = {c: paired_difference(rows, f"{model}@{c}", f"{baseline}@{c}", metric=metric) for c in CONTRACTS}
        verdicts = {c: words(d) for c, d in found.items()}
        if len(set(verdicts.values())) == 1:
            head = f"the same verdict under every contract ({next(iter(verdicts.values()))}"
        else:
            head = "the verdict moves with the contract (" + ", ".join(f"{c}: {v}" for c, v in verdicts.items())
        intervals = "; ".join(f"{c} {interval_text(d)}" for c, d in found.items())
        parts.append(f"{task.split('-')[0]} states, {head}; {intervals})")
    return f"the GNN − logistic regression difference in {metric.replace('_', ' ')}: " + "; and ".join(parts)


def classification_findings(c: pd.DataFrame) -> str:
    """Chapter 3's findings in two sentences, for its "In this chapter" box and its "What holds"
    (section pages of their own, so both compute it from the records ``c``): the unseen-worm
    accuracy of the GNN and of logistic regression on Table 1 and on Fig. 4B with 3 training
    worms (networks averaged over seeds), and the paired GNN − logistic regression and GNN − MLP
    accuracy differences there."""
    from .experiments import summarise
    from .results import metric_table

    gnn, mlp, lr = "gnn-inferred-static", "mlp-concat", "logistic-regression"
    t1 = summarise(metric_table(c, "table1-forward-reverse"), ["model", "protocol"]).set_index(["model", "protocol"])
    s4b = summarise(metric_table(c, "fig4b-four-states-unseen"), ["model", "n_train_worms"]).set_index(
        ["model", "n_train_worms"])
    k3 = c[(c.experiment == "fig4b-four-states-unseen") & (c.n_train_worms == 3)]
    gap = paired_comparisons({"4-state, train 3": k3}, [(gnn, lr), (gnn, mlp)], ("accuracy",)).set_index("b")
    return (f"On unseen worms the GNN reaches {t1.loc[(gnn, 'leave-worms-out'), 'mean']:.1%} on forward vs "
            f"reverse and {s4b.loc[(gnn, 3), 'mean']:.1%} on 4 states with 3 training worms (the paper: "
            f"87%); logistic regression reaches {t1.loc[(lr, 'leave-worms-out'), 'mean']:.1%} and "
            f"{s4b.loc[(lr, 3), 'mean']:.1%}. On 4 states, GNN − logistic regression accuracy is "
            f"{interval_text(gap.loc[lr])} and GNN − MLP {interval_text(gap.loc[mlp])} (paired over test "
            "worms, 95% interval); chapter 5 gives every claim its verdict.")

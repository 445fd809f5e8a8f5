"""The paper's claims against this book's evidence (chapter 5), computed from the results files
of chapters 3–5 — never typed. Each claim is a function of the records that returns the
evidence (text with the numbers) and a verdict by a rule stated in its docstring.

Verdicts: ``holds``, ``partly``, ``does not hold``, ``not testable here``. Comparisons between
models are paired per test worm (``wormlib.evaluate.paired_difference``, 95% t-interval): "A
better than B" means the interval of A − B excludes 0 in A's favour.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from .evaluate import paired_difference
from .results import metric_table

VERDICTS = ("holds", "partly", "does not hold", "not testable here")
GNN, MLP = "gnn-inferred-static", "mlp-concat"


def _fmt(d: dict) -> str:
    return f"{d['mean_difference']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def _share(n_yes: int, n: int) -> str:
    return "holds" if n_yes == n else "partly" if n_yes > 0 else "does not hold"


def claim_seen_accuracy(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if the best deep model's seen 7-state accuracy (paper's protocol) is within 2
    points of 92%; partly if within 10 points; else does not hold."""
    seen = metric_table(r["classification"], "fig4a-seven-states-seen")
    by_protocol = seen.groupby(["protocol", "model"]).accuracy.mean()
    acc, contiguous = by_protocol["shuffled-windows"], by_protocol["contiguous-blocks"]
    best = acc[[m for m in acc.index if m.startswith(("gnn", "mlp"))]].idxmax()
    gap = 0.92 - acc[best]
    verdict = "holds" if gap <= 0.02 else "partly" if gap <= 0.10 else "does not hold"
    return (f"best deep model {best}: {acc[best]:.3f} (logistic regression {acc['logistic-regression']:.3f}); "
            f"with contiguous folds {contiguous.get(best, float('nan')):.3f}", verdict)


def claim_gnn_generalises_better(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if the GNN beats both the MLP and the SVM on unseen worms (forward vs reverse, 4
    training worms); partly if it beats one of them; else does not hold."""
    acc = metric_table(r["classification"], "table1-forward-reverse")
    acc = acc[acc.population == "unseen"]
    diffs = {b: paired_difference(acc, GNN, b) for b in (MLP, "svm")}
    wins = sum(d["verdict"] == f"{GNN} better" for d in diffs.values())
    return ("GNN − MLP " + _fmt(diffs[MLP]) + "; GNN − SVM " + _fmt(diffs["svm"])
            + " (2 states, 4 training worms, 5 test worms)", _share(wins, 2))


def claim_connectome_worse(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if inferred-edge GNNs beat connectome GNNs on unseen worms in every comparison
    (2 states and 4 states, every number of training worms in Fig. 4B); partly if in some."""
    tests = []
    t1 = metric_table(r["classification"], "table1-forward-reverse")
    tests.append(("2 states, k=4", t1[t1.population == "unseen"]))
    f4 = metric_table(r["classification"], "fig4b-four-states-unseen")
    tests += [(f"4 states, k={k}", f4[f4.n_train_worms == k]) for k in sorted(f4.n_train_worms.unique())]
    diffs = [(label, paired_difference(s, GNN, "gnn-connectome")) for label, s in tests
             if {GNN, "gnn-connectome"} <= set(s.model)]
    wins = sum(d["verdict"] == f"{GNN} better" for _, d in diffs)
    return ("inferred − connectome: " + "; ".join(f"{label} {_fmt(d)}" for label, d in diffs), _share(wins, len(diffs)))


def claim_svm_seen_not_unseen(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if the SVM is at most 1 point below the GNN on seen worms and significantly worse
    on unseen worms (forward vs reverse); partly if only one of the two is true."""
    acc = metric_table(r["classification"], "table1-forward-reverse")
    seen = acc[acc.protocol == "shuffled-windows"].groupby("model").accuracy.mean()
    unseen = paired_difference(acc[acc.population == "unseen"], GNN, "svm")
    matches = seen["svm"] >= seen[GNN] - 0.01
    worse = unseen["verdict"] == f"{GNN} better"
    return (f"seen: SVM {seen['svm']:.3f} vs GNN {seen[GNN]:.3f}; unseen: GNN − SVM {_fmt(unseen)}",
            _share(int(matches) + int(worse), 2))


def claim_three_neurons(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if, for the GNN on unseen worms, 3 neurons lose at most 3 points of balanced
    accuracy against 15 in every task; partly if in some tasks."""
    d = r["discussion"]
    parts, ok = [], 0
    tasks = [t for t in ("2-state", "4-state", "7-state") if t in set(d.task)]
    for task in tasks:
        rows = d[(d.task == task) & (d.metric == "balanced-accuracy") & (d.model == GNN)
                 & d.experiment.isin(["subsets-15-neurons", "subsets-3-neurons"])]
        mean = rows.groupby("experiment").value.mean()
        loss = mean["subsets-15-neurons"] - mean["subsets-3-neurons"]
        ok += loss <= 0.03
        parts.append(f"{task}: 15 → {mean['subsets-15-neurons']:.3f}, 3 → {mean['subsets-3-neurons']:.3f}")
    return "GNN balanced accuracy, unseen worms, " + "; ".join(parts), _share(ok, len(tasks))


def claim_more_worms(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if more training worms raise the GNN's unseen 4-state accuracy (1 → 4 worms) and
    lower its 16-step trajectory MSE (1 → 4 worms); partly if one of the two."""
    f4 = metric_table(r["classification"], "fig4b-four-states-unseen")
    acc = f4[f4.model == GNN].groupby("n_train_worms").accuracy.mean()
    mse = metric_table(r["trajectories"], "fig5-mse", "mse")
    mse = mse[(mse.model == "gnn") & (mse.step == 16)].groupby("n_train_worms").mse.mean()
    k0, k1 = acc.index.min(), acc.index.max()
    better = int(acc[k1] > acc[k0]) + int(mse[4] < mse[1])
    return (f"4-state accuracy {acc[k0]:.3f} ({k0} worm) → {acc[k1]:.3f} ({k1} worms); "
            f"16-step MSE {mse[1]:.4f} (1 worm) → {mse[4]:.4f} (4 worms)", _share(better, 2))


def claim_gnn_trajectories(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Holds if the Markovian GNN (4 training worms) beats the MLP and both RNN variants at
    step 16 (paired); partly if it beats some; the comparison with the baselines is reported."""
    mse = metric_table(r["trajectories"], "fig5-mse", "mse")
    rows = mse[(mse.n_train_worms == 4) & (mse.step == 16)]
    rivals = ("mlp", "mlp-gru", "gnn-gru", "persistence", "linear")
    diffs = {b: paired_difference(rows, "gnn", b, metric="mse", higher_is_better=False) for b in rivals}
    wins = sum(diffs[b]["verdict"] == "gnn better" for b in rivals[:3])
    text = "16-step MSE difference GNN − " + "; ".join(f"{b} {diffs[b]['mean_difference']:+.4f} "
                                                       f"[{diffs[b]['ci_low']:+.4f}, {diffs[b]['ci_high']:+.4f}]"
                                                       for b in rivals)
    return text, _share(wins, 3)


def claim_separate_study(r: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """Nichols worms: not testable here (files absent) unless chapter 3 recorded them. The
    stand-in, Dag 2023: holds if the Kato-trained GNN's ROC AUC beats the circular-shift null
    (p < 0.05) in every recording at the pre-set lag; partly if in some."""
    d = r["discussion"]
    rows = d[(d.experiment == "kato-to-dag-lag-0s") & (d.model == GNN)]
    auc = rows[rows.metric == "roc-auc"].value
    p = rows[rows.metric == "p-value"].value
    bal = rows[rows.metric == "balanced-accuracy"].value
    nichols = r["classification"].experiment.eq("nichols-forward-reverse").any()
    text = (f"Dag 2023, GNN trained on Kato: ROC AUC {auc.mean():.3f} (range {auc.min():.3f}–{auc.max():.3f}), "
            f"balanced accuracy {bal.mean():.3f}; above the null in {(p < 0.05).sum()} of {len(p)} recordings. "
            + ("Nichols: see chapter 3." if nichols else "Nichols 2017 (paper: 70%): data absent here."))
    return text, _share(int((p < 0.05).sum()), len(p))


CLAIMS: list[tuple[str, str, Callable, str, tuple[str, ...]]] = [
    # (claim, the paper's number where its text states it, evidence function, where,
    #  the "chapter/experiment" results it needs)
    ("Deep models classify the behavioural state from one frame (7 states, seen worms)", "92%",
     claim_seen_accuracy, "03_classification.ipynb#fig-4a-seven-states-seen-population",
     ("classification/fig4a-seven-states-seen",)),
    ("The GNN generalises to unseen worms better than the MLP and the SVM",
     "GNN 87% (4 states, 3 worms) \"substantially exceeds\" the MLP; SVM \"significantly worse\" on unseen worms",
     claim_gnn_generalises_better, "03_classification.ipynb#does-the-gnn-generalise-better-paired-comparisons",
     ("classification/table1-forward-reverse",)),
    ("Connectome edges generalise worse than inferred edges", "\"generalized worse than when using inferred edges\" (no number)",
     claim_connectome_worse, "03_classification.ipynb#fig-4bc-four-states-on-unseen-worms-and-more-training-worms",
     ("classification/table1-forward-reverse", "classification/fig4b-four-states-unseen")),
    ("The SVM matches the deep models on seen worms but generalises worse",
     "\"matched\" on seen, \"significantly worse\" on unseen worms (no numbers)",
     claim_svm_seen_not_unseen, "03_classification.ipynb#table-1-forward-vs-reverse-crawling",
     ("classification/table1-forward-reverse",)),
    ("3 neurons do about as well as 15", "not stated in the available text (§4.3 names the 3 shared neurons)",
     claim_three_neurons, "05_discussion.ipynb#three-neurons-fifteen-or-one",
     ("discussion/subsets-15-neurons", "discussion/subsets-3-neurons")),
    ("More training worms improve generalisation (classification and trajectories)",
     "\"dataset enlargement also improved generalization\" (§5.2); 4 states, 3 worms: 87%",
     claim_more_worms, "04_trajectories.ipynb#fig-5a-error-against-prediction-step",
     ("classification/fig4b-four-states-unseen", "trajectories/fig5-mse")),
    ("The Markovian GNN predicts trajectories better than the MLPs and RNN variants",
     "\"outperformed all MLP models and their derived RNN variants\" (no numbers)", claim_gnn_trajectories, "04_trajectories.ipynb#paired-comparisons",
     ("trajectories/fig5-mse",)),
    ("Models generalise to a separate study", "Nichols worms, 4 states: 70% (MLP and GNN)",
     claim_separate_study, "05_discussion.ipynb#another-lab-dag-et-al-2023",
     ("discussion/kato-to-dag-lag-0s",)),
]


def build(records: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per claim: claim, paper, evidence, verdict, where (a link target). A claim whose
    results are missing gets ``not testable here``, naming them."""
    rows = []
    for claim, paper, evidence_of, where, needs in CLAIMS:
        missing = [n for n in needs if n.split("/")[0] not in records
                   or n.split("/")[1] not in set(records[n.split("/")[0]].experiment)]
        if missing:
            evidence, verdict = "no results for " + ", ".join(missing), "not testable here"
        else:
            evidence, verdict = evidence_of(records)
        assert verdict in VERDICTS, verdict
        rows.append(dict(claim=claim, paper=paper, evidence=evidence, verdict=verdict, where=where))
    return pd.DataFrame(rows)


def findings(r: dict[str, pd.DataFrame]) -> list[str]:
    """The closing section's points, each with its numbers from the results files."""
    c, t, d = r["classification"], r["trajectories"], r["discussion"]
    seen = metric_table(c, "fig4a-seven-states-seen")
    seen = seen.groupby(["protocol", "model"]).accuracy.mean()
    t1 = metric_table(c, "table1-forward-reverse")
    unseen = t1[t1.population == "unseen"].groupby("model").accuracy.mean()
    f4 = metric_table(c, "fig4b-four-states-unseen")
    k_max = int(f4.n_train_worms.max())
    f4 = f4[f4.n_train_worms == k_max].groupby("model").accuracy.mean()
    gnn_mlp = paired_difference(t1[t1.population == "unseen"], GNN, MLP)
    sim = d[d.experiment == "graph-similarity-pooled"].set_index("metric").value
    conn = d[(d.experiment == "graph-vs-connectome-pooled") & (d.metric == "roc-auc")].value
    mse = metric_table(t, "fig5-mse", "mse")
    mse = mse[(mse.n_train_worms == 4) & (mse.step == 16)]
    detected = [b for b in ("mlp", "mlp-gru", "gnn-gru", "persistence", "linear")
                if paired_difference(mse, "gnn", b, metric="mse", higher_is_better=False)["verdict"]
                != "no detectable difference"]
    mse = mse.groupby("model").mse.mean()
    dag = d[d.experiment.isin(["kato-to-dag-lag-0s", "within-dag-lag-0s"]) & (d.model == GNN)]
    dag = dag.groupby(["experiment", "metric"]).value.mean()
    return [
        f"**One frame is enough to classify, and a linear model nearly suffices on seen worms.** "
        f"Seven states, the paper's protocol: GNN {seen['shuffled-windows', GNN]:.3f}, logistic "
        f"regression {seen['shuffled-windows', 'logistic-regression']:.3f}; with contiguous folds, "
        f"which keep a test frame's neighbours out of training, {seen['contiguous-blocks', GNN]:.3f} "
        f"and {seen['contiguous-blocks', 'logistic-regression']:.3f}.",
        f"**On unseen worms the networks beat the linear model, but the GNN does not beat the MLP.** "
        f"Forward vs reverse: GNN {unseen[GNN]:.3f}, MLP {unseen[MLP]:.3f}, logistic regression "
        f"{unseen['logistic-regression']:.3f}; 4 states, {k_max} training worms: "
        f"GNN {f4[GNN]:.3f}, MLP {f4[MLP]:.3f}, logistic regression {f4['logistic-regression']:.3f}. "
        f"Paired GNN − MLP (2 states): {_fmt(gnn_mlp)}.",
        f"**The inferred graphs are individual, not anatomical.** Graphs the same pooled model infers "
        f"for one worm agree (Spearman {sim['within']:.2f}) more than graphs of different worms "
        f"({sim['across']:.2f}; neuron labels shuffled: {sim['shuffled-labels']:.2f}), but they do "
        f"not pick out the connectome's edges (ROC AUC {conn.mean():.2f} on average over worms, "
        f"chance 0.5).",
        f"**Trajectory prediction is hard to tell from persistence.** 16 steps ahead (≈ 5.5 s), trained "
        f"on 4 worms: GNN {mse['gnn']:.4f}, MLP {mse['mlp']:.4f}, persistence {mse['persistence']:.4f}, "
        f"linear {mse['linear']:.4f}; paired over the five test worms, the GNN's difference is "
        + (f"detectable only against {', '.join(detected)}." if detected else "detectable against none of them."),
        f"**Across labs, decoding survives.** Kato-trained GNN on freely moving Dag worms: ROC AUC "
        f"{dag['kato-to-dag-lag-0s', 'roc-auc']:.2f} (circular-shift null, 95th percentile "
        f"{dag['kato-to-dag-lag-0s', 'null-auc-95']:.2f}); trained within Dag: "
        f"{dag['within-dag-lag-0s', 'roc-auc']:.2f}.",
    ]


def to_markdown(card: pd.DataFrame) -> str:
    """The scorecard as a Markdown table, the claim linking to its evidence (a chapter and the
    anchor of its section heading, ``myst_heading_anchors`` in ``_config.yml``)."""
    lines = ["| # | claim | paper | this book | verdict |", "|---|---|---|---|---|"]
    for i, row in enumerate(card.itertuples(), 1):
        lines.append(f"| {i} | [{row.claim}]({row.where}) | {row.paper} | {row.evidence} | **{row.verdict}** |")
    return "\n".join(lines)

# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.18.1
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Discussion: what holds
#
# Chapters 1–4 reproduced the paper's figures. This chapter adds the experiments its claims
# need and the paper could not run — fewer neurons, the inferred graphs as biology, and a test
# on worms from another lab — and ends with a scorecard: every claim of the paper next to the
# evidence of this book, generated from the results files of chapters 3–5.
#
# ```{admonition} In this chapter
# :class: important
# **Asked:** which of the paper's claims hold on the real recordings, under one verdict rule,
# one normalisation for every model, and labels not decoded from the neurons that define them?
# **Found:** {glue:text}`headline`
# ```


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 05_discussion` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`), the seven Dag et al. (2023) worms (`dag2023/`), and the results of chapters 3 and 4 —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import json

import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from wormlib import (
    connectome,
    crosslab,
    evaluate,
    experiments,
    forecast,
    graphs,
    jobs,
    plotting,
    preprocess,
    provenance,
    scorecard,
    variability,
)
from wormlib.data import load_dag2023, load_kato2015
from wormlib.preprocess import NICHOLS_SHARED, PAPER_NEURONS, shared_neurons
from wormlib.results import (
    Results,
    load_results,
    moved_since,
    results_path,
    scores_from_records,
)
from wormlib.train import TaskData

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("05_discussion", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
train_cfg = cfg.train_config()
results = Results("discussion", cfg.profile)

# %% tags=["nbval-check-output"]
worms = load_kato2015()
dag = load_dag2023()
kato_shared = shared_neurons(worms)
print(
    f"Kato: {len(worms)} worms; {len(kato_shared)} of the paper's 15 neurons "
    f"in all of them; {min(r.fps for r in worms):.2f}–{max(r.fps for r in worms):.2f} Hz"
)
print(
    f"Dag 2023: {len(dag)} recordings, {[r.n_frames for r in dag]} frames "
    f"at {dag[0].fps:.3f} Hz"
)

# %% [markdown]
# ## Three neurons, fifteen, or one
#
# The paper's Nichols evaluation rests on only 3 neurons — AIBR, AVAL and VB02, the ones the
# Nichols worms share with Kato's (Section 4.3) — so its results imply that 3 neurons do about
# as well as 15 (numbers for that comparison are not stated in the available text). Brennan &
# Proekt (2019) {cite}`brennan2019` asked the extreme version: how much does one well-chosen
# neuron carry?
# Unseen worms, 4 training worms, every subset; balanced accuracy, because the 4- and 7-state
# tasks are dominated by forward crawling. The single neuron is chosen per split by its
# logistic-regression fit on the *training* worms, never on the test worm. The networks are
# averaged over {glue:text}`sets_seeds` seed replicates on both sides: with 15 neurons they are
# chapter 3's seeded runs (same models and splits), read from its results rather than trained
# again; with 3 they are trained here in as many seeds.

# %%
sets = {"15": PAPER_NEURONS, "3": NICHOLS_SHARED}
set_models = ("logistic-regression", "mlp-concat", "gnn-inferred-static")
chapter3 = load_results("classification", cfg.profile)
# chapter 3's runs with 4 training worms: (the baseline's, the networks' seed replicates)
same_runs = {
    "2-state": ("table1-forward-reverse", "robustness-centred-derivative"),
    "4-state": ("fig4b-four-states-unseen", "fig4b-four-states-unseen-seeds"),
    "7-state": ("robustness-centred-derivative", "robustness-centred-derivative"),
}
by_set, every_single, best_of = {}, {}, {}
for task, (once, seeded) in same_runs.items():
    fifteen = pd.concat([
        scores_from_records(chapter3, once, set_models[:1], 4, task),
        scores_from_records(chapter3, seeded, set_models[1:], 4, task),
    ])
    by_set[task] = experiments.neuron_sets(
        worms,
        task,
        sets,
        set_models,
        4,
        cfg.max_subsets,
        cfg.hidden,
        train_cfg,
        reuse={"15": fifteen},
        n_seeds=cfg.n_seeds,
        networks=set_models[1:],
    )
    every_single[task], best_of[task] = experiments.best_single_neuron(
        worms, task, kato_shared, 4, cfg.max_subsets, cfg.seed
    )
subset_scores = pd.concat(scores.assign(task=task) for task, scores in by_set.items())
best_single = pd.concat(
    best.assign(task=task, neurons="1 (chosen on training worms)")
    for task, best in best_of.items()
)

# %% tags=["remove-cell"]
for task in by_set:
    for label, rows in by_set[task].groupby("neurons"):
        results.add_scores(rows, f"subsets-{label}-neurons", task)
    results.add_scores(
        best_of[task].assign(model="logistic-regression"),
        "subsets-best-single-neuron",
        task,
    )
    for neuron, rows in every_single[task].groupby("neuron"):
        results.add_scores(rows, f"single-neuron-{neuron.lower()}", task)
results.save()
glue("sets_seeds", str(cfg.n_seeds), display=False)

# %% tags=["hide-input"]
summary = experiments.summarise(
    pd.concat([subset_scores, best_single]),
    ["task", "neurons", "model"],
    metric="balanced_accuracy",
)
fig = plotting.neuron_set_bars(summary)

# %% tags=["remove-input"]
table = summary.pivot(index=["model", "neurons"], columns="task", values="mean").round(
    3
)
chosen = best_single.groupby("task").neuron.agg(
    lambda s: ", ".join(f"{n} ×{c}" for n, c in s.value_counts().items())
)
plotting.figure(
    fig,
    "fig-neuron-sets",
    alt="Bar chart of balanced accuracy on unseen worms with 15 neurons, 3 neurons and the best single neuron, per task and model.",
    text="Balanced accuracy on unseen worms (4 training worms; mean ± sd across test "
    "worms) with the 15 paper neurons, the 3 Nichols-shared neurons, and one neuron chosen on "
    "the training worms (logistic regression). The paper's 3-vs-15 numbers are not stated in "
    "the available text. Single neurons chosen, "
    "per task: " + "; ".join(f"{t}: {c}" for t, c in chosen.items()) + ".",
)
plotting.numbered_table(
    plotting.table(table),
    "tbl-neuron-sets",
    "The numbers of {numref}`fig-neuron-sets`: balanced accuracy on unseen worms, mean over "
    "test worms, per model, neuron set and task.",
)

# %% [markdown]
# ## Without the neurons that define the labels
#
# Kato's worms are immobilised: their behavioural states are {term}`fictive <Fictive state>`, assigned from the
# neural recording itself. In the Zimmer lab's public code the reversal and turn states are read
# off one neuron, AVAL: its rise and high phases are "reversal", its fall "turn", the rest
# "forward" (Nichols et al.'s `getFourStates.m`, in the repository `Zimmer-lab/Nichols2017`).
# Kato et al.'s finer split (reversal 1 and 2, sustained reversal, ventral and dorsal turn,
# slowing) was made in their own pipeline, whose code is not available here: which other
# neurons it reads is not stated in the sources available to this book. A decoder that reads
# AVA may therefore recover the labelling rule rather than behaviour. How much of the decoding
# survives without AVA, and without every neuron whose trace tracks AVAL's?
#
# The stand-ins are chosen from the traces alone, never from the labels: every neuron whose
# correlation with AVAL exceeds 0.5 in size, with either sign, in every worm that has it
# (`wormlib.variability.tracking`). Each set is decoded on unseen worms (every subset of 4
# training worms; the networks averaged over seed replicates, as in chapter 3's seed sections).

# %% tags=["hide-input"]
aval_r = variability.locked_to(worms, "AVAL", PAPER_NEURONS)
stand_ins = variability.tracking(aval_r)
ablation_sets = {
    "all 15": PAPER_NEURONS,
    "without AVA": tuple(n for n in PAPER_NEURONS if n not in ("AVAL", "AVAR")),
    "without AVA's stand-ins": tuple(n for n in PAPER_NEURONS if n not in stand_ins),
}
print("tracking AVAL in every worm:", ", ".join(n for n in stand_ins if n != "AVAL"))
print("left without them:", ", ".join(ablation_sets["without AVA's stand-ins"]))
ablation = experiments.neuron_ablation(
    worms,
    ("2-state", "4-state", "7-state"),
    ablation_sets,
    set_models,
    ("mlp-concat", "gnn-inferred-static"),
    4,
    cfg.max_subsets,
    cfg.n_seeds,
    cfg.hidden,
    train_cfg,
    jobs.worker_count(cfg.device),
)

# %% tags=["remove-cell"]
for (task, label), rows in ablation.groupby(["task", "neurons"]):
    results.add_scores(rows, f"label-neurons-{label.replace(' ', '-').replace(chr(39), '')}", task)
results.save()

# %% tags=["remove-input", "full-width"]
ablation_table = evaluate.ablation_table(ablation, "all 15", preprocess.CLASSES)
plotting.numbered_table(
    plotting.table(ablation_table, headers={"loss": "lost vs all 15", "ci": "95% CI"}),
    "tbl-label-neurons",
    "Balanced accuracy on unseen worms (4 training worms; networks averaged over seeds) with all 15 "
    "neurons, without AVA, and without every neuron that tracks AVAL in every worm; lost vs all 15: "
    "the paired loss per test worm with its 95% interval; chance is 1 over the number of states. "
    "Stand-ins of AVAL: " + ", ".join(n for n in stand_ins if n != "AVAL") + ".",
)

# %% tags=["remove-input"]
display(Markdown(evaluate.ablation_summary(ablation_table, "gnn-inferred-static", "all 15")))

# %% [markdown]
# Per worm, the correlation of each paper neuron's trace with AVAL's (the stand-ins are the rows
# above 0.5 in size in every worm):

# %% tags=["remove-input"]
plotting.numbered_table(
    plotting.table(aval_r, digits=2, labels=()),
    "tbl-aval-correlation",
    "Pearson r of each neuron's ΔF/F₀ with AVAL's, per Kato worm (— where the worm lacks the neuron).",
)

# %% [markdown]
# ## Normalisation: what each contract is worth
#
# Every model of the book runs under one normalisation contract, per worm (chapter 2): each
# worm is standardised by its own statistics over its whole recording, the test worm's
# included, so a test frame's scale depends on frames after it. How much is that worth, and
# does any comparison of models depend on it? Here logistic regression, the MLP and the GNN run
# under all three contracts: per worm; causal per worm (every statistic, and the derivative,
# from frames ≤ t only; the static GNN's graph too); and training worms (the standardisation's
# statistics from the training worms' frames, the networks' batch norm frozen at them after
# training: a test frame is decoded alone). Each network is trained once for the per-worm and
# training-worm contracts (only its prediction differs) and once on the past-only features;
# unseen worms, the paper's settings (2 states with 4 training worms, 4 with 3), the networks
# over {glue:text}`norm_seeds` seeds.

# %%
contracts = experiments.contract_comparison(
    worms,
    (("2-state", 4), ("4-state", 3)),
    set_models,
    ("mlp-concat", "gnn-inferred-static"),
    cfg.n_seeds,
    cfg.max_subsets,
    cfg.hidden,
    train_cfg,
    jobs.worker_count(cfg.device),
)

# %% tags=["remove-cell"]
for task, rows in contracts.groupby("task"):
    results.add_scores(rows, "normalisation", task)
results.save()
glue("norm_seeds", str(cfg.n_seeds), display=False)

# %% tags=["remove-input", "full-width"]
per_worm_scores = contracts.groupby(["task", "model", "test"]).mean(numeric_only=True).reset_index()
worth, like_with_like = evaluate.contract_tables(per_worm_scores)
plotting.numbered_table(
    plotting.table(worth),
    "tbl-normalisation",
    "What each normalisation contract is worth: each model's mean over unseen test worms under "
    "each contract, and the paired difference from the per-worm contract (95% interval over "
    "test worms; networks averaged over seeds).",
)
plotting.numbered_table(
    plotting.table(like_with_like),
    "tbl-normalisation-models",
    "The networks against logistic regression under each contract, the same on both sides: "
    "paired difference over unseen test worms (95% interval).",
)

# %% [markdown]
# Read {numref}`tbl-normalisation` for the cost of each contract and
# {numref}`tbl-normalisation-models` for whether a network's lead over the linear model
# depends on it: {glue:text}`norm_summary`.

# %% tags=["remove-cell"]
glue("norm_summary", evaluate.contract_summary(per_worm_scores), display=False)

# %% [markdown]
# ## Can the probabilities be trusted?
#
# Accuracy counts only the most probable state. A decoder that others would build on must also
# say how sure it is, and be right as often as it says. On unseen worms (4 states with 3
# training worms, as in Fig. 4B; 7 states with 4), each model's probabilities are scored by the
# log-loss and the Brier score (lower is better; both punish confident errors), and by the
# expected calibration error (ECE: the gap between confidence and accuracy, averaged over
# confidence bins; 0 for a calibrated model). The networks are averaged over their seed
# replicates. The same runs give each state's recall in each test worm.

# %%
per_worm, reliability = experiments.calibration_study(
    worms,
    (("4-state", 3), ("7-state", 4)),
    set_models,
    ("mlp-concat", "gnn-inferred-static"),
    cfg.n_seeds,
    cfg.max_subsets,
    cfg.hidden,
    train_cfg,
    jobs.worker_count(cfg.device),
)
fig = plotting.reliability(reliability)

# %% tags=["remove-cell"]
by_worm = per_worm.groupby(["task", "model", "test"]).mean(numeric_only=True).reset_index()
for metric in ("log_loss", "brier", "ece"):
    results.add_frame(by_worm, "calibration", metric.replace("_", "-"), metric,
                      protocol="leave-worms-out", population="unseen")
results.save()

# %% tags=["remove-input"]
calibration_table = by_worm.groupby(["task", "model"])[["log_loss", "brier", "ece"]].mean()
plotting.figure(
    fig,
    "fig-reliability",
    alt="Reliability diagram: accuracy against confidence per bin for logistic regression, the MLP and the GNN, 4 and 7 states, unseen worms.",
    text="Reliability on unseen worms: in each confidence bin, the share of frames the model got "
    "right against its mean confidence (marker area: frames in the bin); on the dashed diagonal "
    "a model is right as often as it is sure. Pooled over test worms, training subsets and seeds. "
    "ECE, 4 states: " + ", ".join(f"{m} {v:.3f}" for m, v in calibration_table.loc["4-state", "ece"].items()) + ".",
)
plotting.numbered_table(
    plotting.table(calibration_table, headers={"log_loss": "log-loss", "brier": "Brier", "ece": "ECE"}),
    "tbl-calibration",
    "Calibration on unseen worms, mean over test worms (each first averaged over training subsets "
    "and seeds): log-loss, Brier score and expected calibration error, lower is better.",
)
recall = by_worm[(by_worm.task == "7-state") & (by_worm.model == "gnn-inferred-static")]
plotting.numbered_table(
    plotting.table(
        recall.set_index("test")[[f"recall_{c}" for c in preprocess.CLASSES["7-state"]]].rename(
            columns=lambda c: c.removeprefix("recall_")
        ),
        digits=2,
    ),
    "tbl-recall-7",
    "The GNN's recall of each of the 7 states in each test worm (4 training worms; mean over "
    "training subsets and seeds): the share of a state's frames it labels correctly. — where "
    "the worm has no frame of that state.",
)

# %% [markdown]
# ## Inferred graphs: individual, and anatomical?
#
# The static GNN infers one graph per worm (chapter 2). Two questions the paper raises but does
# not test: are the graphs a property of the *worm* — alike across independently trained
# models of the same worm, different across worms — and do they resemble the anatomical
# connectome (White et al. 1986) {cite}`white1986`? Models classify 7 states from the 14 neurons shared by all
# Kato worms; each is trained on one worm, several times from different initialisations
# (`own-worm`), or on all five worms, then asked for every worm's graph (`pooled`).

# %%
data7 = TaskData.build(worms, "7-state", kato_shared)
replicates = 4 if cfg.profile == "full" else 2
graph_sets = {
    name: graphs.replicate_graphs(data7, replicates, pooled, cfg.hidden, train_cfg)
    for name, pooled in (("own-worm", False), ("pooled", True))
}
rng = np.random.default_rng(cfg.seed)
individuality = {
    name: graphs.individuality(adj, worm_of, rng)
    for name, (adj, worm_of, _) in graph_sets.items()
}
fig = plotting.similarity_panels(
    [
        (f"{name} models", *graphs.similarity_by_worm(adj, worm_of, rep, data7.worms))
        for name, (adj, worm_of, rep) in graph_sets.items()
    ]
)

# %% tags=["remove-cell"]
for name, stats in individuality.items():
    results.add_metrics(
        f"graph-similarity-{name}", stats, task="7-state", model="gnn-inferred-static"
    )
individuality_table = pd.DataFrame(individuality).T.rename_axis("models")

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-graph-similarity",
    alt="Matrices of Spearman similarity between the inferred graphs of the five worms, for own-worm and pooled models.",
    text="Similarity between inferred graphs (w: the worm whose frames the graph is "
    "inferred from; r: the replicate model), for models trained on that worm alone (left) and "
    "on all five worms (right); {numref}`tbl-individuality` (below) gives the numbers. "
    'The paper argues that "the inferred/functional connectivity is unique '
    'to individuals" (Section 5.1) but reports no test. Here: '
    + "; ".join(
        f"{m}: within {r.within:.2f} vs across {r.across:.2f} ({evaluate.p_text(r.p_value)})"
        for m, r in individuality_table.iterrows()
    )
    + ".",
)
plotting.numbered_table(
    plotting.table(individuality_table),
    "tbl-individuality",
    "Mean Spearman similarity of the off-diagonal edge weights between graphs of the same worm "
    "(different replicates) and of different worms, the permutation p-value of the difference "
    "(worm labels shuffled), and the similarity after shuffling neuron labels (the chance level).",
)

# %% tags=["hide-input"]
white = connectome.adjacency(kato_shared)
agreement = pd.DataFrame(  # each worm's graph, averaged over its replicates
    dict(
        models=name,
        worm=data7.worms[w],
        **graphs.connectome_agreement(adj[worm_of == w].mean(0), white, seed=cfg.seed),
    )
    for name, (adj, worm_of, _) in graph_sets.items()
    for w in np.unique(worm_of)
)
fig = plotting.connectome_agreement(agreement)

# %% tags=["remove-cell"]
for row in agreement.to_dict("records"):
    name, worm = row.pop("models"), row.pop("worm")
    results.add_metrics(
        f"graph-vs-connectome-{name}",
        row,
        task="7-state",
        model="gnn-inferred-static",
        test=worm,
    )

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-connectome-agreement",
    alt="Per worm, the ROC AUC of the inferred graph for connectome edges, beside the band of a label-shuffle null.",
    text="Agreement of each worm's inferred graph (mean over replicates) with the White "
    "1986 connectome on the same 14 neurons (chemical synapses and gap junctions, "
    f"{agreement.edge_fraction.iloc[0]:.0%} of neuron pairs connected): Spearman correlation of "
    "the weights, ROC AUC of the inferred weight for telling connected pairs from unconnected "
    "ones (dots; grey: the central 95% of the null), and p-values against 2000 shufflings of "
    "the connectome's neuron labels. The paper states no such comparison. Mean ROC AUC: "
    + ", ".join(
        f"{m} {g.roc_auc.mean():.2f} (p < 0.05 in {(g.p_roc_auc < 0.05).sum()} of {len(g)} worms)"
        for m, g in agreement.groupby("models")
    )
    + ". {numref}`tbl-connectome-agreement` (below) gives the numbers.",
)
plotting.numbered_table(
    plotting.table(
        agreement.drop(columns=["null_roc_auc_low", "null_roc_auc_high"]),
        p_columns=("p_roc_auc", "p_spearman"),
        headers={
            "roc_auc": "ROC AUC",
            "p_roc_auc": "p (ROC AUC)",
            "p_spearman": "p (Spearman)",
        },
    ),
    "tbl-connectome-agreement",
    "Agreement of each worm's inferred graph with the White 1986 connectome, per model set and "
    "worm: Spearman correlation of the weights and ROC AUC for connected pairs, with their "
    "p-values against shuffled connectome labels, and the fraction of connected pairs.",
)

# %% [markdown]
# ## Another lab: Dag et al. (2023)
#
# The paper's strongest claim is generalisation to "a separate study". Its Nichols worms are not
# available here; the Dag et al. (2023) worms {cite}`dag2023` are: another lab, another microscope, freely
# moving on food rather than immobilised, NeuroPAL identities, 1.67 frames per second instead
# of about 2.9 (both printed at the top of this chapter). The
# forward-vs-reverse decoders are trained on the five Kato worms, on the neurons identified in
# every Kato and every Dag recording, and tested on each Dag recording. The lag of activity
# behind behaviour was fixed before the test: none (primary), and 3 s (the middle of the 2–6 s
# GCaMP delay, as a sensitivity check). The null is the same decoder scored against labels
# circularly shifted in time (same autocorrelation, no alignment). The ceiling: decoders trained
# on the other six Dag recordings.
#
# Beside them run chapter 3's time-context decoders (its lagged logistic regression and windowed
# MLP and GNN: each neuron's features at six past frames, ≈ 0–5 s back). They read the same
# seconds of the past in both labs, not the same frames: at the Dag rate the lags become
# {glue:text}`dag_window_lags` frames (`crosslab.window_lags`, fixed before the test), so a decoder
# trained on Kato windows meets Dag windows of the same span. TAVRNN does not run here
# (chapter 3 says why).

# %% tags=["hide-input"]
dag_neurons = shared_neurons(worms + dag)
print("neurons in every Kato and Dag recording:", ", ".join(dag_neurons))
decoders = ("logistic-regression", "mlp-concat", "gnn-inferred-static")
windowed = tuple(crosslab.WINDOWED)  # the same three, on a window of the past
kato_fps = float(np.mean([r.fps for r in worms]))
transfer = pd.concat(
    [
        crosslab.kato_to_dag(worms, dag, decoders + windowed, cfg.hidden, train_cfg),
        crosslab.leave_one_recording_out(
            dag,
            dag_neurons,
            decoders + windowed,
            cfg.hidden,
            train_cfg,
            kato_fps=kato_fps,
            label="other-dag-recordings",
        ),
    ]
)
fig = plotting.crosslab_auc(transfer[transfer.model.isin(decoders)])

# %% tags=["remove-cell"]
for (train, lag), rows in transfer.groupby(["train", "lag_s"]):
    results.add_recordings(
        rows,
        f"{'kato-to-dag' if train == 'kato2015' else 'within-dag'}-lag-{lag:g}s",
        ("balanced_accuracy", "roc_auc", "null_auc_mean", "null_auc_95", "p_value"),
    )
results.save()

# %% tags=["remove-input"]
TRAINED_ON = {
    "kato2015": "Kato worms",
    "other-dag-recordings": "other Dag",
}  # table labels
by = transfer.groupby(["train", "lag_s", "model"])
dag_table = by.agg(
    balanced_accuracy=("balanced_accuracy", "mean"),
    roc_auc=("roc_auc", "mean"),
    null_auc_95=("null_auc_95", "mean"),
    recordings_above_null=("p_value", lambda p: f"{(p < 0.05).sum()}/{len(p)}"),
).round(3)
primary = dag_table.loc[("kato2015", crosslab.LAG_S)]
ceiling = dag_table.loc[("other-dag-recordings", crosslab.LAG_S)]
plotting.figure(
    fig,
    "fig-crosslab",
    alt="ROC AUC per Dag recording for the GNN, the MLP and logistic regression, trained on Kato or on the other Dag recordings, with the null's 95th percentile.",
    text="ROC AUC of forward-vs-reverse decoding on each Dag 2023 recording (dots), "
    "trained on the Kato worms (left) or on the other Dag recordings (right, the ceiling), at "
    "the pre-set lags; grey: 95th percentile of the circular-shift null per recording; "
    "{numref}`tbl-crosslab` (below): means over recordings. The paper reports 70% on the Nichols worms (4 states; "
    "not testable here). Kato-trained GNN at lag 0: ROC AUC "
    f"{primary.loc['gnn-inferred-static', 'roc_auc']:.2f}, balanced accuracy "
    f"{primary.loc['gnn-inferred-static', 'balanced_accuracy']:.2f}, above the null in "
    f"{primary.loc['gnn-inferred-static', 'recordings_above_null']} recordings; logistic regression "
    f"{primary.loc['logistic-regression', 'roc_auc']:.2f}; the within-Dag ceiling (GNN) "
    f"{ceiling.loc['gnn-inferred-static', 'roc_auc']:.2f}.",
)

# %% tags=["remove-input", "full-width"]
plotting.numbered_table(
    plotting.table(
        dag_table.rename(index=TRAINED_ON),
        p_columns=(),
        headers={
            "train": "trained on",
            "lag_s": "lag (s)",
            "roc_auc": "ROC AUC",
            "null_auc_95": "null AUC, 95th pct",
        },
    ),
    "tbl-crosslab",
    "Forward-vs-reverse decoding of the Dag 2023 recordings, means over recordings: per "
    "training set, lag and model, balanced accuracy, ROC AUC, the null's 95th percentile, and "
    "the recordings above their null (the time-context decoders: logistic-regression-lagged "
    "and the `-window` networks).",
)

# %% [markdown]
# Does a window of the past help across labs? Per Dag recording, each time-context decoder
# against its single-frame counterpart, at both pre-set lags of activity behind behaviour:

# %% tags=["hide-input"]
window_vs_frame = pd.DataFrame(
    dict(
        train=train,
        lag_s=lag,
        metric=label,
        **evaluate.paired_difference(
            transfer[(transfer.train == train) & (transfer.lag_s == lag)],
            a,
            b,
            metric=metric,
        ),
    )
    for train in ("kato2015", "other-dag-recordings")
    for lag in (crosslab.LAG_S, crosslab.SENSITIVITY_LAG_S)
    for metric, label in (
        ("roc_auc", "ROC AUC"),
        ("balanced_accuracy", "balanced accuracy"),
    )
    for a, b in crosslab.WINDOWED.items()
)

# %% tags=["remove-input", "full-width"]
glue(
    "dag_window_lags",
    ", ".join(str(v) for v in crosslab.window_lags([dag[0].fps], kato_fps)[0].tolist()),
    display=False,
)
gnn_pairs = window_vs_frame[
    (window_vs_frame.a == "gnn-inferred-static-window")
    & (window_vs_frame.metric == "ROC AUC")
].set_index(["train", "lag_s"])
looks_back = gnn_pairs.loc[("other-dag-recordings", crosslab.SENSITIVITY_LAG_S)]
plotting.numbered_table(
    plotting.paired_metrics_table(
        # one short cell per comparison, so that every row fits one line
        window_vs_frame.assign(
            train=window_vs_frame.train.map(TRAINED_ON),
            decoder=window_vs_frame.b.map(plotting.MODEL_NAMES),
        ),
        ["train", "lag_s", "decoder"],
        headers={
            "train": "trained on",
            "lag_s": "lag (s)",
            "difference": "window − frame [95% CI]",
        },
    ),
    "tbl-crosslab-window",
    "Time-context − single-frame decoder on the Dag 2023 recordings (window − frame: the "
    "lagged logistic regression or the windowed MLP or GNN minus its single-frame "
    "counterpart), paired by recording "
    f"({len(dag)} recordings; 95% t-interval, bold where it excludes 0, uncorrected), trained on "
    "the Kato worms or on the "
    "other Dag recordings, at each pre-set lag. Windowed − single-frame GNN, ROC AUC: trained "
    f"on Kato, lag 0: {evaluate.interval_text(gnn_pairs.loc[('kato2015', crosslab.LAG_S)])}; "
    "trained within Dag, lag "
    f"{crosslab.SENSITIVITY_LAG_S:g} s: "
    f"{evaluate.interval_text(looks_back)}."
    + (
        " With the labels lagged, the label at frame t is the behaviour some seconds earlier, "
        "which a window of past frames still sees and a single frame does not."
        if looks_back.ci_low > 0
        else ""
    ),
)

# %% [markdown]
# Does the GNN transfer better than the MLP? One trained network per decoder says little, so
# both are trained on the Kato worms again in {glue:text}`dag_seeds` independently initialised
# replicates and compared per Dag recording (scores averaged over the replicates first), at the
# primary lag.

# %%
dag_seeded = crosslab.kato_to_dag_seeds(
    worms, dag, ("mlp-concat", "gnn-inferred-static"), cfg.hidden, train_cfg, cfg.n_seeds
)

# %% tags=["remove-cell"]
seed_means = dag_seeded.groupby(["model", "test"]).mean(numeric_only=True).reset_index()
results.add_recordings(
    seed_means.assign(train="kato2015"),
    "kato-to-dag-seeds-lag-0s",
    ("balanced_accuracy", "roc_auc"),
)
results.save()
glue("dag_seeds", str(cfg.n_seeds), display=False)

# %% tags=["remove-input"]
plotting.numbered_table(
    plotting.paired_metrics_table(
        pd.DataFrame(
            dict(comparison="GNN − MLP", metric=label, **evaluate.paired_difference(
                dag_seeded, "gnn-inferred-static", "mlp-concat", metric=metric))
            for metric, label in (("roc_auc", "ROC AUC"), ("balanced_accuracy", "balanced accuracy"))
        ),
        ["comparison"],
    ),
    "tbl-crosslab-seeds",
    f"GNN − MLP on the {len(dag)} Dag recordings, trained on the Kato worms, each network "
    f"averaged over {cfg.n_seeds} seeds, paired by recording (95% t-interval), lag 0.",
)

# %% [markdown]
# ## Next motor command
#
# Brennan & Proekt's second result is that their manifold "enabled the prediction of motor action
# states up to 30s ahead" (the paper's Section 2.2). None of the book's other tests asks for the
# future. Here, leave-one-worm-out on the Kato worms: at each frame of forward crawling, from
# the activity up to that frame (the past-only derivative), how likely is a reversal to start
# within the next h seconds, for h = 3 … 30 s? Every model is trained on its four training worms
# to classify the time to the next reversal onset into 3-s bins (or "none within 30 s"); its
# score for h is the probability of the bins up to h (`wormlib.forecast`). Frames at the end of
# a recording with no onset in view are left out. ADMM uses its figure embedding (three delays of
# 3 frames), fixed before any forecast was run; networks are averaged over seed replicates. The
# null is each model's own score series circularly shifted against the onsets (≥ 100 frames).

# %%
forecasts = forecast.run(
    worms,
    ("logistic-regression", "admm", "mlp-concat", "gnn-inferred-static"),
    cfg.hidden,
    train_cfg,
    n_seeds=cfg.n_seeds,
    max_subsets=cfg.max_subsets,
)
fig = plotting.forecast_auc(forecasts)

# %% tags=["remove-cell"]
for row in forecasts.itertuples():
    for column, metric in (
        ("auc", "roc-auc"),
        ("null_mean", "null-auc-mean"),
        ("null_q95", "null-auc-95"),
        ("p", "p-value"),
    ):
        results.add(
            "forecast-reversal-onset",
            metric,
            getattr(row, column),
            task="2-state",
            model=row.model,
            protocol="leave-worms-out",
            population="unseen",
            train=row.train,
            test=row.test,
            step=row.horizon_s,
        )
results.save()

# %% tags=["remove-input"]
at = forecasts.groupby(["model", "horizon_s"])
auc_h = at.auc.mean()
above = at.p.apply(lambda p: f"{(p < 0.05).sum()}/{len(p)}")
first_h, last_h = forecast.HORIZONS_S[0], forecast.HORIZONS_S[-1]
plotting.figure(
    fig,
    "fig-forecast",
    alt="ROC AUC against forecast horizon from 3 to 30 seconds for ADMM, logistic regression, the MLP and the GNN, above a grey band for the circular-shift null.",
    text="ROC AUC of predicting that a reversal starts within h seconds, on unseen Kato worms "
    "(leave-one-worm-out; mean ± sd over the five test worms). Grey: the circular-shift null. "
    f"At {first_h} s: ADMM {auc_h['admm', first_h]:.2f}, logistic regression "
    f"{auc_h['logistic-regression', first_h]:.2f}, MLP {auc_h['mlp-concat', first_h]:.2f}, GNN "
    f"{auc_h['gnn-inferred-static', first_h]:.2f}; at {last_h} s: ADMM {auc_h['admm', last_h]:.2f} "
    f"(above its null, p < 0.05, in {above['admm', last_h]} worms), logistic regression "
    f"{auc_h['logistic-regression', last_h]:.2f} ({above['logistic-regression', last_h]}), MLP "
    f"{auc_h['mlp-concat', last_h]:.2f} ({above['mlp-concat', last_h]}), GNN "
    f"{auc_h['gnn-inferred-static', last_h]:.2f} ({above['gnn-inferred-static', last_h]}). "
    f"The scorecard tests the claim at {scorecard.FORECAST_CLAIM_S} s.",
)

# %% [markdown]
# ## Scorecard
#
# One row per claim of the paper (a claim with two parts is two rows), then, in a second table,
# this book's own tests: the questions the paper's claims need answered before they mean
# anything, and those it left open. The evidence is computed from `results/classification.json`,
# `results/trajectories.json` and `results/discussion.json` by `wormlib.scorecard`; each row
# links to the section with the evidence.
#
# ```{admonition} The verdict rule
# Each claim is tested on the paper's own task and split, paired per test worm, with 95%
# t-intervals over the five test worms and {term}`Holm's correction <Holm correction>` over the tests that make up one
# claim. **The paper's own metric decides**: accuracy for classification (balanced accuracy
# stands beside every row, marked "beside"), the MSE at steps 1, 8 and 16 (the columns of the
# paper's Fig. 5B) for trajectories. Where the protocol matters, the leak-free one decides: on
# seen worms, contiguous blocks of each recording, with the paper's shuffled 8-frame windows (a
# test frame's neighbours in training) beside.
# **holds**: every comparison is significant in the paper's direction and none in the other; for
# a number, our interval reaches it; for "about as well as", the interval lies inside the
# stated margin. **contradicted**: some comparison is significant in the other direction (or
# the interval lies wholly below the paper's number, or outside the margin). **not
# detectable**: neither — the intervals include 0; with five worms that is absence of
# evidence, not evidence of absence. Under each verdict, "detectable" is the smallest true
# difference the row's first test would find four times in five (80% power, α = 0.05): a "not
# detectable" row says nothing about differences smaller than that. **not testable here**: the
# data are absent, or only a weaker or compromised substitute exists; the substitute's result is
# shown beside the verdict, never as it.
# ```

# %% tags=["hide-input"]
records = {
    name: load_results(name, cfg.profile)
    for name in ("classification", "trajectories", "discussion")
}
card = scorecard.build(records)
wide = scorecard.scorecard_wide(records, card=card)
wide_bh = scorecard.scorecard_wide(records, "benjamini-hochberg", card=card)
paper_claims, own_tests = card[card.kind == "paper"], card[card.kind == "book"]

# %% tags=["remove-cell"]
for row in wide.itertuples():
    results.add(f"scorecard-{row.key}", "verdict-code", scorecard.VERDICTS.index(row.verdict))
    results.add(f"scorecard-{row.key}", "verdict-code-scorecard-wide", scorecard.VERDICTS.index(row.verdict_wide))
results.save()
codes = ", ".join(f"{i} = {v}" for i, v in enumerate(scorecard.VERDICTS))

# %% tags=["remove-input", "full-width"]
plotting.numbered_table(
    scorecard.to_markdown(paper_claims),
    "tbl-scorecard",
    f"The paper's {len(paper_claims)} claims against this book's evidence. Verdicts: "
    + scorecard.verdict_counts(paper_claims)
    + ". Evidence: paired differences with their 95% t-intervals over test worms and Holm-adjusted "
    "p-values, one comparison a line; k: the number of training worms. Each verdict is saved in "
    f"`results/discussion.json` as a code ({codes}) under the experiment `scorecard-<key>`.",
)

# %% tags=["remove-input", "full-width"]
plotting.numbered_table(
    scorecard.to_markdown(own_tests),
    "tbl-scorecard-own",
    f"This book's own tests: {len(own_tests)} questions the paper's claims depend on or leave open "
    "(not claims it makes). Verdicts: " + scorecard.verdict_counts(own_tests) + ".",
)

# %% tags=["remove-cell"]
# the landing page's summary (book/intro.md pastes these two): the paper's claims only
glue("scorecard_summary", HTML(scorecard.summary_html(paper_claims)), display=False)
glue("scorecard_counts", scorecard.verdict_counts(paper_claims), display=False)
glue("scorecard_wide_summary", scorecard.wide_summary(wide), display=False)
paper_numbers = scorecard.paper_numbers(records)
glue("paper_numbers", HTML(scorecard.paper_numbers_html(paper_numbers)), display=False)
glue("headline", scorecard.headline(card, paper_numbers), display=False)

# %% [markdown]
# ### One correction for the whole scorecard
#
# Holm's correction above runs within each claim. Across the scorecard there are
# {glue:text}`scorecard_wide_tests` deciding tests, and some significant ones are expected by
# chance alone. Corrected over all of them at once: {glue:text}`scorecard_wide_summary`
# (Holm, which bounds the chance of any false "holds"); with Benjamini and Hochberg's
# false-discovery rate instead: {glue:text}`scorecard_wide_bh`. Rows decided by a number or a
# margin have no p-value and cannot change.

# %% tags=["remove-cell"]
glue("scorecard_wide_tests", str(int(wide.n_tests.iloc[0])), display=False)
glue("scorecard_wide_bh", scorecard.wide_summary(wide_bh, "Benjamini–Hochberg").split(" scorecard ", 1)[1],
     display=False)

# %% [markdown]
# ### What this revision changed
#
# The verdict rule above replaced an earlier one (the verdict on either metric; seen worms on
# the paper's shuffled windows; trajectories at step 16 alone; the TAVRNN port taken as a test),
# and the baselines now run under the book's normalisation contract (each worm standardised by
# its own statistics, as the networks' batch norm does; before, logistic regression and the
# SVM used a scaler fitted on the training worms and ADMM z-scored with the training worms'
# statistics). The rows whose verdict moved, from the earlier scorecard
# (`results/history/scorecard-before-issue-48.json`), and how far the baselines' numbers moved
# (`results/history/baselines-before-normalisation-contract.json`):

# %% tags=["remove-input"]
before = json.loads(results_path("history/scorecard-before-issue-48", cfg.profile).read_text())
changes = scorecard.revision(card, before)
plotting.numbered_table(
    plotting.table(changes, headers={"number": "row", "before": "earlier verdict", "now": "verdict now"}),
    "tbl-scorecard-revision",
    f"The {len(changes)} rows whose verdict changed with this revision (verdict rule and normalisation), and why; "
    f"the other {len(card) - len(changes)} kept theirs.",
)
history = json.loads(results_path("history/baselines-before-normalisation-contract", cfg.profile).read_text())
baseline_moves = moved_since(
    [r for r in history["records"] if r["chapter"] == "classification"], chapter3
)
plotting.numbered_table(
    plotting.table(
        baseline_moves,
        headers={"settings": "settings", "mean_change": "mean change", "smallest": "smallest", "largest": "largest"},
    ),
    "tbl-baselines-moved",
    "How far chapter 3's baseline accuracies moved under the per-worm contract: per model and "
    "population, the change (now − before) of the mean over test worms, across every task, "
    "protocol and number of training worms the chapter runs.",
)

# %% [markdown]
# ### Test worms that share training worms
#
# The verdict rule takes the five test worms as independent. On unseen worms they need not be:
# with 4 training worms, the models of any two test worms share 3 of them, so the per-worm
# differences can be correlated, and a t-interval over them is then too narrow. Nadeau and
# Bengio's corrected resampled t-test {cite}`nadeau2003` widens it for that overlap: each
# training subset is one resample, and the variance of the mean of J resamples is
# (1/J + n_test/n_train)·s² instead of s²/J, with n_test/n_train the ratio of test to training
# worms (leave one worm out, J = 5 and n_test/n_train = 1/4: an interval √2.25 = 1.5 times as
# wide as the paired one). Their correlation model was derived for random subsamples of
# independent examples, and here the units are worms, so it is a check of the rule's
# assumption, not a new rule. The seen-worm rows (each worm its own model) cannot change. The
# rows that compare 4 training worms with 1 have no common training subset to resample; for them
# the check asks instead whether the verdict survives the loss of any one training worm: the
# paired difference is recomputed five times, each time without the single-worm models that one
# worm trained, and the interval shown spans the five (lowest lower bound, highest upper bound;
# the largest p-value enters Holm).

# %% tags=["hide-input"]
sensitivity = scorecard.overlap_sensitivity(records, card)

# %% tags=["remove-cell"]
assessed = sensitivity[sensitivity.verdict_corrected != scorecard.NOT_ASSESSED]
for row in assessed.itertuples():
    results.add(
        f"scorecard-{row.key}",
        "verdict-code-overlap-corrected",
        scorecard.VERDICTS.index(row.verdict_corrected),
    )
results.save()
glue("overlap_summary", scorecard.overlap_summary(sensitivity), display=False)

# %% tags=["remove-input"]
plotting.numbered_table(
    scorecard.overlap_markdown(sensitivity),
    "tbl-overlap",
    "Each row's verdict ({numref}`tbl-scorecard`, {numref}`tbl-scorecard-own`) and its verdict when every unseen-worm interval is "
    "Nadeau and Bengio's corrected resampled t-interval, or for the rows comparing 4 training "
    "worms with 1 the span over the loss of each training worm (95%, Holm and margins as "
    "before): "
    + scorecard.overlap_summary(sensitivity)
    + ". Saved as `verdict-code-overlap-corrected` under each row's `scorecard-<key>`; "
    "the evidence behind each change is listed below the table.",
)

# %% tags=["remove-input"]
display(Markdown(scorecard.overlap_changes(sensitivity)))

# %% [markdown]
# How much does the correction buy? Five worms cannot say how much of a score a worm brings as a
# training worm and how much as a test worm, so the check below asks simulated studies with this
# book's designs (every subset of k of the five worms trained, each model tested on the other
# worms) in which both effects are set: a model trained on S and tested on w scores the mean
# effect of S's worms, plus w's effect, plus noise of its own. The true difference is 0; a 95%
# interval should contain it in 95% of studies.

# %%
n_studies = 400
coverage = scorecard.overlap_coverage(reps=n_studies, seed=cfg.seed)

# %% tags=["remove-cell"]
for row in coverage.itertuples():
    for interval in ("paired", "corrected"):
        results.add(
            f"overlap-coverage-sd-train-{row.sd_train:g}-sd-test-{row.sd_test:g}",
            "coverage",
            getattr(row, interval),
            model=interval,
            protocol="leave-worms-out",
            n_train_worms=row.training_worms,
        )
results.save()

# %% tags=["remove-input"]
plotting.numbered_table(
    plotting.table(
        coverage,
        digits=3,
        headers=dict(
            training_worms="training worms",
            sd_train="sd, training worm",
            sd_test="sd, test worm",
            paired="paired t (the verdict rule)",
            corrected="corrected (Nadeau–Bengio)",
        ),
        labels=("training_worms", "sd_train", "sd_test"),
    ),
    "tbl-overlap-coverage",
    f"Share of simulated studies ({n_studies} per row; Monte Carlo standard error "
    f"{np.sqrt(0.95 * 0.05 / n_studies):.3f} at 0.95) whose 95% interval contains the "
    "true difference, for the paired t-interval "
    "over test worms and the corrected interval (`wormlib.scorecard.overlap_coverage`). "
    "A model trained on worms S and tested on worm w scores the mean of S's effects "
    "(sd, training worm) plus w's effect (sd, test worm) plus its own noise (sd 0.1). "
    + scorecard.coverage_summary(coverage),
)

# %% [markdown]
# ## What the reproduction changes
#
# The points below are computed from the results files (`wormlib.scorecard.findings`).

# %% tags=["hide-input"]
display(Markdown("\n".join(f"* {point}" for point in scorecard.findings(records))))

# %% tags=["remove-cell"]
plotting.glue_texts(preprocess.derivative_texts(worms), "deriv_")

# %% [markdown]
# ```{admonition} Caveats that bound every verdict above
# :class: warning
# - **Fictive states, partly defined by the inputs.** Kato's worms are immobilised: their
#   "behavioural states" are fictive motor commands, annotated in part from the activity of the
#   very neurons the models read (AVA, RIM, AIB). High accuracy partly recovers an annotation
#   rule, not behaviour.
# - **Test worms that share training worms.** Every unseen-worm interval treats the five test
#   worms as independent although their models share training worms; with Nadeau and Bengio's
#   correction, or the loss of any one training worm ({numref}`tbl-overlap`):
#   {glue:text}`overlap_summary`.
# - **Offline decoding.** Min–max scaling, batch-norm statistics and the static graph use the
#   whole test recording; a decoder running live would not have them.
# - **Features that see the future.** The paper's derivative feature is a centred Savitzky–Golay
#   filter ({glue:text}`deriv_frames` frames): frame t carries frames {glue:text}`deriv_future`
#   ({glue:text}`deriv_future_s` ahead). Chapters 3 and 4 report
#   the past-only variant beside it ({numref}`tbl-seeds-causal`, {numref}`tbl-time-context` and {numref}`tbl-causal-mse`); a scorecard row uses the paper's
#   features unless it says past-only.
# - **Seeds where they were affordable.** A network's scores are averaged over the profile's
#   `n_seeds` replicates before the interval, so that it covers seed-to-seed spread, for:
#   - the GNN, MLP and connectome GNN on unseen worms at 2 states with 4 training worms, 7
#     states with 4 and 4 states with every number of training worms ({numref}`tbl-seeds-causal`,
#     {numref}`tbl-fig4b-seeds`; the rows on GNN vs MLP, SVM, ADMM, the connectome and more
#     training worms);
#   - the GNN and MLP on the seen-worm folds of Table 1 and Fig. 4A, shuffled windows and
#     contiguous blocks ({numref}`tbl-seen-seeds`), and the GNN with its three node updates
#     ({numref}`tbl-aggregation`);
#   - TAVRNN with its behaviour head in the three time-context settings (the scorecard's tests
#     of it) and its probe, the windowed networks there and on the paper's other protocols, and
#     the GRU-window networks and TAVRNN on Table 1's split and at every point of Fig. 4B
#     ({numref}`tbl-window-protocols`);
#   - every network of Fig. 5 (1 and 4 training worms; {numref}`tbl-paired-mse-seeds`), which the
#     trajectory rows use, the past-only trajectory networks, and the forecasting networks.
#
#   One seed: the inner runs of the nested window selection, which choose a window, and the
#   learning curves that choose each family's steps (chapter 2); no verdict rests on either.
#   Table 1 and Figs. 4A–B show the seed-averaged networks the verdicts use. TAVRNN is not run
#   on the seen-worm folds, the Kato → Dag test or the trajectory protocol (chapters 3 and 4
#   say why).
# - **Protocol deviations.** Unseen-worm models are trained once per training subset, not
#   "10-fold on all permutations"; each network family trains for a fixed number of steps,
#   whatever the number of training worms, chosen from learning curves on training worms only
#   (chapter 2; TAVRNN and chapter 4's trajectory networks were still improving at the
#   ceiling, so their numbers, and the verdicts that rest on them, are those of a fixed
#   budget, not of converged models); no other hyperparameter was tuned, but two design
#   choices (concatenation aggregation in the GNN, the per-frame graph of the trajectory GNN)
#   were made after seeing results on test worms (chapters 2 and 4 say where). Chapter 3's measurement of the first
#   ({numref}`tbl-aggregation`) uses those same test worms, so it is no independent check.
# - **TAVRNN is a port, not the authors' run.** Its windows are causal and never cut at label
#   changes (the authors' notebook cuts them there); it is trained on 16-step chunks and a
#   recording is read the same way, in 16-step blocks from a zero state; a replicate whose
#   gradient is not finite skips that update (its parameters, Adam moments and step count left
#   as they were). Without the last two, one label-free replicate's
#   state grew without limit in one of our runs (chapter 3). A replicate that skipped
#   many updates stays in the seed averages, so the verdicts on TAVRNN include it.
# ```
#
# What would settle the open questions: more worms per condition (every interval in this book
# is over five test worms, and five worms cannot tell how much of a score a worm brings as a
# training worm from how much it brings as a test worm, {numref}`tbl-overlap-coverage`), the
# Nichols recordings with their turn labels (the paper's own unseen set, for the 4-state
# claim), a hyperparameter budget fixed in advance and shared by all models, and held-out worms
# used only once. The Nichols sections of chapters 3 and 4 run by
# themselves once those files are in the data folder (`make book` re-executes them).

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

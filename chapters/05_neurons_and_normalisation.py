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
# # Neurons, normalisation and probabilities
#
# Four questions the paper's claims depend on, each asked of the same five Kato et al. (2015)
# worms on unseen-worm splits: do 3 neurons do as well as 15 (the paper's Nichols evaluation
# rests on 3)? Do the models still decode the states without the neurons that define them? What
# is each normalisation contract worth? And can the predicted probabilities be trusted? The
# verdicts on them are in the chapter's scorecard ({doc}`05_discussion`).


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 05_neurons_and_normalisation` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) and the results of chapter 3 —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from wormlib import evaluate, experiments, jobs, plotting, preprocess, provenance
from wormlib import variability
from wormlib.data import load_kato2015
from wormlib.preprocess import NICHOLS_SHARED, PAPER_NEURONS, shared_neurons
from wormlib.results import Results, load_results, scores_from_records

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("05_neurons_and_normalisation", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
train_cfg = cfg.train_config()
results = Results("discussion-neurons", cfg.profile)

# %% tags=["nbval-check-output", "hide-input"]
worms = load_kato2015()
kato_shared = shared_neurons(worms)
print(
    f"Kato: {len(worms)} worms; {len(kato_shared)} of the paper's 15 neurons "
    f"in all of them; {min(r.fps for r in worms):.2f}–{max(r.fps for r in worms):.2f} Hz"
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

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

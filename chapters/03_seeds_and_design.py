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
# # Seeds, past-only features and design choices
#
# The tables of {doc}`03_classification` rest on single-seed networks, on the paper's centred
# derivative and on the paper's node update. This page averages the networks over seed
# replicates, asks whether the results hold with features that see only the past, compares
# the GNN's three node updates, and places Brennan & Proekt's ADMM on the same worms.


# %% [markdown]
# ```{admonition} Run this page
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 03_seeds_and_design` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It reads the records of
# the chapter's earlier pages, and its experiments come from the chapter's store where an
# earlier page computed them. Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import pandas as pd

from wormlib import evaluate, experiments, jobs, plotting, preprocess, provenance
from wormlib.data import load_kato2015
from wormlib.results import Results, load_results, metric_table

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("03_seeds_and_design", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
train_cfg = cfg.train_config()
workers = jobs.worker_count(cfg.device)  # cannot change a result (wormlib.jobs)
print(jobs.describe(workers))
results = Results("classification-seeds", cfg.profile)

# %% tags=["hide-input"]
# the worms and tasks of the chapter's first page
worms = load_kato2015()
data = experiments.paper_tasks(worms)
d2, d4, d7 = data.values()

# %% [markdown]
# ## Seeds, and features that do not see the future
#
# Two things every number above leaves open. **Seeds**: each network was trained once; here the
# networks behind the scorecard's verdicts are trained in several independently initialised
# replicates (the `n_seeds` of the profile), averaged per test worm before the paired interval
# is taken, so the interval covers worm-to-worm and seed-to-seed spread. **What a feature sees**:
# the derivative feature is a centred Savitzky–Golay fit over {glue:text}`deriv_frames` frames,
# so frame t carries frames {glue:text}`deriv_future` ({glue:text}`deriv_future_s` of the future,
# in which the worm's next state is often already visible). The past-only (causal) derivative
# fits the same quadratic to frames {glue:text}`deriv_causal`. Both are run on
# the leave-one-worm-out tasks and on the paper's 4-state task with 3 training worms. (Min–max
# scaling over the whole recording stays: these remain offline decoders; chapter 5 lists it.)

# %% tags=["remove-cell"]
plotting.glue_texts(preprocess.derivative_texts(worms), "deriv_")

# %%
robust_models = (
    "gnn-inferred-static",
    "mlp-concat",
    "gnn-connectome",
    "logistic-regression",
)
robust = experiments.derivative_comparison(
    worms,
    [("2-state", 4), ("4-state", 3), ("7-state", 4)],
    robust_models,
    cfg.n_seeds,
    cfg.hidden,
    train_cfg,
    cfg.max_subsets,
    workers,
)

# %% tags=["remove-cell"]
results.add_scores_by_derivative(robust, "robustness")
results.save()
saved = load_results("classification", cfg.profile)

# %% tags=["remove-input", "full-width"]
net_labels = plotting.model_columns(robust_models)
table33 = (
    pd.concat(
        evaluate.paired_table(
            saved[saved.experiment == f"robustness-{kind}-derivative"],
            ["task", "n_train_worms"],
            net_labels,
            {"GNN − MLP": ("gnn-inferred-static", "mlp-concat")},
        ).assign(derivative=label)
        for kind, label in (("centred", "centred"), ("causal", "past-only"))
    )
    # short keys, so that every row fits one line (a key is a header cell, which may wrap)
    .replace({"metric": {"accuracy": "acc.", "balanced-accuracy": "bal.\u00a0acc."}})
    .sort_values(["task", "metric"], kind="stable")  # centred first within a metric
    .set_index(["task", "metric", "derivative"])
)
lr = {
    kind: metric_table(saved, f"robustness-{kind}-derivative", "accuracy")
    for kind in ("centred", "causal")
}
lr = {
    kind: t[(t.model == "logistic-regression") & (t.task == "4-state")]
    .groupby("test")
    .accuracy.mean()
    for kind, t in lr.items()
}
sd_seeds = saved[
    saved.experiment.str.startswith("robustness-")
    & (saved.metric == "balanced-accuracy-sd-over-seeds")
]
trained_on = ", ".join(
    f"{task} with {int(k)} training worms"
    for task, k in table33.reset_index()[["task", "n_train_worms"]]
    .drop_duplicates()
    .values
)
plotting.numbered_table(
    plotting.table(table33.drop(columns="n_train_worms")),
    "tbl-seeds-causal",
    f"Unseen worms, networks averaged over {cfg.n_seeds} seed replicates: mean over test "
    "worms of accuracy (acc.) and balanced accuracy (bal. acc.) with the paper's centred "
    "derivative and with the past-only one, and the paired GNN − MLP difference (95% "
    f"t-interval over test worms, seeds averaged first); {trained_on}. GNN (conn.): the "
    "connectome GNN; log. reg.: logistic regression. "
    f"Past-only features lower logistic regression's 4-state accuracy on "
    f"{int((lr['causal'] < lr['centred']).sum())} of {len(lr['centred'])} test worms "
    f"({lr['centred'].mean():.3f} → {lr['causal'].mean():.3f}, 3 training worms). The sd across "
    f"seeds of a network's balanced accuracy on one test worm is {sd_seeds.value.median():.3f} "
    f"(median; up to {sd_seeds.value.max():.3f}).",
)

# %% [markdown]
# Fig. 4B's networks as paired comparisons at every number of training worms (the same seed
# replicates as the figure, read again, not retrained), so that the scorecard's rows on more
# training worms and on the connectome rest on seed-averaged networks throughout:

# %%
fig4b_nets = ("gnn-inferred-static", "mlp-concat", "gnn-connectome")
fig4b_seeds = pd.concat(
    experiments.run_settings(
        [
            experiments.replicated_jobs(
                fig4b_nets,
                fig4b_nets,
                d4,
                experiments.unseen_splits(d4, k, cfg.max_subsets),
                cfg.n_seeds,
                cfg.hidden,
                train_cfg,
            )
            for k in (1, 2, 4)
        ],
        workers,
    )
)

# %% tags=["remove-cell"]
results.add_scores(fig4b_seeds, "fig4b-four-states-unseen-seeds", "4-state")
results.save()
saved = load_results("classification", cfg.profile)

# %% tags=["remove-input", "full-width"]
seeded4 = saved[
    (
        (saved.experiment == "fig4b-four-states-unseen-seeds")
        | (
            (saved.experiment == "robustness-centred-derivative")
            & (saved.task == "4-state")
        )
    )
    & saved.model.isin(fig4b_nets)
]
fig4b_seed_table = (
    evaluate.paired_table(
        seeded4,
        ["n_train_worms"],
        plotting.model_columns(fig4b_nets),
        {
            "GNN − MLP": ("gnn-inferred-static", "mlp-concat"),
            "inferred − connectome": ("gnn-inferred-static", "gnn-connectome"),
        },
    )
    .astype({"n_train_worms": int})
    .rename(columns={"n_train_worms": "training worms"})
    .set_index(["training worms", "metric"])
    .sort_index()
)
plotting.numbered_table(
    plotting.table(fig4b_seed_table),
    "tbl-fig4b-seeds",
    f"Fig. 4B's networks averaged over {cfg.n_seeds} seed replicates (4 states, unseen worms, "
    "the paper's features; 3 training worms from the run above): mean over test worms, and the "
    "paired differences GNN − MLP and inferred-edge − connectome GNN (95% t-interval over test "
    "worms, seeds averaged first, uncorrected). They are the networks of "
    "{numref}`fig-enlargement`; chapter 5's scorecard uses these comparisons.",
)

# %% [markdown]
# On seen worms, the seed replicates of Table 1's and Fig. 4A's GNN and MLP (both the paper's
# shuffled 8-frame windows and the contiguous blocks) are read again as paired comparisons, so
# that the scorecard's rows on seen worms rest on seed-averaged networks too:

# %%
seen_nets = ("gnn-inferred-static", "mlp-concat")
seen_settings = [
    (protocol, task)
    for protocol in ("shuffled-windows", "contiguous-blocks")
    for task in ("2-state", "7-state")
]
seen_tables = experiments.run_settings(
    [
        experiments.replicated_jobs(
            seen_nets,
            seen_nets,
            data[task],
            experiments.seen_splits(data[task], protocol, cfg.n_folds, cfg.seed),
            cfg.n_seeds,
            cfg.hidden,
            train_cfg,
        )
        for protocol, task in seen_settings
    ],
    workers,
)

# %% tags=["remove-cell"]
for (protocol, task), table in zip(seen_settings, seen_tables):
    results.add_scores(table, f"seen-{protocol}-seeds", task)
results.save()
saved = load_results("classification", cfg.profile)

# %% tags=["remove-input", "full-width"]
seen_seeded = saved.experiment.isin(
    ["seen-shuffled-windows-seeds", "seen-contiguous-blocks-seeds"]
)
seen_records = pd.concat(
    [
        saved[seen_seeded],
        saved[
            saved.experiment.isin(["table1-forward-reverse", "fig4a-seven-states-seen"])
            & (saved.population == "seen")
            & saved.model.isin(["logistic-regression", "svm"])
        ],
    ]
)
seen_seed_table = (
    evaluate.paired_table(  # the SVM ran on 2 states' shuffled windows only
        seen_records,
        ["task", "protocol"],
        plotting.model_columns(
            ("gnn-inferred-static", "mlp-concat", "logistic-regression", "svm")
        ),
        {
            "GNN − MLP": ("gnn-inferred-static", "mlp-concat"),
            "GNN − SVM": ("gnn-inferred-static", "svm"),
        },
    )
    .replace({"metric": {"accuracy": "acc.", "balanced-accuracy": "bal.\u00a0acc."}})
    .set_index(["task", "protocol", "metric"])
    .sort_index()
)
sd_seen = saved[
    seen_seeded
    & (saved.model == "gnn-inferred-static")
    & (saved.metric == "accuracy-sd-over-seeds")
].value
plotting.numbered_table(
    plotting.table(seen_seed_table),
    "tbl-seen-seeds",
    f"Seen worms ({cfg.n_folds} folds per worm, of shuffled 8-frame windows or of contiguous "
    f"blocks): the GNN and the MLP averaged over {cfg.n_seeds} seed replicates on the same folds, beside the "
    "deterministic logistic regression and SVM of {numref}`tbl-table1` and "
    "{numref}`fig-seven-states-seen`: mean over worms (folds and seeds averaged within a worm first) and "
    "paired differences (95% t-interval over worms, uncorrected; the SVM was run on 2 states' "
    "shuffled windows only). The sd across seeds of the GNN's accuracy on one worm and protocol is "
    f"{sd_seen.median():.3f} (median; up to {sd_seen.max():.3f}). Chapter 5's rows on seen "
    "worms use these networks. acc.: accuracy; bal. acc.: balanced accuracy; log. reg.: "
    "logistic regression.",
)

# %% [markdown]
# (sec-aggregation)=
# ## Design choice: how the GNN aggregates
#
# The paper: "we find that performance improves when using concatenation instead of summation
# during the aggregation step" (§3.2; no number, no task named). We read the aggregation step as
# the node update, {eq}`eq-aggregate` in chapter 2. Here the static-edge GNN is trained with
# three node updates: concatenation $h_i = [v_i \| m_i]$ (the paper's, and the GNN of every table
# above), summation $h_i = v_i + m_i$, and the messages alone $h_i = m_i$ (our first version).
# All three use the same seed replicates, splits and features as {numref}`tbl-seeds-causal` (the
# paper's centred derivative). The settings are 2 states with 4 training worms (Table 1's unseen
# worms) and 4 states with 3 (the paper's 87 %). The concatenation rows are that table's GNN,
# reused, not trained again.

# %%
aggregation = experiments.aggregation_comparison(
    data,
    [("2-state", 4), ("4-state", 3)],
    robust,
    cfg.n_seeds,
    cfg.hidden,
    train_cfg,
    cfg.max_subsets,
    workers,
)

# %% tags=["remove-cell"]
results.add_scores_by_derivative(aggregation, "aggregation")
results.save()
saved = load_results("classification", cfg.profile)

# %% tags=["remove-input", "full-width"]
agg_models = ("gnn-inferred-static", *experiments.AGGREGATION_MODELS)
agg_table = (
    evaluate.paired_table(
        saved[saved.experiment == "aggregation-centred-derivative"],
        ["task", "n_train_worms"],
        plotting.model_columns(agg_models),
        {
            "concat. − sum": ("gnn-inferred-static", "gnn-inferred-static-sum"),
            "concat. − messages": (
                "gnn-inferred-static",
                "gnn-inferred-static-messages",
            ),
        },
    )
    .astype({"n_train_worms": int})
    .rename(columns={"n_train_worms": "training worms", "GNN": "GNN (concat.)"})
    .replace({"metric": {"accuracy": "acc.", "balanced-accuracy": "bal.\u00a0acc."}})
    .set_index(["task", "training worms", "metric"])
    .sort_index()
)
plotting.numbered_table(
    plotting.table(agg_table),
    "tbl-aggregation",
    f"The static-edge GNN with three node updates, averaged over {cfg.n_seeds} seed replicates "
    "(unseen worms, the paper's features): concatenation (the paper's), summation and the "
    "messages alone. Mean over test worms of accuracy (acc.) and balanced accuracy (bal. acc.), "
    "and the paired differences (95% t-interval over test worms, seeds averaged first, "
    "uncorrected). Chapter 5's scorecard tests concatenation against summation, Holm-corrected "
    "over both settings and both metrics.",
)

# %% [markdown]
# ## ADMM, same worms
#
# Brennan & Proekt's asymmetric diffusion map modelling (`wormlib.admm`; the port is described
# in chapter 1) runs here as a decoder on exactly the splits and test frames of the other models.
# For each leave-worms-out split, one manifold is built from the training worms' activity (the
# normalised ΔF/F of the 14 neurons all worms share, delay-embedded); each frame of a test worm
# is placed on it, and its state is the distance-weighted vote of the 20 nearest labelled
# training frames in manifold coordinates (the 6 leading non-trivial eigenvectors of P). Every
# worm's embedded activity is z-scored by its own statistics (the book's per-worm contract, as
# the networks' batch norm), so a frame's place depends on its worm's whole-recording mean and
# spread; past that, every coordinate a frame uses is in its past: ADMM needs no derivative
# feature, so it is the same under the centred and the past-only features. The embedding is not given for C. elegans in
# the available text; for each split it is chosen by leave-one-training-worm-out balanced
# accuracy on the training worms only, between the frame alone and three delays of 3 frames
# ({numref}`tbl-admm-embedding`).

# %%
admm_choice = experiments.admm_choices(d2, 4, cfg.max_subsets)
admm_choice_table = plotting.table(admm_choice.set_index("training worms"))

# %% tags=["remove-input"]
plotting.numbered_table(
    admm_choice_table,
    "tbl-admm-embedding",
    "ADMM's embedding per training subset of {numref}`tbl-table1` (2 states, 4 training "
    "worms): the inner leave-one-training-worm-out balanced accuracy of each candidate (τ: frames "
    "between delays; K: delays; K = 0 is the frame and its backward difference alone) and the "
    "chosen one. The test worm plays no part in the choice.",
)

# %%
admm7 = experiments.score_models(
    ("admm",),
    d7,
    experiments.unseen_splits(d7, 4, cfg.max_subsets),
    cfg.hidden,
    train_cfg,
)

# %% tags=["remove-cell"]
results.add_scores(admm7, "admm-seven-states-unseen", "7-state")
results.save()

# %% tags=["hide-input"]
saved = load_results("classification", cfg.profile)
admm_pairs = evaluate.paired_comparisons(
    {
        "2-state, train 4": saved.query(
            "experiment == 'table1-forward-reverse' and population == 'unseen'"
        ),
        "4-state, train 3": saved.query(
            "experiment == 'fig4b-four-states-unseen' and n_train_worms == 3"
        ),
        "7-state, train 4": saved.query(
            "(experiment == 'robustness-centred-derivative' and task == '7-state')"
            " or experiment == 'admm-seven-states-unseen'"
        ),
    },
    [(m, "admm") for m in ("gnn-inferred-static", "mlp-concat", "logistic-regression")],
)
admm_pairs_table = plotting.paired_metrics_table(
    plotting.short_model_names(admm_pairs), ["comparison", "a", "b"]
)

# %% tags=["remove-input", "full-width"]
a7 = experiments.summarise(admm7, ["model"]).set_index("model")["mean"]
b7 = experiments.summarise(
    metric_table(saved, "admm-seven-states-unseen", "balanced-accuracy"),
    ["model"],
    "balanced_accuracy",
).set_index("model")["mean"]
plotting.numbered_table(
    admm_pairs_table,
    "tbl-admm-pairs",
    "The paper's models and logistic regression against ADMM on unseen worms, paired "
    "by test worm (a − ADMM; 95% t-interval over the five test worms, bold where it excludes 0; "
    "networks of the 7-state task "
    f"averaged over {cfg.n_seeds} seeds, with the paper's centred derivative). ADMM on 7 states, "
    f"4 training worms: accuracy {a7['admm']:.1%}, balanced accuracy {b7['admm']:.1%}. Look at "
    "the logistic-regression rows: what beating ADMM takes without a network.",
)

# %% [markdown]
# **Why not 81%?** Brennan & Proekt's 81% is the fraction of a left-out worm's time assigned the
# right state, from their minimal model of loops and phases, on their own preprocessing of the
# Kato recordings; the paper's Table 1 frames it against frame-level accuracies with forward and
# reverse only. Here ADMM is scored on the frames the other models are scored on (turns and
# unlabelled frames excluded, the paper's neurons and normalisation), and its state is read from
# a nearest-neighbour vote on the manifold rather than from the minimal model. The text available
# to us does not state their test frames or state definitions, so which of these differences
# accounts for the gap is not testable here. The port, run on this protocol, is in {numref}`tbl-table1`
# beside the quoted number.


# %% tags=["remove-cell"]
results.save()
print(provenance.elapsed(cfg))

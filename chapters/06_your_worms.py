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
# # Your worms: the generalisation test on any recordings
#
# Five worms cannot settle whether a graph network generalises better than simpler decoders:
# chapter 5 ends there. Only more worms can, and labs share far more of them than the paper had,
# in NWB (Neurodata Without Borders). This page asks the book's question of any set of
# recordings that share identified neurons and a behavioural label: trained on all worms but
# one, how well does each decoder read forward vs reverse from the worm it never saw, and is the
# GNN better than the MLP and than logistic regression on the same worms?
#
# As built here, the page runs the worked example: the seven Dag et al. (2023) worms
# {cite}`dag2023`, written to NWB files by `wormlib.data.write_nwb` and read back by
# `wormlib.data.load_nwb`, the same path a lab's own files take.
#
# ```{admonition} In this chapter
# :class: important
# **Asked:** on worms never seen in training, does the GNN read forward vs reverse better than
# the MLP and than logistic regression? **Found** (this run): {glue:text}`your_worms_findings`
# ```

# %% [markdown]
# ```{admonition} Run it on your worms
# :class: tip
# Put your recordings in one folder, one `.nwb` file per worm: calcium traces in a
# `RoiResponseSeries`, neuron identities in a text column of its ROI table (`label` or
# `ID_labels`, as NeuroPAL exports have), behaviour as labelled intervals (a `TimeIntervals`
# table with a `state` or `behavior` column); {doc}`../data` shows the layout. Then, in a clone
# with `make env data` done and the environment active (`source .venv/bin/activate`):
#
# `papermill chapters/06_your_worms.ipynb my-worms.ipynb -p dataset nwb:/path/to/folder -p states '{"forward": ["forward", "pause"], "reverse": ["reversal"]}'`
#
# `states` names your intervals' states that count as each class (others are left out);
# `neurons` is `paper` (the paper's 15, those every worm has), `all` (every neuron identified in
# every worm) or a comma list; `lag_s` pairs activity with the behaviour that many seconds
# earlier. The results go to `results/your-worms/<folder>.json` and its experiments to
# `results/your-worms/store/`: the book's own files are never touched.
# ```

# %% tags=["hide-input"]
from myst_nb import glue

from wormlib import crosslab, evaluate, plotting, provenance, yourworms
from wormlib.data import load_kato2015
from wormlib.results import load_results

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0
dataset = "example"
states = '{"forward": ["non-reversal"], "reverse": ["reversal"]}'
neurons = "paper"
lag_s = 0.0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("06_your_worms", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
train_cfg = cfg.train_config()
recordings, name = yourworms.load(dataset, yourworms.parse_states(states))
kato = load_kato2015()
results = yourworms.outputs(name, cfg)
chosen = yourworms.choose_neurons(recordings, neurons)

# %% [markdown]
# ## The worms
#
# Each recording, the neurons the decoders read (identified in every worm) and how many frames
# each class has. A class that is rare in a worm makes its balanced accuracy noisy.

# %% tags=["remove-input"]
plotting.numbered_table(
    plotting.table(yourworms.summary(recordings, chosen), headers={"Hz": "frames per s"}),
    "tbl-your-worms",
    f"The {len(recordings)} recordings of this run ({'the worked example: Dag et al. 2023 via NWB' if name == yourworms.EXAMPLE else name}) "
    f"and the {len(chosen)} neurons every one of them has: {', '.join(chosen)}.",
)

# %% [markdown]
# ## Worms never seen in training
#
# Every decoder reads the same features, each neuron's calcium trace and its derivative scaled
# to [0, 1] over the worm's own recording, and normalises under the same contract (chapter 2):
# each worm standardised by its own statistics, the networks by their batch norm, the logistic
# regression by each worm's mean and spread. A comparison of the two is one of models, not of
# normalisations. Frames are autocorrelated, so whole recordings are held out,
# and the circular-shift null of chapter 5 says what each decoder reaches with no alignment
# between activity and behaviour.

# %%
scores = crosslab.leave_one_recording_out(
    recordings, chosen, yourworms.DECODERS, cfg.hidden, train_cfg, lags_s=(lag_s,)
)
fig = plotting.crosslab_auc(scores, ylabel="ROC AUC per test worm")

# %% tags=["remove-cell"]
results.add_recordings(
    scores,
    f"leave-one-out-lag-{lag_s:g}s",
    ("balanced_accuracy", "roc_auc", "null_auc_95", "p_value"),
)
pairs = yourworms.comparisons(scores)
for row in pairs.itertuples():
    for field in ("mean_difference", "ci_low", "ci_high", "p_value"):
        results.add(
            f"{row.a}-minus-{row.b}",
            f"{row.metric.lower().replace(' ', '-')}-{field.replace('_', '-')}",
            getattr(row, field),
            task="2-state",
            population="unseen",
        )
results.save()

# %% tags=["remove-input"]
means = yourworms.per_worm(scores).mean()
gnn_rows = pairs[(pairs.a == "gnn-inferred-static") & (pairs.metric == "ROC AUC")].set_index("b")
glue(
    "your_worms_findings",
    f"{len(recordings)} recordings, each left out in turn; mean balanced accuracy GNN "
    f"{means['gnn-inferred-static']:.2f}, MLP {means['mlp-concat']:.2f}, logistic regression "
    f"{means['logistic-regression']:.2f}; GNN − MLP ROC AUC "
    + evaluate.interval_text(gnn_rows.loc["mlp-concat"])
    + ", GNN − logistic regression "
    + evaluate.interval_text(gnn_rows.loc["logistic-regression"])
    + " (paired by recording, 95% interval).",
    display=False,
)
plotting.figure(
    fig,
    "fig-your-worms",
    alt="ROC AUC per test worm for logistic regression, the MLP and the GNN, each trained on the other worms, with the null's 95th percentile.",
    text=f"ROC AUC of forward-vs-reverse decoding on each worm left out of training (dots), at a "
    f"lag of {lag_s:g} s; grey: the 95th percentile of each worm's circular-shift null; dashed: chance. "
    f"Mean balanced accuracy: GNN {means['gnn-inferred-static']:.2f}, MLP {means['mlp-concat']:.2f}, "
    f"logistic regression {means['logistic-regression']:.2f}.",
)

# %% [markdown]
# Paired by test worm, each decoder against each other, on balanced accuracy and ROC AUC: the
# mean difference over the worms, its 95 % interval, and the verdict. "Not detectable" means
# that the interval includes 0: with this many worms no difference could be shown, which is not
# evidence that there is none.

# %% tags=["remove-input", "full-width"]
plotting.numbered_table(
    plotting.table(
        pairs[["metric", "a", "b", "n_units", "mean_difference", "ci_low", "ci_high", "p_value", "verdict"]],
        headers={"n_units": "worms", "mean_difference": "a − b", "ci_low": "95% CI low", "ci_high": "95% CI high"},
    ),
    "tbl-your-worms-pairs",
    "Each decoder against each other on the worms left out of training: difference a − b per test worm, averaged.",
)

# %% [markdown]
# ## Trained on Kato's worms
#
# The paper's own question was harder: a decoder trained on one lab's worms, tested on
# another's. The same three decoders, trained on the five Kato et al. (2015) worms on the neurons
# every Kato worm and every worm here share, are tested on each worm of this run (chapter 5's
# cross-lab test; Kato's frame rate and this dataset's may differ, and each worm's derivative
# reads the same seconds). A lab's worms that share few of the paper's neurons with Kato's
# leave this test little to read.

# %%
kato_trained = crosslab.kato_to_dag(
    kato, recordings, yourworms.DECODERS, cfg.hidden, train_cfg, lags_s=(lag_s,)
)
transfer_means = kato_trained.groupby("model")[["balanced_accuracy", "roc_auc"]].mean()

# %% tags=["remove-cell"]
for row in kato_trained.itertuples():
    for metric in ("balanced_accuracy", "roc_auc", "null_auc_95", "p_value"):
        results.add(f"kato-trained-lag-{lag_s:g}s", metric.replace("_", "-"), getattr(row, metric), task="2-state",
                    model=row.model, protocol="leave-worms-out", population="unseen", train="kato2015", test=row.test)
results.save()

# %% tags=["remove-input"]
plotting.numbered_table(
    plotting.table(transfer_means.round(3), headers={"roc_auc": "ROC AUC"}),
    "tbl-your-worms-kato",
    f"Decoders trained on the five Kato worms ({len(yourworms.shared_with(kato, recordings))} shared neurons: "
    f"{', '.join(yourworms.shared_with(kato, recordings))}), tested on each worm of this run: means over "
    f"the {kato_trained.test.nunique()} worms, at a lag of {lag_s:g} s.",
)

# %% [markdown]
# ## The same numbers from either format
#
# On the worked example, the recordings read from NWB are the Dag recordings exactly (values,
# identities, states, timestamps and frame rate: a test checks every field), so every number
# above must equal chapter 5's, computed from the lab's own HDF5 files: leaving one worm out
# (chapter 5's within-Dag ceiling at lag 0), {glue:text}`your_worms_same`; trained on Kato's
# worms (its Kato → Dag test at lag 0), {glue:text}`your_worms_same_kato`.

# %% tags=["remove-input"]
chapter5 = load_results("discussion-graphs", cfg.profile)  # chapter 5's page on another lab
for key, rows, experiment in (("your_worms_same", scores, "within-dag-lag-0s"),
                              ("your_worms_same_kato", kato_trained, "kato-to-dag-lag-0s")):
    glue(key, yourworms.same_text(rows, chapter5, experiment, name), display=False)

# %% [markdown]
# ## What it costs at NeuroPAL scale
#
# Other labs share more identified neurons than the paper's 15: the worms of this run share
# {glue:text}`your_worms_all` neurons identified in all of them (`-p neurons all` uses them
# all). The GNN infers an edge for every pair of neurons, so its cost grows faster than the
# neuron count. Measured on the book's machine (`benchmarks/benchmark_neuropal_scale.py`: seven
# recordings of 800 frames, one thread, the full profile's 600 steps), one whole run of this
# page's test takes, per decoder (the dynamic-edge GNN of chapter 2 beside the three):

# %% tags=["remove-input"]
scale, about = yourworms.scale_table()
glue("your_worms_all", str(len(yourworms.choose_neurons(recordings, "all"))), display=False)
plotting.numbered_table(
    plotting.table(scale.rename_axis(index="neurons"), digits=1, labels=()),
    "tbl-your-worms-cost",
    f"Seconds for one leave-one-out run of each decoder (7 recordings × 800 frames, {about['steps']} steps, "
    f"{about['hidden']} hidden units, {about['machine']}, {about['date']}). This page's own runs are on the status page.",
)
print(provenance.elapsed(cfg))

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
# # Without the future: past-only features, rollouts and breakdowns
#
# Chapter 4's first page reproduced the paper's Fig. 5 on unseen worms. This page asks what its
# numbers rest on: whether the networks still beat the baselines when no feature sees the
# future, what a rollout looks like, where prediction breaks down, and (when their files are
# there) the Nichols et al. (2017) worms of the paper's own test. The models are those of
# {doc}`04_trajectories`, read from the experiment store, not trained again.


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 04_without_the_future` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) and the results of the chapter's first
# page; the Nichols et al. (2017) section runs only when `nichols2017/` is there —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import pandas as pd
import torch
from IPython.display import display

from wormlib import evaluate, experiments, plotting, preprocess, provenance
from wormlib import trajectories as tj
from wormlib.data import load_if_present, load_kato2015, load_nichols2017
from wormlib.preprocess import PAPER_NEURONS
from wormlib.results import Results, load_results, metric_table
from wormlib.train import TaskData

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("04_without_the_future", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
train_cfg = cfg.train_config()
results = Results("trajectories-without-future", cfg.profile)

# %% tags=["hide-input"]
# the worms, features and splits of the chapter's first page;
# its 4-worm models (seed 0) from the store
worms = load_kato2015()
data = TaskData.build(worms, "2-state", PAPER_NEURONS)
splits4 = experiments.unseen_splits(data, 4, cfg.max_subsets, classify=False)
models4 = tj.run_seeds(tj.MODELS, data, splits4, cfg.hidden, train_cfg, cfg.n_seeds)[1]
mse = metric_table(load_results("trajectories", cfg.profile), "fig5-mse", "mse")


# %% [markdown]
# ## With features that do not see the future
#
# Every model of Fig. 5 starts from one frame whose derivative feature is a centred fit over
# {glue:text}`deriv_frames` frames: the initial condition already carries frames
# {glue:text}`deriv_future` — the first targets — and the recurrent models' burn-in carries the
# initial frame's future too. Here the same protocol (4 training worms, every held-out worm)
# runs on the past-only derivative (chapter 3), for the three baselines, the MLP and the
# Markovian GNN, so that "beats persistence" cannot come from the future. The two networks are
# trained in several independently initialised replicates (the profile's `n_seeds`), averaged
# per split and test worm before the paired interval, so that the interval covers seed-to-seed
# as well as worm-to-worm spread.

# %% tags=["remove-cell"]
plotting.glue_texts(preprocess.derivative_texts(worms), "deriv_")

# %%
causal_data = TaskData.build(worms, "2-state", PAPER_NEURONS, derivative_kind="causal")
causal_rows = tj.seed_means(
    tj.run_seeds(
        ("persistence", "linear", "linear-ar", "mlp", "gnn"),
        causal_data,
        experiments.unseen_splits(causal_data, 4, cfg.max_subsets, classify=False),
        cfg.hidden,
        train_cfg,
        cfg.n_seeds,
    )[0]
)

# %% tags=["remove-cell"]
results.add_frame(causal_rows, "causal-mse", "mse", "mse")
results.add_frame(
    causal_rows.dropna(subset=["mse_sd_over_seeds"]),
    "causal-mse",
    "mse-sd-over-seeds",
    "mse_sd_over_seeds",
)
results.save()

# %% tags=["hide-input"]
causal = metric_table(load_results("trajectories", cfg.profile), "causal-mse", "mse")
causal_at = causal[causal.step.isin([1, 8, 16])].pivot_table(
    index="model", columns="step", values="mse"
)
centred_at = mse[
    (mse.n_train_worms == 4)
    & mse.step.isin([1, 8, 16])
    & mse.model.isin(causal_at.index)
].pivot_table(index="model", columns="step", values="mse")
step16 = {
    m: evaluate.paired_difference(
        causal[causal.step == 16],
        m,
        "persistence",
        metric="mse",
        higher_is_better=False,
    )
    for m in ("gnn", "mlp", "linear", "linear-ar")
}
gnn_vs_ar = evaluate.paired_difference(
    causal[causal.step == 16], "gnn", "linear-ar", metric="mse", higher_is_better=False
)
seed_sd = metric_table(
    load_results("trajectories", cfg.profile), "causal-mse", "mse-sd-over-seeds"
).query("step == 16")

causal_table = plotting.table(
    pd.concat(
        {"past-only derivative": causal_at, "centred derivative": centred_at}, axis=1
    ),
    digits=4,
)

# %% tags=["remove-input"]
plotting.numbered_table(
    causal_table,
    "tbl-causal-mse",
    "Mean MSE on unseen worms (4 training worms) at steps 1, 8 and 16 with the "
    "past-only derivative (left block) and, for comparison, the paper's centred one (right block, "
    f"from {{numref}}`tbl-mse-steps`); networks averaged over {cfg.n_seeds} seeds. Paired against persistence at "
    "step 16, past-only features: "
    + "; ".join(
        f"{m} − persistence {evaluate.interval_text(d, 4)} ({d['verdict']})"
        for m, d in step16.items()
    )
    + f"; GNN − linear AR {evaluate.interval_text(gnn_vs_ar, 4)} ({gnn_vs_ar['verdict']}). "
    "The standard deviation over seeds of "
    "a network's 16-step MSE on one split and test worm: "
    + ", ".join(
        f"{m} {g.mse_sd_over_seeds.median():.4f} (median)"
        for m, g in seed_sd.groupby("model")
    )
    + ".",
)

# %% [markdown]
# ## Example rollouts on an unseen worm
#
# The first 4-worm model (seed 0 of its replicates) predicts its held-out worm from a reversal
# onset (the initial frame is the last forward frame) and from the middle of forward crawling,
# for the command interneuron AVAL, the RIM motor interneuron RIML and the B-type motor neuron
# VB02.

# %%
test_worm = int(torch.nonzero(splits4[1][0].any(-1))[0])
starts = {
    kind: tj.example_start(data.y[test_worm], kind)
    for kind in ("reversal-onset", "forward")
}
shown = {name: models4[name] for name in ("persistence", "linear", "mlp", "gnn")}
panels = tj.example_rollouts(
    shown, data, 0, test_worm, starts, ("AVAL", "RIML", "VB02"), device=train_cfg.device
)
fig = plotting.rollout_panels(panels, worms[test_worm].fps)

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-rollouts",
    alt="Predicted and true traces of AVAL, RIML and VB02 over 16 steps, from a reversal onset and from forward crawling.",
    text=f"Free-running 16-step predictions on worm {data.worms[test_worm]}, unseen by a "
    f"model trained on worms {splits4[2][0]['train']}: recorded trace (black; shaded: frames "
    "given to the models) and predictions, at a reversal onset (top) and during forward crawling "
    "(bottom). Traces are min–max normalised per recording. The paper shows no rollouts.",
)

# %% [markdown]
# ## Where prediction breaks down
#
# The paper attributes the GNN's success to "largely deterministic" dynamics with "sparse
# bifurcations". If so, the error should concentrate in windows whose predicted span contains
# a behavioural transition (forward ↔ reverse, or a turn): from one frame a model cannot know
# *when* the worm will switch. Below, the 4-worm models' errors (seed 0 of the networks) on
# their test worms, split by whether the window contains a transition.

# %%
breakdown = tj.errors_by_transition(
    {name: models4[name] for name in ("persistence", "linear", "mlp", "gnn")},
    data,
    splits4,
    device=train_cfg.device,
)

# %% tags=["remove-cell"]
results.add_frame(
    breakdown[breakdown.transition],
    "breakdown-with-transition",
    "mse",
    "mse",
    n_train_worms=4,
)
results.add_frame(
    breakdown[~breakdown.transition],
    "breakdown-without-transition",
    "mse",
    "mse",
    n_train_worms=4,
)

# %% tags=["hide-input"]
split_summary = experiments.summarise(
    breakdown, ["model", "transition", "step"], metric="mse"
)
breakdown_table = split_summary.pivot(
    index="model", columns=["transition", "step"], values="mean"
)
breakdown_table.columns = [
    f"{'with' if t else 'without'} transition, step {s}"
    for t, s in breakdown_table.columns
]
breakdown_shown = plotting.table(breakdown_table.reindex(list(shown)), digits=4)

# %% tags=["remove-input"]
windows = breakdown[(breakdown.model == "gnn") & (breakdown.step == 16)]
share = windows[windows.transition].n_windows.sum() / windows.n_windows.sum()
ratio = (
    split_summary.set_index(["model", "transition", "step"])["mean"]
    .unstack("transition")
    .pipe(lambda t: t[True] / t[False])
).xs(16, level="step")
plotting.numbered_table(
    breakdown_shown,
    "tbl-breakdown",
    "Mean MSE on test worms of windows whose 16 predicted frames contain a "
    "behavioural transition, and of windows that do not (4 training worms). "
    f"{share:.0%} of windows contain one. At step 16, the error with a transition divided by "
    "the error without: "
    + ", ".join(f"{m} {ratio[m]:.1f}×" for m in shown)
    + ". "
    + (
        "Every model's error is higher across a transition: prediction breaks down at the "
        "bifurcations, as the paper suggests."
        if (ratio[list(shown)] > 1).all()
        else "Not every model's error is higher across a transition (ratio ≤ 1 above), so the "
        "bifurcations alone do not explain where prediction fails."
    ),
)

# %% [markdown]
# ## The Nichols et al. (2017) worms
#
# The paper's Fig. 5 evaluates on the Nichols worms, which share only AIBR, AVAL and VB02 with
# the Kato set. This section trains every model on all five Kato worms on those three neurons
# and tests on the Nichols worms; it runs by itself when the files are present
# (`wormlib.data.fetch("nichols2017", ...)`).

# %%
nichols = load_if_present(load_nichols2017)

# %% tags=["hide-input"]
if nichols is not None:
    from wormlib.preprocess import NICHOLS_SHARED

    both = TaskData.build(worms + nichols, "2-state", NICHOLS_SHARED)
    nichols_rows, _ = tj.run(
        tj.MODELS,
        both,
        experiments.transfer_split(both, len(worms), "kato2015"),
        cfg.hidden,
        train_cfg,
    )
    display(
        experiments.summarise(
            nichols_rows[nichols_rows.step.isin([1, 8, 16])],
            ["model", "step"],
            metric="mse",
        )
    )

# %% tags=["remove-cell"]
if nichols is not None:
    results.add_frame(nichols_rows, "nichols-mse", "mse", "mse")
results.save()
print(
    f"{len(results.records)} records → results/{'' if cfg.profile == 'full' else cfg.profile + '/'}trajectories-without-future.json"
)

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

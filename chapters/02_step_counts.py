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
# (sec-steps)=
# # How long each network trains
#
# Every network of the book trains for a fixed number of optimiser steps. The paper does not
# say how many. This page chooses them per family of networks from learning curves on
# training worms only, and then shows how the choice scores on test worms that took no part
# in it.


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 02_step_counts` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import numpy as np

from wormlib import jobs, plotting, provenance, stepcount
from wormlib.data import load_kato2015
from wormlib.results import Results

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("02_step_counts", profile, device, seed)
print(provenance.banner(cfg))
plotting.use_style()
results = Results("models-steps", cfg.profile)
workers = jobs.worker_count(cfg.device)  # cannot change a result (wormlib.jobs)

# %% tags=["hide-input"]
worms = load_kato2015()

# %% [markdown]
# ## Learning curves and the choice
#
# The profile sets a ceiling on the optimiser steps; below it, each family of networks trains for the steps that learning curves
# on training worms chose (`wormlib.stepcount`), nested as chapter 3 chooses its window. On a
# design setting (4 states with 3 training worms for the classifiers, 2 states with 4 for
# chapter 4's trajectory networks), every outer training subset is split leave-one-worm-out;
# the networks train on the inner splits, and the held-out training worm is scored at seven
# checkpoints of that one run. For each outer subset the
# {term}`one-standard-error rule <One-standard-error rule>` picks the fewest steps whose mean
# held-out score is within one standard error of the best checkpoint's, and a family trains
# for the most steps that any outer subset chose for any of its networks. The outer models
# train alongside and are scored on their test worms at the same checkpoints: they are drawn
# below and never used to choose. `chapters/profiles.toml` holds the choice, and a test checks
# that it is the one this page computed.

# %%
curves = stepcount.run(
    worms, cfg.hidden, cfg.train_config(family_steps=()), cfg.max_subsets, workers
)
chosen = stepcount.choices(curves)
steps = stepcount.family_steps(chosen)
steps_table = stepcount.steps_table(chosen, cfg.steps, dict(cfg.family_steps))
audit = stepcount.audit(curves, chosen, cfg.steps)

# %% tags=["remove-cell"]
for family, n in steps.items():
    results.add("step-count", "steps", n, model=family)
results.add_frame(chosen, "step-count-per-outer-subset", "steps", "steps", task="")
for column in ("own_choice", "family_steps", "ceiling"):
    results.add_frame(
        audit.reset_index(), "step-count-audit", column.replace("_", "-"), column, task=""
    )
results.save()

# %% tags=["nbval-check-output", "remove-cell"]
print(steps_table.to_string())

# %% tags=["remove-input", "full-width"]
plotting.numbered_table(
    plotting.table(steps_table.rename(columns={
        "chosen": "chosen per outer subset", "steps": "family's steps",
        "trained": "steps trained in this profile",
    })),
    "tbl-steps",
    f"Optimiser steps per network family, ceiling {cfg.steps}. Look at the last two columns: "
    "the book trains every family for the steps its curves chose (a test fails otherwise). "
    "The networks named choose; every other network of a family follows them (e.g. the "
    "connectome GNN the GNNs, a 10-frame window the windowed networks).",
)

# %% tags=["remove-input", "full-width"]
improving = audit.index[audit.improving_at_ceiling].map(stepcount.family_of).unique()
classifiers = audit[audit.metric == "balanced_accuracy"]
gain = (classifiers.family_steps - classifiers.own_choice).mean()
plotting.numbered_table(
    plotting.table(
        audit.drop(columns="improving_at_ceiling")
        .replace({"metric": {"balanced_accuracy": "bal. accuracy", "mse": "16-step MSE"}})
        .rename(columns={
            "own_choice": "at each subset's own choice",
            "family_steps": "at the family's steps",
            "ceiling": f"at {cfg.steps} steps",
        }),
        digits=4,
    ),
    "tbl-steps-audit",
    "The outer models' score on their test worms (balanced accuracy, or the trajectory "
    "networks' 16-step error) at three step counts, read after the choice and never used "
    "for it: at each outer subset's own choice (strictly nested: that subset's test worms "
    "are in none of its curves), at the family's steps (the most any subset chose: with "
    "five worms, a worm that is one subset's test worm validates another subset's curve), "
    "and at the ceiling. Look at the first two columns: over the classifiers, the family's "
    f"steps score {gain:+.3f} balanced accuracy against the strictly nested choice on "
    "average. Still improving at the ceiling "
    f"(the median subset's best checkpoint is the last): {', '.join(improving) or 'none'}; "
    "these families are trained for the ceiling, not for their curve's optimum.",
)

# %%
fig = plotting.learning_curves(curves, stepcount.FAMILIES, steps)

# %% tags=["remove-input"]
saved_share = 1 - np.mean(list(steps.values())) / cfg.steps
plotting.figure(
    fig,
    "fig-learning-curves",
    alt="Learning curves per network family: balanced accuracy or trajectory error against "
    "optimiser steps, on held-out training worms (solid) and on test worms (dashed), with the "
    "chosen step count as a dotted line.",
    text="Learning curves on the design settings: each network's mean score on the held-out "
    "training worms of the inner splits (solid; this chooses) and its outer models' mean on "
    "the test worms (dashed; shown only), against optimiser steps; dotted: the family's steps. "
    "Balanced accuracy for the classifiers (higher is better), the 16-step trajectory error "
    "for chapter 4's networks (lower is better, log scale). Look at where the solid lines "
    f"flatten. Averaged over the families, the choice trains {saved_share:.0%} fewer steps "
    "than the ceiling.",
)

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

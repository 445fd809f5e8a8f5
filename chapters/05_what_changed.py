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
# # How the verdicts changed
#
# The scorecard ({doc}`05_discussion`) is the state of the evidence now. This page shows how
# its last two revisions moved it: the new verdict rule and normalisation contract, then each
# network family's steps from its learning curve. For each, the rows whose verdict moved, with
# the evidence before and the reason, so that a reader who saw an earlier version of the book
# can tell what changed and why.


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 05_what_changed` (the book's full profile; add
# `--profile quick` for a minute-long check). It needs the results of chapters 3 and 4 and of
# chapter 5's two section pages, and the earlier scorecards kept in `results/history/`;
# it trains nothing. Its measured run time is on the {doc}`../status` page.
# ```


# %% tags=["hide-input"]
import json

from myst_nb import glue

from wormlib import plotting, provenance, scorecard
from wormlib.results import Results, load_results, moved_since, results_path

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("05_what_changed", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
results = Results("discussion-changes", cfg.profile)

# %% tags=["hide-input"]
records = scorecard.evidence_records(cfg.profile)  # the records the scorecard reads
card = scorecard.build(records)
chapter3 = load_results("classification", cfg.profile)  # for the baselines' moves


# %% [markdown]
# ## The verdict rule and the normalisation contract
#
# The scorecard's verdict rule ({doc}`05_discussion`) replaced an earlier one (the verdict on either metric; seen worms on
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
    f"The {len(changes)} rows whose verdict changed with the new verdict rule and normalisation, and why; "
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
# ## The step counts
#
# Each network now trains for the steps its family's learning curve chose on training worms
# (chapter 2, {ref}`sec-steps`), not one count shared by every family, and Table 1 and Figs.
# 4A–B show the seed replicates that the verdicts read. The rows whose verdict moved with that
# change, against the scorecard before it (`results/history/scorecard-before-step-counts.json`,
# which keeps each row's evidence then):

# %% tags=["remove-input"]
before_steps = json.loads(results_path("history/scorecard-before-step-counts", cfg.profile).read_text())
step_changes = scorecard.revision(
    card, before_steps, why="each family's steps from its learning curve on training worms"
)
plotting.numbered_table(
    plotting.table(step_changes, headers={"number": "row", "before": "earlier verdict", "now": "verdict now"}),
    "tbl-scorecard-steps",
    (f"The {len(step_changes)} row{'s' if len(step_changes) > 1 else ''} whose verdict changed when each network family's "
     "steps came from its learning curve, with the evidence before (the evidence now is in "
     f"{{numref}}`tbl-scorecard`); the other {len(card) - len(step_changes)} kept theirs."
     if len(step_changes) else
     "No row's verdict changed when each network family's steps came from its learning curve."),
)

# %% tags=["remove-cell"]
results.add("scorecard-revision-issue-48", "rows-changed", len(changes))
results.add("scorecard-revision-step-counts", "rows-changed", len(step_changes))
results.save()
glue("n_rows", str(len(card)), display=False)

# %% [markdown]
# ## Summary
#
# Of the scorecard's {glue:text}`n_rows` rows, the tables above list every one whose verdict
# moved; a row not listed kept its verdict through both. Each earlier scorecard is
# kept, with its evidence, in `results/history/`, so a later revision can be shown the same way.

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

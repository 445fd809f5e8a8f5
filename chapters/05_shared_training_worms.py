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
# # Test worms that share training worms
#
# The scorecard's verdict rule ({doc}`05_discussion`) takes the five test worms as independent.
# On unseen worms they need not be. This page decides every claim again with an interval
# corrected for the overlap of training worms between test worms, and asks by simulation how
# much that correction buys with this book's designs.


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 05_shared_training_worms` (the book's full profile; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) and the results of chapters 3 and 4 and of
# chapter 5's two section pages —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```


# %% tags=["hide-input"]
import numpy as np
from IPython.display import Markdown, display
from myst_nb import glue

from wormlib import plotting, provenance, scorecard
from wormlib.results import Results

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("05_shared_training_worms", profile, device, seed)
print(provenance.banner(cfg))
print(cfg.describe())
plotting.use_style()
results = Results("discussion-overlap", cfg.profile)

# %% tags=["hide-input"]
records = scorecard.evidence_records(cfg.profile)  # the records the scorecard reads
card = scorecard.build(records)


# %% [markdown]
# ## The overlap, and a corrected interval
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
# ## How much the correction buys
#
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


# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

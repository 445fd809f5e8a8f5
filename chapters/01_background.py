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
# # Background: manifolds and individual variability
#
# Wang et al. (2021) {cite}`wang2021` start from two observations about the Kato et al. (2015) {cite}`kato2015` recordings
# (their Section 2.1): whole-brain activity of each immobilised worm lies on a low-dimensional
# manifold whose cycles follow the motor command sequence, yet identified neurons behave
# differently from worm to worm, so that the manifold structure is said to disappear when the
# worms are pooled. This chapter re-derives both observations on the five real `WT_NoStim`
# recordings, which every later chapter uses.
#
# ```{admonition} In this chapter
# :class: important
# **Asked:** is each worm's activity low-dimensional, and do identified neurons behave alike
# across worms? **Found:** {glue:text}`ch1_findings`
# ```


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 01_background` (the book's full {term}`profile <Profile>`; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from myst_nb import glue

from wormlib import plotting, preprocess, provenance, variability
from wormlib.data import load_kato2015
from wormlib.results import Results, load_results

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("01_background", profile, device, seed)
print(provenance.banner(cfg))
plotting.use_style()
results = Results("background", cfg.profile)

# %% [markdown]
# ## The recordings
#
# Five worms, each imaged for 1080 s at about 2.9 volumes per second. Traces are Kato's
# bleach-corrected ΔF/F₀; every frame carries one of Kato's eight behavioural labels.
# The data are located through `WORMLIB_DATA` (see the README); each file's SHA-256 is checked
# against the folder's `SHA256SUMS` when it is loaded.

# %% tags=["nbval-check-output"]
worms = load_kato2015()
for rec in worms:
    print(rec)
shared = preprocess.shared_neurons(worms)
print(
    f"paper's 15 neurons identified in all 5 worms here: {len(shared)}; missing:",
    sorted(set(preprocess.PAPER_NEURONS) - set(shared)),
)

# %% tags=["hide-input"]
summary = pd.DataFrame({f"worm {r.worm}": r.state_counts() for r in worms}).T
summary = summary[list(plotting.STATE_LABELS)]  # behavioural order, not alphabetical
summary.insert(0, "fps", [round(r.fps, 3) for r in worms])
summary.insert(0, "identified", [len(r.identified) for r in worms])
summary.insert(0, "neurons", [r.n_neurons for r in worms])
summary.insert(0, "frames", [r.n_frames for r in worms])
summary.loc["total"] = summary.sum(numeric_only=True)
summary.loc["total", "fps"] = np.nan
recordings_table = plotting.transposed_table(
    summary.rename(columns=plotting.STATE_LABELS),
    digits=2,
    headers={"fps": "frame rate (Hz)", "identified": "identified neurons"},
)

# %% tags=["remove-input"]
plotting.numbered_table(
    recordings_table,
    "tbl-recordings",
    "Frames, neurons (ROIs), identified neurons, frame rate and frames per "
    "behavioural state for each worm (one column per worm). The paper describes about 100 neurons over about 18 min "
    "and 3,000–4,000 time steps per worm (Sections 4.1, 4.2); the totals match those reported by "
    "an independent re-analysis of `WT_NoStim.mat` (forward 1448, slowing 5200, sustained reversal 5323, no state 176).",
)

# %% [markdown]
# VB01 is not named in worm 5 of this copy of the data, so only 14 of the paper's 15 neurons
# are identified in all five worms. Wherever a fixed neuron list is needed, a missing neuron is
# reported by a mask (`NeuronFeatures.present`), never by shifting columns; the analyses below
# that pool worms use the 14 shared neurons.
#
# ## Fig. 1A–B: whole-brain activity and behaviour

# %%
fig = plotting.raster(worms[0], preprocess.PAPER_NEURONS)

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-raster",
    alt="Heat map of the normalised activity of every neuron of Kato worm 1 over 18 minutes, the 15 shared neurons on top, under a strip of behavioural states.",
    text=f"(paper Fig. 1A) Activity of all {worms[0].n_neurons} neurons of worm 1 "
    "(each row min–max normalised); the paper's shared neurons in the upper panel, the top "
    "strip is the behavioural state. The paper's Fig. 1A shows the same layout for a Kato worm.",
)

# %%
fig = plotting.trace_with_states(worms[0], "AVAL", minutes=(0, 6))

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-aval-trace",
    alt="AVAL's calcium trace over 6 minutes, high during reversals, on a background coloured by behavioural state.",
    text="(paper Fig. 1B) AVAL's ΔF/F over the first 6 minutes of worm 1, with the "
    "behavioural state as background colour. AVAL rises at every reversal and stays high through "
    "sustained reversals; it is low during forward crawling and slowing.",
)

# %% [markdown]
# ## Fig. 1C: the same neuron, different worms
#
# For each state we align every episode (a maximal run of frames in that state) at its onset
# and average the neuron's normalised activity over the first 10 s *within* the episode. Frame
# rates differ between worms, so episodes are resampled on a common 1/3-s grid.

# %%
fig = plotting.onset_aligned_grid(
    worms, ("ALA", "RIML"), ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")
)

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-onset-aligned",
    alt="Grid of the mean activity of ALA and RIML aligned to the onset of each behavioural state, one line per worm.",
    text="(paper Fig. 1C) Mean normalised activity of ALA and RIML from the onset of "
    "each behavioural state, one line per worm with its 95% confidence band over episodes "
    "(t-interval; shown where a worm has ≥ 3 episodes), and the mean over all worms' episodes "
    "(black dashed). The paper reports that ALA's average resembles no individual worm and that "
    "RIML is consistent across worms during dorsal turns but not during reversals.",
)

# %% [markdown]
# ## Fig. 1D: which neurons behave consistently across worms?
#
# The paper shows, for each shared neuron, the probability that the five worms' activity was
# drawn from one distribution, and reports that only 3 of the 15 neurons were statistically
# consistent. Its test is {term}`not stated in the available text <Not stated in the available text>`. Ours: for each neuron and state, a
# Kruskal–Wallis test across worms of the per-episode mean activity (episodes, not frames, are
# the independent units: frames 1/3 s apart are strongly autocorrelated). A neuron counts as
# consistent when no state rejects at α = 0.05 after Bonferroni correction over all tests.

# %%
states = ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")
pvalues = variability.consistency_pvalues(worms, preprocess.PAPER_NEURONS, states)
threshold = 0.05 / pvalues.notna().to_numpy().sum()
consistent = variability.consistent_neurons(pvalues)
per_state = (pvalues >= 0.05).sum()
fig = plotting.pvalue_heatmap(pvalues, threshold)

# %% tags=["nbval-check-output", "remove-cell"]
print(
    f"neurons tested: {int(pvalues.notna().any(axis=1).sum())}; consistent in every state: {len(consistent)} {consistent}"
)
print(
    "neurons not rejected at p >= 0.05 (uncorrected), per state:", per_state.to_dict()
)

# %% tags=["remove-input"]
results.add("consistency", "n-consistent-neurons", len(consistent), population="seen")
for state, n in per_state.items():
    results.add(f"consistency-{state}", "n-neurons-p-above-0.05", n, population="seen")
plotting.figure(
    fig,
    "fig-consistency",
    alt="Heat map of log10 p-values per neuron and state for the consistency of activity across the five worms.",
    text=f"(paper Fig. 1D) log10 p-value that all five worms' per-episode activity of a "
    f"neuron in a state comes from one distribution (Kruskal–Wallis); × marks rejection after "
    f"Bonferroni correction (p < {threshold:.1e}). VB01 is blank: worm 5 lacks it. Paper: 3 of 15 "
    f"neurons consistent. Here: {len(consistent)} of {int(pvalues.notna().any(axis=1).sum())} "
    f"neurons are consistent in every state; per state, between {per_state.min()} and "
    f"{per_state.max()} neurons are not rejected even without correction. Individual "
    f"variability is, if anything, stronger than the paper's figure suggests.",
)

# %% tags=["remove-cell"]
results.save()
# the chapter's findings: this page's consistency test and the manifold page's records
manifolds = load_results("background-manifolds", cfg.profile)
variance = manifolds.query(
    "experiment == 'pca-all-neurons-derivative' and metric == 'variance-explained-3pc'"
).value
held_out = manifolds.query("experiment == 'held-out-separation-admm'").value
glue(
    "ch1_findings",
    f"three principal components hold {variance.min():.0%}–{variance.max():.0%} "
    "of each worm's variance (all neurons' derivative; the paper, quoting Kato et al.: about 65%); "
    f"{len(consistent)} of {int(pvalues.notna().any(axis=1).sum())} tested neurons behave "
    "consistently across worms in every state (the paper: 3 of 15); and on Brennan & Proekt's "
    "manifold a held-out worm's frames fall among the same states' frames "
    f"({held_out.mean():.0%} nearest-centroid accuracy over 4 states).",
    display=False,
)

# %% [markdown]
# ## What this chapter establishes for the rest of the book
#
# * The five recordings load with the documented shapes and state totals; only 14 of the
#   paper's 15 shared neurons are identified in all five worms here (VB01 is missing in worm 5).
# * Identified neurons are individually variable: few if any behave the same way in every
#   worm, state by state. This is why generalising to unseen worms (chapters 3 and 4) is hard.
# * Per-worm activity is low-dimensional ({numref}`tbl-variance`), and Brennan & Proekt's
#   manifold places a worm it never saw along the same motor sequence
#   ({numref}`fig-admm-manifold`): both on the chapter's next page, {doc}`01_manifolds`.

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

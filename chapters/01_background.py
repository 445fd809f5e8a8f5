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

from wormlib import admm, manifold, plotting, preprocess, provenance, variability
from wormlib.data import load_kato2015
from wormlib.preprocess import CLASSES, task_labels
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

# %% [markdown]
# ## The Kato manifold: per worm, then pooled
#
# Kato et al. {cite}`kato2015` ran PCA on the time derivatives of each worm's ΔF/F (all neurons) and found that
# three components explain most of the variance; the paper quotes "most variations (65%)"
# (Section 2.1). We compute the derivative with a Savitzky–Golay filter (2-s window;
# `wormlib.preprocess.derivative`) and report the 3-component variance for the derivative and,
# for comparison, for the ΔF/F itself.
#
# ```{admonition} What each feature "sees"
# :class: note
# The models of chapters 3–5 read, per neuron and frame, two numbers: the ΔF/F trace at frame t
# (sees frame t only) and its derivative. The paper's kind of derivative, used throughout, is a
# **centred** fit over {glue:text}`deriv_frames` frames at {glue:text}`deriv_fps`: the value at
# frame t is computed from frames {glue:text}`deriv_centred`, so a "single-frame" input carries
# {glue:text}`deriv_future_s` of the future. A **past-only** derivative
# (frames {glue:text}`deriv_causal`) is run beside it in chapter 3 ({numref}`tbl-seeds-causal`) and chapter 4 ({numref}`tbl-causal-mse`). Both are
# min–max scaled over the whole recording, which also uses the future (an offline decoder).
# ```

# %% tags=["remove-cell"]
plotting.glue_texts(preprocess.derivative_texts(worms), "deriv_")

# %%
variance_3pc = {  # signal → worm → variance its own 3 components explain, all its neurons
    signal: {
        worm: pca.explained.sum()
        for worm, pca in manifold.per_worm_pca(worms, signal).items()
    }
    for signal in ("derivative", "trace")
}

# %% tags=["remove-cell"]
for signal, per_worm in variance_3pc.items():
    for worm, explained in per_worm.items():
        results.add(
            f"pca-all-neurons-{signal}",
            "variance-explained-3pc",
            explained,
            population="seen",
            train=worm,
            test=worm,
        )

# %% [markdown]
# To ask whether the structure survives pooling, we restrict every worm to the 14 neurons all
# five share, fit one PCA on all worms' frames together (each worm centred on its own mean),
# and measure how much of each worm's variance the pooled 3 components capture, next to the
# worm's own 3 components on the same neurons. To put a number on "structure", we also ask how
# well the seven behavioural states separate in each 3-component space: the fraction of frames
# whose nearest state centroid is their own state (chance ≈ the largest state's share).

# %%
own = manifold.per_worm_pca(worms, "derivative", shared)
pooled = manifold.pooled_pca(worms, shared, "derivative")
pca_scores = []
for rec in worms:
    x = manifold.activity(rec, "derivative", shared)
    labelled = rec.states != rec.state_names.index("nostate")
    for name, pca, train in (
        ("own", own[rec.worm], rec.worm),
        ("pooled", pooled, "1,2,3,4,5"),
    ):
        pca_scores.append(
            dict(
                pca=name,
                train=train,
                test=rec.worm,
                variance=pca.variance_captured(x),
                accuracy=manifold.centroid_accuracy(
                    pca.project(x), rec.states, labelled
                ),
            )
        )

# %% tags=["remove-cell"]
for row in pca_scores:
    for metric, key in (
        ("variance-explained-3pc", "variance"),
        ("nearest-centroid-accuracy-3pc", "accuracy"),
    ):
        results.add(
            f"pca-shared-neurons-{row['pca']}",
            metric,
            row[key],
            population="seen",
            train=row["train"],
            test=row["test"],
        )
results.save()

# %% tags=["hide-input"]
records = load_results("background", cfg.profile)
table = records.query("metric == 'variance-explained-3pc'").pivot_table(
    index="experiment", columns="test", values="value"
)
table.columns = [f"worm {w}" for w in table.columns]
table["mean"] = table.mean(axis=1)
variance_table = plotting.table(table, headers={"mean": "mean"})

# %% tags=["nbval-check-output", "remove-cell"]
print(table.round(2).to_string())

# %% tags=["remove-input"]
best = table.loc["pca-all-neurons-derivative"]
plotting.numbered_table(
    variance_table,
    "tbl-variance",
    "Fraction of variance in the first three principal components, per worm "
    "(rows: all neurons' derivative — Kato's analysis; all neurons' ΔF/F; the 14 shared neurons' "
    "derivative with each worm's own PCA; the same data projected on one PCA of all worms pooled). "
    f"Paper (quoting Kato et al.): about 65%. Here, with our derivative: "
    f"{best.drop('mean').min():.0%}–{best.drop('mean').max():.0%} "
    f"(mean {best['mean']:.0%}); with ΔF/F: {table.loc['pca-all-neurons-trace'].drop('mean').min():.0%}–"
    f"{table.loc['pca-all-neurons-trace'].drop('mean').max():.0%}. The number depends on how the "
    "derivative is regularised, which the derived data do not let us match exactly.",
)

# %% tags=["hide-input"]
separation = records.query("metric == 'nearest-centroid-accuracy-3pc'").pivot_table(
    index="experiment", columns="test", values="value"
)
separation.columns = [f"worm {w}" for w in separation.columns]
separation["mean"] = separation.mean(axis=1)
separation_table = plotting.table(separation)

# %% tags=["remove-input"]
plotting.numbered_table(
    separation_table,
    "tbl-separation",
    "Separation of the seven behavioural states in three principal components of "
    "the 14 shared neurons' derivative: fraction of frames nearest to their own state's centroid, "
    "in each worm's own PCA and in the PCA of all worms pooled. The paper gives no number for this "
    f"(not stated in the available text). Here: own {separation.loc['pca-shared-neurons-own', 'mean']:.0%}, "
    f"pooled {separation.loc['pca-shared-neurons-pooled', 'mean']:.0%} on average.",
)

# %% tags=["hide-input"]
panels = [
    (
        f"worm {r.worm}: own PCA",
        own[r.worm].project(manifold.activity(r, "derivative", shared)),
        r,
    )
    for r in worms
]
panels += [
    (
        f"worm {r.worm}: pooled PCA",
        pooled.project(manifold.activity(r, "derivative", shared)),
        r,
    )
    for r in worms
]
fig = plotting.trajectories_3d(
    panels, ncols=5, states=[s for s in worms[0].state_names if s != "nostate"]
)

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-manifolds",
    alt="Ten 3-D trajectories in principal-component space coloured by behavioural state: each worm's own PCA on top, one pooled PCA below.",
    text="(Kato et al. 2015; paper Fig. S1 and Section 6) Trajectories of the 14 shared "
    "neurons' activity derivative in 3 principal components, coloured by behavioural state. Top: "
    "each worm's own PCA. Bottom: one PCA fitted on all five worms pooled. The paper (Sections 2.1 "
    "and 6, after Brennan & Proekt 2019 {cite}`brennan2019`) states that the structure found per worm is no longer "
    "observed when the worms are pooled. On these data, restricted to the shared neurons and with "
    "each worm centred on its own mean, the pooled components capture nearly as much of each "
    "worm's variance as its own ({numref}`tbl-variance`) and the states separate about as well ({numref}`tbl-separation`): "
    "the reversal loop and the forward/turn cluster remain. What pooling cannot do is use the "
    "~100 unidentified neurons per worm, which have no counterpart across worms.",
)

# %% [markdown]
# ## Brennan & Proekt's manifold (paper Fig. 2B–C)
#
# Brennan & Proekt {cite}`brennan2019` built one manifold for all worms with *asymmetric
# diffusion map modelling* (ADMM): delay-embed the activity, link each frame to the frames
# nearest to its observed **next** state (a Gaussian kernel scaled by the local velocity noise),
# and take the eigenvectors of the resulting transition matrix P. `wormlib.admm` ports their
# public MATLAB code; the port's choices are listed at the end of this section. Here the
# manifold is built from the normalised ΔF/F of the {glue:text}`admm_shared` neurons every worm
# shares, each frame embedded to read frames {glue:text}`admm_embedding`. The picture is drawn in the plane of the **cycle
# mode**, the first complex eigenvector of P, whose angle is Brennan & Proekt's phase along the
# motor sequence. Left: the manifold of four worms with the fifth worm — never used to build it —
# placed on it frame by frame (its nearest frames in the kernel's metric). Right: the manifold of
# all five worms.

# %% tags=["remove-cell"]
embedding, fps = admm.FIGURE_EMBEDDING, np.mean([r.fps for r in worms])
plotting.glue_texts(
    {
        "shared": str(len(shared)),
        "embedding": f"{embedding.reads}, ≈ {embedding.window / fps:.0f} s of past",
    },
    "admm_",
)

# %%
states4 = [task_labels(r, "4-state") for r in worms]
picture = admm.figure_manifolds(admm.trace_activity(worms, shared), states4)
four, everyone = tuple(range(len(worms) - 1)), tuple(range(len(worms)))  # training worms
separation_admm = pd.DataFrame(picture["separation"])
cycle, cycle_all = picture["cycle"], picture["cycle_all"]
period_s = 2 * np.pi / np.angle(cycle) / worms[-1].fps  # seconds per turn of the cycle
fig = plotting.admm_manifold(
    [
        dict(
            title=f"four worms; worm {worms[-1].worm} placed on it",
            nodes=picture["held_out_nodes"],
            states=admm.node_values(states4, four),
            trajectory=picture["held_out"],
            trajectory_states=states4[-1],
        ),
        dict(
            title=f"all five worms, {len(shared)} shared neurons",
            nodes=picture["all_nodes"],
            states=admm.node_values(states4, everyone),
        ),
    ],
    CLASSES["4-state"],
)

# %% tags=["remove-cell"]
for row in separation_admm.itertuples():
    for space in ("admm", "pca"):
        results.add(
            f"held-out-separation-{space}",
            "nearest-centroid-accuracy-2d",
            getattr(row, space),
            task="4-state",
            population="unseen",
            test=worms[row.worm].worm,
        )
results.add("admm-cycle", "period-s", period_s, train="1,2,3,4")
results.save()

# %% tags=["remove-input"]
plotting.figure(
    fig,
    "fig-admm-manifold",
    alt="Two scatter plots of manifold frames in the plane of the cycle eigenvector, coloured by forward, reverse and turn states; on the left a held-out worm's trajectory drawn as coloured lines over the grey frames of four worms.",
    text=f"(paper Fig. 2B–C, after Brennan & Proekt 2019) ADMM manifolds of the Kato worms in the "
    f"plane of the cycle mode. Left: built from worms {', '.join(w.worm for w in worms[:-1])}; worm "
    f"{worms[-1].worm}'s frames placed on it (lines, coloured by its 4-state label). Right: built from "
    f"all five worms. The cycle "
    f"mode's eigenvalue turns by {np.angle(cycle):.3f} rad per frame: one trip around takes "
    f"{period_s:.0f} s (all five worms: {2 * np.pi / np.angle(cycle_all) / worms[-1].fps:.0f} s).",
)

# %% [markdown]
# What the manifold adds to the PCA pictures above is **direction and timing**: P is built from
# observed transitions, so its complex mode orders frames along the motor sequence and its
# eigenvalue gives the speed around it — a principal component has neither. It does not separate
# the states better: with each worm held out in turn, its frames' nearest-centroid accuracy over
# the four states is {glue:text}`sep_admm` in this 2-D cycle plane and {glue:text}`sep_pca` in
# the first two principal components of the same embedded activity of the same four worms (mean
# over the five held-out worms).
#
# ```{admonition} The port, and where it differs from the authors' code
# :class: note
# * **Embedding** (`delayEmbedData.m`): frame t → [x(t), Δx(t), x(t−τ), Δx(t−τ), …]; the
#   authors' optional Gaussian smoothing is centred in time and is left out, so every
#   coordinate is past-only. The first frames repeat frame 0 into the past, so every frame has
#   a point. The authors' C. elegans τ and K are not stated in the available text; chapter 3
#   chooses them on training worms only.
# * **z-scoring**: each worm's embedded activity is z-scored by its own statistics, as the
#   authors' optional `useZScore` z-scores the one recording it is given (the book's per-worm
#   normalisation contract, chapter 2; the worms are not pooled), so a held-out frame's place
#   depends on its worm's whole-recording mean and spread, as a network's batch norm does.
# * **Kernel** (`buildAsymmetricDiffusionMap.m`): the authors' defaults (20 neighbours, local
#   window ±4 frames, minimum time 10 frames between linked frames, density correction with a
#   Gaussian of σ = 16 frames). Several worms are one manifold with no link from the last frame
#   of one worm to the first of the next.
# * **Out-of-sample frames**: placed by inverse-distance weighting of their 20 nearest manifold
#   frames in the kernel's metric, with the new frame's velocity noise from its past window
#   only (the authors' window is centred).
# * **Minimal model** (`buildMinimalModel.m`): the phase is the angle of the first complex
#   eigenvector, as theirs; loops (`Manifold.loops`) are Louvain communities of P + Pᵀ rather
#   than of their dense over-populated Pⁿ, which needs O(frames²) memory.
# ```

# %% tags=["remove-cell"]
glue("sep_admm", f"{separation_admm.admm.mean():.0%}", display=False)
glue("sep_pca", f"{separation_admm.pca.mean():.0%}", display=False)
glue(
    "ch1_findings",
    f"three principal components hold {best.drop('mean').min():.0%}–{best.drop('mean').max():.0%} "
    "of each worm's variance (all neurons' derivative; the paper, quoting Kato et al.: about 65%); "
    f"{len(consistent)} of {int(pvalues.notna().any(axis=1).sum())} tested neurons behave "
    "consistently across worms in every state (the paper: 3 of 15); and on Brennan & Proekt's "
    "manifold a held-out worm's frames fall among the same states' frames "
    f"({separation_admm.admm.mean():.0%} nearest-centroid accuracy over 4 states).",
    display=False,
)

# %% [markdown]
# ## What this chapter establishes for the rest of the book
#
# * The five recordings load with the documented shapes and state totals; only 14 of the
#   paper's 15 shared neurons are identified in all five worms here (VB01 is missing in worm 5).
# * Identified neurons are individually variable: few if any behave the same way in every
#   worm, state by state. This is why generalising to unseen worms (chapters 3 and 4) is hard.
# * Per-worm activity is low-dimensional ({numref}`tbl-variance`).

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

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
# # Manifolds: per worm, pooled, and Brennan & Proekt's
#
# The paper's first observation (Section 2.1, after Kato et al. 2015 {cite}`kato2015`): each
# worm's whole-brain activity lies on a low-dimensional manifold whose cycles follow the motor
# command sequence, and that structure is said to disappear when the worms are pooled. This page
# measures both on the five recordings of {doc}`01_background`, with PCA and with Brennan &
# Proekt's manifold (paper Fig. 2B–C).


# %% [markdown]
# ```{admonition} Run this chapter
# :class: tip
# Get the code of this exact page, {{ source_link_chapter }}, or clone the repository; then
# `make env data` and `source .venv/bin/activate`, and run
# `python tools/execute_chapters.py --force 01_manifolds` (the book's full {term}`profile <Profile>`; add
# `--profile quick` for a minute-long check, `--device cuda` on a GPU). It needs the five Kato et al. (2015) worms (`kato2015/`) —
# `make data` fetches them ({doc}`../data`). Its measured run time is on the {doc}`../status` page.
# ```

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from myst_nb import glue

from wormlib import admm, manifold, plotting, preprocess, provenance
from wormlib.data import load_kato2015
from wormlib.preprocess import CLASSES, task_labels
from wormlib.results import Results, load_results

# %% tags=["parameters", "remove-cell"]
profile = "quick"
device = "auto"
seed = 0

# %% tags=["remove-input", "hide-output"]
cfg = provenance.chapter_config("01_manifolds", profile, device, seed)
print(provenance.banner(cfg))
plotting.use_style()
results = Results("background-manifolds", cfg.profile)

# %% tags=["hide-input"]
# the five worms of the chapter's first page and the neurons they all share
worms = load_kato2015()
shared = preprocess.shared_neurons(worms)


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
records = load_results("background-manifolds", cfg.profile)
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
        f"worm {r.worm}\nown PCA",
        own[r.worm].project(manifold.activity(r, "derivative", shared)),
        r,
    )
    for r in worms
]
panels += [
    (
        f"worm {r.worm}\npooled PCA",
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
    "neurons' activity derivative in their first 3 principal components (the panels' axes), coloured by "
    "behavioural state. Top: "
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


# %% [markdown]

# %% tags=["remove-cell"]
print(provenance.elapsed(cfg))

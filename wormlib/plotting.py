"""Figures, in one style. Each function returns a matplotlib Figure and names the paper
figure it reproduces."""

from __future__ import annotations

import re
from collections.abc import Iterable

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from .data import Recording
from .preprocess import minmax
from .variability import mean_with_ci, onset_aligned

STATE_COLOURS = {  # Kato state names (and task classes) → colour
    "fwd": "#1f77b4", "forward": "#1f77b4", "slow": "#6baed6", "slowing": "#6baed6",
    "rev1": "#fdae6b", "reversal-1": "#fdae6b", "rev2": "#e6550d", "reversal-2": "#e6550d",
    "revsus": "#a63603", "sustained-reversal": "#a63603", "reverse": "#d94801",
    "dt": "#31a354", "dorsal-turn": "#31a354", "vt": "#756bb1", "ventral-turn": "#756bb1",
    "nostate": "#d9d9d9",
}
STATE_LABELS = {"fwd": "forward", "slow": "slowing", "rev1": "reversal 1", "rev2": "reversal 2",
                "revsus": "sustained reversal", "dt": "dorsal turn", "vt": "ventral turn",
                "nostate": "no state"}
WORM_COLOURS = plt.get_cmap("tab10").colors


PAGE_PX, INCH_PX = 660, 110
"""The text column at 1280 px, and the pixels per inch of a figure shown at its own size
("figure.dpi"; the "retina" PNG has twice as many, shown at half size)."""
SMALLEST_SHOWN_PX = 0.8 * 16
"""Figure text on the page is at least 80 % of the 16-px body text (issue 50)."""
PAGE_WIDTH_IN = 6.0
"""Figures are drawn at the width of the book's text column (660 px at 1280 px, 110 px an inch
on the page), so that they are shown at their own size: 9-pt text is 13.75 px there, 86 % of the
16-px body text."""


def page_figure(plot):
    """Decorator of the plotting functions: the figure is drawn at most ``PAGE_WIDTH_IN`` wide
    (scaled down whole if wider) and closed, so that a notebook shows it once, where
    :func:`figure` places it with its caption (evaluate the returned Figure to see it yourself)."""
    import functools

    @functools.wraps(plot)
    def wrapped(*args, **kwargs):
        fig = plot(*args, **kwargs)
        width, height = fig.get_size_inches()
        if width > PAGE_WIDTH_IN:
            fig.set_size_inches(PAGE_WIDTH_IN, height * PAGE_WIDTH_IN / width)
            if fig.get_layout_engine() is None:  # the text keeps its size on the smaller canvas: lay it out again
                import warnings

                with warnings.catch_warnings():  # axes tight_layout cannot place keep the figure's own layout
                    warnings.simplefilter("ignore", UserWarning)
                    fig.tight_layout()
        plt.close(fig)
        return fig
    return wrapped


def overlapping_texts(fig, tolerance_px: float = 1.0) -> list[tuple[str, str]]:
    """Every pair of text elements ``fig`` draws (titles, axis labels, the tick labels of ticks in
    view, legend entries, annotations, figure-level text) whose boxes, as the Agg renderer draws
    them, overlap by more than ``tolerance_px`` both ways: text over text, which no reader can read."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = list(fig.texts) + [t for legend in fig.legends for t in legend.get_texts()]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis, (lo, hi) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            if not (ax.axison and axis.get_visible()):
                continue                                                  # axis("off"): nothing drawn
            slack = 1e-9 * max(1.0, abs(hi - lo))                          # a tick exactly at a limit is drawn
            texts += [label for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
                      if lo - slack <= loc <= hi + slack]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text().strip()]
    pairs = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if width > tolerance_px and height > tolerance_px:
                pairs.append((a, b))
    return pairs


def colour_bars_over_panels(fig, tolerance_px: float = 1.0) -> list[tuple[str, str]]:
    """Every colour bar of ``fig`` drawn over a panel that shows its axes (a layout that moved the
    panels after the bar was placed): (the bar's label, the panel's title). A bar inset into a
    blank panel (``axis("off")``) is where it was meant to be."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    every = fig.axes + [child for ax in fig.axes for child in ax.child_axes]  # inset axes too
    bars = [ax for ax in every if hasattr(ax, "_colorbar") and ax.get_visible()]
    panels = [ax for ax in fig.axes if not hasattr(ax, "_colorbar") and ax.get_visible() and ax.axison]
    pairs = []
    for bar in bars:
        box = bar.get_window_extent(renderer)
        for panel in panels:
            other = panel.get_window_extent(renderer)
            width = min(box.x1, other.x1) - max(box.x0, other.x0)
            height = min(box.y1, other.y1) - max(box.y0, other.y0)
            if width > tolerance_px and height > tolerance_px:
                pairs.append((bar.yaxis.label.get_text() or bar.xaxis.label.get_text(), panel.get_title()))
    return pairs


def shown_text_px(fig, smallest_pt: float = 9.0) -> float:
    """The height on the page, at 1280 px, of ``smallest_pt`` text in ``fig``: the PNG is saved
    around everything drawn (legends outside the axes included, 0.1 in of padding each side) and
    shown at its own size, or shrunk to the text column when wider."""
    fig.canvas.draw()
    drawn_px = (fig.get_tightbbox().width + 0.2) * INCH_PX
    return smallest_pt / 72 * INCH_PX * min(1.0, PAGE_PX / drawn_px)


class FigureLayoutError(ValueError):
    """A book figure draws text over text (:func:`overlapping_texts`) or a colour bar over a
    panel (:func:`colour_bars_over_panels`)."""


def figure(fig, name: str, text: str, alt: str) -> None:
    """A numbered, captioned, cross-referenceable figure in the book: ``fig`` is glued (myst-nb)
    under ``name`` (the target of ``{numref}`name```) and shown by a ``glue:figure`` directive
    with the caption ``text`` (MyST; numbers computed by the caller) and the alt text ``alt``.
    A figure whose text overlaps is refused (``FigureLayoutError``), so no page can show one."""
    from IPython.display import Markdown, display
    from myst_nb import glue

    overlaps = overlapping_texts(fig)
    if overlaps:
        raise FigureLayoutError(f"{name}: text drawn over text: " + "; ".join(f"{a!r} / {b!r}" for a, b in overlaps[:6]))
    shown = shown_text_px(fig)
    if shown < SMALLEST_SHOWN_PX:
        raise FigureLayoutError(f"{name}: drawn {fig.get_tightbbox().width:.2f} in wide with its legends and "
                                f"labels, so the page shrinks it and its 9-pt text is {shown:.1f} px "
                                f"(at least {SMALLEST_SHOWN_PX:.1f}): keep it within {PAGE_WIDTH_IN} in")
    covered = colour_bars_over_panels(fig)
    if covered:
        raise FigureLayoutError(f"{name}: colour bar drawn over a panel: "
                                + "; ".join(f"{a!r} over {b!r}" for a, b in covered[:6]))
    glue(name, fig, display=False)
    alt = " ".join(alt.split())
    display(Markdown(f"```{{glue:figure}} {name}\n:name: {name}\n:alt: {alt}\n\n{text}\n```"))


def glue_texts(texts: dict[str, str], prefix: str) -> None:
    """Glue each text under ``prefix + key`` for ``{glue:text}`` in the page's prose (myst-nb)."""
    from myst_nb import glue

    for key, text in texts.items():
        glue(prefix + key, text, display=False)


def use_style() -> None:
    """The book's matplotlib style (call once per chapter). In a notebook, figures are PNGs of
    twice the pixels, shown at their size on the page (the inline backend's "retina" format:
    sharp on high-density screens and when a reader zooms)."""
    from IPython import get_ipython

    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    mpl.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 150, "figure.figsize": (8, 4.5),
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": False,
        "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
        "legend.fontsize": 9, "legend.frameon": False, "font.family": "DejaVu Sans",
        "image.cmap": "viridis",
    })


def state_legend(ax, states) -> None:
    ax.legend(handles=[Patch(color=STATE_COLOURS[s], label=STATE_LABELS.get(s, s)) for s in states],
              loc="upper left", bbox_to_anchor=(1.01, 1.0))


def state_strip(ax, rec: Recording) -> None:
    """A thin colour bar of the per-frame state along the time axis (minutes)."""
    colours = mpl.colors.ListedColormap([STATE_COLOURS[s] for s in rec.state_names])
    ax.imshow(rec.states[None, :], aspect="auto", cmap=colours, interpolation="nearest",
              vmin=-0.5, vmax=len(rec.state_names) - 0.5,
              extent=(rec.time[0] / 60, rec.time[-1] / 60, 0, 1))
    ax.set_yticks([])


@page_figure
def raster(rec: Recording, shared: tuple[str, ...]):
    """Fig. 1A: normalised activity of every neuron: the shared (named) neurons in their own
    panel on top, the others below, under a strip of the behavioural state."""
    first = [rec.column(n) for n in shared if rec.column(n) is not None]
    rest = [i for i in range(rec.n_neurons) if i not in first]
    extent = lambda n: (rec.time[0] / 60, rec.time[-1] / 60, n, 0)  # noqa: E731
    fig, (top, named, others) = plt.subplots(3, 1, figsize=(PAGE_WIDTH_IN, 7.2), sharex=True, gridspec_kw=dict(
        height_ratios=[0.5, len(first) * 0.45, len(rest) * 0.1], hspace=0.04))
    state_strip(top, rec)
    top.set_title(f"Kato 2015 worm {rec.worm}: {rec.n_neurons} neurons, {rec.time[-1] / 60:.0f} min")
    named.imshow(minmax(rec.traces[:, first]).T, aspect="auto", interpolation="nearest", extent=extent(len(first)))
    named.set_yticks(np.arange(len(first)) + 0.5, [rec.labels[i] for i in first], fontsize=9)
    named.set_ylabel("shared neurons")
    im = others.imshow(minmax(rec.traces[:, rest]).T, aspect="auto", interpolation="nearest",
                       extent=extent(len(rest)))
    others.set_ylabel(f"other {len(rest)} neurons")
    others.set_xlabel("time (min)")
    fig.colorbar(im, ax=[top, named, others], label="ΔF/F (min–max per neuron)", shrink=0.6)
    states = [s for s in rec.state_names if s != "nostate" and (rec.states == rec.state_names.index(s)).any()]
    fig.legend(handles=[Patch(color=STATE_COLOURS[s], label=STATE_LABELS.get(s, s)) for s in states],
               loc="upper center", bbox_to_anchor=(0.45, 0.04), ncol=4, title="behavioural state (top strip)")
    return fig


@page_figure
def trace_with_states(rec: Recording, neuron: str, minutes: tuple[float, float] | None = None):
    """Fig. 1B: one neuron's ΔF/F with the behavioural state as background colour."""
    col = rec.column(neuron)
    t = rec.time / 60
    keep = slice(None) if minutes is None else (t >= minutes[0]) & (t <= minutes[1])
    fig, ax = plt.subplots(figsize=(9, 2.8))
    y = rec.traces[keep, col]
    ax.pcolormesh(t[keep], [y.min(), y.max()], rec.states[keep][None, :-1],
                  cmap=mpl.colors.ListedColormap([STATE_COLOURS[s] for s in rec.state_names]),
                  vmin=-0.5, vmax=len(rec.state_names) - 0.5, alpha=0.35, shading="flat")
    ax.plot(t[keep], y, color="k", lw=0.8)
    ax.set(xlabel="time (min)", ylabel=f"{neuron} ΔF/F", title=f"Kato 2015 worm {rec.worm}: {neuron}")
    state_legend(ax, [s for s in rec.state_names if s != "nostate"])
    return fig


@page_figure
def onset_aligned_grid(recordings: list[Recording], neurons: tuple[str, ...], states: tuple[str, ...],
                       seconds: float = 10.0):
    """Fig. 1C: mean normalised activity from each state's onset, one line per worm (95% CI
    over episodes), black dashed: all worms' episodes pooled. One row per state and one column
    per neuron, at the page's width, so that every label keeps its size on a phone too."""
    fig, axes = plt.subplots(len(states), len(neurons), figsize=(PAGE_WIDTH_IN, 1.25 * len(states) + 1.0),
                             sharex=True, sharey=True, squeeze=False)
    grid = np.arange(0, seconds, 1 / 3)
    for j, neuron in enumerate(neurons):
        for i, state in enumerate(states):
            ax = axes[i, j]
            pooled = []
            for w, rec in enumerate(recordings):
                rows = onset_aligned(rec, neuron, state, seconds)
                pooled.append(rows)
                mean, lo, hi = mean_with_ci(rows)
                ax.plot(grid, mean, color=WORM_COLOURS[w], lw=1.2, label=f"worm {rec.worm}")
                ax.fill_between(grid, lo, hi, color=WORM_COLOURS[w], alpha=0.2, lw=0)
            ax.plot(grid, mean_with_ci(np.concatenate(pooled))[0], "k--", lw=1.2, label="all worms")
            ax.set(ylim=(-0.1, 1.1), yticks=(0, 1))
            if i == 0:
                ax.set_title(neuron)
            if j == 0:
                ax.set_ylabel(STATE_LABELS.get(state, state).replace(" ", "\n", 1), fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("seconds from the state's onset")
    fig.supylabel("normalised ΔF/F", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


@page_figure
def pvalue_heatmap(pvalues: pd.DataFrame, threshold: float):
    """Fig. 1D: p-values that all worms' activity comes from one distribution (neuron × state);
    cells below the corrected ``threshold`` are marked ×."""
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 0.32 * pvalues.shape[0] + 1.5))
    values = pvalues.to_numpy(dtype=float)
    im = ax.imshow(np.log10(values), cmap="magma", vmin=-6, vmax=0, aspect="auto")
    for (i, j), p in np.ndenumerate(values):
        if np.isfinite(p) and p < threshold:
            ax.text(j, i, "×", ha="center", va="center", color="white", fontsize=9)
    ax.set_xticks(range(pvalues.shape[1]), [STATE_LABELS.get(s, s).replace(" ", "\n") for s in pvalues.columns],
                  fontsize=8)
    ax.set_yticks(range(pvalues.shape[0]), pvalues.index)
    fig.colorbar(im, ax=ax, label="log10 p (Kruskal–Wallis across worms)")
    fig.tight_layout()
    return fig


@page_figure
def trajectories_3d(panels: list[tuple[str, np.ndarray, Recording]], ncols: int = 5, states=()):
    """3-D PCA trajectories coloured by behavioural state; ``panels``: (title, scores (T, 3), rec),
    the axes the first three components (unlabelled: say so in the caption). Drawn at page width
    (panels ``PAGE_WIDTH_IN / ncols`` wide), the legend of ``states`` below."""
    nrows = int(np.ceil(len(panels) / ncols))
    side = PAGE_WIDTH_IN / ncols
    legend_cols = 4
    legend_in = 0.25 + 0.22 * int(np.ceil(len(states) / legend_cols)) if states else 0.0
    fig = plt.figure(figsize=(PAGE_WIDTH_IN, 1.2 * side * nrows + legend_in))
    for k, (title, scores, rec) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1, projection="3d")
        colours = np.array([STATE_COLOURS[s] for s in rec.state_names])[rec.states]
        ax.scatter(*scores.T, c=colours, s=1.0, depthshade=False, rasterized=True)
        ax.plot(*scores.T, color="0.6", lw=0.15)
        ax.set_title(title, fontsize=9, pad=0)
        ax.set_xticks([]), ax.set_yticks([]), ax.set_zticks([])
        # no axis labels: at 1.2 in a panel, the next panel would cover "PC3" (the caption names the axes)
    fig.subplots_adjust(left=0.0, right=0.97, top=0.94, bottom=legend_in / fig.get_size_inches()[1],
                        wspace=0.0, hspace=0.3)
    if states:
        fig.legend(handles=[Patch(color=STATE_COLOURS[s], label=STATE_LABELS.get(s, s)) for s in states],
                   loc="lower center", ncol=legend_cols, fontsize=9, frameon=False, bbox_to_anchor=(0.5, 0.0))
    return fig


@page_figure
def admm_manifold(panels: list[dict], classes: tuple[str, ...]):
    """Paper Fig. 2B–C (Brennan & Proekt's manifold): each panel shows a manifold's frames in the
    plane of its cycle mode (real and imaginary part of the first complex eigenvector of P),
    coloured by behavioural state. panels: dicts with ``title``, ``nodes`` (n,) complex, ``states``
    (n,) class index (−1: unlabelled, grey) and optionally ``trajectory`` (T,) complex with
    ``trajectory_states`` (T,), a held-out worm drawn on the manifold as a line over grey frames."""
    from matplotlib.collections import LineCollection

    colours = np.array([mpl.colors.to_rgba(STATE_COLOURS[c]) for c in classes] + [mpl.colors.to_rgba("#d9d9d9")])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        z, st = panel["nodes"], panel["states"]
        if "trajectory" in panel:
            ax.scatter(z.real, z.imag, s=1, color="0.85", rasterized=True)
            t, ts = panel["trajectory"], panel["trajectory_states"]
            seg = np.stack([np.c_[t.real[:-1], t.imag[:-1]], np.c_[t.real[1:], t.imag[1:]]], 1)  # (T−1, 2, 2)
            ax.add_collection(LineCollection(seg, colors=colours[ts[:-1]], linewidths=0.6))
        else:
            ax.scatter(z.real, z.imag, s=1, c=colours[st], rasterized=True)
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xlabel("cycle mode, real part"), ax.set_ylabel("imaginary part")
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.legend(handles=[Patch(color=STATE_COLOURS[c], label=c) for c in classes], loc="lower center",
               ncol=len(classes), bbox_to_anchor=(0.5, 0.0))
    return fig


def numbered_table(table: BookTable | str, name: str, text: str) -> None:
    """A numbered, captioned, cross-referenceable table in the book: Sphinx numbers it ("Table
    3.1") and ``{numref}`name``` links to it from any page. ``table`` from :func:`table` or
    :func:`paired_table`, or a Markdown pipe table; ``text`` the caption (MyST, one paragraph,
    numbers computed by the caller)."""
    from IPython.display import Markdown, display

    display(Markdown(myst_table(table, name, text) if isinstance(table, str) else table.to_myst(name, text)))


def myst_table(pipe_table: str, name: str, caption: str) -> str:
    """A Markdown pipe table as a MyST ``{table}`` directive titled ``caption`` (one line) and
    labelled ``name``, in a colon fence: a caption may hold `code`, which a backtick fence's
    first line may not."""
    return f":::{{table}} {' '.join(caption.split())}\n:name: {name}\n\n{pipe_table.strip()}\n:::\n"


def caption(text: str) -> None:
    """Show a table caption (Markdown) under the output above it."""
    from IPython.display import Markdown, display

    display(Markdown(f"<div class='caption'>\n\n{text}\n\n</div>"))


MODEL_COLOURS = {"logistic-regression": "#7f7f7f", "svm": "#bcbd22", "mlp-sum": "#9edae5",
                 "mlp-concat": "#17becf", "gnn-inferred-static": "#d62728",
                 "gnn-inferred-dynamic": "#ff9896", "gnn-connectome": "#9467bd", "admm": "#8c6d31",
                 # trajectory models (chapter 4)
                 "persistence": "#000000", "linear": "#7f7f7f", "linear-ar": "#8c6d31", "mlp": "#17becf",
                 "mlp-gru": "#1f77b4", "gnn": "#d62728", "gnn-static": "#ff9896", "gnn-gru": "#8c564b"}
MODEL_NAMES = {"logistic-regression": "log. reg.", "svm": "SVM", "mlp-sum": "MLP (sum)", "mlp-concat": "MLP",
               "gnn-inferred-static": "GNN", "gnn-inferred-dynamic": "GNN (dyn.)", "gnn-connectome": "GNN (conn.)",
               "admm": "ADMM",
               # chapter 3's time-context models
               "logistic-regression-lagged": "lagged log. reg.", "tavrnn": "TAVRNN", "tavrnn-probe": "TAVRNN probe",
               "mlp-concat-window": "windowed MLP", "gnn-inferred-static-window": "windowed GNN",
               "mlp-concat-gru-window": "GRU-window MLP", "gnn-inferred-static-gru-window": "GRU-window GNN",
               "mlp-concat-window-nested": "nested-window MLP",
               "gnn-inferred-static-window-nested": "nested-window GNN",
               # chapter 3's aggregation variants
               "gnn-inferred-static-sum": "GNN (sum)", "gnn-inferred-static-messages": "GNN (messages)"}
"""Short model names for tick labels and for the model columns of tables (``short_model_names``);
the code names stay in legends and in the results files."""


def short_model_names(frame: pd.DataFrame, columns: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    """``frame`` with the model names in ``columns`` (by default a paired comparison's a and b)
    replaced by their ``MODEL_NAMES``, so that a table's rows fit one line; others unchanged."""
    return frame.replace({column: MODEL_NAMES for column in columns})


def model_columns(models: Iterable[str]) -> dict[str, str]:
    """Column header → model for ``evaluate.paired_table``: each model under its ``MODEL_NAMES``
    short name, in the order given."""
    return {MODEL_NAMES[m]: m for m in models}


MODEL_STYLES = {"persistence": ":", "linear": "--", "linear-ar": "--", "mlp-gru": "-.", "gnn-gru": "-."}


@page_figure
def accuracy_bars(summary: pd.DataFrame, group: str, paper: float | None = None, ylabel: str = "accuracy"):
    """Paper Fig. 4A style: mean accuracy per model (bars) within each ``group`` value, with
    the spread across test worms (sd); ``paper``: the paper's stated value, as a dashed line."""
    groups = list(dict.fromkeys(summary[group]))
    models = list(dict.fromkeys(summary["model"]))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(1.6 + 1.6 * len(groups) + 0.3 * len(models), 3.6))
    for k, model in enumerate(models):
        rows = summary[summary.model == model].set_index(group).reindex(groups)
        ax.bar(np.arange(len(groups)) + (k - (len(models) - 1) / 2) * width, rows["mean"], width,
               yerr=rows["sd"], color=MODEL_COLOURS.get(model), label=model, capsize=2)
    if paper is not None:
        ax.axhline(paper, ls="--", color="k", lw=1, label=f"paper: {paper:.0%}")
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


@page_figure
def enlargement_curve(summary: pd.DataFrame, paper: tuple[int, float] | None = None):
    """Paper Fig. 4B: unseen-worm accuracy against the number of training worms, per model
    (mean ± sd across test worms)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for model, rows in summary.groupby("model", sort=False):
        ax.errorbar(rows.n_train_worms, rows["mean"], yerr=rows["sd"], marker="o", capsize=3,
                    color=MODEL_COLOURS.get(model), label=model)
    if paper is not None:
        ax.plot(*paper, marker="*", ms=14, color="k", ls="none", label=f"paper GNN: {paper[1]:.0%}")
    ax.set(xlabel="training worms", ylabel="accuracy on unseen worms", xticks=sorted(summary.n_train_worms.unique()))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


@page_figure
def confusion_matrix(counts: np.ndarray, classes: tuple[str, ...], title: str = ""):
    """Paper Fig. 4C: percent of each true state's frames given each predicted state."""
    pct = 100 * counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 3.9))
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    for (i, j), v in np.ndenumerate(pct):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", color="white" if v > 60 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted", ylabel="labelled")
    fig.suptitle(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="% of labelled frames")
    fig.tight_layout()
    return fig


@page_figure
def model_diagram():
    """Paper Fig. 3B–C: the data flow of the MLP and of the GNN, as rows of boxes (the GNN's
    flow continues from its first row to its second)."""
    rows = [
        ("MLP", ["frame $X_t$\n(N × 2)", "aggregate: concat\n(2N) or sum (2)", "$g_{graph}$\n2-layer MLP",
                 "state\nprobabilities $p_t$"]),
        ("GNN", ["frame $X_t$\n(N × 2)", "$v_i = g_{node}(x_i)$\n(N × H)",
                 "$A_{ij} = \\sigma(g_{edge}(v_i, v_j))$\nper frame or worm,\nor the connectome",
                 "$m_i = \\mathrm{ReLU}(\\Sigma_j A_{ij} W v_j)$\none message step"]),
        ("", ["$h_i = [v_i \\| m_i]$\n(N × 2H)", "concatenate\nthe N nodes", "$g_{graph}$\n2-layer MLP",
              "state\nprobabilities $p_t$"]),
    ]
    fig = plt.figure(figsize=(PAGE_WIDTH_IN, 3.6))
    ax = fig.add_axes((0, 0, 1, 1))          # the whole canvas: an x unit is PAGE_WIDTH_IN / 7 inches
    ax.set_xlim(0, 7), ax.set_ylim(0, 3.6), ax.axis("off")
    left, width, gap = 0.22, 1.58, 0.12   # the model's name written upwards in the left margin
    for r, (name, boxes) in enumerate(rows):
        y = 3.05 - 1.15 * r
        ax.text(0.06, y, name, fontsize=10, weight="bold", va="center", ha="center", rotation=90)
        for k, label in enumerate(boxes):
            x = left + k * (width + gap)
            ends = (r == 0 and k in (0, 3)) or (r == 1 and k == 0) or (r == 2 and k == 3)
            ax.add_patch(mpl.patches.FancyBboxPatch((x, y - 0.42), width, 0.84, boxstyle="round,pad=0.03",
                                                    fc="#f2f2f2" if ends else "#dbe9f6", ec="0.3"))
            ax.text(x + width / 2, y, label, ha="center", va="center", fontsize=9)
            if k:
                ax.annotate("", xy=(x - 0.01, y), xytext=(x - gap + 0.01, y),
                            arrowprops=dict(arrowstyle="->", color="0.3"))
    # the GNN's second row continues its first: from the message box down to h_i
    last_x = left + 3 * (width + gap) + width / 2
    ax.annotate("", xy=(left + width / 2, 3.05 - 2 * 1.15 + 0.43), xytext=(last_x, 3.05 - 1.15 - 0.43),
                arrowprops=dict(arrowstyle="->", color="0.3", connectionstyle="angle,angleA=-90,angleB=180,rad=0"))
    return fig


def tick_size(panel_in: float, n_labels: int, largest: float = 9.0, smallest: float = 5.0) -> float:
    """Font size (pt) of ``n_labels`` tick labels along a panel ``panel_in`` inches wide at page
    size: as large as fits (a label slot 1.25 font sizes high, ≈ 80 % of the panel drawn), within
    [smallest, largest]."""
    return float(np.clip(panel_in * 72 * 0.8 / n_labels / 1.25, smallest, largest))


@page_figure
def adjacency_panels(panels: list[tuple[str, np.ndarray]], neurons: tuple[str, ...], ncols: int = 4):
    """Edge-weight matrices side by side (rows: receiving neuron i, columns: sending neuron j)."""
    nrows = int(np.ceil(len(panels) / ncols))
    side = PAGE_WIDTH_IN / ncols   # square panels: tick labels as large along y as along x
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAGE_WIDTH_IN, (side + 0.35) * nrows), squeeze=False,
                             layout="constrained")
    # inferred weights and the connectome live on different scales: one colour scale each
    inferred = [a for title, a in panels if "connectome" not in title]
    low, high = (min(a.min() for a in inferred), max(a.max() for a in inferred)) if inferred else (0, 1)
    images = {}
    for k, (ax, (title, a)) in enumerate(zip(axes.ravel(), panels)):
        known = "connectome" in title
        images[known] = ax.imshow(a, cmap="magma" if known else "viridis",
                                  vmin=0 if known else low, vmax=1 if known else high)
        ax.set_title(title, fontsize=9)
        size = tick_size(PAGE_WIDTH_IN / ncols, len(neurons))
        ax.set_xticks(range(len(neurons)), neurons, rotation=90, fontsize=size)
        if k % ncols == 0:
            ax.set_yticks(range(len(neurons)), neurons, fontsize=size)
        else:
            ax.set_yticks(range(len(neurons)), [])
    spare = axes.ravel()[len(panels):]
    for ax in spare:
        ax.axis("off")
    labels = {False: "inferred $A_{ij}$", True: "connectome weight"}
    for k, (known, image) in enumerate(sorted(images.items())):
        if len(spare):  # the colour bars lie across the first empty panel, one above the other
            cax = spare[0].inset_axes([0.05, 0.62 - 0.4 * k, 0.9, 0.07])
            fig.colorbar(image, cax=cax, orientation="horizontal", label=labels[known])
        else:
            fig.colorbar(image, ax=axes, shrink=0.7, label=labels[known])
    return fig


@page_figure
def mse_curves(summary: pd.DataFrame, panel: str = "n_train_worms", ylim: tuple[float, float] | None = None):
    """Paper Fig. 5A: MSE against prediction step per model (mean over test worms, band: ± sd
    across test worms, its lower edge cut at a tenth of the mean on the log axis), one panel per
    value of ``panel`` (the number of training worms)."""
    panels = sorted(summary[panel].unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(PAGE_WIDTH_IN, 3.9), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, value in zip(axes[0], panels):
        for model, rows in summary[summary[panel] == value].groupby("model", sort=False):
            ax.plot(rows.step, rows["mean"], ls=MODEL_STYLES.get(model, "-"), color=MODEL_COLOURS.get(model),
                    label=model, lw=1.6)
            lower = np.maximum(rows["mean"] - rows["sd"], rows["mean"] / 10)  # log axis: cut at mean / 10
            ax.fill_between(rows.step, lower, rows["mean"] + rows["sd"],
                            color=MODEL_COLOURS.get(model), alpha=0.08, lw=0)
        ax.set(title=f"trained on {value} worm{'s' if value > 1 else ''}", xlabel="prediction step (≈ 1/3 s)",
               yscale="log", xticks=[1, 4, 8, 12, 16])
    axes[0, 0].set_ylim(*(ylim or (0.5 * summary["mean"].min(), 2 * summary["mean"].max())))
    axes[0, 0].set_ylabel("MSE on unseen worms")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))  # under the panels: page width
    return fig


@page_figure
def rollout_panels(panels: list[dict], fps: float):
    """Example rollouts: per panel (a neuron in a window) the true normalised trace, the frames
    the models were given (burn-in and initial frame, shaded) and each model's free-running
    prediction. A panel: dict(title, truth (L,), n_context, predictions {model: (S,)}). Two
    panels a row at the page's width; the legend under the panels."""
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAGE_WIDTH_IN, 2.3 * nrows + 0.8), squeeze=False, sharex=True)
    for ax, p in zip(axes.flat, panels):
        t = np.arange(len(p["truth"])) / fps
        ax.axvspan(t[0], t[p["n_context"] - 1], color="#eeeeee")
        ax.plot(t, p["truth"], color="k", lw=2, label="recorded")
        t_pred = t[p["n_context"]:]
        for model, values in p["predictions"].items():
            ax.plot(t_pred, values, ls=MODEL_STYLES.get(model, "-"), color=MODEL_COLOURS.get(model), label=model)
        ax.set_title(p["title"], fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time in window (s)")
    for ax in axes[:, 0]:
        ax.set_ylabel("normalised ΔF/F")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.1 if nrows == 1 else 0.06, 1, 1))
    return fig


@page_figure
def neuron_set_bars(summary: pd.DataFrame, metric_label: str = "balanced accuracy, unseen worms"):
    """Chapter 5: one bar per (model, neuron set) within each task — colour: model, shade:
    neuron set (dark: 15, light: 3, hatched: 1) — mean ± sd across test worms."""
    tasks = list(dict.fromkeys(summary.task))
    sets = sorted(set(summary.neurons), key=lambda label: -int(label.split()[0]))  # "15", "3", "1 (…)"
    models = [m for m in MODEL_COLOURS if m in set(summary.model)]
    bars = sorted(set(zip(summary.model, summary.neurons)), key=lambda b: (models.index(b[0]), sets.index(b[1])))
    width = 0.85 / len(bars)
    fig, ax = plt.subplots(figsize=(PAGE_WIDTH_IN, 4.6), layout="constrained")
    for k, (model, neurons) in enumerate(bars):
        rows = summary[(summary.model == model) & (summary.neurons == neurons)].set_index("task").reindex(tasks)
        shade = sets.index(neurons)
        ax.bar(np.arange(len(tasks)) + (k - (len(bars) - 1) / 2) * width, rows["mean"], width, yerr=rows["sd"],
               color=MODEL_COLOURS.get(model), alpha=(1.0, 0.5, 0.3)[min(shade, 2)], hatch="//" if shade >= 2 else None,
               capsize=2, label=f"{model}, {neurons}")
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set(ylim=(0, 1), ylabel=metric_label)
    fig.legend(loc="outside lower center", ncol=2)  # under the bars: the figure keeps the page's width
    return fig


@page_figure
def reliability(tables: dict[str, pd.DataFrame]):
    """Chapter 5's reliability diagram: per task (panel) and model (colour), each confidence
    bin's accuracy against its mean confidence (``evaluate.calibration``; marker area ∝ frames),
    beside the diagonal of a calibrated model."""
    fig, axes = plt.subplots(1, len(tables), figsize=(PAGE_WIDTH_IN, 3.4), sharey=True, squeeze=False)
    for ax, (task, table) in zip(axes[0], tables.items()):
        ax.plot([0, 1], [0, 1], ls="--", color="k", lw=0.8)
        for model in [m for m in MODEL_COLOURS if m in set(table.model)]:
            rows = table[table.model == model]
            ax.plot(rows.confidence, rows.accuracy, "-", color=MODEL_COLOURS[model], lw=1,
                    label=MODEL_NAMES.get(model, model))
            ax.scatter(rows.confidence, rows.accuracy, s=8 + 80 * rows.frames / rows.frames.max(),
                       color=MODEL_COLOURS[model], zorder=2)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", title=task.replace("-", " ") + "s")
    axes[0, 0].set_ylabel("accuracy")
    axes[0, -1].legend(loc="lower right")
    fig.tight_layout()
    return fig


@page_figure
def crosslab_auc(scores: pd.DataFrame, ylabel: str = "ROC AUC per Dag recording"):
    """Chapter 5's cross-lab figure (``fig-crosslab``): ROC AUC per test recording (dots) for
    each decoder and lag, one panel per training source; grey bars: the 95th percentile of each
    recording's circular-shift null; dashed: chance. Ticks name the lag, the model's name sits
    under its lags."""
    sources = list(dict.fromkeys(scores.train))
    fig, axes = plt.subplots(1, len(sources), figsize=(PAGE_WIDTH_IN, 3.4), sharey=True, squeeze=False)
    for ax, source in zip(axes[0], sources):
        rows = scores[scores.train == source]
        models = [m for m in MODEL_COLOURS if m in set(rows.model)]
        groups = sorted(set(zip(rows.model, rows.lag_s)), key=lambda g: (models.index(g[0]), g[1]))
        for x, (model, lag) in enumerate(groups):
            g = rows[(rows.model == model) & (rows.lag_s == lag)]
            jitter = np.linspace(-0.25, 0.25, len(g))
            ax.bar(x, g.null_auc_95.mean(), 0.7, color="#e0e0e0", zorder=0)
            ax.scatter(x + jitter, g.roc_auc, s=18, color=MODEL_COLOURS.get(model), zorder=2,
                       marker="o" if lag == 0 else "s", label=f"{model}, lag {lag:g} s")
        ax.axhline(0.5, ls="--", color="k", lw=0.8)
        ax.set_xticks(range(len(groups)), [f"{lag:g} s" for _, lag in groups])
        for model in models:
            at = np.mean([x for x, g in enumerate(groups) if g[0] == model])
            ax.annotate(MODEL_NAMES.get(model, model), (at, 0), xycoords=ax.get_xaxis_transform(),
                        xytext=(0, -22), textcoords="offset points", ha="center", va="top")
        ax.set_title(f"trained on {source}")
        ax.set_ylim(0.3, 1.0)
    axes[0, 0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


@page_figure
def forecast_auc(scores: pd.DataFrame):
    """Chapter 5 (Brennan & Proekt's forecasting test): ROC AUC of "a reversal starts within h
    seconds" against h, mean over test worms per model (error bars: sd across worms); grey band:
    the circular-shift null, from its mean to its 95th percentile (averaged over worms and
    models); dashed: chance."""
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    null = scores.groupby("horizon_s")[["null_mean", "null_q95"]].mean()
    ax.fill_between(null.index, null.null_mean, null.null_q95, color="#e0e0e0", label="null: mean to 95th pct")
    for model in [m for m in MODEL_COLOURS if m in set(scores.model)]:
        g = scores[scores.model == model].groupby("horizon_s").auc
        ax.errorbar(g.mean().index, g.mean(), yerr=g.std(), color=MODEL_COLOURS[model], marker="o", ms=3,
                    capsize=2, lw=1.2, label=MODEL_NAMES.get(model, model))
    ax.axhline(0.5, ls="--", color="k", lw=0.8)
    ax.set_xlabel("horizon h (s): a reversal starts within h")
    ax.set_ylabel("ROC AUC, unseen worm")
    ax.set_ylim(0.3, 1.0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


@page_figure
def embedding_plane(points: list[np.ndarray], states: list[np.ndarray], classes: tuple[str, ...],
                    worms: tuple[str, ...]):
    """Chapter 3: every worm's embeddings in one plane (first two principal components of all of
    them), coloured by behavioural state (left) and by worm (right). points: per worm (S_w, 2);
    states: per worm (S_w,) class index or −1 (grey)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 3.6), sharex=True, sharey=True)
    colours = np.array([mpl.colors.to_rgba(STATE_COLOURS[c]) for c in classes] + [mpl.colors.to_rgba("#d9d9d9")])
    for w, (p, s) in enumerate(zip(points, states)):
        left.scatter(p[:, 0], p[:, 1], s=2, c=colours[s], rasterized=True)
        right.scatter(p[:, 0], p[:, 1], s=2, color=WORM_COLOURS[w], label=f"worm {worms[w]}", rasterized=True)
    left.set_title("coloured by state", fontsize=9), right.set_title("coloured by worm", fontsize=9)
    allp = np.concatenate(points)
    lo, hi = np.percentile(allp, 0.5, axis=0), np.percentile(allp, 99.5, axis=0)
    pad = 0.05 * (hi - lo)
    left.set_xlim(lo[0] - pad[0], hi[0] + pad[0]), left.set_ylim(lo[1] - pad[1], hi[1] + pad[1])  # 1 % outliers off
    for ax in (left, right):
        ax.set_xlabel("PC 1"), ax.set_xticks([]), ax.set_yticks([])
    left.set_ylabel("PC 2")
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    # both legends under the panels, never over the points: states under the left, worms under the right
    left.legend(handles=[Patch(color=STATE_COLOURS[c], label=c) for c in classes], loc="upper center",
                ncol=2, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.12))
    right.legend(loc="upper center", fontsize=9, markerscale=4, ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.12))
    return fig


@page_figure
def similarity_panels(panels: list[tuple[str, np.ndarray, list[str]]]):
    """Chapter 5, Fig. 5.2: matrices of Spearman similarity between inferred graphs, one panel
    per (title, similarity (K, K), label of each graph); graphs of the same worm are adjacent,
    so individuality shows as bright diagonal blocks."""
    # the colour bar gets an axis of its own, so that no re-layout can draw it over a panel
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.3 * len(panels) + 1.0, 4.0), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * len(panels) + [0.05]})
    for ax, (title, sim, labels) in zip(axes[0], panels):
        image = ax.imshow(sim, vmin=-1, vmax=1, cmap="RdBu_r")
        # one label per block of graphs of the same worm (labels "w<worm> r<replicate>"), lines between blocks
        worm = [label.split()[0] for label in labels]
        starts = [i for i in range(len(worm)) if i == 0 or worm[i] != worm[i - 1]] + [len(worm)]
        centres = [(a + b - 1) / 2 for a, b in zip(starts, starts[1:])]
        names = [worm[a] for a in starts[:-1]]
        ax.set_xticks(centres, names, fontsize=9)
        ax.set_yticks(centres, names, fontsize=9)
        for edge in starts[1:-1]:
            ax.axhline(edge - 0.5, color="k", lw=0.6)
            ax.axvline(edge - 0.5, color="k", lw=0.6)
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, cax=axes[0, -1], label="Spearman similarity of edge weights")
    return fig


@page_figure
def connectome_agreement(agreement: pd.DataFrame):
    """Chapter 5: ROC AUC of each worm's inferred graph for the connectome's edges (dots, one
    colour per set of models) against the central 95% of the shuffled-label null (grey bars)."""
    sets = list(dict.fromkeys(agreement.models))
    worms = list(dict.fromkeys(agreement.worm))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for k, name in enumerate(sets):
        rows = agreement[agreement.models == name].set_index("worm").reindex(worms)
        x = np.arange(len(worms)) + (k - (len(sets) - 1) / 2) * 0.3
        ax.vlines(x, rows.null_roc_auc_low, rows.null_roc_auc_high, color="#c8c8c8", lw=6,
                  label="shuffled-label null, 95%" if k == 0 else None)
        ax.plot(x, rows.roc_auc, "o", color=WORM_COLOURS[k], label=f"{name} models")
    ax.axhline(0.5, ls="--", color="k", lw=0.8)
    ax.set_xticks(range(len(worms)), [f"worm {w}" for w in worms])
    ax.set(ylabel="ROC AUC for connectome edges", ylim=(0, 1))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def mean_sd_cells(summary: pd.DataFrame, index: str, columns: str | list[str], digits: int = 3) -> pd.DataFrame:
    """``experiments.summarise`` rows (mean and sd across test worms) as a wide table of
    "mean ± sd" text, one row per ``index`` value and one column per ``columns`` value (or
    combination): the cells of the book's model-by-protocol tables (Table 1, Fig. 5B)."""
    number = f"{{:.{digits}f}}".format
    cells = summary.assign(cell=summary["mean"].map(number) + " ± " + summary["sd"].map(number))
    return cells.pivot(index=index, columns=columns, values="cell")


def table(frame: pd.DataFrame, digits: int = 3, p_columns: tuple[str, ...] = ("p_value", "p-value"),
          headers: dict[str, str] | None = None, index: bool | None = None, labels: tuple = ()):
    """A DataFrame as the book shows tables: human headers (``headers``, else underscores →
    spaces; index names too), fixed ``digits``, p-values as ``< 0.001``, integers as integers,
    missing as "—", and no meaningless 0…n−1 index (``index=None`` hides a RangeIndex only).
    Index levels and the ``labels`` columns are keys, not measurements: a whole float shows as
    an integer (a lag of 3.0 s as "3")."""
    from .evaluate import p_text

    names = headers or {}
    header = lambda c: names.get(c, str(c).replace("_", " "))  # noqa: E731
    shown = frame.rename_axis(index=[None if n is None else header(n) for n in frame.index.names])
    if index is None:
        index = not isinstance(shown.index, pd.RangeIndex)

    def label(v) -> str:  # a key, not a measurement: 3.0 → "3"
        return "—" if v is None or (isinstance(v, float) and pd.isna(v)) else (
            f"{v:g}" if isinstance(v, (float, np.floating)) else str(v))

    def fmt_for(column):
        if column in labels:
            return label
        if any(str(column) == p or (isinstance(column, tuple) and p in column) for p in p_columns):
            return lambda v: "—" if pd.isna(v) else p_text(v).removeprefix("p = ").replace("p < ", "&lt; ")
        series = shown[column]
        if pd.api.types.is_integer_dtype(series) or (pd.api.types.is_float_dtype(series)
                                                     and series.dropna().apply(float.is_integer).all()
                                                     and series.abs().max() >= 10):
            return lambda v: "—" if pd.isna(v) else f"{int(v):,}"
        if pd.api.types.is_float_dtype(series):
            return lambda v: "—" if pd.isna(v) else f"{v:.{digits}f}"
        return lambda v: "—" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)

    import hashlib

    uuid = hashlib.sha256(shown.to_csv().encode()).hexdigest()[:8]  # stable ids: same page on a rerun
    styler = shown.style.set_uuid(uuid).format({c: fmt_for(c) for c in shown.columns}, escape="html")
    styler = styler.format_index(header, axis=1).format_index(label, axis=0)
    if not index:
        styler = styler.hide(axis="index")
    # the same cells as text, for the numbered (Sphinx) form of the table: see ``numbered_table``
    columns = [" · ".join(map(header, c)) if isinstance(c, tuple) else header(c) for c in shown.columns]
    cells = [[fmt_for(c)(v) for v in shown[c]] for c in shown.columns]
    numeric = [(pd.api.types.is_numeric_dtype(shown[c]) or _number_text(shown[c])) and c not in labels
               for c in shown.columns]
    if index:
        levels = [shown.index.get_level_values(i) for i in range(shown.index.nlevels)]
        columns = [str(n or "") for n in shown.index.names] + columns
        cells = [[label(v) for v in level] for level in levels] + cells
        numeric = [False] * len(levels) + numeric
    text = dict(columns=columns, rows=[list(row) for row in zip(*cells)], numeric=numeric)
    return BookTable(styler.set_table_attributes('class="dataframe book-table"'), shown, index, text)


_NUMBER = re.compile(r"\**[−+-]?\d[\d,]*(\.\d+)?\**( \[[^\]]*\])?")  # 0.925, 1,448, **+0.028** [+0.008, +0.047]


def _number_text(column: pd.Series) -> bool:
    """A text column of numbers, e.g. means or differences with their intervals, formatted before
    the table (``wormlib.evaluate.paired_table``): right-aligned like numbers."""
    cells = [v for v in column.dropna() if v != "—"]
    return bool(cells) and all(isinstance(v, str) and _NUMBER.fullmatch(v) for v in cells)


def transposed_table(frame: pd.DataFrame, digits: int = 3, headers: dict[str, str] | None = None):
    """``frame`` (one row per unit, e.g. a worm; one column per quantity) shown with the quantities
    as rows and the units as columns, each quantity formatted as :func:`table` formats its column
    (counts as integers, a frame rate to ``digits``): a table of few units and many quantities,
    too wide the other way round at page width. Numbers stay right-aligned."""
    formatted = table(frame, digits=digits, headers=headers, index=False).text
    cells = pd.DataFrame(formatted["rows"], index=frame.index, columns=formatted["columns"]).T  # (quantities, units)
    return table(cells.rename_axis(None), index=True)


PAIRED_HEADERS = {"a": "model a", "b": "model b", "mean_difference": "a − b", "ci_low": "95% CI low",
                  "ci_high": "95% CI high", "p_value": "p (paired t)"}
PAIRED_COLUMNS = ("mean_difference", "ci_low", "ci_high", "p_value", "verdict")


def paired_table(comparisons: pd.DataFrame, keys: list[str], digits: int = 3,
                 headers: dict[str, str] | None = None):
    """A table of ``wormlib.evaluate.paired_difference`` rows: the ``keys`` columns that say
    what was compared, then difference, interval, p-value and verdict. A row's difference and
    interval are written as ``evaluate.interval_parts`` writes them (more decimals where a bound
    would print as 0; a difference that rounds to 0 as 0, never −0)."""
    from .evaluate import interval_parts

    shown = comparisons[list(keys) + list(PAIRED_COLUMNS)].copy()
    columns = ("mean_difference", "ci_low", "ci_high")
    texts = [interval_parts(*values, digits=digits, plus=False) for values in zip(*(shown[c] for c in columns))]
    for i, column in enumerate(columns):
        shown[column] = ["—" if pd.isna(v) else t[i] for v, t in zip(shown[column], texts)]
    return table(shown, digits=digits, headers={**PAIRED_HEADERS, **(headers or {})}, labels=tuple(keys))


def paired_metrics_table(comparisons: pd.DataFrame, keys: list[str], digits: int = 3, p_values: bool = False,
                         headers: dict[str, str] | None = None):
    """:func:`paired_table` with the metrics side by side: one row per ``keys`` group (what was
    compared, without ``metric``), and per metric a − b with its 95% interval, bold where the
    interval excludes 0 (and the paired t-test p if ``p_values``). Rows keep their first order in
    ``comparisons``."""
    from .evaluate import interval_text

    def cell(row) -> str:
        text = interval_text(row, digits)
        difference, interval = text.split(" ", 1)
        return f"**{difference}** {interval}" if row.ci_low > 0 or row.ci_high < 0 else text

    metrics = list(dict.fromkeys(comparisons.metric))
    cells = comparisons.assign(difference=comparisons.apply(cell, axis=1))
    wide = cells.pivot(index=keys, columns="metric", values=["difference", "p_value"])  # (groups, 2·metrics)
    order = comparisons[keys].drop_duplicates()
    wide = wide.reindex(pd.MultiIndex.from_frame(order) if len(keys) > 1 else pd.Index(order[keys[0]]))
    wide.columns = wide.columns.swaplevel()  # (metric, statistic)
    statistics = ("difference", "p_value") if p_values else ("difference",)
    wide = wide[[(m, s) for m in metrics for s in statistics]].reset_index()
    wide.columns = [c if c[0] not in keys else c[0] for c in wide.columns]
    names = {**PAIRED_HEADERS, "difference": "a − b [95% CI]", "balanced-accuracy": "balanced accuracy",
             **(headers or {})}
    return table(wide, digits=digits, headers=names, labels=tuple(keys))


class BookTable:
    """A formatted table for a notebook: HTML from the Styler, and a plain-text form without
    the object's memory address (so that a rerun writes the same notebook)."""

    def __init__(self, styler, frame: pd.DataFrame, index: bool, text: dict | None = None):
        self.styler, self.frame, self.index, self.text = styler, frame, index, text

    def to_myst(self, name: str, caption: str) -> str:
        """The table as a MyST ``{table}`` directive (:func:`myst_table`; a pipe table: numbers
        right-aligned, text left) titled ``caption`` and labelled ``name``."""
        escape = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        t = self.text
        lines = ["| " + " | ".join(map(escape, t["columns"])) + " |",
                 "|" + "|".join("---:" if n else ":---" for n in t["numeric"]) + "|"]
        lines += ["| " + " | ".join(map(escape, row)) + " |" for row in t["rows"]]
        return myst_table("\n".join(lines), name, caption)

    def _repr_html_(self) -> str:
        return self.styler.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=self.index)

    def to_html(self) -> str:
        return self.styler.to_html()


@page_figure
def learning_curves(curves: pd.DataFrame, families: dict[str, tuple[str, ...]], steps: dict[str, int]):
    """Issue 51's step counts: one panel per network family, each network's mean score on its
    held-out training worms against optimiser steps (solid; what chooses, ``wormlib.stepcount``)
    and its outer models' mean score on the test worms (dashed; shown, never used), the family's
    chosen steps as a vertical line. ``curves``: ``stepcount.learning_curve`` rows."""
    names = [f for f in families if f in steps]
    ncols = 2
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(PAGE_WIDTH_IN, 2.3 * nrows), squeeze=False)
    for ax, family in zip(axes.flat, names):
        metric = "mse" if family.startswith("trajectory") else "balanced_accuracy"
        for i, model in enumerate(families[family]):  # the book's colour, else the cycle's
            colour = MODEL_COLOURS.get(model, WORM_COLOURS[i])
            rows = curves[curves.model == model]
            for role, ls in (("validation", "-"), ("test", "--")):
                mean = rows[rows.role == role].groupby("step")[metric].mean()
                ax.plot(mean.index, mean.values, ls=ls, lw=1.4, color=colour,
                        label=MODEL_NAMES.get(model, model) if role == "validation" else None)
        ax.axvline(steps[family], color="#444444", lw=0.8, ls=":")
        ax.set_title(f"{family}: {steps[family]} steps", loc="left")
        ax.set_ylabel("MSE" if metric == "mse" else "bal. accuracy")
        if metric == "mse":
            ax.set_yscale("log")
        ax.legend(loc="best", frameon=False)
    for ax in axes.flat[len(names):]:
        ax.set_axis_off()
    if len(names) < axes.size:  # the spare panel explains the line styles
        key = [plt.Line2D([], [], color="#444444", ls=ls, lw=lw) for ls, lw in (("-", 1.4), ("--", 1.4), (":", 0.8))]
        axes.flat[-1].legend(key, ["held-out training worms (chooses)", "test worms (shown only)",
                                   "the family's steps"], loc="center", frameon=False)
    for ax in axes[-1]:
        ax.set_xlabel("optimiser steps")
    fig.tight_layout()
    return fig

"""Figures and tables as the book shows them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import pandas as pd  # noqa: E402

from wormlib import plotting  # noqa: E402


def test_table_formats_numbers_p_values_and_headers_and_reprs_stably():
    frame = pd.DataFrame({"model": ["a", "b"], "mean_difference": [0.01234, -0.2],
                          "p_value": [0.0, 0.0123], "frames": [3137.0, 15.0]})
    table = plotting.table(frame)
    html = table._repr_html_()
    assert "&lt; 0.001" in html and "0.012" in html and "3,137" in html and "mean difference" in html
    assert ">0<" not in html  # no RangeIndex column
    assert repr(table) == repr(plotting.table(frame)) and "0x" not in repr(table)
    assert html == plotting.table(frame)._repr_html_()  # stable element ids: same page on a rerun


def test_mean_sd_cells_pivot_each_summary_row_into_its_cell():
    summary = pd.DataFrame(dict(model=["gnn", "gnn", "mlp"], step=[1, 16, 1], mean=[0.01234, 0.5, 0.2],
                                sd=[0.00049, 0.0, np.nan]))
    cells = plotting.mean_sd_cells(summary, "model", "step", digits=3)
    assert cells.loc["gnn", 1] == "0.012 ± 0.000" and cells.loc["gnn", 16] == "0.500 ± 0.000"
    assert cells.loc["mlp", 1] == "0.200 ± nan" and pd.isna(cells.loc["mlp", 16])   # one worm: no sd
    wide = plotting.mean_sd_cells(summary.assign(k=4), "model", ["k", "step"], digits=2)
    assert list(wide.columns) == [(4, 1), (4, 16)] and wide.loc["mlp", (4, 1)] == "0.20 ± nan"


def test_plotting_functions_draw_at_page_width_and_close_their_figure():
    @plotting.page_figure
    def wide():
        fig, _ = plt.subplots(figsize=(14, 4))
        return fig

    fig = wide()
    width, height = fig.get_size_inches()
    assert width == plotting.PAGE_WIDTH_IN and abs(height - 4 * plotting.PAGE_WIDTH_IN / 14) < 1e-9  # scaled whole
    assert not plt.fignum_exists(fig.number)  # shown once, where plotting.figure places it


def test_figure_emits_a_numbered_captioned_figure_with_alt_text(monkeypatch):
    import myst_nb

    shown, glued = [], {}
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    monkeypatch.setattr(myst_nb, "glue", lambda name, obj, display: glued.update({name: (obj, display)}))
    fig, _ = plt.subplots()
    plotting.figure(fig, "fig-x", "A caption with **0.123**.", alt="A line  rising\nslowly")
    assert glued == {"fig-x": (fig, False)}
    assert shown[0].startswith("```{glue:figure} fig-x\n:name: fig-x\n:alt: A line rising slowly\n")
    assert "A caption with **0.123**." in shown[0]


def test_similarity_panels_label_each_worm_block_once_and_ticks_fit_their_panel():
    labels = ["w1 r0", "w1 r1", "w2 r0", "w2 r1", "w2 r2"]
    fig = plotting.similarity_panels([("pooled", np.eye(5), labels)])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["w1", "w2"]
    np.testing.assert_allclose(ax.get_xticks(), [0.5, 3.0])
    assert all(t.get_fontsize() >= 9 for t in ax.get_yticklabels())
    assert plotting.tick_size(7 / 2, 15) == 9 > plotting.tick_size(7 / 3, 15) > 7 > plotting.tick_size(7 / 4, 15) >= 5
    assert plotting.tick_size(7, 3) == 9  # never larger than the body text of a figure


def _smallest_text_pt(fig) -> float:
    """Smallest font (pt at page size) of any visible, non-empty text of a figure."""
    fig.canvas.draw()
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(t.get_fontsize() for t in texts)


def test_page_figures_print_no_text_below_9_pt(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(plotting.plt, "close", lambda fig=None: None)  # keep the figures to inspect
    rng = np.random.default_rng(0)
    neurons = tuple(f"N{i:02d}" for i in range(15))
    panels = [(f"panel {k}", rng.random((15, 15))) for k in range(4)] + [("connectome (White 1986)", np.eye(15))]
    assert _smallest_text_pt(plotting.adjacency_panels(panels, neurons, ncols=2)) >= 9
    assert _smallest_text_pt(plotting.model_diagram()) >= 9
    similarity = [("pooled", np.eye(4), ["w1 r0", "w1 r1", "w2 r0", "w2 r1"])]
    assert _smallest_text_pt(plotting.similarity_panels(similarity)) >= 9
    states = ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")
    rec = SimpleNamespace(states=rng.integers(0, 7, 50), state_names=states)  # what trajectories_3d reads
    fig = plotting.trajectories_3d([(f"worm {k}", rng.random((50, 3)), rec) for k in range(5)], states=states)
    assert _smallest_text_pt(fig) >= 9
    points = [rng.random((30, 2)) for _ in range(2)]
    fig = plotting.embedding_plane(points, [rng.integers(0, 4, 30) for _ in range(2)],
                                   ("forward", "reverse", "ventral-turn", "dorsal-turn"), ("1", "2"))
    assert _smallest_text_pt(fig) >= 9


def test_numbered_table_is_a_myst_table_directive_with_every_row(monkeypatch):
    frame = pd.DataFrame({"model": ["a|b", "b"], "mean_difference": [0.01234, -0.2], "p_value": [0.0, 0.5]})
    text = plotting.table(frame).to_myst("tbl-x", "A caption\nover two lines.")
    lines = text.splitlines()
    assert lines[0] == ":::{table} A caption over two lines." and lines[1] == ":name: tbl-x"
    assert lines[3] == "| model | mean difference | p value |" and lines[4] == "|:---|---:|---:|"
    assert lines[5] == "| a\\|b | 0.012 | &lt; 0.001 |" and lines[6] == "| b | -0.200 | 0.500 |"
    assert lines[-1] == ":::"
    indexed = plotting.table(frame.set_index("model")).to_myst("tbl-y", "c").splitlines()
    assert indexed[3].startswith("| model | mean difference")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    plotting.numbered_table("| a |\n|---|\n| 1 |", "tbl-z", "Pipe table.")
    markdown = shown[0].data
    assert markdown.startswith(":::{table} Pipe table.\n:name: tbl-z\n\n| a |") and markdown.endswith(":::\n")


def test_keys_show_as_keys_and_index_names_get_their_headers():
    frame = pd.DataFrame({"train": ["kato", "kato", "dag"], "lag_s": [0.0, 3.0, 1.5], "auc": [0.71, 0.8, 0.9]})
    indexed = plotting.table(frame.set_index(["train", "lag_s"]), headers={"lag_s": "lag (s)"})
    lines = indexed.to_myst("tbl-k", "c").splitlines()
    assert lines[3] == "| train | lag (s) | auc |" and lines[4] == "|:---|:---|---:|"
    assert lines[5:8] == ["| kato | 0 | 0.710 |", "| kato | 3 | 0.800 |", "| dag | 1.5 | 0.900 |"]
    html = indexed._repr_html_()
    assert "lag (s)" in html and ">3<" in html and "3.000" not in html
    paired = pd.DataFrame({"lag_s": [0.0], "a": ["gnn"], "b": ["mlp"], "mean_difference": [0.1], "ci_low": [0.0],
                           "ci_high": [0.2], "p_value": [0.04], "verdict": ["a > b"]})
    row = plotting.paired_table(paired, ["lag_s", "a", "b"]).to_myst("tbl-p", "c").splitlines()[5]
    assert row.startswith("| 0 | gnn | mlp | 0.100 |")  # the key column: 0, not 0.000
    narrow = paired.assign(mean_difference=[1e-4], ci_low=[2e-5], ci_high=[1.8e-4])
    lines = plotting.paired_table(narrow, ["lag_s", "a", "b"], digits=4).to_myst("tbl-n", "c").splitlines()
    assert lines[5].startswith("| 0 | gnn | mlp | 0.00010 | 0.00002 | 0.00018 | 0.040 |")  # not 0.0000
    assert lines[4].endswith("|---:|---:|---:|---:|:---|")  # the differences stay right-aligned numbers
    around_zero = paired.assign(mean_difference=[-2e-5], ci_low=[-2e-4], ci_high=[-1e-6])
    row = plotting.paired_table(around_zero, ["lag_s", "a", "b"], digits=4).to_myst("tbl-z", "c").splitlines()[5]
    assert row.startswith("| 0 | gnn | mlp | -0.000020 | -0.000200 | -0.000001 |")  # more decimals: a bound ≈ 0
    wide = paired.assign(mean_difference=[-2e-5], ci_low=[-2e-4], ci_high=[2e-4])
    row = plotting.paired_table(wide, ["lag_s", "a", "b"], digits=4).to_myst("tbl-w", "c").splitlines()[5]
    assert row.startswith("| 0 | gnn | mlp | 0.0000 | -0.0002 | 0.0002 |")  # a difference ≈ 0 is 0, not -0


def test_transposed_table_formats_each_quantity_as_its_column_would_be():
    frame = pd.DataFrame({"frames": [3137, 2980], "fps": [2.853, np.nan], "no state": [0, 12_000]},
                         index=["worm 1", "total"])
    shown = plotting.transposed_table(frame, digits=2)
    assert shown.text["columns"] == ["", "worm 1", "total"]
    assert shown.text["rows"] == [["frames", "3,137", "2,980"], ["fps", "2.85", "—"],
                                  ["no state", "0", "12,000"]]
    assert shown.text["numeric"] == [False, True, True]
    assert "| fps | 2.85 | — |" in shown.to_myst("tbl-x", "caption")


def test_numbers_formatted_as_text_align_right_and_words_left():
    frame = pd.DataFrame({"model": ["GNN", "MLP"], "accuracy": ["0.925", "—"],
                          "GNN − MLP": ["**+0.028** [+0.008, +0.047]", "-0.001 [-0.002, +0.001]"],
                          "note": ["0.9 of it", "fine"]})
    assert plotting.table(frame).text["numeric"] == [False, True, True, False]


def test_paired_metrics_table_puts_the_metrics_side_by_side_and_marks_intervals_off_zero():
    rows = [dict(comparison=c, metric=m, a="gnn", b=b, mean_difference=d, ci_low=d - h, ci_high=d + h,
                 p_value=p, verdict="-")
            for m in ("accuracy", "balanced-accuracy")  # metric-major, as paired_comparisons gives them
            for c, b, d, h, p in [("4-state", "mlp", 0.02, 0.01, 0.01), ("2-state", "mlp", -0.001, 0.004, 0.6),
                                  ("4-state", "log. reg.", -0.05, 0.02, 0.003)]]
    rows[4]["mean_difference"], rows[4]["ci_high"] = 0.0, 0.004  # balanced accuracy, 2-state: still 0 inside
    shown = plotting.paired_metrics_table(pd.DataFrame(rows), ["comparison", "a", "b"])
    lines = shown.to_myst("tbl-w", "c").splitlines()
    assert lines[3] == ("| comparison | model a | model b | accuracy · a − b [95% CI] "
                        "| balanced accuracy · a − b [95% CI] |")
    assert lines[4] == "|:---|:---|:---|---:|---:|"
    assert lines[5:8] == ["| 4-state | gnn | mlp | **+0.020** [+0.010, +0.030] | **+0.020** [+0.010, +0.030] |",
                          "| 2-state | gnn | mlp | -0.001 [-0.005, +0.003] | +0.000 [-0.005, +0.004] |",
                          "| 4-state | gnn | log. reg. | **-0.050** [-0.070, -0.030] | **-0.050** [-0.070, -0.030] |"]
    with_p = plotting.paired_metrics_table(pd.DataFrame(rows), ["comparison", "a", "b"], p_values=True)
    assert with_p.text["columns"][3:5] == ["accuracy · a − b [95% CI]", "accuracy · p (paired t)"]
    assert [r[4] for r in with_p.text["rows"]] == ["0.010", "0.600", "0.003"]
    one_key = plotting.paired_metrics_table(pd.DataFrame(rows[:1] + rows[3:4]), ["comparison"])  # a single key
    assert one_key.to_myst("tbl-k", "c").splitlines()[5] == (
        "| 4-state | **+0.020** [+0.010, +0.030] | **+0.020** [+0.010, +0.030] |")


def test_short_model_names_rename_only_the_model_columns():
    pairs = pd.DataFrame(dict(comparison=["gnn-inferred-static"], a=["gnn-inferred-static-gru-window"],
                              b=["gnn-inferred-static"], metric=["accuracy"]))
    short = plotting.short_model_names(pairs)
    assert short.a.tolist() == ["GRU-window GNN"] and short.b.tolist() == ["GNN"]
    assert short.comparison.tolist() == ["gnn-inferred-static"]           # not a model column: kept
    assert plotting.short_model_names(pairs.assign(a="new-model")).a.tolist() == ["new-model"]  # no name: kept
    assert len(set(plotting.MODEL_NAMES.values())) == len(plotting.MODEL_NAMES)  # no two models share a name


def test_crosslab_figure_names_each_model_once_under_its_lags_at_9_pt(monkeypatch):
    monkeypatch.setattr(plotting.plt, "close", lambda fig=None: None)
    rows = [dict(train=t, model=m, lag_s=lag, roc_auc=0.7, null_auc_95=0.6, test=str(r))
            for t in ("kato2015", "other-dag-recordings") for m in ("logistic-regression", "mlp-concat",
                                                                    "gnn-inferred-static")
            for lag in (0.0, 3.0) for r in range(3)]
    fig = plotting.crosslab_auc(pd.DataFrame(rows))
    assert tuple(fig.get_size_inches()) == (plotting.PAGE_WIDTH_IN, 3.4)  # drawn at page size, not scaled
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0 s", "3 s"] * 3
    names = [t.get_text() for t in ax.texts]
    assert names == ["log. reg.", "MLP", "GNN"] and _smallest_text_pt(fig) >= 9
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))  # the names do not touch


def test_text_drawn_over_text_is_found_and_refused(monkeypatch):
    fig, (left, right) = plt.subplots(1, 2, figsize=(4, 2))
    left.set_title("a long title that runs into the next panel's title")
    right.set_title("another title")
    assert ("a long title that runs into the next panel's title", "another title") in plotting.overlapping_texts(fig)
    with pytest.raises(plotting.FigureLayoutError, match="fig-x: text drawn over text"):
        plotting.figure(fig, "fig-x", "caption", "alt")
    clean, ax = plt.subplots(figsize=(4, 2))
    ax.set(title="t", xlabel="x", ylabel="y")
    spare = clean.add_axes([0.6, 0.1, 0.2, 0.2])
    spare.axis("off")                          # ticks of an axis that is off are not drawn: not counted
    assert plotting.overlapping_texts(clean) == []
    plt.close("all")


def test_a_figure_the_page_would_shrink_below_the_smallest_text_is_refused(monkeypatch):
    """A legend beside a page-wide panel widens the saved PNG; the page shrinks it to the text
    column, and 9-pt text falls under 80 % of the body text."""
    monkeypatch.setattr(plotting, "glue", lambda *a, **k: None, raising=False)
    wide, ax = plt.subplots(figsize=(plotting.PAGE_WIDTH_IN, 3))
    ax.plot([0, 1], [0, 1], label="a model with a long name")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    assert plotting.shown_text_px(wide) < plotting.SMALLEST_SHOWN_PX
    with pytest.raises(plotting.FigureLayoutError, match="fig-wide: drawn .* in wide"):
        plotting.figure(wide, "fig-wide", "caption", "alt")
    fits, ax = plt.subplots(figsize=(plotting.PAGE_WIDTH_IN, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], label="a model with a long name")
    fits.legend(loc="outside lower center")
    assert plotting.shown_text_px(fits) >= plotting.SMALLEST_SHOWN_PX
    plt.close("all")


def test_a_colour_bar_over_a_panel_is_refused_and_the_similarity_figure_has_none():
    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2.5))
    image = right.imshow(np.eye(3))
    right.set_title("pooled")
    fig.colorbar(image, cax=right.inset_axes([0.4, 0.1, 0.1, 0.8]), label="similarity")  # over the panel
    assert plotting.colour_bars_over_panels(fig) == [("similarity", "pooled")]
    with pytest.raises(plotting.FigureLayoutError, match="colour bar drawn over a panel"):
        plotting.figure(fig, "fig-y", "caption", "alt")
    blank, ax = plt.subplots(1, 2, figsize=(6, 2.5))
    ax[1].axis("off")                            # a bar inset into a blank panel is where it belongs
    blank.colorbar(ax[0].imshow(np.eye(3)), cax=ax[1].inset_axes([0.1, 0.4, 0.8, 0.1]), orientation="horizontal")
    assert plotting.colour_bars_over_panels(blank) == []
    sim = np.corrcoef(np.random.default_rng(0).random((10, 20)))
    labels = [f"w{i // 2 + 1} r{i % 2}" for i in range(10)]
    panels = plotting.similarity_panels([("own-worm models", sim, labels), ("pooled models", sim, labels)])
    assert plotting.colour_bars_over_panels(panels) == []
    plt.close("all")

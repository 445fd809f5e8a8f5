"""Nested window selection: inner splits stay inside the training worms, the choice never reads a
test worm, picks the window that holds the signal, and the nested records are the chosen ones."""

import numpy as np
import pandas as pd
import pytest
import torch

from wormlib import experiments, selection
from wormlib.train import TaskData, TrainConfig

N, F = 4, 2


def _toy_data(n_worms=4, t=200, delay=0, seed=0):
    """Worms whose class is neuron 0's trace ``delay`` frames earlier above or below 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_worms, t, N, F)).astype(np.float32)
    y = np.full((n_worms, t), -1, np.int64)
    y[:, delay:] = x[:, : t - delay, 0, 0] > 0.5
    return TaskData(tuple(f"w{i}" for i in range(n_worms)), tuple(f"n{i}" for i in range(N)), ("a", "b"),
                    torch.from_numpy(x), torch.from_numpy(y), torch.ones(n_worms, N, dtype=torch.bool),
                    torch.full((n_worms,), t))


def test_window_names_single_frame_fixed_lags_and_others():
    net = "gnn-inferred-static-window"
    assert selection.windowed(net, 1) == "gnn-inferred-static"
    assert selection.windowed(net, 6) == net and selection.WINDOWS[6] == experiments.LAGS
    assert selection.windowed(net, 10) == net + "-10"
    assert all(lags[0] == 0 and len(lags) == n for n, lags in selection.WINDOWS.items())


def test_inner_splits_leave_one_training_worm_out_inside_each_outer_split():
    data = _toy_data(n_worms=5)
    outer = experiments.unseen_splits(data, 3)
    train, test, info = selection.inner_splits(data, outer)
    assert train.shape == (len(outer[2]) * 3, *data.y.shape) and len(info) == len(train)
    for m, split in enumerate(outer[2]):
        for j in range(3):
            i = 3 * m + j
            assert not (train[i] & test[i]).any()
            assert torch.equal(train[i] | test[i], outer[0][m])             # the outer training worms, all of them
            assert not ((train[i] | test[i]) & outer[1][m]).any()           # no outer test worm
            assert test[i].any(-1).sum() == 1 and info[i]["outer"] == split["train"]
            assert info[i]["n_train_worms"] == 2 and len(info[i]["train"].split(",")) == 2


def test_the_choice_never_reads_an_outer_test_worm():
    """The inner scores are bit-identical whatever the outer test worm's recording holds."""
    cfg = TrainConfig(steps=8)
    scores = []
    for fill in (0.0, 7.0):
        data = _toy_data()
        data.x[3] = fill                                                   # w3: the outer test worm
        train, test, info = experiments.unseen_splits(data, 3)
        outer = (train[:1], test[:1], info[:1])                            # trained on w0, w1, w2
        assert info[0]["train"] == "w0,w1,w2"
        scores.append(selection.inner_scores(experiments.WINDOW_MODELS, data, outer, 8, cfg))
    pd.testing.assert_frame_equal(scores[0], scores[1])
    assert set(scores[0].window) == set(selection.WINDOWS) and set(scores[0].test) == {"w0", "w1", "w2"}


def test_inner_selection_picks_a_window_that_holds_the_informative_lag():
    data = _toy_data(t=600, delay=6)                 # the label is the trace 6 frames back
    train, test, info = experiments.unseen_splits(data, 3)
    outer = (train[:1], test[:1], info[:1])
    inner = selection.inner_scores(("mlp-concat-window",), data, outer, 16, TrainConfig(steps=300, lr=1e-2))
    chosen = selection.choose(inner)
    assert len(chosen) == 1 and chosen.window[0] >= 3                 # windows of 3+ frames reach lag 6
    mean = inner.groupby("window").balanced_accuracy.mean()
    assert mean[1] < 0.6 < mean[3] - 0.2                               # the frame alone is at chance


def test_choose_takes_the_best_mean_inner_score_and_the_shorter_window_on_a_tie():
    inner = pd.DataFrame(dict(
        network=["g"] * 6 + ["m"] * 4, outer=["a,b"] * 6 + ["a,b"] * 4,
        window=[1, 1, 3, 3, 6, 6, 3, 3, 6, 6],
        balanced_accuracy=[0.5, 0.6, 0.7, 0.5, 0.9, 0.4, 0.6, 0.8, 0.8, 0.6]))
    chosen = selection.choose(inner).set_index("network")
    assert chosen.loc["g", "window"] == 6 and chosen.loc["g", "inner_score"] == pytest.approx(0.65)
    assert chosen.loc["m", "window"] == 3                                # 0.7 each: the shorter window


def test_nested_records_are_the_chosen_windows_outer_records():
    records = pd.DataFrame(dict(
        model=["g", "g-window", "g-window-10", "g", "g-window", "g-window-10"],
        train=["a,b"] * 3 + ["a,c"] * 3, test=["c"] * 3 + ["b"] * 3, value=[1, 2, 3, 4, 5, 6]))
    records.model = records.model.str.replace("g", "gnn-inferred-static")
    chosen = pd.DataFrame(dict(network=["gnn-inferred-static-window"] * 2, outer=["a,b", "a,c"], window=[10, 1]))
    nested = selection.nested_records(records, chosen)
    assert list(nested.value) == [3, 4] and set(nested.model) == {"gnn-inferred-static-window-nested"}
    with pytest.raises(ValueError, match="no outer records"):
        selection.nested_records(records, chosen.assign(window=3))


def test_summary_counts_choices_and_averages_test_worms_before_subsets():
    net = "gnn-inferred-static-window"
    rec = lambda model, train, test, metric, value: dict(model=model, train=train, test=test,  # noqa: E731
                                                         metric=metric, value=value)
    inner = pd.DataFrame([rec(selection.windowed(net, n), "a", "b", "balanced-accuracy", v)
                          for n, v in ((1, 0.4), (3, 0.6), (6, 0.5), (10, 0.5))])
    outer = pd.DataFrame([rec(net + "-10", "a,b", "c", "accuracy", 0.9), rec(net + "-10", "a,c", "c", "accuracy", 0.7),
                          rec(net + "-10", "a,b", "d", "accuracy", 0.5)])
    chosen = pd.DataFrame(dict(network=[net] * 2, outer=["a,b", "a,c"], window=[3, 3]))
    table = selection.summary(inner, chosen, outer).set_index("window")
    assert list(table.chosen) == [0, 2, 0, 0] and table.inner_balanced_accuracy[3] == pytest.approx(0.6)
    assert table.test_accuracy[10] == pytest.approx((0.8 + 0.5) / 2) and np.isnan(table.test_accuracy[1])


def test_from_records_reads_back_what_the_chapter_saves():
    """``Results`` records of a run → the same choice and nested records as the in-memory tables."""
    from wormlib.results import Results

    data = _toy_data(n_worms=4, t=120)
    outer = experiments.unseen_splits(data, 3)
    cfg = TrainConfig(steps=5)
    inner = selection.inner_scores(experiments.WINDOW_MODELS, data, outer, 8, cfg)
    every = selection.outer_scores(experiments.WINDOW_MODELS, data, outer, 2, 8, cfg, tuple(selection.WINDOWS))
    chosen = selection.choose(inner)
    results = Results("classification", "quick")
    results.add_scores(inner, "inner", "2-state")
    results.add_scores(every, "outer", "2-state")
    results.add_frame(chosen.rename(columns={"network": "model", "outer": "train"}), "chosen", "window", "window",
                      task="2-state", n_train_worms=3, population="unseen", protocol="leave-worms-out")
    table, records = selection.from_records(results.frame(), "2-state", 3, "inner", "chosen", ["outer"])
    assert table.chosen.sum() == 2 * len(outer[2])                       # every subset, both networks
    nested = records[records.model.str.endswith(selection.NESTED)]
    assert len(nested) == 2 * len(outer[2]) * 4      # networks × subsets (one test worm each) × 4 metrics:
    assert set(nested.metric) == {"accuracy", "balanced-accuracy", "accuracy-sd-over-seeds",  # the scores and
                                  "balanced-accuracy-sd-over-seeds"}                          # their seed spread
    for row in chosen.itertuples():
        pick = nested[(nested.model == row.network + selection.NESTED) & (nested.train == row.outer)]
        same = records[(records.model == selection.windowed(row.network, row.window)) & (records.train == row.outer)]
        assert sorted(pick.value) == sorted(same.value[same.metric.isin(pick.metric)])
    other_k = results.frame().query("experiment == 'inner'").assign(n_train_worms=1, value=0.0)   # a k = 2 setting
    again, _ = selection.from_records(pd.concat([results.frame(), other_k]), "2-state", 3, "inner", "chosen", ["outer"])
    pd.testing.assert_series_equal(again.inner_balanced_accuracy, table.inner_balanced_accuracy)

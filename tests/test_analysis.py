"""Chapter 1 analyses (PCA, episodes, consistency) and the results records."""

import numpy as np
import pandas as pd
import pytest

from wormlib import evaluate, manifold, variability
from wormlib.data import Recording
from wormlib.results import Results, scores_from_records


def test_pca_recovers_planted_components():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(2000, 3)) * [5, 3, 2]
    basis = np.linalg.qr(rng.normal(size=(20, 3)))[0].T       # (3, 20) orthonormal
    x = latent @ basis + 0.01 * rng.normal(size=(2000, 20)) + 7
    pca = manifold.fit_pca(x, 3)
    assert pca.explained.sum() == pytest.approx(1.0, abs=1e-3)
    assert pca.variance_captured(x) == pytest.approx(pca.explained.sum(), abs=1e-9)
    np.testing.assert_allclose(np.abs(pca.components @ basis.T), np.eye(3), atol=0.05)


def test_centroid_accuracy_separable_vs_random():
    rng = np.random.default_rng(0)
    states = np.repeat([0, 1, 2], 100)
    separated = np.eye(3)[states] * 10 + rng.normal(size=(300, 3))
    assert manifold.centroid_accuracy(separated, states, np.ones(300, bool)) > 0.99
    assert manifold.centroid_accuracy(rng.normal(size=(300, 3)), states, np.ones(300, bool)) < 0.6


def test_episodes():
    assert variability.episodes(np.array([1, 1, 2, 2, 2, 1])) == [(1, 0, 2), (2, 2, 5), (1, 5, 6)]


def _worm(seed, offset):
    """A synthetic worm: 40 alternating episodes of states 0/1 (15 frames each); one neuron whose
    level is 0.2 in state 0 and 0.8 + offset in state 1, plus noise; two reference neurons pin
    the min–max range."""
    rng = np.random.default_rng(seed)
    states = np.repeat(np.arange(40) % 2, 15)
    x = np.where(states == 1, 0.8 + offset, 0.2) + 0.05 * rng.normal(size=states.size)
    x[0], x[1] = -0.5, 1.5  # fixed range so normalisation does not hide the offset
    return Recording("test", str(seed), "", x[:, None], ("X",), states, ("a", "b"), 3.0,
                     np.arange(states.size) / 3.0)


def test_consistency_detects_a_shifted_worm():
    alike = [_worm(s, 0.0) for s in range(4)]
    shifted = alike[:3] + [_worm(3, 0.3)]
    p_alike = variability.consistency_pvalues(alike, ("X",), ("b",)).loc["X", "b"]
    p_shifted = variability.consistency_pvalues(shifted, ("X",), ("b",)).loc["X", "b"]
    assert p_alike > 0.01 and p_shifted < 1e-4
    assert variability.consistent_neurons(variability.consistency_pvalues(alike, ("X",), ("a", "b"))) == ["X"]


def test_results_vocabulary_is_enforced():
    res = Results("test", "quick")
    res.add("x", "accuracy", 0.5, task="2-state", population="unseen", protocol="leave-worms-out")
    for bad in (dict(task="3-state"), dict(population="other"), dict(model="GNN Inferred")):
        with pytest.raises(ValueError):
            res.add("x", "accuracy", 0.5, **bad)
    with pytest.raises(ValueError):
        res.add("x", "accuracy", float("nan"))
    assert list(res.frame().columns)[-2:] == ["metric", "value"]


def test_paired_comparisons_pair_each_metric_and_skip_absent_models():
    res = Results("test", "quick")
    for worm, (gnn, mlp) in zip("12345", [(0.9, 0.8), (0.8, 0.75), (0.85, 0.8), (0.95, 0.9), (0.7, 0.6)]):
        for metric, shift in (("accuracy", 0.0), ("balanced-accuracy", -0.1)):
            res.add("x", metric, gnn + shift, model="gnn", test=worm)
            res.add("x", metric, mlp, model="mlp", test=worm)
    rows = evaluate.paired_comparisons({"k=4": res.frame()}, [("gnn", "mlp"), ("gnn", "svm")])
    assert list(rows.metric) == ["accuracy", "balanced-accuracy"] and set(rows.comparison) == {"k=4"}
    assert rows.mean_difference.tolist() == pytest.approx([0.07, -0.03])
    assert rows.verdict.iloc[0] == "gnn better" and rows.verdict.iloc[1] == "not detectable"
    text = evaluate.comparisons_text(rows)
    assert text.count("; ") == 1 and text.startswith("k=4, accuracy: +0.070 [")
    assert text.endswith("→ not detectable") and "balanced accuracy: -0.030 [" in text


def test_interval_text_shows_which_side_of_zero_a_bound_lies_on():
    text = evaluate.interval_text
    assert text(dict(mean_difference=0.012, ci_low=-0.003, ci_high=0.030)) == "+0.012 [-0.003, +0.030]"
    assert text(dict(mean_difference=-0.0008, ci_low=-0.0013, ci_high=-0.0003)) == "-0.0008 [-0.0013, -0.0003]"
    # at most two more decimals; an exact 0 stays as it is
    assert text(dict(mean_difference=0.0, ci_low=-1e-9, ci_high=1e-9)) == "+0.00000 [-0.00000, +0.00000]"
    assert text(dict(mean_difference=0.01, ci_low=0.0, ci_high=0.02)) == "+0.010 [+0.000, +0.020]"
    assert text(dict(mean_difference=0.0204, ci_low=0.00004, ci_high=0.04), 4) == "+0.02040 [+0.00004, +0.04000]"
    # a mean that rounds to 0 is not printed as -0 (its sign is noise); a bound keeps its side
    assert text(dict(mean_difference=-0.0003, ci_low=-0.077, ci_high=0.076)) == "+0.000 [-0.077, +0.076]"
    assert text(dict(mean_difference=-0.0006, ci_low=-0.077, ci_high=0.076)) == "-0.001 [-0.077, +0.076]"


def test_paired_table_means_per_worm_and_intervals_as_text():
    res = Results("test", "quick")
    # worm 1 is tested by two splits: its scores are averaged before the mean over worms
    for worm, split, gnn, mlp in [("1", "a", 0.9, 0.8), ("1", "b", 0.7, 0.6), ("2", "a", 0.8, 0.75),
                                  ("3", "a", 0.85, 0.8)]:
        for model, value in (("gnn", gnn), ("mlp", mlp)):
            res.add("x", "accuracy", value, model=model, test=worm, train=split, task="2-state", n_train_worms=4)
    table = evaluate.paired_table(res.frame(), ["task", "n_train_worms"], {"GNN": "gnn", "MLP": "mlp"},
                                  {"GNN − MLP": ("gnn", "mlp")}, metrics=("accuracy",))
    assert table.columns.tolist() == ["task", "n_train_worms", "metric", "GNN", "MLP", "GNN − MLP"]
    assert table.GNN.iloc[0] == f"{(0.8 + 0.8 + 0.85) / 3:.3f}"
    d = evaluate.paired_difference(res.frame().rename(columns={"value": "accuracy"}), "gnn", "mlp")
    assert d["mean_difference"] == pytest.approx((0.1 + 0.05 + 0.05) / 3)
    assert table["GNN − MLP"].iloc[0] == evaluate.interval_text(d) and table["GNN − MLP"].iloc[0].startswith("+0.067 [")
    # a model that one group lacks (a baseline run on one task only) leaves that group's cells empty
    res.add("x", "accuracy", 0.5, model="svm", test="1", train="a", task="7-state", n_train_worms=4)
    for model, value in (("gnn", 0.6), ("mlp", 0.55)):
        res.add("x", "accuracy", value, model=model, test="1", train="a", task="7-state", n_train_worms=4)
    both = evaluate.paired_table(res.frame(), ["task"], {"GNN": "gnn", "SVM": "svm"},
                                 {"GNN − SVM": ("gnn", "svm")}, metrics=("accuracy",)).set_index("task")
    assert both.isna().to_dict() == {"metric": {"2-state": False, "7-state": False},
                                     "GNN": {"2-state": False, "7-state": False},
                                     "SVM": {"2-state": True, "7-state": False},
                                     "GNN − SVM": {"2-state": True, "7-state": False}}
    assert both.loc["7-state", "SVM"] == "0.500"


def test_replace_with_seeded_swaps_whole_groups_for_one_key_or_two():
    single = pd.DataFrame(dict(model=["gnn", "gnn", "mlp"], n_train_worms=[1, 4, 4], mse=[1.0, 2.0, 3.0]))
    seeded = pd.DataFrame(dict(model=["gnn"], n_train_worms=[4], mse=[9.0]))
    by_model_and_k = evaluate.replace_with_seeded(single, seeded)
    assert sorted(by_model_and_k.mse) == [1.0, 3.0, 9.0]
    by_model = evaluate.replace_with_seeded(single, seeded, key=("model",))
    assert sorted(by_model.mse) == [3.0, 9.0]
    assert sorted(evaluate.replace_with_seeded(single, seeded.iloc[:0], key=("model",)).mse) == [1.0, 2.0, 3.0]


def test_scores_from_records_inverts_add_scores_for_unseen_worms():
    scores = pd.DataFrame([dict(model=m, protocol="leave-worms-out", population="unseen", n_train_worms=4,
                                train=train, test=test, accuracy=acc, balanced_accuracy=acc - 0.1)
                           for m in ("mlp", "gnn") for train, test, acc in
                           (("a,b,c,d", "e", 0.8), ("a,b,c,e", "d", 0.7))])
    res = Results("test", "quick")
    res.add_scores(scores, "x", "2-state")
    back = scores_from_records(res.frame(), "x", ("mlp", "gnn"), 4)
    pd.testing.assert_frame_equal(back[scores.columns.tolist()], scores)
    res2 = Results("test", "quick")
    res2.add_scores(back, "x", "2-state")
    assert res2.records == res.records
    assert scores_from_records(res.frame(), "x", ("gnn", "mlp"), 4).model.tolist() == ["gnn"] * 2 + ["mlp"] * 2
    with pytest.raises(ValueError, match="svm"):
        scores_from_records(res.frame(), "x", ("gnn", "svm"), 4)
    with pytest.raises(ValueError):
        scores_from_records(res.frame(), "x", ("gnn",), 3)


def test_add_scores_on_seen_worms_separates_fold_spread_from_seed_spread():
    # one worm, 3 folds × 2 seeds: seed 1 is seed 0 shifted by +0.1 on every fold
    acc = {(f, s): 0.5 + 0.2 * f + 0.1 * s for f in range(3) for s in range(2)}
    scores = pd.DataFrame([dict(model="gnn", protocol="shuffled-windows", population="seen", n_train_worms=1,
                                train="a", test="a", fold=f, seed=s, accuracy=a, balanced_accuracy=a)
                           for (f, s), a in acc.items()])
    res = Results("test", "quick")
    res.add_scores(scores, "x", "2-state")
    value = {r["metric"]: r["value"] for r in res.records}
    assert value["accuracy"] == pytest.approx(0.75)
    assert value["accuracy-sd-over-folds"] == pytest.approx(0.2)             # of the seed means 0.55, 0.75, 0.95
    assert value["accuracy-sd-over-seeds"] == pytest.approx(0.1 / np.sqrt(2))  # of the fold means 0.7, 0.8


def test_add_metrics_writes_one_record_per_value_with_hyphenated_names():
    res = Results("test", "quick")
    res.add_metrics("agreement", {"null_mean": 0.3, "agreement": 0.6}, task="4-state")
    frame = res.frame()
    assert frame.metric.tolist() == ["null-mean", "agreement"] and frame.value.tolist() == [0.3, 0.6]
    assert (frame.task == "4-state").all()


def test_calibration_scores_match_hand_computed_cases():
    import torch

    # one model, one worm, four frames of two classes; the model says 0.9 for class 0 throughout
    probs = torch.tensor([[0.9, 0.1]]).expand(4, 2).reshape(1, 1, 4, 2)
    y = torch.tensor([[0, 0, 0, 1]])
    mask = torch.ones(1, 1, 4, dtype=torch.bool)
    per, rel = evaluate.calibration(probs, y, mask, ("a", "b"))
    row = per.iloc[0]
    assert row.log_loss == pytest.approx(-(3 * np.log(0.9) + np.log(0.1)) / 4)
    assert row.brier == pytest.approx((3 * 2 * 0.01 + (0.81 + 0.81)) / 4)
    assert row.ece == pytest.approx(abs(0.75 - 0.9))            # one bin: accuracy 3/4 at confidence 0.9
    assert (row.recall_a, row.recall_b) == (1.0, 0.0)
    assert rel.frames.sum() == 4 and rel.accuracy.iloc[0] == pytest.approx(0.75)
    # a calibrated, sure model: no error at all
    perfect = torch.nn.functional.one_hot(y, 2).float()[None]     # (1, 1, 4, 2)
    per, _ = evaluate.calibration(perfect, y, mask, ("a", "b"))
    assert per.ece.iloc[0] == pytest.approx(0) and per.brier.iloc[0] == pytest.approx(0)


def test_ablation_table_pairs_each_set_with_the_reference_per_test_worm():
    rows = []
    for task, chance_n in (("2-state", 2),):
        for label, drop in (("all", 0.0), ("fewer", 0.1)):
            for worm, w in zip("12345", (0.0, 0.01, -0.01, 0.02, -0.02)):
                rows.append(dict(task=task, neurons=label, model="m", test=worm, balanced_accuracy=0.9 - drop + w / 10))
    table = evaluate.ablation_table(pd.DataFrame(rows), "all", {"2-state": ("a", "b")})
    fewer = table[table.neurons == "fewer"].iloc[0]
    assert fewer["loss"] == pytest.approx(0.1) and fewer.chance == 0.5 and fewer.ci == "[+0.100, +0.100]"
    assert "loses 0.100" in evaluate.ablation_summary(table, "m", "all", "M")


def test_the_neurons_that_track_a_reference_are_found_from_traces_alone():
    rng = np.random.default_rng(0)
    recs = []
    for w in range(3):
        ref = rng.normal(size=500)
        traces = np.stack([ref, ref + 0.2 * rng.normal(size=500), -ref + 0.2 * rng.normal(size=500),
                           rng.normal(size=500)], 1)
        recs.append(Recording("kato2015", str(w), "x", traces, ("REF", "SAME", "OPPOSITE", "OTHER"),
                              np.zeros(500, dtype=int), ("fwd",), 2.0, np.arange(500) / 2.0))
    r = variability.locked_to(recs, "REF", ("REF", "SAME", "OPPOSITE", "OTHER"))
    assert r.loc["SAME"].gt(0.9).all() and r.loc["OPPOSITE"].lt(-0.9).all()
    assert variability.tracking(r) == ("REF", "SAME", "OPPOSITE")

"""Chapter 5's analyses: cross-lab decoding (lag, null, scores) and inferred-graph statistics."""

import numpy as np
import pytest
import torch

from wormlib import crosslab, graphs
from wormlib.models import GNN
from wormlib.train import TaskData


def _bouts(n=600, mean_bout=30, seed=0):
    """A 0/1 label sequence of exponential-length bouts, like behaviour."""
    rng = np.random.default_rng(seed)
    out, state = [], 0
    while len(out) < n:
        out += [state] * (1 + int(rng.exponential(mean_bout)))
        state = 1 - state
    return np.array(out[:n])


def test_lag_pairs_activity_with_earlier_behaviour():
    y = torch.tensor([[0, 0, 1, 1, 0, 0]])
    assert crosslab.lag_labels(y, 0).tolist() == y.tolist()
    assert crosslab.lag_labels(y, 2).tolist() == [[-1, -1, 0, 0, 1, 1]]
    with pytest.raises(ValueError):
        crosslab.lag_labels(y, -1)


def test_lagged_shifts_only_the_given_worms_by_seconds():
    y = torch.tensor([[0, 1, 1, 0, 0, 1], [0, 1, 1, 0, 0, 1]])
    data = TaskData(("a", "b"), ("n",), ("forward", "reverse"), torch.zeros(2, 6, 1, 2), y,
                    torch.ones(2, 1, dtype=torch.bool), torch.tensor([6, 6]))
    out = crosslab.lagged(data, 1.2, fps=1.667, first=1)  # 1.2 s at 1.667 Hz → 2 frames
    assert out.y[0].tolist() == y[0].tolist()
    assert out.y[1].tolist() == [-1, -1, 0, 1, 1, 0]


def test_window_lags_keep_seconds_across_frame_rates_and_kato_frames_as_they_are():
    from wormlib.experiments import LAGS

    kato_fps = 2.87
    lags = crosslab.window_lags([2.80, 3.07, 1.6666], kato_fps, n_reference=2)
    assert lags.shape == (3, len(LAGS))
    assert lags[0].tolist() == list(LAGS) and lags[1].tolist() == list(LAGS)  # Kato: chapter 3's frames
    seconds_kato = torch.tensor(LAGS) / kato_fps
    seconds_dag = lags[2] / 1.6666
    assert lags[2].tolist() == [0, 2, 3, 5, 7, 9]
    assert (seconds_dag - seconds_kato).abs().max() <= 0.5 / 1.6666  # within half a Dag frame


def test_per_recording_window_lags_read_each_recordings_own_past():
    x = torch.arange(2 * 8, dtype=torch.float32).reshape(2, 8, 1, 1)  # value = worm·8 + frame
    data = TaskData(("kato", "dag"), ("n",), ("forward", "reverse"), x, torch.zeros(2, 8, dtype=torch.long),
                    torch.ones(2, 1, dtype=torch.bool), torch.tensor([8, 6]))
    out = data.with_lags(torch.tensor([[0, 3], [0, 2]])).x                  # (2, 8, 1, 2)
    assert out[0, 5, 0].tolist() == [5.0, 2.0] and out[1, 5, 0].tolist() == [13.0, 11.0]
    assert out[1, 1, 0].tolist() == [9.0, 8.0]                                # before frame 0: frame 0
    assert (out[1, 6:] == 0).all()                                           # padding stays zero
    same = data.with_lags((0, 3)).x
    torch.testing.assert_close(data.with_lags(torch.tensor([[0, 3], [0, 3]])).x, same)


def test_circular_shift_null_separates_aligned_from_unrelated_scores():
    truth = _bouts()
    rng = np.random.default_rng(1)
    aligned = truth + rng.normal(0, 0.8, truth.size)
    unrelated = _bouts(seed=7) + rng.normal(0, 0.8, truth.size)  # same autocorrelation, no alignment
    null = crosslab.circular_shift_null(aligned, truth, n_shifts=100)
    assert null.shape == (100,) and abs(null.mean() - 0.5) < 0.1
    scores = {}
    for name, score in (("aligned", aligned), ("unrelated", unrelated)):
        probs = torch.zeros(1, truth.size, 2, dtype=torch.float64)
        probs[0, :, 1] = torch.sigmoid(torch.from_numpy(score))
        scores[name] = crosslab.score_recordings(probs, torch.from_numpy(truth)[None], ("w",),
                                                 torch.tensor([True]), n_shifts=100).iloc[0]
    assert scores["aligned"].roc_auc > scores["aligned"].null_auc_95 and scores["aligned"].p_value < 0.05
    assert scores["unrelated"].p_value > 0.05


def test_scores_ignore_excluded_frames_and_reward_a_perfect_decoder():
    truth = torch.tensor([[0, 0, 1, 1, -1, 0, 1, 0, 1, 1] * 20])
    probs = torch.zeros(1, truth.shape[1], 2)
    probs[0, :, 1] = (truth[0] == 1).float()
    probs[0, truth[0] == -1, 1] = 1.0  # wrong, but excluded
    row = crosslab.score_recordings(probs, truth, ("w",), torch.tensor([True]), n_shifts=20).iloc[0]
    assert row.balanced_accuracy == 1 and row.roc_auc == 1 and row.n_frames == 180


def test_offdiagonal_and_similarity():
    a = np.arange(9.0).reshape(3, 3)
    assert graphs.offdiagonal(a).tolist() == [1, 2, 3, 5, 6, 7]
    rng = np.random.default_rng(0)
    g = rng.random((5, 12, 12))
    sim = graphs.similarity(g)
    assert sim.shape == (5, 5) and np.allclose(np.diag(sim), 1)


def test_within_worm_similarity_is_detected_and_its_null_is_calibrated():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(4), 3)
    bases = rng.random((4, 10, 10))
    structured = np.stack([bases[g] + 0.3 * rng.random((10, 10)) for g in groups])
    unstructured = rng.random((12, 10, 10))
    hit = graphs.within_across(graphs.similarity(structured), groups, n_permutations=500)
    miss = graphs.within_across(graphs.similarity(unstructured), groups, n_permutations=500)
    assert hit["within"] > hit["across"] and hit["p_value"] < 0.01
    assert miss["p_value"] > 0.05


def test_individuality_sees_worm_structure_and_its_chance_level_does_not():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(4), 3)
    shared = rng.random((10, 10))  # wiring common to every worm, then each worm's own
    bases = shared + 0.7 * rng.random((4, 10, 10))
    graphs_ = np.stack([bases[g] + 0.3 * rng.random((10, 10)) for g in groups])
    stats = graphs.individuality(graphs_, groups, np.random.default_rng(0))
    assert stats["within"] > stats["across"] and stats["p_value"] < 0.01
    assert abs(stats["shuffled-labels"]) < 0.2 < stats["across"]  # relabelled neurons: chance similarity


def test_similarity_by_worm_puts_one_worms_graphs_side_by_side():
    rng = np.random.default_rng(0)
    adj = rng.random((4, 6, 6))
    worm_of, replicate = np.array([1, 0, 1, 0]), np.array([0, 0, 1, 1])
    sim, labels = graphs.similarity_by_worm(adj, worm_of, replicate, ["2", "5"])
    assert labels == ["w2 r0", "w2 r1", "w5 r0", "w5 r1"]
    order = [1, 3, 0, 2]
    assert np.allclose(sim, graphs.similarity(adj)[np.ix_(order, order)])


def test_connectome_agreement_against_shuffled_labels():
    rng = np.random.default_rng(0)
    conn = rng.random((14, 14)) * (rng.random((14, 14)) < 0.3)
    close = graphs.connectome_agreement(conn + 0.1 * rng.random((14, 14)), conn, n_permutations=300)
    unrelated = graphs.connectome_agreement(rng.random((14, 14)), conn, n_permutations=300)
    assert close["spearman"] > 0.5 and close["roc_auc"] > 0.9 and close["p_roc_auc"] < 0.01
    assert unrelated["p_roc_auc"] > 0.05 and abs(unrelated["roc_auc"] - 0.5) < 0.15
    shuffled = graphs.shuffled_labels(conn, rng)
    assert sorted(graphs.offdiagonal(shuffled).tolist()) == sorted(graphs.offdiagonal(conn).tolist())


@pytest.mark.parametrize("ties", [False, True])
def test_connectome_agreement_equals_scipy_and_sklearn_on_each_relabelling(ties):
    # the vectorised null against the plain loop: the same relabellings (shuffled_labels' draws),
    # scipy's Spearman and sklearn's ROC AUC on each; ties in both weights where asked
    from scipy import stats
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    conn = rng.random((9, 9)) * (rng.random((9, 9)) < 0.4)
    a = rng.random((9, 9)) + conn
    if ties:
        conn, a = np.round(conn * 3), np.round(a, 1)
    got = graphs.connectome_agreement(a, conn, n_permutations=200, seed=5)
    x, draws = graphs.offdiagonal(a), np.random.default_rng(5)
    null = []
    for _ in range(200):
        y = graphs.offdiagonal(graphs.shuffled_labels(conn, draws))
        null.append((stats.spearmanr(x, y).statistic, roc_auc_score(y > 0, x)))
    null = np.array(null)
    y = graphs.offdiagonal(conn)
    rho, auc = stats.spearmanr(x, y).statistic, roc_auc_score(y > 0, x)
    assert got["spearman"] == pytest.approx(rho, abs=1e-12) and got["roc_auc"] == pytest.approx(auc, abs=1e-12)
    assert got["p_spearman"] == pytest.approx((1 + np.sum(null[:, 0] >= rho - 1e-12)) / 201)
    assert got["p_roc_auc"] == pytest.approx((1 + np.sum(null[:, 1] >= auc - 1e-12)) / 201)
    low, high = np.quantile(null[:, 1], [0.025, 0.975])
    assert (got["null_roc_auc_low"], got["null_roc_auc_high"]) == pytest.approx((low, high), abs=1e-12)
    with pytest.raises(ValueError, match="both kinds"):
        graphs.connectome_agreement(a, np.zeros_like(conn))


def test_static_adjacencies_are_the_models_edges_on_the_whole_worm():
    torch.manual_seed(0)
    n, f = 6, 2
    model = GNN(3, n, f, 2, 8, edges="static").eval()
    x = torch.rand(2, 50, n, f)
    data = TaskData(("a", "b"), tuple("abcdef"), ("x", "y"), x, torch.zeros(2, 50, dtype=torch.long),
                    torch.ones(2, n, dtype=torch.bool), torch.tensor([50, 40]))
    adj = graphs.static_adjacencies(model, data, [(2, 1)])
    with torch.no_grad():
        _, a = model(x[1:2, :40].expand(3, -1, -1, -1), data.present[:1].expand(3, -1), return_edges=True)
    np.testing.assert_allclose(adj[0], a[2, 0].numpy(), atol=1e-6)



def test_unseen_worm_edges_cover_its_frames_and_never_read_its_labels():
    """Chapter 2's graphs of a worm the GNNs never saw: the last worm's frames only, one static
    graph and one per frame, and the same edges whatever that worm's labels say."""
    from wormlib.train import TrainConfig

    rng = np.random.default_rng(0)
    n, t = 5, 40
    x = torch.from_numpy(rng.random((3, t, n, 2)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 2, (3, t)))
    data = TaskData(("1", "2", "3"), tuple("abcde"), ("p", "q"), x, y, torch.ones(3, n, dtype=torch.bool),
                    torch.tensor([t, t, 30]))
    cfg = TrainConfig(steps=5, batch_size=16)
    worm, edges = graphs.unseen_worm_edges(data, 8, cfg, seed=0)
    assert worm == 2 and edges["static"].shape == (1, n, n) and edges["dynamic"].shape == (30, n, n)
    relabelled = TaskData(data.worms, data.neurons, data.classes, x, y.clone().index_fill_(0, torch.tensor([2]), 1),
                          data.present, data.lengths)
    _, again = graphs.unseen_worm_edges(relabelled, 8, cfg, seed=0)
    for kind in edges:
        torch.testing.assert_close(again[kind], edges[kind], rtol=0, atol=0)

def test_kato_trained_decoder_reads_every_dag_recording_above_chance(kato):
    """End to end on the real data, with the fast baseline: one row per Dag recording and lag,
    the Kato-trained decoder above chance on average, and the ceiling trained within Dag."""
    from wormlib.data import load_dag2023
    from wormlib.train import TrainConfig

    dag = load_dag2023()
    rows = crosslab.kato_to_dag(kato, dag, ("logistic-regression",), 8, TrainConfig(), n_shifts=20)
    assert len(rows) == 2 * len(dag) and set(rows.lag_s) == {crosslab.LAG_S, crosslab.SENSITIVITY_LAG_S}
    assert set(rows.test) == {r.worm for r in dag} and (rows.train == "kato2015").all()
    primary = rows[rows.lag_s == crosslab.LAG_S]
    assert primary.roc_auc.mean() > 0.65 and (primary.null_auc_mean - 0.5).abs().max() < 0.1
    ceiling = crosslab.leave_one_recording_out(dag[:3], ("AVAL", "AVAR", "AIBL"), ("logistic-regression",), 8,
                                               TrainConfig(), lags_s=(0.0,), n_shifts=20, label="other-dag-recordings")
    assert len(ceiling) == 3 and (ceiling.train == "other-dag-recordings").all()
    # the lagged decoder reads a window of the past in both labs, and is scored like the others
    both = crosslab.leave_one_recording_out(dag[:3], ("AVAL", "AVAR", "AIBL"),
                                            ("logistic-regression", "logistic-regression-lagged"), 8, TrainConfig(),
                                            lags_s=(0.0,), n_shifts=20, kato_fps=2.87, label="other-dag-recordings")
    assert sorted(both.model.unique()) == ["logistic-regression", "logistic-regression-lagged"]
    assert len(both) == 6
    lagged = both[both.model == "logistic-regression-lagged"].roc_auc.to_numpy()
    assert not np.allclose(lagged, ceiling.roc_auc.to_numpy())


def test_kato_to_dag_seeds_scores_every_replicate_on_every_dag_recording(kato):
    """The seeded transfer run behind claim 2: each network in each seed on every Dag recording,
    the replicates different from one another."""
    from wormlib.data import load_dag2023
    from wormlib.train import TrainConfig

    dag = load_dag2023()[:2]
    rows = crosslab.kato_to_dag_seeds(kato, dag, ("mlp-concat",), 8, TrainConfig(steps=20, batch_size=16), 3)
    assert len(rows) == 3 * len(dag) and sorted(rows.seed.unique()) == [0, 1, 2]
    assert set(rows.test) == {r.worm for r in dag} and rows.roc_auc.between(0, 1).all()
    assert rows.groupby("test").roc_auc.nunique().gt(1).all()  # the seeds are different trainings

import numpy as np
import pytest

from wormlib import preprocess as P


def test_derivative_is_exact_for_quadratics_and_close_for_sines():
    fps = 3.0
    t = np.arange(300) / fps
    x = np.stack([0.5 * t ** 2 - t, np.sin(0.5 * t)], axis=1)
    d = P.derivative(x, fps)
    np.testing.assert_allclose(d[:, 0], t - 1, atol=1e-8)
    np.testing.assert_allclose(d[10:-10, 1], 0.5 * np.cos(0.5 * t[10:-10]), atol=0.03)


def test_features_normalised_and_missing_neuron_masked(kato):
    feats = P.neuron_features(kato[4])  # worm 5 lacks VB01
    assert feats.values.shape == (3021, 15, 2)
    vb01 = P.PAPER_NEURONS.index("VB01")
    assert feats.present.tolist() == [n != "VB01" for n in P.PAPER_NEURONS]
    assert (feats.values[:, vb01] == 0).all()
    present = feats.values[:, feats.present]
    np.testing.assert_allclose(present.min(axis=0), 0)
    np.testing.assert_allclose(present.max(axis=0), 1)
    # columns are not shifted: VB02 is VB02
    vb02 = kato[4].traces[:, kato[4].column("VB02")]
    np.testing.assert_allclose(feats.values[:, P.PAPER_NEURONS.index("VB02"), 0], P.minmax(vb02))


def test_shared_neurons(kato):
    assert P.shared_neurons(kato) == tuple(n for n in P.PAPER_NEURONS if n != "VB01")
    assert P.shared_neurons(kato, P.NICHOLS_SHARED) == P.NICHOLS_SHARED


def test_state_maps(kato):
    totals = {task: np.bincount(np.concatenate([P.task_labels(r, task) for r in kato]) + 1)
              for task in P.CLASSES}
    assert totals["7-state"][0] == 176  # only nostate excluded
    assert totals["7-state"][1:].tolist() == [1448, 5200, 537, 619, 5323, 802, 1557]
    assert totals["4-state"][1:].tolist() == [1448 + 5200, 537 + 619 + 5323, 1557, 802]
    assert totals["2-state"][0] == 176 + 1557 + 802  # turns and nostate excluded
    with pytest.raises(ValueError):
        P.task_labels(kato[0], "3-state")


def test_shuffled_window_folds_partition_whole_windows():
    folds = P.shuffled_window_folds(3137, n_folds=10, window=8, seed=1)
    assert (folds[-1] == -1) and (folds[:3136] >= 0).all()
    windows = folds[:3136].reshape(-1, 8)
    assert (windows == windows[:, :1]).all()              # a window never straddles folds
    assert set(np.bincount(windows[:, 0])) <= {39, 40}      # balanced
    assert not np.array_equal(windows[:, 0], np.sort(windows[:, 0]))  # shuffled
    np.testing.assert_array_equal(folds, P.shuffled_window_folds(3137, 10, 8, seed=1))


def test_contiguous_blocks():
    folds = P.contiguous_block_folds(3137, 10)
    assert (np.diff(folds) >= 0).all() and folds[0] == 0 and folds[-1] == 9
    assert np.bincount(folds).min() >= 313


def test_leave_worms_out_covers_every_subset():
    worms = ("1", "2", "3", "4", "5")
    assert [len(P.leave_worms_out(worms, k)) for k in (1, 2, 3, 4)] == [5, 10, 10, 5]
    for train, test in P.leave_worms_out(worms, 3):
        assert set(train).isdisjoint(test) and set(train) | set(test) == set(worms)


def test_causal_derivative_never_sees_the_future_and_is_exact_for_quadratics():
    import numpy as np

    from wormlib.preprocess import derivative

    t = np.arange(120) / 2.9
    x = np.stack([t**2, 3 * t - 1], axis=1)
    causal = derivative(x, 2.9, kind="causal")
    np.testing.assert_allclose(causal[10:], np.stack([2 * t, np.full_like(t, 3.0)], 1)[10:], atol=1e-9)
    future = x.copy()
    future[60:] += np.random.default_rng(0).normal(size=(60, 2))
    changed = derivative(future, 2.9, kind="causal")
    np.testing.assert_array_equal(changed[:60], causal[:60])            # frames ≤ t only
    centred = derivative(future, 2.9, kind="centred")
    assert not np.allclose(centred[:60], derivative(x, 2.9)[:60])       # the centred one looks ahead
    assert np.allclose(centred[:57], derivative(x, 2.9)[:57])           # … by 3 frames at 2.9 Hz


@pytest.mark.parametrize("fps", [1.67, 2.9, 3.3])
def test_derivative_reach_is_the_frames_the_derivative_reads(fps):
    from types import SimpleNamespace

    x = np.random.default_rng(1).normal(size=(80, 1))
    t = 40
    for kind in P.DERIVATIVES:
        past, future = P.derivative_reach([SimpleNamespace(fps=fps)] * 2, kind)
        base = P.derivative(x, fps, kind=kind)[t]
        moved = {}
        for frame in range(t - past - 2, t + future + 3):
            bumped = x.copy()
            bumped[frame] += 1.0
            moved[frame - t] = not np.allclose(P.derivative(bumped, fps, kind=kind)[t], base, atol=1e-12)
        reads = [k for k, m in moved.items() if m]
        assert min(reads) == -past and max(reads) == future, (kind, moved)
        text = P.reach_text(past, future)
        assert text.startswith(f"t−{past} … t") and text.endswith(f"+{future}" if future else " t")
    texts = P.derivative_texts([SimpleNamespace(fps=fps)])
    assert texts["centred"] == P.reach_text(*P.derivative_reach([SimpleNamespace(fps=fps)], "centred"))
    with pytest.raises(ValueError, match="different derivative windows"):
        P.derivative_reach([SimpleNamespace(fps=1.67), SimpleNamespace(fps=2.9)], "causal")


def test_replicates_share_splits_but_not_initialisations():
    import torch

    from wormlib import experiments
    from wormlib.models import GNN

    splits = (torch.ones(2, 3, 10, dtype=torch.bool), torch.zeros(2, 3, 10, dtype=torch.bool),
              [dict(train="a"), dict(train="b")])
    train, test, info = experiments.replicate(splits, 3)
    assert train.shape == (6, 3, 10) and [i["seed"] for i in info] == [0, 0, 1, 1, 2, 2]
    assert [i["train"] for i in info] == ["a", "b"] * 3
    torch.manual_seed(0)
    stack = GNN(len(info), 4, 2, 3, 8)
    weight = stack.g_node[0].weight                                     # (M, i, o)
    assert not torch.equal(weight[0], weight[2])                        # same split, own initialisation

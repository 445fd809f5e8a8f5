"""The ADMM port (wormlib.admm): the kernel's defining properties, a system with a known cycle,
out-of-sample placement, determinism, nested selection, causality and bad input."""

import numpy as np
import pytest

from wormlib import admm, forecast

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def two_loops(n_frames=3000, period=40, noise=0.02, seed=0):
    """A noisy limit cycle on a figure of eight: at every pass through the crossing the system
    takes the left or the right loop at random. Returns (activity (T, 3), phase (T,) in
    [0, 2π), loop (T,) 0/1)."""
    rng = np.random.default_rng(seed)
    phase, loop = np.zeros(n_frames), np.zeros(n_frames, int)
    phi, side = 0.0, 0
    for t in range(n_frames):
        phase[t], loop[t] = phi, side
        phi += 2 * np.pi / period * (1 + 0.1 * rng.standard_normal())
        if phi >= 2 * np.pi:
            phi -= 2 * np.pi
            side = int(rng.integers(2))
    sign = np.where(loop == 0, -1.0, 1.0)
    x = sign * (1 - np.cos(phase))                                        # both loops pass through 0
    y = np.sin(phase)
    z = 0.5 * np.sin(2 * phase)
    return np.c_[x, y, z] + noise * rng.standard_normal((n_frames, 3)), phase, loop


def circle(n_cycles=20, period=50, noise=0.005, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n_cycles * period)
    circle = np.c_[np.cos(2 * np.pi * t / period), np.sin(2 * np.pi * t / period)]
    return circle + noise * rng.standard_normal((len(t), 2))


def test_delay_embedding_layout_and_causality():
    x = np.arange(20.0)[:, None] * np.array([1.0, 10.0])                  # (T, 2)
    e = admm.delay_embed(x, tau=2, n_delays=1)                             # window 3
    assert e.shape == (17, 2 * 2 * 2)
    # row 0 is frame 3: [x(3), Δx(3), x(1), Δx(1)] per neuron, neurons inside each copy
    np.testing.assert_allclose(e[0], [3, 1, 30, 10, 1, 1, 10, 10])
    padded = admm.delay_embed(x, 2, 1, pad=True)
    assert padded.shape == (20, 8)
    changed = x.copy()
    changed[12:] += 5.0
    same = admm.delay_embed(changed, 2, 1, pad=True)
    np.testing.assert_array_equal(same[:12], padded[:12])                  # frames < 12 never see frame 12


def test_transition_matrix_is_row_stochastic_asymmetric_and_sparse():
    p, info = admm.transition_matrix([circle()], admm.KernelConfig(n_neighbors=5))
    np.testing.assert_allclose(np.asarray(p.sum(1)).ravel(), 1.0, atol=1e-12)
    assert (p.data >= 0).all()
    assert abs(p - p.T).max() > 1e-3
    assert p.nnz <= p.shape[0] * 6


def test_kernel_is_centred_on_the_next_state():
    period = 50
    p, info = admm.transition_matrix([circle(period=period)], admm.KernelConfig(n_neighbors=5))
    coo = p.tocoo()
    offset = (coo.col - coo.row) % period
    # every link goes to a frame at the phase of the row's *next* frame, none to its own phase
    assert np.mean(offset == 1) > 0.95
    assert np.mean(offset == 0) < 0.02


def test_two_loop_system_phase_and_loops():
    act, phase, loop = two_loops()
    emb = admm.Embedding(tau=3, n_delays=2)
    x = emb(act)                                                           # (T − window, D)
    phase, loop = phase[emb.window:-1], loop[emb.window:-1]                # the nodes
    m = admm.Manifold.build([(x - x.mean(0)) / x.std(0)], admm.KernelConfig(n_neighbors=10))
    est = m.phase()
    # the phase of the cycle mode follows the true phase (up to a shift and a direction)
    r = max(abs(np.mean(np.exp(1j * (est - s * phase)))) for s in (1, -1))
    assert r > 0.8, r
    # the loops: communities do not mix the two loops (away from the crossing)
    labels = m.loops(attempts=2)
    far = np.abs(np.sin(phase / 2)) > 0.5
    purity = sum(np.bincount(loop[far & (labels == c)], minlength=2).max() for c in np.unique(labels)) / far.sum()
    assert purity > 0.9, purity
    assert len(np.unique(labels)) >= 2


def test_out_of_sample_map_of_a_training_frame_is_its_own_place():
    m = admm.Manifold.build([circle()], admm.KernelConfig(n_neighbors=5))
    placed = m.place(m.points[100:160])
    np.testing.assert_allclose(placed, m.coords[100:160], atol=1e-12)


def test_same_input_same_manifold():
    a = admm.Manifold.build([circle()], admm.KernelConfig(n_neighbors=5))
    b = admm.Manifold.build([circle()], admm.KernelConfig(n_neighbors=5))
    np.testing.assert_array_equal(a.coords, b.coords)
    np.testing.assert_array_equal(a.p.toarray(), b.p.toarray())


def test_row_blocks_and_the_reused_buffer_do_not_change_the_kernel():
    """The distances are computed in row blocks into one reused buffer; the last block is short.
    Any block size (one that does not divide the nodes, one row, all rows at once) gives the same
    links and out-of-sample neighbours, and weights equal up to the matrix product's rounding
    (BLAS may pick another kernel for another row count, so bit equality is not guaranteed)."""
    segments = [two_loops(n_frames=400, seed=s)[0] for s in (1, 2)]
    cfg = admm.KernelConfig(n_neighbors=5)
    whole, _ = admm.transition_matrix(segments, cfg, block=10_000)
    for block in (1, 37, 256):
        p, _ = admm.transition_matrix(segments, cfg, block=block)
        np.testing.assert_array_equal(p.indices, whole.indices)
        np.testing.assert_allclose(p.toarray(), whole.toarray(), rtol=1e-10, atol=1e-12)
    m = admm.Manifold.build(segments, cfg)
    new = two_loops(n_frames=300, seed=3)[0]
    ref = m.neighbours(new, block=10_000)
    for block in (1, 37):
        idx, dist = m.neighbours(new, block=block)
        np.testing.assert_array_equal(idx, ref[0])
        np.testing.assert_allclose(dist, ref[1], rtol=1e-10)


@pytest.mark.parametrize("n", [1, 20, 840])
def test_nearest_columns_are_those_of_a_full_selection(n):
    """``_nearest_unsorted`` selects from a threshold set by every 8th column: it must keep each
    row's ``n`` smallest exactly as ``np.argpartition`` does, also for a row whose smallest values
    are the sampled columns (too few pass the threshold: the full selection), a row with infinite
    entries and a row of fewer finite entries than ``n``."""
    rng = np.random.default_rng(n)
    d = rng.exponential(size=(40, 3000))
    d[0, ::8] *= 1e-3                        # the sampled columns are the nearest: too few pass
    d[1, : 2 * n] = np.inf
    d[2, n // 2:] = np.inf
    got = admm._nearest_unsorted(d, n)
    want = np.argpartition(d, n - 1, axis=1)[:, :n]
    assert got.shape == (40, n)
    finite = np.isfinite(d)
    for g, w, f in zip(got, want, finite):
        assert set(g[f[g]]) == set(w[f[w]])                                  # inf ties may differ
        assert len(set(g)) == n


def _worms(n=3, seed=0):
    acts, targets = [], []
    for w in range(n):
        act, phase, loop = two_loops(n_frames=900, seed=seed + w)
        acts.append(act)
        targets.append((np.sin(phase) > 0).astype(int))                   # a "state" the cycle carries
    return acts, targets


def test_bank_decodes_a_held_out_worm_and_never_uses_its_labels():
    acts, targets = _worms()
    bank = admm.ManifoldBank(acts, admm.KernelConfig(n_neighbors=10))
    probs, emb = bank.predict((0, 1), targets, 2, [2])
    acc = np.mean(probs[2].argmax(1) == targets[2])
    assert acc > 0.8, acc
    scrambled = [t.copy() for t in targets]
    scrambled[2] = np.random.default_rng(1).integers(0, 2, len(targets[2]))
    again, emb2 = bank.predict((0, 1), scrambled, 2, [2])
    assert emb2 == emb
    np.testing.assert_array_equal(again[2], probs[2])


def test_placement_is_causal_with_training_worm_scaling():
    acts, _ = _worms()
    config = admm.KernelConfig(n_neighbors=10)
    bank = admm.ManifoldBank(acts, config, scaling="training-worms")
    view = bank.view((0, 1), admm.Embedding(3, 2))
    before = view.placed[2].copy()
    changed = [a.copy() for a in acts]
    changed[2][500:] += 1.0
    other = admm.ManifoldBank(changed, config, scaling="training-worms").view((0, 1), admm.Embedding(3, 2))
    np.testing.assert_allclose(other.placed[2][:500], before[:500], atol=1e-12)
    assert not np.allclose(other.placed[2][500:], before[500:])


def test_per_worm_scaling_ignores_a_held_out_worms_own_scale_and_reads_its_whole_recording():
    acts, _ = _worms()
    config = admm.KernelConfig(n_neighbors=10)
    view = admm.ManifoldBank(acts, config).view((0, 1), admm.Embedding(3, 2))   # per-worm, the book's
    rescaled = [a.copy() for a in acts]
    rescaled[2] = 4.0 * rescaled[2] - 2.0
    same = admm.ManifoldBank(rescaled, config).view((0, 1), admm.Embedding(3, 2))
    np.testing.assert_allclose(same.placed[2], view.placed[2], atol=1e-8)
    later = [a.copy() for a in acts]
    later[2][500:] += 1.0       # the worm's statistics move, so its early frames move too
    assert not np.allclose(admm.ManifoldBank(later, config).view((0, 1), admm.Embedding(3, 2)).placed[2][:500],
                           view.placed[2][:500])
    with pytest.raises(ValueError, match="scaling"):
        admm.ManifoldBank(acts, config, scaling="per-study")


def test_bad_input_gets_named_errors():
    with pytest.raises(admm.ADMMInputError, match="shorter than the embedding window"):
        admm.delay_embed(np.zeros((5, 3)), tau=3, n_delays=2)
    bad = np.ones((50, 3))
    bad[7, 1] = np.nan
    with pytest.raises(admm.ADMMInputError, match="non-finite"):
        admm.delay_embed(bad, 1, 1)
    with pytest.raises(admm.ADMMInputError, match="same neurons"):
        admm.ManifoldBank([np.zeros((50, 3)), np.zeros((50, 4))])


def test_a_worm_without_the_shared_neurons_is_refused():
    class Rec:
        worm = "x"

        def column(self, name):
            return None if name == "AVAL" else 0

    with pytest.raises(admm.ADMMInputError, match="lacks AVAL"):
        admm.trace_activity([Rec()], ("AVAL", "AVAR"))


def test_onset_bins_by_hand():
    # 1 frame per second: forward 0–4, reverse from 5 (onset at 5), forward 8–, turn at 12
    states = np.array([0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, -1, 0, 0, 0])
    bins = forecast.onset_bins(states, fps=1.0, horizons=(2, 4))
    # frame 0: onset in 5 s → beyond 4 s → class 2; frame 3: 2 s → class 0 (≤ 2 s); frame 1: 4 s → class 1
    assert bins[0] == 2 and bins[1] == 1 and bins[3] == 0 and bins[4] == 0
    assert (bins[5:8] == -1).all() and bins[12] == -1                      # not crawling forward
    # no later onset: frames with ≥ 4 s left are "none within", the last 4 s are censored
    assert bins[8] == 2 and (bins[12:] == -1).all()


def test_auc_with_null_separates_a_real_score_from_shifted_ones():
    rng = np.random.default_rng(0)
    bins = np.tile(np.r_[np.full(30, 1), np.full(10, 0)], 20)
    score = (bins == 0) + 0.3 * rng.standard_normal(len(bins))
    r = forecast.auc_with_null(score, bins, 0, n_shifts=50, min_shift=7)
    assert r["auc"] > 0.9 and r["null_q95"] < r["auc"]


@pytest.mark.parametrize("ties", [False, True])
def test_auc_with_null_equals_sklearn_on_each_shift(ties):
    # the one-array null against the plain loop: the same shifts, np.roll and sklearn's ROC AUC
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(4)
    bins = rng.integers(-1, 4, 600)
    score = rng.random(600).round(1 if ties else 12)
    got = forecast.auc_with_null(score, bins, 1, n_shifts=80, min_shift=20, seed=9)
    keep, target = bins >= 0, bins[bins >= 0] <= 1
    shifts = np.random.default_rng(9).integers(20, 600 - 20, 80)
    null = np.array([roc_auc_score(target, np.roll(score, s)[keep]) for s in shifts])
    auc = roc_auc_score(target, score[keep])
    assert got["auc"] == pytest.approx(auc, abs=1e-12)
    assert (got["null_mean"], got["null_q95"]) == pytest.approx((null.mean(), np.quantile(null, 0.95)), abs=1e-12)
    assert got["p"] == pytest.approx((np.sum(null >= auc - 1e-12) + 1) / 81)
    assert np.isnan(forecast.auc_with_null(score, np.full(600, 3), 1)["auc"])  # no onset within the horizon

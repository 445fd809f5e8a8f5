"""Models: shapes, neuron-order equivariance, missing neurons, stacking, overfitting, baselines."""

import numpy as np
import pytest
import torch

from wormlib import connectome, experiments
from wormlib.models import (GNN, GRUWindow, MLPClassifier, StackedBatchNorm, StackedLinear,
                            count_parameters)
from wormlib.train import TaskData, TrainConfig, fit, predict

N, F, C, H = 6, 2, 3, 16


def _inputs(m=2, b=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(m, b, N, F, generator=g)
    present = torch.ones(m, N, dtype=torch.bool)
    present[1, 4] = False  # a missing neuron in the second model's worm
    return x, present


GNNS = [dict(edges="dynamic"), dict(edges="static"), dict(edges="fixed", adjacency=torch.rand(N, N)),
        dict(edges="static", aggregate="sum"), dict(edges="static", aggregate="messages")]


@pytest.mark.parametrize("kwargs", GNNS + [dict(edges="dynamic", readout="node")])
def test_gnn_shapes(kwargs):
    x, present = _inputs()
    out = GNN(2, N, F, C, H, **kwargs)(x, present)
    assert out.shape == ((2, 32, C) if kwargs.get("readout") != "node" else (2, 32, N, C))


@pytest.mark.parametrize("kwargs", GNNS)
def test_gnn_is_equivariant_to_neuron_order(kwargs):
    torch.manual_seed(0)
    model = GNN(2, N, F, C, H, **kwargs)
    x, present = _inputs()
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    if kwargs["edges"] == "fixed":  # the connectome is relabelled with the neurons
        permuted = GNN(2, N, F, C, H, edges="fixed", adjacency=kwargs["adjacency"][perm][:, perm])
        permuted.load_state_dict({k: v for k, v in model.state_dict().items() if k != "adjacency"}, strict=False)
    else:
        permuted = model
    with torch.no_grad():
        h, a = model.node_states(x, present)
        hp, ap = permuted.node_states(x[:, :, perm], present[:, perm])
    torch.testing.assert_close(hp, h[:, :, perm], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ap, a[:, :, perm][:, :, :, perm], atol=1e-6, rtol=1e-6)


def test_node_update_is_concatenation_sum_or_the_messages_alone():
    """Step 4 of the GNN: h_i = [v_i ‖ m_i], v_i + m_i or m_i, from the same v and m (same
    weights loaded into each variant), and readouts sized for each (2H or H per node)."""
    x, present = _inputs()
    torch.manual_seed(0)
    concat = GNN(2, N, F, C, H, edges="static")
    with torch.no_grad():
        h, _ = concat.node_states(x, present)
        v, m = h[..., :H], h[..., H:]                                     # (M, B, N, H) each
        assert (m >= 0).all()                                             # the messages pass a ReLU
        for aggregate, expected in (("sum", v + m), ("messages", m)):
            variant = GNN(2, N, F, C, H, edges="static", aggregate=aggregate)
            shared = {k: w for k, w in concat.state_dict().items() if not k.startswith("g_out.")}
            variant.load_state_dict(shared, strict=False)
            torch.testing.assert_close(variant.node_states(x, present)[0], expected)
            assert variant(x, present).shape == (2, 32, C)
    with pytest.raises(ValueError, match="aggregate"):
        GNN(2, N, F, C, H, aggregate="mean")


@pytest.mark.parametrize("kwargs", GNNS)
def test_missing_neuron_is_dropped_from_the_graph(kwargs):
    """A missing neuron has no edges and a zero node state."""
    torch.manual_seed(0)
    model = GNN(2, N, F, C, H, **kwargs).eval()
    x, present = _inputs()
    with torch.no_grad():
        h, a = model.node_states(x, present)
    assert (a[1, :, 4, :] == 0).all() and (a[1, :, :, 4] == 0).all() and (h[1, :, 4] == 0).all()
    assert a[0, :, 4].abs().sum() > 0 and h[0, :, 4].abs().sum() > 0  # model 0's worm has it


def test_mlp_ignores_missing_neuron_values():
    torch.manual_seed(0)
    x, present = _inputs()
    for aggregate in ("concat", "sum"):
        model = MLPClassifier(2, N, F, C, H, aggregate).eval()
        x2 = x.clone()
        x2[1, :, 4] = 99.0
        with torch.no_grad():
            torch.testing.assert_close(model(x, present)[1], model(x2, present)[1])


def test_stacked_models_are_independent():
    """Model m's output depends only on model m's parameters and inputs."""
    torch.manual_seed(0)
    model = GNN(3, N, F, C, H, edges="static")
    x, _ = _inputs(m=3)
    present = torch.ones(3, N, dtype=torch.bool)
    out = model(x, present)
    out[1].sum().backward()
    for p in model.parameters():
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0


def test_stacked_layers_match_single_layers():
    torch.manual_seed(0)
    lin, bn = StackedLinear(2, 4, 5), StackedBatchNorm(2, 5)
    x = torch.randn(2, 7, 3, 4)
    y = bn(lin(x))
    ref = torch.nn.functional.linear(x[1], lin.weight[1].T, lin.bias[1, 0])
    ref = torch.nn.functional.batch_norm(ref.reshape(-1, 5), None, None, training=True).reshape(7, 3, 5)
    torch.testing.assert_close(y[1], ref, atol=1e-5, rtol=1e-5)


def test_parameter_count_is_per_model():
    assert count_parameters(MLPClassifier(5, N, F, C, H)) == count_parameters(MLPClassifier(1, N, F, C, H))


def _toy_data(n_worms=3, t=120, seed=0):
    """Worms whose class is decided by neuron 0's trace: a learnable toy task."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_worms, t, N, F)).astype(np.float32)
    y = (x[:, :, 0, 0] > 0.5).astype(np.int64) + (x[:, :, 1, 0] > 0.5)
    return TaskData(tuple(str(i) for i in range(n_worms)), tuple(f"n{i}" for i in range(N)), ("a", "b", "c"),
                    torch.from_numpy(x), torch.from_numpy(y), torch.ones(n_worms, N, dtype=torch.bool),
                    torch.full((n_worms,), t))


@pytest.mark.parametrize("name", ["mlp-concat", "gnn-inferred-static", "gnn-inferred-dynamic",
                                  *experiments.AGGREGATION_MODELS])
def test_small_model_overfits_a_tiny_batch(name):
    data = _toy_data(n_worms=1, t=64)
    torch.manual_seed(0)
    model = experiments.build_model(name, 1, data, 32)
    mask = torch.ones(1, 1, 64, dtype=torch.bool)
    # the messages alone (no own embedding in h_i) fit more slowly: 0.92 after 300 steps on one thread
    steps = 600 if name == "gnn-inferred-static-messages" else 300
    fit(model, data, mask, TrainConfig(steps=steps, batch_size=64, lr=1e-2, weight_decay=0))
    acc = (predict(model, data)[0, 0].argmax(-1) == data.y[0]).float().mean()
    assert acc > 0.95


def test_aggregation_comparison_reuses_the_concatenation_gnn_only_on_its_own_splits_and_seeds():
    data = {"2-state": _toy_data(n_worms=3, t=48)}
    cfg = TrainConfig(steps=3, batch_size=16)
    splits = experiments.unseen_splits(data["2-state"], 2)
    jobs, assemble = experiments.replicated_jobs(("gnn-inferred-static",), ("gnn-inferred-static",), data["2-state"],
                                                 splits, 2, 8, cfg)
    concat = experiments.run_settings([(jobs, assemble)])[0].assign(derivative="centred", task="2-state")
    out = experiments.aggregation_comparison(data, [("2-state", 2)], concat, 2, 8, cfg)
    assert set(out.model) == {"gnn-inferred-static", *experiments.AGGREGATION_MODELS}
    assert len(out) == 3 * len(concat) and set(out.derivative) == {"centred"} and set(out.task) == {"2-state"}
    reused = out[out.model == "gnn-inferred-static"].reset_index(drop=True)
    assert reused.equals(concat.reset_index(drop=True))                     # the same rows, not retrained
    with pytest.raises(ValueError, match="splits and seeds"):               # one seed fewer: not the same runs
        experiments.aggregation_comparison(data, [("2-state", 2)], concat[concat.seed == 0], 2, 8, cfg)


def test_training_is_deterministic():
    data = _toy_data()
    mask = torch.zeros(2, 3, 120, dtype=torch.bool)
    mask[0, :2], mask[1, 1:] = True, True
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = experiments.build_model("gnn-inferred-static", 2, data, 16)
        fit(model, data, mask, TrainConfig(steps=20))
        outs.append(predict(model, data))
    torch.testing.assert_close(outs[0], outs[1], atol=0, rtol=0)


def test_stacked_model_is_unaffected_by_its_neighbours_data():
    """Model 0 of a stack trains the same whatever model 1 trains on."""
    data = _toy_data()
    preds = []
    for other in (1, 2):
        mask = torch.zeros(2, 3, 120, dtype=torch.bool)
        mask[0, 0], mask[1, other] = True, True
        torch.manual_seed(0)
        model = fit(experiments.build_model("gnn-inferred-static", 2, data, 16), data, mask, TrainConfig(steps=15))
        preds.append(predict(model, data))
    torch.testing.assert_close(preds[0][0], preds[1][0], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(preds[0][1], preds[1][1])


def test_baselines_learn_the_toy_task_and_splits_are_disjoint():
    data = _toy_data()
    train, test, info = experiments.unseen_splits(data, 2)
    assert len(info) == 3 and not (train & test).any()
    # chance ≈ 0.5; the lagged model has 6× the inputs for 240 training frames of i.i.d. noise;
    # ADMM needs dynamics and is tested on a dynamical system in test_admm.py
    floors = {"logistic-regression": 0.75, "svm": 0.75, "logistic-regression-lagged": 0.6}
    for name, floor in floors.items():
        scores, _ = experiments.run(name, data, train, test, info, 16, TrainConfig())
        assert len(scores) == 3 and scores.accuracy.min() > floor, name


def test_seen_splits_are_disjoint_and_cover_each_worm():
    data = _toy_data()
    train, test, info = experiments.seen_splits(data, "contiguous-blocks", 4)
    assert train.shape == (12, 3, 120) and not (train & test).any()
    per_worm = test.reshape(3, 4, 3, 120).sum(1)  # (worm model group, worm, frames)
    for w in range(3):
        assert (per_worm[w, w] == 1).all() and per_worm[w].sum() == 120


def test_connectome_adjacency():
    a = connectome.adjacency(("AVAL", "AVAR", "VB01", "RMED"))
    assert a.shape == (4, 4) and np.allclose(np.diag(a), 1) and a.max() <= 1
    assert a[0, 1] > 0 and a[1, 0] > 0  # AVAL and AVAR are coupled by gap junctions
    assert (a[3, :3] == 0).all()  # RMED: no synapse with the others in White 1986
    assert connectome.connectome_name("VB01") == "VB1" and connectome.connectome_name("VB10") == "VB10"


def test_prediction_ignores_the_padding_after_a_worms_last_frame():
    """Batch normalisation sees a worm's own frames only, however long the longest worm is."""
    data = _toy_data(n_worms=1, t=80)
    torch.manual_seed(0)
    model = experiments.build_model("gnn-inferred-static", 1, data, 16)
    fit(model, data, torch.ones(1, 1, 80, dtype=torch.bool), TrainConfig(steps=5))
    padded = TaskData(data.worms, data.neurons, data.classes, torch.cat([data.x, torch.zeros(1, 40, N, F)], 1),
                      torch.cat([data.y, torch.full((1, 40), -1)], 1), data.present, data.lengths)
    torch.testing.assert_close(predict(model, padded)[:, :, :80], predict(model, data))
    assert (predict(model, padded)[:, :, 80:] == 0).all()


def test_stacked_batch_norm_matches_the_textbook_formula_and_its_gradient():
    from wormlib.models import _StackedBatchNormFunction

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 9, 4, dtype=torch.double, generator=gen, requires_grad=True)
    w = torch.randn(3, 1, 4, dtype=torch.double, generator=gen, requires_grad=True)
    b = torch.randn(3, 1, 4, dtype=torch.double, generator=gen, requires_grad=True)
    ref = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, unbiased=False, keepdim=True) + 1e-5) * w + b
    assert torch.allclose(_StackedBatchNormFunction.apply(x, w, b, 1e-5), ref, atol=1e-12)
    assert torch.autograd.gradcheck(lambda *t: _StackedBatchNormFunction.apply(*t, 1e-5), (x, w, b))


def test_chunked_pairwise_edges_match_the_plain_expression_and_its_gradient(monkeypatch):
    from wormlib.models import _PairwiseEdgesFunction as Pairwise

    m, b, n, he = 2, 5, 4, 3
    monkeypatch.setattr(Pairwise, "CHUNK_BYTES", m * n * n * he * 8 * 2)  # 2 frames a chunk, 3 chunks
    gen = torch.Generator().manual_seed(1)
    r, s = (torch.randn(m, b, n, he, dtype=torch.double, generator=gen, requires_grad=True) for _ in range(2))
    w = torch.randn(m, he, 1, dtype=torch.double, generator=gen, requires_grad=True)
    bias = torch.randn(m, 1, 1, dtype=torch.double, generator=gen, requires_grad=True)
    hidden = torch.relu(r[:, :, :, None] + s[:, :, None]).reshape(m, -1, he)
    ref = torch.sigmoid(torch.baddbmm(bias, hidden, w)).reshape(m, b, n, n)
    assert torch.allclose(Pairwise.apply(r, s, w, bias), ref, atol=1e-12)
    assert torch.autograd.gradcheck(Pairwise.apply, (r, s, w, bias))


def test_missing_neuron_masking_is_skipped_only_when_everyone_is_present():
    from wormlib.models import mask_nodes

    x = torch.randn(2, 3, 4, 5)
    everyone = torch.ones(2, 4, dtype=torch.bool)
    assert mask_nodes(x, everyone) is x
    some = everyone.clone()
    some[1, 2] = False
    masked = mask_nodes(x, some)
    assert (masked[1, :, 2] == 0).all() and torch.equal(masked[0], x[0])


def test_lagged_features_read_only_the_past_and_keep_the_padding():
    data = _toy_data()
    lags = experiments.LAGS
    windowed = data.with_lags(lags)
    n_feat = data.x.shape[-1]
    assert windowed.x.shape == (*data.x.shape[:3], n_feat * len(lags))
    n = int(data.lengths[0])
    for i, lag in enumerate(lags):
        block = windowed.x[0, :n, :, i * n_feat:(i + 1) * n_feat]
        torch.testing.assert_close(block[lag:], data.x[0, : n - lag])
        torch.testing.assert_close(block[:lag], data.x[0, :1].expand(lag, -1, -1))  # first frame repeated
    assert (windowed.x[:, :, :, :][torch.arange(data.x.shape[1]) >= data.lengths[:, None]] == 0).all()
    # changing the future leaves every frame's window up to now unchanged
    t0 = n // 2
    future = data.x.clone()
    future[:, t0 + 1:] += 1.0
    changed = type(data)(data.worms, data.neurons, data.classes, future, data.y, data.present, data.lengths)
    torch.testing.assert_close(changed.with_lags(lags).x[:, : t0 + 1], windowed.x[:, : t0 + 1])


class _NodeStates(torch.nn.Module):
    """A head that returns the node features it is given (to look at GRUWindow's states)."""

    def forward(self, x, present):
        return x


def test_gru_window_runs_torchs_gru_over_each_neurons_past_oldest_first():
    torch.manual_seed(0)
    n_lags = 4
    ours, ref = GRUWindow(1, n_lags, F, H, _NodeStates()), torch.nn.GRU(F, H, batch_first=True)
    with torch.no_grad():
        ours.cell.from_input.weight[0], ours.cell.from_input.bias[0, 0] = ref.weight_ih_l0.T, ref.bias_ih_l0
        ours.cell.from_hidden.weight[0], ours.cell.from_hidden.bias[0, 0] = ref.weight_hh_l0.T, ref.bias_hh_l0
    x = torch.rand(1, 5, N, n_lags * F)                                  # lag-major: frame t first
    present = torch.ones(1, N, dtype=torch.bool)
    oldest_first = x.reshape(5 * N, n_lags, F).flip(1)                   # (B·N, L, F)
    expected = ref(oldest_first)[1][0].reshape(1, 5, N, H)               # last hidden state
    torch.testing.assert_close(ours(x, present), expected, atol=1e-6, rtol=1e-5)
    # every frame of the window matters, and a neuron's state depends on its own frames only
    changed = x.clone()
    changed[..., 2, -F:] += 1.0                                          # neuron 2's oldest frame
    moved = (ours(changed, present) - ours(x, present)).abs().amax((0, 1, 3))
    assert moved[2] > 1e-4 and torch.all(moved[torch.arange(N) != 2] == 0)
    perm = torch.randperm(N)
    torch.testing.assert_close(ours(x[:, :, perm], present), ours(x, present)[:, :, perm])


def test_windowed_networks_train_on_the_window_and_keep_their_names():
    data = _toy_data(t=600)  # six frames of noise beside the informative one need more frames
    train, test, info = experiments.unseen_splits(data, 2)
    for name in experiments.WINDOW_MODELS + experiments.GRU_WINDOW_MODELS:
        scores, probs = experiments.run(name, data, train, test, info, 16, TrainConfig(steps=300, lr=1e-2))
        assert (scores.model == name).all() and probs.shape == (3, *data.y.shape, len(data.classes))
        assert scores.accuracy.min() > 0.75, name  # majority class 0.5; the frame itself (lag 0) decides
    rows = experiments.receptive_fields(data, 16)
    assert set(experiments.WINDOW_MODELS + experiments.GRU_WINDOW_MODELS) <= set(rows.index)
    lagged = rows.loc["logistic-regression-lagged", "reads, to label frame t"]
    assert lagged.count("t−") == len(experiments.LAGS) - 1 and lagged.endswith(", t")
    assert lagged.index(f"t−{max(experiments.LAGS)}") < lagged.index(f"t−{min(experiments.LAGS[1:])}")
    single, window = (int(rows.loc[m, "parameters"].replace(",", "")) for m in ("gnn-inferred-static",
                                                                            "gnn-inferred-static-window"))
    assert window > single


def test_receptive_fields_state_admm_s_embedding_windows_and_the_svm_cap():
    from wormlib import admm

    rows = experiments.receptive_fields(_toy_data(), 16)
    admm_reads = rows.loc["admm", "reads, to label frame t"]
    x = np.random.default_rng(0).normal(size=(60, 2))
    for emb in admm.EMBEDDINGS:                                          # the frames a point reads, measured
        t, point = 40, emb(x, pad=True)[40]
        reads = []
        for frame in range(t - emb.window - 2, t + 1):
            bumped = x.copy()
            bumped[frame] += 1.0
            if not np.allclose(emb(bumped, pad=True)[t], point):
                reads.append(frame - t)
        assert min(reads) == -emb.window and max(reads) == 0
        assert f"t−{emb.window} … t" in admm_reads
    assert f"≤ {experiments.SVM_MAX_TRAIN} training frames" in rows.loc["svm", "reads, to label frame t"]


def test_lagged_features_are_built_on_the_data_s_device():
    """with_lags indexes where the data are (a GPU in a device run): on the meta device, which
    checks devices like a GPU does and computes nothing, a CPU index tensor fails."""
    data = _toy_data()
    on_meta = type(data)(data.worms, data.neurons, data.classes, data.x.to("meta"), data.y.to("meta"),
                         data.present.to("meta"), data.lengths)
    windowed = on_meta.with_lags(experiments.LAGS)
    assert windowed.x.device.type == "meta"
    assert windowed.x.shape == data.with_lags(experiments.LAGS).x.shape

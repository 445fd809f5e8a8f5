"""TAVRNN (wormlib.tavrnn) and the lagged baseline: graph construction, causality, attention,
equivariance, the KL term by hand, a tiny model that overfits, determinism."""

import numpy as np
import pandas as pd
import pytest
import torch

from wormlib import experiments, tavrnn
from wormlib.train import TaskData

CFG = tavrnn.TAVRNNConfig(hidden=8, latent=4, chunk=6, burn_in=1, batch=2, window=6, stride=2)


def random_graphs(m=2, b=3, s=7, v=5, f=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(m, b, s, v, f, generator=g)
    adj = (torch.rand(m, b, s, v, v, generator=g) > 0.5).float()
    adj = ((adj + adj.transpose(-1, -2)) > 0).float()
    adj[..., torch.arange(v), torch.arange(v)] = 1.0
    return x, adj


def test_functional_graphs_are_causal_and_link_the_history_node():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4, 2))
    present = np.array([True, True, False, True])
    adj, feats = tavrnn.functional_graphs(x, present, window=6, stride=2)
    assert adj.shape == (20, 5, 5) and feats.shape == (20, 5, 2)
    np.testing.assert_array_equal(adj[:, 4, :4], np.broadcast_to(present, (20, 4)))   # history ↔ present neurons
    np.testing.assert_array_equal(adj, adj.transpose(0, 2, 1))
    assert (adj[:, 2, [0, 1, 3, 4]] == 0).all()                            # the missing neuron: only its self-loop
    np.testing.assert_allclose(feats[:, 4], x[::2][:, present].mean(1))
    changed = x.copy()
    changed[21:] += rng.standard_normal(changed[21:].shape)
    adj2, feats2 = tavrnn.functional_graphs(changed, present, window=6, stride=2)
    np.testing.assert_array_equal(adj2[:11], adj[:11])                     # step s ends at frame 2s ≤ 20
    np.testing.assert_array_equal(feats2[:11], feats[:11])


def test_shapes_attention_and_causality():
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(2, 2, 3, CFG)
    x, adj = random_graphs()
    out = model(x, adj, sample=False)
    assert out["hidden"].shape == (2, 3, 7, 5, CFG.hidden)
    assert out["logits"].shape == (2, 3, 7, 3)
    assert out["kl"].shape == out["edge"].shape == (2, 3, 7)
    w = out["attention"]                                                   # (M, B, S, width)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3, 7))
    assert (w[:, :, 0, :-1] == 0).all()                                    # step 0 has no past: all weight on itself
    x2, adj2 = x.clone(), adj.clone()
    x2[:, :, 4:] += 1.0
    adj2[:, :, 4:] = 1.0
    out2 = model(x2, adj2, sample=False)
    torch.testing.assert_close(out2["logits"][:, :, :4], out["logits"][:, :, :4])
    assert not torch.allclose(out2["logits"][:, :, 4:], out["logits"][:, :, 4:])


def test_graph_parts_are_equivariant_to_neuron_order():
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(1, 2, 3, CFG)
    x, adj = random_graphs(m=1)
    perm = torch.tensor([2, 0, 3, 1, 4])                                   # the history node (last) stays last
    out = model(x, adj, sample=False)
    out_p = model(x[..., perm, :], adj[..., perm, :][..., perm], sample=False)
    torch.testing.assert_close(out_p["hidden"], out["hidden"][..., perm, :], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_p["logits"], out["logits"], atol=1e-5, rtol=1e-5)


def test_kl_term_by_hand():
    mu, sd = torch.tensor([[[0.0, 1.0]]]), torch.tensor([[[1.0, 2.0]]])    # one node, two latent dims
    mu_p, sd_p = torch.zeros(1, 1, 2), torch.ones(1, 1, 2)
    # KL per dim: log(σp/σ) + (σ² + (μ − μp)²) / (2σp²) − ½ → 0 and −log 2 + 5/2 − ½
    expected = 0.0 + (-np.log(2) + 2.0)
    torch.testing.assert_close(tavrnn.kl_gauss(mu, sd, mu_p, sd_p), torch.tensor([expected], dtype=torch.float32),
                               atol=1e-5, rtol=1e-5)


def test_a_tiny_model_overfits_a_small_batch():
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(1, 2, 2, CFG)
    x, adj = random_graphs(m=1, b=2, s=6)
    y = torch.tensor([[[0, 1, 0, 1, 1, 0], [1, 1, 0, 0, 1, 0]]])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(300):
        out = model(x, adj, sample=False)
        loss = torch.nn.functional.cross_entropy(out["logits"].reshape(-1, 2), y.reshape(-1))
        opt.zero_grad(), loss.backward(), opt.step()
    assert (model(x, adj, sample=False)["logits"].argmax(-1) == y).all()


def _tiny_data():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 60, 4, 2, generator=g)
    y = (x[..., 0, 0] > 0.5).long()
    return TaskData(("a", "b", "c"), ("n1", "n2", "n3", "n4"), ("off", "on"), x, y,
                    torch.ones(3, 4, dtype=torch.bool), torch.tensor([60, 60, 60]))


def test_training_is_deterministic_and_predictions_are_probabilities():
    data = _tiny_data()
    train = torch.zeros(1, 3, 60, dtype=torch.bool)
    train[0, :2] = True
    cfg = experiments.TrainConfig(steps=4)
    a, skipped = experiments.fit_predict_tavrnn("tavrnn", data, train, ~train.any(-1), cfg)
    b, _ = experiments.fit_predict_tavrnn("tavrnn", data, train, ~train.any(-1), cfg)
    assert skipped.tolist() == [0]
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(a[0, 2].sum(-1), torch.ones(60))


def test_a_stacked_model_trains_as_if_alone_whatever_its_neighbours_data(monkeypatch):
    # clipping always engages, so a clip over the whole stack would tie model 0 to model 1
    monkeypatch.setattr(tavrnn, "GRAD_CLIP", 1e-3)
    data = _tiny_data()
    data.y[2, ::3] = -1                                    # worm c has unlabelled steps
    seq = tavrnn.Sequences.build(data, CFG)
    params = []
    for neighbour in ((0, 1), (1, 2)):
        train = torch.zeros(2, 3, dtype=torch.bool)
        train[0, [0, 1]] = True
        train[1, list(neighbour)] = True
        torch.manual_seed(0)
        model = tavrnn.TAVRNN(2, 2, 2, CFG)
        tavrnn.fit(model, seq, train, steps=6, seed=0)
        params.append([p.detach()[0].clone() for p in model.parameters()])
    for a, b in zip(*params):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_clipping_per_model_scales_each_models_gradient_to_the_bound():
    p = torch.nn.Parameter(torch.zeros(3, 2))
    p.grad = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    norms = tavrnn.clip_grad_norm_per_model([p], 1.0)
    torch.testing.assert_close(norms, torch.tensor([5.0, 0.5, 0.0]))
    torch.testing.assert_close(p.grad.norm(dim=1), torch.tensor([1.0, 0.5, 0.0]), atol=1e-5, rtol=0)


def test_clipping_flags_the_models_whose_gradient_is_not_finite_and_clips_the_others():
    p = torch.nn.Parameter(torch.zeros(3, 2))
    p.grad = torch.tensor([[3.0, 4.0], [float("nan"), 1.0], [0.3, float("inf")]])
    norms = tavrnn.clip_grad_norm_per_model([p], 1.0)
    assert torch.isfinite(norms).tolist() == [True, False, False]
    torch.testing.assert_close(p.grad[0], torch.tensor([0.6, 0.8]))


def test_stacked_adam_ignores_a_non_finite_gradient_of_a_skipped_model():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(2, 3))
    before = p.detach().clone()
    optimiser = tavrnn.StackedAdam([p], lr=0.1)
    p.grad = torch.tensor([[1.0, -2.0, 0.5], [float("nan"), float("inf"), 1.0]])
    optimiser.step(torch.tensor([True, False]))
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p[1], before[1], atol=0, rtol=0)
    state = optimiser.state[p]
    assert torch.isfinite(state["exp_avg"]).all() and torch.isfinite(state["exp_avg_sq"]).all()
    assert state["step"].tolist() == [1.0, 0.0]
    assert not torch.equal(p[0], before[0])


def test_stacked_adam_matches_torch_adam_and_a_skipped_model_stays_exactly_as_it_was():
    torch.manual_seed(0)
    start = torch.randn(3, 4)
    stacked, plain = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    ours, theirs = tavrnn.StackedAdam([stacked], lr=0.1), torch.optim.Adam([plain], lr=0.1)
    grads = torch.randn(5, 3, 4)
    for step, g in enumerate(grads):
        active = torch.tensor([True, step not in (1, 2), True])           # model 1 skips steps 1 and 2
        if step == 1:
            before = (stacked[1].clone(), *(ours.state[stacked][k][1].clone() for k in ("exp_avg", "exp_avg_sq")))
        stacked.grad, plain.grad = g.clone(), g.clone()
        ours.step(active)
        theirs.step()
        if step == 2:                                                      # two skipped steps changed nothing
            after = (stacked[1], *(ours.state[stacked][k][1] for k in ("exp_avg", "exp_avg_sq")))
            for a, b in zip(before, after):
                torch.testing.assert_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(stacked[[0, 2]], plain[[0, 2]], atol=1e-6, rtol=0)   # the others: plain Adam
    assert ours.state[stacked]["step"].tolist() == [5, 3, 5]
    alone = torch.nn.Parameter(start[1:2].clone())                         # model 1: Adam on its 3 steps
    adam = torch.optim.Adam([alone], lr=0.1)
    for g in grads[[0, 3, 4]]:
        alone.grad = g[1:2].clone()
        adam.step()
    torch.testing.assert_close(stacked[1:2], alone, atol=1e-6, rtol=0)


def test_fit_skips_and_reports_only_the_models_whose_gradient_is_not_finite():
    data = _tiny_data()
    seq = tavrnn.Sequences.build(data, CFG)
    train = torch.zeros(2, 3, dtype=torch.bool)
    train[:, :2] = True
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(2, 2, 2, CFG)
    with torch.no_grad():
        model.phi_x.weight[1, 0, 0] = float("nan")                       # model 1's loss is NaN at every step
    start = [p.detach().clone() for p in model.parameters()]
    with pytest.warns(tavrnn.NonFiniteGradientWarning) as caught:
        tavrnn.fit(model, seq, train, steps=4, seed=0)
    assert caught[0].message.skipped == [0, 4] and caught[0].message.steps == 4
    assert model.skipped_steps.tolist() == [0, 4]
    for p, p0 in zip(model.parameters(), start):
        torch.testing.assert_close(p.detach()[1], p0[1], atol=0, rtol=0, equal_nan=True)   # never moved
        assert torch.isfinite(p.detach()[0]).all() and not torch.equal(p.detach()[0], p0[0])


def test_run_worm_reads_each_step_from_a_training_length_block_and_is_causal():
    data = _tiny_data()
    seq = tavrnn.Sequences.build(data, CFG)                                # 30 steps per worm
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(2, 2, 2, CFG)
    out = tavrnn.run_worm(model, seq, 1)
    s, hop = int(seq.steps[1]), CFG.chunk - CFG.burn_in
    assert out["hidden"].shape == (2, s, 5, CFG.hidden) and out["logits"].shape == (2, s, 2)
    for t in (0, CFG.burn_in, CFG.chunk - 1, CFG.chunk, s - 1):            # each step as a fresh block gives it
        start = 0 if t < CFG.chunk else (t - CFG.burn_in) // hop * hop
        steps = torch.arange(start, min(start + CFG.chunk, s))
        ref = model(seq.x[1, steps][None, None].expand(2, 1, -1, -1, -1),   # (M, 1, L, V, F)
                    seq.adj[1, steps][None, None].expand(2, 1, -1, -1, -1), sample=False)
        torch.testing.assert_close(out["logits"][:, t], ref["logits"][:, 0, t - start])
    whole = model(seq.x[1, :s][None, None].expand(2, 1, -1, -1, -1),        # one pass over the recording
                  seq.adj[1, :s][None, None].expand(2, 1, -1, -1, -1), sample=False)
    torch.testing.assert_close(out["logits"][:, :CFG.chunk], whole["logits"][:, 0, :CFG.chunk])   # the first block
    assert not torch.allclose(out["logits"][:, CFG.chunk:], whole["logits"][:, 0, CFG.chunk:])   # later ones restart
    later = tavrnn.Sequences(seq.x.clone(), seq.adj.clone(), seq.y, seq.steps, seq.stride)
    later.x[1, 20:] += 1.0
    later.adj[1, 20:] = 1.0
    out2 = tavrnn.run_worm(model, later, 1)
    torch.testing.assert_close(out2["hidden"][:, :20], out["hidden"][:, :20])   # graphs after t never reach t
    assert not torch.allclose(out2["hidden"][:, 20:], out["hidden"][:, 20:])


def _fit_and_read(default_device):
    """fit (supervised, 3 steps), run_worm and frames_from_steps of a tiny model built on the CPU,
    run with ``default_device`` as torch's default device."""
    data = _tiny_data()
    seq = tavrnn.Sequences.build(data, CFG)
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(2, 2, 2, CFG)
    train = torch.tensor([[True, True, False], [False, True, True]])
    with torch.device(default_device):
        tavrnn.fit(model, seq, train, steps=3, seed=0)
        out = tavrnn.run_worm(model, seq, 2)
        frames = tavrnn.frames_from_steps(out["logits"], 60, CFG.stride)
    return [p.detach() for p in model.parameters()], out, frames, model.skipped_steps


def test_tavrnn_places_each_tensor_on_its_inputs_device_not_the_default_one():
    # No GPU is needed to check what a GPU run relies on: with torch's default device set to
    # "meta", a tensor that fit, StackedAdam, run_worm or worm_schedule created without an
    # explicit device would be a meta tensor, and mixing it with the model's CPU tensors raises or
    # reads garbage. Everything must come out on the CPU with the bits of a plain run.
    params, out, frames, skipped = _fit_and_read("cpu")
    params_meta, out_meta, frames_meta, skipped_meta = _fit_and_read("meta")
    for a, b in zip(params, params_meta):
        assert b.device.type == "cpu" and torch.equal(a, b)
    for key in out:
        assert out_meta[key].device.type == "cpu" and torch.equal(out[key], out_meta[key])
    assert torch.equal(frames, frames_meta) and skipped_meta.device.type == "cpu"
    assert skipped.tolist() == skipped_meta.tolist() == [0, 0]


def test_tavrnn_is_built_on_the_cpu_and_trained_on_the_chapters_device(monkeypatch):
    seen = {}

    def fit(model, seq, train_worms, steps, seed, supervised, on_step=None):
        seen["fit"] = model.phi_x.weight.device.type
        model.skipped_steps = torch.zeros(train_worms.shape[0], dtype=torch.long)
        return model

    def run_worm(model, seq, worm):
        seen["run"] = model.phi_x.weight.device.type
        m, s = model.phi_x.weight.shape[0], int(seq.steps[worm])
        return dict(logits=torch.zeros(m, s, 2), hidden=torch.zeros(m, s, 5, CFG.hidden))

    monkeypatch.setattr(tavrnn, "fit", fit)
    monkeypatch.setattr(tavrnn, "run_worm", run_worm)
    data = _tiny_data()
    train = torch.zeros(1, 3, 60, dtype=torch.bool)
    train[0, :2] = True
    experiments.fit_predict_tavrnn("tavrnn", data, train, ~train.any(-1), experiments.TrainConfig(device="meta"))
    assert seen == {"fit": "meta", "run": "meta"}


def test_lagged_features_see_only_the_past():
    x = torch.arange(10.0).reshape(1, 10, 1, 1)
    data = TaskData(("1",), ("n",), ("a",), x, torch.zeros(1, 10, dtype=torch.long),
                    torch.ones(1, 1, dtype=torch.bool), torch.tensor([10]))
    out = data.with_lags((0, 2)).x.numpy()
    np.testing.assert_array_equal(out[0, :, 0, 0], np.arange(10))
    np.testing.assert_array_equal(out[0, :, 0, 1], np.maximum(np.arange(10) - 2, 0))


def test_cross_worm_agreement_separates_aligned_from_unaligned_embeddings():
    rng = np.random.default_rng(0)
    states = [np.repeat(np.arange(4), 50)[rng.permutation(200)] for _ in range(3)]
    aligned = [s[:, None] + 0.05 * rng.standard_normal((200, 2)) for s in states]
    scrambled = [rng.standard_normal((200, 2)) for _ in states]
    good = tavrnn.cross_worm_agreement(aligned, states, n_shuffles=20)
    bad = tavrnn.cross_worm_agreement(scrambled, states, n_shuffles=20)
    assert good["agreement"] > 0.95 and good["agreement"] > good["null_q95"]
    assert bad["agreement"] < 0.4


def test_tavrnn_replicates_gives_one_row_per_trained_model():
    scores = pd.DataFrame({
        "model": ["tavrnn"] * 4 + ["mlp-concat"],
        "train": ["a", "a", "b", "b", "a"],
        "seed": [0, 0, 0, 1, 0],
        "test": ["c", "d", "c", "c", "c"],                                  # two test worms per model
        "skipped_updates": [3, 3, 0, 7, float("nan")],                     # NaN: not a TAVRNN
    })
    out = experiments.tavrnn_replicates(scores)
    assert out[["train", "seed", "skipped_updates"]].values.tolist() == [["a", 0, 3], ["b", 0, 0], ["b", 1, 7]]
    assert experiments.tavrnn_replicates(scores.drop(columns="skipped_updates")).empty


def test_run_puts_each_models_skipped_updates_in_its_score_rows(monkeypatch):
    data = _tiny_data()
    train_mask, test_mask, splits = experiments.unseen_splits(data, 1)     # 3 models, 2 test worms each

    def fit_predict(name, data, train_mask, needed, cfg):                 # model m skipped 10·m updates
        m = train_mask.shape[0]
        return torch.full((m, *data.y.shape, 2), 0.5), torch.arange(m) * 10

    monkeypatch.setattr(experiments, "fit_predict_tavrnn", fit_predict)
    scores, _ = experiments.run("tavrnn", data, train_mask, test_mask, splits, 8, experiments.TrainConfig(steps=1))
    assert len(scores) == 6
    assert experiments.tavrnn_replicates(scores).skipped_updates.tolist() == [0, 10, 20]

"""Trajectory prediction: rollout (teacher forcing vs free running), scheduled sampling,
baselines, the GRU cell, burn-in, equivariance, overfitting and evaluation."""

import numpy as np
import pytest
import torch

from wormlib import trajectories as tj
from wormlib.models import StackedGRUCell
from wormlib.train import TaskData, TrainConfig

N, F, H = 5, 2, 16


def _window(m=2, b=8, length=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(m, b, length, N, F, generator=g), torch.ones(m, N, dtype=torch.bool)


def _model(name, m=2):
    """A freshly initialised stack of ``m`` copies of the named model, in evaluation mode."""
    torch.manual_seed(0)
    return tj.build_model(name, m, N, F, H).eval()


def _linear_system(n_worms=2, t=300, seed=0, noise=0.01):
    """Worms following X(t+1) = X(t) + X(t)·A + b + noise, with A and b known."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.05, (N * F, N * F)) - 0.1 * np.eye(N * F)
    b = rng.normal(0, 0.01, N * F)
    x = np.zeros((n_worms, t, N * F))
    x[:, 0] = rng.random((n_worms, N * F))
    for i in range(1, t):
        x[:, i] = x[:, i - 1] + x[:, i - 1] @ a + b + rng.normal(0, noise, (n_worms, N * F))
    data = TaskData(tuple(str(i) for i in range(n_worms)), tuple(f"n{i}" for i in range(N)), ("a", "b"),
                    torch.tensor(x.reshape(n_worms, t, N, F), dtype=torch.float32),
                    torch.zeros(n_worms, t, dtype=torch.long), torch.ones(n_worms, N, dtype=torch.bool),
                    torch.full((n_worms,), t))
    return data, a, b


def test_sampling_schedule_rises_from_teacher_forcing_to_free_running():
    p = [tj.sampling_probability(s, 100) for s in range(100)]
    assert p[0] == 0 and p[-1] == 1 and all(0 <= q <= 1 for q in p)
    assert all(later >= earlier for earlier, later in zip(p, p[1:]))
    assert 0 < p[30] < 1  # a real mixture in between


@pytest.mark.parametrize("name", ["linear", "mlp", "gnn"])
def test_teacher_forcing_is_one_step_prediction_from_the_truth(name):
    model = _model(name)
    window, present = _window()
    with torch.no_grad():
        pred = tj.rollout(model, window, present, n_steps=4, p_feedback=0.0)
        start = window.shape[2] - 4 - 1
        for k in range(4):
            one_step = model.step(window[:, :, start + k], present)[0]
            torch.testing.assert_close(pred[:, :, k], one_step)


@pytest.mark.parametrize("name", ["linear", "mlp", "gnn"])
def test_free_running_feeds_back_the_prediction(name):
    model = _model(name)
    window, present = _window()
    with torch.no_grad():
        pred = tj.rollout(model, window, present, n_steps=4, p_feedback=1.0)
        x = window[:, :, -5]
        for k in range(4):
            x = model.step(x, present)[0]
            torch.testing.assert_close(pred[:, :, k], x)
        forced = tj.rollout(model, window, present, n_steps=4, p_feedback=0.0)
    torch.testing.assert_close(forced[:, :, 0], pred[:, :, 0])  # same first step
    assert not torch.allclose(forced[:, :, 3], pred[:, :, 3])  # diverge afterwards


def test_scheduled_sampling_mixes_prediction_and_truth_per_window():
    """Per window, the second step continues either the free-running or the teacher-forced
    rollout (a model without batch normalisation, so windows do not interact)."""
    model = _model("linear")
    window, present = _window(b=64)
    with torch.no_grad():
        free = tj.rollout(model, window, present, 3, 1.0)
        forced = tj.rollout(model, window, present, 3, 0.0)
        mixed = tj.rollout(model, window, present, 3, 0.5, torch.Generator().manual_seed(1))
    as_free = torch.isclose(mixed[:, :, 1], free[:, :, 1]).flatten(2).all(-1)      # (M, B)
    as_forced = torch.isclose(mixed[:, :, 1], forced[:, :, 1]).flatten(2).all(-1)
    assert (as_free | as_forced).all() and as_free.any() and as_forced.any()


def test_persistence_repeats_the_initial_frame():
    window, present = _window()
    pred = tj.rollout(tj.build_model("persistence", 2, N, F, H), window, present, 5)
    torch.testing.assert_close(pred, window[:, :, -6, None].expand_as(pred))


def test_linear_baseline_recovers_a_linear_system():
    data, a, b = _linear_system(t=2000, noise=0.05)
    model = tj.fit_linear(tj.build_model("linear", 1, N, F, H), data, torch.ones(1, 2, dtype=torch.bool), ridge=1e-8)
    np.testing.assert_allclose(model.f.map.weight[0].detach().numpy(), a, atol=0.02)
    np.testing.assert_allclose(model.f.map.bias[0, 0].detach().numpy(), b, atol=0.01)


def _second_order_system(n_worms=3, t=600, seed=0, noise=0.02):
    """Damped oscillators whose next step depends on two past frames:
    X(t+1) = X(t) + 0.9 (X(t) − X(t−1)) − 0.1 X(t) + noise (no first-order model fits it)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n_worms, t, N * F))
    x[:, :2] = rng.random((n_worms, 2, N * F))
    for i in range(2, t):
        velocity = x[:, i - 1] - x[:, i - 2]
        x[:, i] = x[:, i - 1] + 0.9 * velocity - 0.1 * x[:, i - 1] + rng.normal(0, noise, (n_worms, N * F))
    return TaskData(tuple(str(i) for i in range(n_worms)), tuple(f"n{i}" for i in range(N)), ("a", "b"),
                    torch.tensor(x.reshape(n_worms, t, N, F), dtype=torch.float32),
                    torch.zeros(n_worms, t, dtype=torch.long), torch.ones(n_worms, N, dtype=torch.bool),
                    torch.full((n_worms,), t))


def test_autoregressive_baseline_of_order_one_is_the_linear_baseline():
    data, *_ = _linear_system(n_worms=2)
    train = torch.ones(1, 2, dtype=torch.bool)
    linear = tj.fit_linear(tj.build_model("linear", 1, N, F, H), data, train)
    ar = tj.build_model("linear-ar", 1, N, F, H)
    x = (data.x * data.present[:, None, :, None]).flatten(2).double()
    tj._set_ar(ar, 0, tj._ar_solution(x, [(0, 0, 300), (1, 0, 300)], 1, ar.max_order, 1e-3), 1)
    window, present = _window(m=1, length=tj.BURN_IN + 6)
    torch.testing.assert_close(tj.rollout(ar, window, present, 6), tj.rollout(linear, window, present, 6),
                               atol=1e-5, rtol=1e-4)


def test_autoregressive_order_is_chosen_on_training_worms_and_finds_second_order_dynamics():
    first = _linear_system(n_worms=3)[0]
    second = _second_order_system()
    p_first, errors_first = tj.select_ar_order(first, [0, 1], ridge=1e-8)  # (ridge shrinkage favours more lags)
    p_second, errors_second = tj.select_ar_order(second, [0, 1])
    assert set(errors_first) == set(tj.AR_ORDERS) and all(np.isfinite(list(errors_first.values())))
    assert p_second >= 2 and errors_second[p_second] < 0.5 * errors_second[1]
    assert p_first == 1  # a first-order system needs no more lags
    # one training worm: the order is chosen on the end of its own recording, never on another worm
    p_single, _ = tj.select_ar_order(second, [2])
    assert p_single >= 2
    # the fitted stack keeps one order per model and beats the first-order fit on held-out worms
    train = torch.tensor([[True, True, False], [False, True, True]])
    ar = tj.fit(tj.build_model("linear-ar", 2, N, F, H), second, train, TrainConfig(steps=1))
    linear = tj.fit(tj.build_model("linear", 2, N, F, H), second, train, TrainConfig(steps=1))
    assert (ar.order >= 2).all()
    assert np.nanmean(tj.evaluate(ar, second, ~train)) < 0.5 * np.nanmean(tj.evaluate(linear, second, ~train))


def test_learned_model_beats_persistence_on_a_linear_system_and_baselines_order_correctly():
    data, *_ = _linear_system(n_worms=3)
    train = torch.tensor([[True, True, False]])
    mse = {}
    for name in ("persistence", "linear", "mlp"):
        torch.manual_seed(0)
        model = tj.fit(tj.build_model(name, 1, N, F, H), data, train, TrainConfig(steps=300, lr=1e-2))
        mse[name] = tj.evaluate(model, data, ~train)
        assert np.isnan(mse[name][0, :2]).all() and np.isfinite(mse[name][0, 2]).all()
    assert mse["linear"][0, 2].mean() < 0.5 * mse["persistence"][0, 2].mean()
    assert mse["mlp"][0, 2, 0] < mse["persistence"][0, 2, 0]


def test_stacked_gru_cell_matches_torch():
    torch.manual_seed(0)
    ours, ref = StackedGRUCell(1, 6, 4), torch.nn.GRUCell(6, 4)
    with torch.no_grad():
        ours.from_input.weight[0] = ref.weight_ih.T
        ours.from_input.bias[0, 0] = ref.bias_ih
        ours.from_hidden.weight[0] = ref.weight_hh.T
        ours.from_hidden.bias[0, 0] = ref.bias_hh
    x, h = torch.rand(7, 6), torch.rand(7, 4)
    torch.testing.assert_close(ours(x[None], h[None])[0], ref(x, h), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["mlp-gru", "gnn-gru", "mlp", "gnn"])
def test_only_recurrent_models_use_the_burn_in(name):
    model = _model(name)
    window, present = _window(length=4 + 3)
    changed = window.clone()
    changed[:, :, :3] = torch.rand_like(changed[:, :, :3])  # the burn-in frames only
    with torch.no_grad():
        same = torch.allclose(tj.rollout(model, window, present, 3), tj.rollout(model, changed, present, 3))
    assert same != name.endswith("gru")


@pytest.mark.parametrize("name", ["gnn", "gnn-gru"])
def test_gnn_trajectory_models_are_equivariant_to_neuron_order(name):
    model = _model(name)
    window, present = _window(length=7)
    perm = torch.tensor([2, 0, 4, 1, 3])
    with torch.no_grad():
        pred = tj.rollout(model, window, present, 3)
        permuted = tj.rollout(model, window[:, :, :, perm], present[:, perm], 3)
    torch.testing.assert_close(permuted, pred[:, :, :, perm], atol=1e-5, rtol=1e-4)


def test_missing_neuron_is_not_predicted_and_not_scored():
    model = _model("gnn")
    window, present = _window()
    present[1, 2] = False
    with torch.no_grad():
        pred = tj.rollout(model, window, present, 4)
    assert (pred[1, :, :, 2] == 0).all()
    truth = window[:, :, -4:].clone()
    before = tj.step_mse(pred, truth, present)
    truth[1, :, :, 2] += 100.0
    torch.testing.assert_close(tj.step_mse(pred, truth, present), before)


@pytest.mark.parametrize("name", ["mlp", "gnn", "mlp-gru", "gnn-gru"])
def test_small_model_overfits_a_tiny_batch(name):
    """Training lowers the free-running 8-step error on its own worm far below persistence (150
    steps: every model ends at ≤ 0.11 of persistence's error, against the bound of 0.3)."""
    data, *_ = _linear_system(n_worms=1, t=40)
    torch.manual_seed(0)
    train = torch.ones(1, 1, dtype=torch.bool)
    model = tj.fit(tj.build_model(name, 1, N, F, 32), data, train, TrainConfig(steps=150, batch_size=27, lr=1e-2),
                   n_steps=tj.TRAIN_STEPS)
    starts = torch.arange(0, 40 - tj.BURN_IN - tj.TRAIN_STEPS + 1)
    pred, truth = tj.predict(model, data, 0, starts, tj.TRAIN_STEPS)
    persistence, _ = tj.predict(tj.Persistence(1), data, 0, starts, tj.TRAIN_STEPS)
    ones = torch.ones(1, N, dtype=torch.bool)
    assert tj.step_mse(pred, truth, ones).mean() < 0.3 * tj.step_mse(persistence, truth, ones).mean()


def test_training_is_deterministic():
    data, *_ = _linear_system(n_worms=2, t=100)
    train = torch.tensor([[True, False], [False, True]])
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = tj.fit(tj.build_model("gnn", 2, N, F, H), data, train, TrainConfig(steps=20))
        outs.append(tj.evaluate(model, data, ~train))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_spans_transition_looks_only_at_the_predicted_span():
    y = torch.tensor([0] * 10 + [1] * 10)
    # initial frames 3, 4, 8 (start + BURN_IN - 1); 4 predicted steps
    assert tj.spans_transition(y, torch.tensor([0, 1, 5]), n_steps=4).tolist() == [False, False, True]
    assert tj.spans_transition(y, torch.tensor([7]), n_steps=4).tolist() == [False]  # 10..14 all 1


def test_run_scores_every_test_worm_at_every_step():
    from wormlib.experiments import unseen_splits

    data, *_ = _linear_system(n_worms=3, t=120)
    rows, models = tj.run(("persistence", "mlp"), data, unseen_splits(data, 2, classify=False), H, TrainConfig(steps=5))
    assert set(models) == {"persistence", "mlp"}
    per_split = rows.groupby(["model", "train"]).test.unique()
    assert all(len(t) == 1 and t[0] not in train.split(",") for (_, train), t in per_split.items())
    assert (rows.groupby(["model", "train", "test"]).step.apply(sorted).map(len) == tj.EVAL_STEPS).all()
    assert np.isfinite(rows.mse).all()


def test_run_seeds_averages_independent_replicates_of_the_learned_models_only():
    from wormlib.experiments import replicate, unseen_splits

    data, *_ = _linear_system(n_worms=3, t=120)
    splits, cfg = unseen_splits(data, 2, classify=False), TrainConfig(steps=5)
    per_seed, models = tj.run_seeds(("mlp",), data, splits, H, cfg, n_seeds=3)  # learned models alone
    rows = tj.seed_means(per_seed)
    replicates, stacks = tj.run(("mlp",), data, replicate(splits, 3), H, cfg)
    assert len(rows) == len(replicates) / 3 and rows.mse_sd_over_seeds.gt(0).all()  # seeds differ
    by = ["train", "test", "step"]
    expected = replicates.groupby(by).mse.mean()
    np.testing.assert_allclose(rows.set_index(by).mse.loc[expected.index], expected, rtol=1e-12)
    # the stack handed back is seed 0's: the first S members of the replicated stack, same weights
    assert tj.stack_size(models["mlp"]) == len(splits[2])
    for key, value in models["mlp"].state_dict().items():
        torch.testing.assert_close(value, stacks["mlp"].state_dict()[key][: len(splits[2])])
    mixed = tj.seed_means(tj.run_seeds(("persistence", "mlp"), data, splits, H, cfg, n_seeds=3)[0])
    assert mixed[mixed.model == "persistence"].mse_sd_over_seeds.isna().all()  # trained once


def test_transfer_split_trains_on_one_study_and_tests_the_other():
    from wormlib.experiments import transfer_split

    data, *_ = _linear_system(n_worms=4, t=100)
    rows, _ = tj.run(("persistence", "linear"), data, transfer_split(data, 2, "study-a"), H, TrainConfig())
    assert set(rows.test) == {"2", "3"} and set(rows.train) == {"study-a"}
    assert (rows.n_train_worms == 2).all()


def test_a_replicate_that_fails_to_fit_its_training_worms_is_found_from_them_alone():
    from wormlib.experiments import unseen_splits

    data, *_ = _linear_system(n_worms=3, t=120)
    train_worms = unseen_splits(data, 1, classify=False)[0].any(-1)          # (3, 3): one worm each
    fitted = tj.fit_linear(_model("linear", 3), data, train_worms)
    assert not tj.failed_to_fit(fitted, data, train_worms).any()
    with torch.no_grad():
        fitted.f.map.bias[1] += 5.0                                          # model 1 now diverges
    assert tj.failed_to_fit(fitted, data, train_worms).tolist() == [False, True, False]
    # the rule reads the training worms only: wrecking a test worm changes nothing
    wrecked = TaskData(data.worms, data.neurons, data.classes, data.x.clone(), data.y, data.present, data.lengths)
    wrecked.x[2] = 100.0
    assert tj.failed_to_fit(fitted, wrecked, train_worms)[:2].tolist() == [False, True]
    splits = unseen_splits(data, 2, classify=False)
    rows = tj.seed_means(tj.run_seeds(("persistence", "mlp"), data, splits, H, TrainConfig(steps=5), n_seeds=2)[0])
    assert {"failed_runs", "mse_fitted"} <= set(rows.columns) and rows.failed_runs.between(0, 2).all()
    kept = rows[rows.failed_runs == 0]
    np.testing.assert_allclose(kept.mse_fitted, kept.mse)

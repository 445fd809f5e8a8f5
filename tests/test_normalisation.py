"""The normalisation contract: what each contract sees, and that no comparison mixes two."""

import numpy as np
import pandas as pd
import pytest
import torch

from wormlib import experiments, normalisation
from wormlib.evaluate import paired_difference
from wormlib.models import GNN, MLPClassifier, StackedBatchNorm
from wormlib.train import TaskData, TrainConfig, fit, predict


def toy_task(n_worms=3, frames=120, neurons=4, seed=0) -> TaskData:
    """Worms whose class is the sign of neuron 0's trace, each on its own scale and offset."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_worms, frames, neurons, 2, generator=g)
    y = (x[:, :, 0, 0] > 0).long()
    scale = torch.tensor([1.0, 3.0, 0.5])[:n_worms, None, None, None]
    return TaskData(tuple(f"w{i}" for i in range(n_worms)), tuple(f"n{i}" for i in range(neurons)),
                    ("forward", "reverse"), x * scale + 2.0, y, torch.ones(n_worms, neurons, dtype=torch.bool),
                    torch.full((n_worms,), frames))


def leave_last_out(data: TaskData):
    train = torch.zeros(1, *data.y.shape, dtype=torch.bool)
    train[0, :-1] = True
    return train, ~train


def with_worm_changed(data: TaskData, worm: int, fn) -> TaskData:
    x = data.x.clone()
    x[worm] = fn(x[worm])
    return TaskData(data.worms, data.neurons, data.classes, x, data.y, data.present, data.lengths)


def test_a_model_name_says_its_contract_and_unknown_contracts_are_refused():
    assert normalisation.contract_of("gnn-inferred-static") == "per-worm"
    assert normalisation.contract_of("logistic-regression@training-worms") == "training-worms"
    with pytest.raises(ValueError, match="unknown normalisation contract"):
        normalisation.contract_of("mlp-concat@per-study")


def test_no_comparison_mixes_two_contracts_unless_it_means_to():
    scores = pd.DataFrame(dict(model=["gnn@training-worms", "gnn@training-worms", "lr", "lr"],
                               test=["a", "b", "a", "b"], accuracy=[0.9, 0.8, 0.7, 0.75]))
    with pytest.raises(normalisation.ContractError, match="per-worm and training-worms"):
        paired_difference(scores, "gnn@training-worms", "lr")
    assert paired_difference(scores, "gnn@training-worms", "lr", across_contracts=True)["n_units"] == 2
    recorded = scores.assign(model=["gnn"] * 2 + ["lr"] * 2, normalisation=["training-worms"] * 2 + ["per-worm"] * 2)
    with pytest.raises(normalisation.ContractError):  # the recorded contract counts, not only the name
        paired_difference(recorded, "gnn", "lr")


def test_per_worm_linear_model_ignores_a_worms_own_scale_and_training_worm_scaler_does_not():
    data = toy_task()
    train, test = leave_last_out(data)
    needed = test.any(-1)
    rescaled = with_worm_changed(data, 2, lambda x: 5.0 * x - 7.0)
    for contract, invariant in (("per-worm", True), ("causal-per-worm", True), ("training-worms", False)):
        before = experiments.fit_predict_baseline("logistic-regression", data, train, needed, normalisation=contract)
        after = experiments.fit_predict_baseline("logistic-regression", rescaled, train, needed,
                                                 normalisation=contract)
        assert torch.allclose(before[0, 2], after[0, 2], atol=1e-4) == invariant, contract


def test_running_minmax_and_causal_standardisation_read_no_later_frame():
    data = toy_task()
    later = with_worm_changed(data, 1, lambda x: torch.cat([x[:60], 10 * x[60:] + 3]))
    a, b = normalisation.running_minmax(data).x, normalisation.running_minmax(later).x
    assert torch.equal(a[:, :60], b[:, :60]) and not torch.equal(a[1, 60:], b[1, 60:])
    assert a.min() >= 0 and a.max() <= 1
    za = normalisation.standardise(data.x.flatten(2).numpy(), data.lengths, "causal-per-worm")
    zb = normalisation.standardise(later.x.flatten(2).numpy(), data.lengths, "causal-per-worm")
    np.testing.assert_allclose(za[:, :60], zb[:, :60], atol=1e-6)
    whole = normalisation.standardise(data.x.flatten(2).numpy(), data.lengths, "per-worm")
    np.testing.assert_allclose(whole[:, :120].mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(whole[:, :120].std(1), 1, atol=1e-4)


@pytest.fixture(scope="module")
def trained():
    data = toy_task(frames=200)
    train, test = leave_last_out(data)
    torch.manual_seed(0)
    models = {"mlp": MLPClassifier(1, 4, 2, 2, 16), "gnn": GNN(1, 4, 2, 2, 16, edges="static")}
    for model in models.values():
        fit(model, data, train, TrainConfig(steps=150, batch_size=32))
    return data, train, test, models


@pytest.mark.parametrize("name", ["mlp", "gnn"])
def test_causal_networks_read_no_later_frame_of_the_test_worm(trained, name):
    data, train, test, models = trained
    causal = normalisation.causal_network(models[name])
    later = with_worm_changed(data, 2, lambda x: torch.cat([x[:100], -4 * x[100:] + 1]))
    a, b = predict(causal, data), predict(causal, later)
    assert torch.allclose(a[0, 2, :100], b[0, 2, :100], atol=1e-5)
    assert not torch.allclose(a[0, 2, 100:], b[0, 2, 100:], atol=1e-3)
    # the book's per-worm network reads the whole worm: the same change moves its early frames
    assert not torch.allclose(predict(models[name], data)[0, 2, :100], predict(models[name], later)[0, 2, :100])


def test_frozen_batch_norm_holds_the_training_frames_statistics(trained):
    data, train, test, models = trained
    mlp = models["mlp"]
    frozen = normalisation.frozen_network(mlp, data, train)
    bn = frozen.g_graph[1]
    first = mlp.g_graph[0]
    seen = data.x[:2].flatten(2).reshape(1, -1, 8)                         # (1, frames of worms 0–1, N·F)
    hidden = first(seen)                                                   # the batch norm's input
    torch.testing.assert_close(bn.mean, hidden.mean(1, keepdim=True), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.var, hidden.var(1, unbiased=False, keepdim=True), atol=1e-3, rtol=1e-3)
    assert not any(isinstance(m, StackedBatchNorm) for m in frozen.modules())
    # each test frame is now predicted alone: the rest of the test worm no longer matters
    later = with_worm_changed(data, 2, lambda x: torch.cat([x[:100], 3 * x[100:]]))
    torch.testing.assert_close(predict(frozen, data)[0, 2, :100], predict(frozen, later)[0, 2, :100])


def test_contract_scores_name_each_contract_and_train_each_network_twice_at_most(trained, monkeypatch):
    data, train, test, _ = trained
    info = [dict(protocol="leave-worms-out", population="unseen", n_train_worms=2, train="w0,w1", fold=-1)]
    causal = normalisation.running_minmax(data)
    trained_on = []
    monkeypatch.setattr(experiments, "fit",
                        lambda model, seen, *a, **k: trained_on.append(seen) or fit(model, seen, *a, **k))
    scores = experiments.contract_scores.__wrapped__("mlp-concat", data, causal, (train, test, info), 16,
                                                     TrainConfig(steps=60, batch_size=32))
    # once for the per-worm and training-worm contracts (only the prediction differs), once on past-only features
    assert len(trained_on) == 2 and trained_on[0] is data and trained_on[1] is causal
    assert set(scores.model) == {f"mlp-concat@{c}" for c in normalisation.CONTRACTS}
    assert (scores.model.str.split("@").str[1] == scores.normalisation).all()
    assert scores.accuracy.between(0, 1).all()


def test_every_scorecard_comparison_is_made_under_one_contract(monkeypatch):
    """Walk every comparison the scorecard makes on the committed results: each pairs two models
    under the same recorded contract, and a contract mixed into the records is caught."""
    from wormlib import scorecard
    from wormlib.results import load_results

    committed = {name: load_results(name) for name in ("classification", "trajectories", "discussion")}
    seen = []
    check = normalisation.check_same_contract

    def spy(a, b, scores=None):
        seen.append((a, b))
        return check(a, b, scores)

    monkeypatch.setattr(normalisation, "check_same_contract", spy)
    scorecard.build(committed)
    assert len(seen) >= 40 and all(normalisation.contract_of(a) == normalisation.contract_of(b) for a, b in seen)
    # record one baseline as run under another contract: the scorecard refuses to compare it
    mixed = dict(committed)
    c = mixed["classification"]
    mixed["classification"] = c.assign(normalisation=c.model.map({"svm": "training-worms"}).fillna("per-worm"))
    monkeypatch.setattr(normalisation, "check_same_contract", check)
    with pytest.raises(normalisation.ContractError):
        scorecard.build(mixed)


def test_chapter_5s_contract_tables_compare_each_model_with_itself_and_the_networks_like_with_like():
    from wormlib.evaluate import contract_summary, contract_tables

    rng = np.random.default_rng(0)
    base = {"gnn-inferred-static": 0.90, "mlp-concat": 0.88, "logistic-regression": 0.85}
    cost = {"per-worm": 0.0, "causal-per-worm": -0.05, "training-worms": -0.02}
    rows = [dict(task="4-state", model=f"{m}@{c}", test=str(w), accuracy=a + d + noise,
                 balanced_accuracy=a + d + noise)
            for w, noise in enumerate(rng.normal(0, 0.01, 5)) for m, a in base.items() for c, d in cost.items()]
    worth, pairs = contract_tables(pd.DataFrame(rows))
    gnn = worth[(worth.model == "gnn-inferred-static") & (worth.metric == "accuracy")].iloc[0]
    assert gnn["per-worm"] == "0.900" and gnn["causal-per-worm − per-worm"] == "-0.050 [-0.050, -0.050]"
    assert len(pairs) == 3 * 2 and (pairs["GNN − LR"].str.startswith("+0.050")).all()  # every contract, both metrics
    assert "the same verdict under every contract (the network ahead" in contract_summary(pd.DataFrame(rows))

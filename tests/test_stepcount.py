"""Step counts from learning curves (issue 51): the curve never perturbs the training it scores,
it reads no test worm to choose, the one-standard-error rule picks what it says, every network
of the book has a family, and the profiles train each family for the steps chapter 2 chose."""

import numpy as np
import pandas as pd
import pytest
import torch

from wormlib import experiments, stepcount, trajectories
from wormlib.results import load_results
from wormlib.provenance import ProfileError, load_profiles
from wormlib.train import TaskData, TrainConfig

N, F = 4, 2


def _toy_data(n_worms=4, t=160, seed=0):
    """Worms whose class is neuron 0's trace above or below 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_worms, t, N, F)).astype(np.float32)
    y = (x[:, :, 0, 0] > 0.5).astype(np.int64)
    return TaskData(tuple(f"w{i}" for i in range(n_worms)), tuple(f"n{i}" for i in range(N)), ("a", "b"),
                    torch.from_numpy(x), torch.from_numpy(y), torch.ones(n_worms, N, dtype=torch.bool),
                    torch.full((n_worms,), t))


def test_checkpoints_end_at_the_ceiling_and_rise():
    assert stepcount.checkpoints(600) == (50, 100, 150, 200, 300, 400, 600)
    small = stepcount.checkpoints(5)
    assert small[-1] == 5 and list(small) == sorted(set(small)) and small[0] >= 1


def test_every_trained_network_of_the_book_has_a_family():
    names = (experiments.NEURAL_MODELS + experiments.AGGREGATION_MODELS + experiments.TEMPORAL_MODELS
             + experiments.WINDOW_MODELS + experiments.GRU_WINDOW_MODELS + trajectories.LEARNED
             + ("gnn-inferred-static-window-10", "mlp-concat-window-3"))
    families = {n: stepcount.family_of(n) for n in names}
    assert families["gnn-connectome"] == "gnn" and families["gnn-inferred-static-sum"] == "gnn"
    assert families["gnn-inferred-static-window-10"] == "window"
    assert families["mlp-concat-gru-window"] == "gru-window" and families["tavrnn-probe"] == "tavrnn"
    assert families["gnn-gru"] == "trajectory-gnn" and families["mlp"] == "trajectory-mlp"
    with pytest.raises(ValueError, match="not a trained network"):
        stepcount.family_of("logistic-regression")


def test_the_config_trains_each_network_for_its_familys_steps():
    cfg = TrainConfig(steps=600, family_steps=(("gnn", 200), ("mlp", 100)))
    assert cfg.for_model("gnn-connectome").steps == 200
    assert cfg.for_model("mlp-sum").steps == 100
    assert cfg.for_model("tavrnn").steps == 600          # no choice: the ceiling


def test_the_one_standard_error_rule_takes_the_fewest_steps_near_the_best():
    rows = []
    for outer, plateau in (("a", 0.80), ("b", 0.70)):
        for held, noise in enumerate((-0.01, 0.01)):
            for step, score in ((10, 0.5), (20, plateau - 0.005), (40, plateau)):
                rows.append(dict(model="mlp-concat", outer=outer, role="validation", step=step,
                                 balanced_accuracy=score + noise))
            # a test worm that would ask for the most steps must not count
            rows.append(dict(model="mlp-concat", outer=outer, role="test", step=10, balanced_accuracy=0.0))
    chosen = stepcount.choose(pd.DataFrame(rows), "balanced_accuracy")
    assert chosen.steps.tolist() == [20, 20] and chosen.best_steps.tolist() == [40, 40]
    mse = pd.DataFrame(rows).assign(mse=lambda t: 1 - t.balanced_accuracy, model="gnn")
    assert stepcount.choose(mse, "mse").steps.tolist() == [20, 20]     # lower is better
    assert stepcount.family_steps(stepcount.choose(pd.DataFrame(rows), "balanced_accuracy")) == {"mlp": 20}


def test_a_curve_scores_the_training_it_does_not_perturb():
    """The outer models scored at a checkpoint are the models trained for that many steps by
    ``experiments.run`` (same seed, same draws): scoring never touches the training randomness.
    Validation rows hold only outer training worms."""
    data = _toy_data()
    outer = experiments.unseen_splits(data, 3)
    cfg = TrainConfig(steps=12)
    curve = stepcount.learning_curve.__wrapped__("gnn-inferred-static", data, outer, 8, cfg)
    assert sorted(curve.step.unique()) == list(stepcount.checkpoints(12))
    for step in (6, 12):
        direct = experiments.run("gnn-inferred-static", data, *outer, 8, TrainConfig(steps=step))[0]
        scored = curve[(curve.role == "test") & (curve.step == step)]
        assert np.allclose(scored.accuracy.to_numpy(), direct.accuracy.to_numpy(), atol=1e-12)
    val = curve[curve.role == "validation"]
    assert all(t in o.split(",") and t not in tr.split(",") for t, o, tr in zip(val.test, val.outer, val.train))


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_the_profile_trains_each_family_for_the_steps_chapter_2_chose(profile):
    records = load_results("models", profile)
    chosen = records[(records.experiment == "step-count") & (records.metric == "steps")]
    assert not chosen.empty, "chapter 2 has not recorded its step counts"
    expected = {r.model: int(r.value) for r in chosen.itertuples()}
    assert dict(load_profiles()[profile]["family_steps"]) == expected


def test_a_family_step_count_outside_the_ceiling_or_unknown_is_refused(tmp_path, monkeypatch):
    from wormlib import provenance

    (tmp_path / "chapters").mkdir()
    text = "[p]\nn_folds = 2\nsteps = 30\nhidden = 4\nn_seeds = 2\n[p.family_steps]\n"
    monkeypatch.setattr(provenance, "REPO_ROOT", tmp_path)
    for bad, why in (("gnn = 31", "from 1 to the profile's steps"), ("lstm = 5", "unknown family")):
        (tmp_path / "chapters" / "profiles.toml").write_text(text + bad + "\n")
        with pytest.raises(ProfileError, match=why):
            load_profiles()
    (tmp_path / "chapters" / "profiles.toml").write_text(text + "gnn = 10\n")
    assert load_profiles()["p"]["family_steps"] == (("gnn", 10),)

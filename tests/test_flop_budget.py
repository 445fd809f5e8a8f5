"""benchmarks/flop_budget.py: each training loop counted as one step times the steps asked, closed-form
fits once, and the floor's arithmetic."""

import torch

from wormlib import experiments, train
from wormlib import trajectories as tj
from wormlib.train import TrainConfig

from test_tavrnn import _tiny_data  # three toy worms (tests/ is on the path: conftest.py)


def test_a_training_loop_runs_one_step_and_counts_it_for_every_step_asked(load_tool, monkeypatch):
    from torch.utils.flop_counter import FlopCounterMode

    budget = load_tool("flop_budget")
    ledger = budget.Ledger()
    budget.install(ledger, patch=monkeypatch.setattr)
    data = _tiny_data()
    train_mask, test_mask, splits = experiments.unseen_splits(data, 2)       # 3 stacked models
    experiments.run("mlp-concat", data, train_mask, test_mask, splits, 8, TrainConfig(steps=40))
    [loop] = ledger.loops
    assert (loop["family"], loop["models"], loop["steps"]) == ("mlp-concat", 3, 40)
    assert len(list(train.worm_schedule(train_mask.any(-1), 40, torch.Generator()))) == 1   # one step runs
    torch.manual_seed(0)
    model = experiments.build_model("mlp-concat", 3, data, 8)
    with FlopCounterMode(display=False) as one_step:                        # the cut loop: one step
        train.fit(model, data, train_mask, TrainConfig(steps=40))
    assert loop["step_flops"] == one_step.get_total_flops() > 0
    tj.fit(tj.build_model("linear", 3, 4, 2, 8), data, train_mask.any(-1), TrainConfig(steps=40), desc="linear")
    assert ledger.loops[-1]["family"] == "trajectory linear" and ledger.loops[-1]["steps"] == 1   # closed form
    summary = ledger.summary(torch_flops=10**12)
    assert summary["families"]["mlp-concat"]["flops"] == 40 * loop["step_flops"]
    assert summary["families"]["mlp-concat"]["model_steps"] == 3 * 40


def test_the_floor_is_float32_at_its_peak_plus_float64_at_its_peak_over_the_cores(load_tool):
    budget = load_tool("flop_budget")
    chapter = dict(finished=True, training_flops=3e12, other_torch_flops=1e12, admm_float64_flops=1e12,
                   families={"gnn": dict(loops=1, model_steps=10, flops=3e12)})
    lines = budget.report({"03_classification": chapter}, dict(float32=100.0, float64=50.0), cores=2)
    # (4e12 / 100e9 + 1e12 / 50e9) / 2 = (40 + 20) / 2 = 30 s
    assert lines[-1].endswith("floor 30 s (0.5 min) on 2 cores")
    assert any(line.split()[-1:] == ["15.0"] and "gnn" in line for line in lines)   # 3e12 / 100e9 / 2

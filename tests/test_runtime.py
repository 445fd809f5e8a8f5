"""Process-level speed settings change no number: the thread budget the chapter runner grants
(``wormlib.runtime.follow_thread_budget``, ``tools/execute_chapters.thread_shares``) and torch
training at chapter sizes on one thread or two."""

import importlib.util
from pathlib import Path

import pytest
import torch

from wormlib import experiments, runtime, tavrnn
from wormlib import trajectories as tj
from wormlib.preprocess import PAPER_NEURONS
from wormlib.train import TaskData, TrainConfig, fit

ROOT = Path(__file__).resolve().parents[1]


def _runner():
    spec = importlib.util.spec_from_file_location("execute_chapters", ROOT / "tools" / "execute_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def threads():
    """Leaves torch's thread count as it found it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_the_cores_are_shared_among_the_chapters_running_now():
    shares = _runner().thread_shares
    assert shares(["03", "04"], 2) == {"03": 1, "04": 1}
    assert shares(["03"], 2) == {"03": 2}                     # left alone: every core
    assert shares(["03", "04"], 3) == {"03": 2, "04": 1}      # the remainder to the first started
    assert shares(["03", "04", "05"], 2) == {"03": 1, "04": 1, "05": 1}   # never below one
    assert shares([], 2) == {}


def test_training_follows_the_granted_thread_count(tmp_path, monkeypatch, threads):
    budget = tmp_path / "budget"
    monkeypatch.setenv(runtime.THREAD_BUDGET_ENV, str(budget))
    monkeypatch.setattr(runtime, "_granted", 0)
    torch.set_num_threads(1)
    assert runtime.follow_thread_budget(every_s=0) == 1       # not written yet: unchanged
    budget.write_text("2")
    assert runtime.follow_thread_budget(every_s=0) == 2
    budget.write_text("1")
    assert runtime.follow_thread_budget(every_s=3600) == 2    # read at most every every_s
    assert runtime.follow_thread_budget(every_s=0) == 1
    budget.write_text("two")
    assert runtime.follow_thread_budget(every_s=0) == 1       # unreadable: unchanged
    budget.write_text("2")
    runtime.follow_thread_budget(every_s=0)
    torch.set_num_threads(1)
    assert [torch.get_num_threads() for _ in runtime.budgeted(range(3))] == [2, 2, 2]
    assert torch.get_num_threads() == 1                       # after the loop: the count before it
    monkeypatch.delenv(runtime.THREAD_BUDGET_ENV)
    assert [torch.get_num_threads() for _ in runtime.budgeted(range(2))] == [1, 1]   # no runner


def _on_threads(n: int, train):
    torch.set_num_threads(n)
    torch.manual_seed(0)
    return train()


def _parameters(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_chapter_training_gives_the_same_bits_on_one_thread_or_two(kato, threads):
    """The runner changes a chapter's torch threads while it trains (when a core falls idle), so
    every model family must train to the same bits on either count. The sizes are the chapters'
    (batch 64, hidden 32, the 15 paper neurons, real recordings) with fewer stacked models, large
    enough that torch splits the work among threads: a sum over a whole large tensor, the
    control, does differ, and so does the GRU-window GNN's evaluation on whole recordings (by
    4e-8 on the development machine), which is why ``runtime.budgeted`` gives evaluation the
    pinned count back."""
    data = TaskData.build(kato, "4-state", PAPER_NEURONS)
    windowed = data.with_lags(experiments.LAGS)
    train_mask, test_mask, _ = experiments.unseen_splits(data, 3, 4)           # 4 stacked models
    train_worms, cfg = train_mask.any(-1), TrainConfig(steps=3)

    def classifier(name, seen):
        return fit(experiments.build_model(name, len(train_mask), seen, 32), seen, train_mask, cfg)

    def trajectory_gnn():
        return tj.fit(tj.build_model("gnn", len(train_worms), data.x.shape[2], data.x.shape[3], 32), data,
                      train_worms, cfg)

    def tavrnn_head():
        model = tavrnn.TAVRNN(len(train_worms), data.x.shape[-1], len(data.classes), tavrnn.TAVRNNConfig())
        return tavrnn.fit(model, tavrnn.Sequences.build(data, model.cfg), train_worms, steps=2)

    runs = {"mlp-concat": lambda: classifier("mlp-concat", data),
            "gnn-inferred-static": lambda: classifier("gnn-inferred-static", data),
            "gnn-inferred-static-gru-window": lambda: classifier("gnn-inferred-static-gru", windowed),
            "trajectory gnn": trajectory_gnn, "tavrnn": tavrnn_head}
    for name, train in runs.items():
        one, two = (_parameters(_on_threads(n, train)) for n in (1, 2))
        assert torch.equal(one, two), name
    control = torch.randn(4_000_000, generator=torch.Generator().manual_seed(0))
    sums = [_on_threads(n, control.sum) for n in (1, 2)]
    assert not torch.equal(*sums), "two threads ran as one: this test would not see a difference"

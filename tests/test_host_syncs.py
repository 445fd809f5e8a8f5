"""What a GPU run needs from every training loop (issue 51): no optimiser step makes the host wait
for the device. No GPU is needed to check it. The loops run on torch's "meta" device (shapes,
no data), under a mode that records every call that would read a device tensor on the host
(``bool``, ``item``, ``tolist``, ``.cpu()``, a copy to the CPU) or copy a host tensor to the
device synchronously; on CUDA each such call stops the host until the GPU has caught up. A loop
may wait a fixed number of times (its set-up, its final bookkeeping) but not once per step: the
count after 4 steps must equal the count after 2."""

from collections import Counter

import pytest
import torch
from torch.overrides import TorchFunctionMode

from wormlib import models, tavrnn, trajectories, train
from wormlib.runtime import to_device
from wormlib.train import TaskData, TrainConfig

READS = {"__bool__", "item", "tolist", "cpu", "numpy", "__int__", "__float__", "__index__"}


def _on_device(t) -> bool:
    return isinstance(t, torch.Tensor) and t.device.type != "cpu"


def _target(args, kwargs):
    for a in (*args[1:], kwargs.get("device")):
        if isinstance(a, (str, torch.device)):
            return torch.device(a)
        if isinstance(a, torch.Tensor):
            return a.device
    return None


class HostWaits(TorchFunctionMode):
    """Records (and answers with placeholders) every call that would wait for the device."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in READS and _on_device(args[0]):
            self.calls.append(name)
            value = torch.zeros(args[0].shape, dtype=args[0].dtype)     # a CPU stand-in
            return value if name == "cpu" else getattr(value, name)()
        if name == "to" and isinstance(args[0], torch.Tensor):
            target = _target(args, kwargs)
            if target is not None and target.type == "cpu" and _on_device(args[0]):
                self.calls.append("to cpu")
                return torch.zeros(args[0].shape, dtype=kwargs.get("dtype", args[0].dtype))
            if (target is not None and target.type != "cpu" and args[0].device.type == "cpu"
                    and not kwargs.get("non_blocking", False)):
                self.calls.append("blocking copy to the device")
        return func(*args, **kwargs)


def _data(n_worms=3, t=80, n=4, f=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_worms, t, n, f, generator=g)
    present = torch.ones(n_worms, n, dtype=torch.bool)
    present[0, 1] = False                                                # one missing neuron
    return TaskData(tuple("abc"[:n_worms]), tuple(f"n{i}" for i in range(n)), ("off", "on"), x,
                    (x[..., 0, 0] > 0.5).long(), present, torch.full((n_worms,), t))


def _waits(run, steps) -> list[str]:
    with HostWaits() as mode:
        run(steps)
    return mode.calls


def _assert_no_wait_per_step(run):
    two, four = Counter(_waits(run, 2)), Counter(_waits(run, 4))
    assert four == two, f"waits for the device in 2 more steps: {dict(four - two)}"


def _plain_adam(model, cfg):   # torch's fused Adam does not run on "meta"; on CUDA it does not wait
    return torch.optim.Adam(model.parameters(), lr=cfg.lr)


@pytest.mark.parametrize("name", ["mlp", "gnn", "gnn-static"])
def test_a_classifier_training_step_never_waits_for_the_device(monkeypatch, name):
    monkeypatch.setattr(train, "make_optimiser", _plain_adam)
    data = _data()
    mask = torch.zeros(2, 3, 80, dtype=torch.bool)
    mask[:, :2] = True

    def run(steps):
        model = {"mlp": lambda: models.MLPClassifier(2, 4, 2, 2, 8),
                 "gnn": lambda: models.GNN(2, 4, 2, 2, 8),
                 "gnn-static": lambda: models.GNN(2, 4, 2, 2, 8, edges="static")}[name]()
        train.fit(model, data, mask, TrainConfig(steps=steps, batch_size=8, device="meta"))

    _assert_no_wait_per_step(run)


@pytest.mark.parametrize("name", ["gnn", "gnn-static", "gnn-gru", "mlp-gru"])
def test_a_trajectory_training_step_never_waits_for_the_device(monkeypatch, name):
    monkeypatch.setattr(trajectories, "make_optimiser", _plain_adam)
    data = _data(t=120)
    worms = torch.tensor([[True, True, False], [False, True, True]])

    def run(steps):
        torch.manual_seed(0)
        model = trajectories.build_model(name, 2, 4, 2, 8)
        trajectories.fit(model, data, worms, TrainConfig(steps=steps, batch_size=4, device="meta"))

    _assert_no_wait_per_step(run)


def test_a_tavrnn_training_step_never_waits_for_the_device():
    cfg = tavrnn.TAVRNNConfig(hidden=8, latent=4, chunk=6, burn_in=1, batch=2, window=6, stride=2)
    seq = tavrnn.Sequences.build(_data(), cfg)
    worms = torch.tensor([[True, True, False], [False, True, True]])

    def run(steps):
        model = tavrnn.TAVRNN(2, 2, 2, cfg).to("meta")
        tavrnn.fit(model, seq, worms, steps)

    _assert_no_wait_per_step(run)


def test_the_mode_sees_a_wait_per_step_where_there_is_one(monkeypatch):
    # The check itself can fail: a loop that reads the device's mask on the host every step, as
    # mask_nodes did before issue 51 (``bool(present.all())``), is caught.
    monkeypatch.setattr(train, "make_optimiser", _plain_adam)
    monkeypatch.setattr(models, "all_present", lambda present: bool(present.all()))
    data = _data()
    mask = torch.zeros(2, 3, 80, dtype=torch.bool)
    mask[:, :2] = True
    with pytest.raises(AssertionError, match="__bool__"):
        _assert_no_wait_per_step(lambda steps: train.fit(models.GNN(2, 4, 2, 2, 8), data, mask,
                                                         TrainConfig(steps=steps, batch_size=8, device="meta")))


def test_to_device_returns_a_tensor_already_there_and_keeps_shape_and_dtype():
    t = torch.arange(6).reshape(2, 3)
    assert to_device(t, "cpu") is t
    moved = to_device(t, "meta")
    assert moved.device.type == "meta" and moved.shape == t.shape and moved.dtype == t.dtype

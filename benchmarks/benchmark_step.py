"""Benchmark: one optimiser step of every model family of the book, against the machine's peak.

    python benchmarks/benchmark_step.py [--threads 1] [--steps 20] [--models gnn-static,mlp-concat] [--device cuda]
    python benchmarks/benchmark_step.py --against <commit>    # also time that commit's step, same run

For each model family — the chapter-3 stacks (50 models: 5 worms × 10 folds, batch 64, the 15
paper neurons, hidden 32; also the time-context networks, which read each neuron's six lagged
frames, directly or through a GRU) and the chapter-4 trajectory stacks (5 models, 8-step
rollouts), and TAVRNN (25 stacked models, chunks of 16 graphs; with and without its
behaviour head) — it
prints FLOPs per optimiser step (forward + backward, ``torch.utils.flop_counter``), ms per step
(median of ``--steps`` timed steps after warm-up), the achieved GFLOP/s, and that as a fraction
of the machine's single-precision matmul peak measured in the same run (a 1024² ``torch.mm``
with the same thread count). It also counts the bytes each ATen operation of the step reads and
writes (its tensor inputs and outputs, ``BytesCounter``: the traffic if no operand stayed in a
cache, an upper estimate), measures the memory bandwidth (a float32 ``torch.add`` over arrays far
larger than the caches), and places the step on the roofline: the least time its FLOPs and bytes
allow, max(FLOPs / peak, bytes / bandwidth), as a fraction of the measured time. ``--against``
checks the commit out in a temporary git worktree
and runs this same script on it in a subprocess, so both are measured on the same machine
within seconds of each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import dataclasses
import json
import os
import statistics
import time


def matmul_peak(n: int = 1024, repeats: int = 20, device: str = "cpu") -> float:
    """GFLOP/s of an n×n float32 matrix product (best of ``repeats``); on a GPU n = 8192."""
    import torch

    n = 8192 if device != "cpu" else n
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    best = min(_timed(lambda: a @ b, device) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def memory_bandwidth(n: int = 1 << 25, repeats: int = 10, device: str = "cpu") -> float:
    """GB/s of c = a + b over float32 arrays of ``n`` elements (3 × 128 MiB: past every cache),
    counting the two reads and one write (best of ``repeats``)."""
    import torch

    a, b, c = (torch.rand(n, device=device) for _ in range(3))
    for _ in range(2):
        torch.add(a, b, out=c)
    best = min(_timed(lambda: torch.add(a, b, out=c), device) for _ in range(repeats))
    return 3 * 4 * n / best / 1e9


def bytes_counter():
    """A dispatch mode that adds up the bytes every ATen operation reads and writes (each tensor
    input and output once per operation, an expanded view at most its storage's size)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class BytesCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.bytes = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            seen = set()
            for t in tree_flatten((args, kwargs, out))[0]:
                if isinstance(t, torch.Tensor) and id(t) not in seen:
                    seen.add(id(t))
                    self.bytes += min(t.numel() * t.element_size(), t.untyped_storage().nbytes())
            return out

    return BytesCounter()


def _timed(fn, device: str = "cpu") -> float:
    import torch

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def families(data, n_folds: int = 10, device: str = "cpu"):
    """name → (model, step function); the step runs forward, loss, backward and Adam."""
    import torch
    import torch.nn.functional as F

    from wormlib import experiments
    from wormlib import trajectories as tj

    try:  # the library's optimiser (plain Adam in commits before it had one)
        from wormlib.train import TrainConfig, make_optimiser

        def adam(model):
            return make_optimiser(model, TrainConfig(lr=3e-3, weight_decay=1e-4))
    except ImportError:
        def adam(model):
            return torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(0)
    out = {}
    m_cls = len(data.worms) * n_folds
    # the time-context networks read each neuron's lagged frames, (N, L·F) per frame (none in older commits)
    window = getattr(experiments, "WINDOW", None)
    window_names = [*getattr(experiments, "WINDOW_MODELS", ()), *getattr(experiments, "GRU_WINDOW_MODELS", ())]
    windowed = data.with_lags(experiments.LAGS) if window_names else None   # on the CPU, as the chapters build it
    on_cpu = data
    if device != "cpu":  # the tensors on the device; indices stay on the CPU (as in training)
        on_device = lambda d: dataclasses.replace(d, x=d.x.to(device), y=d.y.to(device),  # noqa: E731
                                                  present=d.present.to(device))
        data, windowed = on_device(data), windowed if windowed is None else on_device(windowed)
    for name in ("mlp-concat", "gnn-inferred-static", "gnn-inferred-dynamic", "gnn-connectome", *window_names):
        torch.manual_seed(0)
        seen = windowed if window and name.endswith(window) else data
        model = experiments.build_model(name.removesuffix(window) if window else name, m_cls, seen, 32).to(device)
        opt = adam(model)
        worm = torch.arange(m_cls) % len(data.worms)

        def step(model=model, opt=opt, worm=worm, seen=seen):
            idx = torch.randint(0, 3000, (m_cls, 64), generator=gen)
            logits = model(seen.x[worm[:, None], idx], data.present[worm])
            loss = F.cross_entropy(logits.flatten(0, 1), data.y[worm[:, None], idx].clamp(min=0).flatten(),
                                   reduction="sum") / 64
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out[name] = (model, step)
    m_traj = 5
    for name in ("traj-mlp", "traj-gnn", "traj-gnn-static", "traj-mlp-gru", "traj-gnn-gru"):
        torch.manual_seed(0)
        model = tj.build_model(name[5:], m_traj, data.x.shape[2], data.x.shape[3], 32).to(device)
        opt = adam(model)
        worm = torch.arange(m_traj) % len(data.worms)
        length = tj.BURN_IN + tj.TRAIN_STEPS

        def step(model=model, opt=opt, worm=worm, length=length):
            starts = torch.randint(0, 3000 - length, (m_traj, 64), generator=gen)
            window = tj.gather_windows(data.x, worm, starts, length)
            pred = tj.rollout(model, window, data.present[worm], tj.TRAIN_STEPS, 0.5, gen)
            loss = tj.step_mse(pred, window[:, :, -tj.TRAIN_STEPS:], data.present[worm]).mean(1).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        out[name] = (model, step)
    out.update(_tavrnn_families(on_cpu, len(data.worms) * 5, device))
    return out


def _tavrnn_families(data, m: int, device: str) -> dict:
    """TAVRNN with its behaviour head (``tavrnn``) and without (``tavrnn-probe``'s training), ``m``
    stacked models (chapter 3: 5 leave-one-worm-out splits × 5 seeds, each on its 4 training
    worms): one optimiser step is ``wormlib.tavrnn.fit`` with ``steps=1`` (chunks of graphs, KL +
    edge (+ behaviour) loss, per-model clipping, StackedAdam), the library's own loop, on the
    device the model is moved to (the graphs are built on the CPU from ``data``, as the chapter
    builds them). None in commits before TAVRNN, and none off the CPU in commits whose ``fit``
    trained on the CPU whatever the model's device (before ``Sequences.to``)."""
    import torch

    try:
        from wormlib import tavrnn
    except ImportError:
        return {}
    if device != "cpu" and not hasattr(tavrnn.Sequences, "to"):
        return {}
    cfg = tavrnn.TAVRNNConfig()
    seq = tavrnn.Sequences.build(data, cfg)
    n_worms = len(data.worms)
    train_worms = torch.arange(n_worms)[None] != (torch.arange(m) % n_worms)[:, None]   # (M, W)
    out = {}
    for name, supervised in (("tavrnn", True), ("tavrnn-probe", False)):
        torch.manual_seed(0)
        model = tavrnn.TAVRNN(m, data.x.shape[-1], len(data.classes) if supervised else 0, cfg).to(device)
        seeds = iter(range(1 << 30))  # a fresh draw of chunks each step

        def step(model=model, supervised=supervised, seeds=seeds):
            tavrnn.fit(model, seq, train_worms, steps=1, seed=next(seeds), supervised=supervised)
        out[name] = (model, step)
    return out


def measure(models: list[str] | None, steps: int, device: str = "cpu") -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from wormlib.data import load_kato2015
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData

    data = TaskData.build(load_kato2015(), "4-state", PAPER_NEURONS)
    try:  # what train.fit does before training (absent in older commits)
        from wormlib.runtime import keep_freed_memory
        keep_freed_memory()
    except ImportError:
        pass
    peak, bandwidth = matmul_peak(device=device), memory_bandwidth(device=device)
    rows = {}
    for name, (model, step) in families(data, device=device).items():
        if models and name not in models:
            continue
        for _ in range(3):
            step()
        with FlopCounterMode(display=False) as counter:
            step()
        traffic = bytes_counter()
        with traffic:
            step()
        times = [_timed(step, device) for _ in range(steps)]
        ms = 1e3 * statistics.median(times)
        gflop, gbyte = counter.get_total_flops() / 1e9, traffic.bytes / 1e9
        floor_ms = 1e3 * max(gflop / peak, gbyte / bandwidth)   # the roofline's least time
        rows[name] = dict(gflop=gflop, ms=ms, gflops=gflop / ms * 1e3, peak=peak, gbyte=gbyte,
                          intensity=gflop / gbyte if gbyte else float("nan"), floor_ms=floor_ms,
                          of_roofline=floor_ms / ms)
    return dict(peak=peak, bandwidth=bandwidth, threads=torch.get_num_threads(), device=device, rows=rows)


def run_other(commit: str, args) -> dict:
    """This script's measurement on ``commit``'s wormlib (a temporary worktree)."""
    from toolargs import json_at_commit

    extra = ["--models", args.models] if args.models else []
    return json_at_commit(__file__, commit, ["--threads", str(args.threads), "--steps", str(args.steps),
                                             "--device", args.device, *extra])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", default="", help="comma-separated subset")
    parser.add_argument("--against", help="a git commit to time in the same run")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (peak: an 8192² float32 mm there)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    os.environ.setdefault("WORMLIB_DATA", str(ROOT.parent / "shared" / "data"))
    import torch

    torch.set_num_threads(args.threads)
    models = [m for m in args.models.split(",") if m]
    other = run_other(args.against, args) if args.against else None
    here = measure(models, args.steps, args.device)
    if args.json:
        print(json.dumps(here))
        return
    where = f"{here['threads']} thread(s)" if args.device == "cpu" else args.device
    size = 1024 if args.device == "cpu" else 8192
    print(f"matmul peak ({size}² float32 mm, {where}): {here['peak']:.1f} GFLOP/s; "
          f"memory bandwidth (float32 add, 3 × 128 MiB): {here['bandwidth']:.1f} GB/s")
    head = (f"{'model':<31} {'GFLOP/step':>10} {'ms/step':>9} {'GFLOP/s':>8} {'of peak':>8} {'MB/step':>8} "
            f"{'FLOP/B':>7} {'floor ms':>8} {'of roofline':>11}")
    if other:
        head += f" {'ms @' + args.against[:7]:>13} {'of peak':>8} {'speed-up':>8}"
    print(head)
    for name, r in here["rows"].items():
        line = (f"{name:<31} {r['gflop']:>10.3f} {r['ms']:>9.1f} {r['gflops']:>8.1f} {r['gflops'] / here['peak']:>8.1%} "
                f"{1e3 * r['gbyte']:>8.1f} {r['intensity']:>7.2f} {r['floor_ms']:>8.2f} {r['of_roofline']:>11.1%}")
        if other and name in other["rows"]:
            o = other["rows"][name]
            line += f" {o['ms']:>13.1f} {o['gflops'] / other['peak']:>8.1%} {o['ms'] / r['ms']:>7.2f}×"
        print(line)


if __name__ == "__main__":
    main()

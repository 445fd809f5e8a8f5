"""Does training give the same bits on one thread and on two? Where it first does not, which op.

    python benchmarks/thread_invariance.py [--models 4,50,250] [--steps 2]

Trains chapter 3's static-edge GNN (7 states, the 15 paper neurons, hidden 32, batch 64, real
Kato recordings) as a stack of M models for ``--steps`` optimiser steps, once on one torch thread
and once on two, from the same seed, and says whether the parameters are bit-identical. Where
they are not, it repeats the steps with every op's output recorded (``TorchDispatchMode``) and
prints the first op whose output differs. Then a bare ``sigmoid`` on 1 and 2 threads: torch
splits a large element-wise op among its threads at a point that need not be a multiple of the
SIMD width, and elements just before that point come out in other last bits (the vectorised
loop's remainder is computed another way); a size whose split falls on a multiple of the width
does not. Why the chapter runner keeps each chapter's thread count fixed (HISTORY.md, "Tried
and dropped: idle cores for the last chapter").
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import contextlib


def train(n_models: int, steps: int, threads: int, record: bool = False):
    """Parameters after ``steps`` steps of an M-model stack on ``threads`` threads, and (with
    ``record``) every op of every step, in order: (name, argument shapes, outputs). The loop is
    ``wormlib.train.fit``'s, written out so that the forward and backward passes can be recorded."""
    import torch
    import torch.nn.functional as F
    from torch.utils._python_dispatch import TorchDispatchMode

    from wormlib import experiments
    from wormlib.data import load_kato2015
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData, TrainConfig, make_optimiser, worm_schedule

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            outs = out if isinstance(out, (tuple, list)) else (out,)
            shapes = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]
            self.ops.append((str(func), shapes, [o.detach().clone() for o in outs if isinstance(o, torch.Tensor)]))
            return out

    data = TaskData.build(load_kato2015(), "7-state", PAPER_NEURONS)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = experiments.build_model("gnn-inferred-static", n_models, data, 32).train()
    cfg = TrainConfig(steps=steps)
    train_mask = data.labelled.expand(n_models, -1, -1)                     # (M, W, T): every frame
    gen = torch.Generator().manual_seed(cfg.seed)
    optimiser = make_optimiser(model, cfg)
    rows = torch.arange(n_models)
    recorder = Recorder()
    for worm in worm_schedule(train_mask.any(-1), steps, gen):
        idx = torch.multinomial(train_mask[rows, worm].float(), cfg.batch_size, replacement=True, generator=gen)
        with recorder if record else contextlib.nullcontext():
            logits = model(data.x[worm[:, None], idx], data.present[worm])    # (M, B, C)
            loss = F.cross_entropy(logits.flatten(0, 1), data.y[worm[:, None], idx].flatten(),
                                   reduction="sum") / cfg.batch_size
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
        optimiser.step()
    return torch.cat([p.detach().flatten() for p in model.parameters()]), recorder.ops


def first_difference(ops_one, ops_two) -> str:
    import torch

    for (name, shapes, outs_one), (_, _, outs_two) in zip(ops_one, ops_two):
        if "empty" in name:  # uninitialised memory, differs by design
            continue
        for a, b in zip(outs_one, outs_two):
            if a.dtype.is_floating_point and a.shape == b.shape and not torch.equal(a, b):
                return (f"{name} on {shapes}: outputs differ by up to {(a - b).abs().max().item():.2g} "
                        f"({int((a != b).sum())} of {a.numel()} elements)")
    return "no op's output differs (the optimiser's?)"


def sigmoid_split(shape: tuple[int, ...]) -> str:
    """Which elements of a sigmoid over a random tensor of ``shape`` differ on 1 and 2 threads."""
    import torch

    x = 4 * torch.randn(shape, generator=torch.Generator().manual_seed(0))
    one, two = (torch.set_num_threads(n) or torch.sigmoid(x) for n in (1, 2))
    differ = (one != two).flatten().nonzero().flatten().tolist()
    return (f"sigmoid over {shape} ({x.numel()} elements): "
            + (f"elements {differ} differ" if differ else "bit-identical"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="4,50,250", help="stack sizes M, comma-separated")
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    import torch

    for m in (int(x) for x in args.models.split(",")):
        one, _ = train(m, args.steps, 1)
        two, _ = train(m, args.steps, 2)
        same = torch.equal(one, two)
        print(f"M = {m:4d}: parameters after {args.steps} steps on 1 and 2 threads "
              + ("bit-identical" if same else f"differ by up to {(one - two).abs().max().item():.2g}"), flush=True)
        if not same:
            print("         first op that differs: "
                  + first_difference(train(m, args.steps, 1, True)[1], train(m, args.steps, 2, True)[1]), flush=True)
    for shape in ((250, 1, 15, 15), (256, 1, 16, 16)):  # split at element 28,125; at 32,768
        print(sigmoid_split(shape), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: one TAVRNN optimiser step (wormlib.tavrnn), as chapter 3 trains it.

    python tools/benchmark_tavrnn.py [--threads 1] [--steps 10] [--models 5]

A step: ``--models`` stacked TAVRNNs (one per leave-one-worm-out split), each on 8 chunks of 16
graph steps of 16 nodes (15 neurons + the history node), forward and backward through the whole
chunk. Prints FLOPs per step (``torch.utils.flop_counter``), ms per step (median after warm-up),
GFLOP/s and that as a fraction of the float32 matmul peak measured in the same run — small
per-graph matrices leave TAVRNN far from the peak: its cost is the number of operations, not
their size.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--models", type=int, default=5)
    args = parser.parse_args()

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from wormlib import tavrnn

    torch.set_num_threads(args.threads)
    cfg = tavrnn.TAVRNNConfig()
    m, v = args.models, 16
    torch.manual_seed(0)
    model = tavrnn.TAVRNN(m, 2, 7, cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x = torch.rand(m, cfg.batch, cfg.chunk, v, 2)
    adj = (torch.rand(m, cfg.batch, cfg.chunk, v, v) > 0.5).float()
    y = torch.randint(0, 7, (m, cfg.batch, cfg.chunk))

    def step():
        out = model(x, adj)
        loss = (out["kl"] + out["edge"]).mean() + torch.nn.functional.cross_entropy(
            out["logits"].reshape(-1, 7), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    for _ in range(2):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    a = torch.rand(1024, 1024)
    a @ a
    t0 = time.perf_counter()
    for _ in range(5):
        a @ a
    peak = 5 * 2 * 1024 ** 3 / (time.perf_counter() - t0) / 1e9
    ms = statistics.median(times) * 1e3
    print(f"TAVRNN step, {m} models × {cfg.batch} chunks × {cfg.chunk} graphs × {v} nodes, "
          f"{args.threads} thread(s): {flops / 1e6:.1f} MFLOP, {ms:.1f} ms, {flops / ms / 1e6:.2f} GFLOP/s "
          f"= {flops / ms / 1e6 / peak:.1%} of the measured matmul peak ({peak:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()

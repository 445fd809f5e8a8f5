"""Benchmark: the static graph's messages as one product per model instead of a broadcast one.

    python benchmarks/benchmark_static_graph.py [--reps 200] [--threads 1]

Issue 51 counted the static-edge GNN's message step, ``a @ w_v`` with a (M, 1, N, N) graph and
(M, B, N, H) messages, as M·B separate 15 × 15 products (3,200 for chapter 3's 50 models and
batch 64) and asked for one product over all nodes. The fused form contracts the graph with the
messages laid out as (M, N, B·H): one (N × N)·(N × B·H) product per model, which needs the
messages transposed in and the result transposed out. Prints the largest difference of the
forward and of each gradient, and the best-of-5 time of forward + backward for each form.
"""

from __future__ import annotations

import argparse
import time

import torch


def broadcast(a: torch.Tensor, w_v: torch.Tensor) -> torch.Tensor:
    """``wormlib.models.GNN.node_states``' product: (M, 1, N, N) @ (M, B, N, H) → (M, B, N, H)."""
    return a @ w_v


def one_product_per_model(a: torch.Tensor, w_v: torch.Tensor) -> torch.Tensor:
    m, b, n, h = w_v.shape
    flat = w_v.transpose(1, 2).reshape(m, n, b * h)                      # (M, N, B·H)
    return (a[:, 0] @ flat).reshape(m, n, b, h).transpose(1, 2)          # (M, B, N, H)


def best_ms(fn, a, w_v, grad, reps: int) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            torch.autograd.grad(fn(a, w_v), (a, w_v), grad)
        times.append((time.perf_counter() - start) / reps)
    return min(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    m, b, n, h = args.models, args.batch, 15, args.hidden
    a = torch.rand(m, 1, n, n, requires_grad=True)
    w_v = torch.randn(m, b, n, h, requires_grad=True)
    grad = torch.randn(m, b, n, h)
    y0, y1 = broadcast(a, w_v), one_product_per_model(a, w_v)
    g0 = torch.autograd.grad(y0, (a, w_v), grad)
    g1 = torch.autograd.grad(y1, (a, w_v), grad)
    print(f"M={m} models, B={b} frames, N={n} nodes, H={h}; {args.threads} thread(s)")
    print(f"largest difference: forward {(y0 - y1).abs().max().item():.2e}, grad a "
          f"{(g0[0] - g1[0]).abs().max().item():.2e}, grad w_v {(g0[1] - g1[1]).abs().max().item():.2e}")
    t0 = best_ms(broadcast, a, w_v, grad, args.reps)
    t1 = best_ms(one_product_per_model, a, w_v, grad, args.reps)
    print(f"forward + backward: broadcast {t0:.3f} ms, one product per model {t1:.3f} ms ({t0 / t1:.2f}x)")


if __name__ == "__main__":
    main()

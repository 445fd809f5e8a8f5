"""Benchmark: building one ADMM manifold (wormlib.admm) on four Kato worms, and placing the fifth.

    python benchmarks/benchmark_admm.py [--threads 2] [--repeats 3] [--numpy-hugepages]

Prints, for each candidate embedding of ``wormlib.admm.EMBEDDINGS``: frames (nodes), embedding
dimension, seconds to build the manifold (median of ``--repeats``; kernel neighbours in blocks
of dense distance products + sparse eigensolver), seconds to place the held-out worm, and the
size of the distance products (GFLOP) beside the machine's float64 matmul peak, measured in the same run,
and those products alone, in row blocks reused (as ``wormlib.admm`` computes them) and fresh (the
blocks of before 2026-12-03).
The issue's target: ≤ 20 s per four-worm manifold on 2 cores. ``--numpy-hugepages`` runs with
NumPy's huge-page advice on (its default; the chapters run with it off, ``toolargs.CHAPTER_ENV``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import os
import statistics
import time

from toolargs import pin_threads


def float64_peak(n: int = 2048, repeats: int = 1) -> float:
    """GFLOP/s of an n×n float64 NumPy matrix product (NumPy's BLAS, which ADMM runs on), the
    best of ``repeats`` timed products after one warm-up."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((n, n))
    a @ a
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--numpy-hugepages", action="store_true",
                        help="NumPy's default madvise(MADV_HUGEPAGE) on large arrays")
    args = parser.parse_args()
    if args.numpy_hugepages:
        os.environ["NUMPY_MADVISE_HUGEPAGE"] = "1"
    pin_threads(args.threads)

    import numpy as np

    from wormlib import admm
    from wormlib.data import load_kato2015
    from wormlib.preprocess import shared_neurons

    worms = load_kato2015()
    activity = admm.trace_activity(worms, shared_neurons(worms))
    peak = float64_peak()
    print(f"float64 matmul peak, {args.threads} threads: {peak:.1f} GFLOP/s; NumPy huge-page advice "
          f"{'on' if np._core.multiarray._get_madvise_hugepage() else 'off'}")
    # The kernel's distances of one four-worm build (admm.transition_matrix), timed alone: rows in
    # blocks of 256 into one reused buffer (wormlib.admm) and in blocks of 2048 into fresh arrays
    # (the blocks before 2026-12-03, which also rebuilt the right operand for every block).
    nodes = sum(len(a) for a in activity[:4]) - 4
    for dim in (28, 112):  # D of the two embeddings: 3·D columns in the expanded product
        rng = np.random.default_rng(1)
        points, noise = rng.standard_normal((nodes, dim)), rng.uniform(0.5, 1.5, (nodes, dim))
        distances = admm._ScaledDistances(points, noise)
        flops = 2 * nodes * nodes * 3 * dim
        times = {}
        for how in ("fresh, 2048 rows", "reused, 256 rows") * (args.repeats + 1):  # round 1 warms up
            t0 = time.perf_counter()
            if how.startswith("fresh"):
                for s in range(0, nodes, 2048):
                    distances(points[s:s + 2048], noise[s:s + 2048])
            else:
                buffer = np.empty((256, nodes))
                for s in range(0, nodes, 256):
                    distances(points[s:s + 256], noise[s:s + 256], out=buffer)
            times.setdefault(how, []).append(time.perf_counter() - t0)
        print(f"kernel distances of one build, D = {dim} ({flops / 1e9:.1f} GFLOP): " + "; ".join(
            f"{how} {statistics.median(t[1:]):.2f} s ({flops / statistics.median(t[1:]) / 1e9 / peak:.0%} of peak)"
            for how, t in times.items()))
    for emb in admm.EMBEDDINGS:
        build, place = [], []
        for _ in range(args.repeats):
            bank = admm.ManifoldBank(activity)
            t0 = time.perf_counter()
            view = bank.view((0, 1, 2, 3), emb, keep=True)
            build.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            view.manifold.place(bank.embedded(view, 4))
            place.append(time.perf_counter() - t0)
        nodes, dim = view.manifold.points.shape
        flops = 2 * nodes * nodes * 3 * dim                                  # one (nodes × 3D) · (3D × nodes) product
        b = statistics.median(build)
        print(f"τ={emb.tau} K={emb.n_delays}: {nodes} frames, D={dim}: build {b:.2f} s, "
              f"place worm 5 ({len(activity[4])} frames) {statistics.median(place):.2f} s; "
              f"distance products {flops / 1e9:.1f} GFLOP")


if __name__ == "__main__":
    main()

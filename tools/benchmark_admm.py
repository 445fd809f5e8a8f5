"""Benchmark: building one ADMM manifold (wormlib.admm) on four Kato worms, and placing the fifth.

    python tools/benchmark_admm.py [--threads 2] [--repeats 3] [--numpy-hugepages]

Prints, for each candidate embedding of ``wormlib.admm.EMBEDDINGS``: frames (nodes), embedding
dimension, seconds to build the manifold (median of ``--repeats``; kernel neighbours in blocks
of dense distance products + sparse eigensolver), seconds to place the held-out worm, and the
size of the distance products (GFLOP) beside the machine's float64 matmul peak, measured in the same run,
and one block of those products computed into fresh arrays (as ``wormlib.admm`` does) and into one reused block.
The issue's target: ≤ 20 s per four-worm manifold on 2 cores. ``--numpy-hugepages`` runs with
NumPy's huge-page advice on (its default; the chapters run with it off, ``toolargs.CHAPTER_ENV``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from toolargs import pin_threads


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
    a = np.random.default_rng(0).standard_normal((2048, 2048))
    a @ a
    start = time.perf_counter()
    a @ a
    peak = 2 * 2048 ** 3 / (time.perf_counter() - start) / 1e9
    print(f"float64 matmul peak, {args.threads} threads: {peak:.1f} GFLOP/s; NumPy huge-page advice "
          f"{'on' if np._core.multiarray._get_madvise_hugepage() else 'off'}")
    nodes = sum(len(a) for a in activity[:4]) - 4
    for width in (84, 336):  # one block of the kernel's distances (admm.transition_matrix): 3·D columns
        left, right = (np.random.default_rng(1).standard_normal((n, width)) for n in (2048, nodes))
        block = np.empty((2048, nodes))
        times = {}
        for how in ("fresh", "reused") * (args.repeats + 1):  # the first round warms up
            t0 = time.perf_counter()
            if how == "fresh":  # as admm._scaled_sq_distances computes it
                np.maximum(left @ right.T, 0.0)
            else:
                np.maximum(np.matmul(left, right.T, out=block), 0.0, out=block)
            times.setdefault(how, []).append(time.perf_counter() - t0)
        print(f"one (2048 × {nodes}) distance block, 3D = {width}: fresh arrays "
              f"{statistics.median(times['fresh'][1:]):.3f} s, one block reused "
              f"{statistics.median(times['reused'][1:]):.3f} s")
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

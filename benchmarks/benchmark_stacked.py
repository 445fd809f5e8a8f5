"""Benchmark: one experiment's models trained stacked (one pass) vs one by one.

    python benchmarks/benchmark_stacked.py [--model gnn-inferred-static] [--steps 100] [--threads 2]

The experiment is chapter 3's seven-state, seen-population protocol: 5 worms × 10 folds = 50
models. Both ways run the same number of optimiser steps per model and the same evaluation;
the script prints the wall-clock times, the speed-up and the mean accuracy of each (which
should agree within noise).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import time

import torch

from wormlib import experiments  # noqa: E402
from wormlib.data import load_kato2015  # noqa: E402
from wormlib.preprocess import PAPER_NEURONS  # noqa: E402
from wormlib.train import TaskData, TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gnn-inferred-static")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = TaskData.build(load_kato2015(), "7-state", PAPER_NEURONS)
    train, test, info = experiments.seen_splits(data, "shuffled-windows", args.folds)
    cfg = TrainConfig(steps=args.steps)

    start = time.perf_counter()
    stacked, _ = experiments.run(args.model, data, train, test, info, 32, cfg)
    t_stacked = time.perf_counter() - start

    start = time.perf_counter()
    single = [experiments.run(args.model, data, train[m:m + 1], test[m:m + 1], info[m:m + 1], 32, cfg)[0]
              for m in range(len(info))]
    t_loop = time.perf_counter() - start

    print(f"{args.model}, {len(info)} models × {args.steps} steps, {args.threads} threads")
    print(f"  stacked : {t_stacked:7.1f} s   mean accuracy {stacked.accuracy.mean():.3f}")
    print(f"  one by one: {t_loop:5.1f} s   mean accuracy {sum(s.accuracy.mean() for s in single) / len(single):.3f}")
    print(f"  speed-up: {t_loop / t_stacked:.1f}x")


if __name__ == "__main__":
    main()

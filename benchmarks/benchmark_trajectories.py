"""Benchmark: where chapter 4's time goes — training and evaluating each trajectory model.

    python benchmarks/benchmark_trajectories.py [--steps 100] [--threads 2] [--models gnn,mlp] [--seeds 5]

For each model, the 5 stacked models of chapter 4's "train on 4 worms" protocol are trained for
``--steps`` optimiser steps (8-step rollouts; 12 frames for the recurrent ones) and evaluated
(16-step rollouts on every held-out worm). Prints seconds per 100 training steps and for the
evaluation, and the extrapolation to the full profile (600 steps; two runs, k = 1 and 4). ``--seeds N``
stacks N seed replicates of the 5 models (``experiments.replicate``), as one of chapter 4's seed runs
does (the extrapolation is then for that one run).
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
from wormlib import trajectories as tj  # noqa: E402
from wormlib.data import load_kato2015  # noqa: E402
from wormlib.preprocess import PAPER_NEURONS  # noqa: E402
from wormlib.provenance import load_profiles  # noqa: E402
from wormlib.train import TaskData, TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(tj.LEARNED))
    parser.add_argument("--seeds", type=int, default=1, help="seed replicates of the 5 models, stacked")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = TaskData.build(load_kato2015(), "2-state", PAPER_NEURONS)
    train, test, _ = experiments.replicate(experiments.unseen_splits(data, 4), args.seeds)
    full_steps = load_profiles()["full"]["steps"]
    runs = 2 if args.seeds == 1 else 1  # Fig. 5 trains every model at k = 1 and 4; a seed run is one setting
    print(f"{'model':<12} {'train s/100 steps':>18} {'evaluate s':>11} {f'full profile, {runs} run(s) (s)':>30}")
    for name in args.models.split(","):
        torch.manual_seed(0)
        model = tj.build_model(name, train.shape[0], data.x.shape[2], data.x.shape[3], 32)
        start = time.perf_counter()
        tj.fit(model, data, train.any(-1), TrainConfig(steps=args.steps))
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        tj.evaluate(model, data, test.any(-1))
        eval_s = time.perf_counter() - start
        per_100 = 100 * fit_s / args.steps
        print(f"{name:<12} {per_100:>18.2f} {eval_s:>11.2f} {runs * (per_100 * full_steps / 100 + eval_s):>30.0f}")


if __name__ == "__main__":
    main()

"""Chapter 3's time-context jobs for one setting, timed one by one on a device, up to a deadline.

    python benchmarks/benchmark_time_context.py --device cuda --deadline 200      # full profile's sizes
    python benchmarks/benchmark_time_context.py --steps 3 --deadline 30           # a dry run on the CPU

A job is what chapter 3's "Time context" section trains for one model of one setting: here its
first setting (past-only features, 7 states, 4 training worms), with TAVRNN, its probe and the
windowed networks in ``--seeds`` replicates of every leave-worms-out split and the lagged logistic
regression once, at the full profile's sizes (``--steps`` 600, hidden 32). The jobs run one after
another in the chapter's order (``experiments.JOB_ORDER``, longest first), each timed, and no job
starts after ``--deadline`` seconds: a lease too short for the whole section still measures its
longest jobs. Only times are printed; the chapter's scores come from the chapter. The setting is
``first_setting()``, as chapter 3's time-context cell lists it; ``tests/test_jobs.py`` fails when
the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import time

from toolargs import pin_threads  # noqa: E402


def first_setting() -> tuple:
    """Chapter 3's first time-context setting, as its ``experiments.time_context`` call lists it:
    (features, task, training worms, models, models trained in seed replicates)."""
    from wormlib import experiments

    window_nets = experiments.WINDOW_MODELS + experiments.GRU_WINDOW_MODELS
    return ("causal", "7-state", 4, ("tavrnn", "tavrnn-probe", "logistic-regression-lagged", *window_nets),
            (*window_nets, "tavrnn", "tavrnn-probe"))


def first_setting_jobs(n_seeds: int, hidden: int, train_cfg, max_subsets: int | None = None) -> list[tuple]:
    """The ``experiments.scores_of`` jobs of :func:`first_setting`, one per model, built as the
    chapter builds them (``experiments.replicated_jobs``)."""
    from wormlib import experiments
    from wormlib.data import load_kato2015
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData

    features, task, n_train, models, replicated = first_setting()
    data = TaskData.build(load_kato2015(), task, PAPER_NEURONS, derivative_kind=features)
    splits = experiments.unseen_splits(data, n_train, max_subsets)
    return experiments.replicated_jobs(models, replicated, data, splits, n_seeds, hidden, train_cfg)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--deadline", type=float, default=float("inf"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    pin_threads(args.threads)
    from wormlib import experiments
    from wormlib.train import TrainConfig

    features, task, n_train, _, _ = first_setting()
    jobs = first_setting_jobs(args.seeds, 32, TrainConfig(steps=args.steps, device=args.device))
    rank = {m: i for i, m in enumerate(experiments.JOB_ORDER)}
    jobs.sort(key=lambda job: rank.get(job[0], len(rank)))
    print(f"time context, {features} features, {task}, {n_train} training worms: {len(jobs)} jobs, {args.steps} steps, "
          f"{args.seeds} seeds, device {args.device}, {args.threads} thread(s)", flush=True)
    start = time.perf_counter()
    for job in jobs:
        if time.perf_counter() - start > args.deadline:
            print(f"{job[0]:34s} not started (deadline)", flush=True)
            continue
        begin = time.perf_counter()
        scores = experiments.scores_of(*job)
        print(f"{job[0]:34s} {time.perf_counter() - begin:8.1f} s  ({len(scores)} scores)", flush=True)
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

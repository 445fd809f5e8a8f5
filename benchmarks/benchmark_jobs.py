"""Chapter 3's time-context training as independent jobs: one after another, or on worker processes.

    python benchmarks/benchmark_jobs.py [--steps 60] [--workers 2]

The sound way to use a core that falls idle (HISTORY.md, "Tried and reverted: idle cores for the
last chapter"): not more threads per op, which changes the last bits of a large element-wise op
(``benchmarks/thread_invariance.py``), but more jobs, each on one thread. Each job here is what
chapter 3's "Time context" section trains for one model and one setting — a GRU-window network
in 5 seed replicates on every leave-worms-out split of 7 states with 4 training worms or 4 states
with 3, past-only features, hidden 32 — with ``--steps`` optimiser steps instead of the full
profile's 600. The jobs run once in this process (one thread) and once on ``--workers`` worker
processes of one thread each (``wormlib.jobs.run_jobs``, as chapter 3 runs them); the tool prints
both wall times and whether every score is bit-identical (each job seeds itself, so the schedule
cannot matter).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import time

from toolargs import pin_threads  # noqa: E402

JOBS = [(model, kind, task, k) for kind, task, k in (("causal", "7-state", 4), ("causal", "4-state", 3))
        for model in ("mlp-concat-gru-window", "gnn-inferred-static-gru-window")]


def run_job(job: tuple, steps: int):
    """The scores of one job (a DataFrame, as ``experiments.run_replicated`` returns them)."""
    from wormlib import experiments
    from wormlib.data import load_kato2015
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData, TrainConfig

    model, kind, task, k = job
    data = TaskData.build(load_kato2015(), task, PAPER_NEURONS, derivative_kind=kind)
    splits = experiments.unseen_splits(data, k)
    return experiments.run_replicated((model,), (model,), data, splits, 5, 32, TrainConfig(steps=steps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pin_threads(1)
    from wormlib.jobs import run_jobs

    start = time.perf_counter()
    serial = [run_job(job, args.steps) for job in JOBS]
    serial_s = time.perf_counter() - start
    start = time.perf_counter()
    parallel = run_jobs(run_job, [(job, args.steps) for job in JOBS], args.workers)
    parallel_s = time.perf_counter() - start
    same = all(a.equals(b) for a, b in zip(serial, parallel))
    n_scores = sum(len(s) for s in serial)
    print(f"{len(JOBS)} jobs ({', '.join(f'{m} {t} k={k}' for m, _, t, k in JOBS)}; past-only features, 5 seeds, "
          f"{args.steps} steps, hidden 32)")
    print(f"one after another, one thread:      {serial_s:7.1f} s")
    print(f"{args.workers} worker processes, one thread each: {parallel_s:7.1f} s  ({serial_s / parallel_s:.2f}x)")
    print(f"scores ({n_scores} rows): " + ("bit-identical" if same else "DIFFER"))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()

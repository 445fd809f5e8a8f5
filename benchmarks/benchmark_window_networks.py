"""Benchmark: what a protocol of chapter 3 costs with the windowed networks and with their GRU versions.

    python benchmarks/benchmark_window_networks.py [--profile full] [--threads 1] [--task 4-state] [--train 1]

Trains, scores and times each pair of time-context networks (``experiments.WINDOW_MODELS``, then
``experiments.GRU_WINDOW_MODELS``) on one unseen-worm protocol exactly as chapter 3's "windowed
networks on the paper's other protocols" does (paper's centred features, every training subset
of the profile in ``n_seeds`` stacked seed replicates, ``experiments.run_replicated``), and
prints each pair's seconds and mean balanced accuracy. Chapter 3 runs the GRU versions on the
unseen-worm protocols only (not on Fig. 4A's seen-worm folds), because of the ratio this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import time

from toolargs import chapter_parser, pin_threads  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = chapter_parser(__doc__)
    parser.add_argument("--task", default="4-state")
    parser.add_argument("--train", type=int, default=1, help="training worms per split")
    args = parser.parse_args(argv)
    pin_threads(args.threads)

    import torch

    from wormlib import experiments, provenance
    from wormlib.data import load_kato2015
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData

    torch.set_num_threads(args.threads)
    cfg = provenance.chapter_config("03_classification", args.profile, "cpu", 0)
    data = TaskData.build(load_kato2015(), args.task, PAPER_NEURONS)
    splits = experiments.unseen_splits(data, args.train, cfg.max_subsets)
    seconds = {}
    for models in (experiments.WINDOW_MODELS, experiments.GRU_WINDOW_MODELS):
        start = time.perf_counter()
        scores = experiments.run_replicated(models, models, data, splits, cfg.n_seeds, cfg.hidden,
                                            cfg.train_config())
        seconds[models] = time.perf_counter() - start
        means = scores.groupby("model").balanced_accuracy.mean()
        print(f"{' and '.join(models)}: {len(splits[2])} splits × {cfg.n_seeds} seeds, "
              f"{seconds[models]:.1f} s; balanced accuracy "
              + ", ".join(f"{m} {v:.3f}" for m, v in means.items()), flush=True)
    window, gru = seconds.values()
    print(f"{args.task}, {args.train} training worm(s), {args.profile} profile, {args.threads} thread(s): "
          f"the GRU versions took {gru / window:.1f}× as long")


if __name__ == "__main__":
    main()

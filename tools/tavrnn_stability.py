"""Check TAVRNN's training stability on this machine, in chapter 3's most fragile setting.

    python tools/tavrnn_stability.py [--profile full] [--threads 1]

Trains chapter 3's label-free TAVRNNs exactly as its time-context section does (7 states,
past-only features, leave-one-worm-out with 4 training worms, ``n_seeds`` stacked replicates of
the profile) and prints, per replicate, how many optimiser steps had a non-finite gradient
(``wormlib.tavrnn.fit`` zeroes them: the replicate skips that update) beside its probe's accuracy
and balanced accuracy on its test worm. On the 2-core AMD EPYC machine some replicates meet such
steps; on the Intel machine none did. Nothing here enters the book; the README quotes its output.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=("quick", "full"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):   # as the chapters run
        os.environ[var] = str(args.threads)

    import pandas as pd
    import torch

    from wormlib import experiments, provenance, tavrnn
    from wormlib.data import load_kato2015

    torch.set_num_threads(args.threads)
    cfg = provenance.chapter_config("03_classification", args.profile, "cpu", 0)
    skipped = []
    fit = tavrnn.fit

    def counting_fit(model, *a, **k):                                    # record each stack's skipped steps
        out = fit(model, *a, **k)
        skipped.extend(out.skipped_steps.tolist())
        return out

    tavrnn.fit = counting_fit
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scores = experiments.time_context(load_kato2015(), [("causal", "7-state", 4, ("tavrnn-probe",),
                                                             ("tavrnn-probe",))],
                                          cfg.hidden, cfg.train_config(), cfg.max_subsets, cfg.n_seeds)
    seconds = time.perf_counter() - start
    table = scores[["seed", "test", "accuracy", "balanced_accuracy"]].assign(skipped_steps=skipped)
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(f"{args.profile} profile: {cfg.n_seeds} seeds × {len(table) // cfg.n_seeds} splits, "
          f"{cfg.train_config().steps} optimiser steps each; {sum(s > 0 for s in skipped)} replicates skipped "
          f"at least one step (most: {max(skipped)}); {seconds:.0f} s")


if __name__ == "__main__":
    main()

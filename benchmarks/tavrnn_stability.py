"""Check TAVRNN's training stability on this machine, in chapter 3's most fragile setting.

    python benchmarks/tavrnn_stability.py [--profile full] [--threads 1]

Trains chapter 3's label-free TAVRNNs exactly as its time-context section does (7 states,
past-only features, leave-one-worm-out with 4 training worms, ``n_seeds`` stacked replicates of
the profile) and prints, per replicate, how many optimiser steps had a non-finite gradient
(``wormlib.tavrnn.StackedAdam`` skips that update for the replicate alone) beside its probe's accuracy
and balanced accuracy on its test worm. On the 2-core AMD EPYC machine some replicates meet such
steps; on the Intel machine none did. Nothing here enters the book; HISTORY.md quotes its output.

``--whole-pass`` trains the same stack once more (as ``experiments.fit_predict_tavrnn`` does)
and reads each worm both ways: in one pass over the whole recording, as the port did before, and
in ``tavrnn.run_worm``'s 16-step blocks. It prints each reading's largest |hidden state|, the
first step at which a replicate's state is not finite, and the seconds each reading took.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import time
import warnings

from toolargs import chapter_parser, pin_threads  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = chapter_parser(__doc__)
    parser.add_argument("--whole-pass", action="store_true", help="also compare the two readings of a recording")
    args = parser.parse_args(argv)
    pin_threads(args.threads)

    import pandas as pd
    import torch

    from wormlib import experiments, provenance
    from wormlib.data import load_kato2015

    torch.set_num_threads(args.threads)
    cfg = provenance.chapter_config("03_classification", args.profile, "cpu", 0)
    worms = load_kato2015()
    start = time.perf_counter()
    scores = experiments.time_context(worms, [("causal", "7-state", 4, ("tavrnn-probe",), ("tavrnn-probe",))],
                                      cfg.hidden, cfg.train_config(), cfg.max_subsets, cfg.n_seeds)
    seconds = time.perf_counter() - start
    table = scores[["seed", "test", "accuracy", "balanced_accuracy", "skipped_updates"]]
    skipped = table.skipped_updates
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    print(f"{args.profile} profile: {cfg.n_seeds} seeds × {len(table) // cfg.n_seeds} splits, "
          f"{cfg.train_config().steps} optimiser steps each; {int((skipped > 0).sum())} replicates skipped "
          f"at least one update (most: {int(skipped.max())}); {seconds:.0f} s")
    if args.whole_pass:
        whole_pass(worms, cfg)


def whole_pass(worms: list, cfg) -> None:
    """The label-free stack of ``main`` (trained once more, to the same weights) read in one pass
    and in blocks, per worm."""
    import torch

    from wormlib import experiments, tavrnn
    from wormlib.preprocess import PAPER_NEURONS
    from wormlib.train import TaskData

    data = TaskData.build(worms, "7-state", PAPER_NEURONS, derivative_kind="causal")
    train_mask = experiments.replicate(experiments.unseen_splits(data, 4, cfg.max_subsets), cfg.n_seeds)[0]
    seq, train_cfg = tavrnn.Sequences.build(data, tavrnn.TAVRNNConfig()), cfg.train_config()
    torch.manual_seed(train_cfg.seed)                                     # as experiments.fit_predict_tavrnn
    m = train_mask.shape[0]
    model = tavrnn.TAVRNN(m, data.x.shape[-1], 0)
    with warnings.catch_warnings():                                      # main has printed the skipped updates
        warnings.simplefilter("ignore", tavrnn.NonFiniteGradientWarning)
        tavrnn.fit(model, seq, train_mask.any(-1), train_cfg.steps, train_cfg.seed, supervised=False).eval()
    for w, worm in enumerate(data.worms):
        s = int(seq.steps[w])
        start = time.perf_counter()
        with torch.no_grad():
            one = model(seq.x[w, :s][None, None].expand(m, 1, -1, -1, -1),           # (M, 1, S, V, F)
                        seq.adj[w, :s][None, None].expand(m, 1, -1, -1, -1),
                        sample=False)["hidden"][:, 0]                     # (M, S, V, H)
        t_one = time.perf_counter() - start
        start = time.perf_counter()
        blocks = tavrnn.run_worm(model, seq, w)["hidden"]
        t_blocks = time.perf_counter() - start
        bad = ~torch.isfinite(one).flatten(2).all(-1)                     # (M, S) a non-finite state
        first = [int(torch.nonzero(b)[0]) if b.any() else None for b in bad]
        grown = [f"replicate {r}: first non-finite at step {f}" for r, f in enumerate(first) if f is not None]
        print(f"worm {worm} ({s} steps): one pass max |h| {one[torch.isfinite(one)].abs().max():.3g} "
              f"({t_one:.2f} s){'; ' + ', '.join(grown) if grown else ''}; blocks max |h| "
              f"{blocks.abs().max():.3g}, all finite: {bool(torch.isfinite(blocks).all())} ({t_blocks:.2f} s)")


if __name__ == "__main__":
    main()

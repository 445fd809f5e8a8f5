"""Benchmark: the generalisation test of chapter 6 (leave one recording out, forward vs reverse)
at the neuron counts other labs share (issue 52, item 5).

    python benchmarks/benchmark_neuropal_scale.py [--neurons 15 39 60 100 120] [--out DIR]

Seven synthetic recordings of 800 frames (the Dag et al. 2023 shape: 7 worms, ≈ 8 min at
1.67 Hz), N identified neurons, two states; each decoder is trained on six and tested on the
seventh, every recording in turn (``crosslab.leave_one_recording_out``, the full profile: 600
steps, 32 hidden units), on one thread. The data are random: this measures cost, never
accuracy. Prints and writes (``--out``/result.json) the wall seconds per decoder and N, and the
machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import json
import time

import numpy as np
import torch

MODELS = ("logistic-regression", "mlp-concat", "gnn-inferred-static", "gnn-inferred-dynamic")
"""The chapter's three decoders, and the dynamic-edge GNN (its cost grows fastest with N)."""


def recordings(n_neurons: int, n_worms: int = 7, n_frames: int = 800, fps: float = 1.667, seed: int = 0):
    from wormlib.data import Recording

    rng = np.random.default_rng(seed)
    names = tuple(f"N{i:03d}" for i in range(n_neurons))
    out = []
    for w in range(n_worms):
        states = (np.sin(np.arange(n_frames) / 30 + w) > 0.6).astype(np.int64)   # runs of "reversal"
        out.append(Recording("nwb", f"w{w}", f"w{w}", rng.normal(size=(n_frames, n_neurons)), names, states,
                             ("forward", "reverse"), fps, np.arange(n_frames) / fps))
    return out, names


def main() -> None:
    from wormlib import crosslab, provenance
    from wormlib.train import TrainConfig

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, nargs="+", default=[15, 39, 60, 100, 120])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--max-seconds", type=float, default=900.0,
                        help="skip a decoder at larger N once one run took longer than this")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = provenance.load_profiles()["full"]
    cfg = TrainConfig(steps=sizes["steps"])
    rows, too_slow = [], set()
    for n in args.neurons:
        recs, names = recordings(n)
        for model in args.models:
            if model in too_slow:
                rows.append(dict(neurons=n, model=model, seconds=None))
                continue
            start = time.perf_counter()
            crosslab.leave_one_recording_out.__wrapped__(recs, names, (model,), sizes["hidden"], cfg, lags_s=(0.0,),
                                                         n_shifts=20)
            seconds = time.perf_counter() - start
            rows.append(dict(neurons=n, model=model, seconds=round(seconds, 2)))
            print(f"N={n:4d}  {model:22s} {seconds:8.1f} s", flush=True)
            if seconds > args.max_seconds:
                too_slow.add(model)
    from execute_chapters import cpu_name

    about = dict(machine=f"{cpu_name()}, {torch.get_num_threads()} thread",
                 torch=torch.__version__, date=time.strftime("%Y-%m-%d"), steps=cfg.steps, hidden=sizes["hidden"],
                 recordings=7, frames=800)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "result.json").write_text(json.dumps(dict(about=about, rows=rows), indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Recompute some of chapter 3's stored experiments alone, on one quiet core, and compare them
with the committed store entries: the same value (SHA-256), and how many seconds they take.

    python benchmarks/retime_entries.py                                  # TAVRNN and the GRU-window GNN
    python benchmarks/retime_entries.py --models tavrnn mlp-concat-gru-window --profile full

Each store entry records the wall-clock seconds its computation took where it ran: the status
page adds them up as the cost of a run from scratch. A chapter run computes its entries on
worker processes, two chapters at a time, so an entry can have shared its core with another
process and its seconds overstate the work. This script rebuilds the jobs of chapter 3's first
time-context setting exactly as the chapter does (``first_setting``, the profile's sizes and
step counts), recomputes the named models' jobs one at a time on one thread into a temporary
store, and prints, per job, the committed entry's seconds beside the seconds measured here, and
whether the two values are the same bits. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import json
import os
import tempfile
import time

from toolargs import pin_threads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tavrnn", "gnn-inferred-static-gru-window"])
    parser.add_argument("--profile", default="full", choices=["quick", "full"])
    parser.add_argument("--json", action="store_true", help="also print one JSON line of the rows")
    args = parser.parse_args()
    pin_threads(1)
    from benchmark_time_context import first_setting_jobs
    from wormlib import experiments, store
    from wormlib.provenance import Config, load_profiles
    from wormlib.results import store_dir

    cfg = Config("03_time_context", args.profile, "cpu", 0, **load_profiles()[args.profile])
    jobs = first_setting_jobs(cfg.n_seeds, cfg.hidden, cfg.train_config(), cfg.max_subsets)
    committed = store_dir("03_time_context", args.profile)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store.configure(Path(tmp), None, "cpu")
        os.environ[store.FRESH_ENV] = repr(time.time())
        for job in (j for j in jobs if j[0] in args.models):
            name = store._key(experiments.scores_of.uncached, job, {})[3]
            old_path = committed / name
            if not old_path.exists():
                print(f"{job[0]}: no committed entry {name} (the chapter's job differs from this one)")
                continue
            begin = time.perf_counter()
            experiments.scores_of(*job)
            seconds = time.perf_counter() - begin
            old, new = (json.loads(p.read_text()) for p in (old_path, Path(tmp) / name))
            r = dict(model=job[0], models_trained=len(job[2]), committed_s=old["seconds"],
                     measured_s=round(seconds, 1), same_value=old["value_sha256"] == new["value_sha256"])
            rows.append(r)
            print(f"{r['model']:34s} {r['models_trained']:3d} models  committed {r['committed_s']:8.1f} s  "
                  f"alone on one core {r['measured_s']:8.1f} s  ({r['committed_s'] / r['measured_s']:.2f}×)  "
                  f"value {'identical' if r['same_value'] else 'DIFFERS'}", flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()

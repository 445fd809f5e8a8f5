"""The book's arithmetic against the machine's peak: a floor under the full profile's run time.

    python benchmarks/flop_budget.py [--profile full] [--out DIR] [chapters ...]

Runs each chapter as plain Python (``tools/profile_chapters.py``'s runner, one process per chapter,
one thread, its training jobs in that process) with every training loop of the library cut to
**one** optimiser step (each loop's schedule of training worms yields one), counted with
``torch.utils.flop_counter``: a loop's FLOPs are that step's times the steps the profile asks
for (a step's FLOPs do not change from step to step: same stack, batch and unroll); a
closed-form fit (the linear and autoregressive baselines) counts once. Everything else torch
computes (evaluation, rollouts) is counted as it runs, and ADMM's float64 distance products
(``admm._ScaledDistances``: the kernel's and the placements' matrix products) from their shapes.
Not counted: NumPy and scikit-learn work outside those products (logistic regressions, SVMs,
ADMM's neighbour selection and eigenvectors), so the floor below is a lower bound.

The floor: float32 FLOPs at the float32 matmul peak plus float64 FLOPs at the float64 peak, both
measured in the same run on one thread (a 1024² ``torch.mm``, a 2048² NumPy float64 product),
divided by the cores. No schedule of this arithmetic on this machine can take less time, whatever
its code. The chapters' results in this run are not the book's (one-step models) and are
written under ``--out`` only. ``--out/flops.json``: per chapter, every training loop (family,
stacked models, FLOPs per step, steps) and the totals.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "benchmarks")]  # wormlib, the tools' helpers, these scripts

import argparse
import inspect
import json
import os
import subprocess
import time
from collections import defaultdict

from toolargs import chapter_environment

CORES = 2
"""Cores of the book's machine (the floor divides the arithmetic among them)."""


def peaks() -> dict[str, float]:
    """GFLOP/s of a 1024² float32 ``torch.mm`` (``benchmark_step.matmul_peak``) and a 2048² float64
    NumPy product (``benchmark_admm.float64_peak``, best of 10): the BLAS the training and ADMM run on."""
    from benchmark_admm import float64_peak
    from benchmark_step import matmul_peak

    return dict(float32=matmul_peak(), float64=float64_peak(repeats=10))


class Ledger:
    """What one chapter computes: training loops (one counted step each) and ADMM's products."""

    def __init__(self) -> None:
        self.loops: list[dict] = []
        self.admm_flops = 0

    def loop(self, family: str, models: int, step_flops: int, steps: int) -> None:
        self.loops.append(dict(family=family, models=models, step_flops=step_flops, steps=steps))

    def summary(self, torch_flops: int) -> dict:
        """Totals: training (a step's FLOPs × steps), the rest of torch's work (counted as run,
        less the one step of each loop, which ran), ADMM's float64 products."""
        counted_steps = sum(r["step_flops"] for r in self.loops)
        by_family: dict[str, dict] = defaultdict(lambda: dict(loops=0, model_steps=0, flops=0))
        for r in self.loops:
            f = by_family[r["family"]]
            f["loops"] += 1
            f["model_steps"] += r["models"] * r["steps"]
            f["flops"] += r["step_flops"] * r["steps"]
        return dict(training_flops=sum(f["flops"] for f in by_family.values()),
                    other_torch_flops=max(torch_flops - counted_steps, 0),
                    admm_float64_flops=self.admm_flops, families=dict(by_family), loops=self.loops)


def install(ledger: Ledger, patch=setattr) -> None:
    """Cut every training loop of the library to one counted step (its schedule of training worms
    yields one step; closed-form fits, which draw none, count once); count ADMM's products.
    ``patch(owner, name, value)`` replaces an attribute (a test passes ``monkeypatch.setattr``)."""
    from torch.utils.flop_counter import FlopCounterMode

    from wormlib import admm, experiments, graphs, tavrnn, train
    from wormlib import trajectories as tj

    schedule = train.worm_schedule
    asked = []

    def one_step_schedule(train_worms, steps, gen):
        asked.append(steps)
        yield next(schedule(train_worms, steps, gen))

    for module in (train, tj, tavrnn):
        patch(module, "worm_schedule", one_step_schedule)

    def counted(fit, family):
        """``fit`` counted: ``family`` names a loop from its bound arguments."""
        signature = inspect.signature(fit)

        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            asked.clear()
            with FlopCounterMode(display=False) as counter:
                out = fit(*args, **kwargs)
            models = (a["train_mask"] if "train_mask" in a else a["train_worms"]).shape[0]   # (M, …)
            ledger.loop(family(a), models, counter.get_total_flops(), asked[0] if asked else 1)
            return out
        return wrapper

    patch(experiments, "fit", counted(experiments.fit, lambda a: a["desc"]))
    patch(graphs, "fit", counted(graphs.fit, lambda a: a["desc"]))
    patch(tj, "fit", counted(tj.fit, lambda a: f"trajectory {a['desc']}"))
    patch(tavrnn, "fit", counted(tavrnn.fit, lambda a: "tavrnn" if a["supervised"] else "tavrnn (no labels)"))
    distances = admm._ScaledDistances.__call__

    def scaled_distances(self, centres, centre_noise, out=None):
        ledger.admm_flops += 2 * len(centres) * self.right.shape[0] * self.right.shape[1]   # (B, 3D) @ (3D, J)
        return distances(self, centres, centre_noise, out)

    patch(admm._ScaledDistances, "__call__", scaled_distances)


def run_one(chapter: str, profile: str, out: Path) -> None:
    """One chapter in this process, counted; writes ``out/.flops-<chapter>.json``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from profile_chapters import run_chapter

    torch.set_num_threads(1)
    ledger = Ledger()
    install(ledger)
    with FlopCounterMode(display=False) as counter:
        record = run_chapter(chapter, profile, "cpu", 0, out, force_stubs=True)
    summary = ledger.summary(counter.get_total_flops())
    summary.update(chapter=chapter, profile=profile, finished=record["finished"], error=record["error"],
                   counted_run_s=record.get("total_s"))
    (out / f".flops-{chapter}.json").write_text(json.dumps(summary))


def report(chapters: dict, peak: dict, cores: int = CORES) -> list[str]:
    """Lines of text: per chapter and family, the FLOPs and the floor on ``cores`` cores."""
    def floor(f32: float, f64: float) -> float:
        return (f32 / peak["float32"] + f64 / peak["float64"]) / 1e9 / cores

    lines = [f"peaks, one thread: float32 {peak['float32']:.1f} GFLOP/s, float64 {peak['float64']:.1f} GFLOP/s; "
             f"floor on {cores} cores", "",
             f"{'chapter':20} {'family':34} {'model-steps':>12} {'GFLOP':>11} {'floor (s)':>10}"]
    total32 = total64 = 0.0
    for chapter, s in chapters.items():
        if not s.get("finished"):
            lines.append(f"{chapter:20} did not finish: {str(s.get('error'))[-120:]}")
        for family, f in sorted(s.get("families", {}).items(), key=lambda kv: -kv[1]["flops"]):
            lines.append(f"{chapter:20} {family:34} {f['model_steps']:12,} {f['flops'] / 1e9:11,.1f} "
                         f"{floor(f['flops'], 0):10.1f}")
        other, a64 = s.get("other_torch_flops", 0), s.get("admm_float64_flops", 0)
        lines.append(f"{chapter:20} {'evaluation and other torch work':34} {'':12} {other / 1e9:11,.1f} "
                     f"{floor(other, 0):10.1f}")
        lines.append(f"{chapter:20} {'ADMM distance products (float64)':34} {'':12} {a64 / 1e9:11,.1f} "
                     f"{floor(0, a64):10.1f}")
        f32 = s.get("training_flops", 0) + other
        total32, total64 = total32 + f32, total64 + a64
        lines.append(f"{chapter:20} {'chapter':34} {'':12} {(f32 + a64) / 1e9:11,.1f} {floor(f32, a64):10.1f}")
    lines += ["", f"book: {total32 / 1e12:.2f} TFLOP float32 + {total64 / 1e12:.2f} TFLOP float64 → floor "
                  f"{floor(total32, total64):.0f} s ({floor(total32, total64) / 60:.1f} min) on {cores} cores"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter names (default: every chapter)")
    parser.add_argument("--profile", default="full")
    parser.add_argument("--out", default="/tmp/wormlib-flops")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: count this chapter in this process
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.one:
        run_one(args.one, args.profile, out)
        return
    chapters = args.chapters or sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg", "WORMLIB_WORKERS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.setdefault("WORMLIB_DATA", str(ROOT.parent / "shared" / "data"))
    chapter_environment(env)
    start = time.perf_counter()
    for chapter in chapters:
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--profile", args.profile, "--out", str(out),
                        "--one", chapter], env=env, check=False)
    records = {}
    for chapter in chapters:
        path = out / f".flops-{chapter}.json"
        records[chapter] = json.loads(path.read_text()) if path.exists() else dict(finished=False, error="no record")
    peak = subprocess.run([sys.executable, "-c", "import json, flop_budget; print(json.dumps(flop_budget.peaks()))"],
                          env=env, cwd=Path(__file__).parent, capture_output=True, text=True, check=True)
    peak = json.loads(peak.stdout)
    lines = report(records, peak)
    summary = dict(profile=args.profile, peaks_gflops=peak, cores=CORES, wall_s=round(time.perf_counter() - start, 1),
                   chapters=records, report=lines)
    tmp = out / "flops.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1))
    tmp.replace(out / "flops.json")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Your worms: the book's generalisation test on any lab's recordings (chapter 6, issue 52).

The test is chapter 5's within-lab ceiling made general: forward vs reverse decoders — logistic
regression, the MLP and the GNN with inferred edges, each reading the same per-worm [0, 1]
features of the same neurons — trained on every recording but one and tested on the one left
out, every recording in turn (``crosslab.leave_one_recording_out``), then compared pairwise on
each test worm with a paired interval (``evaluate.paired_difference``). A dataset is one
papermill parameter: ``example`` (the Dag et al. 2023 worms written to NWB and read back, the
worked example), ``nwb:<folder>`` (every ``*.nwb`` file of a folder), or a study of the book.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Recording, TaskError, load_dag2023, load_kato2015, load_nwb, write_nwb
from .data.locate import REPO_ROOT
from . import store
from .evaluate import paired_difference
from .preprocess import CLASSES, PAPER_NEURONS, relabel, shared_neurons
from .results import Results

EXAMPLE = "example"
DEFAULT_STATES = {"forward": ["non-reversal"], "reverse": ["reversal"]}
"""The Dag recordings' state names (``wormlib.data.dag.STATE_NAMES``) as the 2-state task's classes."""
DECODERS = ("logistic-regression", "mlp-concat", "gnn-inferred-static")
PAIRS = (("gnn-inferred-static", "mlp-concat"), ("gnn-inferred-static", "logistic-regression"),
         ("mlp-concat", "logistic-regression"))
USER_RESULTS = REPO_ROOT / "results" / "your-worms"
"""Where a run on another dataset writes its results and experiments: never the book's files."""
SCALE_BENCHMARK = REPO_ROOT / "benchmarks" / "cpu-neuropal-scale-2026-12-07" / "result.json"


def slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-").lower() or "dataset"


def export_example(folder: Path) -> Path:
    """The seven Dag et al. (2023) recordings written to ``folder`` as NWB (``write_nwb``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for rec in load_dag2023():
        write_nwb(rec, folder / f"{rec.worm}.nwb")
    return folder


def load(dataset: str, states: dict[str, list[str]], task: str = "2-state") -> tuple[list[Recording], str]:
    """(the dataset's recordings with their states named as ``task``'s classes, a name for its
    results). ``states``: class → the dataset's state names in it (ignored for the book's
    studies, whose maps are in ``preprocess.STATE_MAPS``)."""
    if dataset in ("kato2015", "dag2023"):
        return (load_kato2015() if dataset == "kato2015" else load_dag2023()), dataset
    if dataset == EXAMPLE:
        with tempfile.TemporaryDirectory() as folder:
            recordings = load_nwb(export_example(Path(folder)), study="nwb")
        name = EXAMPLE
    elif dataset.startswith("nwb:"):
        path = Path(dataset[4:]).expanduser()
        recordings, name = load_nwb(path, study="nwb"), slug(path.stem if path.is_file() else path.name)
    else:
        raise ValueError(f"dataset must be 'example', 'nwb:<folder>', 'kato2015' or 'dag2023', not {dataset!r}")
    if len(recordings) < 3:
        raise TaskError(f"{dataset}: {len(recordings)} recording(s); leaving one out needs at least 3.")
    return [relabel(r, task, states) for r in recordings], name


def outputs(name: str, cfg) -> Results:
    """Where this run's numbers go: the book's results (``results/your_worms.json``) for the
    worked example; for any other dataset ``results/your-worms/<name>.json``, with its
    experiments in ``results/your-worms/store/<name>/``, so that a lab's run never touches the
    book's files."""
    if name == EXAMPLE:
        return Results("your_worms", cfg.profile)
    store.configure(USER_RESULTS / "store" / name, None, cfg.device)
    return Results(f"your-worms/{name}", cfg.profile)


def parse_states(text: str) -> dict[str, list[str]]:
    """The ``states`` parameter: JSON, class → list of the dataset's state names."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"states must be JSON such as {json.dumps(DEFAULT_STATES)}: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
        raise ValueError(f"states must map each class to a list of state names, e.g. {json.dumps(DEFAULT_STATES)}")
    return value


def choose_neurons(recordings: list[Recording], spec: str) -> tuple[str, ...]:
    """``paper``: the paper's 15 neurons that every recording has; ``all``: every neuron
    identified in every recording (in the first recording's order); else a comma list, each of
    which every recording must have."""
    if spec == "paper":
        return shared_neurons(recordings, PAPER_NEURONS)
    if spec == "all":
        return shared_neurons(recordings, tuple(recordings[0].identified))
    wanted = tuple(n.strip() for n in spec.split(",") if n.strip())
    lacking = {f"{r.study} worm {r.worm}": [n for n in wanted if r.column(n) is None] for r in recordings}
    lacking = {worm: names for worm, names in lacking.items() if names}
    if lacking:
        raise TaskError("neurons missing: " + "; ".join(f"{w} lacks {', '.join(n)}" for w, n in lacking.items()))
    return wanted


def summary(recordings: list[Recording], neurons: tuple[str, ...], task: str = "2-state") -> pd.DataFrame:
    """One row per recording: frames, frame rate, identified neurons, frames per class."""
    rows = []
    for r in recordings:
        counts = {c: int((r.states == r.state_names.index(c)).sum()) if c in r.state_names else 0
                  for c in CLASSES[task]}
        rows.append({"worm": r.worm, "frames": r.n_frames, "Hz": round(r.fps, 3),
                     "identified": len(r.identified), "used": len(neurons), **counts})
    return pd.DataFrame(rows)


def comparisons(rows: pd.DataFrame, pairs=PAIRS, metrics=("balanced_accuracy", "roc_auc")) -> pd.DataFrame:
    """Each pair of decoders on each metric: the mean difference over test worms, its 95 %
    interval, the paired t-test's p-value and the verdict words (``paired_difference``)."""
    out = []
    for metric in metrics:
        for a, b in pairs:
            if {a, b} <= set(rows.model):
                out.append(dict(metric={"roc_auc": "ROC AUC"}.get(metric, metric.replace("_", " ")),
                                **paired_difference(rows, a, b, unit="test", metric=metric)))
    return pd.DataFrame(out)


def scale_table(path: Path = SCALE_BENCHMARK) -> tuple[pd.DataFrame, dict]:
    """Seconds of one leave-one-out run per decoder and neuron count, from
    ``benchmarks/benchmark_neuropal_scale.py`` (its committed result), and the machine it ran on."""
    found = json.loads(Path(path).read_text())
    table = pd.DataFrame(found["rows"]).pivot(index="neurons", columns="model", values="seconds")
    return table, found["about"]


def per_worm(rows: pd.DataFrame, metric: str = "balanced_accuracy") -> pd.DataFrame:
    """Test worm × decoder table of one metric."""
    return rows.pivot_table(index="test", columns="model", values=metric).round(3)


def shared_with(kato: list[Recording], recordings: list[Recording]) -> tuple[str, ...]:
    """The paper's neurons identified in every Kato worm and every recording of this run."""
    return shared_neurons(kato + recordings, PAPER_NEURONS)


def same_text(rows: pd.DataFrame, book: pd.DataFrame, experiment: str, name: str) -> str:
    """The comparison with chapter 5's records, in words (the worked example only)."""
    if name != EXAMPLE:
        return "not compared (this run is not the worked example)"
    difference = largest_difference(rows, book, experiment)
    return (f"the largest difference over {len(rows)} per-worm scores is {difference:g}"
            + (" — identical" if difference == 0 else ""))


def largest_difference(rows: pd.DataFrame, book: pd.DataFrame, experiment: str = "within-dag-lag-0s") -> float:
    """Largest |difference| between this run's per-worm scores and the same rows of chapter 5's
    records (``experiment``): 0 when the NWB path reproduces them exactly."""
    same = book[(book.experiment == experiment)]
    worst = 0.0
    for metric in ("balanced_accuracy", "roc_auc"):
        theirs = same[same.metric == metric.replace("_", "-")][["model", "test", "value"]]
        merged = rows.merge(theirs, on=["model", "test"], how="inner")
        if len(merged) != len(rows):
            return float("nan")
        worst = max(worst, float(np.abs(merged[metric] - merged.value).max()))
    return worst

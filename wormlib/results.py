"""Every number a chapter shows, as flat records in ``results/<chapter>.json``.

Record fields (one vocabulary for every chapter):
chapter, experiment, task (2-state | 4-state | 7-state | ""), model, protocol
(shuffled-windows | contiguous-blocks | leave-worms-out | ""), population (seen | unseen | ""),
n_train_worms, train, test, step, metric, value.
Full-profile results go to ``results/``; other profiles to ``results/<profile>/`` (not committed).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pandas as pd

from .atomic import write_text_atomic
from .data.locate import REPO_ROOT

FIELDS = ("chapter", "experiment", "task", "model", "protocol", "population", "n_train_worms",
          "train", "test", "step", "metric", "value")
VOCABULARY = {
    "task": {"", "2-state", "4-state", "7-state"},
    "population": {"", "seen", "unseen"},
    "protocol": {"", "shuffled-windows", "contiguous-blocks", "leave-worms-out"},
}


RESULTS_DIR = REPO_ROOT / "results"
STAGE_ENV = "WORMLIB_RESULTS_STAGE"
"""When set (by ``tools/execute_chapters.py``), results are written to this staging folder and
promoted into ``results/`` only when the whole chapter has succeeded."""


PARTS = {"background": ("background", "background-manifolds"),
         "models": ("models", "models-steps"),
         "classification": ("classification", "classification-seeds", "classification-time"),
         "trajectories": ("trajectories", "trajectories-without-future"),
         "discussion": ("discussion", "discussion-neurons", "discussion-graphs", "discussion-overlap",
                        "discussion-changes"),
         "discussion-evidence": ("discussion-neurons", "discussion-graphs")}
"""A chapter whose sections are pages of their own writes one results file per page; its name
here stands for all of them (``load_results`` reads them as one)."""


def results_path(chapter: str, profile: str) -> Path:
    """The committed location of a chapter's results."""
    folder = RESULTS_DIR if profile == "full" else RESULTS_DIR / profile
    return folder / f"{chapter}.json"


def store_dir(chapter: str, profile: str) -> Path:
    """Where a chapter's experiments are kept (``wormlib.store``), beside its results. The
    section pages of a chapter (``03_seeds_and_design`` beside ``03_classification``) share the
    store of its first page, so that a section reads the experiments another computed."""
    pages = sorted(p.stem for p in (REPO_ROOT / "chapters").glob(f"{chapter[:3]}*.py"))
    first = pages[0] if chapter[:2].isdigit() and chapter in pages else chapter
    return results_path(first, profile).parent / "store" / first


def _staged_path(chapter: str, profile: str) -> Path | None:
    stage = os.environ.get(STAGE_ENV)
    if not stage:
        return None
    return Path(stage) / results_path(chapter, profile).relative_to(RESULTS_DIR)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Results:
    """Collects a chapter's records; ``save()`` writes them, ``frame()`` gives a DataFrame."""

    def __init__(self, chapter: str, profile: str):
        self.chapter, self.profile, self.records = chapter, profile, []
        _WRITING[profile] = chapter  # load_results reads this page's file from the run's stage only

    def add(self, experiment: str, metric: str, value: float, *, task: str = "", model: str = "",
            protocol: str = "", population: str = "", n_train_worms: int | None = None,
            train: str = "", test: str = "", step: int | None = None) -> None:
        record = dict(chapter=self.chapter, experiment=experiment, task=task, model=model,
                      protocol=protocol, population=population,
                      n_train_worms=None if n_train_worms is None else int(n_train_worms),
                      train=str(train), test=str(test), step=None if step is None else int(step),
                      metric=metric, value=float(value))
        for field, allowed in VOCABULARY.items():
            if record[field] not in allowed:
                raise ValueError(f"{field}={record[field]!r} is not one of {sorted(allowed)}")
        if model and model != model.lower().replace(" ", "-").replace("_", "-"):
            raise ValueError(f"model names are lower-case with hyphens, got {model!r}")
        if not math.isfinite(record["value"]):
            raise ValueError(f"{experiment}/{metric}: value {value} is not finite")
        self.records.append(record)

    def add_scores(self, scores: pd.DataFrame, experiment: str, task: str) -> None:
        """Records of a score table (wormlib.evaluate.score_table, one row per model × split ×
        test worm). Seen population: per model, protocol and worm, the mean over folds and the
        fold-to-fold standard deviation (of the seed means); unseen: one record per training subset and test worm.
        With seed replicates (a ``seed`` column), values are averaged over seeds as well, and
        the standard deviation across seeds is recorded as ``<metric>-sd-over-seeds``."""
        metrics = {"accuracy": "accuracy", "balanced_accuracy": "balanced-accuracy"}
        keys = ["model", "protocol", "population", "n_train_worms", "train", "test"]
        for key, group in scores.groupby(keys, sort=False):
            common = dict(zip(keys, key))
            for column, metric in metrics.items():
                self.add(experiment, metric, group[column].mean(), task=task, **common)
                if common["population"] == "seen" and len(group) > 1:
                    per_fold = group.groupby("fold", sort=False)[column].mean()      # seeds averaged
                    self.add(experiment, f"{metric}-sd-over-folds", per_fold.std(ddof=1), task=task, **common)
                if "seed" in group and group.seed.nunique() > 1:
                    per_seed = group.groupby("seed")[column].mean()
                    self.add(experiment, f"{metric}-sd-over-seeds", per_seed.std(ddof=1), task=task, **common)

    def add_metrics(self, experiment: str, values: dict[str, float], **fields) -> None:
        """One record per entry of ``values`` (metric name → value; underscores become hyphens),
        with the same other ``fields`` (as ``add``)."""
        for metric, value in values.items():
            self.add(experiment, metric.replace("_", "-"), value, **fields)

    def add_scores_by_derivative(self, scores: pd.DataFrame, prefix: str) -> None:
        """``add_scores`` per (derivative kind, task) of a score table with those columns (as
        ``wormlib.experiments.derivative_comparison`` and ``time_context`` return), into
        experiments ``<prefix>-<kind>-derivative``."""
        for (kind, task), group in scores.groupby(["derivative", "task"], sort=False):
            self.add_scores(group, f"{prefix}-{kind}-derivative", task)

    def add_recordings(self, rows: pd.DataFrame, experiment: str, metrics: tuple[str, ...],
                       task: str = "2-state") -> None:
        """One record per row and metric of a table of decoders scored per held-out recording
        (``crosslab.score_recordings``: columns ``model``, ``train``, ``test`` and the
        ``metrics``), on unseen worms left out of training."""
        for row in rows.itertuples():
            for metric in metrics:
                self.add(experiment, metric.replace("_", "-"), getattr(row, metric), task=task, model=row.model,
                         protocol="leave-worms-out", population="unseen", train=row.train, test=row.test)

    def add_frame(self, frame: pd.DataFrame, experiment: str, metric: str, value: str, **common) -> None:
        """One record per row of ``frame``: the value from column ``value``, the other record
        fields from the columns of the same name (``common`` fills the rest)."""
        fields = [f for f in FIELDS if f in frame.columns and f not in ("chapter", "experiment", "metric", "value")]
        for row in frame[fields + [value]].itertuples(index=False):
            self.add(experiment, metric, getattr(row, value),
                     **{**common, **{f: getattr(row, f) for f in fields}})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=list(FIELDS))

    def save(self) -> None:
        """Write the records all-or-nothing (temporary file + rename); inside a chapter run,
        into the run's staging folder. Returns nothing, so that a chapter cell ending on it shows
        nothing on the page."""
        write_text_atomic(_staged_path(self.chapter, self.profile) or results_path(self.chapter, self.profile),
                          json.dumps(self.records, indent=1) + "\n")


def metric_table(records: pd.DataFrame, experiment: str, metric: str = "accuracy") -> pd.DataFrame:
    """One experiment's records of one metric, the value in a column named after the metric
    (``balanced-accuracy`` → ``balanced_accuracy``): the shape that
    ``wormlib.experiments.summarise`` and ``wormlib.evaluate.paired_difference`` take."""
    rows = records[(records.experiment == experiment) & (records.metric == metric)]
    return rows.rename(columns={"value": metric.replace("-", "_")})


def scores_from_records(records: pd.DataFrame, experiment: str, models: tuple[str, ...],
                        n_train_worms: int, task: str | None = None) -> pd.DataFrame:
    """The score table behind the unseen-worm records that ``Results.add_scores`` wrote for
    ``experiment`` (one row per model × training subset × test worm, columns ``accuracy`` and
    ``balanced_accuracy``, models in the order given; ``task`` where the experiment holds
    several): how a chapter reuses models another chapter trained on the same splits instead of
    training them again (seed-replicated runs give their seed means). Raises ``ValueError`` if a
    model has no such records."""
    keys = ["model", "protocol", "population", "n_train_worms", "train", "test"]
    rows = records[(records.experiment == experiment) & (records.population == "unseen")
                   & (records.n_train_worms == n_train_worms) & records.model.isin(models)
                   & records.metric.isin(["accuracy", "balanced-accuracy"])
                   & ((records.task == task) if task else True)]
    missing = [m for m in models if m not in set(rows.model)]
    if missing:
        raise ValueError(f"{experiment} has no unseen-worm records of {missing} with {n_train_worms} training worms")
    wide = (rows.pivot_table(index=keys, columns="metric", values="value", sort=False).reset_index()
            .rename(columns={"balanced-accuracy": "balanced_accuracy"}).rename_axis(columns=None))
    wide["n_train_worms"] = wide.n_train_worms.astype(int)
    return pd.concat([wide[wide.model == m] for m in models], ignore_index=True)


_WRITING: dict[str, str] = {}
"""profile → the results name of the page this process runs (its ``Results``)."""


def load_results(chapter: str, profile: str = "full") -> pd.DataFrame:
    """The records a chapter saved, as a DataFrame with the standard columns: for a chapter of
    several pages (``PARTS``), every page's records that exist. Inside a run of one of those
    pages, only the pages up to and including it: a section page reads its chapter's earlier
    pages and itself, never a later page, which runs after it and is not among its declared
    inputs (``provenance.RESULTS_READ``). The running page's own file is read from the run's
    stage, as far as it has saved it, never the committed one it is replacing (chapter 5's
    scorecard once read the committed file of the page before the split beside the section
    pages' new ones: every record twice)."""
    parts = PARTS.get(chapter, (chapter,))
    if _WRITING.get(profile) in parts:
        parts = parts[: parts.index(_WRITING[profile]) + 1]
    paths = []
    for part in parts:
        staged = _staged_path(part, profile)
        own = _WRITING.get(profile) == part
        path = staged if staged is not None and (own or staged.exists()) else results_path(part, profile)
        if path.exists():
            paths.append(path)
    if not paths:
        path = results_path(chapter, profile)
        raise FileNotFoundError(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path} "
                                f"does not exist: execute the '{chapter}' chapter first")
    return pd.DataFrame([r for p in paths for r in json.loads(p.read_text())], columns=list(FIELDS))  # as one file


def moved_since(before: list[dict], now: pd.DataFrame, by: tuple[str, ...] = ("model", "population"),
                metric: str = "accuracy") -> pd.DataFrame:
    """How far earlier numbers moved: ``before`` holds a history file's records (means over
    test worms per chapter, experiment, task, model, population, protocol, training worms and
    metric); ``now`` the records of today's results, averaged the same way. Per ``by`` group: the
    settings compared, the mean change (now − before) and the smallest and largest change."""
    earlier = pd.DataFrame(before)
    keys = [c for c in earlier.columns if c != "value"]
    today = now.groupby(keys, dropna=False).value.mean().reset_index()
    both = earlier.merge(today, on=keys, suffixes=("_before", "_now"))
    both = both[both.metric == metric].assign(change=lambda t: t.value_now - t.value_before)
    return (both.groupby(list(by)).change.agg(settings="size", mean_change="mean", smallest="min", largest="max")
            .reset_index())

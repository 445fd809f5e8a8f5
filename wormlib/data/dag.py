"""Dag et al. (2023): seven freely moving NeuroPAL worms from the Flavell lab, a cross-lab test
set (``<data>/dag2023``; its README gives the one verified indexing rule used here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .errors import CorruptFileError, LayoutError
from .locate import require_file, study_dir, verify_sha256sums
from .recording import Recording, clean_label

STUDY = "dag2023"
STATE_NAMES = ("non-reversal", "reversal")
LABELS_FILE = "NeuroPAL_labels_dict.jld2"
RECORDINGS = ("2022-07-26-31", "2022-07-26-38", "2022-07-27-31", "2022-07-27-38",
              "2022-07-27-45", "2022-08-02-31", "2022-08-02-38")


def _jld2_value(handle: h5py.File, value: Any) -> Any:
    """A JLD2 value as Python: references followed, bytes decoded, Julia ``Dict``s (arrays of
    ``first``/``second`` pairs) as dicts, tuples/structs as dicts of their fields."""
    if isinstance(value, h5py.Reference):
        target = handle[value]
        return _jld2_value(handle, target[()]) if isinstance(target, h5py.Dataset) else None
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.void) and value.dtype.names:
        return {n: _jld2_value(handle, value[n]) for n in value.dtype.names}
    if isinstance(value, np.ndarray) and (value.dtype == object or value.dtype.names):
        items = [_jld2_value(handle, v) for v in value.ravel()]
        if items and all(isinstance(i, dict) and set(i) == {"first", "second"} for i in items):
            return {i["first"]: i["second"] for i in items}
        return items
    return value


def read_labels(path: Path) -> dict[str, dict[int, dict]]:
    """NeuroPAL labels per recording id: 1-based trace column → label record."""
    require_file(path, "Dag 2023 NeuroPAL labels")
    try:
        with h5py.File(path, "r") as handle:
            labels = _jld2_value(handle, handle["NeuroPAL_labels"][()])
    except (OSError, KeyError) as exc:
        raise CorruptFileError(f"{path}: not a readable JLD2 NeuroPAL label file ({exc})") from exc
    try:
        matches = labels["dict_match_dict"]
        return {rec: {int(k): v for k, v in pair["1"].items()} for rec, pair in matches.items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise LayoutError(f"{path}: no dict_match_dict → recording → (dict, …) pairs ({exc})") from exc


def column_labels(records: dict[int, dict], n_columns: int) -> list[str | None]:
    """One label per trace column by the README's rule: key k labels column k - 1.

    Labels ending in '?' and labels given to two columns of one recording are dropped.
    """
    names = [clean_label(r.get("label")) for r in records.values()]
    repeated = {n for n in names if n is not None and names.count(n) > 1}
    columns: list[str | None] = [None] * n_columns
    for key, record in records.items():
        name = clean_label(record.get("label"))
        if name is None or name.endswith("?") or name in repeated:
            continue
        if not 1 <= key <= n_columns:
            raise LayoutError(f"label key {key} outside the {n_columns} trace columns")
        columns[key - 1] = name
    return columns


def read_recording(folder: Path, rec_id: str, labels: dict[str, dict[int, dict]]) -> Recording:
    path = require_file(folder / f"{rec_id}-data.h5", "Dag 2023 recording")
    try:
        with h5py.File(path, "r") as handle:
            traces = handle["gcamp/trace_array"][()]
            stamps = handle["timing/timestamp_confocal"][()]
            reversal = handle["behavior/reversal_vec"][()]
            velocity = handle["behavior/velocity"][()]
    except OSError as exc:
        raise CorruptFileError(f"{path}: cannot be read as HDF5 ({exc})") from exc
    except KeyError as exc:
        raise LayoutError(f"{path}: missing dataset {exc}; not a Dag 2023 data file") from exc
    time = stamps - stamps[0]
    fps = 1.0 / float(np.median(np.diff(time)))
    return Recording(STUDY, rec_id, rec_id, traces, column_labels(labels.get(rec_id, {}), traces.shape[1]),
                     (reversal > 0).astype(np.int64), STATE_NAMES, fps, time, source=str(path),
                     extra={"velocity": np.asarray(velocity, dtype=np.float64)})


def load_dag2023(recordings: tuple[str, ...] = RECORDINGS, verify: bool = True) -> list[Recording]:
    """The seven Dag 2023 recordings: z-scored GCaMP traces (800 frames, ~1.67 Hz), NeuroPAL
    labels, reversal vs non-reversal states and velocity (``extra['velocity']``, mm/s)."""
    folder = study_dir(STUDY)
    if verify:
        verify_sha256sums(folder, [f"{r}-data.h5" for r in recordings] + [LABELS_FILE])
    labels = read_labels(folder / LABELS_FILE)
    return [read_recording(folder, r, labels) for r in recordings]

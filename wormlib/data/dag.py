"""Dag et al. (2023): seven freely moving NeuroPAL worms from the Flavell lab, a cross-lab test
set (``<data>/dag2023``; its README gives the one verified indexing rule used here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .errors import CorruptFileError, InvalidValuesError, LayoutError, ShapeMismatchError, UnsafeFileError
from .files import open_hdf5
from .locate import study_dir, verify_sha256sums
from .recording import Recording, clean_label

STUDY = "dag2023"
STATE_NAMES = ("non-reversal", "reversal")
LABELS_FILE = "NeuroPAL_labels_dict.jld2"
RECORDINGS = ("2022-07-26-31", "2022-07-26-38", "2022-07-27-31", "2022-07-27-38",
              "2022-07-27-45", "2022-08-02-31", "2022-08-02-38")


def _read_dataset(dataset: h5py.h5d.DatasetID, source: str) -> Any:
    """A dataset's whole value, as ``h5py.Dataset(dataset)[()]`` returns it, through the low-level
    API, which skips building the high-level object (most of the label file's objects are tiny).
    JLD2's objects have no name, so ``open_hdf5``'s walk over the file's links never sees them:
    each is checked here for storage outside the file, which its checksum would not cover."""
    plist = dataset.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL or plist.get_external_count() > 0:
        raise UnsafeFileError(f"{source}: a referenced dataset is stored outside the file; "
                              "refusing data that the file's checksum does not cover.")
    if dataset.get_space().get_simple_extent_type() == h5py.h5s.NULL:
        return h5py.Empty(dataset.dtype)
    value = np.empty(dataset.shape, dtype=dataset.dtype)
    dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, value)
    return value[()] if value.ndim == 0 else value


def _jld2_value(handle: h5py.File, value: Any, memo: dict | None = None) -> Any:
    """A JLD2 value as Python: references followed, bytes decoded, Julia ``Dict``s (arrays of
    ``first``/``second`` pairs) as dicts, tuples/structs as dicts of their fields. ``memo`` maps a
    referenced object's file address to its value, so that an object referenced twice is read
    once: a walk of the whole label file follows 33 894 references to 24 143 distinct objects
    (``benchmarks/benchmark_loaders.py``)."""
    memo = {} if memo is None else memo
    if isinstance(value, h5py.Reference):
        target = h5py.h5r.dereference(value, handle.id)
        address = h5py.h5o.get_info(target).addr
        if address not in memo:
            memo[address] = (_jld2_value(handle, _read_dataset(target, handle.filename), memo)
                             if isinstance(target, h5py.h5d.DatasetID) else None)
        return memo[address]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.void) and value.dtype.names:
        return {n: _jld2_value(handle, value[n], memo) for n in value.dtype.names}
    if isinstance(value, np.ndarray) and (value.dtype == object or value.dtype.names):
        items = [_jld2_value(handle, v, memo) for v in value.ravel()]
        if items and all(isinstance(i, dict) and set(i) == {"first", "second"} for i in items):
            return {i["first"]: i["second"] for i in items}
        return items
    return value


def _dereference(handle: h5py.File, reference: h5py.Reference) -> Any:
    """The raw value a JLD2 object reference points to, read through ``_read_dataset``'s check."""
    target = h5py.h5r.dereference(reference, handle.id)
    if not isinstance(target, h5py.h5d.DatasetID):
        raise LayoutError(f"{handle.filename}: a reference in the JLD2 tree points to a group, not a dataset")
    return _read_dataset(target, handle.filename)


def _jld2_dict_entry(handle: h5py.File, value: Any, key: str) -> Any:
    """One entry of a JLD2 ``Dict`` (a reference to, or an array of, ``first``/``second``
    pairs), without following the other entries' values: the label file's unused
    ``list_match_dict`` is as large as the ``dict_match_dict`` read here. Every object read on
    the way is checked as in ``_read_dataset``."""
    memo: dict = {}
    while isinstance(value, h5py.Reference):
        value = _dereference(handle, value)
    for pair in np.ravel(value):
        pair = _dereference(handle, pair) if isinstance(pair, h5py.Reference) else pair
        if _jld2_value(handle, pair["first"], memo) == key:
            return _jld2_value(handle, pair["second"], memo)
    raise KeyError(key)


_LABELS_CACHE: dict[tuple, dict] = {}


def read_labels(path: Path) -> dict[str, dict[int, dict]]:
    """NeuroPAL labels per recording id: 1-based trace column → label record (parsed once per
    file version: the JLD2 tree takes seconds to walk)."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key in _LABELS_CACHE:
        return _LABELS_CACHE[key]
    labels = _read_labels(path)
    if key is not None:
        _LABELS_CACHE[key] = labels
    return labels


def _read_labels(path: Path) -> dict[str, dict[int, dict]]:
    with open_hdf5(path, "Dag 2023 NeuroPAL labels (JLD2)") as handle:
        try:
            top = handle["NeuroPAL_labels"][()]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise CorruptFileError(f"{path}: not a readable JLD2 NeuroPAL label file ({exc})") from exc
        try:
            matches = _jld2_dict_entry(handle, top, "dict_match_dict")
            return {rec: {int(k): v for k, v in pair["1"].items()} for rec, pair in matches.items()}
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise LayoutError(f"{path}: no dict_match_dict → recording → (dict, …) pairs ({exc})") from exc
        except OSError as exc:
            raise CorruptFileError(f"{path}: not a readable JLD2 NeuroPAL label file ({exc})") from exc


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


FIELDS = {"traces": ("gcamp/trace_array", 2), "time": ("timing/timestamp_confocal", 1),
          "reversal": ("behavior/reversal_vec", 1), "velocity": ("behavior/velocity", 1)}
"""Role → (HDF5 dataset, number of dimensions) of a Dag 2023 data file (its README)."""


def _numeric(handle: h5py.File, role: str) -> np.ndarray:
    name, ndim = FIELDS[role]
    obj = handle.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise LayoutError(f"{handle.filename}: '{name}' is {'missing' if obj is None else 'a group'}; "
                          "not a Dag 2023 data file")
    try:
        value = obj[()]
    except (OSError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{handle.filename}: '{name}' cannot be read ({exc})") from exc
    value = np.asarray(value)
    if value.dtype.kind not in "fiub" or value.ndim != ndim:
        raise LayoutError(f"{handle.filename}: '{name}' is {value.ndim}-D {value.dtype}; expected "
                          f"{ndim}-D numbers")
    return value


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The four per-recording arrays of a Dag data file, checked: traces (frames, neurons)
    numbers, time strictly increasing, reversal 0/1, every per-frame array of the same length."""
    with open_hdf5(path, "Dag 2023 recording") as handle:
        traces, stamps, reversal, velocity = (_numeric(handle, role) for role in FIELDS)
    if not np.isin(reversal, (0, 1)).all():
        bad = np.unique(reversal[~np.isin(reversal, (0, 1))])[:5]
        raise InvalidValuesError(f"{path}: 'behavior/reversal_vec' must be 0/1 per frame, found {bad}")
    for role, value in (("time", stamps), ("reversal", reversal), ("velocity", velocity)):
        if value.shape[0] != traces.shape[0]:
            raise ShapeMismatchError(f"{path}: '{FIELDS[role][0]}' has {value.shape[0]} frames, "
                                     f"'gcamp/trace_array' {traces.shape[0]}")
    steps = np.diff(stamps.astype(np.float64))
    if not (np.isfinite(stamps).all() and (steps > 0).all()):
        raise InvalidValuesError(f"{path}: 'timing/timestamp_confocal' must be finite and strictly "
                                 "increasing")
    return dict(traces=traces, time=stamps.astype(np.float64) - float(stamps[0]),
                fps=1.0 / float(np.median(steps)), reversal=reversal, velocity=velocity)


def read_recording(folder: Path, rec_id: str, labels: dict[str, dict[int, dict]],
                   arrays: dict[str, np.ndarray] | None = None) -> Recording:
    path = folder / f"{rec_id}-data.h5"
    a = arrays if arrays is not None else read_arrays(path)
    if rec_id not in labels:
        raise LayoutError(f"{folder / LABELS_FILE} has no NeuroPAL labels for recording {rec_id} "
                          f"({path.name}); without them no neuron is identified. Copy the labels "
                          "file that belongs to these recordings.")
    return Recording(STUDY, rec_id, rec_id, a["traces"], column_labels(labels[rec_id], a["traces"].shape[1]),
                     a["reversal"].astype(np.int64), STATE_NAMES, a["fps"], a["time"], source=str(path),
                     extra={"velocity": a["velocity"]})


def load_dag2023(recordings: tuple[str, ...] = RECORDINGS, verify: bool = True) -> list[Recording]:
    """The seven Dag 2023 recordings: z-scored GCaMP traces (800 frames, ~1.67 Hz), NeuroPAL
    labels, reversal vs non-reversal states and velocity (``extra['velocity']``, mm/s)."""
    unknown = [r for r in recordings if r not in RECORDINGS]
    if unknown:
        raise ValueError(f"recordings must be among {RECORDINGS}, not {unknown}")
    folder = study_dir(STUDY)
    if verify:
        verify_sha256sums(folder, [f"{r}-data.h5" for r in recordings] + [LABELS_FILE])
    arrays = {r: read_arrays(folder / f"{r}-data.h5") for r in recordings}  # cheap checks first
    labels = read_labels(folder / LABELS_FILE)
    return [read_recording(folder, r, labels, arrays[r]) for r in recordings]

"""Reading MATLAB v7.3 (HDF5) files with h5py, as laid out in ``shared/data/OSF_LAYOUTS.md`` §1.

Only what the Kato 2015 and Nichols 2017 files need: structs (groups), cells (object
references), doubles, logicals, chars and MATLAB's empty-array marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from .errors import LayoutError, ShapeMismatchError
from .recording import clean_labels


def root_group(handle: h5py.File) -> h5py.Group:
    """The single top-level variable (every name starting with '#' is MATLAB bookkeeping)."""
    names = [k for k in handle.keys() if not k.startswith("#")]
    if len(names) != 1 or not isinstance(handle[names[0]], h5py.Group):
        raise LayoutError(
            f"{handle.filename}: expected one top-level struct, found {names or 'nothing'}; "
            "this is not one of the published files."
        )
    return handle[names[0]]


def matlab_class(obj: h5py.HLObject) -> str:
    value = obj.attrs.get("MATLAB_class", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def is_empty(obj: h5py.HLObject) -> bool:
    """MATLAB's ``[]``/``''``: a uint64 dataset of dimensions flagged ``MATLAB_empty``."""
    return bool(obj.attrs.get("MATLAB_empty", 0))


def decode(obj: h5py.HLObject) -> Any:
    """A MATLAB value as Python: None (empty), str (char), list (cell), dict (struct), or a
    float array in h5py orientation (i.e. MATLAB's dimensions reversed)."""
    if isinstance(obj, h5py.Group):
        return {name: decode(obj[name]) for name in obj}
    if is_empty(obj):
        return None
    cls = matlab_class(obj)
    if cls == "char":
        return "".join(map(chr, np.asarray(obj[()]).ravel(order="F")))
    if cls == "cell" or obj.dtype == h5py.ref_dtype:
        return [decode(obj.file[ref]) for ref in np.asarray(obj[()]).ravel()]
    value = np.asarray(obj[()])
    if value.dtype.kind not in "fiub":
        raise LayoutError(f"{obj.file.filename}: '{obj.name}' holds {value.dtype}, not numbers")
    return value.astype(np.float64)


def cell_items(group: h5py.Group, field: str) -> list[h5py.HLObject]:
    """The objects a per-animal cell field (h5py shape (W, 1)) points to, one per animal."""
    if field not in group:
        raise LayoutError(f"{group.file.filename}: field '{field}' missing under '{group.name}'")
    cell = group[field]
    if not isinstance(cell, h5py.Dataset) or cell.dtype != h5py.ref_dtype:
        raise LayoutError(f"{group.file.filename}: '{group.name}/{field}' is not a cell array")
    return [group.file[ref] for ref in np.asarray(cell[()]).ravel()]


def first_field(group: h5py.Group, *aliases: str) -> str:
    """The first of ``aliases`` present in ``group`` (the two Zimmer-lab schemas differ)."""
    for name in aliases:
        if name in group:
            return name
    raise LayoutError(
        f"{group.file.filename}: none of the fields {aliases} under '{group.name}'; "
        f"found {sorted(group.keys())}"
    )


def vector(obj: h5py.HLObject) -> np.ndarray:
    """A MATLAB row/column vector (or scalar) as a flat float array."""
    value = decode(obj) if isinstance(obj, h5py.Dataset) else None
    if (not isinstance(value, np.ndarray) or value.size == 0
            or (value.ndim == 2 and min(value.shape) > 1)):
        raise LayoutError(f"{obj.file.filename}: '{obj.name}' is not a numeric vector")
    return value.ravel()


def time_major(obj: h5py.HLObject, n_frames: int) -> np.ndarray:
    """A traces matrix as (frames, neurons), orientation decided by the frame count."""
    if not isinstance(obj, h5py.Dataset) or is_empty(obj) or matlab_class(obj) not in ("double", "single"):
        raise LayoutError(f"{obj.file.filename}: '{obj.name}' is not a double/single matrix "
                          f"(MATLAB class {matlab_class(obj) or 'unknown'})")
    value = np.asarray(obj[()])
    if value.ndim != 2:
        raise LayoutError(f"{obj.file.filename}: '{obj.name}' is not a numeric matrix")
    if value.shape[1] == n_frames:  # h5py (N, T): MATLAB T×N reversed
        return value.T
    if value.shape[0] == n_frames:
        return value
    raise LayoutError(
        f"{obj.file.filename}: '{obj.name}' has shape {value.shape}, neither axis matches the "
        f"{n_frames} frames of the time vector"
    )


def _scalar(obj: h5py.HLObject, where: str) -> float:
    value = vector(obj)
    if value.size != 1:
        raise LayoutError(f"{where}: expected one number, found {value.size}")
    return float(value[0])


def first_name(value: Any) -> str | None:
    """The primary identity of a neuron label entry (str, None or nested cell of candidates)."""
    if isinstance(value, list):
        for item in value:
            name = first_name(item)
            if name is not None:
                return name
        return None
    if isinstance(value, str):
        return value
    return None


ROLES = {"traces": ("deltaFOverF_bc", "traces"), "labels": ("NeuronNames", "IDs"),
         "time": ("tv", "timeVectorSeconds"), "fps": ("fps",), "states": ("States", "FourStates")}
"""Field names per role in the two Zimmer-lab schemas (Kato WT_NoStim | WT_Stim and Nichols),
OSF_LAYOUTS §4 quirk 1 and §5 step 3.1."""
NAME_FIELDS = ("dataset", "trialname")


@dataclass
class Animal:
    """One animal's fields of a Zimmer-lab MAT file, decoded except for the states object."""

    where: str
    time: np.ndarray
    traces: np.ndarray            # (frames, neurons)
    labels: list[str | None]
    fps: float
    name: str | None
    states: h5py.HLObject         # decoded by the study's loader


def read_animals(root: h5py.Group) -> list[Animal]:
    """Every animal of a root struct of per-animal cells (OSF_LAYOUTS §5): traces oriented
    (frames, neurons), time flattened, labels decoded to their primary name or None."""
    path = root.file.filename
    cells = {role: cell_items(root, first_field(root, *aliases)) for role, aliases in ROLES.items()}
    name_field = next((f for f in NAME_FIELDS if f in root), None)
    names = cell_items(root, name_field) if name_field else None
    n_animals = len(cells["traces"])
    if any(len(c) != n_animals for c in [*cells.values(), *([names] if names else [])]):
        raise ShapeMismatchError(f"{path}: per-animal fields have different numbers of animals")
    animals = []
    for a in range(n_animals):
        where = f"{path} animal index {a}"
        time = vector(cells["time"][a])
        raw_labels = decode(cells["labels"][a])
        if not isinstance(raw_labels, list):
            raise LayoutError(f"{where}: neuron labels are not a cell array")
        animals.append(Animal(where, time, time_major(cells["traces"][a], time.size),
                              clean_labels([first_name(x) for x in raw_labels], where),
                              _scalar(cells["fps"][a], f"{where} fps"),
                              decode(names[a]) if names else None, cells["states"][a]))
    return animals

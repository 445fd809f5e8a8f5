"""Nichols et al. (2017): whole-brain imaging of N2 and npr-1 worms before and during
lethargus (OSF project ``kbf38``; four MATLAB v7.3 files, OSF_LAYOUTS §3).

The paper used the pre-lethargus files only ("we only included data before sleep was
induced", Section 4.1): 11 N2 + 10 npr-1 = 21 worms.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from . import matv73
from .errors import InvalidValuesError, LayoutError
from .files import open_hdf5
from .locate import local_path
from .recording import Recording

STUDY = "nichols2017"
FILES = ("n2_prelet.mat", "npr1_prelet.mat", "n2_let.mat", "npr1_let.mat")
PRELETHARGUS = ("n2_prelet.mat", "npr1_prelet.mat")
STATE_NAMES = ("Reversal", "Forward", "Quiescence", "Turn")
"""The Zimmer lab's FourStates, codes 1..4 in the files (0..3 here), OSF_LAYOUTS §3.4."""


def _state_codes(obj: h5py.HLObject, n_frames: int, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-frame codes (0-based) and names: the numeric member of T values in 1..4, found by
    content; a cell-of-strings member, if any, names them (OSF_LAYOUTS §3.4 loader rule)."""
    members = [obj[name] for name in obj] if isinstance(obj, h5py.Group) else [obj]
    names: tuple[str, ...] = STATE_NAMES
    candidates: list[tuple[str, np.ndarray]] = []
    for member in members:
        value = matv73.decode(member)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            names = tuple(value)
        elif isinstance(value, np.ndarray) and value.size == n_frames:
            flat = value.ravel()
            if np.isfinite(flat).all() and np.isin(flat, [1, 2, 3, 4]).all():
                candidates.append((member.name, flat.astype(np.int64) - 1))
    if not candidates:
        raise LayoutError(f"{where}: no per-frame state vector of {n_frames} codes in 1..4")
    if len(candidates) > 1 and any((c != candidates[0][1]).any() for _, c in candidates[1:]):
        raise LayoutError(f"{where}: {len(candidates)} different candidate state vectors "
                          f"({', '.join(n for n, _ in candidates)}); which one holds the states is "
                          "ambiguous, so none is used. Remove the extra field.")
    codes = candidates[0][1]
    if len(names) != 4:
        raise InvalidValuesError(f"{where}: {len(names)} state names for codes 1..4")
    return codes, names


def read_mat(path: Path) -> list[Recording]:
    """All animals of one Nichols 2017 file (h5py; MATLAB v7.3)."""
    with open_hdf5(path, "Nichols 2017 MAT file (MATLAB v7.3)") as handle:
        root = matv73.root_group(handle)
        condition = root.name.lstrip("/")  # n2_prelet, …: the variable, not the file name
        recordings = []
        for a, animal in enumerate(matv73.read_animals(root)):
            codes, state_names = _state_codes(animal.states, animal.time.size, animal.where)
            recordings.append(Recording(
                STUDY, f"{condition}/{a + 1}", animal.name or f"{condition}_{a + 1}", animal.traces,
                animal.labels, codes, state_names, animal.fps, animal.time, source=str(path)))
    return recordings


def load_nichols2017(files: tuple[str, ...] = PRELETHARGUS, verify: bool = True) -> list[Recording]:
    """The Nichols 2017 animals of ``files`` (default: the paper's 21 pre-lethargus worms).

    The files must have been downloaded first: ``wormlib.data.fetch('nichols2017', name,
    sha256=...)``, which records the hash that ``verify`` then checks.
    """
    unknown = [f for f in files if f not in FILES]
    if unknown:
        raise ValueError(f"files must be among {FILES}, not {unknown}")
    return [rec for name in files for rec in read_mat(local_path(STUDY, name, verify))]

"""Kato et al. (2015) ``WT_NoStim``: five immobilised worms, 1080 s each.

Two sources give identical :class:`Recording` objects:

* ``derived``: the per-worm extracts in ``<data>/kato2015`` (``raw_full_data_worm_k.npz`` traces,
  ``worm_j_*.csv`` labels; see that folder's README, which counts worms from 1 in the npz files
  and from 0 in the csv files);
* ``osf``: the official ``WT_NoStim.mat`` (MATLAB v7.3), laid out as in OSF_LAYOUTS §2.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from . import matv73
from .errors import CorruptFileError, InvalidValuesError, LayoutError, ShapeMismatchError
from .files import open_hdf5, read_npz_array, read_text, require_file
from .locate import local_path, study_dir, verify_sha256sums
from .recording import Recording, clean_labels

STUDY = "kato2015"
DURATION_S = 1080.0
STATE_NAMES = ("dt", "fwd", "nostate", "rev1", "rev2", "revsus", "slow", "vt")
"""Kato's 8 state names in alphabetical order: the order of ``worm_0_states.csv`` and of the
struct members in ``WT_NoStim.mat`` (the file itself defines no integer coding)."""

DATASET_NAMES = (
    "TS20140715e_lite-1_punc-31_NLS3_2eggs_56um_1mMTet_basal_1080s",
    "TS20140715f_lite-1_punc-31_NLS3_3eggs_56um_1mMTet_basal_1080s",
    "TS20140905c_lite-1_punc-31_NLS3_AVHJ_0eggs_1mMTet_basal_1080s",
    "TS20140926d_lite-1_punc-31_NLS3_RIV_2eggs_1mMTet_basal_1080s",
    "TS20141221b_THK178_lite-1_punc-31_NLS3_6eggs_1mMTet_basal_1080s",
)
WORMS = ("1", "2", "3", "4", "5")


def _read_csv_line(path: Path) -> list[str]:
    lines = [ln for ln in read_text(path, "Kato 2015 label file").splitlines() if ln.strip()]
    if len(lines) != 1:
        raise CorruptFileError(f"{path}: expected one comma-separated line, found {len(lines)}")
    return [item.strip() for item in lines[0].split(",")]


def read_derived(folder: Path, worm: str, verify: bool = True) -> Recording:
    """One worm (``"1"``…``"5"``) from the derived files in ``folder``."""
    k = int(worm)
    npz = folder / f"raw_full_data_worm_{k}.npz"
    names = [npz.name] + [f"worm_{k - 1}_{part}.csv" for part in ("neurons", "y")] + ["worm_0_states.csv"]
    for name in names:
        require_file(folder / name, "Kato 2015 derived file")
    if verify:
        verify_sha256sums(folder, names)
    traces = read_npz_array(npz, "arr_0", "Kato 2015 traces archive")
    labels_path = folder / f"worm_{k - 1}_neurons.csv"
    labels = clean_labels(_read_csv_line(labels_path), str(labels_path))
    y_path = folder / f"worm_{k - 1}_y.csv"
    try:
        states = np.array([int(x) for x in _read_csv_line(y_path)], dtype=np.int64)
    except ValueError as exc:
        raise CorruptFileError(f"{y_path}: non-integer state ({exc})") from exc
    if states.size and (states.min() < 0 or states.max() >= len(STATE_NAMES)):
        raise InvalidValuesError(
            f"{y_path}: state codes span {states.min()}..{states.max()}, but Kato's codes are "
            f"0..{len(STATE_NAMES) - 1} ({', '.join(STATE_NAMES)}; unlabelled frames are "
            "'nostate'). The file is damaged: copy it again.")
    state_names = tuple(_read_csv_line(folder / "worm_0_states.csv"))
    if state_names != STATE_NAMES:
        raise LayoutError(f"{folder / 'worm_0_states.csv'}: states {state_names}, expected {STATE_NAMES}")
    if traces.ndim != 2 or traces.shape[0] != states.size:
        raise ShapeMismatchError(
            f"{npz}: traces {traces.shape} but {states.size} frame states in worm_{k - 1}_y.csv"
        )
    fps = traces.shape[0] / DURATION_S
    return Recording(STUDY, worm, DATASET_NAMES[k - 1], traces, labels, states, STATE_NAMES, fps,
                     np.arange(traces.shape[0]) / fps, source=str(npz))


def _kato_states(group: h5py.Group, n_frames: int, where: str) -> np.ndarray:
    """Per-frame codes from the struct of eight one-hot vectors (OSF_LAYOUTS §2.5, §5 step 5)."""
    missing = [s for s in STATE_NAMES if s not in group]
    if missing:
        raise LayoutError(f"{where}: States struct lacks {missing}")
    vectors = [matv73.vector(group[s]) for s in STATE_NAMES]
    lengths = {v.size for v in vectors}
    if lengths != {n_frames}:
        raise ShapeMismatchError(f"{where}: States vectors have {sorted(lengths)} frames for {n_frames} frames")
    onehot = np.stack(vectors, axis=1)  # (T, 8)
    if not np.isin(onehot, (0.0, 1.0)).all():
        raise InvalidValuesError(f"{where}: States vectors must hold only 0 and 1 (one-hot), "
                                 "found other values (fractions, NaN or negatives)")
    if (onehot.sum(axis=1) > 1).any():
        raise InvalidValuesError(f"{where}: some frames are in more than one state")
    codes = onehot.argmax(axis=1)
    codes[onehot.sum(axis=1) == 0] = STATE_NAMES.index("nostate")  # all-zero frame = unlabelled
    return codes


def read_mat(path: Path) -> list[Recording]:
    """All worms of the official ``WT_NoStim.mat`` (h5py; MATLAB v7.3)."""
    with open_hdf5(path, "Kato 2015 WT_NoStim.mat (MATLAB v7.3)") as handle:
        recordings = []
        for w, animal in enumerate(matv73.read_animals(matv73.root_group(handle))):
            if not isinstance(animal.states, h5py.Group):
                raise LayoutError(f"{animal.where}: States is not a struct of per-state vectors")
            recordings.append(Recording(
                STUDY, str(w + 1), animal.name or "", animal.traces, animal.labels,
                _kato_states(animal.states, animal.time.size, animal.where), STATE_NAMES,
                animal.fps, animal.time, source=str(path)))
    return recordings


def load_kato2015(source: str = "derived", worms: tuple[str, ...] = WORMS,
                  verify: bool = True) -> list[Recording]:
    """The Kato 2015 WT_NoStim worms, from the derived extracts or the official MAT file.

    ``verify`` checks SHA-256 sums (the folder's ``SHA256SUMS``, or the published hash of the
    MAT file) before reading.
    """
    unknown = [w for w in worms if w not in WORMS]
    if unknown:
        raise ValueError(f"worms must be among {WORMS}, not {unknown}")
    if source == "derived":
        folder = study_dir(STUDY)
        return [read_derived(folder, w, verify) for w in worms]
    if source == "osf":
        path = local_path(STUDY, "WT_NoStim.mat") if verify else study_dir(STUDY) / "WT_NoStim.mat"
        by_worm = {r.worm: r for r in read_mat(path)}
        absent = [w for w in worms if w not in by_worm]
        if absent:
            raise LayoutError(f"{path}: worms {absent} asked for, but the file holds worms "
                              f"{sorted(by_worm)}; it is not the published 5-worm WT_NoStim.mat.")
        return [by_worm[w] for w in worms]
    raise ValueError(f"source must be 'derived' or 'osf', not {source!r}")

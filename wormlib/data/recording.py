"""One shape for every whole-brain recording (Kato 2015, Nichols 2017, Dag 2023)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidValuesError, ShapeMismatchError

UNLABELLED = -1
"""State code of a frame that carries no behavioural label."""
FPS_TOLERANCE = 0.05
"""Largest relative difference allowed between a recording's ``fps`` and its time vector's rate."""


@dataclass(frozen=True, eq=False)
class Recording:
    """A single worm's recording.

    Attributes
    ----------
    study: short id of the study (``"kato2015"``, ``"nichols2017"``, ``"dag2023"``).
    worm: the worm's id within the study (``"1"`` … ``"5"`` for Kato, 1-based as in its README).
    name: the dataset name the authors gave the recording.
    traces: (frames, neurons) float64 calcium signal; Kato/Nichols: ΔF/F₀, bleach-corrected.
    labels: one entry per trace column: the identified neuron name, or ``None``.
    states: (frames,) int state codes, indices into ``state_names``; ``UNLABELLED`` (-1) where
        a frame has no state.
    state_names: names of the state codes, in code order.
    fps: frame (volume) rate in Hz.
    time: (frames,) seconds from the start of the recording.
    source: the file(s) the recording was read from: provenance, not content, so it does not enter
        the experiment store's keys (the same worm read from another folder is the same argument).
    extra: other per-frame signals (e.g. Dag 2023 velocity), each (frames,).
    """

    study: str
    worm: str
    name: str
    traces: np.ndarray
    labels: tuple[str | None, ...]
    states: np.ndarray
    state_names: tuple[str, ...]
    fps: float
    time: np.ndarray
    source: str = field(default="", metadata={"provenance": True})
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The one validation layer every loader's output goes through (named errors that name
        the source file and the field)."""
        where = f"{self.study} worm {self.worm} ({self.source or 'in memory'})"
        raw = np.asarray(self.traces)
        if raw.dtype.kind != "f" or raw.dtype.itemsize < 4:
            raise InvalidValuesError(
                f"{where}: field 'traces' is stored as {raw.dtype}, but a calcium recording is "
                "float32/float64; the file is not a processed recording (or was converted "
                "lossily): use the published file.")
        traces = raw.astype(np.float64)
        if traces.ndim != 2:
            raise ShapeMismatchError(f"{where}: traces must be (frames, neurons), got {traces.shape}")
        n_frames, n_neurons = traces.shape
        if n_frames < 2 or n_neurons < 1:
            raise ShapeMismatchError(f"{where}: traces of shape {traces.shape} hold no recording")
        if not np.isfinite(traces).all():
            bad = int((~np.isfinite(traces)).sum())
            raise InvalidValuesError(
                f"{where}: traces hold {bad} NaN/infinite values; the file is damaged or not "
                "a processed recording. Re-download it (wormlib.data.fetch) or check its source."
            )
        labels = tuple(self.labels)
        if len(labels) != n_neurons:
            raise ShapeMismatchError(
                f"{where}: {len(labels)} neuron labels for {n_neurons} trace columns"
            )
        if any(not (label is None or isinstance(label, str)) for label in labels):
            raise InvalidValuesError(f"{where}: neuron labels must be names or None")
        named = [label for label in labels if label is not None]
        repeated = sorted({n for n in named if named.count(n) > 1})
        if repeated:
            raise InvalidValuesError(
                f"{where}: neuron label(s) {repeated} name more than one trace column; a neuron "
                "has one trace. Fix the labels file (or drop the duplicate) before loading.")
        states = np.asarray(self.states)
        if states.shape != (n_frames,):
            raise ShapeMismatchError(f"{where}: {states.shape[0] if states.ndim else 0} states for {n_frames} frames")
        if states.dtype.kind not in "iu":
            raise InvalidValuesError(f"{where}: state codes must be integers, got {states.dtype}")
        if states.size and (states.min() < UNLABELLED or states.max() >= len(self.state_names)):
            raise InvalidValuesError(
                f"{where}: state codes span {states.min()}..{states.max()} but there are "
                f"{len(self.state_names)} state names"
            )
        time = np.asarray(self.time)
        if time.dtype.kind not in "fiu":
            raise InvalidValuesError(f"{where}: time must be numeric, got {time.dtype}")
        time = time.astype(np.float64)
        if time.shape != (n_frames,):
            raise ShapeMismatchError(f"{where}: time has {time.size} entries for {n_frames} frames")
        if not np.isfinite(time).all() or not (np.diff(time) > 0).all():
            raise InvalidValuesError(
                f"{where}: the time vector must be finite and strictly increasing (one time per "
                "frame); the file's time field is damaged.")
        if not (isinstance(self.fps, (int, float, np.number)) and np.isfinite(self.fps) and self.fps > 0):
            raise InvalidValuesError(f"{where}: fps must be a positive number, got {self.fps}")
        timed_fps = 1.0 / float(np.median(np.diff(time)))
        if abs(self.fps / timed_fps - 1) > FPS_TOLERANCE:
            raise InvalidValuesError(
                f"{where}: fps is {self.fps:g} Hz but the time vector has one frame every "
                f"{1 / timed_fps:.4g} s ({timed_fps:.4g} Hz); one of the two fields is wrong (a "
                "derivative window in seconds would cover the wrong number of frames).")
        constant = np.ptp(traces, axis=0) == 0                                   # (neurons,)
        if constant.all():
            raise InvalidValuesError(f"{where}: every trace is constant; the file holds no recording.")
        if constant.any():
            names = [labels[i] or f"column {i + 1}" for i in np.flatnonzero(constant)]
            warnings.warn(f"{where}: constant trace(s) {', '.join(names)}: read as neurons with no "
                          "activity (their features are 0).", stacklevel=3)
        extra = {}
        for key, value in self.extra.items():
            value = np.asarray(value)
            if value.shape != (n_frames,) or value.dtype.kind not in "fiu":
                raise ShapeMismatchError(
                    f"{where}: per-frame field '{key}' has shape {value.shape} ({value.dtype}), "
                    f"expected ({n_frames},) numbers")
            if not np.isfinite(value).all():
                raise InvalidValuesError(f"{where}: per-frame field '{key}' holds NaN/infinite values")
            extra[key] = value.astype(np.float64)
        if not named:
            warnings.warn(f"{where}: no neuron of this recording is identified; analyses by neuron "
                          "name will find nothing in it.", stacklevel=3)
        object.__setattr__(self, "traces", traces)
        object.__setattr__(self, "states", states.astype(np.int64))
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "state_names", tuple(self.state_names))
        object.__setattr__(self, "extra", extra)

    @property
    def n_frames(self) -> int:
        return self.traces.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.traces.shape[1]

    @property
    def identified(self) -> list[str]:
        """Names of the identified neurons, in column order."""
        return [name for name in self.labels if name is not None]

    def column(self, neuron: str) -> int | None:
        """Trace column of a named neuron, or ``None`` when it was not identified in this worm."""
        try:
            return self.labels.index(neuron)
        except ValueError:
            return None

    def state_counts(self) -> dict[str, int]:
        """Frames per state name (unlabelled frames under ``"unlabelled"`` if any)."""
        counts = {name: int((self.states == code).sum()) for code, name in enumerate(self.state_names)}
        if (self.states == UNLABELLED).any():
            counts["unlabelled"] = int((self.states == UNLABELLED).sum())
        return counts

    def __repr__(self) -> str:
        return (
            f"Recording({self.study} worm {self.worm}: {self.n_frames} frames × {self.n_neurons} "
            f"neurons, {len(self.identified)} identified, {self.fps:.3f} Hz, "
            f"{len(self.state_names)} states)"
        )


def clean_labels(raw: list[str | None], where: str) -> list[str | None]:
    """:func:`clean_label` for every trace column, warning where a numeric label is not the
    column's own 1-based number: Kato and the Zimmer wb toolkit number an unidentified ROI by its
    column, so another number there means a damaged or shifted label list (a name that should be
    there, e.g. AVAL, would otherwise be lost in silence)."""
    odd = [(column, label.strip()) for column, label in enumerate(raw, 1)
           if isinstance(label, str) and label.strip().isdigit() and int(label) != column]
    if odd:
        shown = ", ".join(f"column {c} is '{v}'" for c, v in odd[:5]) + (" …" if len(odd) > 5 else "")
        warnings.warn(f"{where}: {len(odd)} numeric neuron label(s) that are not their column's number "
                      f"({shown}); read as unidentified. Check the label list against the traces.",
                      stacklevel=3)
    return [clean_label(x) for x in raw]


def clean_label(raw: str | None) -> str | None:
    """A neuron label as an identified name, or ``None`` for an unidentified neuron.

    Kato writes unidentified ROIs as their 1-based number (``"14"``), the Zimmer wb toolkit as
    an empty entry or ``"---"`` (OSF_LAYOUTS §4, quirk 4). Names are kept as the authors wrote
    them (``VB01``, not ``VB1``); matching against the connectome normalises separately.
    """
    if raw is None:
        return None
    name = raw.replace("\ufeff", "").strip()  # a UTF-8 byte-order mark is not part of a name
    if not name or name == "---" or name.isdigit():
        return None
    return name

"""One shape for every whole-brain recording (Kato 2015, Nichols 2017, Dag 2023)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InvalidValuesError, ShapeMismatchError

UNLABELLED = -1
"""State code of a frame that carries no behavioural label."""


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
    source: the file(s) the recording was read from.
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
    source: str = ""
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"{self.study} worm {self.worm} ({self.source or 'in memory'})"
        traces = np.asarray(self.traces, dtype=np.float64)
        if traces.ndim != 2:
            raise ShapeMismatchError(f"{where}: traces must be (frames, neurons), got {traces.shape}")
        n_frames, n_neurons = traces.shape
        if not np.isfinite(traces).all():
            bad = int((~np.isfinite(traces)).sum())
            raise InvalidValuesError(
                f"{where}: traces hold {bad} NaN/infinite values; the file is damaged or not "
                "a processed recording. Re-download it (wormlib.data.fetch) or check its source."
            )
        if len(self.labels) != n_neurons:
            raise ShapeMismatchError(
                f"{where}: {len(self.labels)} neuron labels for {n_neurons} trace columns"
            )
        states = np.asarray(self.states)
        if states.shape != (n_frames,):
            raise ShapeMismatchError(f"{where}: {states.shape[0] if states.ndim else 0} states for {n_frames} frames")
        if states.size and (states.min() < UNLABELLED or states.max() >= len(self.state_names)):
            raise InvalidValuesError(
                f"{where}: state codes span {states.min()}..{states.max()} but there are "
                f"{len(self.state_names)} state names"
            )
        time = np.asarray(self.time, dtype=np.float64)
        if time.shape != (n_frames,):
            raise ShapeMismatchError(f"{where}: time has {time.size} entries for {n_frames} frames")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise InvalidValuesError(f"{where}: fps must be a positive number, got {self.fps}")
        object.__setattr__(self, "traces", traces)
        object.__setattr__(self, "states", states.astype(np.int64))
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "state_names", tuple(self.state_names))

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
            f"states={list(self.state_names)})"
        )


def clean_label(raw: str | None) -> str | None:
    """A neuron label as an identified name, or ``None`` for an unidentified neuron.

    Kato writes unidentified ROIs as their 1-based number (``"14"``), the Zimmer wb toolkit as
    an empty entry or ``"---"`` (OSF_LAYOUTS §4, quirk 4). Names are kept as the authors wrote
    them (``VB01``, not ``VB1``); matching against the connectome normalises separately.
    """
    if raw is None:
        return None
    name = raw.strip()
    if not name or name == "---" or name.isdigit():
        return None
    return name

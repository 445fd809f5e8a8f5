"""Recordings → model inputs: the paper's Section 4.3, made explicit.

* neuron selection (the 15 neurons identified in all five Kato worms; the 3 shared with
  Nichols), with missing neurons reported by a mask, never by shifting columns;
* per-neuron features: the calcium trace and its time derivative, each min–max normalised to
  [0, 1] over the worm's whole recording;
* behavioural state maps (7, 4 and 2 states; Section 5.1 and Fig. 4D);
* splits: 8-frame windows shuffled into 10 folds (the paper's protocol), contiguous blocks,
  and leave-worms-out splits over every subset of training worms.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import savgol_coeffs, savgol_filter

from .data import UNLABELLED, Recording
from .data.errors import TaskError

PAPER_NEURONS = ("AIBL", "AIBR", "ALA", "AVAL", "AVAR", "AVBL", "AVER", "RID", "RIML", "RIMR",
                 "RMED", "RMEL", "RMER", "VB01", "VB02")
"""The 15 neurons identified in all five Kato worms (Section 4.3). In the data used here worm 5
has no ROI named VB01 (kato2015 README), so only 14 are shared by all five."""
NICHOLS_SHARED = ("AIBR", "AVAL", "VB02")
"""The 3 neurons identified in every Kato and Nichols worm (Section 4.3)."""

FEATURES = ("trace", "derivative")
DERIVATIVE_WINDOW_S = 2.0
"""Savitzky–Golay window for the derivative, in seconds (≈ 6 frames at 2.9 Hz)."""


# ------------------------------------------------------------------------------------------
# Features
# ------------------------------------------------------------------------------------------

DERIVATIVES = ("centred", "causal")
"""``centred``: the paper-style derivative, whose window reaches (frames − 1)/2 frames into the
future (3 frames ≈ 1 s at 2.9 Hz); ``causal``: the same local quadratic fit over the past
window only, so frame t sees frames ≤ t."""


def derivative(traces: np.ndarray, fps: float, window_s: float = DERIVATIVE_WINDOW_S,
               kind: str = "centred") -> np.ndarray:
    """d(trace)/dt per second, (frames, neurons) → (frames, neurons).

    The paper does not say how it differentiated; Kato et al. used a total-variation-regularised
    derivative, which the derived data here do not include. We use a Savitzky–Golay filter
    (local quadratic fit over ``window_s`` seconds, odd number of frames ≥ 5): it smooths the
    imaging noise like a regularised derivative, is linear, and is exact for quadratics.
    ``kind="centred"`` evaluates the fit at the window's centre (it sees ≈ 1 s of future);
    ``kind="causal"`` at the window's last frame, from frames t − (frames − 1) … t only; the
    first frames, which have no full past, see the first frame repeated (no future either).
    """
    frames = derivative_frames(fps, window_s)
    if frames > len(traces):
        raise TaskError(f"The derivative's {window_s:g}-s window is {frames} frames at {fps:g} Hz, longer than the "
                        f"recording's {len(traces)} frames: the recording is too short (or its fps wrong).")
    if kind == "centred":
        return savgol_filter(traces, frames, polyorder=2, deriv=1, delta=1.0 / fps, axis=0)
    if kind != "causal":
        raise ValueError(f"kind must be one of {DERIVATIVES}, not {kind!r}")
    coeffs = savgol_coeffs(frames, polyorder=2, deriv=1, delta=1.0 / fps, pos=frames - 1, use="dot")
    padded = np.concatenate([np.repeat(traces[:1], frames - 1, axis=0), traces])  # (T + w − 1, N)
    windows = sliding_window_view(padded, frames, axis=0)                         # (T, N, w): frames t−w+1 … t
    return windows @ coeffs


def derivative_frames(fps: float, window_s: float = DERIVATIVE_WINDOW_S) -> int:
    """Frames the derivative's Savitzky–Golay window spans: the odd count at or above
    ``window_s · fps`` rounded, at least 5 (7 at the Kato worms' ≈ 2.9 Hz)."""
    return max(5, int(round(window_s * fps)) | 1)


def derivative_reach(recordings: list[Recording], kind: str) -> tuple[int, int]:
    """(frames before t, frames after t) that the ``kind`` derivative of frame t reads, the same
    for every recording (chapter 1's "what each feature sees"); ValueError if they differ."""
    if kind not in DERIVATIVES:
        raise ValueError(f"kind must be one of {DERIVATIVES}, not {kind!r}")
    spans = {derivative_frames(r.fps) for r in recordings}
    if len(spans) != 1:
        raise ValueError(f"the recordings' frame rates give different derivative windows: {sorted(spans)} frames")
    half = (spans.pop() - 1) // 2
    return (half, half) if kind == "centred" else (2 * half, 0)


def reach_text(past: int, future: int = 0) -> str:
    """Frames t − past … t + future as the book writes them, e.g. "t−3 … t+3" or "t−6 … t"."""
    return f"t−{past} … t" + (f"+{future}" if future else "")


def derivative_texts(recordings: list[Recording]) -> dict[str, str]:
    """What the derivative feature of frame t reads, as the prose of every chapter states it
    (glued, never typed): ``frames`` of the window, the ``centred`` and ``causal`` spans, the
    ``future`` frames the centred one reads and their duration ``future_s``, at ``fps``."""
    (past, future), causal = derivative_reach(recordings, "centred"), derivative_reach(recordings, "causal")
    fps = float(np.mean([r.fps for r in recordings]))
    return {"frames": str(past + future + 1), "centred": reach_text(past, future), "causal": reach_text(*causal),
            "future": f"t+1 … t+{future}", "future_s": f"≈ {future / fps:.0f} s", "fps": f"≈ {fps:.1f} Hz"}


def minmax(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Scale to [0, 1] along ``axis`` (over the whole recording, Section 4.3); flat → 0."""
    lo, hi = x.min(axis=axis, keepdims=True), x.max(axis=axis, keepdims=True)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (x - lo) / span


@dataclass(frozen=True)
class NeuronFeatures:
    """Model input of one worm for a fixed neuron list.

    values: (frames, neurons, 2) — [normalised trace, normalised derivative]; zero where the
        neuron is missing in this worm.
    present: (neurons,) bool — False for a neuron this worm lacks (e.g. VB01 in Kato worm 5).
    """

    neurons: tuple[str, ...]
    values: np.ndarray
    present: np.ndarray

    def __post_init__(self):
        assert self.values.shape[1:] == (len(self.neurons), len(FEATURES)), self.values.shape


def neuron_features(rec: Recording, neurons: tuple[str, ...] = PAPER_NEURONS,
                    derivative_kind: str = "centred") -> NeuronFeatures:
    """[trace, derivative] of ``neurons`` in ``rec``, each normalised to [0, 1] per neuron over
    the whole recording (Sections 3.1 and 4.3). ``derivative_kind``: ``centred`` (the paper's
    kind, sees ≈ 1 s ahead) or ``causal`` (past only); see :func:`derivative`."""
    columns = [rec.column(n) for n in neurons]
    present = np.array([c is not None for c in columns])
    if 2 * present.sum() < len(neurons):
        raise TaskError(
            f"{rec.study} worm {rec.worm} ({rec.source or 'in memory'}) has only {int(present.sum())} of the "
            f"{len(neurons)} neurons asked for (missing: {', '.join(n for n, p in zip(neurons, present) if not p)}); "
            "a model would read mostly zeros. Ask for the neurons every worm has (shared_neurons).")
    values = np.zeros((rec.n_frames, len(neurons), len(FEATURES)))
    idx = [c for c in columns if c is not None]
    traces = rec.traces[:, idx]                                     # (T, K_present)
    stacked = np.stack([traces, derivative(traces, rec.fps, kind=derivative_kind)], -1)  # (T, K_present, 2)
    scaled = minmax(stacked, axis=0)
    scaled[:, np.ptp(traces, axis=0) == 0] = 0.0  # a flat trace: its derivative's rounding noise is not stretched to [0, 1]
    values[:, present] = scaled
    return NeuronFeatures(tuple(neurons), values, present)


def shared_neurons(recordings: list[Recording], candidates: tuple[str, ...] = PAPER_NEURONS) -> tuple[str, ...]:
    """The ``candidates`` identified in every recording, in the given order; TaskError when
    there is none."""
    shared = tuple(n for n in candidates if all(r.column(n) is not None for r in recordings))
    if not shared:
        lacking = [f"{r.study} worm {r.worm}" for r in recordings if not any(r.column(n) is not None for n in candidates)]
        raise TaskError(f"No neuron of {', '.join(candidates)} is identified in every recording"
                        + (f" ({', '.join(lacking)} has none of them)" if lacking else "") + ".")
    return shared


# ------------------------------------------------------------------------------------------
# Behavioural states (Section 5.1, Fig. 4D)
# ------------------------------------------------------------------------------------------

STATE_MAPS: dict[str, dict[str, dict[str, str]]] = {
    "7-state": {"kato2015": {"fwd": "forward", "slow": "slowing", "rev1": "reversal-1",
                             "rev2": "reversal-2", "revsus": "sustained-reversal",
                             "dt": "dorsal-turn", "vt": "ventral-turn"}},
    "4-state": {"kato2015": {"fwd": "forward", "slow": "forward", "rev1": "reverse",
                             "rev2": "reverse", "revsus": "reverse", "vt": "ventral-turn",
                             "dt": "dorsal-turn"}},
    "2-state": {"kato2015": {"fwd": "forward", "slow": "forward", "rev1": "reverse",
                             "rev2": "reverse", "revsus": "reverse"},
                "nichols2017": {"Forward": "forward", "Reversal": "reverse"},
                "dag2023": {"non-reversal": "forward", "reversal": "reverse"}},
}
"""Study state name → task class name. Unlisted states (Kato ``nostate``; turns in the 2-state
task; Nichols ``Quiescence``) are excluded. The Nichols OSF files label a single ``Turn``
state, so its ventral/dorsal split needed for the 4-state task is not available here."""
CLASSES = {"7-state": ("forward", "slowing", "reversal-1", "reversal-2", "sustained-reversal",
                       "dorsal-turn", "ventral-turn"),
           "4-state": ("forward", "reverse", "ventral-turn", "dorsal-turn"),
           "2-state": ("forward", "reverse")}


def task_labels(rec: Recording, task: str) -> np.ndarray:
    """(frames,) class index of ``task`` per frame; -1 for excluded or unlabelled frames. A
    recording whose states are already the task's classes (``relabel``) needs no state map."""
    if task not in CLASSES:
        raise ValueError(f"task must be one of {', '.join(CLASSES)}, not {task!r}")
    classes = CLASSES[task]
    mapping = STATE_MAPS[task].get(rec.study)
    if mapping is None:
        if rec.state_names != classes:
            raise ValueError(f"no {task} state map for {rec.study}: name its states' classes with "
                             "wormlib.preprocess.relabel")
        return np.where(rec.states == UNLABELLED, -1, rec.states)
    lookup = np.array([classes.index(mapping[s]) if s in mapping else -1 for s in rec.state_names])
    return np.where(rec.states == UNLABELLED, -1, lookup[rec.states])


def relabel(rec: Recording, task: str, classes_of: dict[str, list[str]]) -> Recording:
    """``rec`` with its own state names replaced by ``task``'s classes: ``classes_of`` maps each
    class to the recording's state names in it, e.g. ``{"forward": ["non-reversal"], "reverse":
    ["reversal"]}``. States not listed become unlabelled (excluded). For a lab's own recordings:
    the mapping is part of the recording, so an experiment keyed by it cannot be confused with
    another mapping's."""
    import dataclasses

    classes = CLASSES[task]
    unknown = sorted(set(classes_of) - set(classes))
    if unknown:
        raise TaskError(f"{task} has the classes {', '.join(classes)}, not {', '.join(unknown)}.")
    code = {}
    for cls, names in classes_of.items():
        for name in names:
            if name in code:
                raise TaskError(f"state {name!r} is mapped to two classes.")
            if name not in rec.state_names:
                raise TaskError(f"{rec.study} worm {rec.worm} has no state {name!r} (its states: "
                                f"{', '.join(rec.state_names) or 'none'}).")
            code[name] = classes.index(cls)
    lookup = np.array([code.get(s, UNLABELLED) for s in rec.state_names] or [UNLABELLED], dtype=np.int64)
    states = np.where(rec.states == UNLABELLED, UNLABELLED, lookup[np.maximum(rec.states, 0)])
    return dataclasses.replace(rec, states=states, state_names=classes)


# ------------------------------------------------------------------------------------------
# Splits (Section 4.3 and 5)
# ------------------------------------------------------------------------------------------

WINDOW = 8
"""Frames per window (≈ 3 s, the time a worm needs to change behaviour; Section 4.3)."""


def shuffled_window_folds(n_frames: int, n_folds: int = 10, window: int = WINDOW,
                          seed: int = 0) -> np.ndarray:
    """The paper's protocol: cut the recording into ``window``-frame windows, shuffle them and
    deal them into ``n_folds`` folds. Returns (frames,) fold ids; -1 for the trailing frames
    that do not fill a window."""
    n_windows = n_frames // window
    order = np.random.default_rng(seed).permutation(n_windows)
    window_fold = np.empty(n_windows, dtype=np.int64)
    window_fold[order] = np.arange(n_windows) % n_folds
    folds = np.full(n_frames, -1, dtype=np.int64)
    folds[: n_windows * window] = np.repeat(window_fold, window)
    return folds


def contiguous_block_folds(n_frames: int, n_folds: int = 10) -> np.ndarray:
    """The leakage-aware alternative: ``n_folds`` contiguous blocks of the recording, so a test
    frame's neighbours in time are (except at block edges) never in training."""
    return np.minimum(np.arange(n_frames) * n_folds // n_frames, n_folds - 1)


def leave_worms_out(worms: tuple[str, ...], n_train: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every (train, test) split with ``n_train`` training worms; the rest are tested."""
    return [(train, tuple(w for w in worms if w not in train))
            for train in combinations(worms, n_train)]

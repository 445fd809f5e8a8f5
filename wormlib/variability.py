"""Individual variability of identified neurons (the paper's Section 2.1, Fig. 1C–D).

The unit of analysis is a behavioural *episode* (a maximal run of frames in one state), not a
frame: frames 1/3 s apart are strongly autocorrelated, so frame-level tests would call almost
any difference significant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from .data import Recording
from .preprocess import minmax


def episodes(states: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of one state: (state code, first frame, end frame exclusive)."""
    change = np.flatnonzero(np.diff(states)) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, states.size]
    return [(int(states[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def onset_aligned(rec: Recording, neuron: str, state: str, seconds: float = 10.0) -> np.ndarray:
    """(episodes, samples) normalised activity of ``neuron`` from each onset of ``state``.

    Activity is the trace min–max normalised over the recording; samples run on a common
    0…``seconds`` grid (linear interpolation, since frame rates differ between worms), and
    samples after the episode ended are NaN so the average is *within* the state.
    """
    grid = np.arange(0, seconds, 1 / 3)
    col = rec.column(neuron)
    code = rec.state_names.index(state)
    if col is None:
        return np.empty((0, grid.size))
    trace = minmax(rec.traces[:, col])
    rows = []
    for s_code, start, end in episodes(rec.states):
        if s_code != code:
            continue
        t = (np.arange(start, end) - start) / rec.fps
        row = np.interp(grid, t, trace[start:end], right=np.nan)
        row[grid > t[-1]] = np.nan
        rows.append(row)
    return np.array(rows).reshape(-1, grid.size)


def mean_with_ci(rows: np.ndarray, min_n: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column mean and 95% t-interval over episodes (NaN where fewer than ``min_n``)."""
    n = np.sum(np.isfinite(rows), axis=0)
    if not rows.size:
        empty = np.full(rows.shape[1], np.nan)
        return empty, empty, empty
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns → NaN, masked below
        mean = np.nanmean(rows, axis=0)
        sem = np.nanstd(rows, axis=0, ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sem
    bad = n < min_n
    mean, half = np.where(bad, np.nan, mean), np.where(bad, np.nan, half)
    return mean, mean - half, mean + half


def episode_means(rec: Recording, neuron: str) -> pd.DataFrame:
    """Mean normalised activity of ``neuron`` in each episode: columns state, value."""
    col = rec.column(neuron)
    if col is None:
        return pd.DataFrame(columns=["state", "value"])
    trace = minmax(rec.traces[:, col])
    return pd.DataFrame([(rec.state_names[c], trace[s:e].mean()) for c, s, e in episodes(rec.states)],
                        columns=["state", "value"])


def consistency_pvalues(recordings: list[Recording], neurons: tuple[str, ...],
                        states: tuple[str, ...]) -> pd.DataFrame:
    """Fig. 1D: for each neuron and state, the Kruskal–Wallis p-value that the per-episode mean
    activities of all worms come from one distribution (neurons × states; NaN if a worm lacks
    the neuron or has < 2 episodes of the state)."""
    table = pd.DataFrame(index=list(neurons), columns=list(states), dtype=float)
    for neuron in neurons:
        per_worm = [episode_means(r, neuron) for r in recordings]
        for state in states:
            groups = [df.loc[df.state == state, "value"].to_numpy() for df in per_worm]
            if all(len(g) >= 2 for g in groups):
                table.loc[neuron, state] = stats.kruskal(*groups).pvalue
    return table


def consistent_neurons(pvalues: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """Neurons whose activity is consistent across worms in every tested state: no state's
    p-value below ``alpha`` after Bonferroni correction over all neuron × state tests."""
    threshold = alpha / pvalues.notna().to_numpy().sum()
    return [n for n, row in pvalues.iterrows() if row.notna().any() and (row.dropna() >= threshold).all()]


def locked_to(recordings: list[Recording], reference: str, neurons: tuple[str, ...]) -> pd.DataFrame:
    """Pearson r between each of ``neurons``' calcium trace and ``reference``'s, per worm
    (neuron × worm; NaN where the worm lacks the neuron): which neurons carry the reference
    neuron's signal. Traces only, no behavioural labels (chapter 5: the neurons that stand in
    for the ones that define the states)."""
    table = {}
    for rec in recordings:
        ref = rec.column(reference)
        table[rec.worm] = {n: (np.corrcoef(rec.traces[:, ref], rec.traces[:, rec.column(n)])[0, 1]
                               if rec.column(n) is not None else np.nan) for n in neurons}
    return pd.DataFrame(table).rename_axis(index="neuron", columns="worm")


def tracking(correlations: pd.DataFrame, threshold: float = 0.5) -> tuple[str, ...]:
    """The neurons whose |r| with the reference (``locked_to``) exceeds ``threshold`` in every
    worm that has them: its stand-ins, positive or negative."""
    strong = correlations.abs().gt(threshold) | correlations.isna()
    return tuple(correlations.index[strong.all(axis=1) & correlations.notna().any(axis=1)])

"""Asymmetric diffusion map modelling (ADMM), Brennan & Proekt (2019, eLife 8:e46814): the
"state of the art" of the paper's Section 2.2 and Table 1, and its Fig. 2 manifold.

A Python port of the method in the authors' public MATLAB code
(``sharsnik2/AsymmetricDiffusionMapping``: ``delayEmbedData.m``, ``buildAsymmetricDiffusionMap.m``,
``buildMinimalModel.m``), written from its description, not translated line by line. Where the
port differs, the docstring says so; chapter 1 lists the differences.

1. :func:`delay_embed` — frame t → [x(t), Δx(t), x(t − τ), Δx(t − τ), …, x(t − Kτ), Δx(t − Kτ)]
   (``delayEmbedData.m``; the authors' optional Gaussian smoothing, a centred filter, is left out,
   so every coordinate is past-only).
2. :func:`transition_matrix` — the asymmetric kernel: for each frame i the Gaussian kernel is
   centred on the observed *next* state x(i + 1), distances are scaled per dimension by the local
   velocity noise of both frames, the k nearest frames are linked under a minimum-time exclusion,
   weights are density corrected and rows normalised (``buildAsymmetricDiffusionMap.m``).
3. :class:`Manifold` — the leading non-trivial eigenvectors of P as coordinates, an out-of-sample
   map for frames of worms not used to build it, and the minimal model's phase (first complex
   eigenvector) and loops (Louvain communities; ``buildMinimalModel.m``).
4. :class:`ManifoldBank` — the behavioural state of a held-out frame read from its place on the
   manifold: a distance-weighted vote of the nearest training frames in manifold coordinates;
   the embedding is chosen on the training worms only.

Defaults are the authors' code defaults (20 neighbours, local window 4, minimum time 10). The
values the authors used for C. elegans are not stated in the available text; the embedding
(τ, K) is therefore chosen on training worms only (:func:`select_embedding`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.ndimage import gaussian_filter1d
from scipy.sparse.linalg import eigs

from .preprocess import reach_text
from .store import cached


def trace_activity(recordings: list, neurons: tuple[str, ...]) -> list[np.ndarray]:
    """Per worm (T_w, N): the min–max normalised ΔF/F of ``neurons`` — the trace feature every
    model of the book reads (``wormlib.preprocess.neuron_features``). A worm lacking one of the
    neurons is refused: a manifold needs the same coordinates in every worm."""
    from .preprocess import neuron_features
    out = []
    for rec in recordings:
        missing = [n for n in neurons if rec.column(n) is None]
        if missing:
            raise ADMMInputError(f"worm {rec.worm} lacks {', '.join(missing)}; build the manifold on "
                                 "neurons identified in every worm (wormlib.preprocess.shared_neurons)")
        out.append(neuron_features(rec, neurons).values[..., 0])
    return out


class ADMMInputError(ValueError):
    """Input ADMM cannot use: too few frames for the embedding window, non-finite values, or a
    worm without the neurons the manifold was built on."""


# ------------------------------------------------------------------------------------------
# 1. Delay embedding
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Embedding:
    """Delay embedding: ``n_delays`` copies ``tau`` frames apart (K and τ), with the backward
    difference of each copy appended when ``derivative``."""

    tau: int = 3
    n_delays: int = 3
    derivative: bool = True

    @property
    def window(self) -> int:
        """Frames of the past a point needs: K·τ plus one for the difference."""
        return self.tau * self.n_delays + int(self.derivative)

    @property
    def reads(self) -> str:
        """The frames frame t's point reads, and its delays: "t−10 … t (3 delays of 3 frames)"
        (chapter 1's prose and chapter 2's Table 2.2 take it from here)."""
        return reach_text(self.window) + (f" ({self.n_delays} delays of {self.tau} frames)" if self.n_delays else "")

    def __call__(self, x: np.ndarray, pad: bool = False) -> np.ndarray:
        return delay_embed(x, self.tau, self.n_delays, self.derivative, pad)


def delay_embed(x: np.ndarray, tau: int, n_delays: int, derivative: bool = True,
                pad: bool = False) -> np.ndarray:
    """(T, N) activity → (T − window, N·(K + 1)·(1 + derivative)) points, row j being frame
    j + window (``pad=False``, as the authors), or (T, ·) with the first frame repeated into the
    past (``pad=True``: every frame gets a point, none sees the future). Columns are ordered
    [x(t), Δx(t), x(t − τ), Δx(t − τ), …]."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ADMMInputError(f"activity must be (frames, neurons), got shape {x.shape}")
    if not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x).all(1))
        raise ADMMInputError(f"activity has non-finite values in {bad.size} frames (first: {bad[0]}); "
                             "interpolate or drop them before embedding")
    window = tau * n_delays + int(derivative)
    if pad:
        x = np.concatenate([np.repeat(x[:1], window, axis=0), x])
    if x.shape[0] <= window:
        raise ADMMInputError(f"a recording of {x.shape[0]} frames is shorter than the embedding window "
                             f"({window} frames: {n_delays} delays of {tau} frames)")
    dx = np.diff(x, axis=0, prepend=x[:1])                                  # (T, N), Δx(0) = 0
    parts = [np.stack([x, dx], -1) if derivative else x[..., None]]         # (T, N, 1 or 2)
    t = np.arange(window, x.shape[0])
    lagged = [parts[0][t - j * tau] for j in range(n_delays + 1)]           # each (T', N, F)
    return np.stack(lagged, 1).reshape(len(t), -1)                          # (T', (K+1)·N·F)


# ------------------------------------------------------------------------------------------
# 2. The asymmetric diffusion map
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelConfig:
    """``buildAsymmetricDiffusionMap.m`` options: neighbours linked per frame, half-width of the
    local window for the velocity noise, minimum time between linked frames of one worm."""

    n_neighbors: int = 20
    local: int = 4
    min_time: int = 10


def local_noise(points: np.ndarray, local: int) -> np.ndarray:
    """(T, D) trajectory → (T − 1, D): the standard deviation of the velocities x(i+1) − x(i)
    over frames i − local … i + local (clipped at the ends), per dimension. A dimension that does
    not move gets the median noise of the others (the authors divide by it unguarded)."""
    v = np.diff(points, axis=0)                                             # (T−1, D)
    n = len(v)
    c1 = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v, 0)])
    c2 = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(v ** 2, 0)])
    lo = np.clip(np.arange(n) - local, 0, n)
    hi = np.clip(np.arange(n) + local + 1, 0, n)
    count = (hi - lo)[:, None]
    mean = (c1[hi] - c1[lo]) / count
    var = np.maximum((c2[hi] - c2[lo]) / count - mean ** 2, 0.0)
    noise = np.sqrt(var)
    floor = np.median(noise[noise > 0]) if (noise > 0).any() else 1.0
    return np.where(noise > 1e-12, noise, floor)


class _ScaledDistances:
    """d[a, j] = Σ_d ((x_j − c_a) / (σ_j σ_a))² from blocks of centres (c, σ_c): (B, D) to fixed
    points (x, σ_x): (J, D), expanded into one matrix product against a (3D, J) operand built once
    → (B, J). ``out``: a (≥ B, J) buffer reused across blocks (a fresh block of this size costs
    more in page faults than its product; ``benchmarks/benchmark_admm.py``)."""

    def __init__(self, points: np.ndarray, point_noise: np.ndarray):
        ip = point_noise ** -2                                                  # 1/σ²
        self.right = np.ascontiguousarray(
            np.concatenate([points ** 2 * ip, -2 * points * ip, ip], 1).T)     # (3D, J)

    def __call__(self, centres: np.ndarray, centre_noise: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        ic = centre_noise ** -2
        left = np.concatenate([ic, centres * ic, centres ** 2 * ic], 1)         # (B, 3D)
        d = np.matmul(left, self.right, out=None if out is None else out[:len(left)])
        return np.maximum(d, 0.0, out=d)


def _pick_neighbours(order: np.ndarray, stamp: np.ndarray, k: int, min_time: int) -> np.ndarray:
    """The authors' greedy exclusion, for a block of rows at once: walk each row's candidates by
    distance, keep the first one left, drop every candidate less than ``min_time`` frames from it
    (same worm), repeat until ``k`` are kept. order: (B, C) candidates sorted by distance, −1 for
    none; stamp: (nodes,) time stamps → (B, k) kept nodes, −1 where a row ran out."""
    left = order >= 0
    t = stamp[np.maximum(order, 0)]                                         # (B, C)
    kept = np.full((len(order), k), -1)
    rows = np.arange(len(order))
    for step in range(k):
        first = left.argmax(1)                                              # first candidate still allowed
        ok = left[rows, first]
        kept[ok, step] = order[rows[ok], first[ok]]
        left &= np.abs(t - t[rows, first][:, None]) >= min_time
        left[~ok] = False
    return kept


def _nearest_unsorted(d: np.ndarray, n: int, stride: int = 8) -> np.ndarray:
    """(B, nodes) distances → (B, n) column indices of each row's ``n`` smallest, in no order:
    ``np.argpartition(d, n − 1)[:, :n]``, faster (a block of 256 × 12,637: 35 → 14 ms for 20,
    33 → 21 ms for 840 columns on the book's CPU, one thread). A threshold from every
    ``stride``-th column (its ⌈1.25 n / stride⌉-th smallest) keeps about 1.25 n columns per row;
    the selection runs on those alone, and a row that keeps fewer than ``n`` takes the full
    selection. (Ties at the n-th distance may be broken differently; float distances of
    distinct frames are not tied.)"""
    m = min(-(-5 * n // (4 * stride)), (d.shape[1] - 1) // stride)
    cut = np.partition(d[:, ::stride], m, axis=1)[:, m]                     # (B,)
    keep = d <= cut[:, None]                                                # (B, nodes)
    counts = keep.sum(1)
    out = np.empty((len(d), n), dtype=np.intp)
    few = counts < n
    if few.any():
        out[few] = np.argpartition(d[few], n - 1, axis=1)[:, :n]
    if (~few).any():
        many = np.flatnonzero(~few)
        flat = np.flatnonzero(keep[many])                                   # row-major over (B', nodes)
        c = counts[many]
        row, width = flat // d.shape[1], c.max()
        slot = row * width + np.arange(len(flat)) - np.repeat(np.cumsum(c) - c, c)  # in (B', C')
        packed = np.full(len(c) * width, np.inf)
        index = np.zeros(len(c) * width, dtype=np.intp)
        packed[slot] = (d if len(many) == len(d) else d[many]).ravel()[flat]
        index[slot] = flat - row * d.shape[1]
        packed, index = packed.reshape(len(c), width), index.reshape(len(c), width)   # (B', C'), C' ≥ n
        out[many] = np.take_along_axis(index, np.argpartition(packed, n - 1, axis=1)[:, :n], 1)
    return out


def _candidates_then_pick(d: np.ndarray, stamp: np.ndarray, cfg: KernelConfig, n_cand: int) -> np.ndarray:
    """(B, nodes) distances → (B, n_neighbors) linked nodes: the greedy pick among the ``n_cand``
    nearest, redone over all nodes for the rare row whose candidates ran out."""
    n_nodes = d.shape[1]
    finite = np.isfinite(d)
    if n_cand < n_nodes:
        cand = _nearest_unsorted(d, n_cand)                                 # (B, C) unsorted
    else:
        cand = np.broadcast_to(np.arange(n_nodes), d.shape)
    cand = np.take_along_axis(cand, np.argsort(np.take_along_axis(d, cand, 1), 1, kind="stable"), 1)
    cand = np.where(np.take_along_axis(finite, cand, 1), cand, -1)
    kept = _pick_neighbours(cand, stamp, cfg.n_neighbors, cfg.min_time)
    short = np.flatnonzero((kept < 0).any(1)) if n_cand < n_nodes else []
    if len(short):
        full = np.argsort(d[short], 1, kind="stable")
        full = np.where(np.take_along_axis(finite[short], full, 1), full, -1)
        kept[short] = _pick_neighbours(full, stamp, cfg.n_neighbors, cfg.min_time)
    return kept


def transition_matrix(segments: list[np.ndarray], cfg: KernelConfig = KernelConfig(),
                      block: int = 256) -> tuple[sparse.csr_matrix, dict]:
    """Asymmetric diffusion map of one or more trajectories (e.g. one per worm).

    segments: list of (T_s, D) embedded trajectories. Nodes are the frames that have a successor
    in their own segment (the authors' T − 1 points; here also no link across worms). Row i links
    node i to its observed next frame (weight 1) and to the ``n_neighbors`` nodes nearest to that
    next frame, with weight exp(−d / 2ε), ε the mean linked distance. Each weight is divided by
    √(n_i n_j), n the column sums smoothed over time (Gaussian, σ = 4·local; density
    correction), and rows are normalised. Returns (P: (nodes, nodes) CSR, row-stochastic;
    ``info`` with the nodes' points, noise, segment ids, time within segment and ε).
    """
    points, noise, seg, time, succ = [], [], [], [], []
    offset = 0
    for s, x in enumerate(segments):
        if len(x) < 2 * cfg.local + 2:
            raise ADMMInputError(f"segment {s} has {len(x)} frames; at least {2 * cfg.local + 2} are needed")
        n = len(x) - 1
        points.append(x[:-1]), noise.append(local_noise(x, cfg.local))
        seg.append(np.full(n, s)), time.append(np.arange(n))
        succ.append(np.where(np.arange(n) + 1 < n, offset + np.arange(n) + 1, -1))
        offset += n
    x_all, sd_all = np.concatenate(points), np.concatenate(noise)
    seg, time, succ = np.concatenate(seg), np.concatenate(time), np.concatenate(succ)
    # Centre of each row: its observed next frame (a node, or the last frame of its segment).
    nexts = np.concatenate([x[1:] for x in segments])
    next_noise = np.where((succ >= 0)[:, None], sd_all[np.maximum(succ, 0)], sd_all)
    # A time axis on which frames of different worms are never within min_time of each other.
    stamp = time + seg * (time.max() + 2 * cfg.min_time + 1)
    n_nodes = len(x_all)
    n_cand = min(n_nodes, 4 * (cfg.n_neighbors + 1) * cfg.min_time)
    rows, cols, dists = [], [], []
    distances, buffer = _ScaledDistances(x_all, sd_all), np.empty((min(block, n_nodes), n_nodes))
    for start in range(0, n_nodes, block):
        stop = min(start + block, n_nodes)
        d = distances(nexts[start:stop], next_noise[start:stop], out=buffer)  # (B, nodes)
        own = succ[start:stop]
        rows_b = np.arange(stop - start)
        d[rows_b[own >= 0], own[own >= 0]] = np.inf                          # the observed next is linked anyway
        kept = _candidates_then_pick(d, stamp, cfg, n_cand)                  # (B, k)
        linked = np.concatenate([own[:, None], kept], 1)                     # (B, k + 1)
        ok = linked >= 0
        r = np.broadcast_to(np.arange(start, stop)[:, None], linked.shape)
        dd = np.where(linked == own[:, None], 0.0, d[rows_b[:, None], np.maximum(linked, 0)])
        rows.append(r[ok]), cols.append(linked[ok]), dists.append(dd[ok])
    rows, cols, dists = np.concatenate(rows), np.concatenate(cols), np.concatenate(dists)
    eps = float(np.mean(dists))
    w = sparse.csr_matrix((np.exp(-dists / (2 * eps)), (rows, cols)), shape=(n_nodes, n_nodes))
    # Density correction: each node's in-weight, smoothed along its worm's time axis.
    density = np.asarray(w.sum(0)).ravel()
    for s in np.unique(seg):
        m = seg == s
        density[m] = gaussian_filter1d(density[m], sigma=4 * cfg.local, mode="constant", truncate=3.0)
    density = np.maximum(density, 1e-12)
    w = w.tocoo()
    vals = w.data / np.sqrt(density[w.row] * density[w.col])
    p = sparse.csr_matrix((vals, (w.row, w.col)), shape=(n_nodes, n_nodes))
    row_sum = np.asarray(p.sum(1)).ravel()
    empty = row_sum == 0
    if empty.any():                                                         # guard: a self-loop
        p = p + sparse.csr_matrix((np.ones(empty.sum()), (np.flatnonzero(empty),) * 2), shape=p.shape)
        row_sum[empty] = 1.0
    p = sparse.diags(1.0 / row_sum) @ p
    return p.tocsr(), dict(points=x_all, noise=sd_all, segment=seg, time=time, epsilon=eps)


# ------------------------------------------------------------------------------------------
# 3. The manifold
# ------------------------------------------------------------------------------------------

def spectral_coordinates(p: sparse.csr_matrix, n_coords: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """The leading eigenpairs of P after the trivial one (|λ| = 1, constant vector), one of each
    complex-conjugate pair: (eigenvalues (n_coords,), coordinates (nodes, 2·n_coords) — real and
    imaginary parts of each eigenvector times |λ|). Each eigenvector's arbitrary phase is fixed
    by making its largest entry real and positive; the start vector is fixed, so the same P
    gives the same coordinates."""
    k = min(2 * n_coords + 2, p.shape[0] - 2)
    vals, vecs = eigs(p, k=k, which="LM", v0=np.ones(p.shape[0]), tol=1e-10)
    order = np.lexsort((-vals.imag, -np.abs(vals)))
    vals, vecs = vals[order], vecs[:, order]
    keep = [i for i in range(1, len(vals)) if vals[i].imag >= -1e-12][:n_coords]
    vals, vecs = vals[keep], vecs[:, keep]
    big = np.abs(vecs).argmax(0)
    vecs = vecs * np.exp(-1j * np.angle(vecs[big, np.arange(vecs.shape[1])]))
    vecs /= np.linalg.norm(vecs, axis=0)
    coords = np.concatenate([vecs.real, vecs.imag], 1) * np.tile(np.abs(vals), 2)
    return vals, coords


@dataclass
class Manifold:
    """An ADMM manifold built from training trajectories.

    p: (nodes, nodes) transition matrix; eigenvalues: (n_coords,); coords: (nodes, 2·n_coords);
    points/noise: (nodes, D) the embedded frames and their local velocity noise; segment/time:
    (nodes,) which trajectory and which frame of it; epsilon: the kernel's scale.
    """

    p: sparse.csr_matrix
    eigenvalues: np.ndarray
    coords: np.ndarray
    points: np.ndarray
    noise: np.ndarray
    segment: np.ndarray
    time: np.ndarray
    epsilon: float
    cfg: KernelConfig = field(default_factory=KernelConfig)

    @classmethod
    def build(cls, segments: list[np.ndarray], cfg: KernelConfig = KernelConfig(),
              n_coords: int = 6) -> "Manifold":
        p, info = transition_matrix(segments, cfg)
        vals, coords = spectral_coordinates(p, n_coords)
        return cls(p, vals, coords, cfg=cfg, **info)

    def neighbours(self, x: np.ndarray, k: int | None = None, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` (default: the kernel's neighbour count) training nodes nearest to each new
        point, in the kernel's metric with the new trajectory's own noise estimated from its past
        window only (the authors' window is centred). x: (T, D) one embedded trajectory →
        (indices (T, k), squared distances (T, k))."""
        k = k or self.cfg.n_neighbors
        noise = _past_noise(x, self.cfg.local, fallback=np.median(self.noise, 0))
        idx, dist = [], []
        distances, buffer = _ScaledDistances(self.points, self.noise), np.empty((min(block, len(x)), len(self.points)))
        for s in range(0, len(x), block):
            d = distances(x[s:s + block], noise[s:s + block], out=buffer)      # (B, nodes)
            nn = _nearest_unsorted(d, k)                                       # (B, k)
            # the expanded product loses digits for near points: recompute the k exactly
            diff = (self.points[nn] - x[s:s + block, None]) / (self.noise[nn] * noise[s:s + block, None])
            dd = np.sum(diff ** 2, -1)                                          # (B, k)
            o = np.argsort(dd, 1, kind="stable")
            idx.append(np.take_along_axis(nn, o, 1)), dist.append(np.take_along_axis(dd, o, 1))
        return np.concatenate(idx), np.concatenate(dist)

    def place(self, x: np.ndarray, values: np.ndarray | None = None, k: int | None = None) -> np.ndarray:
        """Out-of-sample map (B&P's fifth worm drawn on a four-worm manifold): each new point
        gets the inverse-distance-weighted mean of its nearest training nodes' ``values``
        (default: the manifold coordinates) — a training frame lands exactly on its own.
        x: (T, D); values: (nodes, …) → (T, …)."""
        idx, dist = self.neighbours(x, k)
        return _inverse_distance_mean((self.coords if values is None else values)[idx], dist)

    def cycle_mode(self, k: int = 50) -> tuple[complex, np.ndarray]:
        """The minimal model's cycle (``buildMinimalModel.m``, ANGLE_EIGENMODE): among the ``k``
        eigenvalues of P largest in modulus, the first with a positive imaginary part, and its
        eigenvector (nodes,), phase fixed as in :func:`spectral_coordinates`. Its angle is the
        phase along the cycle; the real, metastable modes come first on these data."""
        vals, vecs = eigs(self.p, k=min(k, self.p.shape[0] - 2), which="LM", v0=np.ones(self.p.shape[0]))
        order = np.argsort(-np.abs(vals), kind="stable")
        first = next((i for i in order if vals[i].imag > 1e-9), None)
        if first is None:
            raise ADMMInputError(f"none of the {len(vals)} leading eigenvalues is complex: no cycle found")
        v = vecs[:, first]
        v = v * np.exp(-1j * np.angle(v[np.abs(v).argmax()]))
        return complex(vals[first]), v / np.linalg.norm(v)

    def phase(self, k: int = 50) -> np.ndarray:
        """(nodes,) phase along the cycle: the angle of :meth:`cycle_mode`'s eigenvector."""
        return np.angle(self.cycle_mode(k)[1])

    def loops(self, resolution: float = 1.2, attempts: int = 10, min_frames: int = 5,
              seed: int = 0) -> np.ndarray:
        """(nodes,) community id: the minimal model's loops. As ``buildMinimalModel.m``: Louvain
        communities (γ = 1.2) of the symmetrised transition graph, the best of ``attempts`` runs
        by within-community transition weight, and runs shorter than ``min_frames`` merged into
        the preceding community. The port clusters P + Pᵀ itself, not the authors' over-populated
        Pⁿ with shifted-row similarities, which is dense and O(nodes²) in memory."""
        sym = (self.p + self.p.T).tocoo()
        graph = nx.Graph()
        graph.add_nodes_from(range(self.p.shape[0]))
        graph.add_weighted_edges_from(zip(sym.row.tolist(), sym.col.tolist(), sym.data.tolist()))
        best, best_cost = None, -np.inf
        for a in range(attempts):
            parts = nx.community.louvain_communities(graph, resolution=resolution, seed=seed + a)
            labels = np.empty(self.p.shape[0], int)
            for c, members in enumerate(sorted(parts, key=min)):
                labels[list(members)] = c
            inner = np.asarray(_same_community(self.p, labels).sum(1)).ravel()   # (nodes,) stay-in weight
            cost = np.sum(inner ** 2) / max(np.sum((1 - inner) ** 2), 1e-12)
            if cost > best_cost:
                best, best_cost = labels, cost
        return _merge_short_runs(best, self.segment, min_frames)


def _same_community(p: sparse.csr_matrix, labels: np.ndarray) -> sparse.csr_matrix:
    """P restricted to links within a community."""
    coo = p.tocoo()
    keep = labels[coo.row] == labels[coo.col]
    return sparse.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=p.shape)


def _merge_short_runs(labels: np.ndarray, segment: np.ndarray, min_frames: int) -> np.ndarray:
    """Runs of one community shorter than ``min_frames`` frames take the preceding run's label
    (within each trajectory); communities are then renumbered 0…C−1 by first appearance."""
    out = labels.copy()
    for s in np.unique(segment):
        idx = np.flatnonzero(segment == s)
        lab = out[idx]
        start = 0
        for t in range(1, len(lab) + 1):
            if t == len(lab) or lab[t] != lab[start]:
                if t - start < min_frames and start > 0:
                    lab[start:t] = lab[start - 1]
                start = t
        out[idx] = lab
    _, first = np.unique(out, return_index=True)
    remap = {c: i for i, c in enumerate(out[np.sort(first)])}
    return np.array([remap[c] for c in out])


def _past_noise(x: np.ndarray, local: int, fallback: np.ndarray) -> np.ndarray:
    """(T, D) → (T, D): velocity noise over the 2·local + 1 velocities ending at each frame (past
    only); the first frames, without velocities, get ``fallback``."""
    v = np.diff(x, axis=0, prepend=x[:1])
    w = 2 * local + 1
    c1 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(v, 0)])
    c2 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(v ** 2, 0)])
    hi = np.arange(1, len(x) + 1)
    lo = np.maximum(hi - w, 1)                                               # skip the padded Δ of frame 0
    count = np.maximum(hi - lo, 1)[:, None]
    mean = (c1[hi] - c1[lo]) / count
    sd = np.sqrt(np.maximum((c2[hi] - c2[lo]) / count - mean ** 2, 0.0))
    return np.where(sd > 1e-12, sd, fallback)


def _inverse_distance_mean(values: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """values: (T, k, ...) of each point's neighbours; dist: (T, k) squared distances → (T, ...)
    weighted by 1/distance; a zero distance takes that neighbour's value alone."""
    d = np.sqrt(dist)
    exact = d <= 1e-12
    w = np.where(exact.any(1, keepdims=True), exact.astype(float), 1.0 / np.where(exact, 1.0, d))
    w /= w.sum(1, keepdims=True)
    return np.einsum("tk,tk...->t...", w, values)


# ------------------------------------------------------------------------------------------
# 4. Decoding behaviour from the manifold
# ------------------------------------------------------------------------------------------

EMBEDDINGS = (Embedding(1, 0), Embedding(3, 3))
"""The embeddings :meth:`ManifoldBank.select` chooses from, on training worms only: the frame
and its backward difference alone, or with three delays of 3 frames (≈ 3 s of past at 2.9 Hz).
The authors' C. elegans values are not stated in the available text; a third candidate (delays
of 6 frames) raised the chapter's run time by half and is left out."""


@dataclass
class ManifoldView:
    """A manifold built from the worms ``train`` with one embedding, and the worms placed on it.
    scales: worm index → the z-scoring of its embedded activity (``ManifoldBank``'s ``scaling``).

    node_coords: per training worm, (T_w − 1, 2·n_coords) coordinates of its frames 0 … T_w − 2
    (the manifold's nodes); placed: worm index → (T_w, 2·n_coords) out-of-sample coordinates of
    every frame of each other worm; manifold: kept only when asked for (figures)."""

    train: tuple[int, ...]
    embedding: Embedding
    node_coords: list[np.ndarray]
    placed: dict[int, np.ndarray]
    scales: dict[int, "_Standardise"]
    manifold: Manifold | None = None


class ManifoldBank:
    """Every manifold a protocol needs, built once: a manifold depends on the training worms and
    the embedding, never on the labels, so one bank serves every task, every training subset and
    the nested selection of the embedding (whose inner manifolds are the outer ones of smaller
    subsets). activity: per worm (T_w, N) the same neurons in every worm.

    scaling: the normalisation contract (``wormlib.normalisation``) of the z-scoring before the
    kernel: ``per-worm`` (the book's) z-scores each worm's embedded activity by its own
    statistics, as the authors' ``useZScore`` z-scores the one recording it is given;
    ``training-worms`` pools the training worms' frames and applies their statistics to every
    worm (this port's choice before the book's contract)."""

    def __init__(self, activity: list[np.ndarray], kernel: KernelConfig = KernelConfig(),
                 n_coords: int = 6, vote: int = 20, scaling: str = "per-worm"):
        widths = {a.shape[1] for a in activity}
        if len(widths) != 1:
            raise ADMMInputError(f"every worm needs the same neurons; got widths {sorted(widths)}")
        if scaling not in ("per-worm", "training-worms"):
            raise ValueError(f"scaling must be per-worm or training-worms, not {scaling!r}")
        self.activity, self.kernel, self.n_coords, self.vote_k = activity, kernel, n_coords, vote
        self.scaling = scaling
        self._views: dict[tuple, ManifoldView] = {}

    def view(self, train: tuple[int, ...], embedding: Embedding, keep: bool = False) -> ManifoldView:
        """The manifold of the worms ``train`` (cached); ``keep``: also keep the Manifold itself."""
        key = (tuple(sorted(train)), embedding)
        if key in self._views and (not keep or self._views[key].manifold is not None):
            return self._views[key]
        embedded = [embedding(a, pad=True) for a in self.activity]          # each (T_w, D)
        if self.scaling == "per-worm":
            scales = {w: _Standardise.fit([e]) for w, e in enumerate(embedded)}
        else:
            scales = dict.fromkeys(range(len(embedded)), _Standardise.fit([embedded[w] for w in key[0]]))
        manifold = Manifold.build([scales[w](embedded[w]) for w in key[0]], self.kernel, self.n_coords)
        bounds = np.cumsum([0] + [len(embedded[w]) - 1 for w in key[0]])
        nodes = [manifold.coords[bounds[i]:bounds[i + 1]] for i in range(len(key[0]))]
        placed = {w: manifold.place(scales[w](embedded[w])) for w in range(len(self.activity)) if w not in key[0]}
        self._views[key] = ManifoldView(key[0], embedding, nodes, placed, scales, manifold if keep else None)
        return self._views[key]

    def embedded(self, view: ManifoldView, worm: int) -> np.ndarray:
        """(T_w, D) the worm's activity in ``view``'s embedding and scale (to :meth:`Manifold.place`)."""
        return view.scales[worm](view.embedding(self.activity[worm], pad=True))

    def vote(self, view: ManifoldView, targets: list[np.ndarray], n_classes: int, worm: int) -> np.ndarray:
        """Class shares of each frame of ``worm`` (not a training worm of ``view``): the
        distance-weighted vote of its ``vote`` nearest labelled training frames in manifold
        coordinates. targets: per worm (T_w,) class or −1 → (T_worm, C)."""
        from sklearn.neighbors import NearestNeighbors
        coords = np.concatenate(view.node_coords)
        labels = node_values(targets, view.train)
        keep = labels >= 0
        nn = NearestNeighbors(n_neighbors=self.vote_k).fit(coords[keep])
        dist, idx = nn.kneighbors(view.placed[worm])
        onehot = np.eye(n_classes)[labels[keep][idx]]                        # (T, vote, C)
        return _inverse_distance_mean(onehot, dist ** 2)

    def select(self, train: tuple[int, ...], targets: list[np.ndarray], n_classes: int,
               grid: tuple[Embedding, ...] = EMBEDDINGS) -> tuple[Embedding, dict[Embedding, float]]:
        """Nested choice of the embedding on the training worms only: each candidate's mean
        balanced accuracy when each training worm in turn is decoded from a manifold of the
        others. One training worm: no inner split, the first candidate. Ties: the earlier one."""
        from .evaluate import balanced_accuracy
        if len(train) < 2:
            return grid[0], {}
        scores = {}
        for emb in grid:
            inner = []
            for held in train:
                probs = self.vote(self.view(tuple(w for w in train if w != held), emb), targets, n_classes, held)
                keep = targets[held] >= 0
                inner.append(balanced_accuracy(targets[held][keep], probs[keep].argmax(1)))
            scores[emb] = float(np.mean(inner))
        best = max(grid, key=lambda e: (scores[e], -grid.index(e)))
        return best, scores

    def predict(self, train: tuple[int, ...], targets: list[np.ndarray], n_classes: int,
                worms: list[int], grid: tuple[Embedding, ...] = EMBEDDINGS) -> tuple[dict[int, np.ndarray], Embedding]:
        """Select the embedding from ``grid`` on ``train`` (:meth:`select`; a grid of one is a
        fixed embedding), then decode each of ``worms``: ({worm: (T_w, C) class shares}, the
        embedding used)."""
        emb, _ = self.select(train, targets, n_classes, grid) if len(grid) > 1 else (grid[0], {})
        view = self.view(train, emb)
        return {w: self.vote(view, targets, n_classes, w) for w in worms}, emb


@dataclass(frozen=True)
class _Standardise:
    """z-score with the mean and sd of the frames it was fitted on (the authors' optional
    z-scoring): one worm's (per-worm) or the training worms' pooled (training-worms)."""

    mean: np.ndarray
    sd: np.ndarray

    @classmethod
    def fit(cls, parts: list[np.ndarray]) -> "_Standardise":
        x = np.concatenate(parts)
        sd = x.std(0)
        return cls(x.mean(0), np.where(sd > 0, sd, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.sd


# ------------------------------------------------------------------------------------------
# 5. The paper's Fig. 2: a held-out worm on a manifold of the others
# ------------------------------------------------------------------------------------------

FIGURE_EMBEDDING = Embedding(3, 3)
"""The embedding of the Fig. 2 pictures (≈ 3 s of past): with the frame alone there are no
delays to carry a cycle's direction."""


def node_values(per_worm: list[np.ndarray], train: tuple[int, ...]) -> np.ndarray:
    """Per-frame values of the training worms (e.g. states) → (nodes,) in node order: each
    worm's frames 0 … T_w − 2 (its last frame has no successor and is not a node)."""
    return np.concatenate([per_worm[w][:-1] for w in train])


def held_out_cycle(bank: ManifoldBank, worm: int, embedding: Embedding = FIGURE_EMBEDDING
                   ) -> tuple[np.ndarray, np.ndarray, complex]:
    """The manifold of every worm but ``worm`` in the plane of its cycle mode, with ``worm``
    placed on it: (training nodes (n,) complex, held-out frames (T_w,) complex, eigenvalue)."""
    train = tuple(w for w in range(len(bank.activity)) if w != worm)
    view = bank.view(train, embedding, keep=True)
    lam, mode = view.manifold.cycle_mode()
    return mode, view.manifold.place(bank.embedded(view, worm), values=mode), lam


@cached
def figure_manifolds(activity: list[np.ndarray], targets: list[np.ndarray],
                     embedding: Embedding = FIGURE_EMBEDDING) -> dict:
    """Chapter 1's picture of Brennan & Proekt's manifold (paper Fig. 2B–C), built once (an
    experiment of ``wormlib.store``): the manifold of every worm but the last in the plane of its
    cycle mode (``held_out_nodes``, complex) with the last worm placed on it (``held_out``), its
    eigenvalue (``cycle``); the manifold of every worm (``all_nodes``, ``cycle_all``); and, each
    worm held out in turn, how its states separate there and in PCA (``separation``,
    ``held_out_separation``'s rows)."""
    bank = ManifoldBank(activity)
    nodes, held_out, cycle = held_out_cycle(bank, len(activity) - 1, embedding)
    cycle_all, all_nodes = bank.view(tuple(range(len(activity))), embedding, keep=True).manifold.cycle_mode()
    return dict(held_out_nodes=nodes, held_out=held_out, cycle=cycle, all_nodes=all_nodes, cycle_all=cycle_all,
                separation=held_out_separation(bank, targets, embedding))


def held_out_separation(bank: ManifoldBank, targets: list[np.ndarray],
                        embedding: Embedding = FIGURE_EMBEDDING) -> list[dict]:
    """For each worm held out in turn: how well its behavioural states separate (nearest-centroid
    accuracy, ``wormlib.manifold.centroid_accuracy``) in the 2-D cycle plane of the manifold of
    the other worms, and in the first 2 principal components of the same embedded activity of the
    same other worms (PCA fitted on them, the held-out worm projected)."""
    from .manifold import centroid_accuracy, fit_pca
    rows = []
    for worm in range(len(bank.activity)):
        _, placed, _ = held_out_cycle(bank, worm, embedding)
        view = bank.view(tuple(w for w in range(len(bank.activity)) if w != worm), embedding)
        pca = fit_pca(np.concatenate([bank.embedded(view, w) for w in view.train]), k=2)
        labelled = targets[worm] >= 0
        rows.append(dict(worm=worm,
                         admm=centroid_accuracy(np.c_[placed.real, placed.imag], targets[worm], labelled),
                         pca=centroid_accuracy(pca.project(bank.embedded(view, worm)), targets[worm], labelled)))
    return rows

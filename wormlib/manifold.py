"""The Kato manifold: PCA of whole-brain activity per worm and pooled (Section 2.1, Fig. S1;
Section 6: "projecting neural dynamics onto shared principal components of all worms failed to
display any meaningful structure")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Recording
from .preprocess import derivative


@dataclass(frozen=True)
class PCA:
    """Principal axes of centred data. components: (k, features); mean: (features,);
    explained: (k,) fraction of total variance per component."""

    components: np.ndarray
    mean: np.ndarray
    explained: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """(frames, features) → (frames, k) scores."""
        return (x - self.mean) @ self.components.T

    def variance_captured(self, x: np.ndarray) -> float:
        """Fraction of ``x``'s variance (about its own mean) in the span of these components."""
        centred = x - x.mean(axis=0)
        return float(np.sum((centred @ self.components.T) ** 2) / np.sum(centred ** 2))


def fit_pca(x: np.ndarray, k: int = 3) -> PCA:
    """PCA by SVD of the centred (frames, features) matrix."""
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return PCA(vt[:k], mean, (s[:k] ** 2) / np.sum(s ** 2))


def activity(rec: Recording, signal: str = "derivative", neurons: tuple[str, ...] | None = None) -> np.ndarray:
    """(frames, neurons) ΔF/F (``"trace"``) or its time derivative (``"derivative"``, Kato et al.'s
    choice for their PCA), of all neurons or of the named ones."""
    x = rec.traces if neurons is None else rec.traces[:, [rec.column(n) for n in neurons]]
    return derivative(x, rec.fps) if signal == "derivative" else x


def per_worm_pca(recordings: list[Recording], signal: str = "derivative",
                 neurons: tuple[str, ...] | None = None, k: int = 3) -> dict[str, PCA]:
    """One PCA per worm (Kato's analysis)."""
    return {r.worm: fit_pca(activity(r, signal, neurons), k) for r in recordings}


def pooled_pca(recordings: list[Recording], neurons: tuple[str, ...], signal: str = "derivative",
               k: int = 3) -> PCA:
    """One PCA of the frames of all worms stacked, on neurons they all share. Each worm is
    centred on its own mean first, so pooling tests shared *directions*, not offsets."""
    x = np.concatenate([(a := activity(r, signal, neurons)) - a.mean(axis=0) for r in recordings])
    return fit_pca(x, k)


def centroid_accuracy(scores: np.ndarray, states: np.ndarray, labelled: np.ndarray) -> float:
    """How well behavioural states separate in a projection: the fraction of labelled frames
    whose nearest state centroid (Euclidean, in ``scores`` space) is their own state's.
    scores: (frames, k); states: (frames,) codes; labelled: (frames,) bool mask of frames to use."""
    x, y = scores[labelled], states[labelled]
    codes = np.unique(y)
    centroids = np.stack([x[y == c].mean(axis=0) for c in codes])          # (states, k)
    nearest = np.argmin(((x[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)
    return float(np.mean(codes[nearest] == y))

"""Inferred graphs as biology (chapter 5): are the GNN's inferred adjacencies (Section 3.2,
Eqs. 7–9) individual to a worm, as the paper's discussion of functional connectivity
suggests, and do they resemble the anatomical connectome (White et al. 1986)?

Similarities are Spearman rank correlations over the off-diagonal entries (self-edges carry
no information about who talks to whom). Nulls: shuffled neuron labels (the same matrix with
its rows and columns permuted together), and for within- vs across-worm similarity a
permutation of the worms the models belong to.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch.func import functional_call

from .experiments import build_model, unseen_splits
from .nulls import auc_from_ranks, midranks, p_at_least
from .store import cached
from .train import TaskData, TrainConfig, fit


def offdiagonal(a: np.ndarray) -> np.ndarray:
    """(..., N, N) → (..., N·(N−1)): the entries i ≠ j, row by row."""
    n = a.shape[-1]
    return a[..., ~np.eye(n, dtype=bool)]


@torch.no_grad()
def static_adjacencies(model: torch.nn.Module, data: TaskData, pairs: list[tuple[int, int]],
                       device: str = "cpu") -> np.ndarray:
    """The static graph A (N, N) that stack member m infers from all frames of worm w, for each
    (m, w) in ``pairs``: (len(pairs), N, N)."""
    model.to(device).eval()
    params = dict(model.named_parameters())
    out = []
    for m, w in pairs:
        n = int(data.lengths[w])
        sliced = {k: v[m:m + 1] for k, v in params.items()}
        _, a = functional_call(model, sliced, (data.x[None, w, :n].to(device), data.present[None, w].to(device)),
                               {"return_edges": True})                    # (1, 1, N, N)
        out.append(a[0, 0].cpu().numpy())
    return np.stack(out)


def similarity(adjacencies: np.ndarray) -> np.ndarray:
    """(K, N, N) → (K, K) Spearman correlations of the off-diagonal entries."""
    return stats.spearmanr(offdiagonal(adjacencies).T).statistic


def shuffled_labels(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same graph with its neurons relabelled at random (rows and columns together)."""
    perm = rng.permutation(a.shape[-1])
    return a[..., perm, :][..., perm]


def within_across(sim: np.ndarray, groups: np.ndarray, n_permutations: int = 2000, seed: int = 0) -> dict:
    """Mean similarity of pairs of graphs from the same group (worm) and from different groups,
    and the permutation p-value of (within − across) when the group labels are shuffled."""
    upper = np.triu_indices(len(groups), 1)

    def gap(g):
        same = (g[:, None] == g[None, :])[upper]
        return sim[upper][same].mean() - sim[upper][~same].mean()

    observed = gap(groups)
    rng = np.random.default_rng(seed)
    null = np.array([gap(rng.permutation(groups)) for _ in range(n_permutations)])
    same = (groups[:, None] == groups[None, :])[upper]
    return dict(within=float(sim[upper][same].mean()), across=float(sim[upper][~same].mean()),
                difference=float(observed), p_value=p_at_least(null, observed))


def individuality(adjacencies: np.ndarray, worm_of: np.ndarray, rng: np.random.Generator) -> dict:
    """Chapter 5's test of whether inferred graphs are a property of the worm: ``within_across``
    of the graphs' similarities (K, N, N graphs of worms ``worm_of``), and ``shuffled-labels``,
    the mean similarity of the same graphs with their neurons relabelled at random (chance)."""
    shuffled = similarity(np.stack([shuffled_labels(a, rng) for a in adjacencies]))
    stats = within_across(similarity(adjacencies), worm_of)
    stats["shuffled-labels"] = float(shuffled[np.triu_indices(len(adjacencies), 1)].mean())
    return stats


def similarity_by_worm(adjacencies: np.ndarray, worm_of: np.ndarray, replicate: np.ndarray,
                       worm_names: list[str]) -> tuple[np.ndarray, list[str]]:
    """The (K, K) similarity of graphs ordered by worm, then replicate (one worm's graphs side by
    side), and each graph's label ``w<worm> r<replicate>``: a panel of ``plotting.similarity_panels``."""
    order = np.lexsort((replicate, worm_of))
    return similarity(adjacencies[order]), [f"w{worm_names[w]} r{r}" for w, r in zip(worm_of[order], replicate[order])]


def connectome_agreement(a: np.ndarray, connectome: np.ndarray, n_permutations: int = 2000, seed: int = 0) -> dict:
    """How well an inferred graph a (N, N) matches the connectome (N, N, weights ≥ 0): Spearman
    correlation of the off-diagonal weights, ROC AUC of the inferred weight for telling
    connected from unconnected pairs, and both statistics' p-values against shuffled neuron
    labels of the connectome, with the null's central 95% interval of the ROC AUC.

    Relabelling neurons permutes the off-diagonal entries, so every relabelled connectome is an
    index map into them and its ranks a permutation of theirs: Spearman is one matrix product of
    centred ranks and the ROC AUC ``nulls.auc_from_ranks`` (what ``scipy.stats.spearmanr`` and
    ``sklearn.metrics.roc_auc_score`` compute, for all relabellings at once; the relabellings
    are ``shuffled_labels``' draws, in its order)."""
    rng = np.random.default_rng(seed)
    n = a.shape[-1]
    x, y = offdiagonal(a), offdiagonal(connectome)                          # (K,) with K = N·(N−1)
    connected = y > 0
    if connected.all() or not connected.any():
        raise ValueError(f"the connectome connects {connected.sum()} of {len(y)} neuron pairs; "
                         "a ROC AUC needs both kinds")
    perms = np.stack([rng.permutation(n) for _ in range(n_permutations)])  # (P, N), as shuffled_labels draws them
    flat = np.arange(n * n).reshape(n, n)
    position = np.full(n * n, -1)
    position[offdiagonal(flat)] = np.arange(len(y))                       # flat entry → its off-diagonal index
    moved = position[offdiagonal(flat[perms[:, :, None], perms[:, None, :]])]   # (P, K) entry each pair reads
    order = np.concatenate([np.arange(len(y))[None], moved])               # (1 + P, K), the observed first
    rank_x, rank_y = midranks(x), midranks(y)
    cx, cy = rank_x - rank_x.mean(), rank_y - rank_y.mean()
    rho = cy[order] @ cx / np.sqrt((cx @ cx) * (cy @ cy))                  # (1 + P,)
    auc = auc_from_ranks(rank_x, connected[order])                         # (1 + P,)
    low, high = np.quantile(auc[1:], [0.025, 0.975])
    return dict(spearman=float(rho[0]), roc_auc=float(auc[0]), edge_fraction=float(connected.mean()),
                p_spearman=p_at_least(rho[1:], rho[0]), p_roc_auc=p_at_least(auc[1:], auc[0]),
                null_roc_auc_low=float(low), null_roc_auc_high=float(high))


@cached
def replicate_graphs(data: TaskData, replicates: int, pooled: bool, hidden: int,
                     train_cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Static GNNs (``gnn-inferred-static``) trained ``replicates`` times — as stacked copies
    with different initialisations — either on each worm alone (``pooled=False``: every model
    infers its own worm's graph) or on all worms (``pooled=True``: every model infers every
    worm's graph). Returns adjacencies (K, N, N), the worm (K,) and the replicate (K,) of each."""
    n_worms = len(data.worms)
    owners = [None] * replicates if pooled else [w for w in range(n_worms) for _ in range(replicates)]
    train = torch.zeros(len(owners), *data.y.shape, dtype=torch.bool)
    for m, w in enumerate(owners):
        train[m] = True if w is None else torch.arange(n_worms)[:, None] == w
    torch.manual_seed(train_cfg.seed)
    model = fit(build_model("gnn-inferred-static", len(owners), data, hidden), data, train,
                train_cfg.for_model("gnn-inferred-static"), desc="graph replicates")
    pairs = ([(m, w) for m in range(len(owners)) for w in range(n_worms)] if pooled
             else [(m, w) for m, w in enumerate(owners)])
    adjacencies = static_adjacencies(model, data, pairs, train_cfg.device)
    worms = np.array([w for _, w in pairs])
    reps = np.array([m if pooled else m % replicates for m, _ in pairs])
    return adjacencies, worms, reps


def unseen_worm_edges(data: TaskData, hidden: int, train_cfg: TrainConfig, seed: int) -> tuple[int, dict]:
    """Chapter 2's picture of the inferred graphs (the paper's Fig. 3 models): a static-edge and
    a dynamic-edge GNN, each trained alone (``seed``) on the first leave-one-worm-out split of
    ``data`` (worms 1–4 of five), and the edges each infers for the worm it never saw. Returns
    that worm's index and {"static": (1, N, N), "dynamic": (T, N, N)}, T its frames."""
    train, test, _ = unseen_splits(data, len(data.worms) - 1, max_subsets=1)
    worm = int(torch.nonzero(test[0, :, 0])[0])
    n = int(data.lengths[worm])
    edges = {}
    for kind in ("static", "dynamic"):
        torch.manual_seed(seed)
        model = fit(build_model(f"gnn-inferred-{kind}", 1, data, hidden), data, train,
                    train_cfg.for_model(f"gnn-inferred-{kind}"), desc=kind)
        with torch.no_grad():
            x, present = data.x[worm:worm + 1, :n], data.present[worm:worm + 1]  # (1, T, N, F), (1, N)
            edges[kind] = model.node_states(x, present)[1][0]                     # (1|T, N, N)
    return worm, edges

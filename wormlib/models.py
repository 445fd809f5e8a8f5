"""The paper's models (Sections 3.1–3.2, Fig. 3), in plain PyTorch.

Every module carries a leading *model* dimension M: M independent copies (one per fold or per
training subset) are trained together by one optimiser, because their losses are summed and
their parameters never interact. Shapes: x (M, B, N, F) — models, frames, neurons, features;
present (M, N) — False for a neuron missing in the worm a model is looking at.

Batch normalisation uses the statistics of the batch it is given, in training and evaluation
alike: every batch holds the frames of one worm, so each worm is normalised by its own
statistics (the paper's per-worm batch normalisation, Section 4.2).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class StackedLinear(nn.Module):
    """M independent linear maps: (M, *, i) → (M, *, o)."""

    def __init__(self, m: int, i: int, o: int):
        super().__init__()
        bound = 1 / math.sqrt(i)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(m, i, o).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(m, 1, o).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, *rest, i = x.shape
        y = torch.baddbmm(self.bias, x.reshape(m, -1, i), self.weight)  # (M, prod(rest), o)
        return y.reshape(m, *rest, -1)


class StackedBatchNorm(nn.Module):
    """Batch normalisation per model over every axis but the first and the last."""

    def __init__(self, m: int, c: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(m, 1, c))
        self.bias = nn.Parameter(torch.zeros(m, 1, c))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, *rest, c = x.shape
        flat = x.reshape(m, -1, c)                                    # (M, prod(rest), C)
        mean = flat.mean(1, keepdim=True)
        var = flat.var(1, unbiased=False, keepdim=True)
        return ((flat - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias).reshape(x.shape)


class MLP(nn.Sequential):
    """2-layer perceptron: Linear → BatchNorm → ReLU → Linear."""

    def __init__(self, m: int, i: int, hidden: int, o: int):
        super().__init__(StackedLinear(m, i, hidden), StackedBatchNorm(m, hidden), nn.ReLU(),
                         StackedLinear(m, hidden, o))


class MLPClassifier(nn.Module):
    """The structure-agnostic model (Section 3.2, Fig. 3B): the nodes' features are aggregated
    by concatenation (``"concat"``) or by summation over neurons (``"sum"``) and fed to a 2-layer
    MLP g_graph. Missing neurons contribute zeros."""

    def __init__(self, m: int, n_nodes: int, n_features: int, n_out: int, hidden: int,
                 aggregate: str = "concat"):
        super().__init__()
        self.aggregate = aggregate
        width = n_nodes * n_features if aggregate == "concat" else n_features
        self.g_graph = MLP(m, width, hidden, n_out)

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        x = x * present[:, None, :, None]                           # (M, B, N, F)
        h = x.flatten(2) if self.aggregate == "concat" else x.sum(2)  # (M, B, N·F) | (M, B, F)
        return self.g_graph(h)                                      # (M, B, n_out)


class GNN(nn.Module):
    """The graph neural network of Section 3.2 (Fig. 3C).

    1. node embeddings  v_i = g_node(x_i)                                (M, B, N, H)
    2. edge weights     A_ij = σ(g_edge([v_i, v_j]))                     (M, B|1, N, N)
       ``edges="dynamic"``: one graph per frame; ``"static"``: one graph per worm, from the
       embeddings averaged over the frames of the batch (all of one worm); ``"fixed"``: a given
       adjacency (the connectome), not learned.
    3. one message-passing step  m_i = ReLU(Σ_j A_ij W v_j)  (W linear, j = i included)
    4. aggregation by concatenation: h_i = [v_i ‖ m_i]                   (M, B, N, 2H)
       (the paper found concatenation better than summation; with summation, dense inferred
       graphs make every m_i nearly the same sum over neurons and node identity is lost)
    5. readout: ``"graph"`` concatenates the N node states and applies the 2-layer MLP g_graph
       (classification); ``"node"`` applies g_out to each node (trajectory prediction, N × F).

    Missing neurons are dropped from the graph: their edges are zero and their node states are
    zeroed before the readout. Their (zero-filled) input features still enter g_node's batch
    statistics, which pool frames and neurons; a known limitation, shared by every worm that
    lacks a neuron in the same way.
    """

    def __init__(self, m: int, n_nodes: int, n_features: int, n_out: int, hidden: int,
                 edges: str = "dynamic", readout: str = "graph", adjacency: torch.Tensor | None = None,
                 edge_hidden: int = 16):
        super().__init__()
        if edges not in ("dynamic", "static", "fixed"):
            raise ValueError(f"edges must be dynamic, static or fixed, not {edges!r}")
        if (edges == "fixed") != (adjacency is not None):
            raise ValueError("an adjacency is given exactly when edges='fixed'")
        self.edges, self.readout = edges, readout
        self.g_node = MLP(m, n_features, hidden, hidden)
        if edges == "fixed":
            self.register_buffer("adjacency", adjacency.float())          # (N, N)
        else:  # g_edge's first layer acts on [v_i, v_j]: split into a sender and a receiver part
            self.edge_receiver = StackedLinear(m, hidden, edge_hidden)
            self.edge_sender = StackedLinear(m, hidden, edge_hidden)
            self.edge_out = StackedLinear(m, edge_hidden, 1)
        self.message = StackedLinear(m, hidden, hidden)
        self.g_out = (MLP(m, n_nodes * 2 * hidden, hidden, n_out) if readout == "graph"
                      else MLP(m, 2 * hidden, hidden, n_out))

    def infer_edges(self, v: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Edge weights A (M, B|1, N, N), A[..., i, j] = weight of the message j → i."""
        if self.edges == "fixed":
            a = self.adjacency.expand(v.shape[0], 1, -1, -1)
        else:
            if self.edges == "static":
                v = v.mean(1, keepdim=True)                               # (M, 1, N, H)
            e = F.relu(self.edge_receiver(v).unsqueeze(3) + self.edge_sender(v).unsqueeze(2))  # (M, B, N, N, He)
            a = torch.sigmoid(self.edge_out(e).squeeze(-1))               # (M, B, N, N)
        mask = present[:, None, :, None] & present[:, None, None, :]      # (M, 1, N, N)
        return a * mask

    def node_states(self, x: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Node states after message passing and aggregation (M, B, N, 2H), and the edge weights."""
        v = self.g_node(x)                                                # (M, B, N, H)
        a = self.infer_edges(v, present)
        w_v = self.message(v)                                             # (M, B, N, H)
        if a.shape[1] == 1:  # one graph for the whole batch: (M, N, N) @ (M, N, B·H)
            msg = torch.einsum("mij,mbjh->mbih", a[:, 0], w_v)
        else:                # one graph per frame
            msg = a @ w_v
        h = torch.cat([v, F.relu(msg)], -1)                               # (M, B, N, 2H)
        return h * present[:, None, :, None], a

    def forward(self, x: torch.Tensor, present: torch.Tensor, return_edges: bool = False):
        h, a = self.node_states(x, present)
        out = self.g_out(h.flatten(2) if self.readout == "graph" else h)  # (M, B, C) | (M, B, N, F)
        return (out, a) if return_edges else out


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of *one* of the M stacked copies."""
    m = next(model.parameters()).shape[0]
    return sum(p.numel() for p in model.parameters() if p.requires_grad) // m

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


def _column_sums(x: torch.Tensor) -> torch.Tensor:
    """Σ over axis 1 of (M, S, C) as a batched matrix product with ones: (M, 1, C). A reduction
    along the strided middle axis is several times slower on the CPU than this matmul."""
    return torch.bmm(x.new_ones(x.shape[0], 1, x.shape[1]), x)


class _StackedBatchNormFunction(torch.autograd.Function):
    """y = (x − mean) / sqrt(var + eps) · w + b with statistics over axis 1 of (M, S, C), and the
    analytic backward; every reduction is a matmul with ones (see ``_column_sums``)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        n = x.shape[1]
        mean = _column_sums(x) / n                                        # (M, 1, C)
        centred = x - mean
        var = _column_sums(centred * centred) / n
        rstd = torch.rsqrt(var + eps)
        xhat = centred.mul_(rstd)                                         # reuse the buffer
        ctx.save_for_backward(xhat, weight, rstd)
        return torch.addcmul(bias, xhat, weight)

    @staticmethod
    def backward(ctx, grad):
        xhat, weight, rstd = ctx.saved_tensors
        n = xhat.shape[1]
        grad = grad.contiguous()
        grad_bias = _column_sums(grad)                                    # (M, 1, C)
        grad_weight = _column_sums(grad * xhat)
        # dx = w·rstd·(g − mean(g) − x̂·mean(g·x̂))
        scale = weight * rstd
        grad_x = (grad - grad_bias / n - xhat * (grad_weight / n)) * scale
        return grad_x, grad_weight, grad_bias, None


class _PairwiseEdgesFunction(torch.autograd.Function):
    """A_ij = σ(w · ReLU(r_i + s_j) + b) for every pair of nodes, computed a few frames at a time.

    r, s: (M, B, N, He) receiver and sender parts of g_edge's first layer; w: (M, He, 1); b:
    (M, 1, 1) → A (M, B, N, N). The (M, B, N, N, He) hidden tensor is never held whole: each chunk
    of frames is formed, used and dropped while it is still in cache, and the backward recomputes
    it (it is cheaper to recompute than to store). Same operations as the plain expression
    ``sigmoid(edge_out(relu(r[..., :, None, :] + s[..., None, :, :])))``.
    """

    CHUNK_BYTES = 1 << 21

    @staticmethod
    def _chunks(r: torch.Tensor):
        m, b, n, he = r.shape
        size = max(1, _PairwiseEdgesFunction.CHUNK_BYTES // (m * n * n * he * r.element_size()))
        return [slice(i, min(i + size, b)) for i in range(0, b, size)]

    @staticmethod
    def forward(ctx, r, s, w, b):
        m, frames, n, he = r.shape
        z = r.new_empty(m, frames, n, n)
        for c in _PairwiseEdgesFunction._chunks(r):
            hidden = (r[:, c, :, None] + s[:, c, None]).relu_()              # (M, b, N, N, He)
            # (M, 1, He) @ (M, He, b·N·N): the same products as hidden @ w, several times faster
            # on the CPU than a matrix-vector bmm with a single output column
            z[:, c] = torch.bmm(w.transpose(1, 2), hidden.reshape(m, -1, he).transpose(1, 2)).reshape(m, -1, n, n)
        a = torch.sigmoid(z.add_(b.reshape(m, 1, 1, 1)))
        ctx.save_for_backward(r, s, w, a)
        return a

    @staticmethod
    def backward(ctx, grad_a):
        r, s, w, a = ctx.saved_tensors
        m, frames, n, he = r.shape
        grad_z = grad_a * a * (1 - a)                                     # (M, B, N, N)
        grad_r, grad_s, grad_w = torch.empty_like(r), torch.empty_like(s), torch.zeros_like(w)
        w_row = w.reshape(m, 1, 1, 1, he)
        for c in _PairwiseEdgesFunction._chunks(r):
            hidden = (r[:, c, :, None] + s[:, c, None]).relu_()              # (M, b, N, N, He)
            gz = grad_z[:, c].reshape(m, -1, 1)                              # (M, b·N·N, 1)
            grad_w += torch.bmm(gz.transpose(1, 2), hidden.reshape(m, -1, he)).transpose(1, 2)  # (M, He, 1)
            # ReLU's own backward kernel: one pass, where a product with the (hidden > 0) mask takes
            # three (it differs only in the sign of zeros, which leaves every sum below unchanged)
            grad_hidden = torch.ops.aten.threshold_backward(gz.reshape(*hidden.shape[:-1], 1) * w_row, hidden, 0)
            grad_r[:, c] = grad_hidden.sum(3)                                # Σ over senders j
            grad_s[:, c] = grad_hidden.sum(2)                                # Σ over receivers i
        return grad_r, grad_s, grad_w, grad_z.sum((1, 2, 3)).reshape(m, 1, 1)


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
        return _StackedBatchNormFunction.apply(flat, self.weight, self.bias, self.eps).reshape(x.shape)


class MLP(nn.Sequential):
    """2-layer perceptron: Linear → BatchNorm → ReLU → Linear."""

    def __init__(self, m: int, i: int, hidden: int, o: int):
        super().__init__(StackedLinear(m, i, hidden), StackedBatchNorm(m, hidden), nn.ReLU(),
                         StackedLinear(m, hidden, o))


def all_present(present: torch.Tensor) -> bool:
    """Whether a mask of present neurons can be skipped: every neuron is present, and that is
    known without waiting for the device. On the CPU the test is free; on a GPU ``bool()`` would
    stop the host until the device caught up (about 30 times per rollout step), so the mask is
    applied there whatever it holds: a product with ones is exact, so the result is the same."""
    return present.device.type == "cpu" and bool(present.all())


def mask_nodes(x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Zero the node features of missing neurons: x (M, B, N, ·), present (M, N) bool
    (skipped when :func:`all_present`)."""
    if all_present(present):
        return x
    return x * present.to(x.dtype)[:, None, :, None]


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
        x = mask_nodes(x, present)                                  # (M, B, N, F)
        h = x.flatten(2) if self.aggregate == "concat" else x.sum(2)  # (M, B, N·F) | (M, B, F)
        return self.g_graph(h)                                      # (M, B, n_out)


AGGREGATIONS = ("concat", "sum", "messages")
"""How ``GNN`` combines a neuron's embedding v_i with its incoming message m_i (step 4)."""


class GNN(nn.Module):
    """The graph neural network of Section 3.2 (Fig. 3C).

    1. node embeddings  v_i = g_node(x_i)                                (M, B, N, H)
    2. edge weights     A_ij = σ(g_edge([v_i, v_j]))                     (M, B|1, N, N)
       ``edges="dynamic"``: one graph per frame; ``"static"``: one graph per worm, from the
       embeddings averaged over the frames of the batch (all of one worm); ``"fixed"``: a given
       adjacency (the connectome), not learned.
    3. one message-passing step  m_i = ReLU(Σ_j A_ij W v_j)  (W linear, j = i included)
    4. aggregation by concatenation: h_i = [v_i ‖ m_i]                   (M, B, N, 2H)
       (the paper found concatenation better than summation, §3.2). ``aggregate="sum"``:
       h_i = v_i + m_i, and ``"messages"``: h_i = m_i alone, both (M, B, N, H): the variants
       chapter 3 measures against it ("Design choice: how the GNN aggregates").
    5. readout: ``"graph"`` concatenates the N node states and applies the 2-layer MLP g_graph
       (classification); ``"node"`` applies g_out to each node (trajectory prediction, N × F).

    Missing neurons are dropped from the graph: their edges are zero and their node states are
    zeroed before the readout. Their (zero-filled) input features still enter g_node's batch
    statistics, which pool frames and neurons; a known limitation, shared by every worm that
    lacks a neuron in the same way.
    """

    def __init__(self, m: int, n_nodes: int, n_features: int, n_out: int, hidden: int,
                 edges: str = "dynamic", readout: str = "graph", adjacency: torch.Tensor | None = None,
                 edge_hidden: int = 16, aggregate: str = "concat"):
        super().__init__()
        if edges not in ("dynamic", "static", "fixed"):
            raise ValueError(f"edges must be dynamic, static or fixed, not {edges!r}")
        if aggregate not in AGGREGATIONS:
            raise ValueError(f"aggregate must be one of {AGGREGATIONS}, not {aggregate!r}")
        if (edges == "fixed") != (adjacency is not None):
            raise ValueError("an adjacency is given exactly when edges='fixed'")
        self.edges, self.readout, self.aggregate = edges, readout, aggregate
        width = 2 * hidden if aggregate == "concat" else hidden           # of a node state h_i
        self.g_node = MLP(m, n_features, hidden, hidden)
        if edges == "fixed":
            self.register_buffer("adjacency", adjacency.float())          # (N, N)
        else:  # g_edge's first layer acts on [v_i, v_j]: split into a sender and a receiver part
            self.edge_receiver = StackedLinear(m, hidden, edge_hidden)
            self.edge_sender = StackedLinear(m, hidden, edge_hidden)
            self.edge_out = StackedLinear(m, edge_hidden, 1)
        self.message = StackedLinear(m, hidden, hidden)
        self.g_out = (MLP(m, n_nodes * width, hidden, n_out) if readout == "graph"
                      else MLP(m, width, hidden, n_out))

    def infer_edges(self, v: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Edge weights A (M, B|1, N, N), A[..., i, j] = weight of the message j → i."""
        if self.edges == "fixed":
            a = self.adjacency.expand(v.shape[0], 1, -1, -1)
        else:
            if self.edges == "static":
                v = v.mean(1, keepdim=True)                               # (M, 1, N, H)
            a = _PairwiseEdgesFunction.apply(self.edge_receiver(v), self.edge_sender(v),
                                             self.edge_out.weight, self.edge_out.bias)  # (M, B, N, N)
        if all_present(present):
            return a
        mask = present[:, None, :, None] & present[:, None, None, :]      # (M, 1, N, N)
        return a * mask.to(a.dtype)

    def node_states(self, x: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Node states after message passing and aggregation (M, B, N, 2H; H unless concatenated),
        and the edge weights."""
        v = self.g_node(x)                                                # (M, B, N, H)
        a = self.infer_edges(v, present)
        w_v = self.message(v)                                             # (M, B, N, H)
        msg = F.relu(a @ w_v)  # one graph per frame, or (M, 1, N, N) broadcast over the batch: (M, B, N, H)
        h = (torch.cat([v, msg], -1) if self.aggregate == "concat"        # (M, B, N, 2H)
             else v + msg if self.aggregate == "sum" else msg)            # (M, B, N, H)
        return mask_nodes(h, present), a

    def forward(self, x: torch.Tensor, present: torch.Tensor, return_edges: bool = False):
        h, a = self.node_states(x, present)
        out = self.g_out(h.flatten(2) if self.readout == "graph" else h)  # (M, B, C) | (M, B, N, F)
        return (out, a) if return_edges else out


class StackedGRUCell(nn.Module):
    """M independent GRU cells (the equations of ``torch.nn.GRUCell``): (M, *, i), (M, *, h)."""

    def __init__(self, m: int, i: int, h: int):
        super().__init__()
        self.from_input, self.from_hidden = StackedLinear(m, i, 3 * h), StackedLinear(m, h, 3 * h)

    def forward(self, x, h):
        xr, xz, xn = self.from_input(x).chunk(3, -1)
        hr, hz, hn = self.from_hidden(h).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        return (1 - z) * torch.tanh(xn + r * hn) + z * h


class GRUWindow(nn.Module):
    """A GRU over each neuron's window of past frames, then one of the paper's models on its last
    hidden state: the recurrent alternative to reading the window as one long feature vector.

    x (M, B, N, L·F) holds each neuron's features at L frames, lag-major (``TaskData.with_lags``:
    frame t first, the oldest last). One GRU, shared by all neurons, reads them oldest → newest;
    its state after frame t, (M, B, N, H), is the node feature of ``head`` (built for H features).
    Per neuron and shared, so the graph parts stay equivariant to neuron order."""

    def __init__(self, m: int, n_lags: int, n_features: int, hidden: int, head: nn.Module):
        super().__init__()
        self.n_lags, self.hidden, self.head = n_lags, hidden, head
        self.cell = StackedGRUCell(m, n_features, hidden)

    def forward(self, x: torch.Tensor, present: torch.Tensor, **kw):
        m, b, n, _ = x.shape
        frames = x.reshape(m, b * n, self.n_lags, -1)                    # (M, B·N, L, F)
        h = x.new_zeros(m, b * n, self.hidden)
        for lag in reversed(range(self.n_lags)):                          # oldest frame first
            h = self.cell(frames[:, :, lag], h)                           # (M, B·N, H)
        return self.head(h.reshape(m, b, n, self.hidden), present, **kw)  # (M, B·N, H) → (M, B, N, H)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of *one* of the M stacked copies."""
    m = next(model.parameters()).shape[0]
    return sum(p.numel() for p in model.parameters() if p.requires_grad) // m

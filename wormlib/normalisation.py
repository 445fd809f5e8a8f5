"""One normalisation contract for every model: how a worm's inputs are put on a common scale.

Every model reads each neuron's [trace, derivative] (``preprocess.neuron_features``). What the
models then do to put worms on one scale is a named *contract*, applied the same way to the
networks (batch normalisation), the linear models and the SVM (standardisation) and ADMM
(z-scoring), so that a comparison of two models never compares two normalisations as well:

``per-worm`` (the book's contract; the paper's for its networks, Section 4.2)
    features scaled to [0, 1] over the worm's whole recording, then standardised with the
    worm's own mean and variance over its whole recording (a network's batch norm computes them
    on the test worm at prediction time). A test frame's scale depends on the whole test
    recording, its future included.
``causal-per-worm``
    the same from the past only: frame t is scaled by the minimum and maximum, and standardised
    by the mean and variance, of frames ≤ t of its worm (batch norm with running statistics; the
    static GNN's graph from the embeddings of frames ≤ t); with the causal derivative, nothing
    reads a later frame.
``training-worms``
    the standardisation's statistics come from the training worms' frames (a scaler fitted on
    them; batch norm frozen at them after training). A test worm contributes only its own
    [0, 1] scaling.

A model name may carry its contract as a suffix, ``<model>@<contract>``; a name without one runs
under the book's contract. :func:`contract_of` reads it, and ``evaluate.paired_difference``
refuses to compare two models under different contracts unless asked to (chapter 5's
normalisation section, which measures the contracts themselves).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from .models import GNN, StackedBatchNorm
from .train import TaskData

CONTRACTS = {
    "per-worm": "each worm by its own statistics over its whole recording (sees the whole test recording)",
    "causal-per-worm": "each worm by running statistics of its frames up to t (past only)",
    "training-worms": "standardised with statistics of the training worms' frames (test worm: own [0, 1] only)",
}
BOOK_CONTRACT = "per-worm"


class ContractError(ValueError):
    """Two models compared under different normalisation contracts."""


def contract_of(model: str) -> str:
    """The contract a model name runs under: its ``@<contract>`` suffix, else the book's."""
    _, _, contract = model.partition("@")
    contract = contract or BOOK_CONTRACT
    if contract not in CONTRACTS:
        raise ValueError(f"unknown normalisation contract {contract!r} in {model!r}; choose from {', '.join(CONTRACTS)}")
    return contract


def check_same_contract(model_a: str, model_b: str, scores=None) -> None:
    """ContractError when ``model_a`` and ``model_b`` run under different contracts, by their
    names or, where ``scores`` records it, by its ``normalisation`` column."""
    contracts = {contract_of(model_a), contract_of(model_b)}
    if scores is not None and "normalisation" in scores:
        contracts |= set(scores.loc[scores.model.isin([model_a, model_b]), "normalisation"].dropna())
    if len(contracts) > 1:
        raise ContractError(f"{model_a} and {model_b} are scored under {' and '.join(sorted(contracts))}: the "
                            "comparison would measure the normalisation as well as the models "
                            "(across_contracts=True where that is the point).")


# ------------------------------------------------------------------------------------------
# Features and linear models
# ------------------------------------------------------------------------------------------

def running_minmax(data: TaskData) -> TaskData:
    """``data`` with each worm's features rescaled to [0, 1] by the minimum and maximum of its
    frames ≤ t (0 while they are equal). Min–max scaling commutes with the per-recording [0, 1]
    scaling ``data`` already has, so this equals running min–max of the raw features."""
    x = data.x                                                              # (W, T, N, F)
    valid = torch.arange(x.shape[1])[None, :] < data.lengths[:, None]      # (W, T)
    big = torch.finfo(x.dtype).max
    lo = torch.where(valid[..., None, None], x, big).cummin(1).values
    hi = torch.where(valid[..., None, None], x, -big).cummax(1).values
    span = hi - lo
    from dataclasses import replace

    scaled = torch.where(span > 0, (x - lo) / torch.where(span > 0, span, 1.0), 0.0)
    return replace(data, x=scaled * valid[..., None, None])


def standardise(x: np.ndarray, lengths, contract: str) -> np.ndarray:
    """(W, T, D) features → each worm's frames standardised by its own mean and sd over its whole
    recording (``per-worm``) or over its frames ≤ t (``causal-per-worm``); padding stays 0. A
    constant column stays 0. ``training-worms`` is a scaler fitted on the training frames
    (``experiments.fit_predict_baseline``), not a property of each worm alone."""
    z = np.zeros_like(x)
    for w, n in enumerate(int(n) for n in lengths):
        own = x[w, :n].astype(np.float64)                                   # (T_w, D)
        if contract == "per-worm":
            mean, var = own.mean(0), own.var(0)
        elif contract == "causal-per-worm":
            count = np.arange(1, n + 1)[:, None]
            mean = own.cumsum(0) / count
            var = np.maximum((own * own).cumsum(0) / count - mean * mean, 0.0)
        else:
            raise ValueError(f"standardise takes per-worm or causal-per-worm, not {contract!r}")
        sd = np.sqrt(var)
        z[w, :n] = np.where(sd > 1e-12, (own - mean) / np.where(sd > 1e-12, sd, 1.0), 0.0)
    return z


# ------------------------------------------------------------------------------------------
# Networks: batch normalisation under a contract
# ------------------------------------------------------------------------------------------

class FixedStatisticsBatchNorm(nn.Module):
    """A trained ``StackedBatchNorm`` that normalises with given statistics (M, 1, C) instead of
    its batch's. They are frozen parameters, so that ``train.predict``'s per-model slicing carries
    them with the model's own."""

    def __init__(self, bn: StackedBatchNorm, mean: torch.Tensor, var: torch.Tensor):
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps
        self.mean = nn.Parameter(mean.float(), requires_grad=False)
        self.var = nn.Parameter(var.float(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, *rest, c = x.shape
        flat = x.reshape(m, -1, c)                                          # (M, prod(rest), C)
        return ((flat - self.mean) * torch.rsqrt(self.var + self.eps) * self.weight + self.bias).reshape(x.shape)


class RunningBatchNorm(nn.Module):
    """A trained ``StackedBatchNorm`` that normalises frame t with the statistics of frames ≤ t of
    the worm it is given whole (axis 1 is time, as in ``train.predict``; other axes but the last,
    e.g. neurons, are pooled as in training)."""

    def __init__(self, bn: StackedBatchNorm):
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, t, c = x.shape[0], x.shape[1], x.shape[-1]
        frames = x.reshape(m, t, -1, c).double()                           # (M, T, R, C)
        count = frames.shape[2] * torch.arange(1, t + 1, dtype=torch.float64)[:, None]  # (T, 1)
        mean = frames.sum(2).cumsum(1) / count                             # (M, T, C)
        var = ((frames * frames).sum(2).cumsum(1) / count - mean * mean).clamp(min=0)
        xhat = (frames - mean[:, :, None]) * torch.rsqrt(var + self.eps)[:, :, None]
        return (xhat.float() * self.weight[:, None] + self.bias[:, None]).reshape(x.shape)


class PastOnlyGraphGNN(GNN):
    """The static GNN whose graph at frame t is inferred from the node embeddings averaged over
    frames ≤ t (the paper's static graph averages the worm's frames, its future included)."""

    def infer_edges(self, v: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        if self.edges != "static":
            return super().infer_edges(v, present)
        steps = torch.arange(1, v.shape[1] + 1, dtype=v.dtype, device=v.device)[:, None, None]
        running = v.cumsum(1) / steps                                       # (M, T, N, H)
        self.edges = "dynamic"                                              # one graph per frame
        try:
            return super().infer_edges(running, present)
        finally:
            self.edges = "static"


def _batch_norms(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, StackedBatchNorm)]


def causal_network(model: nn.Module) -> nn.Module:
    """A copy of a trained ``model`` under the ``causal-per-worm`` contract: running batch-norm
    statistics, and (static GNN) the graph from past frames only."""
    model = copy.deepcopy(model)
    for name in _batch_norms(model):
        model.set_submodule(name, RunningBatchNorm(model.get_submodule(name)))
    for module in model.modules():
        if type(module) is GNN and module.edges == "static":
            module.__class__ = PastOnlyGraphGNN
    return model


@torch.no_grad()
def frozen_network(model: nn.Module, data: TaskData, train_mask: torch.Tensor) -> nn.Module:
    """A copy of a trained ``model`` under the ``training-worms`` contract: each batch norm fixed
    at its input's mean and variance over each stacked model's labelled training frames
    (``train_mask``: (M, W, T)), layer by layer in forward order (a later layer's statistics are
    taken with the earlier layers already fixed). Each training worm is passed whole, as
    ``train.predict`` passes a test worm (the static GNN's graph is the worm's own)."""
    model = copy.deepcopy(model).cpu().eval()
    weights = (train_mask & data.labelled).double()                        # (M, W, T)
    params = dict(model.named_parameters())
    n_models = weights.shape[0]
    for name in _batch_norms(model):
        bn = model.get_submodule(name)
        sums = torch.zeros(n_models, 3, bn.weight.shape[-1], dtype=torch.float64)  # Σ1, Σx, Σx²
        for m in range(n_models):
            sliced = {k: v[m:m + 1] for k, v in params.items()}
            for w in torch.nonzero(weights[m].any(-1)).ravel().tolist():
                n = int(data.lengths[w])
                frame_weight = weights[m, w, :n]                            # (T_w,)

                def accumulate(module, args, m=m, frame_weight=frame_weight):
                    x = args[0].reshape(1, n, -1, args[0].shape[-1]).double()[0]  # (T_w, R, C)
                    sums[m, 0] += frame_weight.sum() * x.shape[1]
                    sums[m, 1] += torch.einsum("t,trc->c", frame_weight, x)
                    sums[m, 2] += torch.einsum("t,trc->c", frame_weight, x * x)

                hook = bn.register_forward_pre_hook(accumulate)
                try:
                    functional_call(model, sliced, (data.x[w, :n][None], data.present[w][None]))
                finally:
                    hook.remove()
        mean = sums[:, 1] / sums[:, 0]
        var = (sums[:, 2] / sums[:, 0] - mean * mean).clamp(min=0)
        model.set_submodule(name, FixedStatisticsBatchNorm(bn, mean[:, None], var[:, None]))
        params = dict(model.named_parameters())
    return model

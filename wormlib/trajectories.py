"""Neuron-level trajectory prediction (Sections 3.1 and 5.2, Fig. 5).

Markovian models predict the change of every neuron's [trace, derivative] from the current
frame, X̂(t+1) = X(t) + f(X(t)) (the paper's Eqs. 4–5); several steps are predicted by feeding
the prediction back. Recurrent variants carry a hidden state: a GRU cell between an encoder and
a decoder, warmed up on ``BURN_IN`` true frames. Training unrolls ``TRAIN_STEPS`` steps with
scheduled sampling (Bengio et al. 2015); evaluation predicts ``EVAL_STEPS`` steps from one frame.

Every model here has the same interface: ``step(x, present, state) -> (x_next, state)`` on
stacked tensors x (M, B, N, F), so ``rollout`` serves the learned models and the two baselines
alike (persistence: X̂(t+k) = X(t); linear: f(X) = X·A + b fitted by least squares).

The autoregressive baseline (``"linear-ar"``) is the linear model on the last p frames,
ΔX(t+1) = Σ_k X(t−k)·A_k + b, with p ∈ ``AR_ORDERS`` chosen per split by its 16-step rollout
error on held-out training worms (``select_ar_order``): a reviewer's baseline for what a
neuron's own recent past predicts, not a model of the paper.

Which choices are ours (the text does not give them): the GRU (the paper says "RNN"), the linear
scheduled-sampling ramp, the loss (MSE over every predicted step) and the evaluation windows
(non-overlapping, of BURN_IN + EVAL_STEPS frames, so that every model predicts the same frames),
and, for the Markovian GNN, a graph inferred per frame from the frame it steps from
(``"gnn"``; ``"gnn-static"`` infers one graph per step from the whole batch of windows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from .experiments import replicate
from .models import GNN, MLP, StackedGRUCell, StackedLinear
from .runtime import keep_freed_memory, to_device
from .store import cached
from .train import TaskData, TrainConfig, after_step, make_optimiser, worm_schedule

BURN_IN = 4       # true frames a recurrent model sees before it predicts (Section 5.2)
TRAIN_STEPS = 8   # predicted steps in training (12 frames with the burn-in)
EVAL_STEPS = 16   # predicted steps in evaluation (20 frames with the burn-in)
LEARNED = ("mlp", "gnn", "gnn-static", "mlp-gru", "gnn-gru")
GRAPH_NETWORKS = ("gnn", "gnn-static", "gnn-gru")
"""The learned models that pass messages between neurons (the others read the concatenated frame)."""
BASELINES = ("persistence", "linear", "linear-ar")
AR_ORDERS = (1, 2, 3, 4)
"""Candidate orders p of the autoregressive baseline (chosen per split on its training worms).
At most BURN_IN: the frames before a window's initial frame supply the lags."""
AR_HOLDOUT = 0.2  # with one training worm, the order is chosen on the last fifth of its recording
Segment = tuple[int, int, int]  # (worm, first frame, end frame) of a stretch of a recording
MODELS = BASELINES + LEARNED


def sampling_probability(step: int, total: int, ramp: float = 0.75) -> float:
    """Scheduled sampling (Bengio et al. 2015): the probability that a training step feeds the
    model its own prediction rather than the true frame. Rises linearly from 0 (teacher forcing)
    at the first step to 1 (free running) at ``ramp`` of training, then stays at 1."""
    return float(min(1.0, step / max(1.0, ramp * (total - 1))))


# ------------------------------------------------------------------------------------------
# Models: step(x (M, B, N, F), present (M, N), state) -> (x_next, state)
# ------------------------------------------------------------------------------------------

class Persistence(nn.Module):
    """Baseline: the last frame repeated. Parameter-free; ``m`` says how many stacked models it
    stands for, so that it is evaluated like any other stack."""

    recurrent = False

    def __init__(self, m: int):
        super().__init__()
        self.n_models = m

    def step(self, x, present, state=None):
        return x, None


def stack_size(model: nn.Module) -> int:
    """M, the number of stacked models of a trajectory model."""
    return getattr(model, "n_models", None) or next(model.parameters()).shape[0]


class Markov(nn.Module):
    """X̂(t+1) = X(t) + f(X(t)) (Eqs. 4–5), f any map (M, B, N, F) → (M, B, N, F)."""

    recurrent = False

    def __init__(self, f: nn.Module):
        super().__init__()
        self.f = f

    def step(self, x, present, state=None):
        return (x + self.f(x, present)) * present[:, None, :, None], None


class AutoRegressive(nn.Module):
    """Baseline: ΔX(t+1) = Σ_{k<p} X(t−k)·A_k + b on the concatenated N·F features (missing
    neurons as zeros), fitted by least squares (``fit_autoregressive``). Each stacked model has
    its own order p ≤ ``max_order`` (the coefficients of further lags are zero). The state is
    the last ``max_order − 1`` frames, so the burn-in supplies the lags; before it is full the
    oldest frame is repeated (only in the burn-in, whose predictions are discarded)."""

    recurrent = True

    def __init__(self, m: int, n_nodes: int, n_features: int, max_order: int = max(AR_ORDERS)):
        super().__init__()
        self.max_order = max_order
        self.map = StackedLinear(m, max_order * n_nodes * n_features, n_nodes * n_features)
        self.register_buffer("order", torch.full((m,), max_order))

    def step(self, x, present, state=None):
        mask = present[:, None, :, None]
        x = x * mask
        past = list(state or [])                                          # oldest … newest
        lags = [x] + past[::-1]                                           # X(t), X(t−1), …
        lags += lags[-1:] * (self.max_order - len(lags))
        delta = self.map(torch.cat([f.flatten(2) for f in lags], -1))      # (M, B, p·N·F) → (M, B, N·F)
        keep = self.max_order - 1
        return (x + delta.reshape(x.shape)) * mask, ((past + [x])[-keep:] if keep else [])


class FlatMap(nn.Module):
    """f on the concatenated N·F features of a frame (missing neurons as zeros), through ``map``:
    a 2-layer MLP (the structure-agnostic model of Section 3.2 with dim(H_out) = N × 2) or a
    linear map (the baseline, fitted by ``fit_linear``)."""

    def __init__(self, map: nn.Module):
        super().__init__()
        self.map = map

    def forward(self, x, present):
        x = x * present[:, None, :, None]
        return self.map(x.flatten(2)).reshape(x.shape)                    # (M, B, N·F) → (M, B, N, F)


class Recurrent(nn.Module):
    """The non-Markovian variants: encoder → GRU → decoder, X̂(t+1) = X(t) + decoder(h_t).

    ``"mlp"``: one hidden state per frame; the encoder is the 2-layer MLP on the concatenated
    features. ``"gnn"``: one hidden state per neuron (a GRU shared by all neurons); the encoder
    is the GNN up to its aggregated node states [v_i ‖ m_i], the decoder a per-node MLP.
    """

    recurrent = True

    def __init__(self, encoder: str, m: int, n_nodes: int, n_features: int, hidden: int):
        super().__init__()
        self.encoder = encoder
        if encoder == "mlp":
            self.encode = MLP(m, n_nodes * n_features, hidden, hidden)
            self.decode = MLP(m, hidden, hidden, n_nodes * n_features)
            self.cell = StackedGRUCell(m, hidden, hidden)
        elif encoder == "gnn":
            self.gnn = GNN(m, n_nodes, n_features, n_features, hidden, edges="dynamic", readout="node")
            del self.gnn.g_out  # the GRU and ``decode`` replace the GNN's readout
            self.decode = MLP(m, hidden, hidden, n_features)
            self.cell = StackedGRUCell(m, 2 * hidden, hidden)
        else:
            raise ValueError(f"encoder must be mlp or gnn, not {encoder!r}")
        self.hidden = hidden

    def step(self, x, present, state=None):
        mask = present[:, None, :, None]
        if self.encoder == "mlp":
            e = self.encode((x * mask).flatten(2))                        # (M, B, H)
        else:
            e = self.gnn.node_states(x, present)[0]                       # (M, B, N, 2H)
        h = self.cell(e, torch.zeros(*e.shape[:-1], self.hidden, device=x.device) if state is None else state)
        delta = self.decode(h).reshape(x.shape)                           # (M, B, N, F)
        return (x + delta) * mask, h


def build_model(name: str, m: int, n_nodes: int, n_features: int, hidden: int) -> nn.Module:
    """A stack of ``m`` copies of the named trajectory model."""
    if name == "persistence":
        return Persistence(m)
    if name == "linear":
        return Markov(FlatMap(StackedLinear(m, n_nodes * n_features, n_nodes * n_features)))
    if name == "linear-ar":
        return AutoRegressive(m, n_nodes, n_features)
    if name == "mlp":
        return Markov(FlatMap(MLP(m, n_nodes * n_features, hidden, n_nodes * n_features)))
    if name in ("gnn", "gnn-static"):  # "gnn": a graph per frame, inferred from the frame it steps from
        edges = "static" if name == "gnn-static" else "dynamic"
        return Markov(GNN(m, n_nodes, n_features, n_features, hidden, edges=edges, readout="node"))
    if name in ("mlp-gru", "gnn-gru"):
        return Recurrent(name.split("-")[0], m, n_nodes, n_features, hidden)
    raise ValueError(f"unknown trajectory model {name!r}; choose from {MODELS}")


# ------------------------------------------------------------------------------------------
# Rollout, training, evaluation
# ------------------------------------------------------------------------------------------

def rollout(model: nn.Module, window: torch.Tensor, present: torch.Tensor, n_steps: int,
            p_feedback: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Predict the last ``n_steps`` frames of ``window`` (M, B, L, N, F) from the frames before.

    A recurrent model is warmed up on frames 0 … L−n_steps−2 (the burn-in); every model then
    steps from frame L−n_steps−1 (the initial condition). After each step the next input is the
    model's own prediction with probability ``p_feedback`` (per window), else the true frame:
    1 = free running (evaluation), 0 = teacher forcing, in between = scheduled sampling.
    Returns the predictions (M, B, n_steps, N, F).
    """
    start = window.shape[2] - n_steps - 1
    state = None
    if getattr(model, "recurrent", False):
        for t in range(start):
            _, state = model.step(window[:, :, t], present, state)
    x, predictions = window[:, :, start], []
    for k in range(n_steps):
        pred, state = model.step(x, present, state)
        predictions.append(pred)
        truth = window[:, :, start + k + 1]
        if p_feedback >= 1:
            x = pred
        elif p_feedback <= 0:
            x = truth
        else:
            coin = to_device(torch.rand(pred.shape[:2], generator=generator), pred.device) < p_feedback  # (M, B)
            x = torch.where(coin[:, :, None, None], pred, truth)
    return torch.stack(predictions, 2)                                    # (M, B, S, N, F)


def window_mse(pred: torch.Tensor, truth: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Mean squared error per model, window and step over present neurons and features:
    pred, truth (M, B, S, N, F), present (M, N) → (M, B, S)."""
    sq = (pred - truth) ** 2 * present[:, None, None, :, None]
    return sq.sum((3, 4)) / (present.sum(1)[:, None, None] * pred.shape[-1])


def step_mse(pred: torch.Tensor, truth: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """``window_mse`` averaged over windows: (M, S)."""
    return window_mse(pred, truth, present).mean(1)


def spans_transition(y: torch.Tensor, starts: torch.Tensor, n_steps: int = EVAL_STEPS) -> torch.Tensor:
    """(B,) bool: whether the label ``y`` (T,) changes between a window's initial frame and its
    last predicted frame — a behavioural transition (a bifurcation of the dynamics) inside the
    prediction. Changes to or from an excluded label (-1, e.g. a turn) count as transitions."""
    frames = starts[:, None] + BURN_IN - 1 + torch.arange(n_steps + 1)     # (B, S+1)
    labels = y[frames]
    return (labels != labels[:, :1]).any(1)


def gather_windows(x: torch.Tensor, worm: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """Windows of ``length`` frames: x (W, T, N, F), worm (M,), starts (M, B) → (M, B, L, N, F)."""
    frames = starts[..., None] + torch.arange(length, device=starts.device)  # (M, B, L)
    return x[worm[:, None, None], frames]


def _flat(data: TaskData) -> torch.Tensor:
    """The frames as the linear baselines see them: (W, T, N·F) float64, missing neurons zero."""
    return (data.x * data.present[:, None, :, None]).flatten(2).double()


def _whole(data: TaskData, worms: list[int]) -> list[Segment]:
    return [(w, 0, int(data.lengths[w])) for w in worms]


def fit_linear(model: Markov, data: TaskData, train_worms: torch.Tensor, ridge: float = 1e-3) -> Markov:
    """Least-squares fit of the linear baseline's ΔX = X·A + b on every pair of consecutive
    frames of each model's training worms (``train_worms``: (M, W) bool), ridge-regularised:
    the autoregressive fit of order 1."""
    x = _flat(data)
    for m, row in enumerate(train_worms):
        coef = _ar_solution(x, _whole(data, torch.nonzero(row).ravel().tolist()), 1, 1, ridge)
        with torch.no_grad():
            model.f.map.weight[m] = coef[:-1].float()
            model.f.map.bias[m, 0] = coef[-1].float()
    return model


def _ar_solution(x: torch.Tensor, segments: list[Segment], order: int, max_order: int,
                 ridge: float) -> torch.Tensor:
    """Ridge least squares of ΔX(t+1) on [X(t), …, X(t−p+1), 1] over every frame t of the
    ``segments`` with p − 1 frames before it; x (W, T, N·F) float64. Returns the coefficients
    ((max_order · N·F + 1), N·F), zero for lags ≥ p, the bias last."""
    d = x.shape[-1]
    lagged, targets = [], []
    for w, lo, hi in segments:
        seg = x[w, lo:hi]                                                  # (L, N·F)
        n = len(seg) - order                                               # frames t = p−1 … L−2
        lagged.append(torch.cat([seg[order - 1 - k: order - 1 - k + n] for k in range(order)], 1))
        targets.append(seg[order:] - seg[order - 1: -1])
    design = torch.cat(lagged)                                             # (P, p·N·F)
    design = torch.cat([design, torch.ones(len(design), 1, dtype=x.dtype)], 1)
    gram = design.T @ design + ridge * len(design) * torch.eye(design.shape[1], dtype=x.dtype)
    coef = torch.linalg.solve(gram, design.T @ torch.cat(targets))        # (p·N·F + 1, N·F)
    full = torch.zeros(max_order * d + 1, d, dtype=x.dtype)
    full[: order * d], full[-1] = coef[:-1], coef[-1]
    return full


def _set_ar(model: AutoRegressive, m: int, coef: torch.Tensor, order: int) -> None:
    with torch.no_grad():
        model.map.weight[m] = coef[:-1].float()
        model.map.bias[m, 0] = coef[-1].float()
        model.order[m] = order


def select_ar_order(data: TaskData, worms: list[int], orders: tuple[int, ...] = AR_ORDERS,
                    ridge: float = 1e-3) -> tuple[int, dict[int, float]]:
    """The order p of the autoregressive baseline chosen on training worms only: the mean
    EVAL_STEPS-step rollout MSE of each candidate fitted on all training worms but one and
    evaluated on that one, over every such fold (a single training worm: fitted on the first
    four fifths of its recording, evaluated on the last fifth). Returns (p, mean MSE per p)."""
    x = _flat(data)
    whole = dict(zip(worms, _whole(data, worms)))
    if len(worms) > 1:
        folds = [([whole[u] for u in worms if u != v], whole[v]) for v in worms]
    else:
        w, _, end = whole[worms[0]]
        cut = int(round(end * (1 - AR_HOLDOUT)))
        folds = [([(w, 0, cut)], (w, cut, end))]
    errors = []
    for fitted, (v, lo, hi) in folds:
        model = AutoRegressive(len(orders), data.x.shape[2], data.x.shape[3], max(orders))
        for i, p in enumerate(orders):
            _set_ar(model, i, _ar_solution(x, fitted, p, max(orders), ridge), p)
        pred, truth = predict(model, data, v, lo + eval_starts(hi - lo))
        mse = step_mse(pred, truth.expand_as(pred), data.present[v].expand(len(orders), -1))  # (M, S)
        errors.append(mse.mean(1))
    mean = torch.stack(errors).mean(0)
    return orders[int(mean.argmin())], dict(zip(orders, mean.tolist()))


def fit_autoregressive(model: AutoRegressive, data: TaskData, train_worms: torch.Tensor,
                       ridge: float = 1e-3) -> AutoRegressive:
    """Per stacked model: its order chosen on its training worms (``select_ar_order``), then
    the least-squares fit on all of them (with p = 1, exactly ``fit_linear``)."""
    x = _flat(data)
    for m, row in enumerate(train_worms):
        ws = torch.nonzero(row).ravel().tolist()
        p, _ = select_ar_order(data, ws, ridge=ridge)
        _set_ar(model, m, _ar_solution(x, _whole(data, ws), p, model.max_order, ridge), p)
    return model


def fit(model: nn.Module, data: TaskData, train_worms: torch.Tensor, cfg: TrainConfig,
        n_steps: int = TRAIN_STEPS, desc: str = "training", on_step=None) -> nn.Module:
    """Train M stacked trajectory models (``train_worms``: (M, W) bool) on windows of
    BURN_IN + n_steps frames drawn from one worm per model and step (per-worm batch
    normalisation, as in ``wormlib.train.fit``), with the loss the MSE over all predicted steps
    and scheduled sampling (``sampling_probability``). Baselines are fitted in closed form.
    ``on_step``: as ``wormlib.train.fit``'s."""
    if isinstance(model, Persistence):
        return model
    if isinstance(model, Markov) and isinstance(getattr(model.f, "map", None), StackedLinear):
        return fit_linear(model, data, train_worms)
    if isinstance(model, AutoRegressive):
        return fit_autoregressive(model, data, train_worms)
    keep_freed_memory()
    gen = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device).train()
    x, present, lengths = data.x.to(device), data.present.to(device), data.lengths
    length = BURN_IN + n_steps
    optimiser = make_optimiser(model, cfg)
    schedule = worm_schedule(train_worms, cfg.steps, gen)
    for step, worm in enumerate(tqdm(schedule, total=cfg.steps, desc=desc, leave=False, mininterval=2, disable=None)):
        starts = (torch.rand(len(worm), cfg.batch_size, generator=gen)
                  * (lengths[worm] - length + 1)[:, None]).long()           # (M, B)
        w_dev = to_device(worm, device)
        window = gather_windows(x, w_dev, to_device(starts, device), length)        # (M, B, L, N, F)
        pred = rollout(model, window, present[w_dev], n_steps, sampling_probability(step, cfg.steps), gen)
        loss = step_mse(pred, window[:, :, -n_steps:], present[w_dev]).mean(1).sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        after_step(model, on_step, step)
    return model


def eval_starts(length: int, window: int = BURN_IN + EVAL_STEPS) -> torch.Tensor:
    """Starts of the non-overlapping evaluation windows of a recording of ``length`` frames."""
    return torch.arange(0, length - window + 1, window)


@torch.no_grad()
def predict(model: nn.Module, data: TaskData, worm: int, starts: torch.Tensor, n_steps: int = EVAL_STEPS,
            device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Free-running predictions of every stacked model on one worm, from the windows beginning
    at ``starts`` (B,), all in one batch (batch normalisation sees that worm's windows):
    (predictions (M, B, S, N, F), truth (1, B, S, N, F)). A window's first BURN_IN frames are
    the recurrent models' burn-in; every model starts from the frame after them."""
    model.to(device).eval()
    n_models = stack_size(model)
    window = gather_windows(data.x.to(device), torch.tensor([worm], device=device), starts[None].to(device),
                            BURN_IN + n_steps)                              # (1, B, L, N, F)
    present = data.present[worm].to(device).expand(n_models, -1)            # (M, N)
    pred = rollout(model, window.expand(n_models, *window.shape[1:]), present, n_steps)
    return pred.cpu(), window[:, :, -n_steps:].cpu()


def evaluate(model: nn.Module, data: TaskData, needed: torch.Tensor, device: str = "cpu") -> np.ndarray:
    """MSE per model, worm and prediction step, (M, W, EVAL_STEPS), over the worm's
    non-overlapping evaluation windows; NaN where a model is not ``needed`` ((M, W) bool)."""
    out = np.full((*needed.shape, EVAL_STEPS), np.nan)
    for w in range(len(data.worms)):
        if not needed[:, w].any():
            continue
        pred, truth = predict(model, data, w, eval_starts(int(data.lengths[w])), device=device)
        mse = step_mse(pred, truth.expand_as(pred), data.present[w].expand(pred.shape[0], -1))  # (M, S)
        out[needed[:, w].numpy(), w] = mse[needed[:, w]].numpy()
    return out


def run(names: tuple[str, ...], data: TaskData, splits, hidden: int,
        cfg: TrainConfig) -> tuple[pd.DataFrame, dict[str, nn.Module]]:
    """Train each named model on every split at once (stacked) and evaluate it on the worms the
    split tests. ``splits``: (train (M, W, T), test (M, W, T), descriptions), as made by
    ``wormlib.experiments.unseen_splits`` or ``transfer_split``. Returns one row per model ×
    split × test worm × step with its ``mse``, and the trained stacks by name (an experiment of
    ``wormlib.store``: ``trained`` keeps their weights, and they are rebuilt from them)."""
    rows, states = trained(names, data, splits, hidden, cfg)
    return rows, _rebuilt(states, len(splits[2]), data, hidden, cfg.device)


def _rebuilt(states: dict[str, dict[str, torch.Tensor]], n_models: int, data: TaskData, hidden: int,
             device: str) -> dict[str, nn.Module]:
    """Stacks of ``n_models`` models rebuilt from their ``state_dict``s, by name."""
    models = {}
    for name, state in states.items():
        model = build_model(name, n_models, data.x.shape[2], data.x.shape[3], hidden)
        model.load_state_dict(state)
        models[name] = model.to(device)
    return models


@cached
def trained(names: tuple[str, ...], data: TaskData, splits, hidden: int,
            cfg: TrainConfig) -> tuple[pd.DataFrame, dict[str, dict[str, torch.Tensor]]]:
    """``run``'s rows and each trained stack's weights and buffers (``state_dict``, on the CPU)."""
    rows, models = _run(names, data, splits, hidden, cfg)
    return rows, {name: {k: v.detach().cpu() for k, v in m.state_dict().items()} for name, m in models.items()}


def _run(names: tuple[str, ...], data: TaskData, splits, hidden: int,
         cfg: TrainConfig) -> tuple[pd.DataFrame, dict[str, nn.Module]]:
    data.check_one_rate("Trajectory steps")
    train, test, info = splits
    train_worms, needed = train.any(-1), test.any(-1)                      # (M, W)
    rows, models = [], {}
    for name in names:
        torch.manual_seed(cfg.seed)
        model = build_model(name, len(info), data.x.shape[2], data.x.shape[3], hidden)
        models[name] = fit(model, data, train_worms, cfg if name in BASELINES else cfg.for_model(name), desc=name)
        mse = evaluate(model, data, needed, cfg.device)                    # (M, W, S)
        for m, split in enumerate(info):
            for w in torch.nonzero(needed[m]).ravel().tolist():
                rows += [dict(split, model=name, test=data.worms[w], step=s + 1, mse=float(mse[m, w, s]))
                         for s in range(EVAL_STEPS)]
    return pd.DataFrame(rows), models


def run_seeds(names: tuple[str, ...], data: TaskData, splits, hidden: int, cfg: TrainConfig,
              n_seeds: int) -> tuple[pd.DataFrame, dict[str, nn.Module]]:
    """``run`` with the learned models in ``n_seeds`` independently initialised replicates
    (stacked: split i of seed r is model r·S + i) and the baselines once. Returns one row per
    model × split × seed × test worm × step, with ``mse``, ``seed`` and ``failed`` (the
    replicate failed to fit its own training worms: :func:`failed_to_fit`; never for a
    baseline), which :func:`seed_means` averages; and every model's stack of seed 0 (S models,
    aligned with ``splits``: the baselines' only stack), rebuilt from ``trained_seeds``."""
    rows, states = trained_seeds(names, data, splits, hidden, cfg, n_seeds)
    return rows, _rebuilt(states, len(splits[2]), data, hidden, cfg.device)


@cached
def trained_seeds(names: tuple[str, ...], data: TaskData, splits, hidden: int, cfg: TrainConfig,
                  n_seeds: int) -> tuple[pd.DataFrame, dict[str, dict[str, torch.Tensor]]]:
    """``run_seeds``' rows and the weights of every model's seed-0 stack (``state_dict``s on the
    CPU, cut to the first S members: every tensor of a stack leads with the model dimension)."""
    baselines = tuple(n for n in names if n in BASELINES)
    learned = tuple(n for n in names if n not in BASELINES)
    n_splits = len(splits[2])
    replicated = replicate(splits, n_seeds)
    rows, models = _run(learned, data, replicated, hidden, cfg)
    failed = {(name, r["seed"], r["train"]): bool(f) for name in learned
              for r, f in zip(replicated[2], failed_to_fit(models[name], data, replicated[0].any(-1), cfg.device))}
    rows["failed"] = [failed[key] for key in zip(rows.model, rows.seed, rows.train)]
    parts = [rows]
    states = {name: {k: v.detach().cpu()[:n_splits] for k, v in m.state_dict().items()}
              for name, m in models.items()}
    if baselines:
        fitted, fitted_models = _run(baselines, data, splits, hidden, cfg)
        parts.insert(0, fitted.assign(seed=0, failed=False))
        states = {**{name: {k: v.detach().cpu() for k, v in m.state_dict().items()}
                     for name, m in fitted_models.items()}, **states}
    return pd.concat(parts, ignore_index=True), states


def seed_means(rows: pd.DataFrame) -> pd.DataFrame:
    """``run_seeds``' rows averaged over the seeds: one row per model × split × test worm ×
    step, with ``mse`` (the mean over seeds), ``mse_sd_over_seeds`` (NaN for the deterministic
    baselines), ``failed_runs`` (the replicates that failed to fit) and ``mse_fitted`` (the
    mean over the others; NaN when every replicate failed)."""
    keys = [c for c in rows.columns if c not in ("seed", "mse", "failed")]
    rows = rows.assign(fitted_mse=rows.mse.where(~rows.failed.astype(bool)))
    return (rows.groupby(keys, sort=False)
            .agg(mse=("mse", "mean"), mse_sd_over_seeds=("mse", "std"), failed_runs=("failed", "sum"),
                 mse_fitted=("fitted_mse", "mean"))
            .reset_index())


def failed_runs_text(failed: pd.Series, n_seeds: int) -> str:
    """Chapter 4's sentence on the failed replicates: ``failed`` counts them per (model, training
    worms, training subset), only where there are any."""
    if failed.empty:
        return f"no replicate failed (every network, every split, {n_seeds} seeds each)"
    where = "; ".join(f"{model} trained on worm{'s' if k > 1 else ''} {train}: {int(n)} of {n_seeds}"
                      for (model, k, train), n in failed.items())
    return f"{int(failed.sum())} replicate{'s' if failed.sum() > 1 else ''} failed ({where}); every other one fitted"


@torch.no_grad()
def failed_to_fit(model: nn.Module, data: TaskData, train_worms: torch.Tensor, device: str = "cpu") -> np.ndarray:
    """(M,) bool: the stacked models whose free-running prediction of their own training worms
    (``train_worms``: (M, W) bool), at the last evaluated step, is worse than predicting every
    neuron's mean (R² < 0 on the training data): a training run that failed, found from its
    training worms alone, never from a test worm (the scorecard's rule for claim 9)."""
    fit = evaluate(model, data, train_worms, device)[..., -1]               # (M, W), NaN off-training
    spread = np.array([float(((data.x[w, :int(n)] - data.x[w, :int(n)].mean(0)) ** 2)[:, data.present[w]].mean())
                       for w, n in enumerate(data.lengths)])                # (W,) variance about the mean
    own = np.where(train_worms.numpy(), spread[None], np.nan)
    return np.nanmean(fit, 1) > np.nanmean(own, 1)


# ------------------------------------------------------------------------------------------
# Where prediction breaks down, and example rollouts (chapter 4)
# ------------------------------------------------------------------------------------------

def errors_by_transition(models: dict[str, nn.Module], data: TaskData, splits, steps=(1, 8, 16),
                         device: str = "cpu") -> pd.DataFrame:
    """MSE of each trained stack on its test worms' evaluation windows, split by whether the
    window's predicted span contains a behavioural transition (``spans_transition``): one row
    per model × split × test worm × transition (True/False) × step, with ``mse`` and
    ``n_windows``."""
    _, test, info = splits
    needed = test.any(-1)                                                  # (M, W)
    rows = []
    for name, model in models.items():
        for w in torch.nonzero(needed.any(0)).ravel().tolist():
            starts = eval_starts(int(data.lengths[w]))
            pred, truth = predict(model, data, w, starts, device=device)
            err = window_mse(pred, truth.expand_as(pred), data.present[w].expand(pred.shape[0], -1))  # (M, B, S)
            cross = spans_transition(data.y[w], starts)                    # (B,)
            for m in torch.nonzero(needed[:, w]).ravel().tolist():
                for flag in (False, True):
                    rows += [dict(model=name, train=info[m]["train"], test=data.worms[w], transition=flag,
                                  step=s, n_windows=int((cross == flag).sum()),
                                  mse=float(err[m, cross == flag, s - 1].mean()))
                             for s in steps]
    return pd.DataFrame(rows)


def example_start(y: torch.Tensor, kind: str) -> int:
    """Start of a typical evaluation window (the middle one of its kind in the recording) whose
    initial frame is the last forward frame before a reversal (``"reversal-onset"``: BURN_IN
    forward frames, then reverse) or which is forward throughout (``"forward"``)."""
    y, length = y.numpy(), BURN_IN + EVAL_STEPS
    if kind == "reversal-onset":
        found = [t - BURN_IN for t in range(BURN_IN, len(y) - length)
                 if y[t] == 1 and (y[t - BURN_IN:t] == 0).all()]
    elif kind == "forward":
        found = [s for s in range(len(y) - length) if (y[s:s + length] == 0).all()]
    else:
        raise ValueError(f"kind must be reversal-onset or forward, not {kind!r}")
    if not found:
        raise ValueError(f"no {kind} window in this recording")
    return found[len(found) // 2]


def example_rollouts(models: dict[str, nn.Module], data: TaskData, m: int, worm: int, starts: dict[str, int],
                     neurons: tuple[str, ...], device: str = "cpu") -> list[dict]:
    """Panels for ``wormlib.plotting.rollout_panels``: stack member ``m`` of each model predicts
    the windows ``starts`` (title → start) of ``worm``; each neuron's trace (feature 0) is
    shown. The windows are predicted in one batch with the worm's regular evaluation windows,
    so that batch normalisation sees the same statistics as in the evaluation."""
    chosen = torch.tensor(list(starts.values()))
    batch = torch.cat([eval_starts(int(data.lengths[worm])), chosen])
    preds = {name: predict(model, data, worm, batch, device=device)[0] for name, model in models.items()}
    panels = []
    for b, (title, start) in enumerate(starts.items(), start=len(batch) - len(chosen)):
        for neuron in neurons:
            n = data.neurons.index(neuron)
            panels.append(dict(title=f"{neuron}, {title}", n_context=BURN_IN,
                               truth=data.x[worm, start:start + BURN_IN + EVAL_STEPS, n, 0].numpy(),
                               predictions={name: p[m, b, :, n, 0].numpy()
                                            for name, p in preds.items()}))
    return panels

"""Training M stacked models at once, with the paper's dataset enlargement (Section 4.2).

Each model m has its own training frames ``train_mask[m]`` (worms × frames). An epoch visits
every training worm of every model once, in a per-model random order; at each visit the model
takes one optimiser step on a mini-batch drawn from that worm alone, so batch normalisation
always sees one worm ("we independently optimized the loss function for each worm in every
epoch"). Training lasts a fixed number of steps, whatever the number of training worms.
All M losses are summed into one backward pass: the models share nothing (each gets only its
own gradient, and Adam is element-wise), so this is M independent trainings done in one pass —
faster than a loop over models (``benchmarks/benchmark_stacked.py``). Only the random mini-batch
draws differ from a loop, since the models share one seeded generator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm import tqdm

from .data import Recording
from .runtime import keep_freed_memory, to_device
from .data.errors import TaskError
from .preprocess import CLASSES, neuron_features, task_labels

TASK_RATE_TOLERANCE = 0.15
"""How far apart (relative) the frame rates of one task's worms may be where frames stand for
time. The Kato worms span 2.80–3.07 Hz (10 %), which the paper treats as one rate; Dag et al.'s
1.67 Hz beside them (74 %) is refused unless each worm gets its own lags."""


@dataclass
class TaskData:
    """The worms of one classification task as padded tensors.

    x: (W, T, N, F) features (zero-padded after each worm's last frame);
    y: (W, T) class per frame, -1 for excluded, unlabelled or padded frames;
    present: (W, N) identified neurons;
    lengths: (W,) frames of each worm (the rest is padding);
    window: frames side by side in each neuron's features (``with_lags``; 1: the frame alone);
    fps: (W,) each worm's frame rate in Hz (empty when unknown, as in tests' hand-made tasks).
    """

    worms: tuple[str, ...]
    neurons: tuple[str, ...]
    classes: tuple[str, ...]
    x: torch.Tensor
    y: torch.Tensor
    present: torch.Tensor
    lengths: torch.Tensor
    window: int = 1
    fps: tuple[float, ...] = ()

    @classmethod
    def build(cls, recordings: list[Recording], task: str, neurons: tuple[str, ...],
              derivative_kind: str = "centred") -> "TaskData":
        """``derivative_kind``: ``centred`` (the paper's features) or ``causal`` (past only)."""
        feats = [neuron_features(r, neurons, derivative_kind) for r in recordings]
        t_max = max(r.n_frames for r in recordings)
        x = np.zeros((len(recordings), t_max, len(neurons), feats[0].values.shape[-1]), np.float32)
        y = np.full((len(recordings), t_max), -1, np.int64)
        for w, (r, f) in enumerate(zip(recordings, feats)):
            x[w, : r.n_frames] = f.values
            y[w, : r.n_frames] = task_labels(r, task)
        return cls(tuple(r.worm for r in recordings), tuple(neurons), CLASSES[task],
                   torch.from_numpy(x), torch.from_numpy(y),
                   torch.from_numpy(np.stack([f.present for f in feats])),
                   torch.tensor([r.n_frames for r in recordings]), fps=tuple(r.fps for r in recordings))

    def check_one_rate(self, reads: str) -> None:
        """Refuse a task whose worms' frame rates differ by more than ``TASK_RATE_TOLERANCE`` when
        ``reads`` (what the caller counts in frames: a window of lags, rollout steps) would mean
        different seconds in different worms (TaskError, naming the worms and rates)."""
        if self.fps and max(self.fps) / min(self.fps) - 1 > TASK_RATE_TOLERANCE:
            rates = ", ".join(f"{w} {f:.3g} Hz" for w, f in zip(self.worms, self.fps))
            raise TaskError(f"{reads} are counted in frames, but this task's worms are recorded at different "
                            f"rates ({rates}; more than {TASK_RATE_TOLERANCE:.0%} apart): the same frames would be "
                            "different seconds. Give each worm its own frame lags (crosslab.window_lags) or "
                            "use recordings at one rate.")

    @property
    def labelled(self) -> torch.Tensor:
        return self.y >= 0

    def with_lags(self, lags: tuple[int, ...] | torch.Tensor) -> TaskData:
        """The same task with each neuron's features at frames t − lag (for every ``lag``)
        side by side, x (W, T, N, F·L), lag-major: a window of the past, no future. ``lags``:
        L frame lags for every worm, or a (W, L) tensor of each worm's own (e.g. the same
        seconds at another frame rate). Before a worm's first frame its first frame is repeated;
        padding stays zero."""
        w, t = self.x.shape[:2]
        on = dict(device=self.x.device)                                       # index where the data are
        if torch.as_tensor(lags).dim() == 1:                                  # the same frames for every worm
            self.check_one_rate("The window's lags")
        lags = torch.as_tensor(lags, **on).expand(w, -1)                      # (W, L)
        frames = (torch.arange(t, **on) - lags[:, :, None]).clamp(min=0)      # (W, L, T)
        past = self.x[torch.arange(w, **on)[:, None, None], frames]           # (W, L, T, N, F)
        past = past * (torch.arange(t, **on) < self.lengths.to(**on)[:, None])[:, None, :, None, None]
        return dataclasses.replace(self, x=past.permute(0, 2, 3, 1, 4).flatten(3),  # (W, T, N, L·F)
                                   window=lags.shape[1])


@dataclass(frozen=True)
class TrainConfig:
    """How the networks train. ``steps``: optimiser steps, for every network family that
    ``family_steps`` ((family, steps) pairs, chosen from learning curves on training worms:
    ``wormlib.stepcount``) does not name; ``for_model`` resolves a network's own."""

    steps: int = 300
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: str = "cpu"
    family_steps: tuple[tuple[str, int], ...] = ()

    def for_model(self, name: str) -> TrainConfig:
        """This configuration with the steps of ``name``'s family (``stepcount.family_of``)."""
        from .stepcount import family_of

        return dataclasses.replace(self, steps=dict(self.family_steps).get(family_of(name), self.steps),
                                   family_steps=())


def make_optimiser(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with the fused kernel: one pass over all parameters instead of one per operation
    and parameter, the same update rule (timed in ``benchmarks/benchmark_step.py``)."""
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def worm_schedule(train_worms: torch.Tensor, steps: int, gen: torch.Generator):
    """The training worm of each model at each optimiser step, (M,) per step: epochs visit every
    training worm of a model once, in a fresh random order (``train_worms``: (M, W) bool)."""
    worms_of = [torch.nonzero(row).ravel() for row in train_worms]
    n_slots = len(worms_of[0])
    if any(len(w) != n_slots for w in worms_of):
        raise ValueError("every stacked model must train on the same number of worms")
    order = torch.empty(len(worms_of), 0, dtype=torch.long, device=gen.device)
    for step in range(steps):
        if step % n_slots == 0:
            order = torch.stack([w[torch.randperm(n_slots, generator=gen, device=gen.device)]
                                 for w in worms_of])                       # (M, J)
        yield order[:, step % n_slots]


def fit(model: nn.Module, data: TaskData, train_mask: torch.Tensor, cfg: TrainConfig,
        desc: str = "training", on_step: Callable[[int], None] | None = None) -> nn.Module:
    """Train the M stacked copies of ``model``; ``train_mask``: (M, W, T) bool. ``on_step(s)``
    is called after optimiser step s (1, 2, …), e.g. to score a learning curve
    (``wormlib.stepcount``); the model is put back in training mode after it."""
    train_mask = train_mask & data.labelled
    keep_freed_memory()
    gen = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device).train()
    x, y, present = data.x.to(device), data.y.to(device), data.present.to(device)
    weights = train_mask.float()                                            # (M, W, T)
    optimiser = make_optimiser(model, cfg)
    rows = torch.arange(train_mask.shape[0])
    schedule = worm_schedule(train_mask.any(-1), cfg.steps, gen)
    # progress bars only in terminals (disable=None)
    for step, worm in enumerate(tqdm(schedule, total=cfg.steps, desc=desc, leave=False, mininterval=2,
                                     disable=None)):
        idx = torch.multinomial(weights[rows, worm], cfg.batch_size, replacement=True,
                                generator=gen)                              # (M, B)
        w_dev, idx_dev = to_device(worm, device), to_device(idx, device)
        logits = model(x[w_dev[:, None], idx_dev], present[w_dev])          # (M, B, C)
        loss = F.cross_entropy(logits.flatten(0, 1), y[w_dev[:, None], idx_dev].flatten(),
                               reduction="sum") / cfg.batch_size
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        after_step(model, on_step, step)
    return model


def after_step(model: nn.Module, on_step: Callable[[int], None] | None, step: int) -> None:
    """Call a training loop's ``on_step`` with the number of steps taken (``step`` counts from 0)
    and put the model back in training mode (the callback may evaluate it)."""
    if on_step is not None:
        on_step(step + 1)
        model.train()


@torch.no_grad()
def predict(model: nn.Module, data: TaskData, needed: torch.Tensor | None = None, device: str = "cpu",
            chunk: int = 8) -> torch.Tensor:
    """Class probabilities (M, W, T, C) of every model for the worms it is ``needed`` on
    ((M, W) bool; default all; zeros elsewhere).

    Each worm is passed whole (its frames only, not the padding), so batch normalisation uses
    that worm's own statistics; padded frames get zeros. Models
    are evaluated ``chunk`` at a time, with their parameters sliced along the model dimension,
    to bound the memory of the dynamic GNN's N × N edge tensors.
    """
    model.to(device).eval()
    params = dict(model.named_parameters())
    n_models = next(iter(params.values())).shape[0]
    needed = torch.ones(n_models, len(data.worms), dtype=torch.bool) if needed is None else needed
    out = torch.zeros(n_models, *data.y.shape, len(data.classes))
    for w in range(len(data.worms)):
        n = int(data.lengths[w])
        x, present = data.x[w, :n].to(device), data.present[w].to(device)  # (T_w, N, F), (N,)
        models = torch.nonzero(needed[:, w]).ravel()
        for start in range(0, len(models), chunk):
            sel = models[start:start + chunk]
            sliced = {k: v[sel.to(v.device)] for k, v in params.items()}
            logits = functional_call(model, sliced, (x.expand(len(sel), *x.shape), present.expand(len(sel), -1)))
            out[sel, w, :n] = torch.softmax(logits, -1).cpu()              # (m, T_w, C)
    return out

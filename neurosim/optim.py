"""Optimizers as (init, update) pairs over flat parameter dicts (optax's shape, numpy arrays).

``opt.init(params, groups=None)`` → state; ``opt.update(grads, state, params)`` → (params, state).
``groups`` maps each name to "recurrent" or "other" (``Model.param_groups()``); recurrent
parameters use ``lr · rec_lr_factor`` and, for AdamW, no weight decay (Zucchet et al.'s
``Bfast_and_decay``-free default: ν, θ, γ, B at ``rec_lr``, no decay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._errors import check_float

Params = dict[str, np.ndarray]


class OptState(NamedTuple):
    count: int
    m: Params
    v: Params
    scale: Params  # per-parameter lr factor (1 or rec_lr_factor)
    decay: Params  # per-parameter weight-decay factor (0 or 1)


@dataclass(frozen=True)
class Optimizer:
    """SGD (with momentum), Adam and AdamW in one frozen configuration."""

    kind: str
    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    rec_lr_factor: float = 1.0

    def __post_init__(self):
        check_float("lr", self.lr, 0.0, None)
        check_float("b1", self.b1, 0.0, 1.0, hi_open=True)
        check_float("b2", self.b2, 0.0, 1.0, hi_open=True)
        check_float("eps", self.eps, 0.0, None)
        check_float("weight_decay", self.weight_decay, 0.0, None)
        check_float("momentum", self.momentum, 0.0, 1.0, hi_open=True)
        check_float("rec_lr_factor", self.rec_lr_factor, 0.0, None)

    def init(self, params: Params, groups: dict[str, str] | None = None) -> OptState:
        groups = groups or {}
        rec = {k: groups.get(k) == "recurrent" for k in params}
        zeros = {k: np.zeros_like(v) for k, v in params.items()}
        return OptState(
            0,
            zeros,
            {k: np.zeros_like(v) for k, v in params.items()},
            {k: (self.rec_lr_factor if rec[k] else 1.0) for k in params},
            {k: (0.0 if rec[k] else 1.0) for k in params},
        )

    def update(self, grads: Params, state: OptState, params: Params) -> tuple[Params, OptState]:
        t = state.count + 1
        new, m, v = {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            lr = self.lr * state.scale[k]
            if self.kind == "sgd":
                m[k] = self.momentum * state.m[k] + g
                v[k] = state.v[k]
                new[k] = p - lr * m[k]
                continue
            m[k] = self.b1 * state.m[k] + (1 - self.b1) * g
            v[k] = self.b2 * state.v[k] + (1 - self.b2) * g * g
            mhat = m[k] / (1 - self.b1**t)
            vhat = v[k] / (1 - self.b2**t)
            step = mhat / (np.sqrt(vhat) + self.eps)
            if self.kind == "adamw":
                step = step + self.weight_decay * state.decay[k] * p
            new[k] = (p - lr * step).astype(p.dtype, copy=False)
        return new, OptState(t, m, v, state.scale, state.decay)


def sgd(lr: float, momentum: float = 0.0, rec_lr_factor: float = 1.0) -> Optimizer:
    return Optimizer("sgd", lr, momentum=momentum, rec_lr_factor=rec_lr_factor)


def adam(
    lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, rec_lr_factor: float = 1.0
) -> Optimizer:
    return Optimizer("adam", lr, b1, b2, eps, rec_lr_factor=rec_lr_factor)


def adamw(
    lr: float = 1e-3,
    weight_decay: float = 0.05,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    rec_lr_factor: float = 1.0,
) -> Optimizer:
    return Optimizer("adamw", lr, b1, b2, eps, weight_decay=weight_decay, rec_lr_factor=rec_lr_factor)


OPTIMIZERS = {"sgd": sgd, "adam": adam, "adamw": adamw}

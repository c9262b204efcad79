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

    def update(self, grads: Params, state: OptState, params: Params, fisher=None) -> tuple[Params, OptState]:
        """One step (``fisher`` is accepted for a uniform call and ignored here)."""
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


class KalmanState(NamedTuple):
    count: int
    precision: Params  # Π_t, the diagonal precision
    scale: Params


@dataclass(frozen=True)
class Kalman:
    """Kalman NoBackTrack (Ollivier, Tallec & Charpiat 2015, "Training recurrent networks online
    without backtracking"): the diagonal fading-memory extended Kalman filter,
    i.e. an online natural gradient (Ollivier 2018):

        Π_t = (1 − γ_t) Π_{t−1} + γ_t (F_t + λ),   θ_t = θ_{t−1} − lr · γ_t ĝ_t / Π_t,   Π_0 = π0

    ``gamma="ekf"``: γ_t = 1/(t + t0), the exact extended Kalman filter (for a linear-Gaussian
    model, recursive least squares with a diagonal precision); a number: constant γ, fading
    memory. F_t is the diagonal Fisher of the output model: supplied by the rule when it can
    estimate it (``uoro`` from its rank-one factors, ``Rule.fisher``), else the empirical Fisher
    ĝ_t ⊙ ĝ_t (rule-agnostic). ``lr`` = 1 is the filter itself. ``damping`` λ ≥ 0 (Tikhonov /
    process noise) keeps Π away from 0 where the Fisher estimate vanishes; with a fading memory
    and a rank-one Fisher estimate λ = 0 can blow up (measured: UORO at γ = 0.2).
    """

    kind = "kalman"
    gamma: float | str = "ekf"
    t0: float = 10.0
    pi0: float = 1.0
    lr: float = 1.0
    rec_lr_factor: float = 1.0
    damping: float = 0.0

    def __post_init__(self):
        check_float("damping", self.damping, 0.0, None)
        if self.gamma != "ekf":
            check_float("gamma", self.gamma, 0.0, 1.0, lo_open=True)
        check_float("t0", self.t0, 1.0, None)
        check_float("pi0", self.pi0, 0.0, None, lo_open=True)
        check_float("lr", self.lr, 0.0, None)
        check_float("rec_lr_factor", self.rec_lr_factor, 0.0, None)

    def init(self, params: Params, groups: dict[str, str] | None = None) -> KalmanState:
        groups = groups or {}
        return KalmanState(
            0,
            {k: np.full_like(v, self.pi0) for k, v in params.items()},
            {k: (self.rec_lr_factor if groups.get(k) == "recurrent" else 1.0) for k in params},
        )

    def gamma_at(self, t: int) -> float:
        return 1.0 / (t + self.t0) if self.gamma == "ekf" else float(self.gamma)

    def update(self, grads: Params, state: KalmanState, params: Params, fisher=None):
        t = state.count + 1
        g_t = self.gamma_at(t)
        new, prec = {}, {}
        for k, p in params.items():
            g = grads[k]
            F = g * g if fisher is None or k not in fisher else fisher[k]
            prec[k] = (1 - g_t) * state.precision[k] + g_t * (F + self.damping)
            step = self.lr * state.scale[k] * g_t * g / prec[k]
            new[k] = (p - step).astype(p.dtype, copy=False)
        return new, KalmanState(t, prec, state.scale)


def kalman(
    gamma: float | str = "ekf",
    t0: float = 10.0,
    pi0: float = 1.0,
    lr: float = 1.0,
    rec_lr_factor: float = 1.0,
    damping: float = 0.0,
) -> Kalman:
    return Kalman(gamma, t0, pi0, lr, rec_lr_factor, damping)


OPTIMIZERS = {"sgd": sgd, "adam": adam, "adamw": adamw, "kalman": kalman}

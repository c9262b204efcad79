"""Learning rules: ``make(name, **options)``, ``total_gradient``, ``gradient_similarity``.

Names: bptt (offline reference), tbptt (``k`` steps), rtrl, snap1, snap2, snap (``n``),
online_lru, spatial, trunc1, uoro (``seed``, ``rank``, ``signs``, ``equalize``, ``output_noise``), rflo
(``feedback``, ``seed``), eprop (``feedback``, ``seed``, ``filter``, ``reg_coeff``, ``reg_rate``,
``reg_tau``, ``feedback_matrix``; lif/alif models only).
"""

from __future__ import annotations

import inspect

import numpy as np

from .._errors import bad, check_array, check_choice, check_positive_int
from .base import ArraySpec, OnlineRule, ParamIndex, Rule, RuleState, param_index
from .bptt import BPTT
from .eprop import EProp, exact_eligibility, exact_factorisation
from .local import Spatial, Trunc1
from .online_lru import OnlineLRU
from .rtrl import RTRL, SnAp, SnAp1, reachability, snap_mask
from .uoro import RFLO, UORO, rank_one_trick

__all__ = [
    "make",
    "RULES",
    "total_gradient",
    "gradient_similarity",
    "Rule",
    "OnlineRule",
    "RuleState",
    "ArraySpec",
    "ParamIndex",
    "param_index",
    "reachability",
    "snap_mask",
    "rank_one_trick",
    "exact_eligibility",
    "exact_factorisation",
]


def _bptt(window: int | None = None) -> Rule:
    return BPTT(None if window is None else check_positive_int("window", window))


def _tbptt(k: int = 16) -> Rule:
    return BPTT(check_positive_int("k", k))


def _snap(n: int = 1) -> Rule:
    n = check_positive_int("n", n)
    return SnAp1() if n == 1 else SnAp(n)


RULES = {
    "bptt": _bptt,
    "tbptt": _tbptt,
    "rtrl": RTRL,
    "snap1": SnAp1,
    "snap2": lambda: SnAp(2),
    "snap": _snap,
    "online_lru": OnlineLRU,
    "spatial": Spatial,
    "trunc1": Trunc1,
    "uoro": UORO,
    "rflo": RFLO,
    "eprop": EProp,
}


def make(name: str, **options) -> Rule:
    """Build a rule by name; unknown names or options raise ``ValueError``."""
    check_choice("name", name, RULES)
    factory = RULES[name]
    allowed = list(inspect.signature(factory).parameters)
    for key in options:
        if key not in allowed:
            raise bad(key, options[key], f"no option {key!r} for rule {name!r}; options: {allowed or 'none'}")
    rule = factory(**options)
    defaults = {k: p.default for k, p in inspect.signature(factory).parameters.items()}
    rule.options = {"name": name, **defaults, **options}  # what it was made with (fingerprints)
    return rule


def check_sequence(model, xs, ys, mask=None):
    """``xs`` (T, B, n_in), ``ys`` (T, B, n_out) and ``mask`` (None, (T,) or (T, B)) checked by
    name; returns them with the mask broadcast to (T, B)."""
    xs = check_array("xs", xs, (None, None, model.n_in))
    T, B = xs.shape[:2]
    ys = check_array("ys", ys, (T, B, model.n_out))
    if mask is not None:
        m = np.asarray(mask, float)
        m = m[:, None] if m.ndim == 1 else m
        if m.shape not in ((T, 1), (T, B)):
            raise bad("mask", np.shape(mask), f"None or an array of shape ({T},) or ({T}, {B})")
        mask = np.broadcast_to(m, (T, B))
    return xs, ys, mask


def total_gradient(rule: Rule, model, params, xs, ys, loss="mse", mask=None) -> dict[str, np.ndarray]:
    """Σ_t of the rule's gradient estimates over one batch of sequences, parameters held fixed.

    ``xs`` (T, B, n_in), ``ys`` (T, B, n_out), ``mask`` None, (T,) or (T, B).
    """
    xs, ys, mask = check_sequence(model, xs, ys, mask)
    T, B = xs.shape[:2]
    state = rule.init(model, params, B)
    total = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(T):
        state, g, _ = rule.step(model, params, state, xs[t], ys[t], loss=loss, mask_t=None if mask is None else mask[t])
        for k, v in g.items():
            total[k] += v
    _, g = rule.finish(model, params, state, loss=loss)
    for k, v in g.items():
        total[k] += v
    return total


def _cos_rel(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    cos = float(a @ b) / (na * nb) if na > 0 and nb > 0 else float("nan")
    return {"cosine": cos, "rel_norm": na / nb if nb > 0 else float("nan")}


def gradient_similarity(grads: dict, reference: dict) -> dict:
    """Cosine similarity and relative norm ‖g‖/‖g_ref‖, global and per layer.

    Groups are the name prefixes before the first dot ("enc", "layer0", …, "dec").
    """
    if set(grads) != set(reference):
        raise ValueError(f"gradient keys differ: {sorted(set(grads) ^ set(reference))}")
    keys = sorted(grads)
    flat = lambda d, ks: np.concatenate([np.ravel(d[k]).astype(float) for k in ks])  # noqa: E731
    out = _cos_rel(flat(grads, keys), flat(reference, keys))
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(k.split(".")[0], []).append(k)
    out["per_layer"] = {g: _cos_rel(flat(grads, ks), flat(reference, ks)) for g, ks in groups.items()}
    return out

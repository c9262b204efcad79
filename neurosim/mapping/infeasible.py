"""Inputs no layout can place, and the smallest change that would fit.

Before any search: every unit alone on an empty core (one ``core_store`` call per group of
units with the same row lengths) — a unit whose weights, state or learning state exceed a region,
or whose fan-in exceeds ``core.max_fan_in``, fits no core; then the cores the totals need
(``Capacity.lower_bound``) against the chip's. After the search: the cores a method used against
the chip's. ``MappingInfeasible`` lists each culprit (layer, unit range, region, bits needed vs
available) and the changes it computed: the largest hidden size that fits with this rule (by
bisection over the sizes the model's own options build, ``hardware.buildable_range``), and the
other rules that fit, with their core counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.layout import Units
from .capacity import Capacity, _signatures


@dataclass
class Culprit:
    layer: int | None
    units: str
    region: str
    needed: int
    available: int

    def __str__(self) -> str:
        where = "chip" if self.layer is None else f"layer {self.layer}, units {self.units}"
        return f"{where}, {self.region}: needs {self.needed:,} but has {self.available:,}"


class MappingInfeasible(ValueError):
    """No layout places the network on the chip: ``culprits`` and ``suggestions``."""

    SHOWN = 8  # culprits in the message; ``.culprits`` has them all

    def __init__(self, where: str, culprits: list[Culprit], suggestions: list[str] | None):
        self.culprits, self.suggestions = culprits, list(suggestions or [])
        lines = [f"{where}: the network cannot be placed on the chip"]
        lines += [f"  - {c}" for c in culprits[: self.SHOWN]]
        if len(culprits) > self.SHOWN:
            lines.append(f"  … and {len(culprits) - self.SHOWN} more like them (the exception's .culprits lists all)")
        if suggestions is None:
            lines.append("  smallest change: not searched (explain=False)")
        else:
            lines += [f"  smallest change: {s}" for s in suggestions] or ["  no smaller change found that fits"]
        super().__init__("\n".join(lines))


def unit_culprits(cap: Capacity) -> list[Culprit]:
    """Units that fit no core alone (module docstring)."""
    out = []
    for layer in range(len(cap.units)):
        _, inverse = np.unique(_signatures(cap.net, layer), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for g in np.unique(inverse):
            members = np.flatnonzero(inverse == g)
            others = members[members != 0]
            for rep, shown in ((others[:1], members), ([0] if 0 in members else [], np.array([0]))):
                if not len(rep):
                    continue
                store = cap.store({layer: Units.of(rep)})
                if store.holds and not any(c.region == "fan_in" for c in store.culprits):
                    continue
                for c in store.culprits:
                    out.append(Culprit(layer, str(Units.of(shown)), c.region, int(c.needed), int(c.available)))
                break  # the home unit also holds the layer's shared arrays: a group failing fails it too
    return _dedupe(out)


def _dedupe(cs: list[Culprit]) -> list[Culprit]:
    seen, out = set(), []
    for c in cs:
        key = (c.layer, c.units, c.region)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def chip_culprit(needed: int, profile) -> Culprit:
    """More cores needed than the chip (a board: all its chips) has."""
    return Culprit(None, "", "cores", int(needed), int(profile.n_cores) * int(profile.n_chips))


def fits_somehow(model, rule, profile, **kw) -> int:
    """Cores ``map_network(method="greedy")`` uses (0 when it refuses the network)."""
    from .mapper import map_network

    try:
        return int(map_network(model, profile, rule=rule, method="greedy", explain=False, **kw).report["cores_used"])
    except MappingInfeasible:
        return 0


def suggestions(model, rule, profile, **kw) -> list[str]:
    """The computed changes that would fit (module docstring)."""
    out = []
    n = _largest(model, rule, profile, **kw)
    if n:
        with_rule = f"with rule {rule.name}" if rule is not None else "without learning state"
        out.append(f"n_hidden={n} fits {with_rule} (the largest that does)")
    for name, r in _other_rules(model, rule):
        k = fits_somehow(model, r, profile, **kw)
        if k:
            out.append(f"rule {name} fits as it is, on {k} core" + ("" if k == 1 else "s"))
    return out


def _largest(model, rule, profile, **kw) -> int:
    from .. import models
    from ..hardware import buildable_range

    opts = getattr(model, "options", None)
    if not opts or "n_hidden" not in opts or opts.get("mask") is not None:
        return 0
    base = {k: v for k, v in opts.items() if k != "name"}
    build = lambda n: models.make(opts["name"], **{**base, "n_hidden": n})  # noqa: E731
    try:
        lo, hi = buildable_range(build, 1, int(opts["n_hidden"]), start=1)
    except ValueError:
        return 0
    if not fits_somehow(build(lo), rule, profile, **kw):
        return 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits_somehow(build(mid), rule, profile, **kw):
            lo = mid
        else:
            hi = mid
    return lo


SNAP_N_MAX_UNITS = 4096  # SnAp-n (n ≥ 2) sizes its state from an n × n reachability: not tried above


def _other_rules(model, rule):
    from .. import rules
    from ..hardware.layout import layer_units

    big = max(layer_units(model)) > SNAP_N_MAX_UNITS  # a 10⁵-unit layer: a 10 GB dense reachability
    tried = [(n, {}) for n in sorted(rules.RULES) if n not in ("snap", "bptt") and not (big and n == "snap2")]
    tried.append(("eprop", {"filter": False}))
    for name, opts in tried:
        label = name + "".join(f"({k}={v})" for k, v in opts.items())
        try:
            r = rules.make(name, **opts)
            r.check_model(model)
        except (ValueError, TypeError, NotImplementedError):
            continue
        if rule is not None and getattr(r, "options", None) == getattr(rule, "options", None):
            continue
        yield label, r

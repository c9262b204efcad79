"""Import a Brian2 ``NeuronGroup`` + ``Synapses`` into a ``LIFNetwork`` (ecosystem.md §1(a)).

Supported: one population with exactly the current-based LIF form neurosim integrates —

    dv/dt = (Σ_k s_k g_k − (v − E_l)) / τ_m : volt (unless refractory)
    dg_k/dt = −g_k / τ_k : volt

(constant coefficients, in any algebraic arrangement sympy can expand), ``threshold="v > V_t"``,
``reset="v = V_r"``, a fixed ``refractory`` time, ``method="exact"`` or ``"linear"``; synapses
from the group to itself with ``on_pre="g_k += w"`` where w is a constant or a per-synapse
variable, and homogeneous or per-synapse delays. Everything else is refused with a
``ValueError`` that names the feature: other integration methods, conductance-based or nonlinear
terms, per-neuron parameters, subexpressions, reset or threshold code of another form,
plasticity (``on_post``, event-driven or differential synaptic equations), synapses between
different groups, ``v += w`` (delta synapses).

Units: times become ms, voltages mV. The result uses the group's current ``v`` and ``g`` as the
initial state.
"""

from __future__ import annotations

import re

import numpy as np

from .network import LIFNetwork, from_edges


class Brian2ImportError(ValueError):
    """A Brian2 model uses a feature neurosim does not support (the message names it)."""


def _refuse(feature: str, detail: str = "") -> Brian2ImportError:
    return Brian2ImportError(f"Brian2 model not supported: {feature}" + (f" ({detail})" if detail else ""))


def _si(q) -> float:
    return float(np.asarray(q))


def from_brian2(group, synapses=(), namespace: dict | None = None) -> tuple[LIFNetwork, np.ndarray, np.ndarray]:
    """(network, v0 in mV, g0 (channels, n) in mV) from a Brian2 group and its synapses.

    ``namespace`` resolves external constants (as Brian2's ``run(namespace=...)``); default: the
    caller's local and global names, like Brian2 itself.
    """
    import sympy
    from brian2 import NeuronGroup, Subgroup, Synapses
    from brian2.core.namespace import get_local_namespace
    from brian2.parsing.sympytools import str_to_sympy

    if namespace is None:
        namespace = get_local_namespace(level=1)
    if isinstance(group, Subgroup) or not isinstance(group, NeuronGroup):
        raise _refuse("the population must be a whole NeuronGroup", f"got {type(group).__name__}")
    method = group.method_choice
    if method not in ("exact", "linear"):
        raise _refuse(f"integration method {method!r}", "neurosim integrates exactly: use method='exact'")

    eqs = group.user_equations
    for name, eq in eqs.items():
        if eq.type == "subexpression":
            raise _refuse(f"subexpression {name!r}")
        if eq.type == "parameter":
            raise _refuse(f"per-neuron parameter {name!r}", "use a shared constant")
    diff = [name for name, eq in eqs.items() if eq.type == "differential equation"]
    membrane = [n for n in diff if "unless refractory" in eqs[n].flags]
    if len(membrane) != 1:
        raise _refuse("the membrane equation", "exactly one differential equation must be '(unless refractory)'")
    vname = membrane[0]
    gnames = [n for n in diff if n != vname]
    states = [vname, *gnames]

    def constants(expr):
        ids = {str(s) for s in expr.free_symbols} - set(states)
        resolved = group.resolve_all(ids, run_namespace=namespace) if ids else {}
        by_name = {str(s): s for s in expr.free_symbols}
        subs = {}
        for k, var in resolved.items():
            try:
                subs[by_name[k]] = _si(var.get_value())
            except Exception:  # noqa: BLE001 - anything not a constant is a feature we lack
                raise _refuse(f"identifier {k!r} in the equations", "only constants are supported") from None
        return subs

    def linear_coeffs(name, code):
        expr = str_to_sympy(code)
        expr = sympy.expand(expr.subs(constants(expr)))
        syms = {str(s): s for s in expr.free_symbols}
        unknown = set(syms) - set(states)
        if unknown:
            raise _refuse(f"unresolved identifiers {sorted(unknown)} in d{name}/dt")
        poly_vars = [syms[s] for s in states if s in syms]
        coeffs = {}
        rest = expr
        for s in poly_vars:
            c = sympy.expand(expr).coeff(s)
            if c.free_symbols:
                raise _refuse(
                    f"a nonlinear or conductance-based term in d{name}/dt",
                    f"{s} is multiplied by {c}; only current-based linear terms are supported",
                )
            coeffs[str(s)] = float(c)
            rest = rest - c * s
        rest = sympy.simplify(rest)
        if rest.free_symbols:
            raise _refuse(f"a nonlinear term in d{name}/dt", str(rest))
        return coeffs, float(rest)

    cv, const_v = linear_coeffs(vname, eqs[vname].expr.code)
    a = cv.get(vname, 0.0)
    if not a < 0:
        raise _refuse(f"the membrane equation d{vname}/dt", "it needs a leak −(v − E_l)/τ_m")
    tau_m = -1.0 / a
    E_l = const_v * tau_m
    scale, tau_syn = [], []
    for gname in gnames:
        cg, const_g = linear_coeffs(gname, eqs[gname].expr.code)
        if set(cg) - {gname} or const_g != 0.0 or not cg.get(gname, 0.0) < 0:
            raise _refuse(f"synaptic equation d{gname}/dt", f"only d{gname}/dt = -{gname}/tau is supported")
        if "unless refractory" in eqs[gname].flags:
            raise _refuse(f"'(unless refractory)' on {gname!r}")
        tau_syn.append(-1.0 / cg[gname])
        scale.append(cv.get(gname, 0.0) * tau_m)
    if not gnames:
        raise _refuse("a population without synaptic current variables")

    # threshold "v > V_t" and reset "v = V_r"
    thr = group.events.get("spike")
    if thr is None or set(group.events) != {"spike"}:
        raise _refuse("custom events", str(dict(group.events)))
    m = re.fullmatch(rf"\s*{vname}\s*>\s*(.+)", thr)
    if not m:
        raise _refuse(f"threshold {thr!r}", f"only '{vname} > V_t' is supported")

    def constant_value(text, what):
        try:
            e = str_to_sympy(text)
            return float(e.subs(constants(e)))
        except Brian2ImportError:
            raise
        except Exception:  # noqa: BLE001 - any other parse result is a form we do not support
            raise _refuse(what, "the right-hand side must be a constant") from None

    V_t = constant_value(m.group(1), f"threshold {thr!r}")
    reset = group.event_codes.get("spike", "")
    m = re.fullmatch(rf"\s*{vname}\s*=\s*([^\n;]+)\s*", reset)
    if not m:
        raise _refuse(f"reset {reset!r}", f"only '{vname} = V_r' is supported")
    V_r = constant_value(m.group(1), f"reset {reset!r}")
    ref = group._refractory
    if isinstance(ref, str):
        raise _refuse(f"refractory expression {ref!r}", "only a fixed time is supported")
    refractory = 0.0 if ref is False or ref is None else _si(ref) * 1e3
    dt = _si(group.clock.dt) * 1e3

    pres, posts, ws, chans, delays = [], [], [], [], []
    for S in synapses:
        if not isinstance(S, Synapses):
            raise _refuse(f"object {S!r}", "expected brian2.Synapses")
        if S.source is not group or S.target is not group:
            raise _refuse(f"synapses {S.name!r} between different groups or subgroups")
        if S.event_driven is not None or any(e.type == "differential equation" for e in S.equations.values()):
            raise _refuse(f"plasticity in synapses {S.name!r}", "event-driven or differential synaptic equations")
        paths = {p.prepost: p for p in S._pathways}
        if set(paths) != {"pre"}:
            raise _refuse(f"on_post in synapses {S.name!r}", "plasticity is not supported")
        code = paths["pre"].code.strip()
        m = re.fullmatch(r"(\w+)\s*\+=\s*(.+)", code)
        if not m or "\n" in code:
            raise _refuse(f"on_pre code {code!r} of {S.name!r}", "only 'g += w' is supported")
        target, wexpr = m.group(1), m.group(2).strip()
        if target == vname:
            raise _refuse(f"'{target} += ...' in {S.name!r} (a delta synapse on the membrane)")
        if target not in gnames:
            raise _refuse(f"on_pre target {target!r} of {S.name!r}", f"allowed: {gnames}")
        n_syn = len(S)
        if wexpr in S.variables and wexpr not in ("i", "j"):
            w = np.asarray(S.variables[wexpr].get_value(), float).reshape(-1)
            w = np.broadcast_to(w, (n_syn,))
        else:
            e = str_to_sympy(wexpr)
            val = e.subs(constants(e))
            if val.free_symbols:
                raise _refuse(f"weight expression {wexpr!r} of {S.name!r}")
            w = np.full(n_syn, float(val))
        k = gnames.index(target)
        d = np.broadcast_to(np.asarray(paths["pre"].delay[:], float).reshape(-1), (n_syn,))
        pres.append(np.asarray(S.i[:], np.int64))
        posts.append(np.asarray(S.j[:], np.int64))
        ws.append(w * 1e3 * scale[k])
        chans.append(np.full(n_syn, k))
        delays.append(np.rint(d * 1e3 / dt).astype(np.int64))
    cat = lambda xs, dt_: np.concatenate(xs) if xs else np.zeros(0, dt_)  # noqa: E731
    net = from_edges(
        len(group),
        cat(pres, np.int64),
        cat(posts, np.int64),
        cat(ws, float),
        channel=cat(chans, np.int64),
        delay=cat(delays, np.int64),
        tau_m=tau_m * 1e3,
        E_l=E_l * 1e3,
        V_t=V_t * 1e3,
        V_r=V_r * 1e3,
        refractory=refractory,
        dt=dt,
        tau_syn=tuple(t * 1e3 for t in tau_syn),
    )
    v0 = np.asarray(group.variables[vname].get_value(), float) * 1e3
    g0 = np.stack([np.asarray(group.variables[g].get_value(), float) * 1e3 * s for g, s in zip(gnames, scale)])
    return net, v0, g0

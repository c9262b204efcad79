"""Import a Brian2 network of several groups into ``populations.MultiNetwork``.

``from_brian2_network(objects)`` reads every object of a ``brian2.Network`` (or a collection):

* each ``NeuronGroup`` as a population of the current-based LIF form ``brian2_import`` reads
  (``dv/dt = (Σ_k s_k g_k − (v − E_l)) / τ_m (unless refractory)``, ``dg_k/dt = −g_k/τ_k``,
  ``threshold="v > V_t"``, ``reset="v = V_r"``, a fixed refractory time, ``method="exact"`` or
  ``"linear"``) — with τ_m and E_l one per neuron where the equations use a parameter
  (``taum : second``), and a delta channel on v when a ``Synapses`` writes ``v_post += w``;
* each ``SpikeGeneratorGroup`` as a spike input, **exactly**: each spike in the step Brian2 puts
  it in (``int((t + 10⁻³·dt)/dt)``: a time off the dt grid moves to the step it falls in, as in
  Brian2); a periodic one (``period=``) repeated every period up to ``duration_ms``;
* each ``PoissonGroup`` with constant rates (numbers, one per source, or an expression of ``i``
  and constants) as a ``populations.poisson`` input of the same rates, drawn for ``duration_ms``
  from ``numpy.random.default_rng([seed, k])`` (``k``: its place among the random inputs, in the
  objects' order) — **statistically** equal to Brian2's, not the same spikes (Brian2's random
  stream cannot be reproduced): each source fires in each step with probability rate·dt;
* each ``PoissonInput(target, "g", N, rate, weight)`` as an input that adds ``weight`` times a
  Binomial(N, rate·dt) count to each target neuron in each step (the synapses slot, as Brian2):
  one source per target neuron and event slot (``max`` count of the run), projected one to one —
  equal in distribution to Brian2's, drawn from the same seeded stream. Brian2 itself draws from
  a normal approximation when N·p > 5 and N·(1 − p) > 5 (p = rate·dt): that is refused (its
  increments are not whole numbers of events); so is one of more than ``POISSON_INPUT_LIMIT``
  expected events;
* each ``Synapses`` from a group, a generator or a Poisson group to a group, ``on_pre="g_k +=
  <expr>"`` or ``"v += <expr>"``, weights per synapse and delays as Brian2 computes them;
* monitors are left out (they do not act on the network).

The random inputs and a periodic generator need ``duration_ms`` (the run's length: their spikes
are drawn before the run; a longer simulation has no input after it). Everything else is refused
by name (``Brian2ImportError``): a rate expression that varies in time (``t``, a ``TimedArray``,
random numbers, ``run_regularly`` on the group), an input in another scheduling slot or with
another dt, ``NetworkOperation``, ``run_regularly``, a nonzero synaptic current at the start, a
per-neuron synaptic τ, subgroups, and every form ``brian2_import`` refuses. The result starts
from the groups' current ``v`` (``v0``, mV); spike times count from step 0.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .._errors import bad, check_float
from . import populations as P
from .brian2_import import (
    _PURE,
    _constant,
    _delay_steps,
    _pre_code,
    _refractory_steps,
    _refuse,
    _resolve,
    _si,
    _threshold_reset,
    _weights,
)


def _groups_parameters(group) -> dict:
    return {n for n, e in group.user_equations.items() if e.type == "parameter"}


def _states(group) -> tuple[str, list[str]]:
    method = group.method_choice
    if method not in ("exact", "linear", "exponential_euler", "euler"):
        raise _refuse(f"integration method {method!r} of {group.name!r}", "neurosim integrates current-based "
                      "neurons exactly (method='exact'), conductance-based ones by 'exponential_euler', "
                      "adaptive exponential (AdEx) ones by 'euler'")  # fmt: skip
    eqs = group.user_equations
    for name, eq in eqs.items():
        if eq.type == "subexpression":
            raise _refuse(f"subexpression {name!r} of {group.name!r}")
    diff = [n for n, e in eqs.items() if e.type == "differential equation"]
    membrane = [n for n in diff if "unless refractory" in eqs[n].flags]
    if not membrane:  # v integrates through refractoriness: the membrane is the threshold's variable
        thr = group.events.get("spike") or ""
        m = re.match(r"\s*(\w+)\s*>", thr)
        membrane = [m.group(1)] if m and m.group(1) in diff else []
    if len(membrane) != 1:
        raise _refuse(f"the membrane equation of {group.name!r}",
                      "one differential equation, '(unless refractory)' or the threshold's variable")  # fmt: skip
    return membrane[0], [n for n in diff if n != membrane[0]]


def _refractory(group, dt: float, vname: str, namespace: dict) -> dict:
    """Population keywords for the group's refractoriness: a time (a constant or a per-neuron
    parameter, Brian2's timestep() rounding) or a condition on v (``refractory="v > -40*mV"``), and
    whether v integrates through it (no '(unless refractory)' on v)."""
    out = {"v_during_refractory": "unless refractory" not in group.user_equations[vname].flags}
    ref = group._refractory
    if not isinstance(ref, str):
        out["refractory"] = _refractory_steps(group, dt) * dt * 1e3
        return out
    m = re.fullmatch(r"\s*(\w+)\s*(>=|<=|>|<)\s*(.+?)\s*", ref)
    if m and m.group(1) == vname:
        val = _constant(group, m.group(3), namespace, f"the refractory condition {ref!r}")
        out["refractory_condition"] = f"v {m.group(2)} {val * 1e3!r}"
        return out
    if m:
        raise _refuse(f"refractory condition {ref!r} of {group.name!r}", f"a condition on {vname} only")
    if ref.strip() in group.variables and ref.strip() in _groups_parameters(group):
        r = np.asarray(group.state(ref.strip(), use_units=False)[:], float)  # one time per neuron
    else:
        r = np.asarray(_constant(group, ref, namespace, f"the refractory time {ref!r}"), float)
    steps = np.asarray((r + 1e-3 * dt) / dt, dtype=np.int64)
    out["refractory"] = _ms(steps * dt)
    return out


def _linear(group, name: str, states: list[str], namespace: dict, params: set) -> tuple[dict, object]:
    """d<name>/dt as {state: coefficient} + constant; a coefficient is a float, or one value per
    neuron where it depends on the group's parameters."""
    expr, where = _substituted(group, name, states, namespace, params)
    return _linear_expr(group, expr, where, states, params)


def _substituted(group, name: str, states: list[str], namespace: dict, params: set, **expand):
    """d<name>/dt as a sympy expression with every constant substituted (SI), expanded."""
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    code = group.user_equations[name].expr.code
    where = f"d{name}/dt of {group.name!r}"
    expr = str_to_sympy(code)
    resolved = _resolve(group, code, namespace, where, skip=[*states, *params])
    subs = {}
    for s in expr.free_symbols:
        var = resolved.get(str(s))
        if var is None:
            continue
        if not (getattr(var, "constant", False) and getattr(var, "scalar", False)):
            raise _refuse(f"{str(s)!r} in {where}", "it changes during a run; supported: constants and parameters")
        subs[s] = _si(var.get_value())
    return sympy.expand(expr.subs(subs), **expand), where


def _linear_expr(group, expr, where: str, states: list[str], params: set) -> tuple[dict, object]:
    import sympy

    values = {p: np.asarray(group.state(p, use_units=False)[:], float) for p in params}

    def value(e):
        free = sorted(e.free_symbols, key=str)
        bad = [str(f) for f in free if str(f) not in values]
        if bad:
            raise _refuse(f"a nonlinear or conductance-based term in {where}", f"{bad[0]} multiplies a state")
        if not free:
            return float(e)
        out = sympy.lambdify(free, e, modules="numpy")(*(values[str(f)] for f in free))
        return np.broadcast_to(np.asarray(out, float), (len(group),)).copy()

    coeffs, rest = {}, expr
    state_syms = [s for s in expr.free_symbols if str(s) in states]
    for s in sorted(state_syms, key=str):
        c = expr.coeff(s)
        if any(str(f) in states for f in c.free_symbols):
            raise _refuse(f"a nonlinear term in {where}", f"{s} is multiplied by {c}")
        coeffs[str(s)] = value(c)
        rest = rest - c * s
    return coeffs, value(sympy.simplify(rest))


def _coba(group, vname: str, gnames: list, namespace: dict, params: set) -> tuple:
    """A conductance-based membrane, ``dv/dt = (Σ_k g_k (E_k − v) − (v − E_l)) / τ_m`` in any
    arrangement: (τ_m, E_l, {g: E_k}, {g: scale}) in SI, scale turning Brian2's g into the
    conductance relative to the leak."""
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    code = group.user_equations[vname].expr.code
    where = f"d{vname}/dt of {group.name!r}"
    expr = str_to_sympy(code)
    resolved = _resolve(group, code, namespace, where, skip=[vname, *gnames, *params])
    subs = {}
    for sym in expr.free_symbols:
        var = resolved.get(str(sym))
        if var is not None:
            if not (getattr(var, "constant", False) and getattr(var, "scalar", False)):
                raise _refuse(f"{str(sym)!r} in {where}", "it changes during a run; supported: constants")
            subs[sym] = _si(var.get_value())
    expr = sympy.expand(expr.subs(subs))
    syms = {str(f): f for f in expr.free_symbols}  # Brian2's symbols carry assumptions: take them from expr
    v = syms.get(vname, sympy.Symbol(vname))
    bad = set(syms) - {vname, *gnames}
    if bad:
        raise _refuse(f"{sorted(bad)[0]!r} in the conductance-based {where}", "supported: constants")
    rev, scale, rest = {}, {}, expr
    for g in gnames:
        gs = syms.get(g, sympy.Symbol(g))
        c = sympy.expand(expr.coeff(gs))
        beta, alpha = c.coeff(v), c.subs(v, 0)
        if c.free_symbols - {v} or beta.free_symbols or not float(beta) < 0:
            raise _refuse(f"the {g} term of the conductance-based {where}", f"only {g}·(E − {vname}) is supported")
        rev[g], scale[g] = -float(alpha) / float(beta), float(beta)  # scale ← ·(−τ_m) below
        rest = sympy.expand(rest - c * gs)
    b, a = rest.coeff(v), rest.subs(v, 0)
    if rest.free_symbols - {v} or b.free_symbols or not float(b) < 0:
        raise _refuse(f"the leak of the conductance-based {where}", f"it needs −({vname} − E_l)/τ_m")
    tau_m = -1.0 / float(b)
    return tau_m, float(a) * tau_m, rev, {g: -k * tau_m for g, k in scale.items()}


def _population(group, namespace: dict, delta: bool) -> tuple[P.Population, dict]:
    """The population and {g name: (channel name, scale s_k)} of a NeuronGroup."""
    vname, gnames = _states(group)
    if group.method_choice == "exponential_euler":
        return _coba_population(group, vname, gnames, namespace, delta)
    if group.method_choice == "euler":
        return _adex_population(group, vname, gnames, namespace, delta)
    params = _groups_parameters(group)
    states = [vname, *gnames]
    cv, const_v = _linear(group, vname, states, namespace, params)
    a = np.asarray(cv.get(vname, 0.0), float)
    if not np.all(a < 0):
        raise _refuse(f"the membrane equation d{vname}/dt of {group.name!r}", "it needs a leak −(v − E_l)/τ_m")
    tau_m = -1.0 / a
    E_l = np.asarray(const_v) * tau_m
    channels, scale, alpha = {}, {}, {}
    lin = {g: _linear(group, g, states, namespace, params) for g in gnames}
    for g in gnames:
        if "unless refractory" in group.user_equations[g].flags:
            raise _refuse(f"'(unless refractory)' on {g!r} of {group.name!r}")
        cg, const_g = lin[g]
        kg = cg.get(g, 0.0)
        others = set(cg) - {g}
        feeder = next(iter(others)) if len(others) == 1 else None
        if feeder is not None and not (np.ndim(kg) or np.ndim(cg[feeder])) and float(cg[feeder]) > 0:
            # an alpha current: dg/dt = (a·x − g)/τ fed by dx/dt = −x/τ (the same τ), x not in dv/dt
            cx, const_x = lin[feeder]
            if (set(cx) != {feeder} or np.ndim(cx[feeder]) or abs(float(cx[feeder]) - float(kg)) > 1e-12 * abs(kg)
                    or np.any(np.asarray(const_x) != 0.0) or feeder in cv):  # fmt: skip
                raise _refuse(f"synaptic equation d{g}/dt of {group.name!r}",
                              f"an alpha current needs d{g}/dt = (a*{feeder} - {g})/tau with d{feeder}/dt = "
                              f"-{feeder}/tau (the same tau) and {feeder} absent from d{vname}/dt")  # fmt: skip
            alpha[feeder] = (g, float(cg[feeder]) / -float(kg))
            continue
        if others or np.any(np.asarray(const_g) != 0.0) or np.ndim(kg) or not kg < 0:
            raise _refuse(f"synaptic equation d{g}/dt of {group.name!r}",
                          f"only d{g}/dt = -{g}/tau with a shared tau, or an alpha pair, is supported")  # fmt: skip
        if np.any(np.asarray(group.state(g, use_units=False)[:]) != 0):
            raise _refuse(f"a nonzero starting {g} in {group.name!r}", "start the synaptic currents at 0")
    for g in gnames:
        if any(g == cur for cur, _ in alpha.values()):
            continue  # an alpha current: its channel is its feeder's
        kg = lin[g][0][g]
        channels[g] = -1e3 / kg
        src, a = alpha[g] if g in alpha else (g, 1.0)
        s_k = np.asarray(cv.get(src, 0.0)) * tau_m * a
        if np.ndim(s_k) and np.ptp(s_k) > 1e-12 * np.abs(s_k).max():
            raise _refuse(f"the coefficient of {src} in d{vname}/dt of {group.name!r}", "one per neuron")
        scale[g] = float(np.asarray(s_k).reshape(-1)[0])
        if g in alpha and np.any(np.asarray(group.state(alpha[g][0], use_units=False)[:]) != 0):
            raise _refuse(f"a nonzero starting {alpha[g][0]} in {group.name!r}", "start the synaptic currents at 0")
    if delta:
        channels[vname] = 0.0
    V_t, V_r, adds = _threshold_reset_adds(group, vname, gnames, namespace)
    for g in adds:
        if g not in channels or g in alpha:
            raise _refuse(f"a reset increment of {g!r} in {group.name!r}", "increments of exponential channels only")
    reset_add = {g: 1e3 * scale[g] * b for g, b in adds.items()}  # mV of the channel (s_k · increment)
    dt = float(group.clock.dt_)
    pop = P.Population(group.name, len(group), tau_m=_ms(tau_m), E_l=_mv(E_l), V_t=V_t * 1e3, V_r=V_r * 1e3,
                       channels=channels, **_refractory(group, dt, vname, namespace),
                       reset_add=reset_add, alpha=tuple(alpha))  # fmt: skip
    return pop, {"v": vname, "scale": scale}


def _coba_population(group, vname, gnames, namespace, delta) -> tuple[P.Population, dict]:
    params = _groups_parameters(group)
    tau_m, E_l, rev, scale = _coba(group, vname, gnames, namespace, params)
    channels = {}
    for g in gnames:
        cg, const_g = _linear(group, g, [vname, *gnames], namespace, params)
        kg = cg.get(g, 0.0)
        if set(cg) - {g} or np.any(np.asarray(const_g) != 0.0) or np.ndim(kg) or not kg < 0:
            raise _refuse(f"synaptic equation d{g}/dt of {group.name!r}", f"only d{g}/dt = -{g}/tau is supported")
        channels[g] = -1e3 / kg
        if np.any(np.asarray(group.state(g, use_units=False)[:]) != 0):
            raise _refuse(f"a nonzero starting {g} in {group.name!r}", "start the conductances at 0")
    if delta:
        channels[vname] = 0.0
    V_t, V_r, adds = _threshold_reset_adds(group, vname, gnames, namespace)
    dt = float(group.clock.dt_)
    pop = P.Population(group.name, len(group), tau_m=tau_m * 1e3, E_l=E_l * 1e3, V_t=V_t * 1e3, V_r=V_r * 1e3,
                       channels=channels, **_refractory(group, dt, vname, namespace),
                       reset_add={g: scale[g] * b for g, b in adds.items()},
                       reversal={g: e * 1e3 for g, e in rev.items()})  # fmt: skip
    # a conductance's weight is in the variable's own units (dimensionless): no factor to mV
    return pop, {"v": vname, "scale": scale, "unit": dict.fromkeys(gnames, 1.0)}


def _adex_population(group, vname, gnames, namespace, delta) -> tuple[P.Population, dict]:
    """An AdEx group integrated by ``method="euler"``: dv/dt = (ΔT·exp((v − V_T)/ΔT) − (v − E_l)
    + Σ s_k g_k − s_w w)/τ_m, one adaptation variable dw/dt = (a (v − E_l) − w)/τ_w, the other
    variables decaying channels; everything else refused by name."""
    import sympy

    params = _groups_parameters(group)
    if params:
        raise _refuse(f"parameters {sorted(params)} of the AdEx group {group.name!r}", "constants only")
    states = [vname, *gnames]
    expr, where = _substituted(group, vname, states, namespace, params, power_exp=False)
    v = next((f for f in expr.free_symbols if str(f) == vname), sympy.Symbol(vname))
    exps = [e for e in expr.atoms(sympy.exp) if v in e.free_symbols]
    if len(exps) != 1:
        raise _refuse(f"the membrane equation {where} with method='euler'", "method='euler' for AdEx neurons "
                      "(exactly one exponential term in v); LIF neurons with method='exact'")  # fmt: skip
    e = exps[0]
    arg = sympy.expand(e.args[0])
    k, c0 = arg.coeff(v), arg.subs(v, 0)
    if arg.free_symbols - {v} or k.free_symbols or float(k) <= 0:
        raise _refuse(f"the exponential term {e} in {where}", "exp((v - V_T)/DeltaT)")
    delta_T = 1.0 / float(k)
    ce = expr.coeff(e)
    cv, const = _linear_expr(group, sympy.expand(expr - ce * e), where, states, params)
    if ce.free_symbols or vname not in cv or not cv[vname] < 0 or not float(ce) > 0:
        raise _refuse(f"the membrane equation {where}", "a leak -(v - E_l)/tau_m beside DeltaT*exp((v - V_T)/DeltaT)")
    tau_m = -1.0 / float(cv[vname])
    # ce·exp(k v + c0) = (ΔT/τ_m)·exp((v − V_T)/ΔT): sympy may have moved e^{−V_T/ΔT} into ce
    V_T = -delta_T * (float(c0) + math.log(float(ce) * tau_m / delta_T))
    E_l = float(const) * tau_m
    adapt = [g for g in gnames if vname in _linear(group, g, states, namespace, params)[0]]
    if len(adapt) > 1:
        raise _refuse(f"adaptation variables {adapt} of {group.name!r}", "one (dw/dt = (a*(v - E_l) - w)/tau_w)")
    channels, scale, ad = {}, {}, None
    for g in gnames:
        cg, cst = _linear(group, g, states, namespace, params)
        if g in adapt:
            if set(cg) != {vname, g} or not cg[g] < 0:
                raise _refuse(f"the adaptation equation d{g}/dt of {group.name!r}", f"({g}: a*(v - E_l) - {g})/tau_w")
            tau_w = -1.0 / float(cg[g])
            a = float(cg[vname]) * tau_w
            if abs(float(cst) * tau_w + a * E_l) > 1e-9 * max(abs(a * E_l), 1e-12):
                raise _refuse(f"the adaptation equation d{g}/dt of {group.name!r}", "a*(v - E_l) with the leak's E_l")
            s_w = -float(cv.get(g, 0.0)) * tau_m  # dv/dt has −s_w·w/τ_m
            if s_w <= 0:
                raise _refuse(f"the adaptation variable {g} in {where}", f"-{g} in the membrane equation")
            ad = (g, a * s_w, tau_w, s_w)
            continue
        kg = cg.get(g, 0.0)
        if set(cg) - {g} or np.any(np.asarray(cst) != 0.0) or not kg < 0:
            raise _refuse(f"synaptic equation d{g}/dt of {group.name!r}", f"only d{g}/dt = -{g}/tau is supported")
        channels[g] = -1e3 / float(kg)
        scale[g] = float(cv.get(g, 0.0)) * tau_m
        if abs(scale[g] - 1.0) > 1e-12:
            raise _refuse(f"the coefficient of {g} in {where}", f"1 (dv/dt = (... + {g} ...)/tau_m)")
        if np.any(np.asarray(group.state(g, use_units=False)[:]) != 0):
            raise _refuse(f"a nonzero starting {g} in {group.name!r}", "start the synaptic currents at 0")
    if ad is None:
        raise _refuse(f"the AdEx group {group.name!r}", "an adaptation variable dw/dt = (a*(v - E_l) - w)/tau_w")
    g_w, a_w, tau_w, s_w = ad
    if np.any(np.asarray(group.state(g_w, use_units=False)[:]) != 0):
        raise _refuse(f"a nonzero starting {g_w} in {group.name!r}", "start the adaptation at 0")
    if delta:
        channels[vname] = 0.0
    V_t, V_r, adds = _threshold_reset_adds(group, vname, gnames, namespace)
    if set(adds) - {g_w}:
        raise _refuse(f"reset increments of {sorted(set(adds) - {g_w})} in {group.name!r}", f"'{g_w} += b' only")
    dt = float(group.clock.dt_)
    adex = {"delta_T": delta_T * 1e3, "V_T": V_T * 1e3, "a": a_w, "tau_w": tau_w * 1e3,
            "b": adds.get(g_w, 0.0) * s_w * 1e3}  # fmt: skip
    pop = P.Population(group.name, len(group), tau_m=tau_m * 1e3, E_l=E_l * 1e3, V_t=V_t * 1e3, V_r=V_r * 1e3,
                       channels=channels, adex=adex, **_refractory(group, dt, vname, namespace))  # fmt: skip
    return pop, {"v": vname, "scale": scale}


def _threshold_reset_adds(group, vname: str, gnames: list, namespace: dict) -> tuple[float, float, dict]:
    """(V_t, V_r, {g: increment}) in SI from ``threshold="v > V_t"`` and ``reset="v = V_r"``
    followed by any ``g += b`` lines (spike-frequency adaptation), constants only."""
    reset = group.event_codes.get("spike", "")
    lines = [x.strip() for x in reset.replace(";", "\n").splitlines() if x.strip()]
    first, rest = (lines[0], lines[1:]) if lines else ("", [])
    V_t, V_r = _threshold_reset(group, vname, namespace, reset=first)
    adds = {}
    for line in rest:
        m = re.fullmatch(r"(\w+)\s*\+=\s*(.+)", line)
        if not m or m.group(1) not in gnames:
            raise _refuse(f"reset line {line!r} of {group.name!r}", f"allowed after '{vname} = V_r': "
                          f"'<channel> += <constant>' with a channel of {gnames}")  # fmt: skip
        adds[m.group(1)] = _constant(group, m.group(2), namespace, f"reset line {line!r}")
    return V_t, V_r, adds


def _ms(x):
    """ms (or mV) from SI: one number when every neuron has the same, else one per neuron."""
    x = np.asarray(x, float) * 1e3
    return float(x.reshape(-1)[0]) if x.ndim == 0 or np.all(x == x.reshape(-1)[0]) else x


_mv = _ms


def _on_pre(S, target_info: dict, group, line: str | None = None) -> tuple[str, str, str, str]:
    """(channel, state written, weight expression, code) of ``on_pre="X += <expr>"`` (or of the
    delivery ``line`` of a plastic synapse's on_pre)."""
    if line is None:
        target, wexpr, code = _pre_code(S, "'g += w' or 'v += w'")
    else:
        m = re.fullmatch(r"(\w+)\s*\+=\s*(.+)", line)
        target, wexpr, code = m.group(1), m.group(2).strip(), line
    var = S.variables.get(target)
    names = [target_info["v"], *target_info["scale"]]
    hit = [n for n in names if var is group.variables[n]]
    if not hit or S.variables.indices[target] != "_postsynaptic_idx":
        raise _refuse(f"on_pre target {target!r} of {S.name!r}", f"allowed: the postsynaptic {names}")
    return hit[0], hit[0], wexpr, code


_CLIP = re.compile(r"(\w+)\s*=\s*clip\(\s*(\w+)\s*\+\s*(\w+)\s*,\s*(.+?)\s*,\s*(.+?)\s*\)")


def _stdp(S, namespace: dict):
    """Brian2's canonical pair-based STDP ``Synapses`` (its documented example): a weight ``w``,
    two event-driven traces ``dapre/dt = -apre/taupre``, ``dapost/dt = -apost/taupost``;
    on_pre ``<target> += w`` first, then ``apre += Apre`` and ``w = clip(w + apost, wmin, wmax)``;
    on_post ``apost += Apost`` and ``w = clip(w + apre, wmin, wmax)``. Returns (the delivery
    line, the weight's name, {tau_pre, tau_post (s), A_pre, A_post, w_min, w_max (the weight's
    SI unit)}); any other plastic form refused by name."""
    where = f"the plastic synapses {S.name!r}"
    form = ("Brian2's pair-based STDP: on_pre '<target> += w; apre += Apre; w = clip(w + apost, wmin, wmax)', "
            "on_post 'apost += Apost; w = clip(w + apre, wmin, wmax)', event-driven traces")  # fmt: skip
    paths = {p.prepost: p for p in S._pathways}
    if set(paths) != {"pre", "post"}:
        raise _refuse(where, form)
    ed = S.event_driven
    diff = {n: ed[n] for n in ed.diff_eq_names} if ed is not None else {}
    if len(diff) != 2 or any(e.type == "differential equation" for e in S.equations.values()):
        raise _refuse(f"the synaptic equations of {where}", "two event-driven traces, nothing integrated per step")
    taus = {}
    for name, eq in diff.items():
        m = re.fullmatch(rf"\s*-\s*{name}\s*/\s*(.+?)\s*", eq.expr.code)
        if not m:
            raise _refuse(f"d{name}/dt = {eq.expr.code} in {where}", f"-{name}/tau")
        taus[name] = _constant(S, m.group(1), namespace, f"the time constant of {name} in {where}")
        if np.any(np.asarray(S.state(name, use_units=False)[:]) != 0):
            raise _refuse(f"a nonzero starting {name} in {where}", "start the traces at 0")
    pre = [x.strip() for x in paths["pre"].code.strip().splitlines() if x.strip()]
    post = [x.strip() for x in paths["post"].code.strip().splitlines() if x.strip()]
    if len(pre) != 3 or len(post) != 2 or not re.fullmatch(r"\w+\s*\+=\s*\w+", pre[0]):
        raise _refuse(f"on_pre {paths['pre'].code!r} / on_post {paths['post'].code!r} of {where}", form)
    w = pre[0].split("+=")[1].strip()

    def parts(lines, side):
        inc = [re.fullmatch(r"(\w+)\s*\+=\s*(.+)", x) for x in lines]
        clip = [_CLIP.fullmatch(x) for x in lines]
        a = next((m for m in inc if m and m.group(1) in diff), None)
        c = next((m for m in clip if m), None)
        if a is None or c is None or c.group(1) != w or c.group(2) != w or c.group(3) not in diff:
            raise _refuse(f"{side} {lines!r} of {where}", form)
        return a, c

    a_pre, c_pre = parts(pre[1:], "on_pre")
    a_post, c_post = parts(post, "on_post")
    pre_tr, post_tr = a_pre.group(1), a_post.group(1)
    if pre_tr == post_tr or c_pre.group(3) != post_tr or c_post.group(3) != pre_tr:
        raise _refuse(f"the traces of {where}", "on_pre bumps one trace and adds the other to w; on_post the reverse")
    if np.any(np.asarray(paths["post"].variables["delay"].get_value()) != 0):
        raise _refuse(f"an on_post delay in {where}", "postsynaptic spikes act at once")
    k = lambda text, what: _constant(S, text, namespace, f"{what} in {where}")  # noqa: E731
    bounds = [(k(c.group(4), "w_min"), k(c.group(5), "w_max")) for c in (c_pre, c_post)]
    if bounds[0] != bounds[1]:
        raise _refuse(f"the bounds of {where}", f"the same clip on both pathways, not {bounds}")
    return pre[0], w, dict(tau_pre=taus[pre_tr], tau_post=taus[post_tr], A_pre=k(a_pre.group(2), "A_pre"),
                           A_post=k(a_post.group(2), "A_post"), w_min=bounds[0][0], w_max=bounds[0][1])  # fmt: skip


POISSON_INPUT_LIMIT = 20_000_000  # expected events of one PoissonInput over the run (drawn before it)


def _steps_of(duration_ms, dt_ms: float, what: str) -> int:
    """The run's steps for an input drawn before it (``duration_ms``: ms, or a Brian2 time)."""
    if duration_ms is None:
        raise _refuse(what, "its spikes are drawn before the run: pass duration_ms= (the run's length in ms)")
    if hasattr(duration_ms, "dim"):
        from brian2 import second

        duration_ms = float(duration_ms / second) * 1e3
    return int(round(check_float("duration_ms", duration_ms, 0.0, None, lo_open=True) / dt_ms))


def _slot(o, expected: str, what: str, dt: float) -> None:
    th = getattr(o, "thresholder", None)  # a PoissonGroup fires in its thresholder's slot
    obj = th["spike"] if th else o
    if obj.when != expected:
        raise _refuse(f"{what} in the {obj.when!r} slot", f"supported: Brian2's default, {expected!r}")
    if abs(float(o.clock.dt_) - dt) > 1e-12 * dt:
        raise _refuse(f"{what} with dt = {float(o.clock.dt_) * 1e3:g} ms", f"the groups' dt, {dt * 1e3:g} ms")


def _generator_input(gen, dt: float, duration_ms) -> P.SpikeInput:
    """A ``SpikeGeneratorGroup``'s spikes in Brian2's steps (``SpikeGeneratorGroup.before_run``:
    ``int32((t + 1e-3·dt)/dt)``), repeated every period if it has one."""
    what = f"SpikeGeneratorGroup {gen.name!r}"
    _slot(gen, "thresholds", what, dt)
    t = np.asarray(gen.variables["spike_time"].get_value(), float)
    idx = np.asarray(gen.variables["neuron_index"].get_value(), np.int64)
    steps = np.asarray((t + 1e-3 * dt) / dt, dtype=np.int32).astype(np.int64)
    period = float(np.asarray(gen.variables["period"].get_value()).reshape(-1)[0])
    period_bins = float(np.round(period / dt))
    if period_bins > np.iinfo(np.int32).max:  # Brian2 takes such a period as infinite (and warns)
        period = period_bins = 0.0
    if period != 0.0:
        if abs(period_bins * dt - period) > period * np.finfo(float).eps:
            raise _refuse(f"the periodic {what} with a period of {period * 1e3:g} ms", "a multiple of dt")
        n_steps = _steps_of(duration_ms, dt * 1e3, f"the periodic {what} (its spikes repeat for ever)")
        reps = np.arange(0, n_steps, int(period_bins), dtype=np.int64)
        steps = (reps[:, None] + steps[None, :]).ravel()
        idx = np.tile(idx, reps.size)
        keep = steps < n_steps
        steps, idx = steps[keep], idx[keep]
    try:
        return P.generator(gen.name, len(gen), idx, steps * (dt * 1e3), dt * 1e3)
    except ValueError as e:
        raise _refuse(f"the spikes of {what}", str(e)) from None


def _poisson_rates(pg, namespace: dict) -> np.ndarray:
    """A ``PoissonGroup``'s rates (Hz, one per source), refused by name if they vary in time."""
    from brian2.core.functions import DEFAULT_FUNCTIONS, Function
    from brian2.core.variables import Subexpression

    var = pg.variables["rates"]
    if isinstance(var, Subexpression):
        where = f"the rate expression {var.expr!r} of PoissonGroup {pg.name!r}"
        found = _resolve(pg, var.expr, namespace, "the rates")
        for name, v in sorted(found.items(), key=lambda x: not isinstance(x[1], Function)):  # functions first
            if isinstance(v, Function) and not (name in _PURE and DEFAULT_FUNCTIONS.get(name) is v):
                raise _refuse(where, f"{name!r} ({type(v).__name__}) varies in time or is random; supported: "
                              "constant rates (numbers, one per source, expressions of i and constants)")  # fmt: skip
            if not isinstance(v, Function) and not getattr(v, "constant", False):
                raise _refuse(where, f"{name!r} changes during the run; supported: constant rates")
        rates = pg.rates.get_item(slice(None), level=0, namespace=namespace)
    else:
        rates = var.get_value()
    return np.broadcast_to(np.asarray(rates, float), (len(pg),)).copy()


def _poisson_group_input(pg, namespace: dict, dt: float, duration_ms, seed) -> P.SpikeInput:
    what = f"PoissonGroup {pg.name!r}"
    _slot(pg, "thresholds", what, dt)
    if any(c.name.startswith(pg.name + "_run_regularly") for c in pg.contained_objects):
        raise _refuse(f"run_regularly code on {what}", "its rates would vary in time; supported: constant rates")
    rates = _poisson_rates(pg, namespace)
    dt_ms = dt * 1e3
    n_steps = _steps_of(duration_ms, dt_ms, what)
    top = 1e3 / dt_ms  # rate·dt >= 1 fires in every step (Brian2: rand() < rates·dt)
    while top * dt_ms / 1000.0 > 1.0:
        top = np.nextafter(top, 0.0)
    try:
        return P.poisson(pg.name, len(pg), np.minimum(rates, top), n_steps * dt_ms, dt_ms, seed=seed)
    except ValueError as e:
        raise _refuse(f"the rates of {what}", str(e)) from None


def _poisson_input(pi, info: dict, groups: list, namespace: dict, dt: float, duration_ms, seed):
    """(input, projection) of a ``PoissonInput``: one source per target neuron and event slot."""
    from brian2 import Subgroup

    what = f"PoissonInput {pi.name!r}"
    grp = pi._group
    root, start = (grp.source, int(grp.start)) if isinstance(grp, Subgroup) else (grp, 0)
    if root not in groups:
        raise _refuse(f"{what} onto {root.name!r}", "the target must be an imported NeuronGroup")
    _slot(pi, "synapses", what, dt)
    target = info[root.name]
    var = pi._target_var
    if var != target["v"] and var not in target["scale"]:
        raise _refuse(f"{what} onto {var!r} of {root.name!r}", f"allowed: {[target['v'], *target['scale']]}")
    N = int(pi._N)
    p = float(np.asarray(pi._rate * grp.clock.dt))
    if N * p > 5 and N * (1 - p) > 5:
        raise _refuse(f"{what} with N·p = {N}·{p:g} = {N * p:g} > 5",
                      "Brian2 then draws its increments from a normal approximation, not whole numbers of "
                      "events; export it as a PoissonGroup(N·n, rate) + Synapses(..., on_pre='g_post += w') "
                      "connected j = i // N (Brian2's exact binomial drive), which is imported")  # fmt: skip
    if not 0.0 <= p <= 1.0:
        raise _refuse(f"{what} with rate·dt = {p:g}", "a probability in [0, 1]")
    w = pi._weight
    if isinstance(w, str):
        w = _constant(root, w, namespace, f"the weight {w!r} of {what}")
    w = float(np.asarray(w)) * target.get("unit", {}).get(var, 1e3)
    if var != target["v"]:
        w *= target["scale"][var]
    dt_ms = dt * 1e3
    n_steps = _steps_of(duration_ms, dt_ms, what)
    n = len(grp)
    expected = N * p * n * n_steps
    if expected > POISSON_INPUT_LIMIT or n * n_steps > 10 * POISSON_INPUT_LIMIT:
        raise _refuse(f"{what} of {N} sources × {n} neurons × {n_steps} steps ({expected:.3g} expected events, "
                      f"{n * n_steps:.3g} neuron-steps; the limits: {POISSON_INPUT_LIMIT:.3g} events, "
                      f"{10 * POISSON_INPUT_LIMIT:.3g} neuron-steps)", "its events are drawn before the run: "
                      "import a shorter duration_ms, or give fewer sources (a PoissonGroup + Synapses)")  # fmt: skip
    rng = np.random.default_rng(seed)
    ts, js, cs = [], [], []
    chunk = max(1, 2_000_000 // n)
    for s0 in range(0, n_steps, chunk):
        c = rng.binomial(N, p, size=(min(chunk, n_steps - s0), n))
        t, j = np.nonzero(c)  # by step, then neuron
        ts.append(t + s0)
        js.append(j)
        cs.append(c[t, j])
    t, j, c = (np.concatenate(x).astype(np.int64) for x in (ts, js, cs))
    m = max(1, int(c.max(initial=0)))  # event slots per neuron
    first = np.repeat(np.cumsum(c) - c, c)
    slot = np.arange(int(c.sum())) - first
    inp = P.SpikeInput(pi.name, n * m, np.repeat(t, c), (np.repeat(j, c) * m + slot).astype(np.int32), dt_ms)
    src = np.arange(n * m)
    proj = P.projection(pi.name, root.name, src, start + src // m, w, var, dt=dt_ms)
    return inp, proj


def _natural(name: str) -> tuple:
    m = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
    return (m.group(1), int(m.group(2) or -1))


def from_brian2_network(objects, namespace: dict | None = None, *, seed: int = 0, duration_ms=None):
    """(``MultiNetwork``, v0 in mV) of a Brian2 network's groups, inputs and synapses (see the
    module docstring); ``objects`` a ``brian2.Network`` (populations ordered by name) or a list
    (in its order); ``namespace`` as Brian2's ``run(namespace=...)`` (default: the caller's);
    ``seed`` the seed of the ``PoissonGroup`` / ``PoissonInput`` draws (statistically equal to
    Brian2's, not the same spikes); ``duration_ms`` (ms, or a Brian2 time) the run they are drawn
    for, needed by those and by a periodic ``SpikeGeneratorGroup``."""
    from brian2 import (
        NetworkOperation,
        NeuronGroup,
        PoissonGroup,
        PoissonInput,
        SpikeGeneratorGroup,
        SpikeMonitor,
        StateMonitor,
        Subgroup,
        Synapses,
    )
    from brian2.core.namespace import get_local_namespace
    from brian2.monitors import PopulationRateMonitor

    if namespace is None:
        namespace = get_local_namespace(level=1)
    if isinstance(objects, (list, tuple)):
        objs = list(objects)  # the populations in the order given
    else:  # a Network holds a set: by name, Brian2's automatic names in creation order (x, x_1, x_2, …)
        objs = sorted(objects.objects, key=lambda o: _natural(o.name))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad("seed", seed, "an integer >= 0")
    groups, gens, pgs, pis, syns = [], [], [], [], []
    for o in objs:
        if isinstance(o, (SpikeMonitor, StateMonitor, PopulationRateMonitor)):
            continue
        if isinstance(o, Subgroup):
            raise _refuse(f"subgroup {o.name!r}", "import whole groups")
        if isinstance(o, (PoissonGroup, PoissonInput)) and not o.active:
            continue  # Brian2 does not run it
        if isinstance(o, PoissonGroup):
            pgs.append(o)
            continue
        if isinstance(o, PoissonInput):
            pis.append(o)
            continue
        if isinstance(o, NetworkOperation):
            raise _refuse(f"NetworkOperation {o.name!r}", "arbitrary Python cannot be imported")
        if isinstance(o, SpikeGeneratorGroup):
            gens.append(o)
        elif isinstance(o, NeuronGroup):
            groups.append(o)
        elif isinstance(o, Synapses):
            syns.append(o)
        else:
            raise _refuse(f"object {o.name!r} ({type(o).__name__})", "supported: NeuronGroup, SpikeGeneratorGroup, "
                          "PoissonGroup, PoissonInput, Synapses and monitors")  # fmt: skip
    if not groups:
        raise _refuse("a network without a NeuronGroup")
    for g in groups:
        if any(type(c).__name__ == "CodeRunner" and c.name.startswith(g.name + "_run_regularly")
               for c in g.contained_objects):  # fmt: skip
            raise _refuse(f"run_regularly code on {g.name!r}")
    dt = float(groups[0].clock.dt_)
    delta_targets = set()
    for S in syns:
        code = next((p.code for p in S._pathways if p.prepost == "pre"), "")
        m = re.fullmatch(r"\s*(\w+)\s*\+=.*", code.strip())
        if m and isinstance(S.target, NeuronGroup) and S.target in groups:
            try:
                vname = _states(S.target)[0]
            except Exception:  # noqa: BLE001 - refused below with its own message
                continue
            if S.variables.get(m.group(1)) is S.target.variables[vname]:
                delta_targets.add(S.target.name)
    for pi in pis:  # a PoissonInput onto v is a delta channel too
        root = getattr(pi._group, "source", pi._group)
        if root in groups:
            try:
                if pi._target_var == _states(root)[0]:
                    delta_targets.add(root.name)
            except Exception:  # noqa: BLE001 - refused below with its own message
                continue
    pops, info = [], {}
    for g in groups:
        pop, inf = _population(g, namespace, g.name in delta_targets)
        pops.append(pop)
        info[g.name] = inf
    inputs = [_generator_input(gen, dt, duration_ms) for gen in gens]
    projs, k = [], 0  # k: the random inputs' streams, in the objects' order
    for o in objs:
        if o in pgs:
            inputs.append(_poisson_group_input(o, namespace, dt, duration_ms, [int(seed), k]))
        elif o in pis:
            inp, proj = _poisson_input(o, info, groups, namespace, dt, duration_ms, [int(seed), k])
            inputs.append(inp)
            projs.append(proj)
        else:
            continue
        k += 1
    for S in syns:
        if S.target not in groups:
            raise _refuse(f"synapses {S.name!r} onto {S.target.name!r}", "the target must be an imported NeuronGroup")
        if S.source not in groups and S.source not in gens and S.source not in pgs:
            raise _refuse(f"synapses {S.name!r} from {S.source.name!r}", "the source must be an imported group")
        plastic = any(p.prepost == "post" for p in S._pathways) or S.event_driven is not None
        line, _, rule = _stdp(S, namespace) if plastic else (None, None, None)
        chan, state, wexpr, code = _on_pre(S, info[S.target.name], S.target, line)
        target = info[S.target.name]
        factor = target.get("unit", {}).get(state, 1e3) * (target["scale"][state] if state != target["v"] else 1.0)
        w = _weights(S, S.target, state, wexpr, code, namespace) * factor
        stdp = None
        if rule is not None:
            ms = 1e3
            stdp = P.STDP(tau_pre=rule["tau_pre"] * ms, tau_post=rule["tau_post"] * ms, A_pre=rule["A_pre"] * factor,
                          A_post=rule["A_post"] * factor, w_min=rule["w_min"] * factor,
                          w_max=rule["w_max"] * factor)  # fmt: skip
        pre_path = next(p for p in S._pathways if p.prepost == "pre")
        d = _delay_steps(pre_path, len(S), dt)
        projs.append(P.projection(S.source.name, S.target.name, np.asarray(S.i[:], int), np.asarray(S.j[:], int), w,
                                  chan, delay_ms=d * dt * 1e3, dt=dt * 1e3, stdp=stdp))  # fmt: skip
    net = P.build(pops, projs, inputs, dt=dt * 1e3)
    v0 = np.concatenate([np.asarray(g.state(info[g.name]["v"], use_units=False)[:], float) * 1e3 for g in groups])
    return net, v0

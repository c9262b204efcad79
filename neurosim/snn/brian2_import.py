"""Import a Brian2 ``NeuronGroup`` + ``Synapses`` into a ``LIFNetwork``.

Supported: one population with exactly the current-based LIF form neurosim integrates —

    dv/dt = (Σ_k s_k g_k − (v − E_l)) / τ_m : volt (unless refractory)
    dg_k/dt = −g_k / τ_k : volt

(constant coefficients, in any algebraic arrangement sympy can expand), ``threshold="v > V_t"``,
``reset="v = V_r"``, a fixed ``refractory`` time, ``method="exact"`` or ``"linear"``; synapses
from the group to itself with ``on_pre="g_k += <expr>"`` and homogeneous or per-synapse delays.
Everything else is refused with a ``Brian2ImportError`` (a ``ValueError``) that names the
feature: other integration methods, conductance-based or nonlinear terms, per-neuron parameters,
subexpressions, time-varying terms (``t``, ``TimedArray``, random numbers), reset or threshold
code of another form, plasticity (``on_post``, event-driven or differential synaptic equations),
synapses between different groups, ``v += w`` (delta synapses).

**Synaptic expressions** are resolved in the synapses' own namespace, in Brian2's order: the
synapses' variables first (a per-synapse ``w`` wins over a constant ``w`` in the namespace, as in
Brian2), then the groups' (``v_pre``, ``ge_post``; unsuffixed means postsynaptic), then the
namespace and units. ``<expr>`` is evaluated once per synapse (numpy, float64) from constants,
the synapses' own parameters (``w : volt``, ``w : 1 (shared)``) and constant indices (``i``,
``j``, ``N_incoming``, ...); state that changes during a run (``v_pre``, ``t``) is refused.

**Steps** are computed with Brian2's own arithmetic in SI units (seconds, float64):

* delay d → ``(int)(d/dt + 0.5)``, half-steps rounded up (``SpikeQueue::prepare`` in
  brian2/synapses/cspikequeue.cpp: the runtime device's queue for every codegen target, numpy
  included, whenever its compiled module imports; standalone compiles the same file); with
  Brian2's pure-Python fallback queue (spikequeue.py) ``np.round(d/dt)``, half-steps to even;
* refractory r → ``timestep(r, dt) = int64((r + 1e-3·dt)/dt)`` (brian2/core/functions.py).

**Inputs.** Every Brian2 object that acts on the group must be in the import: a ``PoissonInput``
on it, ``Synapses`` into it from another group (``PoissonGroup``, ``SpikeGeneratorGroup``, ...),
``Synapses`` from it that write ``_pre`` variables, ``run_regularly`` code, or ``Synapses`` from
the group to itself that were not passed. By default they are looked for among all live Brian2
objects (Brian2 tracks them by weak reference); ``network=`` (a ``Network`` or a collection of
objects) restricts the search to what you run (``_brian2_inputs.py``). Found inputs raise, or warn with
``inputs="warn"``. A ``NetworkOperation`` runs arbitrary Python that cannot be inspected: it
only warns. Inactive objects (``active=False``) are ignored.

Units: times become ms, voltages mV. The result uses the group's current ``v`` and ``g`` as the
initial state.
"""

from __future__ import annotations

import dataclasses
import re
from typing import NamedTuple

import numpy as np

from .._errors import check_choice
from .network import LIFNetwork, from_edges


class Brian2ImportError(ValueError):
    """A Brian2 model uses a feature neurosim does not support (the message names it)."""


def _refuse(feature: str, detail: str = "") -> Brian2ImportError:
    return Brian2ImportError(f"Brian2 model not supported: {feature}" + (f" ({detail})" if detail else ""))


def _si(q) -> float:
    return float(np.asarray(q).reshape(-1)[0])


# Brian2's stateless mathematical functions (DEFAULT_FUNCTIONS minus rand, randn, poisson, timestep)
_PURE = frozenset(
    "abs arccos arcsin arctan ceil clip cos cosh exp expm1 exprel floor int log log10 log1p sign sin sinh "
    "sqrt tan tanh".split()
)


# --- identifiers -------------------------------------------------------------------------------


def _resolve(owner, text: str, namespace: dict, where: str, skip=()) -> dict:
    """Brian2's own resolution (``owner.resolve_all``) of each identifier in ``text``."""
    from brian2.utils.stringtools import get_identifiers

    out = {}
    for name in sorted(get_identifiers(text) - set(skip)):
        try:
            out[name] = owner.resolve_all([name], run_namespace=namespace)[name]
        except KeyError:
            raise _refuse(
                f"identifier {name!r} in {where} of {owner.name!r}",
                "not a variable of the object or its groups, nor in the namespace",
            ) from None
    return out


def _values(owner, resolved: dict, where: str, per_synapse: bool = False) -> dict:
    """name → value (float, or one value per synapse) of resolved identifiers that do not change
    during a run; pure functions are left to sympy; anything else is refused by name."""
    from brian2.core.functions import DEFAULT_FUNCTIONS, Function
    from brian2.core.variables import Constant, Subexpression

    own = owner.equations if per_synapse else {}
    out = {}
    for name, var in resolved.items():
        if isinstance(var, Function):
            if name in _PURE and DEFAULT_FUNCTIONS.get(name) is var:
                continue
            raise _refuse(
                f"{type(var).__name__} {name!r} in {where} of {owner.name!r}",
                "supported: constants and Brian2's stateless maths functions; no time-varying or random inputs",
            )
        if isinstance(var, Constant):
            out[name] = _si(var.get_value())
        elif isinstance(var, Subexpression):
            raise _refuse(f"subexpression {name!r} in {where} of {owner.name!r}")
        elif not (var.constant or (name in own and own[name].type == "parameter")):
            raise _refuse(
                f"{name!r} in {where} of {owner.name!r}",
                "it changes during a run" + (" (a time-dependent input)" if name == "t" else "")
                + "; supported: constants" + (", the synapses' parameters and constant indices" if per_synapse else ""),
            )  # fmt: skip
        elif var.scalar:
            out[name] = _si(var.get_value())
        elif per_synapse:
            out[name] = np.asarray(owner.state(name, use_units=False)[:], float)
        else:
            raise _refuse(f"per-neuron value {name!r} in {where} of {owner.name!r}", "use a shared constant")
    return out


def _constant_subs(owner, expr, code: str, namespace: dict, where: str, skip=()) -> dict:
    """sympy substitutions {symbol: value} for the constants of ``code`` (parsed as ``expr``)."""
    vals = _values(owner, _resolve(owner, code, namespace, where, skip), where)
    return {s: vals[str(s)] for s in expr.free_symbols if str(s) in vals}


# --- the neuron --------------------------------------------------------------------------------


class _Neuron(NamedTuple):
    v: str
    g: list[str]
    tau_m: float  # s
    E_l: float  # V
    scale: list[float]  # s_k
    tau_syn: list[float]  # s


def _states(group) -> tuple[str, list[str]]:
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
    gnames = [n for n in diff if n != membrane[0]]
    if not gnames:
        raise _refuse("a population without synaptic current variables")
    for g in gnames:
        if "unless refractory" in eqs[g].flags:
            raise _refuse(f"'(unless refractory)' on {g!r}")
    return membrane[0], gnames


def _linear(group, name: str, states: list[str], namespace: dict) -> tuple[dict, float]:
    """d<name>/dt as {state: coefficient} + constant (SI); refuses every other form."""
    import sympy
    from brian2.parsing.sympytools import str_to_sympy

    code = group.user_equations[name].expr.code
    where = f"d{name}/dt"
    expr = str_to_sympy(code)
    expr = sympy.expand(expr.subs(_constant_subs(group, expr, code, namespace, where, skip=states)))
    coeffs, rest = {}, expr
    for s in sorted(expr.free_symbols, key=str):
        c = expr.coeff(s)
        if c.free_symbols:
            raise _refuse(
                f"a nonlinear or conductance-based term in {where}",
                f"{s} is multiplied by {c}; only current-based linear terms are supported",
            )
        coeffs[str(s)] = float(c)
        rest = rest - c * s
    rest = sympy.simplify(rest)
    if rest.free_symbols:
        raise _refuse(f"a nonlinear term in {where}", str(rest))
    return coeffs, float(rest)


def _neuron(group, namespace: dict) -> _Neuron:
    vname, gnames = _states(group)
    states = [vname, *gnames]
    cv, const_v = _linear(group, vname, states, namespace)
    a = cv.get(vname, 0.0)
    if not a < 0:
        raise _refuse(f"the membrane equation d{vname}/dt", "it needs a leak −(v − E_l)/τ_m")
    tau_m = -1.0 / a
    scale, tau_syn = [], []
    for g in gnames:
        cg, const_g = _linear(group, g, states, namespace)
        if set(cg) - {g} or const_g != 0.0 or not cg.get(g, 0.0) < 0:
            raise _refuse(f"synaptic equation d{g}/dt", f"only d{g}/dt = -{g}/tau is supported")
        tau_syn.append(-1.0 / cg[g])
        scale.append(cv.get(g, 0.0) * tau_m)
    return _Neuron(vname, gnames, tau_m, const_v * tau_m, scale, tau_syn)


def _constant(group, text: str, namespace: dict, what: str) -> float:
    from brian2.parsing.sympytools import str_to_sympy

    try:
        expr = str_to_sympy(text)
    except Exception:  # noqa: BLE001 - any parse failure is a form we do not support
        raise _refuse(what, "the right-hand side must be a constant") from None
    try:
        return float(expr.subs(_constant_subs(group, expr, text, namespace, what)))
    except TypeError:
        raise _refuse(what, "the right-hand side must be a constant") from None


def _threshold_reset(group, vname: str, namespace: dict, reset: str | None = None) -> tuple[float, float]:
    """(V_t, V_r) in V from ``threshold="v > V_t"`` and ``reset="v = V_r"`` (``reset``: that line,
    when the caller has split off more)."""
    thr = group.events.get("spike")
    if thr is None or set(group.events) != {"spike"}:
        raise _refuse("custom events", str(dict(group.events)))
    m = re.fullmatch(rf"\s*{vname}\s*>\s*(.+)", thr)
    if not m:
        raise _refuse(f"threshold {thr!r}", f"only '{vname} > V_t' is supported")
    V_t = _constant(group, m.group(1), namespace, f"threshold {thr!r}")
    reset = group.event_codes.get("spike", "") if reset is None else reset
    m = re.fullmatch(rf"\s*{vname}\s*=\s*([^\n;]+)\s*", reset)
    if not m:
        raise _refuse(f"reset {reset!r}", f"only '{vname} = V_r' is supported")
    return V_t, _constant(group, m.group(1), namespace, f"reset {reset!r}")


def _refractory_steps(group, dt: float) -> int:
    """Brian2's ``timestep(refractory, dt)`` = int64((r + 1e-3·dt)/dt), r and dt in s."""
    from brian2 import prefs

    ref = group._refractory
    if isinstance(ref, str):
        raise _refuse(f"refractory expression {ref!r}", "only a fixed time is supported")
    if ref is False or ref is None:
        return 0
    if prefs.legacy.refractory_timing:
        raise _refuse("prefs.legacy.refractory_timing = True", "only Brian2's default timestep() rule")
    return int(np.array((_si(ref) + 1e-3 * dt) / dt, dtype=np.int64))


# --- synapses ----------------------------------------------------------------------------------


def _pre_code(S, allowed: str = "'g += w'") -> tuple[str, str, str]:
    """(the variable written, the weight expression, the code) of ``on_pre="X += <expr>"``;
    plasticity and every other form refused by name."""
    if S.event_driven is not None or any(e.type == "differential equation" for e in S.equations.values()):
        raise _refuse(f"plasticity in synapses {S.name!r}", "event-driven or differential synaptic equations")
    paths = {p.prepost: p for p in S._pathways}
    if set(paths) != {"pre"}:
        raise _refuse(f"on_post in synapses {S.name!r}", "plasticity is not supported")
    code = paths["pre"].code.strip()
    m = re.fullmatch(r"(\w+)\s*\+=\s*(.+)", code)
    if not m or "\n" in code:
        raise _refuse(f"on_pre code {code!r} of {S.name!r}", f"only {allowed} is supported")
    return m.group(1), m.group(2).strip(), code


def _on_pre(S, group, neuron: _Neuron) -> tuple[int, str, str]:
    """(channel k, weight expression, code) of ``on_pre="g_k += <expr>"`` (post-synaptic g_k)."""
    target, wexpr, code = _pre_code(S)
    var = S.variables.get(target)
    if var is group.variables[neuron.v]:
        raise _refuse(f"'{target} += ...' in {S.name!r} (a delta synapse on the membrane)")
    chans = [k for k, g in enumerate(neuron.g) if var is group.variables[g]]
    if not chans or S.variables.indices[target] != "_postsynaptic_idx":
        raise _refuse(f"on_pre target {target!r} of {S.name!r}", f"allowed: the postsynaptic {neuron.g}")
    return chans[0], wexpr, code


def _weights(S, group, gname: str, wexpr: str, code: str, namespace: dict) -> np.ndarray:
    """``wexpr`` for every synapse (SI), resolved as Brian2 resolves it (own variables first)."""
    import sympy
    from brian2.parsing.expressions import parse_expression_dimensions
    from brian2.parsing.sympytools import str_to_sympy
    from brian2.units.fundamentalunits import get_unit_for_display as unit

    where = f"on_pre {code!r}"
    resolved = _resolve(S, wexpr, namespace, where)
    vals = _values(S, resolved, where, per_synapse=True)
    want = group.variables[gname].dim
    try:
        dim = parse_expression_dimensions(wexpr, resolved)
    except Exception as e:  # noqa: BLE001 - Brian2 itself would refuse to run it
        raise _refuse(f"{where} of {S.name!r}", f"inconsistent units: {e}") from None
    if dim != want:
        raise _refuse(f"{where} of {S.name!r}", f"the weight has units {unit(dim)!r}, {gname} has {unit(want)!r}")
    expr = str_to_sympy(wexpr)
    syms = sorted(expr.free_symbols, key=str)
    try:
        w = sympy.lambdify(syms, expr, modules="numpy")(*(vals[str(s)] for s in syms))
        w = np.broadcast_to(np.asarray(w, np.float64), (len(S),)).copy()
    except Exception as e:  # noqa: BLE001 - any evaluation failure is a form we do not support
        raise _refuse(f"{where} of {S.name!r}", f"cannot evaluate it per synapse: {e}") from None
    if not np.all(np.isfinite(w)):
        raise _refuse(f"{where} of {S.name!r}", "non-finite weights")
    return w


def _delay_steps(path, n_syn: int, dt: float) -> np.ndarray:
    """Delays in steps exactly as Brian2's spike queue computes them (module docstring), d and dt
    in s: the C++ queue ``(int)(d/dt + 0.5)`` in double, the Python fallback ``np.round(d/dt)``."""
    from brian2.devices.device import get_device

    d = np.asarray(path.variables["delay"].get_value())
    try:
        compiled = type(get_device().spike_queue(0, 1)).__module__.endswith("cythonspikequeue")
    except NotImplementedError:  # standalone devices compile cspikequeue.cpp
        compiled = True
    steps = np.trunc(d.astype(np.float64) / dt + 0.5) if compiled else np.round(d / dt)
    return np.broadcast_to(steps.astype(np.int64).reshape(-1), (n_syn,))


def _edges(S, group, neuron: _Neuron, namespace: dict, dt: float) -> tuple[np.ndarray, ...]:
    """(pre, post, weight in mV of the current, channel, delay in steps) of one Synapses."""
    from brian2 import Synapses

    if not isinstance(S, Synapses):
        raise _refuse(f"object {S!r}", "expected brian2.Synapses")
    if S.source is not group or S.target is not group:
        raise _refuse(f"synapses {S.name!r} between different groups or subgroups")
    k, wexpr, code = _on_pre(S, group, neuron)
    n_syn = len(S)
    w = _weights(S, group, neuron.g[k], wexpr, code, namespace)
    pre, post = np.asarray(S.i[:], np.int64), np.asarray(S.j[:], np.int64)
    return pre, post, w * 1e3 * neuron.scale[k], np.full(n_syn, k), _delay_steps(S._pathways[0], n_syn, dt)


# --- the importer ------------------------------------------------------------------------------


def from_brian2(
    group, synapses=(), namespace: dict | None = None, *, network=None, inputs: str = "raise"
) -> tuple[LIFNetwork, np.ndarray, np.ndarray]:
    """(network, v0 in mV, g0 (channels, n) in mV) from a Brian2 group and its synapses.

    ``namespace`` resolves external constants (as Brian2's ``run(namespace=...)``); default: the
    caller's local and global names, like Brian2 itself. ``network``: a ``brian2.Network`` (or a
    collection of Brian2 objects) to search for inputs the import would leave out; default: all
    live Brian2 objects. ``inputs``: ``"raise"`` (default) or ``"warn"`` when such inputs exist.
    """
    from brian2 import NeuronGroup, Subgroup
    from brian2.core.namespace import get_local_namespace

    inputs = check_choice("inputs", inputs, ("raise", "warn"))
    if namespace is None:
        namespace = get_local_namespace(level=1)
    if isinstance(group, Subgroup) or not isinstance(group, NeuronGroup):
        raise _refuse("the population must be a whole NeuronGroup", f"got {type(group).__name__}")
    neuron = _neuron(group, namespace)
    V_t, V_r = _threshold_reset(group, neuron.v, namespace)
    dt = float(group.clock.dt_)
    synapses = list(synapses)
    edges = [_edges(S, group, neuron, namespace, dt) for S in synapses]
    from ._brian2_inputs import check_inputs

    check_inputs(group, synapses, network, inputs)
    pre, post, w, chan, delay = (np.concatenate(c) for c in zip(*edges)) if edges else ([], [], [], 0, 0)
    net = from_edges(
        len(group),
        pre,
        post,
        w,
        channel=chan,
        delay=delay,
        tau_m=neuron.tau_m * 1e3,
        E_l=neuron.E_l * 1e3,
        V_t=V_t * 1e3,
        V_r=V_r * 1e3,
        refractory=0.0,
        dt=dt * 1e3,
        tau_syn=tuple(t * 1e3 for t in neuron.tau_syn),
    )
    net = dataclasses.replace(net, ref_steps=_refractory_steps(group, dt))
    v0 = np.asarray(group.variables[neuron.v].get_value(), float) * 1e3
    g0 = np.stack([np.asarray(group.variables[g].get_value(), float) * 1e3 * s for g, s in zip(neuron.g, neuron.scale)])
    return net, v0, g0

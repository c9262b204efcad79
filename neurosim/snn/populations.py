"""Networks of several LIF populations with their own (or per-neuron) constants, projections
between any two of them with their own weights, channels and delays, and spike inputs (Poisson
sources, seeded; spike-time generators) — simulated event by event inside numba, in Brian2's
schedule, integrated exactly as ``network`` describes for one population.

A population's neurons follow ``dv/dt = (Σ_k g_k − (v − E_l)) / τ_m`` (held while refractory; or,
conductance-based, ``dv/dt = (Σ_k g_k (E_k − v) − (v − E_l)) / τ_m`` by exponential Euler: see
``Population.reversal``)
with current channels ``dg_k/dt = −g_k / τ_k``; a channel whose τ is 0 is a **delta** synapse: a
delivery adds its weight to v itself (Brian2's ``on_pre: v += w``, applied in the synapses
slot, after the threshold and before the reset) — except to a neuron refractory in that step
(one that fired in it included): Brian2 drops those increments of a variable its equation
declares ``(unless refractory)``, as measured against it (``tests/test_snn_populations.py``).
``τ_m``, ``E_l``, ``V_t``, ``V_r`` and the refractory period may be one number for the
population or one per neuron (Brian2's ``tau : second`` parameters). Channels are named per
population (``"e"``, ``"i"``, ``"delta"``, ...): ``projection(..., channel="e")`` adds into the
target population's channel of that name.

Inputs are spike trains given before the run: ``poisson(n, rate_hz, duration_ms, dt, seed)``
(independent per source and step, reproducible from the seed) or ``generator(indices, times_ms,
dt)``; their spikes are delivered through their projections in the synapses slot of their step,
exactly as a Brian2 ``SpikeGeneratorGroup``'s (``to_brian2_generator`` exports one, so both
simulators see the same input).

A projection may be plastic: ``projection(..., stdp=STDP(...))`` is pair-based STDP with
exponential traces, Brian2's canonical example (``on_pre: g_post += w; apre += A_pre; w =
clip(w + apost, w_min, w_max)``, ``on_post: apost += A_post; w = clip(w + apre, w_min, w_max)``,
both traces event-driven), in Brian2's order (every on_pre pathway, then every on_post one, in the
synapses slot; a delay delays the whole on_pre code, trace and weight update included, as Brian2
does). The traces are stored per neuron (see ``_stdp_loop``). ``simulate`` then returns the final
weights (``res.weights``); the network is not changed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._errors import bad, check_float, check_positive_int
from .network import SimResult


@dataclass
class Population:
    """``n`` LIF neurons; each constant a number or ``n`` numbers (ms, mV); ``channels``:
    {name: τ in ms, 0 for a delta synapse onto v}; ``reset_add``: {channel: increment (mV, one
    number or ``n``)} added to the neuron's own channel at each of its spikes, in the reset —
    spike-frequency adaptation is a channel with a negative increment (Brian2's ``reset="v = V_r;
    w += b"`` with ``−w`` in the membrane equation is ``channels={"w": τ_w}``,
    ``reset_add={"w": −b}``). ``reversal``: {channel: E_rev (mV)} makes the population
    conductance-based (COBA: dv/dt = (Σ_k g_k (E_k − v) − (v − E_l)) / τ_m, g_k relative to the
    leak, unitless), integrated as Brian2's ``method="exponential_euler"`` does (v with the
    conductances at the start of the step; the g_k decay exactly); then every current channel of
    the population must have a reversal potential (delta channels aside). ``alpha``: channels
    whose current is alpha-shaped (current-based only): a spike adds its weight to a hidden
    variable x, dx/dt = −x/τ, and the channel's current follows dI/dt = (x − I)/τ — Brian2's
    ``dI/dt = (x - I)/tau_s``, ``dx/dt = -x/tau_s``, ``on_pre="x_post += w"``, integrated
    exactly; a single spike of weight w gives I(t) = w (t/τ) e^{−t/τ}."""

    name: str
    n: int
    tau_m: object = 20.0
    E_l: object = -49.0
    V_t: object = -50.0
    V_r: object = -60.0
    refractory: object = 5.0
    channels: dict = field(default_factory=lambda: {"e": 5.0, "i": 10.0})
    reset_add: dict = field(default_factory=dict)
    reversal: dict = field(default_factory=dict)  # {channel: E_rev (mV)}: conductance-based channels
    alpha: tuple = ()  # channel names with alpha-shaped currents
    # refractory while a condition on v holds ("v > -55", "v >= X", "v < X", "v <= X", mV), as
    # Brian2's refractory="v > -55*mV": the neuron leaves refractoriness the first step the
    # condition fails (tested on v before that step's update); replaces the refractory time
    refractory_condition: str | None = None
    # False (default): v is held while refractory (Brian2's "(unless refractory)" on v, and an
    # increment v += w reaching a refractory neuron is dropped); True: v integrates throughout
    # and refractoriness only blocks spikes (Brian2 without the flag)
    v_during_refractory: bool = False
    # adaptive exponential (AdEx, Brette & Gerstner 2005) in mV and ms, integrated by forward
    # Euler as Brian2's method="euler": {"delta_T": ΔT, "V_T": V_T, "a": a, "tau_w": τ_w, "b": b},
    # dv/dt = (ΔT e^{(v − V_T)/ΔT} − (v − E_l) + Σ g − w)/τ_m, dw/dt = (a (v − E_l) − w)/τ_w,
    # at a spike (v > V_t, the cut) v ← V_r, w ← w + b (w as the voltage R·w); every channel of
    # the population also by Euler (current-based; delta channels allowed)
    adex: dict | None = None


@dataclass
class SpikeInput:
    """``n`` input sources and their spikes: ``steps[k]``, ``index[k]`` (sorted by step)."""

    name: str
    n: int
    steps: np.ndarray
    index: np.ndarray
    dt: float

    def times_ms(self) -> np.ndarray:
        return self.steps * self.dt


def poisson(name: str, n: int, rate_hz, duration_ms: float, dt: float = 0.1, seed: int = 0) -> SpikeInput:
    """Independent Poisson sources: in each step of ``dt`` ms each fires with probability
    rate · dt (Brian2's ``PoissonGroup``: at most one spike a step), for ``duration_ms``."""
    n = check_positive_int("n", n)
    dt = check_float("dt", dt, 0.0, None, lo_open=True)
    rate = np.broadcast_to(np.asarray(rate_hz, float), (n,))
    wrong = ~np.isfinite(rate) | (rate < 0) | (rate * dt / 1000 > 1)
    if wrong.any():
        i = int(np.argmax(wrong))  # the first culprit, named, not the whole array
        raise bad(f"rate_hz[{i}]" if np.ndim(rate_hz) else "rate_hz", float(rate[i]),
                  f"finite rates >= 0 with rate · dt <= 1 (at most {1000 / dt:g} Hz at dt {dt} ms)")  # fmt: skip
    steps = int(round(check_float("duration_ms", duration_ms, 0.0, None, lo_open=True) / dt))
    rng = np.random.default_rng(seed)
    fired = rng.random((steps, n)) < rate * dt / 1000.0
    t, i = np.nonzero(fired)
    return SpikeInput(name, n, t.astype(np.int64), i.astype(np.int32), dt)


def generator(name: str, n: int, indices, times_ms, dt: float = 0.1) -> SpikeInput:
    """Spikes at given times (ms, on the ``dt`` grid: a time off it is refused, as Brian2 shifts
    it) of given sources; one spike per source and step."""
    n = check_positive_int("n", n)
    idx = np.asarray(indices, np.int64).ravel()
    t = np.asarray(times_ms, float).ravel()
    if idx.size != t.size:
        raise bad("times_ms", f"{t.size} times", f"one per index ({idx.size})")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise bad("indices", int(idx[(idx < 0) | (idx >= n)][0]), f"source indices in [0, {n})")
    steps = np.rint(t / dt).astype(np.int64)
    off = np.abs(steps * dt - t) > 1e-9 * np.maximum(1.0, np.abs(t))
    if off.any() or (steps < 0).any():
        raise bad("times_ms", float(t[off | (steps < 0)][0]), f"times >= 0 on the grid of dt = {dt} ms")
    order = np.lexsort((idx, steps))
    steps, idx = steps[order], idx[order]
    dup = (np.diff(steps) == 0) & (np.diff(idx) == 0)
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise bad("times_ms", float(steps[k] * dt), f"one spike per source and step (source {int(idx[k])} twice)")
    return SpikeInput(name, n, steps, idx.astype(np.int32), dt)


@dataclass(frozen=True)
class STDP:
    """Pair-based STDP of a projection (Brian2's canonical example): traces ``apre``, ``apost``
    decaying with ``tau_pre``, ``tau_post`` (ms); a presynaptic arrival delivers w, then ``apre +=
    A_pre`` and ``w = clip(w + apost, w_min, w_max)``; a postsynaptic spike ``apost += A_post``
    and ``w = clip(w + apre, w_min, w_max)``. Amplitudes and bounds in the weights' unit (mV, or
    the relative conductance of a conductance-based channel); a bound may be infinite (no clipping
    on that side). Depression is a negative ``A_post`` (or ``A_pre``)."""

    tau_pre: float
    tau_post: float
    A_pre: float
    A_post: float
    w_min: float
    w_max: float

    def __post_init__(self):
        for key in ("tau_pre", "tau_post"):
            object.__setattr__(self, key, check_float(f"stdp.{key}", getattr(self, key), 0.0, None, lo_open=True))
        for key in ("A_pre", "A_post"):
            object.__setattr__(self, key, check_float(f"stdp.{key}", getattr(self, key)))
        for key in ("w_min", "w_max"):
            try:
                x = float(getattr(self, key))
            except (TypeError, ValueError):
                raise bad(f"stdp.{key}", getattr(self, key), "a real number (or ±inf: no bound)") from None
            if math.isnan(x):
                raise bad(f"stdp.{key}", x, "a real number (or ±inf: no bound)")
            object.__setattr__(self, key, x)
        if self.w_min > self.w_max:
            raise bad("stdp.w_min", self.w_min, f"w_min <= w_max ({self.w_max})")


@dataclass
class Projection:
    pre: str
    post: str
    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    channel: str
    delay: np.ndarray  # steps
    stdp: STDP | None = None  # None: static weights


def projection(pre: str, post: str, i, j, weight, channel: str = "e", delay_ms=0.0, dt: float = 0.1,
               stdp: STDP | None = None) -> Projection:  # fmt: skip
    """Synapses from population (or input) ``pre``'s neurons ``i`` to population ``post``'s
    neurons ``j`` (local indices), adding ``weight`` (mV) into ``post``'s ``channel`` after
    ``delay_ms`` (on the dt grid). Within a presynaptic neuron, synapses act in the order given.
    ``stdp``: an ``STDP`` makes the weights plastic (each initial weight within [w_min, w_max]);
    delays are allowed and act as Brian2's on_pre delays (the whole on_pre code is delayed)."""
    i = np.asarray(i, np.int64).ravel()
    j = np.asarray(j, np.int64).ravel()
    if i.size != j.size:
        raise bad("j", f"{j.size} entries", f"as many as i ({i.size})")
    w = np.broadcast_to(np.asarray(weight, float), i.shape).copy()
    d_ms = np.broadcast_to(np.asarray(delay_ms, float), i.shape)
    d = np.rint(d_ms / dt).astype(np.int64)
    if i.size and (np.abs(d * dt - d_ms) > 1e-9 * np.maximum(1.0, np.abs(d_ms))).any():
        raise bad("delay_ms", float(d_ms[np.abs(d * dt - d_ms) > 1e-9][0]), f"delays on the grid of dt = {dt} ms")
    if i.size and d.min() < 0:
        raise bad("delay_ms", float(d_ms.min()), "delays >= 0")
    if not np.all(np.isfinite(w)):
        raise bad("weight", "a non-finite weight", "finite weights")
    if stdp is not None:
        if not isinstance(stdp, STDP):
            raise bad("stdp", stdp, "None or a populations.STDP")
        out = (w < stdp.w_min) | (w > stdp.w_max)
        if out.any():
            raise bad("weight", float(w[out][0]), f"initial weights of a plastic projection within "
                      f"[w_min, w_max] = [{stdp.w_min}, {stdp.w_max}]")  # fmt: skip
    return Projection(pre, post, i, j, w, channel, d.astype(np.int32), stdp)


@dataclass(frozen=True)
class MultiNetwork:
    """The flat form ``build`` makes: neurons of every population in order (``offsets``),
    per-neuron constants, global channels (τ per channel, 0 = delta), CSR synapses from neurons
    and from input sources."""

    names: tuple
    offsets: np.ndarray
    dt: float
    tau_m: np.ndarray
    E_l: np.ndarray
    V_t: np.ndarray
    V_r: np.ndarray
    ref_steps: np.ndarray
    channel_names: tuple  # (population, channel) per global channel
    tau_syn: np.ndarray
    reset_add: np.ndarray  # (n, channels): added to a neuron's channels at its spike (adaptation)
    coba: np.ndarray  # (n,) uint8: 1 conductance-based (exponential Euler), 2 AdEx (Euler), 0 exact
    e_rev: np.ndarray  # (channels,): a conductance channel's reversal potential (0 for the others)
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    channel: np.ndarray
    delay: np.ndarray
    input_names: tuple
    input_offsets: np.ndarray
    in_indptr: np.ndarray
    in_indices: np.ndarray
    in_weights: np.ndarray
    in_channel: np.ndarray
    in_delay: np.ndarray
    in_steps: np.ndarray
    in_index: np.ndarray
    # plasticity: (projection index in build's list, STDP) per plastic projection; per synapse of
    # each CSR its plastic projection (-1: static) and its index within its projection
    stdp: tuple = ()
    plastic: np.ndarray | None = None
    in_plastic: np.ndarray | None = None
    syn_local: np.ndarray | None = None
    in_syn_local: np.ndarray | None = None
    # alpha channels: feed[c] = the hidden x channel that feeds channel c's current (-1: none);
    # a hidden channel's index is above every visible one (the kernel reads it before it decays)
    feed: np.ndarray | None = None
    # refractoriness as a condition: per neuron 0 (a refractory time), 1 '>', 2 '>=', 3 '<', 4 '<='
    # and the threshold of the comparison with v
    rc_mode: np.ndarray | None = None
    rc_val: np.ndarray | None = None
    # AdEx neurons (coba == 2): (n, 5) ΔT, V_T, a, τ_w, b per neuron (rows of other neurons unused)
    adex_params: np.ndarray | None = None

    def refractory_condition(self) -> tuple[np.ndarray, np.ndarray]:
        if self.rc_mode is None:
            return np.zeros(self.n, np.int8), np.zeros(self.n)
        return self.rc_mode, self.rc_val

    @property
    def n(self) -> int:
        return int(self.offsets[-1])

    def population(self, name: str) -> slice:
        k = self.names.index(name)
        return slice(int(self.offsets[k]), int(self.offsets[k + 1]))

    def propagators(self):
        """(P_vv per neuron, P_vk per channel × neuron, P_kk per channel); a delta channel's are 0.
        An alpha pair (current I fed by its hidden x, ``feed``): I's entries as an exponential
        channel's, x's P_vx from the exact 3 × 3 propagator of (v − E_l, I, x) per distinct τ_m."""
        dt, tm = self.dt, self.tau_m
        pvv = np.exp(-dt / tm)
        C = self.tau_syn.size
        pvk, pkk = np.zeros((C, self.n)), np.zeros(C)
        feed = self.alpha_feed()
        hidden = set(int(f) for f in feed if f >= 0)
        for c, tk in enumerate(self.tau_syn):
            if tk == 0 or c in hidden:
                continue
            pkk[c] = math.exp(-dt / tk)
            same = np.abs(tk - tm) < 1e-12 * tm
            with np.errstate(divide="ignore", invalid="ignore"):
                gen = tk / (tk - tm) * (math.exp(-dt / tk) - np.exp(-dt / tm))
            pvk[c] = np.where(same, dt / tm * np.exp(-dt / tm), gen)
        for c in np.flatnonzero(feed >= 0):
            x, ts = int(feed[c]), float(self.tau_syn[c])
            pkk[x] = math.exp(-dt / ts)
            for t_m in np.unique(tm):
                pvk[x, tm == t_m] = _alpha_propagator(float(t_m), ts, dt)[0, 2]
        return pvv, pvk, pkk

    def alpha_feed(self) -> np.ndarray:
        return np.full(self.tau_syn.size, -1, np.int32) if self.feed is None else self.feed

    def alpha_coupling(self) -> np.ndarray:
        """P_Ix per channel: x's contribution to its current I over a step, (dt/τ) e^{−dt/τ}
        (0 for channels without a feed)."""
        feed = self.alpha_feed()
        out = np.zeros(self.tau_syn.size)
        for c in np.flatnonzero(feed >= 0):
            ts = float(self.tau_syn[c])
            out[c] = self.dt / ts * math.exp(-self.dt / ts)
        return out


def _alpha_propagator(tau_m: float, tau_s: float, dt: float) -> np.ndarray:
    """exp(A dt) for (u = v − E_l, I, x): u' = (I − u)/τ_m, I' = (x − I)/τ_s, x' = −x/τ_s."""
    from scipy.linalg import expm

    A = np.array([[-1.0 / tau_m, 1.0 / tau_m, 0.0], [0.0, -1.0 / tau_s, 1.0 / tau_s], [0.0, 0.0, -1.0 / tau_s]])
    return expm(A * dt)


def _per_neuron(pop: Population, key: str, lo=None, positive=False) -> np.ndarray:
    v = np.asarray(getattr(pop, key), float)
    if v.ndim == 0:
        v = np.full(pop.n, float(v))
    if v.shape != (pop.n,):
        raise bad(f"{pop.name}.{key}", f"shape {v.shape}", f"one number or {pop.n} (one per neuron)")
    finite = np.isfinite(v) | ((key == "V_t") & (v == np.inf))  # V_t = +inf: a population that never fires
    if not np.all(finite) or (positive and v.min() <= 0) or (lo is not None and v.min() < lo):
        raise bad(f"{pop.name}.{key}", float(v[~np.isfinite(v)][0]) if not np.all(np.isfinite(v)) else float(v.min()),
                  "finite numbers" + (" > 0" if positive else f" >= {lo}" if lo is not None else ""))  # fmt: skip
    return v


_OPS = {">": 1, ">=": 2, "<": 3, "<=": 4}


def _condition(p: Population) -> tuple[int, float]:
    import re

    m = re.fullmatch(r"\s*v\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*", str(p.refractory_condition))
    if not m:
        raise bad(f"{p.name}.refractory_condition", p.refractory_condition,
                  "'v <op> <number>' with <op> one of >, >=, <, <= (mV), e.g. 'v > -55'")  # fmt: skip
    return _OPS[m.group(1)], check_float(f"{p.name}.refractory_condition", float(m.group(2)))


def build(populations, projections=(), inputs=(), dt: float = 0.1) -> MultiNetwork:
    """The network of ``populations`` (``Population``), ``projections`` (``projection(...)``) and
    ``inputs`` (``poisson`` / ``generator``); every name, index and channel checked by name."""
    dt = check_float("dt", dt, 0.0, None, lo_open=True)
    pops = list(populations)
    if not pops:
        raise bad("populations", "none", "at least one Population")
    names = [p.name for p in pops]
    in_names = [s.name for s in inputs]
    dup = {x for x in names + in_names if (names + in_names).count(x) > 1}
    if dup:
        raise bad("name", sorted(dup)[0], "distinct population and input names")
    offsets = np.cumsum([0] + [check_positive_int(f"{p.name}.n", p.n) for p in pops])
    cols = {k: np.concatenate([_per_neuron(p, k, positive=k == "tau_m") for p in pops]) for k in
            ("tau_m", "E_l", "V_t", "V_r")}  # fmt: skip
    refr = np.concatenate([_per_neuron(p, "refractory", lo=0.0) for p in pops])
    rc_mode = np.zeros(int(offsets[-1]), np.int8)
    rc_val = np.zeros(int(offsets[-1]))
    for k, p in enumerate(pops):
        sl = slice(int(offsets[k]), int(offsets[k + 1]))
        if p.refractory_condition is not None:
            op, val = _condition(p)
            rc_mode[sl], rc_val[sl], refr[sl] = op, val, dt  # one step at least: the spike's own
        if p.v_during_refractory:
            rc_mode[sl] |= 8
    chan_names, taus = [], []
    for p in pops:
        if not p.channels:
            raise bad(f"{p.name}.channels", "none", "at least one channel {name: tau_ms}")
        for cname, tau in p.channels.items():
            chan_names.append((p.name, cname))
            taus.append(check_float(f"{p.name}.channels[{cname!r}]", tau, 0.0, None))
    # alpha channels: a hidden x per alpha channel, after every visible channel; spikes go to x
    hidden = []
    for p in pops:
        for cname in p.alpha:
            if cname not in p.channels or p.channels[cname] == 0:
                raise bad(f"{p.name}.alpha", cname, f"a current channel (τ > 0) of {p.name}: {list(p.channels)}")
            if p.reversal:
                raise bad(f"{p.name}.alpha", cname, "alpha currents in a current-based population (no reversal)")
            if cname in p.reset_add:
                raise bad(f"{p.name}.reset_add", cname, "a channel that is not alpha-shaped")
            hidden.append(((p.name, cname), (p.name, f"{cname}~x"), p.channels[cname]))
    n_visible = len(chan_names)
    for _, h, tau in hidden:
        chan_names.append(h)
        taus.append(tau)
    cindex = {c: k for k, c in enumerate(chan_names)}
    feed = np.full(len(chan_names), -1, np.int32)
    target = {c: k for k, c in enumerate(chan_names[:n_visible])}  # where a projection's spikes go
    for vis, h, _ in hidden:
        feed[cindex[vis]] = cindex[h]
        target[vis] = cindex[h]
    reset_add = np.zeros((int(offsets[-1]), len(chan_names)))
    for k, p in enumerate(pops):
        for cname, inc in p.reset_add.items():
            if (p.name, cname) not in cindex:
                raise bad(f"{p.name}.reset_add", cname, f"a channel of {p.name}: {list(p.channels)}")
            if p.channels[cname] == 0:
                raise bad(f"{p.name}.reset_add", cname, "a current channel (τ > 0), not a delta synapse")
            inc = np.broadcast_to(np.asarray(inc, float), (p.n,))
            if not np.all(np.isfinite(inc)):
                raise bad(f"{p.name}.reset_add[{cname!r}]", "a non-finite value", "finite increments (mV)")
            reset_add[offsets[k] : offsets[k + 1], cindex[(p.name, cname)]] = inc
    coba = np.zeros(int(offsets[-1]), np.uint8)
    e_rev = np.zeros(len(chan_names))
    for k, p in enumerate(pops):
        if not p.reversal:
            continue
        for cname, tau in p.channels.items():
            if tau > 0 and cname not in p.reversal:
                raise bad(f"{p.name}.reversal", sorted(p.reversal), f"a reversal potential for every current "
                          f"channel of a conductance-based population (missing {cname!r})")  # fmt: skip
        for cname, E in p.reversal.items():
            if (p.name, cname) not in cindex or p.channels[cname] == 0:
                raise bad(f"{p.name}.reversal", cname, f"a current channel of {p.name}: {list(p.channels)}")
            e_rev[cindex[(p.name, cname)]] = check_float(f"{p.name}.reversal[{cname!r}]", E)
        coba[offsets[k] : offsets[k + 1]] = 1
    adex_params = np.zeros((int(offsets[-1]), 5))
    adex_params[:, 0] = adex_params[:, 3] = 1.0  # harmless for the rows that are not AdEx
    for k, p in enumerate(pops):
        if p.adex is None:
            continue
        keys = ("delta_T", "V_T", "a", "tau_w", "b")
        if not isinstance(p.adex, dict) or set(p.adex) != set(keys):
            raise bad(f"{p.name}.adex", p.adex if not isinstance(p.adex, dict) else sorted(p.adex),
                      f"a dict with exactly the keys {list(keys)} (mV, ms)")  # fmt: skip
        if p.reversal or p.alpha:
            raise bad(f"{p.name}.adex", "with " + ("reversal" if p.reversal else "alpha"),
                      "current-based exponential or delta channels")  # fmt: skip
        row = [check_float(f"{p.name}.adex[{key!r}]", p.adex[key], 0.0 if key in ("delta_T", "tau_w") else None,
                           None, lo_open=key in ("delta_T", "tau_w")) for key in keys]  # fmt: skip
        adex_params[offsets[k] : offsets[k + 1]] = row
        coba[offsets[k] : offsets[k + 1]] = 2
    in_off = np.cumsum([0] + [s.n for s in inputs])
    for s in inputs:
        if abs(s.dt - dt) > 1e-12 * dt:
            raise bad(f"{s.name}.dt", s.dt, f"the network's dt ({dt} ms)")

    def resolve(pr: Projection):
        if pr.post not in names:
            raise bad("projection post", pr.post, f"a population: one of {names}")
        if (pr.post, pr.channel) not in target:
            allowed = [c for p, c in chan_names[:n_visible] if p == pr.post]
            raise bad(f"projection {pr.pre}->{pr.post} channel", pr.channel, f"a channel of {pr.post}: {allowed}")
        k_post = names.index(pr.post)
        n_post = offsets[k_post + 1] - offsets[k_post]
        if pr.pre in names:
            k = names.index(pr.pre)
            n_pre, base, source = offsets[k + 1] - offsets[k], offsets[k], "neuron"
        elif pr.pre in in_names:
            k = in_names.index(pr.pre)
            n_pre, base, source = in_off[k + 1] - in_off[k], in_off[k], "input"
        else:
            raise bad("projection pre", pr.pre, f"a population or an input: one of {names + in_names}")
        for what, a, hi in (("i", pr.i, n_pre), ("j", pr.j, n_post)):
            if a.size and (a.min() < 0 or a.max() >= hi):
                raise bad(f"projection {pr.pre}->{pr.post} {what}", int(a[(a < 0) | (a >= hi)][0]),
                          f"indices in [0, {hi})")  # fmt: skip
        return source, pr.i + base, pr.j + offsets[k_post], target[(pr.post, pr.channel)]

    parts = {"neuron": [], "input": []}
    plastic = []  # (projection index, STDP)
    for p_index, pr in enumerate(projections):
        source, gi, gj, c = resolve(pr)
        kp = -1
        if getattr(pr, "stdp", None) is not None:
            kp = len(plastic)
            plastic.append((p_index, pr.stdp))
        parts[source].append((gi, gj, pr.weight, np.full(gi.size, c, np.int8), pr.delay,
                              np.full(gi.size, kp, np.int32), np.arange(gi.size, dtype=np.int64)))  # fmt: skip

    def csr(rows, n_src):
        if rows:
            pre, post, w, ch, d, kp, loc = (np.concatenate(x) for x in zip(*rows))
        else:
            pre = post = loc = np.zeros(0, np.int64)
            w, ch, d, kp = np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int32)
        order = np.argsort(pre, kind="stable")
        indptr = np.zeros(n_src + 1, np.int64)
        np.cumsum(np.bincount(pre, minlength=n_src), out=indptr[1:])
        return (indptr, post[order].astype(np.int32), w[order], ch[order].astype(np.int8), d[order].astype(np.int32),
                kp[order].astype(np.int32), loc[order].astype(np.int64))  # fmt: skip

    n = int(offsets[-1])
    ip, ix, w, ch, d, kp, loc = csr(parts["neuron"], n)
    n_in = int(in_off[-1])
    iip, iix, iw, ich, idl, ikp, iloc = csr(parts["input"], n_in)
    if inputs:
        steps = np.concatenate([s.steps for s in inputs])
        idx = np.concatenate([s.index.astype(np.int64) + in_off[k] for k, s in enumerate(inputs)])
        order = np.lexsort((idx, steps))
        steps, idx = steps[order], idx[order]
    else:
        steps, idx = np.zeros(0, np.int64), np.zeros(0, np.int64)
    return MultiNetwork(tuple(names), offsets, dt, cols["tau_m"], cols["E_l"], cols["V_t"], cols["V_r"],
                        np.rint(refr / dt).astype(np.int32), tuple(chan_names), np.array(taus), reset_add, coba,
                        e_rev, ip, ix, w, ch, d,
                        tuple(in_names), in_off, iip, iix, iw, ich, idl, steps.astype(np.int64),
                        idx.astype(np.int32), tuple(plastic), kp, ikp, loc, iloc,
                        feed if hidden else None, rc_mode if rc_mode.any() else None,
                        rc_val if rc_mode.any() else None, adex_params if (coba == 2).any() else None)  # fmt: skip


def simulate(net: MultiNetwork, steps: int, v0=None, record=(), chunk: int = 2000, current=None) -> SimResult:
    """Run ``steps`` steps from v0 (default each neuron's V_r), all channels at 0; spikes (global
    neuron index: ``net.population(name)`` gives a population's slice) and v of ``record``.
    ``current``: an injected current as the voltage it would hold v at (R·I, mV) — one number per
    neuron (``(n,)``, constant) or one per step and neuron (``(steps, n)``, held over each step,
    as a Brian2 parameter set at the start of the step) — integrated exactly with the leak
    (``dv/dt = (R·I + Σ g − (v − E_l)) / τ_m``).

    With plastic projections (``projection(..., stdp=...)``) the weights evolve from the network's
    (traces at 0) and a ``PlasticResult`` is returned: ``res.weights[p]`` the final weights of
    projection ``p`` (its index in ``build``'s list), in the order its synapses were given; the
    network itself is not changed (a second run starts from the same weights)."""
    from ._loop import run_chunk_multi

    steps = check_positive_int("steps", steps)
    n = net.n
    v = net.V_r.copy() if v0 is None else np.asarray(v0, float).reshape(n).copy()
    if not np.all(np.isfinite(v)):
        raise bad("v0", "a non-finite value", "finite start potentials")
    C = net.tau_syn.size
    pvv, pvk, pkk = net.propagators()
    feed, pfk = net.alpha_feed(), net.alpha_coupling()
    rc_mode, rc_val = net.refractory_condition()
    ax = np.ones((n, 5)) if net.adex_params is None else net.adex_params
    wad = np.zeros(n)  # AdEx adaptation (mV), 0 at the start
    delta = (net.tau_syn == 0).astype(np.uint8)
    D = int(max(net.delay.max(initial=0), net.in_delay.max(initial=0))) + 1
    buf = np.zeros((D, n, C))
    g = np.zeros((n, C))
    ref_left = np.zeros(n, np.int32)
    last = np.full(n, -1, np.int64)
    rec = np.asarray(record, np.int64).ravel()
    if rec.size and (rec.min() < 0 or rec.max() >= n):
        raise bad("record", rec.tolist(), f"neuron indices in [0, {n})")
    vrec = np.zeros((steps, rec.size))
    cap = max(n, n * min(chunk, steps) // (int(net.ref_steps.min(initial=0)) + 1) + n)
    spike_i, spike_t = np.empty(cap, np.int32), np.empty(cap, np.int64)
    out_i, out_t = [], []
    if current is None:
        cur = np.zeros((1, n))
    else:
        cur = np.asarray(current, float)
        cur = cur.reshape(1, n) if cur.shape == (n,) else cur
        if cur.shape not in ((1, n), (steps, n)) or not np.all(np.isfinite(cur)):
            raise bad("current", f"shape {np.shape(current)}", f"finite values of shape ({n},) or ({steps}, {n})")
    pos = np.searchsorted(net.in_steps, 0)
    if net.stdp:
        extra = (feed, pfk, rc_mode, rc_val, ax, wad)
        return _simulate_stdp(net, steps, v, g, ref_left, last, buf, pvv, pvk, pkk, extra,
                              delta, cur, rec, vrec, spike_i, spike_t, pos, chunk)  # fmt: skip
    step = 0
    t0 = time.perf_counter()
    while step < steps:
        end = min(steps, step + chunk)
        k, reached, pos = run_chunk_multi(
            step, end, v, g, ref_left, last, buf, net.indptr, net.indices, net.weights, net.channel, net.delay,
            net.in_indptr, net.in_indices, net.in_weights, net.in_channel, net.in_delay, net.in_steps, net.in_index,
            pos, pvv, np.ascontiguousarray(pvk.T), pkk, feed, pfk, rc_mode, rc_val, delta, net.reset_add, net.coba,
            net.e_rev, net.tau_syn, ax, wad, net.tau_m, net.dt, net.E_l, net.V_t, net.V_r, net.ref_steps, cur, rec,
            vrec, spike_i, spike_t,
        )  # fmt: skip
        out_i.append(spike_i[:k].copy())
        out_t.append(spike_t[:k].copy())
        step = reached
    seconds = time.perf_counter() - t0
    return SimResult(np.concatenate(out_i), np.concatenate(out_t), vrec, v, np.ascontiguousarray(g.T), seconds)


class PlasticResult(SimResult):
    """A ``SimResult`` of a network with plastic projections; ``weights``: {projection index in
    ``build``'s list: its final weights, in the order its synapses were given}."""

    weights: dict


def _stdp_tables(net: MultiNetwork, D: int) -> dict:
    """The flat synapse arrays (neuron synapses, then input synapses) and trace tables of
    ``_stdp_loop.run_chunk_stdp``: a presynaptic trace per (projection, source, delay), a
    postsynaptic trace per (projection, postsynaptic neuron)."""
    n, n_n = net.n, net.indices.size
    plastic = np.concatenate([net.plastic, net.in_plastic]).astype(np.int32)
    delay = np.concatenate([net.delay, net.in_delay]).astype(np.int32)
    post = np.concatenate([net.indices, net.in_indices]).astype(np.int64)
    src = np.concatenate([np.repeat(np.arange(n), np.diff(net.indptr)),
                          n + np.repeat(np.arange(net.in_indptr.size - 1), np.diff(net.in_indptr))])  # fmt: skip
    K = len(net.stdp)
    pl = np.flatnonzero(plastic >= 0)
    pre_tr = np.zeros(plastic.size, np.int64)
    post_tr = np.zeros(plastic.size, np.int64)
    D_all = int(delay.max(initial=0)) + 1
    pre_key = (plastic[pl].astype(np.int64) * (n + net.in_indptr.size) + src[pl]) * D_all + delay[pl]
    pre_u, pre_tr[pl] = np.unique(pre_key, return_inverse=True)
    post_key = post[pl] * K + plastic[pl]  # sorted by postsynaptic neuron, then projection
    post_u, post_tr[pl] = np.unique(post_key, return_inverse=True)
    post_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(post_u // K, minlength=n), out=post_ptr[1:])
    q_syn = pl[np.argsort(post_tr[pl], kind="stable")]
    q_ptr = np.zeros(post_u.size + 1, np.int64)
    np.cumsum(np.bincount(post_tr[pl], minlength=post_u.size), out=q_ptr[1:])
    rules = [r for _, r in net.stdp]
    n_delayed = int(np.count_nonzero(delay[pl] > 0))
    return dict(
        indptr=net.indptr, in_indptr=net.in_indptr + n_n, indices=post.astype(np.int32),
        weights=np.concatenate([net.weights, net.in_weights]), channel=np.concatenate([net.channel, net.in_channel]),
        delay=delay, plastic=plastic, pre_tr=pre_tr, post_tr=post_tr,
        apre=np.zeros(pre_u.size), apre_last=np.full(pre_u.size, -1, np.int64),  # -1: not updated yet
        apost=np.zeros(post_u.size), apost_last=np.full(post_u.size, -1, np.int64),
        post_ptr=post_ptr, post_q=np.arange(post_u.size, dtype=np.int64), q_ptr=q_ptr, q_syn=q_syn.astype(np.int64),
        q_proj=(post_u % K).astype(np.int32), qbuf=np.zeros((D, max(1, n_delayed)), np.int64),
        qn=np.zeros(D, np.int64), c_pre=np.array([net.dt / r.tau_pre for r in rules]),
        c_post=np.array([net.dt / r.tau_post for r in rules]), a_pre=np.array([r.A_pre for r in rules]),
        a_post=np.array([r.A_post for r in rules]), w_min=np.array([r.w_min for r in rules]),
        w_max=np.array([r.w_max for r in rules]),
    )  # fmt: skip


def _simulate_stdp(net, steps, v, g, ref_left, last, buf, pvv, pvk, pkk, extra, delta, cur, rec, vrec, spike_i,
                   spike_t, pos, chunk) -> PlasticResult:  # fmt: skip
    feed, pfk, rc_mode, rc_val, ax, wad = extra
    from ._stdp_loop import run_chunk_stdp

    T = _stdp_tables(net, buf.shape[0])
    out_i, out_t = [], []
    pvk_t = np.ascontiguousarray(pvk.T)
    step = 0
    t0 = time.perf_counter()
    while step < steps:
        end = min(steps, step + chunk)
        k, reached, pos = run_chunk_stdp(
            step, end, v, g, ref_left, last, buf, T["indptr"], T["in_indptr"], T["indices"], T["weights"],
            T["channel"], T["delay"], net.in_steps, net.in_index, pos, pvv, pvk_t, pkk, feed, pfk, rc_mode, rc_val,
            delta, net.reset_add, net.coba, net.e_rev, net.tau_syn, ax, wad, net.tau_m, net.dt, net.E_l, net.V_t,
            net.V_r, net.ref_steps, cur, rec, vrec, spike_i, spike_t, T["plastic"], T["pre_tr"], T["post_tr"],
            T["apre"], T["apre_last"], T["apost"], T["apost_last"], T["post_ptr"], T["post_q"], T["q_ptr"],
            T["q_syn"], T["q_proj"], T["qbuf"], T["qn"], T["c_pre"], T["c_post"], T["a_pre"], T["a_post"],
            T["w_min"], T["w_max"],
        )  # fmt: skip
        out_i.append(spike_i[:k].copy())
        out_t.append(spike_t[:k].copy())
        step = reached
    seconds = time.perf_counter() - t0
    res = PlasticResult(np.concatenate(out_i), np.concatenate(out_t), vrec, v, np.ascontiguousarray(g.T), seconds)
    loc = np.concatenate([net.syn_local, net.in_syn_local])
    res.weights = {}
    for kp, (p_index, _) in enumerate(net.stdp):
        mask = T["plastic"] == kp
        w = np.empty(int(mask.sum()))
        w[loc[mask]] = T["weights"][mask]
        res.weights[p_index] = w
    return res


def to_brian2_generator(inp: SpikeInput, b2):
    """The input as a Brian2 ``SpikeGeneratorGroup`` (the same spikes at the same steps)."""
    return b2.SpikeGeneratorGroup(inp.n, inp.index.astype(int), inp.times_ms() * b2.ms, name=inp.name)

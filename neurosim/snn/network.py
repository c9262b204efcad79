"""An event-driven network of current-based LIF neurons, simulated entirely inside numba.

Neurons (one population, shared constants; times in ms, voltages in mV):

    dv/dt = (Σ_k g_k − (v − E_l)) / τ_m        (not while refractory: v is held)
    dg_k/dt = −g_k / τ_k                         (k = one synaptic current per channel)

integrated **exactly** over each step dt with the propagators P_vv = e^{−dt/τm},
P_vk = τ_k/(τ_k − τ_m)(e^{−dt/τ_k} − e^{−dt/τ_m}), P_kk = e^{−dt/τ_k} (τ_k = τ_m uses the
limit dt/τ_m e^{−dt/τ_m}). A step, in Brian2's default schedule:

1. not_refractory = (step − last spike step) ≥ ``ref_steps`` (a per-neuron countdown);
2. state update: g_k ← P_kk g_k, v ← E_l + (v − E_l) P_vv + Σ_k P_vk g_k (old g) if not refractory;
3. threshold: spike if v > V_t and not refractory (spikes are recorded);
(1–3 and the reset 5 run in one pass over the neurons: the reset touches only v, step 4 only g)
4. synapses: each spike's outgoing synapses (CSR rows: target, weight, channel, delay in steps)
   add their weight to g_channel of the target ``delay`` steps later (delay 0: in this step,
   after the deliveries already queued for it); a ring buffer of max-delay + 1 slots holds the
   pending ones;
5. reset: v ← V_r for the neurons that spiked.

``simulate`` runs whole chunks of steps in one numba call (the spike buffer is sized to what can
happen, and a full buffer ends the chunk early, never silently drops a spike), with spike
recording and optional voltage recording of chosen neurons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._errors import bad, check_array, check_float, check_positive_int


@dataclass(frozen=True)
class LIFNetwork:
    """A current-based LIF network (see the module docstring). Build with ``from_edges``."""

    n: int
    tau_m: float
    E_l: float
    V_t: float
    V_r: float
    ref_steps: int
    dt: float
    tau_syn: tuple[float, ...]
    indptr: np.ndarray = field(repr=False)
    indices: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    channel: np.ndarray = field(repr=False)
    delay: np.ndarray = field(repr=False)
    # compact storage, when every channel's weight is one constant and there are no delays: the
    # synapses of neuron i on channel c are indices[cptr[i*C + c] : cptr[i*C + c + 1]], the weight
    # cw[c] — a spike reads 4 bytes per synapse (its target) instead of 13
    cptr: np.ndarray | None = field(default=None, repr=False)
    cw: np.ndarray | None = field(default=None, repr=False)
    # conductance-based (COBA) when set: one reversal potential (mV) per channel; the weights are
    # then conductances relative to the leak (unitless) and v follows
    # dv/dt = (Σ_k g_k (E_k − v) − (v − E_l)) / τ_m, integrated as Brian2's exponential Euler
    e_rev: tuple[float, ...] | None = None

    @property
    def conductance_based(self) -> bool:
        return self.e_rev is not None

    @property
    def n_synapses(self) -> int:
        return int(self.indices.size)

    def propagators(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(P_vv, P_vk for each channel, P_kk for each channel)."""
        dt, tm = self.dt, self.tau_m
        pvv = math.exp(-dt / tm)
        pvk, pkk = [], []
        for tk in self.tau_syn:
            pkk.append(math.exp(-dt / tk))
            if abs(tk - tm) < 1e-12 * tm:
                pvk.append(dt / tm * math.exp(-dt / tm))
            else:
                pvk.append(tk / (tk - tm) * (math.exp(-dt / tk) - math.exp(-dt / tm)))
        return pvv, np.array(pvk), np.array(pkk)


def from_edges(
    n: int,
    pre,
    post,
    weight,
    *,
    channel=0,
    delay=0,
    tau_m: float = 20.0,
    E_l: float = -49.0,
    V_t: float = -50.0,
    V_r: float = -60.0,
    refractory: float = 5.0,
    dt: float = 0.1,
    tau_syn=(5.0, 10.0),
    e_rev=None,
) -> LIFNetwork:
    """Build a network from synapse lists (pre, post, weight, channel, delay in steps).
    ``e_rev``: one reversal potential (mV) per channel makes it conductance-based (COBA; the
    weights are conductances relative to the leak, ≥ 0).

    Synapses are stored as CSR rows by presynaptic neuron, keeping their given order within a
    row (a stable sort), which is the order their weights are added when a neuron spikes.
    Defaults: Brette et al.'s CUBA neuron (ms, mV).
    """
    n = check_positive_int("n", n)
    dt = check_float("dt", dt, 0.0, None, lo_open=True)
    tau_m = check_float("tau_m", tau_m, 0.0, None, lo_open=True)
    tau_syn = tuple(check_float("tau_syn", t, 0.0, None, lo_open=True) for t in np.atleast_1d(tau_syn))
    for name, val in (("E_l", E_l), ("V_t", V_t), ("V_r", V_r)):
        check_float(name, val)
    refractory = check_float("refractory", refractory, 0.0)
    pre = np.asarray(pre, np.int64).ravel()
    post = np.asarray(post, np.int64).ravel()
    m = pre.size
    if post.size != m:
        raise bad("post", f"{post.size} entries", f"as many entries as pre ({m})")
    weight = np.broadcast_to(np.asarray(weight, np.float64), (m,)).copy()
    channel = np.broadcast_to(np.asarray(channel, np.int64), (m,)).astype(np.int8)
    delay = np.broadcast_to(np.asarray(delay, np.int64), (m,)).astype(np.int32)
    for name, arr, hi in (("pre", pre, n), ("post", post, n), ("channel", channel, len(tau_syn))):
        if m and (arr.min() < 0 or arr.max() >= hi):
            bad_v = int(arr[(arr < 0) | (arr >= hi)][0])
            raise bad(name, bad_v, f"indices in [0, {hi})")
    if m and delay.min() < 0:
        raise bad("delay", int(delay.min()), "delays >= 0 steps")
    if not np.all(np.isfinite(weight)):
        raise bad("weight", "a non-finite weight", "finite weights")
    if e_rev is not None:
        e_rev = tuple(check_float("e_rev", e, None, None) for e in np.atleast_1d(e_rev))
        if len(e_rev) != len(tau_syn):
            raise bad("e_rev", list(e_rev), f"one reversal potential per channel ({len(tau_syn)})")
        if m and weight.min() < 0:
            raise bad("weight", float(weight.min()), "conductances >= 0 (the sign is in e_rev)")
    # by (pre, channel), stably: each channel's weights are added in the given order (the channels
    # are separate sums, so their interleaving within a row changes nothing)
    C = len(tau_syn)
    order = np.lexsort((channel, pre)) if m else np.zeros(0, np.int64)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n), out=indptr[1:])
    cptr = cw = None
    if m and not delay.any():
        ch_sorted = channel[order]
        cw = np.array([weight[channel == c][0] if (channel == c).any() else 0.0 for c in range(C)])
        if all(np.all(weight[channel == c] == cw[c]) for c in range(C)):
            cptr = np.zeros(n * C + 1, np.int64)
            np.cumsum(np.bincount(pre[order].astype(np.int64) * C + ch_sorted, minlength=n * C), out=cptr[1:])
        else:
            cw = None
    return LIFNetwork(
        n,
        tau_m,
        float(E_l),
        float(V_t),
        float(V_r),
        int(round(refractory / dt)),
        dt,
        tau_syn,
        indptr,
        post[order].astype(np.int32),
        weight[order],
        channel[order],
        delay[order],
        cptr,
        cw,
        e_rev,
    )


class SimResult(NamedTuple):
    spike_i: np.ndarray  # neuron of each spike, in order of time then index
    spike_step: np.ndarray  # step of each spike (time = step · dt)
    v: np.ndarray  # (steps, len(record)) membrane potential after each step, or (steps, 0)
    v_final: np.ndarray
    g_final: np.ndarray  # (channels, n)
    seconds: float  # wall time of the simulation loop (compilation excluded after warm-up)

    def spike_times(self, dt: float) -> np.ndarray:
        return self.spike_step * dt


def simulate(
    net: LIFNetwork,
    steps: int,
    v0=None,
    g0=None,
    record=(),
    chunk: int = 2000,
    compact: bool = True,
) -> SimResult:
    """Run ``steps`` steps from v0 (default V_r) and g0 (default 0); record spikes and, for the
    neuron indices in ``record``, v after every step. ``compact``: use the compact synapse storage
    when the network has it (``LIFNetwork.cptr``; the same numbers, fewer bytes read)."""
    import time

    from ._loop import run_chunk, run_chunk_coba

    steps = check_positive_int("steps", steps)
    v = np.full(net.n, net.V_r) if v0 is None else check_array("v0", v0, (net.n,)).astype(np.float64)
    C = len(net.tau_syn)
    g = np.zeros((C, net.n)) if g0 is None else check_array("g0", np.reshape(g0, (C, -1)), (C, net.n)).astype(float)
    rec = np.asarray(record, np.int64).ravel()
    if rec.size and (rec.min() < 0 or rec.max() >= net.n):
        raise bad("record", rec.tolist(), f"neuron indices in [0, {net.n})")
    pvv, pvk, pkk = net.propagators()
    use = compact and net.cptr is not None
    cptr = net.cptr if use else np.zeros(1, np.int64)
    cw = net.cw if use else np.zeros(0)
    D = int(net.delay.max()) + 1 if net.n_synapses else 1
    buf = np.zeros((D, net.n, C))
    gt = np.ascontiguousarray(g.T)  # (n, C) inside the loop
    ref_left = np.zeros(net.n, np.int32)  # steps of refractoriness left
    vrec = np.zeros((steps, rec.size))
    cap = max(net.n, net.n * min(chunk, steps) // (net.ref_steps + 1) + net.n)
    out_i, out_t = [], []
    spike_i = np.empty(cap, np.int32)
    spike_t = np.empty(cap, np.int64)
    step = 0
    t0 = time.perf_counter()
    while step < steps:
        end = min(steps, step + chunk)
        if net.e_rev is None:
            k, reached = run_chunk(
                step, end, v, gt, ref_left, buf, net.indptr, net.indices, net.weights, net.channel, net.delay,
                pvv, pvk, pkk, net.E_l, net.V_t, net.V_r, net.ref_steps, rec, vrec, spike_i, spike_t, cptr, cw,
            )  # fmt: skip
        else:
            k, reached = run_chunk_coba(
                step, end, v, gt, ref_left, buf, net.indptr, net.indices, net.weights, net.channel, net.delay,
                pkk, np.asarray(net.e_rev), net.tau_m, net.dt, net.E_l, net.V_t, net.V_r, net.ref_steps, rec,
                vrec, spike_i, spike_t, cptr, cw,
            )  # fmt: skip
        out_i.append(spike_i[:k].copy())
        out_t.append(spike_t[:k].copy())
        step = reached
    seconds = time.perf_counter() - t0
    return SimResult(np.concatenate(out_i), np.concatenate(out_t), vrec, v, np.ascontiguousarray(gt.T), seconds)


def _bernoulli_pairs(rng, n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Bernoulli(p) for every ordered pair, by geometric gaps over the row-major pair index:
    rows in order of i, targets ascending (Brian2's synapse order), O(p n²) work."""
    flat = []
    pos, total = -1, n * n
    while pos < total:
        gaps = rng.geometric(p, size=int(p * total * 0.2) + 1024) if p > 0 else np.array([total + 1])
        idx = pos + np.cumsum(gaps)
        flat.append(idx[idx < total])
        pos = int(idx[-1])
    flat = np.concatenate(flat) if flat else np.zeros(0, np.int64)
    return flat // n, flat % n


def coba(
    n: int = 4000, seed: int = 0, p: float | None = None, dt: float = 0.1
) -> tuple[LIFNetwork, np.ndarray, np.ndarray]:
    """Brette et al. (2007) benchmark 1, COBA (Vogels & Abbott's network, as in Brian2's
    benchmarks): conductances relative to the leak (g_L = 10 nS), 80 % excitatory (w_e = 6 nS →
    0.6, E_e = 0 mV, τ_e = 5 ms), 20 % inhibitory (w_i = 67 nS → 6.7, E_i = −80 mV, τ_i = 10 ms),
    connection probability ``p`` (default 80/n, as ``cuba``), no delay; τ_m 20 ms, E_l −60,
    V_t −50, V_r −60 mV, refractory 5 ms, exponential Euler. Returns the network, v0
    (V_r + U[0,1)·(V_t − V_r)) and g0 (channels × n: g_e ~ N(4, 1.5²)·10 nS, g_i ~ N(20, 12²)·10 nS,
    relative to g_L: Brette et al.'s initial conductances, which start the self-sustained activity)."""
    rng = np.random.default_rng(seed)
    n = check_positive_int("n", n)
    p = 80.0 / n if p is None else check_float("p", p, 0.0, 1.0)
    pre, post = _bernoulli_pairs(rng, n, p)
    exc = pre < int(round(0.8 * n))
    net = from_edges(n, pre, post, np.where(exc, 0.6, 6.7), channel=np.where(exc, 0, 1), dt=dt, E_l=-60.0,
                     e_rev=(0.0, -80.0))  # fmt: skip
    v0 = -60.0 + rng.random(n) * 10.0
    g0 = np.stack([rng.standard_normal(n) * 1.5 + 4.0, rng.standard_normal(n) * 12.0 + 20.0])
    return net, v0, g0


def cuba(n: int = 4000, seed: int = 0, p: float | None = None, dt: float = 0.1) -> tuple[LIFNetwork, np.ndarray]:
    """Brette et al. (2007) benchmark 2, CUBA (the Brian2 example `CUBA.py`): 80 % excitatory (w_e = 1.62 mV,
    channel 0, τ_e = 5 ms), 20 % inhibitory (w_i = −9 mV, channel 1, τ_i = 10 ms), connection
    probability ``p`` (default 80/n: 80 inputs per neuron at any size, as in the Brian2 paper's
    scaling), no delay; τ_m 20 ms, V_t −50, V_r −60, E_l −49 mV, refractory 5 ms. Returns the
    network and the initial v (V_r + U[0,1)·(V_t − V_r))."""
    rng = np.random.default_rng(seed)
    n = check_positive_int("n", n)
    p = 80.0 / n if p is None else check_float("p", p, 0.0, 1.0)
    n_exc = int(round(0.8 * n))
    pre, post = _bernoulli_pairs(rng, n, p)
    exc = pre < n_exc
    net = from_edges(
        n,
        pre,
        post,
        np.where(exc, 60 * 0.27 / 10, -20 * 4.5 / 10),
        channel=np.where(exc, 0, 1),
        dt=dt,
    )
    v0 = -60.0 + rng.random(n) * 10.0
    return net, v0

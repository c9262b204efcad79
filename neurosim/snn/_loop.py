"""The simulation loop of ``network.simulate``: every step of a chunk inside one numba call."""

from __future__ import annotations

import numba
import numpy as np

from ..kernels.config import FLAGS


@numba.njit(**FLAGS)
def run_chunk(
    start, end, v, g, ref_left, buf, indptr, indices, weights, channel, delay,
    pvv, pvk, pkk, E_l, V_t, V_r, ref_steps, rec, vrec, spike_i, spike_t,
):  # fmt: skip
    """Advance from ``start`` to at most ``end``; returns (spikes written, step reached). Stops
    early, at a step boundary, when the spike buffer could overflow in the next step."""
    n = v.shape[0]
    C = g.shape[1]  # g is (n, C): a neuron's channels share a cache line
    D = buf.shape[0]
    cap = spike_i.shape[0]
    k = 0
    fired = np.empty(n, np.int32)
    has_delay = D > 1
    p0 = pvk[0]
    p1 = pvk[1] if C > 1 else 0.0
    d0 = pkk[0]
    d1 = pkk[1] if C > 1 else 0.0
    for step in range(start, end):
        if k + n > cap:
            return k, step
        # 1-3 and 5 in one pass per neuron: refractory count, exact update (old g), g decay,
        # threshold, reset (reset touches only v, the synapse slot only g: the order is free)
        nf = 0
        # The three loops below repeat the membrane/threshold/reset code on purpose: factoring it
        # into a numba helper (even inline="always") made CUBA 30× slower (measured), and the
        # generic channel loop is 8× slower than the unrolled C = 2 case.
        if C == 2:
            for i in range(n):
                a0 = g[i, 0]
                a1 = g[i, 1]
                s = p0 * a0 + p1 * a1
                g[i, 0] = a0 * d0
                g[i, 1] = a1 * d1
                r = ref_left[i]
                if r > 0:
                    r -= 1
                    ref_left[i] = r
                if r == 0:
                    vi = E_l + (v[i] - E_l) * pvv + s
                    if vi > V_t:
                        fired[nf] = i
                        nf += 1
                        vi = V_r
                        ref_left[i] = ref_steps
                    v[i] = vi
        elif C == 1:
            for i in range(n):
                a0 = g[i, 0]
                s = p0 * a0
                g[i, 0] = a0 * d0
                r = ref_left[i]
                if r > 0:
                    r -= 1
                    ref_left[i] = r
                if r == 0:
                    vi = E_l + (v[i] - E_l) * pvv + s
                    if vi > V_t:
                        fired[nf] = i
                        nf += 1
                        vi = V_r
                        ref_left[i] = ref_steps
                    v[i] = vi
        else:
            for i in range(n):
                s = 0.0
                for c in range(C):
                    gc = g[i, c]
                    s += pvk[c] * gc
                    g[i, c] = gc * pkk[c]
                r = ref_left[i]
                if r > 0:
                    r -= 1
                    ref_left[i] = r
                if r == 0:
                    vi = E_l + (v[i] - E_l) * pvv + s
                    if vi > V_t:
                        fired[nf] = i
                        nf += 1
                        vi = V_r
                        ref_left[i] = ref_steps
                    v[i] = vi
        for f in range(nf):
            spike_i[k] = fired[f]
            spike_t[k] = step
            k += 1
        # 4. synapses: deliveries queued for this step, then this step's spikes
        slot = step % D
        if has_delay:
            for i in range(n):
                for c in range(C):
                    if buf[slot, i, c] != 0.0:
                        g[i, c] += buf[slot, i, c]
                        buf[slot, i, c] = 0.0
            for f in range(nf):
                i = fired[f]
                for s_ in range(indptr[i], indptr[i + 1]):
                    d = delay[s_]
                    if d == 0:
                        g[indices[s_], channel[s_]] += weights[s_]
                    else:
                        buf[(step + d) % D, indices[s_], channel[s_]] += weights[s_]
        else:
            for f in range(nf):
                i = fired[f]
                for s_ in range(indptr[i], indptr[i + 1]):
                    g[indices[s_], channel[s_]] += weights[s_]
        for r_ in range(rec.shape[0]):
            vrec[step, r_] = v[rec[r_]]
    return k, end

"""The simulation loop of ``network.simulate``: every step of a chunk inside one numba call."""

from __future__ import annotations

import numba
import numpy as np

from ..kernels.config import FLAGS


@numba.njit(**FLAGS)
def run_chunk(
    start, end, v, g, last, buf, indptr, indices, weights, channel, delay,
    pvv, pvk, pkk, E_l, V_t, V_r, ref_steps, rec, vrec, spike_i, spike_t,
):  # fmt: skip
    """Advance from ``start`` to at most ``end``; returns (spikes written, step reached). Stops
    early, at a step boundary, when the spike buffer could overflow in the next step."""
    n = v.shape[0]
    C = g.shape[0]
    D = buf.shape[0]
    cap = spike_i.shape[0]
    k = 0
    fired = np.empty(n, np.int32)
    for step in range(start, end):
        if k + n > cap:
            return k, step
        # 1-2. state update (exact), v held while refractory
        for i in range(n):
            s = 0.0
            for c in range(C):
                s += pvk[c] * g[c, i]
                g[c, i] *= pkk[c]
            if step - last[i] >= ref_steps:
                v[i] = E_l + (v[i] - E_l) * pvv + s
        # 3. threshold
        nf = 0
        for i in range(n):
            if v[i] > V_t and step - last[i] >= ref_steps:
                fired[nf] = i
                nf += 1
                last[i] = step
                spike_i[k] = i
                spike_t[k] = step
                k += 1
        # 4. synapses: deliveries queued for this step, then this step's spikes
        slot = step % D
        if D > 1:
            for c in range(C):
                for i in range(n):
                    if buf[slot, c, i] != 0.0:
                        g[c, i] += buf[slot, c, i]
                        buf[slot, c, i] = 0.0
        for f in range(nf):
            i = fired[f]
            for s_ in range(indptr[i], indptr[i + 1]):
                d = delay[s_]
                if d == 0:
                    g[channel[s_], indices[s_]] += weights[s_]
                else:
                    buf[(step + d) % D, channel[s_], indices[s_]] += weights[s_]
        # 5. reset
        for f in range(nf):
            v[fired[f]] = V_r
        for r in range(rec.shape[0]):
            vrec[step, r] = v[rec[r]]
    return k, end

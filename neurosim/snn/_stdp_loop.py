"""The loop of ``populations.simulate`` when a projection is plastic (pair-based STDP): the
neuron update of ``_loop.run_chunk_multi`` term for term (a test runs a network with zero STDP
amplitudes through both and gets the same spikes), and in the synapses slot Brian2's order:

1. the on_pre pathways: deliveries due now — static ones from the summed ring buffer, plastic
   delayed ones one synapse at a time from their own queue (Brian2 delays the whole on_pre code,
   so such a synapse delivers the weight it has when it arrives and updates its trace and weight
   then) —, this step's neuron spikes, this step's input spikes; a plastic synapse's event is
   ``g_post += w; apre += A_pre; w = clip(w + apost, w_min, w_max)``;
2. the on_post pathways (Brian2: order +1, after every on_pre at order −1, measured): for each
   neuron that fired, ``apost += A_post`` once per plastic projection into it, then
   ``w = clip(w + apre, w_min, w_max)`` on every plastic synapse of that projection into it;
3. the reset.

Traces decay exactly and lazily: a trace holds its value at its last update (``*_last``, a step)
and is read as ``value · exp(−(step − last) · dt / τ)``. A presynaptic trace is shared by the
synapses of one projection with the same presynaptic neuron and the same delay (they see the
same arrivals); a postsynaptic trace is one per projection and postsynaptic neuron.

Synapses are one array here: the neuron synapses (``indptr``) then the input synapses
(``in_indptr``, already offset by the number of neuron synapses).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kernels.config import FLAGS
from ._loop import update_neurons


@numba.njit(**FLAGS)
def _on_pre(s, step, weights, plastic, pre_tr, post_tr, apre, apre_last, apost, apost_last,
            c_pre, c_post, a_pre, w_min, w_max):  # fmt: skip
    """A plastic synapse's on_pre after its delivery: the presynaptic trace (once per step, as it
    is shared) and ``w = clip(w + apost)`` with the postsynaptic trace at this step."""
    k = plastic[s]
    t = pre_tr[s]
    if apre_last[t] != step:
        apre[t] = apre[t] * math.exp(-(step - apre_last[t]) * c_pre[k]) + a_pre[k]
        apre_last[t] = step
    q = post_tr[s]
    x = weights[s] + apost[q] * math.exp(-(step - apost_last[q]) * c_post[k])
    weights[s] = min(max(x, w_min[k]), w_max[k])


@numba.njit(**FLAGS)
def run_chunk_stdp(
    start, end, v, g, ref_left, last, buf, indptr, in_indptr, indices, weights, channel, delay, in_steps, in_index,
    pos, pvv, pvk, pkk, feed, pfk, rc_mode, rc_val, delta, reset_add, coba, e_rev, tsyn, ax, wad, tau_m, dt, E_l,
    V_t, V_r, ref_steps, cur, rec, vrec, spike_i, spike_t, plastic, pre_tr, post_tr, apre, apre_last, apost,
    apost_last, post_ptr, post_q, q_ptr, q_syn, q_proj, qbuf, qn, c_pre, c_post, a_pre, a_post, w_min, w_max,
):  # fmt: skip
    """``run_chunk_multi`` with STDP (see the module): ``plastic[s]`` the plastic projection of
    synapse s (−1: static), ``pre_tr[s]`` / ``post_tr[s]`` its trace ids; ``post_ptr`` (n + 1)
    → ``post_q``: the postsynaptic trace ids of a neuron, ``q_ptr`` → ``q_syn``: the synapses of
    a postsynaptic trace, ``q_proj`` its projection; ``qbuf`` (D, ·) / ``qn`` (D,): the queue of
    plastic delayed events per ring slot; per projection ``c_pre`` = dt / τ_pre, ``c_post`` =
    dt / τ_post, the amplitudes and bounds. ``weights``, the traces and the queue are updated in
    place. Returns (spikes written, step reached, input position)."""
    n = v.shape[0]
    C = g.shape[1]
    D = buf.shape[0]
    cap = spike_i.shape[0]
    n_in = in_steps.shape[0]
    k = 0
    fired = np.empty(n, np.int32)
    for step in range(start, end):
        if k + n > cap:
            return k, step, pos
        row = step if cur.shape[0] > 1 else 0
        nf = update_neurons(step, row, v, g, ref_left, last, fired, pvv, pvk, pkk, feed, pfk, rc_mode, rc_val, coba,
                            e_rev, tsyn, ax, wad, tau_m, dt, E_l, V_t, V_r, ref_steps, cur)  # fmt: skip
        for f in range(nf):
            spike_i[k] = fired[f]
            spike_t[k] = step
            k += 1
        # the on_pre pathways: static deliveries due now, plastic delayed arrivals, then this step's spikes
        slot = step % D
        if D > 1:
            for i in range(n):
                for c in range(C):
                    x = buf[slot, i, c]
                    if x != 0.0:
                        if delta[c]:
                            if ref_left[i] == 0 or rc_mode[i] >= 8:
                                v[i] += x
                        else:
                            g[i, c] += x
                        buf[slot, i, c] = 0.0
            for e in range(qn[slot]):
                s_ = qbuf[slot, e]
                j = indices[s_]
                c = channel[s_]
                if delta[c]:
                    if ref_left[j] == 0 or rc_mode[j] >= 8:
                        v[j] += weights[s_]
                else:
                    g[j, c] += weights[s_]
                _on_pre(s_, step, weights, plastic, pre_tr, post_tr, apre, apre_last, apost, apost_last,
                        c_pre, c_post, a_pre, w_min, w_max)  # fmt: skip
            qn[slot] = 0
        while pos < n_in and in_steps[pos] < step:
            pos += 1
        p_end = pos
        while p_end < n_in and in_steps[p_end] == step:
            p_end += 1
        for f in range(nf + p_end - pos):  # this step's neuron spikes, then its input spikes
            src_ptr = indptr if f < nf else in_indptr
            src = fired[f] if f < nf else in_index[pos + f - nf]
            for s_ in range(src_ptr[src], src_ptr[src + 1]):
                d = delay[s_]
                j = indices[s_]
                c = channel[s_]
                if d == 0:
                    if delta[c]:
                        if ref_left[j] == 0 or rc_mode[j] >= 8:
                            v[j] += weights[s_]
                    else:
                        g[j, c] += weights[s_]
                    if plastic[s_] >= 0:
                        _on_pre(s_, step, weights, plastic, pre_tr, post_tr, apre, apre_last, apost, apost_last,
                                c_pre, c_post, a_pre, w_min, w_max)  # fmt: skip
                elif plastic[s_] >= 0:
                    sl = (step + d) % D
                    qbuf[sl, qn[sl]] = s_
                    qn[sl] += 1
                else:
                    buf[(step + d) % D, j, c] += weights[s_]
        pos = p_end
        # the on_post pathways: the neurons that fired (inputs have no postsynaptic side)
        for f in range(nf):
            i = fired[f]
            for e in range(post_ptr[i], post_ptr[i + 1]):
                q = post_q[e]
                kp = q_proj[q]
                apost[q] = apost[q] * math.exp(-(step - apost_last[q]) * c_post[kp]) + a_post[kp]
                apost_last[q] = step
                lo = w_min[kp]
                hi = w_max[kp]
                cp = c_pre[kp]
                for e2 in range(q_ptr[q], q_ptr[q + 1]):
                    s_ = q_syn[e2]
                    t = pre_tr[s_]
                    x = weights[s_] + apre[t] * math.exp(-(step - apre_last[t]) * cp)
                    weights[s_] = min(max(x, lo), hi)
        for f in range(nf):  # the reset, after the synapses
            i = fired[f]
            v[i] = V_r[i]
            if coba[i] == 2:
                wad[i] += ax[i, 4]  # AdEx: w += b
            for c in range(C):
                if reset_add[i, c] != 0.0:
                    g[i, c] += reset_add[i, c]
        for r_ in range(rec.shape[0]):
            vrec[step, r_] = v[rec[r_]]
    return k, end, pos

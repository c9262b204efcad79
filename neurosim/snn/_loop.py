"""The simulation loop of ``network.simulate``: every step of a chunk inside one numba call."""

from __future__ import annotations

import numba
import numpy as np

from ..kernels.config import FLAGS


@numba.njit(**FLAGS)
def _deliver(step, nf, fired, g, buf, indptr, indices, weights, channel, delay, cptr, cw):
    """Step 4 of ``run_chunk`` and ``run_chunk_coba``: deliveries queued for this step, then this step's spikes
    (ring buffer when there are delays; the compact storage when ``cw`` is non-empty)."""
    n, C = g.shape
    D = buf.shape[0]
    slot = step % D
    if D > 1:
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
    elif cw.shape[0] > 0:
        for f in range(nf):
            base = fired[f] * C
            for c in range(C):
                w = cw[c]
                for s_ in range(cptr[base + c], cptr[base + c + 1]):
                    g[indices[s_], c] += w
    else:
        for f in range(nf):
            i = fired[f]
            for s_ in range(indptr[i], indptr[i + 1]):
                g[indices[s_], channel[s_]] += weights[s_]


@numba.njit(**FLAGS)
def run_chunk(
    start, end, v, g, ref_left, buf, indptr, indices, weights, channel, delay,
    pvv, pvk, pkk, E_l, V_t, V_r, ref_steps, rec, vrec, spike_i, spike_t, cptr, cw,
):  # fmt: skip
    """Advance from ``start`` to at most ``end``; returns (spikes written, step reached). Stops
    early, at a step boundary, when the spike buffer could overflow in the next step. With
    ``cw`` non-empty the synapses are read in their compact form (``LIFNetwork.cptr``)."""
    n = v.shape[0]
    C = g.shape[1]  # g is (n, C): a neuron's channels share a cache line
    cap = spike_i.shape[0]
    k = 0
    fired = np.empty(n, np.int32)
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
        # 4. synapses: deliveries queued for this step, then this step's spikes. This is
        # ``_deliver``'s code, inline on purpose: calling it here made CUBA 4k 5-8 % slower
        # (measured, 3 runs each); run_chunk_coba, where the exp() dominates, calls it.
        D = buf.shape[0]
        slot = step % D
        if D > 1:
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
        elif cw.shape[0] > 0:  # compact: one weight per channel, the targets only
            for f in range(nf):
                base = fired[f] * C
                for c in range(C):
                    w = cw[c]
                    for s_ in range(cptr[base + c], cptr[base + c + 1]):
                        g[indices[s_], c] += w
        else:
            for f in range(nf):
                i = fired[f]
                for s_ in range(indptr[i], indptr[i + 1]):
                    g[indices[s_], channel[s_]] += weights[s_]
        for r_ in range(rec.shape[0]):
            vrec[step, r_] = v[rec[r_]]
    return k, end


@numba.njit(**FLAGS)
def run_chunk_coba(
    start, end, v, g, ref_left, buf, indptr, indices, weights, channel, delay,
    pkk, e_rev, tau_m, dt, E_l, V_t, V_r, ref_steps, rec, vrec, spike_i, spike_t, cptr, cw,
):  # fmt: skip
    """``run_chunk`` for a conductance-based network (``LIFNetwork.e_rev``): v by exponential
    Euler with the conductances at the start of the step, v ← −B/A + (v + B/A) e^{A dt},
    A = −(1 + Σ g_k)/τ_m, B = (E_l + Σ g_k E_k)/τ_m — the arithmetic of ``run_chunk_multi``'s
    COBA neurons term for term, so both give the same spikes; the g_k decay exactly."""
    n = v.shape[0]
    C = g.shape[1]
    cap = spike_i.shape[0]
    k = 0
    fired = np.empty(n, np.int32)
    d0 = pkk[0]
    d1 = pkk[1] if C > 1 else 0.0
    e0 = e_rev[0]
    e1 = e_rev[1] if C > 1 else 0.0
    for step in range(start, end):
        if k + n > cap:
            return k, step
        nf = 0
        if C == 2:  # unrolled, as in run_chunk (the generic channel loop is several times slower)
            for i in range(n):
                a0 = g[i, 0]
                a1 = g[i, 1]
                g[i, 0] = a0 * d0
                g[i, 1] = a1 * d1
                r = ref_left[i]
                if r > 0:
                    r -= 1
                    ref_left[i] = r
                if r == 0:
                    A = -(1.0 + (a0 + a1)) / tau_m
                    BA = ((E_l + (a0 * e0 + a1 * e1)) / tau_m) / A
                    vi = -BA + (BA + v[i]) * np.exp(A * dt)
                    if vi > V_t:
                        fired[nf] = i
                        nf += 1
                        vi = V_r
                        ref_left[i] = ref_steps
                    v[i] = vi
        else:
            for i in range(n):
                sa = 0.0
                sb = 0.0
                for c in range(C):
                    gc = g[i, c]
                    sa += gc
                    sb += gc * e_rev[c]
                    g[i, c] = gc * pkk[c]
                r = ref_left[i]
                if r > 0:
                    r -= 1
                    ref_left[i] = r
                if r == 0:
                    A = -(1.0 + sa) / tau_m
                    BA = ((E_l + sb) / tau_m) / A
                    vi = -BA + (BA + v[i]) * np.exp(A * dt)
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
        _deliver(step, nf, fired, g, buf, indptr, indices, weights, channel, delay, cptr, cw)
        for r_ in range(rec.shape[0]):
            vrec[step, r_] = v[rec[r_]]
    return k, end


@numba.njit(inline="always")
def refractory_left(r, mode, v, th):
    """The refractory count after this step's check: a time counts down; a condition (``mode``
    1 '>', 2 '>=', 3 '<', 4 '<=' against ``th``) ends refractoriness the first step it fails on v
    before the update (Brian2's ``not_refractory = not_refractory or not (cond)``)."""
    if mode == 0:
        return r - 1 if r > 0 else 0
    if r > 0 and not ((mode == 1 and v > th) or (mode == 2 and v >= th) or (mode == 3 and v < th)
                      or (mode == 4 and v <= th)):  # fmt: skip
        return 0
    return r


@numba.njit(inline="always")
def adex_neuron(i, g, v, wad, ax, tsyn, E_l, tau_m, cur_i, dt, integrate):
    """One step of an AdEx neuron (``ax[i]`` = ΔT, V_T, a, τ_w, b; w in mV) by forward Euler,
    as Brian2's ``method="euler"`` writes it, term for term (every derivative on the old state):
    g ← −dt·g/τ + g; w ← dt·(a (v − E_l) − w)/τ_w + w; v ← dt·(ΔT e^{(v − V_T)/ΔT} + E_l + Σ g
    + I − v − w)/τ_m + v when ``integrate`` (not held by refractoriness). Returns the new v."""
    vo = v[i]
    wo = wad[i]
    acc = ax[i, 0] * np.exp((vo - ax[i, 1]) / ax[i, 0]) + E_l
    for c in range(g.shape[1]):
        gc = g[i, c]
        acc += gc
        if tsyn[c] > 0.0:
            g[i, c] = -dt * gc / tsyn[c] + gc
    wad[i] = dt * (ax[i, 2] * (vo - E_l) - wo) / ax[i, 3] + wo
    if integrate:
        return dt * (acc + cur_i - vo - wo) / tau_m + vo
    return vo


@numba.njit(inline="always")
def update_neurons(step, row, v, g, ref_left, last, fired, pvv, pvk, pkk, feed, pfk, rc_mode, rc_val, coba, e_rev,
                   tsyn, ax, wad, tau_m, dt, E_l, V_t, V_r, ref_steps, cur):  # fmt: skip
    """State update and threshold of ``run_chunk_multi`` and ``run_chunk_stdp`` (one pass per
    neuron; the channels decay exactly, or by Euler in AdEx neurons); the neurons that fire are
    written to ``fired``; returns how many. Called once per step: the per-neuron code stays
    inline (a per-neuron helper was measured 30× slower on CUBA)."""
    n = v.shape[0]
    C = g.shape[1]
    nf = 0
    for i in range(n):
        r = ref_left[i]
        if r > 0:
            r = refractory_left(r, rc_mode[i] & 7, v[i], rc_val[i])
            ref_left[i] = r
        free = r == 0 or rc_mode[i] >= 8  # v integrates (not held by refractoriness)
        if coba[i] == 2:  # AdEx, forward Euler
            vi = adex_neuron(i, g, v, wad, ax, tsyn, E_l[i], tau_m[i], cur[row, i], dt, free)
        else:
            s = 0.0
            sa = 0.0  # conductance-based: Σ g_k and Σ g_k E_k, at the start of the step
            sb = 0.0
            for c in range(C):
                gc = g[i, c]
                if coba[i] == 1:
                    sa += gc
                    sb += gc * e_rev[c]
                else:
                    s += pvk[i, c] * gc
                f_ = feed[c]
                if f_ >= 0:  # an alpha current, fed by its hidden x (a later channel: not yet decayed)
                    g[i, c] = gc * pkk[c] + pfk[c] * g[i, f_]
                else:
                    g[i, c] = gc * pkk[c]
            if not free:
                vi = v[i]
            elif coba[i] == 1:  # exponential Euler, as Brian2 writes it: v ← −B/A + (v + B/A) e^{A dt}
                A = -(1.0 + sa) / tau_m[i]
                BA = ((E_l[i] + sb + cur[row, i]) / tau_m[i]) / A
                vi = -BA + (BA + v[i]) * np.exp(A * dt)
            else:
                vi = E_l[i] + (v[i] - E_l[i]) * pvv[i] + s + cur[row, i] * (1.0 - pvv[i])
        v[i] = vi
        if r == 0 and vi > V_t[i]:
            fired[nf] = i
            nf += 1
            ref_left[i] = ref_steps[i]
            last[i] = step
    return nf


@numba.njit(**FLAGS)
def run_chunk_multi(
    start, end, v, g, ref_left, last, buf, indptr, indices, weights, channel, delay, in_indptr, in_indices,
    in_weights, in_channel, in_delay, in_steps, in_index, pos, pvv, pvk, pkk, feed, pfk, rc_mode, rc_val, delta,
    reset_add, coba, e_rev, tsyn, ax, wad, tau_m, dt, E_l, V_t, V_r, ref_steps, cur, rec, vrec, spike_i, spike_t,
):  # fmt: skip
    """``populations.simulate``'s loop: per-neuron constants (``pvv``, ``pvk`` (n, C), ``E_l``,
    ``V_t``, ``V_r``, ``ref_steps``), delta channels (``delta[c]``: a delivery adds to v, unless
    the target is refractory in this step — Brian2 drops it then, measured) and input
    spikes (``in_steps`` sorted, from ``pos``); ``reset_add`` (n, C) is added at a neuron's spike
    (adaptation). In Brian2's order: state update and threshold (one
    pass), synapses (deliveries due now, this step's neuron spikes, this step's input spikes),
    reset. Returns (spikes written, step reached, input position)."""
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
        row = step if cur.shape[0] > 1 else 0  # the injected current: per step, or constant
        nf = update_neurons(step, row, v, g, ref_left, last, fired, pvv, pvk, pkk, feed, pfk, rc_mode, rc_val, coba,
                            e_rev, tsyn, ax, wad, tau_m, dt, E_l, V_t, V_r, ref_steps, cur)  # fmt: skip
        for f in range(nf):
            spike_i[k] = fired[f]
            spike_t[k] = step
            k += 1
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
        for f in range(nf):
            i = fired[f]
            for s_ in range(indptr[i], indptr[i + 1]):
                d = delay[s_]
                j = indices[s_]
                c = channel[s_]
                if d == 0:
                    if delta[c]:
                        if ref_left[j] == 0 or rc_mode[j] >= 8:
                            v[j] += weights[s_]
                    else:
                        g[j, c] += weights[s_]
                else:
                    buf[(step + d) % D, j, c] += weights[s_]
        while pos < n_in and in_steps[pos] < step:
            pos += 1
        while pos < n_in and in_steps[pos] == step:
            src = in_index[pos]
            for s_ in range(in_indptr[src], in_indptr[src + 1]):
                d = in_delay[s_]
                j = in_indices[s_]
                c = in_channel[s_]
                if d == 0:
                    if delta[c]:
                        if ref_left[j] == 0 or rc_mode[j] >= 8:
                            v[j] += in_weights[s_]
                    else:
                        g[j, c] += in_weights[s_]
                else:
                    buf[(step + d) % D, j, c] += in_weights[s_]
            pos += 1
        for f in range(nf):  # the reset, after the synapses: v, and the channels' spike increments
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

"""numba twins of ``reference.py`` (same signatures). Each body is compiled twice: serial
(``prange`` runs as ``range``) and ``parallel=True``; the outer ``prange`` runs over independent
neurons / parameters so no two threads write the same element. Compilation is lazy (no
signatures) and cached on disk (``config.FLAGS``); ``warmup()`` compiles ahead of time.
"""

from __future__ import annotations

import math
import types

import numba
import numpy as np
from numba import prange

from .config import FLAGS, apply_threading_layer

apply_threading_layer()  # before the first parallel launch (config.py says why)


def _online_lru_traces(lam, gam, hc, bu, u, delta, e_lam, e_gam, E_B, s_lam, s_gam, dB):
    # Threads own chunks of 32 states n; within a chunk the batch is the outer loop, so E_B[b, n0:n1]
    # streams as one contiguous run (N·H·itemsize-strided 2-KB rows were slower: bench_kernels.py) while
    # dB[n0:n1] (32·H complex) stays in cache.
    B, N, H = E_B.shape
    n_chunks = (N + 31) // 32
    for ch in prange(n_chunks):
        n0 = ch * 32
        n1 = min(N, n0 + 32)
        for b in range(B):
            ub = u[b]
            for n in range(n0, n1):
                lm = lam[n]
                g = gam[n]
                el = lm * e_lam[b, n] + hc[b, n]
                e_lam[b, n] = el
                eg = lm * e_gam[b, n] + bu[b, n]
                e_gam[b, n] = eg
                d = delta[b, n]
                s_lam[n] += d * el
                s_gam[n] += d * eg
                E = E_B[b, n]
                D = dB[n]
                for h in range(H):
                    e = lm * E[h] + g * ub[h]
                    E[h] = e
                    D[h] += d * e


def _snap1_outer(G, J, a, pre, unit, src, c, grad):
    P, B = G.shape
    for p in prange(P):
        i = unit[p]
        k = src[p]
        acc = grad[p] * 0
        for b in range(B):
            g = J[i, b] * G[p, b] + a[i, b] * pre[k, b]
            G[p, b] = g
            acc += c[i, b] * g
        grad[p] += acc


def _eprop_traces(psi, psi_prev, pre, ev, ea, eb, L, R, beta, alpha, rho, kappa, first_alif, grad):
    B, n = psi.shape
    K = pre.shape[1]
    filt = eb.shape[1] > 0
    reg = R.shape[1] > 0
    for j in prange(n):
        bj = beta[j]
        alif = j >= first_alif
        ja = j - first_alif
        for b in range(B):
            ps = psi[b, j]
            Lj = L[b, j]
            Rj = R[b, j] if reg else Lj * 0
            # the branches are hoisted out of the inner loops so that they vectorise
            if alif:
                pp = psi_prev[b, ja]
                dec = rho - bj * pp
                psb = ps * bj
                if filt:
                    for i in range(K):
                        evo = ev[b, i]
                        ean = pp * evo + dec * ea[b, ja, i]
                        ea[b, ja, i] = ean
                        e = ps * (alpha * evo + pre[b, i]) - psb * ean
                        ebn = kappa * eb[b, j, i] + e
                        eb[b, j, i] = ebn
                        grad[j, i] += Lj * ebn + Rj * e
                else:
                    for i in range(K):
                        evo = ev[b, i]
                        ean = pp * evo + dec * ea[b, ja, i]
                        ea[b, ja, i] = ean
                        e = ps * (alpha * evo + pre[b, i]) - psb * ean
                        grad[j, i] += (Lj + Rj) * e
            elif filt:
                for i in range(K):
                    e = ps * (alpha * ev[b, i] + pre[b, i])
                    ebn = kappa * eb[b, j, i] + e
                    eb[b, j, i] = ebn
                    grad[j, i] += Lj * ebn + Rj * e
            else:
                w = ps * (Lj + Rj)
                for i in range(K):
                    grad[j, i] += w * (alpha * ev[b, i] + pre[b, i])
    for b in range(B):
        for i in range(K):
            ev[b, i] = alpha * ev[b, i] + pre[b, i]


def _lif_step(v, a, z, r, current, beta, alpha, rho, v_th, gamma_pd, n_ref, psi):
    B, n = v.shape
    for b in prange(B):
        for j in range(n):
            zo = z[b, j]
            vv = alpha * v[b, j] + current[b, j] - v_th * zo
            aa = rho * a[b, j] + zo
            v[b, j] = vv
            a[b, j] = aa
            s = (vv - v_th - beta[j] * aa) / v_th
            if r[b, j] == 0:
                zn = 1.0 if s > 0 else 0.0
                psi[b, j] = (gamma_pd / v_th) * max(0.0, 1.0 - abs(s))
            else:
                zn = 0.0
                psi[b, j] = 0.0
            z[b, j] = zn
            r[b, j] = n_ref if zn > 0 else max(r[b, j] - 1, 0)


def _rnn_step(h, pre_act, alpha, phi):
    B, n = h.shape
    for b in prange(B):
        for i in range(n):
            f = math.tanh(pre_act[b, i])
            phi[b, i] = f
            h[b, i] = (1 - alpha) * h[b, i] + alpha * f


def _gru_step(ar, az, an, hn, h, r, z, n):
    B, m = h.shape
    for b in prange(B):
        for i in range(m):
            rr = 1 / (1 + math.exp(-ar[b, i]))
            zz = 1 / (1 + math.exp(-az[b, i]))
            nn = math.tanh(an[b, i] + rr * hn[b, i])
            r[b, i] = rr
            z[b, i] = zz
            n[b, i] = nn
            h[b, i] = zz * h[b, i] + (1 - zz) * nn


def _rtrl_traces(G, a, pre, unit, src, c, grad):
    B, n, P = G.shape
    n_chunks = (P + 1023) // 1024
    for ch in prange(n_chunks):  # each thread owns a range of parameters: contiguous rows of G
        p0 = ch * 1024
        p1 = min(P, p0 + 1024)
        acc = np.zeros(p1 - p0, G.dtype)
        for b in range(B):
            Gb = G[b]
            for p in range(p0, p1):
                Gb[unit[p], p] += a[b, unit[p]] * pre[b, src[p]]
            for i in range(n):
                ci = c[b, i]
                row = Gb[i, p0:p1]
                for x in range(p1 - p0):
                    acc[x] += ci * row[x]
        for x in range(p1 - p0):
            grad[p0 + x] += acc[x]


def _snapn_traces(vals, J, a, pre, unit, src, rows, cols, colptr, col_entries, c, grad):
    B = vals.shape[0]
    P = unit.shape[0]
    for p in prange(P):
        e0 = colptr[p]
        e1 = colptr[p + 1]
        m = e1 - e0
        old = np.empty(m, vals.dtype)
        ent = col_entries[e0:e1]
        rr = np.empty(m, np.int64)  # the column's rows, resolved once for the whole batch
        for x in range(m):
            rr[x] = rows[ent[x]]
        u = unit[p]
        k = src[p]
        acc = grad[p] * 0
        for b in range(B):
            Jb = J[b]
            for x in range(m):
                old[x] = vals[b, ent[x]]
            for x in range(m):
                Ji = Jb[rr[x]]
                s = old[0] * 0
                for y in range(m):
                    s += Ji[rr[y]] * old[y]
                if rr[x] == u:
                    s += a[b, u] * pre[b, k]
                vals[b, ent[x]] = s
                acc += c[b, rr[x]] * s
        grad[p] += acc


def _uoro_update(v, w, u, nu, q, c, eps, equalize, grad):
    B, K, n = v.shape
    P = w.shape[2]
    r0 = np.ones((B, K), w.dtype)
    r1 = np.ones((B, K), w.dtype)
    s = np.zeros((B, K), w.dtype)
    for b in prange(B):
        for k in range(K):
            if equalize:
                nw = 0.0
                nq = 0.0
                for p in range(P):
                    nw += w[b, k, p] * w[b, k, p]
                    nq += q[b, k, p] * q[b, k, p]
                nu_ = 0.0
                nn = 0.0
                for i in range(n):
                    nu_ += u[b, k, i] * u[b, k, i]
                    nn += nu[b, k, i] * nu[b, k, i]
                r0[b, k] = math.sqrt((math.sqrt(nw) + eps) / (math.sqrt(nu_) + eps))
                r1[b, k] = math.sqrt((math.sqrt(nq) + eps) / (math.sqrt(nn) + eps))
            dot = 0.0
            for i in range(n):
                vi = r0[b, k] * u[b, k, i] + r1[b, k] * nu[b, k, i]
                v[b, k, i] = vi
                dot += c[b, i] * vi
            s[b, k] = dot / K
    n_chunks = (P + 1023) // 1024
    for ch in prange(n_chunks):
        p0 = ch * 1024
        p1 = min(P, p0 + 1024)
        for b in range(B):
            for k in range(K):
                i0 = 1 / r0[b, k]
                i1 = 1 / r1[b, k]
                sk = s[b, k]
                for p in range(p0, p1):
                    wn = w[b, k, p] * i0 + q[b, k, p] * i1
                    w[b, k, p] = wn
                    grad[p] += sk * wn


def _lru_step(lam, gam, h, bu):
    B, N = h.shape
    for b in prange(B):
        for n in range(N):
            h[b, n] = lam[n] * h[b, n] + gam[n] * bu[b, n]


KERNELS = {
    "online_lru_traces": _online_lru_traces,
    "snap1_outer": _snap1_outer,
    "eprop_traces": _eprop_traces,
    "lif_step": _lif_step,
    "rnn_step": _rnn_step,
    "gru_step": _gru_step,
    "rtrl_traces": _rtrl_traces,
    "snapn_traces": _snapn_traces,
    "uoro_update": _uoro_update,
    "lru_step": _lru_step,
}


def _renamed(f, suffix: str):
    """A copy of ``f`` under another qualified name. numba names its on-disk cache files after
    the function's qualified name and line and does not key them on ``parallel``: two
    dispatchers built from one function would load each other's machine code."""
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__ + suffix, f.__defaults__, f.__closure__)
    g.__qualname__ = f.__qualname__ + suffix
    return g


SERIAL = {k: numba.njit(**FLAGS)(_renamed(f, "_serial")) for k, f in KERNELS.items()}
PARALLEL = {k: numba.njit(parallel=True, **FLAGS)(_renamed(f, "_parallel")) for k, f in KERNELS.items()}

"""numpy references: the specification of every kernel (same signatures as the numba twins).

All kernels update their state arrays **in place** and *add* their gradient contribution to the
output arrays passed in (so a caller can accumulate over steps without allocating).
"""

from __future__ import annotations

import numpy as np


def online_lru_traces(lam, gam, hc, bu, u, delta, e_lam, e_gam, E_B, s_lam, s_gam, dB):
    """Zucchet et al.'s streaming LRU traces and their contraction with δ (one step).

    lam (N,) complex, gam (N,) real, hc/bu/delta (B, N) complex, u (B, H) real;
    state e_lam, e_gam (B, N), E_B (B, N, H) complex; outputs s_lam, s_gam (N,), dB (N, H) complex:
        e_lam ← λ e_lam + h_{t−1};  e_gam ← λ e_gam + B u;  E_B ← λ E_B + γ uᵀ
        s_lam += Σ_b δ e_lam;  s_gam += Σ_b δ e_gam;  dB += Σ_b δ E_B
    """
    e_lam *= lam
    e_lam += hc
    e_gam *= lam
    e_gam += bu
    E_B *= lam[None, :, None]
    E_B += gam[None, :, None] * u[:, None, :]
    s_lam += (delta * e_lam).sum(0)
    s_gam += (delta * e_gam).sum(0)
    dB += np.einsum("bn,bnh->nh", delta, E_B)


def snap1_outer(G, J, a, pre, unit, src, c, grad):
    """SnAp-1 / RFLO traces of a one-slot cell whose immediate influence is an outer product.

    Batch-minor layout (the batch is the contiguous axis, so the update vectorises over it):
    G (P, B) one trace per active parameter p, writing to unit[p] with presynaptic row src[p];
    J, a, c (U, B); pre (K, B):
        G[p, b] ← J[unit[p], b] G[p, b] + a[unit[p], b] pre[src[p], b]
        grad[p] += Σ_b c[unit[p], b] G[p, b]
    """
    G *= J[unit]
    G += a[unit] * pre[src]
    grad += (c[unit] * G).sum(1)


def eprop_traces(psi, psi_prev, pre, ev, ea, eb, L, R, beta, alpha, rho, kappa, first_alif, grad):
    """One e-prop step for one presynaptic population (inputs or recurrent spikes).

    psi (B, n) this step's pseudo-derivatives; psi_prev (B, n_alif) the last step's (ALIF rows);
    pre (B, K) presynaptic values; state ev (B, K) = ε^v (per presynaptic neuron), ea (B, n_alif, K)
    = ε^a, eb (B, n, K) κ-filtered e (size 0: no filter); L (B, n) learning signal (multiplies ē,
    or e without the filter); R (B, n) regulariser signal (multiplies e) or size 0; beta (n,).
    Neurons first_alif … n−1 are ALIF. grad (n, K) += the step's gradient.
    """
    al = slice(first_alif, psi.shape[1])
    pp = psi_prev[:, :, None]
    if ea.shape[1]:
        ea *= rho - beta[al][None, :, None] * pp
        ea += pp * ev[:, None, :]
    ev *= alpha
    ev += pre
    e = psi[:, :, None] * ev[:, None, :]
    if ea.shape[1]:
        e[:, al] -= (psi[:, al] * beta[al])[:, :, None] * ea
    if eb.size:
        eb *= kappa
        eb += e
        grad += np.einsum("bj,bji->ji", L, eb)
    else:
        grad += np.einsum("bj,bji->ji", L, e)
    if R.size:
        grad += np.einsum("bj,bji->ji", R, e)


def lif_step(v, a, z, r, current, beta, alpha, rho, v_th, gamma_pd, n_ref, psi):
    """LIF/ALIF neurons, one step, in place (``current`` = W_in x_t + W_rec z_{t−1}):

    v ← α v + current − v_th z;  a ← ρ a + z;  s = (v − v_th − β a)/v_th
    z ← H(s) unless refractory;  ψ = γ_pd/v_th · max(0, 1 − |s|) (0 if refractory)
    r ← n_ref after a spike, else max(r − 1, 0)
    """
    v *= alpha
    v += current - v_th * z
    a *= rho
    a += z
    s = (v - v_th - beta * a) / v_th
    free = r == 0
    z[...] = (s > 0) & free
    psi[...] = (gamma_pd / v_th) * np.maximum(0.0, 1.0 - np.abs(s)) * free
    r[...] = np.where(z > 0, n_ref, np.maximum(r - 1, 0))


def rnn_step(h, pre_act, alpha, phi):
    """Leaky tanh RNN, one step, in place: φ = tanh(pre_act) (kept for the VJP); h ← (1 − α) h + α φ."""
    phi[...] = np.tanh(pre_act)
    h *= 1 - alpha
    h += alpha * phi


def gru_step(ar, az, an, hn, h, r, z, n):
    """GRU gates from their pre-activations, in place (PyTorch form):
    r = σ(ar), z = σ(az), n = tanh(an + r ⊙ hn), h ← (1 − z) ⊙ n + z ⊙ h."""
    r[...] = 1 / (1 + np.exp(-ar))
    z[...] = 1 / (1 + np.exp(-az))
    n[...] = np.tanh(an + r * hn)
    h *= z
    h += (1 - z) * n


def rtrl_traces(G, a, pre, unit, src, c, grad):
    """RTRL after G ← J G (done by BLAS): add the immediate influence M, an outer product per unit
    (G[b, unit[p], p] += a[b, unit[p]] pre[b, src[p]]), and grad[p] += Σ_b Σ_i c[b, i] G[b, i, p].
    G (B, n, P), a and c (B, n), pre (B, K)."""
    cols = np.arange(G.shape[2])
    G[:, unit, cols] += a[:, unit] * pre[:, src]
    grad += np.einsum("bi,bip->p", c, G)


def snapn_traces(vals, J, a, pre, unit, src, rows, cols, colptr, col_entries, c, grad):
    """SnAp-n on its pattern: vals (B, E) hold G at the kept entries (rows[e], cols[e]);
    new = (J G + M) at the kept entries (M as in ``rtrl_traces``); grad[p] += Σ_b Σ_e c[b, rows[e]]
    new[b, e] over the entries of column p. ``colptr``/``col_entries`` (entries grouped by column)
    are for the twin; this reference uses a dense temporary."""
    B, n = a.shape
    dense = np.zeros((B, n, unit.size), vals.dtype)
    dense[:, rows, cols] = vals
    dense = np.matmul(J, dense)
    dense[:, unit, np.arange(unit.size)] += a[:, unit] * pre[:, src]
    vals[...] = dense[:, rows, cols]
    grad += np.bincount(cols, weights=(c[:, rows] * vals).sum(0), minlength=unit.size).astype(grad.dtype)


def uoro_update(v, w, u, nu, q, c, eps, equalize, grad):
    """UORO's rank-one update per (sample, pair), in place, and its gradient estimate:
    ρ0 = sqrt((‖w‖ + ε)/(‖u‖ + ε)), ρ1 = sqrt((‖q‖ + ε)/(‖ν‖ + ε)) (1 if not ``equalize``),
    v ← ρ0 u + ρ1 ν, w ← w/ρ0 + q/ρ1, grad += Σ_b Σ_k (c_b · v_bk) w_bk / k.
    v, u, nu (B, k, n); w, q (B, k, P); c (B, n)."""
    if equalize:
        rho0 = np.sqrt(
            (np.linalg.norm(w, axis=-1, keepdims=True) + eps) / (np.linalg.norm(u, axis=-1, keepdims=True) + eps)
        )
        rho1 = np.sqrt(
            (np.linalg.norm(q, axis=-1, keepdims=True) + eps) / (np.linalg.norm(nu, axis=-1, keepdims=True) + eps)
        )
    else:
        rho0 = rho1 = np.ones(v.shape[:2] + (1,), v.dtype)
    v[...] = rho0 * u + rho1 * nu
    w /= rho0
    w += q / rho1
    s = np.einsum("bn,bkn->bk", c, v) / v.shape[1]
    grad += np.einsum("bk,bkp->p", s, w)


def lru_step(lam, gam, h, bu):
    """LRU recurrence, one step, in place: h ← λ ⊙ h + γ ⊙ (B u); h, bu (B, N) complex."""
    h *= lam
    h += gam * bu

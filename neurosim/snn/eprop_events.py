"""e-prop (Bellec et al. 2020, Nat. Commun. 11:3625) event by event: the gradient of the dense rule
``rules.eprop.EProp`` on the LIF/ALIF networks of ``models.spiking``, computed as a chip would,
with the work driven by presynaptic events and by the neurons whose ψ or L is nonzero.

The dense rule, per sample and synapse j ← i (pre_i^t = x_i^t for W_in, z_i^{t−1} for W_rec):

    z̄_i^t = α z̄_i^{t−1} + pre_i^t                                     (per presynaptic neuron)
    ε^a_ji^t = ψ_j^{t−1} z̄_i^{t−1} + (ρ − β_j ψ_j^{t−1}) ε^a_ji^{t−1}   (ALIF rows)
    e_ji^t = ψ_j^t (z̄_i^t − β_j ε^a_ji^t),   ē_ji^t = κ ē_ji^{t−1} + e_ji^t   (``filter``)
    G_ji = Σ_t L_j^t ē_ji^t + R_j^t e_ji^t    (without ``filter``: Σ_t (L_j^t + R_j^t) e_ji^t)

Event form. Time is cut into epochs of K steps; in the epoch that starts at t0:

* z̄_i is stored with the step of its last update and decayed lazily, z̄_i ← α^(t − t_last) z̄_i,
  when an event touches it: a presynaptic event (z̄_i += pre) or the read at the epoch's end.
  Between events z̄_i^t = α^{t−t0} Z_i with Z_i = z̄_i α^{t0−t_last} constant: an event of i
  at t adds ΔZ_i = pre · α^{t0−t}.
* Per neuron j (a "row": a few numbers, updated only at the steps where ψ_j ≠ 0, or L_j ≠ 0
  with ``filter``): Φ_j^t = Π_{t0≤r<t} (ρ − β_j ψ_j^r), A_j^t = Σ_{t0≤u<t} ψ_j^u α^{u−t0} / Φ_j^{u+1},
  u_j^t = ψ_j^t (α^{t−t0} − β_j Φ_j^t A_j^t), v_j^t = β_j ψ_j^t Φ_j^t, U_j^t = Σ_{u≤t} κ^{t0−u} u_j^u,
  V_j^t = Σ_{u≤t} κ^{t0−u} v_j^u and the prefix sums F1 = Σ r1, F2 = Σ r2, F3 = Σ L κ^{t−t0} with
  r1 = L κ^{t−t0} U + R u, r2 = L κ^{t−t0} V + R v (``filter``), r1 = (L + R) u, r2 = (L + R) v (not).
* Per synapse (ALIF rows, ``filter``; the dense rule's ε^a, ē rebased) two accumulators that
  change only at events of i: Ca_ji += ΔZ_i A_j, Cb_ji += ΔZ_i U_j + ΔCa_ji V_j. Then
  ε^a_ji^t = Φ_j^t (Z_i A_j^t − Ca_ji), ē_ji^t = κ^{t−t0} (Z_i U_j^t + Ca_ji V_j^t − Cb_ji) and
  e_ji^t = Z_i u_j^t + Ca_ji v_j^t.

G is then a sum over t of (a per-synapse number that only jumps at events) × (a row number), and
summation by parts (Abel) turns it into work at events and once per epoch:

    at an event of i:        G_ji −= ΔZ_i F1_j + ΔCa_ji F2_j − ΔCb_ji F3_j   (F's of the step before)
    at the epoch's end:      G_ji += Z_i F1_j + Ca_ji F2_j − Cb_ji F3_j, and ε^a, ē carried on.

Exact, with one dense term: the flush at each epoch's end visits every synapse of every
presynaptic neuron that has fired (n_active · n_post; a chip applies its weight update there).
Without it the rebased numbers would grow like (α κ Φ)^{−k} and the cancellation cost precision:
``epoch`` defaults to the largest K with that growth ≤ ``GROWTH_MAX`` = 2^8 (about 1e-13
relative; ``epoch_length``). A LIF network without ``filter`` stores z̄ per presynaptic neuron
and a few numbers per neuron only (as the dense rule, n + m per sample); ALIF rows and ``filter``
store Ca, Cb per synapse (the dense rule's ε^a and ē). The readout's W_out runs through the same
kernel (rows = outputs, ψ = 1, L = ∂ℓ/∂y, decay κ, pre = z^t; κ = 0: epochs of one step); its
bias b = Σ_t ∂ℓ/∂y^t · (κ-filtered 1) is n_out numbers a step.

The forward pass (the network's own simulation: ψ^t, z^t, y^t) is the model's; L and R are the
dense rule's (``feedback``, ``reg_*``). Arithmetic is float64 (a float32 model agrees with the
dense rule to float32 precision). Every numba kernel has its numpy twin: ``events_kernel`` and
``events_reference`` (vectorised over the fan-out), tested equal.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import losses
from .._errors import bad, check_choice, check_positive_int
from ..kernels.config import BACKENDS, FLAGS
from ..kernels.config import backend as default_backend
from ..rules.eprop import EProp

GROWTH_MAX = 2.0**8  # the largest growth of the rebased numbers within an epoch (bits lost ≈ 8)
SUPPORTED_OPTIONS = ("feedback", "seed", "filter", "reg_coeff", "reg_rate", "reg_tau", "feedback_matrix")
# counts[k] of one kernel call
COUNTS = (
    "pre_events",
    "trace_decays",
    "trace_reads",
    "row_events",
    "synapse_event_ops",
    "synapse_flush_ops",
    "flushes",
)
# opts[4]: the lazy decay's exponent. 0: t − t_last (exact); 1: t − t_last − 1 and 2: no decay,
# the negative controls of the tests (never used by ``eprop_gradient_events``).
DECAY_EXACT, DECAY_LAG, DECAY_NONE = 0, 1, 2


@numba.njit(**FLAGS)
def _decay(pw, gap, mode):
    """α^gap from the table (α^−1 for the lagged control's gap 0)."""
    if mode == DECAY_EXACT:
        return pw[0, gap]
    if mode == DECAY_LAG:
        return pw[0, gap - 1] if gap >= 1 else pw[1, 1]
    return 1.0


@numba.njit(**FLAGS)
def events_kernel(pre, post, beta, pw, opts, grad, counts):
    """One presynaptic population through the sequence, event by event (see the module).

    pre (T, B, K) presynaptic values (nonzero = an event); post (T, B, 3, n): ψ, L, R per neuron;
    beta (n,); pw (5, T + 2): α^k, α^−k, κ^k, κ^−k, ρ^k; opts: first ALIF row, filter (0/1),
    epoch K, no autapses (0/1: K = n, synapse j ← j absent), decay mode. grad (n, K) += G;
    counts (7,) += the events, named by ``COUNTS``.
    """
    T, B, K = pre.shape
    n = post.shape[3]
    first, filt, epoch, autapse, mode = opts[0], opts[1], opts[2], opts[3], opts[4]
    rho = pw[4, 1]
    pure = filt == 0 and first >= n  # LIF without filter: no per-synapse state
    for b in range(B):
        zbar = np.zeros(K)
        last = np.zeros(K, np.int64)
        active = np.zeros(K, np.bool_)
        ca = np.zeros((n, K))
        cb = np.zeros((n, K))
        rows = np.zeros((7, n))  # Φ̃ (Φ = ρ^{t−t0} Φ̃), A, U, V, F1, F2, F3
        rows[0] = 1.0
        t0 = 0
        for t in range(T + 1):
            if t == T or t - t0 == epoch:  # 3. flush the epoch t0 … t − 1
                te = t - 1
                k = te - t0
                for i in range(K):
                    if not active[i]:
                        continue
                    zt = zbar[i] * _decay(pw, te - last[i], mode)
                    zbar[i] = zt
                    last[i] = te
                    counts[1] += 1
                    counts[2] += 1
                    if pure and zt == 0.0:
                        active[i] = False
                        continue
                    z = zt * pw[1, k]
                    for j in range(n):
                        if autapse and j == i:
                            continue
                        g = z * rows[4, j]
                        c = 0.0
                        if j >= first:
                            c = ca[j, i]
                            g += c * rows[5, j]
                        if filt:
                            g -= cb[j, i] * rows[6, j]
                        grad[j, i] += g
                        counts[5] += 1
                        if t < T:  # carry ē and ε^a into the next epoch
                            if filt:
                                cb[j, i] = -pw[2, k + 1] * (z * rows[2, j] + c * rows[3, j] - cb[j, i])
                            if j >= first:
                                ca[j, i] = -pw[4, k + 1] * rows[0, j] * (z * rows[1, j] - c)
                counts[6] += 1
                if t == T:
                    break
                t0 = t
                rows[:] = 0.0
                rows[0] = 1.0
            k = t - t0
            for i in range(K):  # 1. the presynaptic events of step t
                p = pre[t, b, i]
                if p == 0.0:
                    continue
                zbar[i] = zbar[i] * _decay(pw, t - last[i], mode) + p
                last[i] = t
                active[i] = True
                counts[0] += 1
                counts[1] += 1
                dz = p * pw[1, k]
                for j in range(n):
                    if autapse and j == i:
                        continue
                    g = -dz * rows[4, j]
                    dca = 0.0
                    if j >= first:
                        dca = dz * rows[1, j]
                        g -= dca * rows[5, j]
                        ca[j, i] += dca
                    if filt:
                        dcb = dz * rows[2, j] + dca * rows[3, j]
                        g += dcb * rows[6, j]
                        cb[j, i] += dcb
                    grad[j, i] += g
                    counts[4] += 1
            for j in range(n):  # 2. the rows of step t: neurons with ψ ≠ 0 (or L ≠ 0 with filter)
                psi = post[t, b, 0, j]
                sig = post[t, b, 1, j]
                reg = post[t, b, 2, j]
                if psi == 0.0 and (filt == 0 or sig == 0.0):
                    continue
                counts[3] += 1
                phi = pw[4, k] * rows[0, j]
                u = psi * pw[0, k]
                v = 0.0
                if j >= first:
                    u = psi * (pw[0, k] - beta[j] * phi * rows[1, j])
                    v = beta[j] * psi * phi
                if filt:
                    rows[2, j] += pw[3, k] * u
                    rows[3, j] += pw[3, k] * v
                    lk = sig * pw[2, k]
                    rows[4, j] += lk * rows[2, j] + reg * u
                    rows[5, j] += lk * rows[3, j] + reg * v
                    rows[6, j] += lk
                else:
                    rows[4, j] += (sig + reg) * u
                    rows[5, j] += (sig + reg) * v
                if j >= first and psi != 0.0:
                    rows[0, j] *= (rho - beta[j] * psi) / rho
                    rows[1, j] += psi * pw[0, k] / (pw[4, k + 1] * rows[0, j])


class _Twin:
    """``events_kernel``'s state for one sample, in numpy: the same arithmetic in the same order,
    vectorised over the postsynaptic neurons (where a step skips a neuron, ``np.where`` keeps it)."""

    def __init__(self, n, K, beta, pw, opts):
        self.first, self.filt, self.epoch, self.autapse, self.mode = (int(o) for o in opts)
        self.beta, self.pw = beta, pw
        self.alif = np.arange(n) >= self.first
        self.pure = not self.filt and self.first >= n
        self.zbar, self.last, self.active = np.zeros(K), np.zeros(K, np.int64), np.zeros(K, bool)
        self.ca, self.cb = np.zeros((n, K)), np.zeros((n, K))
        self.new_epoch()

    def new_epoch(self):
        self.rows = np.zeros((7, self.alif.size))
        self.rows[0] = 1.0

    def decay(self, gap):
        pw = self.pw
        if self.mode == DECAY_EXACT:
            return pw[0, gap]
        if self.mode == DECAY_LAG:
            return np.where(gap >= 1, pw[0, np.maximum(gap - 1, 0)], pw[1, 1])
        return np.ones(np.shape(gap))

    def fan(self, idx):
        """(n, len(idx)): the synapses j ← i that exist."""
        fan = np.ones((self.alif.size, len(idx)), bool)
        if self.autapse:
            fan[idx, np.arange(len(idx))] = False
        return fan

    def flush(self, te, k, carry, grad, counts):
        pw, rows, al = self.pw, self.rows, self.alif[:, None]
        idx = np.flatnonzero(self.active)
        zt = self.zbar[idx] * self.decay(te - self.last[idx])
        self.zbar[idx], self.last[idx] = zt, te
        counts[1:3] += idx.size
        if self.pure:
            self.active[idx[zt == 0.0]] = False
            idx, zt = idx[zt != 0.0], zt[zt != 0.0]
        z = zt * pw[1, k]
        fan = self.fan(idx)
        g = z * rows[4][:, None]
        c = np.where(al, self.ca[:, idx], 0.0)
        g = np.where(al, g + c * rows[5][:, None], g)
        if self.filt:
            g = g - self.cb[:, idx] * rows[6][:, None]
        grad[:, idx] += np.where(fan, g, 0.0)
        counts[5] += fan.sum()
        if carry:
            if self.filt:
                eb = -pw[2, k + 1] * (z * rows[2][:, None] + c * rows[3][:, None] - self.cb[:, idx])
                self.cb[:, idx] = np.where(fan, eb, self.cb[:, idx])
            ea = -pw[4, k + 1] * rows[0][:, None] * (z * rows[1][:, None] - c)
            self.ca[:, idx] = np.where(fan & al, ea, self.ca[:, idx])
        counts[6] += 1

    def events(self, pre_t, t, k, grad, counts):
        pw, rows, al = self.pw, self.rows, self.alif
        for i in np.flatnonzero(pre_t):
            p = pre_t[i]
            self.zbar[i] = self.zbar[i] * self.decay(t - self.last[i]) + p
            self.last[i], self.active[i] = t, True
            counts[0:2] += 1
            dz = p * pw[1, k]
            fan = self.fan([i])[:, 0]
            g = -dz * rows[4]
            dca = np.where(al, dz * rows[1], 0.0)
            g = np.where(al, g - dca * rows[5], g)
            self.ca[:, i] += np.where(fan & al, dca, 0.0)
            if self.filt:
                dcb = dz * rows[2] + dca * rows[3]
                g = g + dcb * rows[6]
                self.cb[:, i] += np.where(fan, dcb, 0.0)
            grad[:, i] += np.where(fan, g, 0.0)
            counts[4] += fan.sum()

    def step_rows(self, post_t, k, counts):
        pw, rows, al, beta = self.pw, self.rows, self.alif, self.beta
        psi, sig, reg = post_t
        on = (psi != 0.0) | (bool(self.filt) & (sig != 0.0))
        counts[3] += on.sum()
        phi = pw[4, k] * rows[0]
        u = np.where(al, psi * (pw[0, k] - beta * phi * rows[1]), psi * pw[0, k])
        v = np.where(al, beta * psi * phi, 0.0)
        new = rows.copy()
        if self.filt:
            new[2] = rows[2] + pw[3, k] * u
            new[3] = rows[3] + pw[3, k] * v
            lk = sig * pw[2, k]
            new[4] = rows[4] + (lk * new[2] + reg * u)
            new[5] = rows[5] + (lk * new[3] + reg * v)
            new[6] = rows[6] + lk
        else:
            new[4] = rows[4] + (sig + reg) * u
            new[5] = rows[5] + (sig + reg) * v
        if al.any():  # ALIF rows (a LIF model has ρ = 0)
            adapt = al & (psi != 0.0)
            new[0] = np.where(adapt, rows[0] * ((pw[4, 1] - beta * psi) / pw[4, 1]), rows[0])
            new[1] = np.where(adapt, rows[1] + psi * pw[0, k] / (pw[4, k + 1] * new[0]), rows[1])
        rows[:] = np.where(on, new, rows)


def events_reference(pre, post, beta, pw, opts, grad, counts):
    """The numpy twin of ``events_kernel`` (same arguments, same results)."""
    T, B, K = pre.shape
    for b in range(B):
        tw = _Twin(post.shape[3], K, beta, pw, opts)
        t0 = 0
        for t in range(T + 1):
            if t == T or t - t0 == tw.epoch:
                tw.flush(t - 1, t - 1 - t0, t < T, grad, counts)
                if t == T:
                    break
                t0 = t
                tw.new_epoch()
            tw.events(pre[t, b], t, t - t0, grad, counts)
            tw.step_rows(post[t, b], t - t0, counts)


def alif_floor(model) -> float:
    """ρ − β γ_pd / v_th: the smallest factor ρ − β ψ of ε^a (ψ ≤ γ_pd / v_th); must be > 0."""
    return model.rho - model.beta_value * model.gamma_pd / model.v_th


def epoch_length(model, rule: EProp) -> int:
    """The default epoch: the largest K whose growth (1/α · 1/κ with filter · 1/(ρ − βψ_max) with
    ALIF neurons)^K stays ≤ ``GROWTH_MAX``."""
    growth = 1.0 / model.alpha
    if rule.filter and model.kappa > 0:
        growth /= model.kappa
    if model.n_alif:
        growth /= alif_floor(model)
    return max(1, int(math.log(GROWTH_MAX) / math.log(growth)))


def _tables(alpha: float, kappa: float, rho: float, T: int) -> np.ndarray:
    k = np.arange(T + 2, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):  # 0^−k for k ≥ 1 is never read (epoch 1)
        return np.stack([alpha**k, alpha**-k, kappa**k, kappa**-k, rho**k])


def _check(model, rule, backend, epoch):
    if not getattr(model, "spiking", False) or getattr(model, "kind", None) not in EProp.models:
        kind = getattr(model, "kind", type(model).__name__)
        raise bad("model", kind, "a spiking model, 'lif' or 'alif' (ns.models.make): e-prop event by event")
    rule = EProp() if rule is None else rule
    supported = "ns.rules.make('eprop', ...) with any of its options: " + ", ".join(SUPPORTED_OPTIONS)
    if type(rule) is not EProp:
        raise bad("rule", rule, f"an e-prop rule, {supported}")
    extra = sorted(set(getattr(rule, "options", {})) - {"name", *SUPPORTED_OPTIONS})
    if extra:
        raise bad("rule", rule, f"options {', '.join(SUPPORTED_OPTIONS)} on the event-driven path, not {extra}")
    if model.n_alif and alif_floor(model) <= 0:
        limit = model.rho * model.v_th / model.gamma_pd
        raise bad("beta", model.beta_value, f"beta < rho·v_th/gamma_pd = {limit:.4g} for e-prop event by event")
    backend = check_choice("backend", default_backend() if backend is None else backend, BACKENDS)
    epoch = None if epoch is None else check_positive_int("epoch", epoch)
    return rule, backend, epoch


def _signals(model, params, rule: EProp, xs, ys, loss, mask):
    """The forward pass and the dense rule's signals: z (T, B, n), ψ, L, R (T, B, 3, n), ∂ℓ/∂y."""
    T, B = xs.shape[:2]
    state = model.initial_state(B)
    fb = params["dec.W"] if rule.feedback == "symmetric" else rule.feedback_matrix(model)
    rate = np.full(model.n, rule.reg_rate * model.dt / 1000.0, model.dtype)
    z, post, dys = np.zeros((T, B, model.n)), np.zeros((T, B, 3, model.n)), np.zeros((T, B, model.n_out))
    for t in range(T):
        state, y, cache = model.forward(params, state, model.check_input(xs[t]))
        _, dy = losses.get(loss)(y, np.asarray(ys[t], y.dtype), None if mask is None else mask[t])
        z[t], post[t, :, 0], post[t, :, 1], dys[t] = state.z, cache[2], dy @ fb, dy
        if rule.reg_coeff > 0:  # the dense rule's running rate, the same expression
            lam = 1.0 / rule.reg_tau
            rate = (1 - lam) * rate + lam * state.z.mean(0)
            post[t, :, 2] = rule.reg_coeff * (rate - rule.reg_rate * model.dt / 1000.0) / B
            rate = rate.astype(model.dtype)
    return z, post, dys


def eprop_gradient_events(
    model, params, xs, ys, rule: EProp | None = None, *, loss="mse", mask=None, epoch=None, backend=None
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Σ_t of e-prop's gradient over one batch of sequences, event by event (see the module):
    equal to ``ns.rules.total_gradient(rule, model, params, xs, ys, loss, mask)``.

    ``rule``: ``ns.rules.make("eprop", ...)`` (default: its defaults; every option supported);
    ``xs`` (T, B, n_in), ``ys`` (T, B, n_out), ``mask`` None, (T,) or (T, B); ``epoch``: steps
    between flushes (default ``epoch_length``); ``backend``: "numba" | "numpy" (default: the
    package's). Returns (grads, counts): counts are summed over the batch and both presynaptic
    populations; ``readout_*`` the same for W_out; ``dense_*`` what the dense rule does.
    """
    rule, backend, epoch = _check(model, rule, backend, epoch)
    from ..rules import check_sequence

    xs, ys, mask = check_sequence(model, xs, ys, mask)
    T, B = xs.shape[:2]
    if T == 0:
        raise bad("xs", xs.shape, "at least one step")
    z, post, dy = _signals(model, params, rule, xs, ys, loss, mask)
    run = events_kernel if backend == "numba" else events_reference
    n, m, filt = model.n, model.n_in, bool(rule.filter and model.kappa > 0)
    pw = _tables(model.alpha, model.kappa, model.rho, T)
    opts = np.array([n - model.n_alif, filt, epoch or epoch_length(model, rule), 0, DECAY_EXACT], np.int64)
    beta = model.beta.astype(float)
    g_in, g_rec, c_in, c_rec = np.zeros((n, m)), np.zeros((n, n)), np.zeros(7, np.int64), np.zeros(7, np.int64)
    run(np.ascontiguousarray(xs, float), post, beta, pw, opts, g_in, c_in)
    z_prev = np.concatenate([np.zeros((1, B, n)), z[:-1]])
    opts[3] = 1
    run(z_prev, post, beta, pw, opts, g_rec, c_rec)
    g_out, c_out = _readout(model, z, dy, epoch, run)
    grads = {"layer0.W_in": g_in, "layer0.W_rec": g_rec, "dec.W": g_out}
    if model.readout_bias:
        grads["dec.b"] = _bias_gradient(model.kappa, dy)
    grads = {k: v.astype(model.dtype) for k, v in grads.items()}
    return grads, _counts(model, filt, T, B, (c_in, c_rec), c_out)


def _readout(model, z, dy, epoch, run):
    """∂E/∂W_out = Σ_t ∂ℓ/∂y^t ⊗ z̃^t with z̃ = κ-filtered spikes: the kernel with ψ = 1, L = ∂ℓ/∂y."""
    T, B, o = dy.shape
    post = np.stack([np.ones_like(dy), dy, np.zeros_like(dy)], axis=2)
    kappa = model.kappa
    auto = 1 if kappa == 0 else max(1, int(math.log(GROWTH_MAX) / -math.log(kappa)))
    opts = np.array([o, 0, epoch or auto, 0, DECAY_EXACT], np.int64)
    g, c = np.zeros((o, model.n)), np.zeros(7, np.int64)
    run(z, post, np.zeros(o), _tables(kappa, 0.0, 1.0, T), opts, g, c)
    return g, c


def _bias_gradient(kappa: float, dy: np.ndarray) -> np.ndarray:
    """Σ_t Σ_b ∂ℓ/∂y^t · b̃^t, b̃ = κ b̃ + 1: the dense rule's readout bias (n_out a step)."""
    g, bo = np.zeros(dy.shape[2]), 0.0
    for d in dy:
        bo = kappa * bo + 1.0 if kappa > 0 else 1.0
        g += d.sum(0) * bo
    return g


def _counts(model, filt: bool, T: int, B: int, c: tuple, c_out: np.ndarray) -> dict[str, int]:
    """The event counts (``COUNTS``; ``synapse_ops`` = event + flush visits of a synapse, a visit
    being 1–3 multiply-adds per stored number), summed over the two presynaptic populations but
    for ``row_events`` and ``flushes`` (one per neuron and step, one per epoch and sample: the
    populations share them), and the dense rule's counts, per step × T × B."""
    n, m, na, o = model.n, model.n_in, model.n_alif, model.n_out
    out = {name: int(a + b) for name, a, b in zip(COUNTS, *c)}
    out["row_events"], out["flushes"] = int(c[0][3]), int(c[0][6])
    out["synapse_ops"] = out["synapse_event_ops"] + out["synapse_flush_ops"]
    out.update({f"readout_{name}": int(v) for name, v in zip(COUNTS, c_out)})
    out["readout_synapse_ops"] = out["readout_synapse_event_ops"] + out["readout_synapse_flush_ops"]
    syn = n * (n + m)
    out["dense_pre_updates"] = T * B * (n + m)  # ε^v of every presynaptic source, every step
    out["dense_trace_reads"] = T * B * syn  # every e_ji reads ε^v_i
    out["dense_trace_decays"] = T * B * (n + m + (na + filt * n) * (n + m))  # + ε^a, ē per synapse
    out["dense_synapse_ops"] = T * B * syn  # e_ji and the gradient, per synapse and step
    out["dense_readout_synapse_ops"] = T * B * o * n
    return out

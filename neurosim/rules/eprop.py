"""e-prop (Bellec et al. 2020, Nat. Commun. 11:3625) for the LIF/ALIF networks of ``models.spiking``.

Per synapse j ← i (pre_i = x_i^t for W_in, z_i^{t−1} for W_rec), with the neuron's hidden state
(v_j, a_j) and the official convention that the reset's derivative is ignored:

    ε^v_ji,t = α ε^v_ji,t−1 + pre_i^t                  = z̄_i^t: the same for every j, stored per
                                                          presynaptic neuron (n + m values)
    ε^a_ji,t = ψ_j^{t−1} ε^v_ji,t−1 + (ρ − β ψ_j^{t−1}) ε^a_ji,t−1      (ALIF rows only)
    e_ji^t   = ψ_j^t (ε^v_ji,t − β_j ε^a_ji,t)
    ē_ji^t   = κ ē_ji^{t−1} + e_ji^t                    (``filter=True``: matches the leaky readout)
    L_j^t    = Σ_k B_jk ∂ℓ_t/∂y_k^t,  B = W_outᵀ ("symmetric") or fixed random ("random")
    ĝ(W)_ji  = Σ_b L_j^t ē_ji^t + R_j^t e_ji^t,   R_j^t = c_reg (f̄_j^t − f*·dt) / B

The readout gradients are exact and online: ∂E/∂W_out = Σ_t ∂ℓ_t/∂y^t ⊗ z̃^t with z̃ = κ-filtered
spikes, and likewise for b. The firing-rate regulariser (``reg_coeff`` c_reg, ``reg_rate`` f* in
Hz) pushes each neuron's running rate f̄_j (an exponential average of its batch-mean spikes per
step over ``reg_tau`` steps, starting at the target) towards f*; it is the gradient of
(c_reg / 2) Σ_t Σ_j (f̄_j^t − f*·dt)² with f̄ treated as the current step's rate.

Stored state (``state_spec``): ε^v per presynaptic neuron (n + m), ψ^{t−1} (n, ALIF only),
ε^a per ALIF synapse, ē per synapse when ``filter`` (LIF with ``filter=False`` stores only n + m,
plus the readout trace z̃ (n) when κ > 0). With symmetric feedback and ``filter=True`` the rule
equals BPTT on the same network with ``detach=("recurrent", "reset")`` (tested to 1e-12).

``exact_factorisation`` is the oracle of e-prop's eq. (1): Σ_t (dE/dz_j^t) e_ji^t with the
learning signal from BPTT and the exact eligibility (the reset's derivative included unless the
model detaches it) equals the BPTT gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import kernels, losses
from .._errors import bad, check_choice, check_float
from .base import ArraySpec, Rule, RuleState


class EPropTraces(NamedTuple):
    ev_in: np.ndarray  # (B, m)   ε^v of the input synapses (per presynaptic input)
    ev_rec: np.ndarray  # (B, n)  ε^v of the recurrent synapses (per presynaptic neuron)
    psi: np.ndarray  # (B, n_alif)  ψ^{t−1} of the ALIF neurons
    ea_in: np.ndarray  # (B, n_alif, m)
    ea_rec: np.ndarray  # (B, n_alif, n)
    eb_in: np.ndarray  # (B, n, m) κ-filtered e (size 0 without ``filter``)
    eb_rec: np.ndarray  # (B, n, n)
    zo: np.ndarray  # (B, n) κ-filtered spikes for W_out (size 0 when κ = 0)
    bo: np.ndarray  # () κ-filtered 1 for the readout bias
    rate: np.ndarray  # (n,) running batch-mean spikes per step (regulariser)


class EProp(Rule):
    name = "eprop"
    models = ("lif", "alif")

    def __init__(
        self,
        feedback: str = "symmetric",
        seed: int = 0,
        filter: bool = True,
        reg_coeff: float = 0.0,
        reg_rate: float = 10.0,
        reg_tau: float = 200.0,
        feedback_matrix=None,
    ):
        self.feedback = check_choice("feedback", feedback, ("symmetric", "random"))
        self.seed = int(seed)
        if not isinstance(filter, bool):
            raise bad("filter", filter, "True or False")
        self.filter = filter
        self.reg_coeff = check_float("reg_coeff", reg_coeff, 0.0)
        self.reg_rate = check_float("reg_rate", reg_rate, 0.0)
        self.reg_tau = check_float("reg_tau", reg_tau, 1.0)
        self.B = None if feedback_matrix is None else np.asarray(feedback_matrix)
        if self.B is not None and self.feedback != "random":
            raise bad("feedback_matrix", "an array", "None unless feedback='random'")

    def feedback_matrix(self, model) -> np.ndarray:
        """The fixed random B (n_out × n), N(0, 1/n), used in place of W_out."""
        if self.B is not None:
            if self.B.shape != (model.n_out, model.n):
                raise bad("feedback_matrix", self.B.shape, f"an array of shape ({model.n_out}, {model.n})")
            return self.B.astype(model.dtype)
        rng = np.random.default_rng([self.seed, 4242])
        return rng.normal(0, 1 / np.sqrt(model.n), (model.n_out, model.n)).astype(model.dtype)

    def init(self, model, params, batch_size):
        self.check_model(model)
        B, n, m, na, dt = batch_size, model.n, model.n_in, model.n_alif, model.dtype
        z = lambda *s: np.zeros((B, *s), dt)  # noqa: E731
        filt = self.filter
        tr = EPropTraces(
            z(m),
            z(n),
            z(na),
            z(na, m),
            z(na, n),
            z(n if filt else 0, m if filt else 0),
            z(n if filt else 0, n if filt else 0),
            z(n if model.kappa > 0 else 0),
            np.zeros(() if self._keeps_bo(model) else (0,), dt),
            np.full(n if self.reg_coeff > 0 else 0, self.reg_rate * model.dt / 1000.0, dt),
        )
        return RuleState(model.initial_state(batch_size), (tr,))

    def step(self, model, params, state, x_t, y_t, *, loss="mse", mask_t=None):
        x = model.check_input(x_t)
        tr: EPropTraces = state.traces[0]
        z_prev = state.model.z
        ms, y, cache = model.forward(params, state.model, x)
        loss_t, dy = losses.get(loss)(y, np.asarray(y_t, y.dtype), mask_t)
        psi = cache[2]
        al = model.alif
        rho, alpha, kappa = model.rho, model.alpha, model.kappa

        Bfb = params["dec.W"] if self.feedback == "symmetric" else self.feedback_matrix(model)
        L = dy @ Bfb
        rate = tr.rate
        R = np.zeros((x.shape[0], 0), y.dtype)
        if self.reg_coeff > 0:
            lam = 1.0 / self.reg_tau
            rate = (1 - lam) * rate + lam * ms.z.mean(0)
            R = np.broadcast_to(self.reg_coeff * (rate - self.reg_rate * model.dt / 1000.0) / x.shape[0], L.shape)
        # One fused pass per presynaptic population (inputs, recurrent spikes): ε^a from ψ^{t−1}
        # and ε^v_{t−1}, then ε^v, e = ψ(ε^v − β ε^a), ē = κ ē + e, and the gradient Σ_b L ē + R e.
        g_in = np.zeros((model.n, model.n_in), y.dtype)
        g_rec = np.zeros((model.n, model.n), y.dtype)
        first = model.n - model.n_alif
        for pre, ev, ea, eb, g in (
            (x, tr.ev_in, tr.ea_in, tr.eb_in, g_in),
            (z_prev, tr.ev_rec, tr.ea_rec, tr.eb_rec, g_rec),
        ):
            kernels.eprop_traces(psi, tr.psi, pre, ev, ea, eb, L, R, model.beta, alpha, rho, kappa, first, g)

        if model.kappa > 0:
            zo = kappa * tr.zo + ms.z
            bo = kappa * tr.bo + 1.0
        else:
            zo, bo = ms.z, np.ones((), y.dtype)
        grads = {
            "layer0.W_in": g_in,
            "layer0.W_rec": g_rec * model.no_autapse,
            "dec.W": dy.T @ zo,
        }
        if model.readout_bias:
            grads["dec.b"] = dy.sum(0) * bo
        new = EPropTraces(
            tr.ev_in,
            tr.ev_rec,
            np.ascontiguousarray(psi[:, al]),
            tr.ea_in,
            tr.ea_rec,
            tr.eb_in,
            tr.eb_rec,
            zo if model.kappa > 0 else tr.zo,
            np.asarray(bo, y.dtype) if tr.bo.ndim == 0 else tr.bo,
            rate.astype(y.dtype),
        )
        return RuleState(ms, (new,)), grads, loss_t

    def op_counts(self, model):
        """e-prop: the learning signal is B·δ (n · n_out MACs, no backprop through the network);
        the traces update their stored elements and the gradient is an outer product ψ ⊗ ε over
        the input and recurrent synapses (n · (n + m) MACs) every step."""
        elems = self.memory_floats(model)
        return [
            {
                "error": {"mac": model.n * model.n_out},
                "trace": {"trace_update": elems, "mac": model.n * (model.n + model.n_in)},
            }
        ]

    def error_messages(self, model):
        """e-prop's learning signal is B·δ at each neuron: the readout broadcasts its errors."""
        return ("broadcast",)

    def state_spec(self, model):
        n, m, na = model.n, model.n_in, model.n_alif
        # ε^v is per presynaptic source (the inputs, the layer's own spikes): every core holding
        # units of the layer keeps its own copy. The ALIF-only arrays start at the first ALIF unit.
        out = [ArraySpec("ev_in", 0, (m,), "neuron", owner="pre"), ArraySpec("ev_rec", 0, (n,), "neuron", owner="pre")]
        if na:
            first = n - na
            out += [
                ArraySpec("psi", 0, (na,), "neuron", offset=first),
                ArraySpec("ea_in", 0, (na, m), "synapse", offset=first),
                ArraySpec("ea_rec", 0, (na, n), "synapse", offset=first),
            ]
        if self.filter:
            out += [ArraySpec("eb_in", 0, (n, m), "synapse"), ArraySpec("eb_rec", 0, (n, n), "synapse")]
        if model.kappa > 0:
            out.append(ArraySpec("zo", 0, (n,), "neuron"))
        # shared by the batch: the readout bias's κ-filtered 1 (one per layer, when there is a
        # bias and a leaky readout) and each neuron's running batch-mean rate (the regulariser's)
        if self._keeps_bo(model):
            out.append(ArraySpec("bo", 0, (), "neuron", owner="shared", per_sample=False))
        if self.reg_coeff > 0:
            out.append(ArraySpec("rate", 0, (n,), "neuron", per_sample=False))
        return out

    @staticmethod
    def _keeps_bo(model) -> bool:
        return bool(model.readout_bias) and model.kappa > 0


def exact_eligibility(model, params, xs: np.ndarray, reset: bool | None = None):
    """The exact eligibility traces e^t (T, B, n, m) and (T, B, n, n) of e-prop's eq. (1).

    The neuron's own dynamics ∂h^t/∂h^{t−1} include the reset's derivative unless ``reset`` is
    False (default: included unless the model detaches it). O(T·B·n·(n+m)) memory: an oracle.
    """
    reset = ("reset" not in model.detach) if reset is None else reset
    T, B = xs.shape[:2]
    n, m, dt = model.n, model.n_in, model.dtype
    beta, rho, alpha, vth = model.beta[None, :, None], model.rho, model.alpha, model.v_th
    state = model.initial_state(B)
    ev = [np.zeros((B, n, m), dt), np.zeros((B, n, n), dt)]
    ea = [np.zeros((B, n, m), dt), np.zeros((B, n, n), dt)]
    psi_prev = np.zeros((B, n), dt)
    out_in, out_rec = [], []
    for t in range(T):
        z_prev = state.z
        state, _, cache = model.forward(params, state, xs[t].astype(dt))
        psi = cache[2]
        pp = psi_prev[:, :, None]
        r = vth * pp if reset else 0.0
        es = []
        for k, pre in enumerate((xs[t].astype(dt), z_prev)):
            v_new = (alpha - r) * ev[k] + r * beta * ea[k] + pre[:, None, :]
            a_new = pp * ev[k] + (rho - beta * pp) * ea[k]
            ev[k], ea[k] = v_new, a_new
            es.append(psi[:, :, None] * (v_new - beta * a_new))
        out_in.append(es[0])
        out_rec.append(es[1] * model.no_autapse)
        psi_prev = psi
    return np.stack(out_in), np.stack(out_rec)


def exact_factorisation(model, params, xs, ys, loss="mse", mask=None) -> dict[str, np.ndarray]:
    """Σ_t Σ_b (dE/dz_j^t) e_ji^t for W_in and W_rec, with dE/dz from BPTT (e-prop eq. 1)."""
    T, B = xs.shape[:2]
    state = model.initial_state(B)
    steps = []
    for t in range(T):
        state, y, cache = model.forward(params, state, xs[t].astype(model.dtype))
        _, dy = losses.get(loss)(y, ys[t].astype(model.dtype), None if mask is None else mask[t])
        steps.append((cache, dy))
    Ls = [None] * T
    carry = None
    for t in reversed(range(T)):
        _, carry, errs = model.vjp(params, steps[t][0], steps[t][1], carry)
        Ls[t] = errs[0]
    L = np.stack(Ls)
    e_in, e_rec = exact_eligibility(model, params, xs)
    return {"layer0.W_in": np.einsum("tbj,tbji->ji", L, e_in), "layer0.W_rec": np.einsum("tbj,tbji->ji", L, e_rec)}

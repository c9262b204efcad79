"""Recurrent spiking networks of LIF and ALIF neurons (Bellec et al. 2020, e-prop form; dt = 1 ms).

One recurrent layer of n neurons (the first ``n − n_alif`` are LIF, the last ``n_alif`` ALIF),
inputs x (n_in), a leaky linear readout y (n_out). With α = exp(−dt/τ_v), ρ = exp(−dt/τ_a),
κ = exp(−dt/τ_out) (κ = 0 for τ_out = 0):

    v^t = α v^{t−1} + W_rec z^{t−1} + W_in x^t − v_th z^{t−1}        (reset by subtraction)
    a^t = ρ a^{t−1} + z^{t−1}                                         (β_j = 0 for LIF neurons)
    s^t = (v^t − v_th − β a^t) / v_th
    z^t = H(s^t), or 0 while refractory;  ψ^t = (γ_pd / v_th) max(0, 1 − |s^t|), 0 while refractory
    y^t = κ y^{t−1} + W_out z^t + b

A spike at t makes the neuron refractory for the next ``n_ref`` steps (t+1 … t+n_ref). The
self-connections of W_rec are structurally zero (no autapses), in the forward pass and in every
gradient. The spike's derivative is the triangular pseudo-derivative ψ: ∂z/∂v = ψ, ∂z/∂a = −βψ.

``detach`` names the paths of z^{t−1} that carry no gradient: ``"recurrent"`` (W_rec z^{t−1}),
``"reset"`` (−v_th z^{t−1}) and ``"adaptation"`` (z^{t−1} → a^t; only a negative control).
With ``("recurrent", "reset")``, BPTT on this model *is* e-prop (the autodiff form of Bellec et
al.: the neuron's own adaptation path keeps its gradient). Default: none, the usual
surrogate-gradient BPTT.

The model has the same one-step interface as ``stack.Model`` (``init``, ``initial_state``,
``forward``, ``vjp`` with a carry, ``run``), so ``bptt``/``tbptt`` train it unchanged.
``Model.vjp``'s ``errors`` here is the learning signal L^t = ∂E/∂z^t through the readout and the
other neurons (excluding the neuron's own reset and adaptation), the quantity e-prop's exact
factorisation multiplies with the eligibility trace.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .. import kernels
from .._errors import bad, check_array
from ..state import ArraySpec

Params = dict[str, np.ndarray]
DETACH = ("recurrent", "reset", "adaptation")


class SpikingState(NamedTuple):
    """Per-sample state: membrane v, adaptation a, last spikes z, refractory count r, readout y."""

    v: np.ndarray
    a: np.ndarray
    z: np.ndarray
    r: np.ndarray
    y: np.ndarray


class SpikeCarry(NamedTuple):
    """Adjoints of step t−1's state from step t (see ``SpikingModel.vjp``)."""

    v: np.ndarray
    a: np.ndarray
    z_rec: np.ndarray  # via the other neurons' recurrent input
    z_own: np.ndarray  # via the neuron's own reset and adaptation
    y: np.ndarray


class SpikingModel:
    spiking = True
    n_layers = 1

    def __init__(
        self,
        kind: str,
        n_in: int,
        n_out: int,
        n: int,
        n_alif: int,
        *,
        tau_v: float,
        tau_a: float,
        tau_out: float,
        v_th: float,
        beta: float,
        n_ref: int,
        gamma_pd: float,
        dt: float,
        detach: tuple[str, ...],
        dtype,
        readout_bias: bool = True,
    ):
        self.kind, self.n_in, self.n_out, self.n, self.n_alif = kind, n_in, n_out, n, n_alif
        self.tau_v, self.tau_a, self.tau_out, self.dt = tau_v, tau_a, tau_out, dt
        self.v_th, self.n_ref, self.gamma_pd = v_th, n_ref, gamma_pd
        self.alpha = math.exp(-dt / tau_v)
        self.rho = math.exp(-dt / tau_a) if n_alif else 0.0
        self.kappa = math.exp(-dt / tau_out) if tau_out > 0 else 0.0
        self.beta_value = beta
        self.dtype = np.dtype(dtype)
        self.beta = np.zeros(n, self.dtype)
        self.beta[n - n_alif :] = beta
        self.detach = tuple(detach)
        self.readout_bias = bool(readout_bias)

    @cached_property
    def no_autapse(self) -> np.ndarray:
        """The (n, n) mask 1 − I of W_rec, built on first use: constructing a model allocates
        nothing of size n² (the hardware budget builds models of any size from shapes)."""
        return (1.0 - np.eye(self.n)).astype(self.dtype)

    # --- structure ---------------------------------------------------------------------------
    def shapes(self) -> dict[str, tuple[int, ...]]:
        s = {"layer0.W_in": (self.n, self.n_in), "layer0.W_rec": (self.n, self.n), "dec.W": (self.n_out, self.n)}
        if self.readout_bias:
            s["dec.b"] = (self.n_out,)
        return s

    def cache_floats(self) -> int:
        """Floats in one step's ``forward`` cache for one sample, from shapes alone:
        x^t (n_in), z^{t−1}, ψ^t and z^t (n each)."""
        return self.n_in + 3 * self.n

    def cell_param_names(self, layer: int = 0) -> tuple[str, ...]:
        return ("layer0.W_in", "layer0.W_rec")

    def after_recurrence(self) -> tuple[str, ...]:
        """The readout: nothing flows back from it into the network. Its leak κ is a recurrence of
        its own (``readout_leaks``): an online rule needs the readout's own trace for it, and
        truncated BPTT cuts it."""
        return ("dec.W", "dec.b") if self.readout_bias else ("dec.W",)

    @property
    def readout_leaks(self) -> bool:
        """y_t depends on y_{t−1} (κ > 0)."""
        return self.kappa > 0

    def param_groups(self) -> dict[str, str]:
        rec = set(self.cell_param_names())
        return {k: ("recurrent" if k in rec else "other") for k in self.shapes()}

    def layer_params(self, params: Params, layer: int = 0) -> Params:
        return {k[7:]: v for k, v in params.items() if k.startswith("layer0.")}

    @property
    def lif(self) -> slice:
        return slice(0, self.n - self.n_alif)

    @property
    def alif(self) -> slice:
        return slice(self.n - self.n_alif, self.n)

    def init(self, seed: int = 0) -> Params:
        """W_in ~ N(0, 1/n_in), W_rec ~ N(0, 1/n) without autapses, W_out ~ N(0, 1/n), b = 0."""
        rng = np.random.default_rng(seed)
        n, m, o, dt = self.n, self.n_in, self.n_out, self.dtype
        p = {
            "layer0.W_in": (rng.normal(size=(n, m)) / np.sqrt(m)).astype(dt),
            "layer0.W_rec": _zero_diagonal(rng.normal(size=(n, n)) / np.sqrt(n)).astype(dt),
            "dec.W": (rng.normal(size=(o, n)) / np.sqrt(n)).astype(dt),
        }
        if self.readout_bias:
            p["dec.b"] = np.zeros(o, dt)
        return p

    def initial_state(self, batch: int) -> SpikingState:
        z = lambda k: np.zeros((batch, k), self.dtype)  # noqa: E731
        return SpikingState(z(self.n), z(self.n), z(self.n), np.zeros((batch, self.n), np.int32), z(self.n_out))

    def check_input(self, x_t: np.ndarray, batch: int | None = None) -> np.ndarray:
        return check_array("x_t", x_t, (batch, self.n_in)).astype(self.dtype, copy=False)

    def state_arrays(self) -> list[ArraySpec]:
        """The model's state between steps (``initial_state``'s arrays), declared: membrane v,
        adaptation a (ALIF neurons only: the vectorised step stores it for every neuron, so it is
        ``padded``), the last spikes z (events: sent as packets, not stored on a chip), the
        refractory count r (⌈log2(n_ref + 1)⌉ bits: none without refractoriness) and the readout y."""
        n, na = self.n, self.n_alif
        return [
            ArraySpec("v", 0, (n,), "state", role="state"),
            ArraySpec("a", 0, (na,), "state", role="state", offset=n - na, padded=True),
            ArraySpec("z", 0, (n,), "event", role="state", bits=1),
            ArraySpec("r", 0, (n,), "state", role="state", dtype="int", bits=int(np.ceil(np.log2(self.n_ref + 1)))),
            ArraySpec("y", 0, (self.n_out,), "output", owner="shared", role="state"),
        ]

    def param_layout(self) -> dict[str, tuple[int, str]]:
        """name → (layer, role) for hardware accounting."""
        out = {"layer0.W_in": (0, "input"), "layer0.W_rec": (0, "recurrent"), "dec.W": (0, "output")}
        if self.readout_bias:
            out["dec.b"] = (0, "output")
        return out

    @staticmethod
    def spikes(state: SpikingState) -> list[np.ndarray]:
        """Spikes per layer at the current step (for activity monitoring)."""
        return [state.z]

    # --- one step ----------------------------------------------------------------------------
    def forward(self, params: Params, state: SpikingState, x_t: np.ndarray):
        W_in, W_rec = params["layer0.W_in"], _no_autapses(params["layer0.W_rec"])
        v, a, z, r = state.v.copy(), state.a.copy(), state.z.copy(), state.r.copy()
        psi = np.empty_like(v)
        current = state.z @ W_rec.T + x_t @ W_in.T
        kernels.lif_step(
            v, a, z, r, current, self.beta, self.alpha, self.rho, self.v_th, self.gamma_pd, self.n_ref, psi
        )
        y = self.kappa * state.y + z @ params["dec.W"].T
        if self.readout_bias:
            y = y + params["dec.b"]
        cache = (x_t, state.z, psi, z)
        return SpikingState(v, a, z, r, y), y, cache

    def vjp(self, params: Params, cache, dy: np.ndarray, carry: SpikeCarry | None = None):
        """One step of BPTT. Returns (grads, carry for step t−1, [L^t])."""
        x, z_prev, psi, z = cache
        W_rec = _no_autapses(params["layer0.W_rec"])
        W_out = params["dec.W"]
        gy = dy if carry is None else dy + carry.y
        L = gy @ W_out if carry is None else gy @ W_out + carry.z_rec
        gz = L if carry is None else L + carry.z_own
        gv = psi * gz if carry is None else carry.v + psi * gz
        ga = -self.beta * psi * gz if carry is None else carry.a - self.beta * psi * gz
        grads = {
            "layer0.W_in": gv.T @ x,
            "layer0.W_rec": _zero_diagonal(gv.T @ z_prev),
            "dec.W": gy.T @ z,
        }
        if self.readout_bias:
            grads["dec.b"] = gy.sum(0)
        z_rec = np.zeros_like(gv) if "recurrent" in self.detach else gv @ W_rec
        z_own = ga if self.n_alif and "adaptation" not in self.detach else np.zeros_like(ga)
        if "reset" not in self.detach:
            z_own = z_own - self.v_th * gv
        out = SpikeCarry(self.alpha * gv, self.rho * ga, z_rec, z_own, self.kappa * gy)
        return grads, out, [L]

    def run(self, params: Params, xs: np.ndarray, record: bool = False):
        """Outputs (T, B, n_out) from the zero state; with ``record`` also spikes (T, B, n) and v."""
        xs = check_array("xs", xs, (None, None, self.n_in))
        state = self.initial_state(xs.shape[1])
        ys, zs, vs = [], [], []
        for x in xs:
            state, y, _ = self.forward(params, state, x.astype(self.dtype))
            ys.append(y)
            zs.append(state.z)
            vs.append(state.v)
        if record:
            return np.stack(ys), np.stack(zs), np.stack(vs)
        return np.stack(ys)


def _no_autapses(W: np.ndarray) -> np.ndarray:
    """``W`` with a zero diagonal: ``W`` itself when its diagonal is zero already (as ``init``
    makes it and e-prop's and BPTT's gradients keep it: no copy of n² weights per step), else a
    zeroed copy (the same numbers either way)."""
    return _zero_diagonal(W.copy()) if W.diagonal().any() else W


def _zero_diagonal(a: np.ndarray) -> np.ndarray:
    """Zero the diagonal of a square matrix in place (no autapses) and return it."""
    np.fill_diagonal(a, 0.0)
    return a


def make_spiking(name: str, n_in: int, n_out: int, n_hidden: int, dtype: str, **opts) -> SpikingModel:
    """Validate the spiking options of ``models.make`` (n_alif, tau_v, tau_a, tau_out, v_th, beta,
    n_ref, gamma_pd, dt, detach, readout_bias) and build the model."""
    o = dict(opts)

    def positive(key, allow_zero=False):
        value = o[key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (value == 0 and not allow_zero):
            raise bad(key, value, "a finite number " + (">= 0" if allow_zero else "> 0"))
        o[key] = float(value)

    if name == "lif":  # models.make refused n_alif, tau_a and beta for it
        o["n_alif"] = 0
    else:
        o["n_alif"] = n_hidden if o["n_alif"] is None else o["n_alif"]
        n_alif = o["n_alif"]
        if not isinstance(n_alif, int) or isinstance(n_alif, bool) or not 0 <= n_alif <= n_hidden:
            raise bad("n_alif", n_alif, f"an integer in [0, n_hidden={n_hidden}]")
    for key in ("tau_v", "tau_a", "v_th", "gamma_pd", "dt"):
        positive(key)
    positive("tau_out", allow_zero=True)
    n_ref = o["n_ref"]
    if not isinstance(n_ref, int) or isinstance(n_ref, bool) or n_ref < 0:
        raise bad("n_ref", n_ref, "an integer >= 0 (refractory steps)")
    if o["beta"] is None:  # Bellec et al.'s evidence-task scaling: 1.7 (1 − ρ) / (1 − exp(−1/20))
        o["beta"] = 1.7 * (1 - math.exp(-o["dt"] / o["tau_a"])) / (1 - math.exp(-1 / 20))
    positive("beta", allow_zero=True)
    detach = o["detach"]
    o["detach"] = (detach,) if isinstance(detach, str) else tuple(detach or ())
    for d in o["detach"]:
        if d not in DETACH:
            raise bad("detach", d, f"a subset of {DETACH}")
    o["readout_bias"] = bool(o["readout_bias"])
    n_alif = o.pop("n_alif")
    return SpikingModel(name, n_in, n_out, n_hidden, n_alif, dtype=dtype, **o)

"""Non-recurrent components with hand-written vector-Jacobian products.

Each component is a small object with ``shapes()``, ``init(rng, dtype)``,
``forward(p, x) -> (y, cache)`` and ``vjp(p, cache, dy) -> (dx, grads)``; ``p`` is the
component's own slice of the flat parameter dict (local names). Gradients are summed over
every leading axis (time never appears here: these act within one step).

GELU uses the tanh approximation (Hendrycks & Gimpel 2016, eq. in §2; also flax's default),
computed in the array's own dtype with x·x·x: ``x**3`` calls numpy's general ``power`` ufunc, the
largest part of the old GELU's time in the quickstart's profile.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]

_C_GELU = float(np.sqrt(2.0 / np.pi))
_A_GELU = 0.044715


def outer(a: np.ndarray, b: np.ndarray, per_sample: bool) -> np.ndarray:
    """Σ over leading axes of a_i b_j, or keep the leading axes when ``per_sample``."""
    if per_sample:
        return a[..., :, None] * b[..., None, :]
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] == b.shape[0]:  # the common case: one GEMM
        return a.T @ b
    a2 = a.reshape(-1, a.shape[-1])
    b2 = np.broadcast_to(b, a.shape[:-1] + b.shape[-1:]).reshape(-1, b.shape[-1])
    return a2.T @ b2


def lead_sum(a: np.ndarray, per_sample: bool) -> np.ndarray:
    """Σ over leading axes, or nothing when ``per_sample``."""
    return a if per_sample else np.add.reduce(a.reshape(-1, a.shape[-1]), 0)


def gelu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GELU (tanh form) and its derivative, in ``x``'s dtype:

    t = tanh(c (x + a x³)),  y = x (1 + t)/2,  y' = (1 + t)/2 + (x/2)(1 − t²) c (1 + 3a x²),
    c = sqrt(2/π), a = 0.044715. x³ is x·x·x (no ``power``); Python-float constants keep float32."""
    x2 = x * x
    t = x2 * _A_GELU
    t += 1.0
    t *= x
    t *= _C_GELU  # c x (1 + a x²)
    np.tanh(t, out=t)
    half = t * 0.5
    half += 0.5  # (1 + t)/2
    y = x * half
    dy = x2 * (3 * _A_GELU)
    dy += 1.0
    dy *= x
    dy *= 0.5 * _C_GELU
    t *= t
    np.subtract(1.0, t, out=t)  # 1 − t²
    dy *= t
    dy += half
    return y, dy


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Linear:
    """y = x Wᵀ + b. Init: W ~ N(0, scale²/n_in) (LeCun normal for scale 1)."""

    def __init__(self, n_in: int, n_out: int, bias: bool = True, scale: float = 1.0):
        self.n_in, self.n_out, self.bias, self.scale = n_in, n_out, bias, scale

    def shapes(self) -> dict[str, tuple[int, ...]]:
        s = {"W": (self.n_out, self.n_in)}
        if self.bias:
            s["b"] = (self.n_out,)
        return s

    def init(self, rng: np.random.Generator, dtype: np.dtype) -> Params:
        p = {"W": rng.normal(0.0, self.scale / np.sqrt(self.n_in), (self.n_out, self.n_in))}
        if self.bias:
            p["b"] = np.zeros(self.n_out)
        return {k: v.astype(dtype) for k, v in p.items()}

    def forward(self, p: Params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = x @ p["W"].T
        if self.bias:
            y = y + p["b"]
        return y, x

    def vjp(self, p: Params, cache: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, Params]:
        g = {"W": outer(dy, cache, False)}
        if self.bias:
            g["b"] = lead_sum(dy, False)
        return dy @ p["W"], g


class LayerNorm:
    """y = g ⊙ (x − μ)/sqrt(var + eps) + b over the last axis."""

    def __init__(self, n: int, eps: float = 1e-5):
        self.n, self.eps = n, eps

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {"g": (self.n,), "b": (self.n,)}

    def init(self, rng: np.random.Generator, dtype: np.dtype) -> Params:
        return {"g": np.ones(self.n, dtype), "b": np.zeros(self.n, dtype)}

    # means as sum / n: the same float operations as ndarray.mean without its Python overhead
    def forward(self, p: Params, x: np.ndarray):
        n = x.shape[-1]
        xc = x - x.sum(-1, keepdims=True) / n
        inv = 1.0 / np.sqrt((xc * xc).sum(-1, keepdims=True) / n + self.eps)
        xhat = xc * inv
        return xhat * p["g"] + p["b"], (xhat, inv)

    def vjp(self, p: Params, cache, dy: np.ndarray):
        xhat, inv = cache
        n = dy.shape[-1]
        g = {"g": lead_sum(dy * xhat, False), "b": lead_sum(dy, False)}
        dxh = dy * p["g"]
        dx = inv * (dxh - dxh.sum(-1, keepdims=True) / n - xhat * ((dxh * xhat).sum(-1, keepdims=True) / n))
        return dx, g


class GLU:
    """out = (z W1ᵀ + b1) ⊙ σ(z W2ᵀ + b2) (Zucchet et al.'s "full_glu")."""

    def __init__(self, n: int):
        self.l1, self.l2 = Linear(n, n), Linear(n, n)

    def shapes(self):
        return {
            "W1": (self.l1.n_out, self.l1.n_in),
            "b1": (self.l1.n_out,),
            "W2": (self.l2.n_out, self.l2.n_in),
            "b2": (self.l2.n_out,),
        }

    def init(self, rng, dtype):
        a, b = self.l1.init(rng, dtype), self.l2.init(rng, dtype)
        return {"W1": a["W"], "b1": a["b"], "W2": b["W"], "b2": b["b"]}

    def forward(self, p, z):
        a = z @ p["W1"].T + p["b1"]
        s = sigmoid(z @ p["W2"].T + p["b2"])
        return a * s, (z, z, a, s)

    def vjp(self, p, cache, dy):
        z, _, a, s = cache
        d1 = dy * s
        d2 = dy * a * s * (1.0 - s)
        g = {"W1": outer(d1, z, False), "b1": lead_sum(d1, False), "W2": outer(d2, z, False)}
        g["b2"] = lead_sum(d2, False)
        return d1 @ p["W1"] + d2 @ p["W2"], g


class MLP:
    """out = W2 gelu(W1 z + b1) + b2 with a hidden width of ``ratio·n``."""

    def __init__(self, n: int, ratio: int = 2):
        self.l1, self.l2 = Linear(n, ratio * n), Linear(ratio * n, n)

    def shapes(self):
        return {
            "W1": self.l1.shapes()["W"],
            "b1": self.l1.shapes()["b"],
            "W2": self.l2.shapes()["W"],
            "b2": self.l2.shapes()["b"],
        }

    def init(self, rng, dtype):
        a, b = self.l1.init(rng, dtype), self.l2.init(rng, dtype)
        return {"W1": a["W"], "b1": a["b"], "W2": b["W"], "b2": b["b"]}

    def forward(self, p, z):
        a, ca = self.l1.forward({"W": p["W1"], "b": p["b1"]}, z)
        g, dg = gelu(a)
        y, cy = self.l2.forward({"W": p["W2"], "b": p["b2"]}, g)
        return y, (ca, dg, cy)

    def vjp(self, p, cache, dy):
        ca, dg, cy = cache
        dgv, g2 = self.l2.vjp({"W": p["W2"], "b": p["b2"]}, cy, dy)
        dz, g1 = self.l1.vjp({"W": p["W1"], "b": p["b1"]}, ca, dgv * dg)
        return dz, {"W1": g1["W"], "b1": g1["b"], "W2": g2["W"], "b2": g2["b"]}

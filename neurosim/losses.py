"""Per-step losses ℓ_t(y_t, y*_t) and their gradients ∂ℓ_t/∂y_t.

ℓ_t = (1/B) Σ_b m_{t,b} L(y_{t,b}, y*_{t,b}) with an optional mask m (steps and samples that
carry a loss). The total loss of a sequence is Σ_t ℓ_t.

* ``mse``: L = ½ ‖y − y*‖².
* ``bce``: per-bit binary cross-entropy on logits, averaged over bits (Zucchet et al.'s
  copy task, ``multidim``): L = mean_k [softplus(y_k) − y*_k y_k].
* ``ce``: softmax cross-entropy with one-hot or soft targets: L = −Σ_k y*_k log softmax(y)_k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import check_choice


def _mask(mask, batch: int, dtype) -> np.ndarray:
    if mask is None:
        return np.ones(batch, dtype)
    m = np.asarray(mask, dtype)
    return np.broadcast_to(m, (batch,)) if m.ndim == 0 else m


@dataclass(frozen=True)
class Loss:
    name: str

    def __call__(self, y: np.ndarray, target: np.ndarray, mask=None) -> tuple[float, np.ndarray]:
        """(ℓ_t, ∂ℓ_t/∂y_t) for outputs and targets of shape (B, n_out), mask (B,) or scalar."""
        if target.shape != y.shape:
            raise ValueError(f"target has shape {target.shape}: allowed the output's shape {y.shape}")
        batch = y.shape[0]
        if not np.all(np.isfinite(y)):
            return float("nan"), np.full_like(y, np.nan)
        m = _mask(mask, batch, y.dtype)
        if self.name == "mse":
            r = y - target
            per = 0.5 * (r * r).sum(-1)
            dy = r
        elif self.name == "bce":
            k = y.shape[-1]
            per = (np.logaddexp(0.0, y) - target * y).mean(-1)
            dy = (0.5 * (1 + np.tanh(0.5 * y)) - target) / k
        else:
            z = y - y.max(-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
            per = -(target * logp).sum(-1)
            dy = np.exp(logp) * target.sum(-1, keepdims=True) - target
        scale = m / batch
        return float((scale * per).sum()), (scale[:, None] * dy).astype(y.dtype, copy=False)


LOSSES = ("mse", "bce", "ce")


def get(name: str | Loss) -> Loss:
    """A loss by name ("mse", "bce", "ce"), or the loss itself."""
    if isinstance(name, Loss):
        return name
    return Loss(check_choice("loss", name, LOSSES))

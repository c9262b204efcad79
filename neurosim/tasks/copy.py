"""Copy (memory) tasks.

``CopyTask`` (Zucchet et al. 2023, ``online_lru/dataloaders/copy.py``):
7 data bits + 1 stop channel; bits ~ Bernoulli(½) at t = 0 … P−1, stop token on the last
channel at t = P + pad, target = the pattern at t = P + pad + 1 … 2P + pad, loss masked to those
P steps; T = 2P + pad + 1 (48 for P = 20, pad = 7). Per-bit BCE.

``CopyCurriculum`` (Mujika et al. 2018 / Menick et al. 2021 style, §4.3): input = bits + start
and stop markers; pattern length L' ~ U{max(1, L−5) … L}; start at t = 0, pattern, stop, then
the pattern is to be recalled; L starts at 1 and grows by one whenever the mean per-bit loss of a
batch falls below 0.15 bits.
"""

from __future__ import annotations

import numpy as np

from .._errors import check_float, check_positive_int
from .base import Batch, Task, bit_accuracy


class CopyTask(Task):
    name = "copy"
    loss = "bce"

    def __init__(self, seed: int = 0, n_bits: int = 7, pattern_len: int = 20, pad: int = 7):
        super().__init__(seed)
        self.n_bits = check_positive_int("n_bits", n_bits)
        self.P = check_positive_int("pattern_len", pattern_len)
        self.pad = check_positive_int("pad", pad, minimum=0)
        self.n_in, self.n_out = self.n_bits + 1, self.n_bits
        self.T = 2 * self.P + self.pad + 1

    def batch(self, index, batch_size):
        B, P, T = batch_size, self.P, self.T
        bits = (self.rng(index).random((P, B, self.n_bits)) < 0.5).astype(float)
        xs = np.zeros((T, B, self.n_in))
        xs[:P, :, : self.n_bits] = bits
        xs[P + self.pad, :, -1] = 1.0
        ys = np.zeros((T, B, self.n_out))
        ys[T - P :] = bits
        mask = np.zeros((T, B))
        mask[T - P :] = 1.0
        return Batch(xs, ys, mask)

    def metrics(self, outputs, batch):
        return {"bit_accuracy": bit_accuracy(outputs, batch)}

    def config(self):
        return {**super().config(), "n_bits": self.n_bits, "pattern_len": self.P, "pad": self.pad}


class CopyCurriculum(Task):
    name = "copy_curriculum"
    loss = "bce"

    def __init__(
        self, seed: int = 0, n_bits: int = 1, start_len: int = 1, max_len: int = 100, threshold_bits: float = 0.15
    ):
        super().__init__(seed)
        self.n_bits = check_positive_int("n_bits", n_bits)
        self.L = check_positive_int("start_len", start_len)
        self.max_len = check_positive_int("max_len", max_len)
        self.threshold = check_float("threshold_bits", threshold_bits, 0.0, None, lo_open=True)
        self.n_in, self.n_out = self.n_bits + 2, self.n_bits

    @property
    def T(self) -> int:
        return 2 * self.L + 2

    def batch(self, index, batch_size):
        rng = self.rng(index)
        B, L, T = batch_size, self.L, self.T
        lens = rng.integers(max(1, L - 5), L + 1, size=B)
        xs, ys, mask = np.zeros((T, B, self.n_in)), np.zeros((T, B, self.n_out)), np.zeros((T, B))
        for b, n in enumerate(lens):
            bits = (rng.random((n, self.n_bits)) < 0.5).astype(float)
            xs[0, b, self.n_bits] = 1.0
            xs[1 : n + 1, b, : self.n_bits] = bits
            xs[n + 1, b, self.n_bits + 1] = 1.0
            ys[n + 2 : 2 * n + 2, b] = bits
            mask[n + 2 : 2 * n + 2, b] = 1.0
        return Batch(xs, ys, mask)

    def metrics(self, outputs, batch):
        return {"bit_accuracy": bit_accuracy(outputs, batch), "length": float(self.L)}

    def update(self, metrics):
        if metrics.get("loss", np.inf) / np.log(2.0) < self.threshold and self.L < self.max_len:
            self.L += 1

    def state(self):
        return {"L": self.L}

    def load_state(self, state):
        self.L = int(state["L"])

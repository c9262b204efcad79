"""The e-prop tasks of Bellec et al. 2020 (Fig. 3 and S7, and their Methods), at dt = 1 ms.

* ``EvidenceTask`` (Fig. 3): 4 groups of ``group`` input neurons (left cue, right cue, recall,
  noise). ``n_cues`` cues, each ``cue_ms`` of ``cue_hz`` Poisson spikes on one side after
  ``gap_ms`` of silence; a delay; the recall group fires for the last ``recall_ms``; the noise
  group fires at ``noise_hz`` throughout. Each trial draws p(left) from {0.3, 0.7}; the label is
  the side with more cues (``n_cues`` is odd). Two outputs, softmax cross-entropy on the recall
  window only. ``accuracy`` scores the output summed over the recall window. Defaults:
  7 cues, 100 ms cues 150 ms apart, delay 1050 ms, recall 150 ms: T = 2250 ms.
* ``PatternTask`` (Fig. S7): frozen Poisson input (``n_in`` neurons at ``rate_hz``, the same in
  every trial), target = the sum of 4 sines (periods 1000, 500, 333, 200 ms; amplitudes
  U[0.5, 2]; random phases) scaled to max |y| = 1, MSE at every step. Input and target are
  fixed by the task's seed. ``nmse`` = MSE / variance of the target.
"""

from __future__ import annotations

import numpy as np

from .._errors import bad, check_float, check_positive_int
from .base import Batch, Task


class EvidenceTask(Task):
    name = "evidence"
    loss = "ce"
    n_out = 2

    def __init__(
        self,
        seed: int = 0,
        n_cues: int = 7,
        cue_ms: int = 100,
        gap_ms: int = 50,
        delay_ms: int = 1050,
        recall_ms: int = 150,
        cue_hz: float = 40.0,
        noise_hz: float = 10.0,
        group: int = 10,
    ):
        super().__init__(seed)
        self.n_cues = check_positive_int("n_cues", n_cues)
        if self.n_cues % 2 == 0:
            raise bad("n_cues", n_cues, "an odd integer (the label is the majority side)")
        self.cue_ms = check_positive_int("cue_ms", cue_ms)
        self.gap_ms = check_positive_int("gap_ms", gap_ms, minimum=0)
        self.delay_ms = check_positive_int("delay_ms", delay_ms, minimum=0)
        self.recall_ms = check_positive_int("recall_ms", recall_ms)
        self.cue_hz = check_float("cue_hz", cue_hz, 0.0, 1000.0)
        self.noise_hz = check_float("noise_hz", noise_hz, 0.0, 1000.0)
        self.group = check_positive_int("group", group)
        self.n_in = 4 * self.group
        self.T = self.n_cues * (self.gap_ms + self.cue_ms) + self.delay_ms + self.recall_ms

    def batch(self, index, batch_size):
        rng = self.rng(index)
        T, B, G = self.T, batch_size, self.group
        p_left = np.where(rng.random(B) < 0.5, 0.3, 0.7)
        left = rng.random((B, self.n_cues)) < p_left[:, None]
        rate = np.zeros((T, B, 4 * G))
        for c in range(self.n_cues):
            t0 = c * (self.gap_ms + self.cue_ms) + self.gap_ms
            side = np.where(left[:, c], 0, 1)
            for b in range(B):
                rate[t0 : t0 + self.cue_ms, b, side[b] * G : (side[b] + 1) * G] = self.cue_hz
        rate[T - self.recall_ms :, :, 2 * G : 3 * G] = self.cue_hz
        rate[:, :, 3 * G :] = self.noise_hz
        xs = (rng.random(rate.shape) < rate / 1000.0).astype(float)
        label = (left.sum(1) * 2 < self.n_cues).astype(int)  # 0 = left majority, 1 = right
        ys = np.broadcast_to(np.eye(2)[label], (T, B, 2)).copy()
        mask = np.zeros((T, B))
        mask[T - self.recall_ms :] = 1.0
        return Batch(xs, ys, mask)

    def metrics(self, outputs, batch):
        w = batch.mask > 0
        score = (outputs * w[..., None]).sum(0)
        label = batch.ys[-1].argmax(-1)
        return {"accuracy": float((score.argmax(-1) == label).mean())}

    def config(self):
        keys = ("n_cues", "cue_ms", "gap_ms", "delay_ms", "recall_ms", "cue_hz", "noise_hz", "group")
        return {"name": self.name, "seed": self.seed, **{k: getattr(self, k) for k in keys}}


class PatternTask(Task):
    name = "pattern"
    loss = "mse"
    n_out = 1

    def __init__(self, seed: int = 0, n_in: int = 100, T: int = 1000, rate_hz: float = 50.0):
        super().__init__(seed)
        self.n_in = check_positive_int("n_in", n_in)
        self.T = check_positive_int("T", T)
        self.rate_hz = check_float("rate_hz", rate_hz, 0.0, 1000.0)
        rng = np.random.default_rng([self.seed, 271828])
        self.x = (rng.random((self.T, self.n_in)) < self.rate_hz / 1000.0).astype(float)
        t = np.arange(self.T)
        amp = rng.uniform(0.5, 2.0, 4)
        phase = rng.uniform(0, 2 * np.pi, 4)
        y = sum(a * np.sin(2 * np.pi * t / p + ph) for a, p, ph in zip(amp, (1000, 500, 333, 200), phase))
        self.y = y / np.abs(y).max()

    def batch(self, index, batch_size):
        xs = np.broadcast_to(self.x[:, None, :], (self.T, batch_size, self.n_in)).copy()
        ys = np.broadcast_to(self.y[:, None, None], (self.T, batch_size, 1)).copy()
        return Batch(xs, ys, np.ones((self.T, batch_size)))

    def metrics(self, outputs, batch):
        mse = float(((outputs - batch.ys) ** 2).mean())
        return {"mse": mse, "nmse": mse / float(self.y.var())}

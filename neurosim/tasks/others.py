"""aⁿbⁿ, the add task and sequential digits.

* ``AnBn`` (Tallec & Ollivier 2018, ``ctallec/uoro`` datasets/anbn): B endless streams of
  blocks "aⁿ\\nbⁿ\\n", n ~ U{1 … n_max}; next-symbol prediction, one-hot over {a, b, \\n}, softmax
  CE. Continuing: chunk i of every stream is batch i. ``determined_accuracy`` scores the steps
  whose next symbol is fixed by what came before (all but those inside the a-run);
  ``end_accuracy`` the ends of the b-runs alone (only counting the a's predicts them).
* ``AddTask`` (Marschall, Cho & Savin 2020, JMLR): x_t ~ Bernoulli(½), y_t = 0.5 + 0.5 x_{t−t1} −
  0.25 x_{t−t2}; input [x, 1−x], soft target [y, 1−y], softmax CE; the first t2 steps masked.
* ``Digits``: scikit-learn's bundled 8×8 digits as 64-step pixel sequences (1 input), a class
  target at every step (per-step loss; pair with ``pool="st_mean"``). Samples 0…1499 (after a
  fixed shuffle) train, the rest test (``test_batch``).
"""

from __future__ import annotations

import numpy as np

from .._errors import check_positive_int
from .base import Batch, Task, class_accuracy


class AnBn(Task):
    name = "anbn"
    loss = "ce"
    continuing = True
    n_in = n_out = 3

    def __init__(self, seed: int = 0, n_max: int = 32, T: int = 64):
        super().__init__(seed)
        self.n_max = check_positive_int("n_max", n_max)
        self.T = check_positive_int("T", T)
        self._streams: dict[int, list[int]] = {}
        self._rngs: dict[int, np.random.Generator] = {}

    def _stream(self, b: int, length: int) -> list[int]:
        s = self._streams.setdefault(b, [])
        rng = self._rngs.setdefault(b, np.random.default_rng([self.seed, 104729, b]))
        while len(s) < length:
            n = int(rng.integers(1, self.n_max + 1))
            s += [0] * n + [2] + [1] * n + [2]
        return s

    def batch(self, index, batch_size):
        T = self.T
        sym = np.array(
            [self._stream(b, (index + 1) * T + 1)[index * T : (index + 1) * T + 1] for b in range(batch_size)]
        ).T
        eye = np.eye(3)
        return Batch(eye[sym[:-1]], eye[sym[1:]], np.ones((T, batch_size)))

    def metrics(self, outputs, batch):
        cur = batch.xs.argmax(-1)
        # Inside an a-run (current symbol 'a') the next symbol is not determined.
        determined = (cur != 0).astype(float)
        # The end of a b-run (current 'b', next the separator): predicted only by counting the a's.
        end = ((cur == 1) & (batch.ys.argmax(-1) == 2)).astype(float)
        return {
            "accuracy": class_accuracy(outputs, batch),
            "determined_accuracy": class_accuracy(outputs, Batch(batch.xs, batch.ys, determined)),
            "end_accuracy": class_accuracy(outputs, Batch(batch.xs, batch.ys, end)),
        }


class AddTask(Task):
    name = "add"
    loss = "ce"
    n_in = n_out = 2

    def __init__(self, seed: int = 0, t1: int = 4, t2: int = 6, T: int = 64):
        super().__init__(seed)
        self.t1 = check_positive_int("t1", t1)
        self.t2 = check_positive_int("t2", t2)
        self.T = check_positive_int("T", T, minimum=self.t2 + 1)

    def batch(self, index, batch_size):
        T, B = self.T, batch_size
        x = (self.rng(index).random((T, B)) < 0.5).astype(float)
        y = np.full((T, B), 0.5)
        y[self.t1 :] += 0.5 * x[: T - self.t1]
        y[self.t2 :] -= 0.25 * x[: T - self.t2]
        mask = np.ones((T, B))
        mask[: self.t2] = 0.0
        return Batch(np.stack([x, 1 - x], -1), np.stack([y, 1 - y], -1), mask)


class Digits(Task):
    name = "digits"
    loss = "ce"
    n_in, n_out, T = 1, 10, 64

    def __init__(self, seed: int = 0, n_train: int = 1500):
        super().__init__(seed)
        from sklearn.datasets import load_digits

        d = load_digits()
        order = np.random.default_rng(0).permutation(len(d.target))
        self.images = d.data[order] / 16.0
        self.labels = d.target[order]
        self.n_train = check_positive_int("n_train", n_train)

    def _make(self, idx):
        xs = self.images[idx].T[:, :, None]
        ys = np.broadcast_to(np.eye(10)[self.labels[idx]], (64, len(idx), 10)).copy()
        return Batch(xs, ys, np.ones((64, len(idx))))

    def batch(self, index, batch_size):
        return self._make(self.rng(index).integers(0, self.n_train, batch_size))

    def test_batch(self) -> Batch:
        return self._make(np.arange(self.n_train, len(self.labels)))

    def metrics(self, outputs, batch):
        last = Batch(batch.xs[-1:], batch.ys[-1:], batch.mask[-1:])
        return {"accuracy": class_accuracy(outputs[-1:], last), "step_accuracy": class_accuracy(outputs, batch)}

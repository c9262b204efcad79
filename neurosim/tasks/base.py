"""Task interface: deterministic batches of sequences, by (seed, batch index).

``task.batch(index, batch_size)`` → ``Batch(xs (T, B, n_in), ys (T, B, n_out), mask (T, B))``.
Streams (``continuing = True``) hand out consecutive chunks of B endless streams: the trainer
then keeps the network's and the rule's state across batches.
``task.metrics(outputs, batch)`` scores outputs (T, B, n_out); ``task.update(metrics)`` lets a
curriculum react (a no-op elsewhere); ``task.state()`` / ``load_state`` serialise that.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    xs: np.ndarray
    ys: np.ndarray
    mask: np.ndarray


class Task:
    name = "task"
    n_in: int
    n_out: int
    loss: str
    continuing = False

    def __init__(self, seed: int = 0):
        self.seed = int(seed)

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(index)])

    def batch(self, index: int, batch_size: int) -> Batch:
        raise NotImplementedError

    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        return {}

    def update(self, metrics: dict[str, float]) -> None:
        return None

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        return None

    def config(self) -> dict:
        return {"name": self.name, "seed": self.seed}


def bit_accuracy(outputs: np.ndarray, batch: Batch) -> float:
    m = batch.mask > 0
    correct = (outputs > 0) == (batch.ys > 0.5)
    return float(correct[m].mean()) if m.any() else float("nan")


def class_accuracy(outputs: np.ndarray, batch: Batch) -> float:
    m = batch.mask > 0
    correct = outputs.argmax(-1) == batch.ys.argmax(-1)
    return float(correct[m].mean()) if m.any() else float("nan")

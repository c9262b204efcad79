"""ListOps (Nangia & Bowman 2018; the Long Range Arena version, Tay et al. 2021), generated here.

An expression is a list ``[ OP a₁ … aₙ ]``: OP ∈ {MAX, MIN, MED, SM} uniformly, n ~ U{2 … max_args};
each argument is, above ``max_depth`` (the root list is depth 1), a nested list with probability
``p_list`` and otherwise a digit ~ U{0 … 9}. MED is the median rounded down (``int(np.median)``,
as in both papers' generators), SM the sum modulo 10. Expressions are drawn until their length
in tokens lies in [``min_length``, ``max_length``] (rejection sampling, as LRA does). The value,
one of 10 classes, is the target.

Tokens, one-hot (``n_in = 16``, ``VOCAB``): the digits 0–9, MAX, MIN, MED, SM, "[" and "]". "[" and
the operator are two tokens (LRA writes "[MAX" as one), so ``[MAX 2 9 [MIN 4 7 ] 0 ]`` is 10 tokens.
A batch is right-padded with all-zero inputs to its longest expression (at most ``T =
max_length`` steps); the target sits on each expression's closing "]" (``target="last"``) or on
all its steps (``target="every"``, to pair with ``pool="st_mean"``); see ``_sequences``.

The data set is fixed (it does not depend on the task's seed, like ``digits``): ``n_train`` +
``n_test`` distinct expressions from a generator seeded with 0; the first ``n_train`` train
(``batch`` samples them by the task's ``(seed, index)``), the other ``n_test`` are the held-out
``test_batch``. LRA's own setting is max_depth=10, max_args=10, 500–2000 tokens, 96 000 train;
the defaults here are laptop-sized.
"""

from __future__ import annotations

import random

import numpy as np

from .._errors import bad, check_float, check_positive_int
from ._sequences import check_target, chunk, class_targets, classification_metrics, one_hot_padded
from .base import Batch, Task

OPERATORS = ("MAX", "MIN", "MED", "SM")
VOCAB = tuple("0123456789") + OPERATORS + ("[", "]")
OPEN, CLOSE = VOCAB.index("["), VOCAB.index("]")
MIN_TOKENS = 5  # "[ OP d d ]"


def _value(op: int, values: list[int]) -> int:
    if op == 0:
        return max(values)
    if op == 1:
        return min(values)
    if op == 2:
        s, n = sorted(values), len(values)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) // 2
    return sum(values) % 10


class _TooLong(Exception):
    pass


def _expression(r: random.Random, depth: int, out: list[int], limit: int, max_depth, max_args, p_list) -> int:
    """Append one list's tokens to ``out`` and return its value (``_TooLong`` past ``limit``)."""
    op = r.randrange(4)
    out += (OPEN, 10 + op)
    values = []
    for _ in range(r.randint(2, max_args)):
        if depth < max_depth and r.random() < p_list:
            values.append(_expression(r, depth + 1, out, limit, max_depth, max_args, p_list))
        else:
            v = r.randrange(10)
            out.append(v)
            values.append(v)
        if len(out) >= limit:  # the closing "]" still has to come
            raise _TooLong
    out.append(CLOSE)
    return _value(op, values)


def decode(tokens) -> str:
    """The text of a token-id sequence, e.g. ``[ MAX 2 9 [ MIN 4 7 ] 0 ]``."""
    return " ".join(VOCAB[int(t)] for t in tokens)


class ListOps(Task):
    name = "listops"
    loss = "ce"
    n_in, n_out = len(VOCAB), 10

    def __init__(
        self,
        seed: int = 0,
        max_depth: int = 4,
        max_args: int = 5,
        min_length: int = 20,
        max_length: int = 100,
        p_list: float = 0.25,
        n_train: int = 10000,
        n_test: int = 1000,
        target: str = "last",
    ):
        super().__init__(seed)
        self.max_depth = check_positive_int("max_depth", max_depth, maximum=200)
        self.max_args = check_positive_int("max_args", max_args, minimum=2)
        self.p_list = check_float("p_list", p_list, 0.0, 1.0)
        self.max_length = check_positive_int("max_length", max_length, minimum=MIN_TOKENS)
        self.min_length = check_positive_int("min_length", min_length, maximum=self.max_length)
        longest = 3 + self.max_args
        if self.p_list > 0:
            for _ in range(self.max_depth - 1):
                longest = 3 + self.max_args * longest
        if self.min_length > longest:
            raise bad(
                "min_length",
                min_length,
                f"at most {longest} tokens, the longest expression with max_depth={self.max_depth}, "
                f"max_args={self.max_args}" + (", p_list=0" if self.p_list == 0 else ""),
            )
        self.n_train = check_positive_int("n_train", n_train)
        self.n_test = check_positive_int("n_test", n_test)
        self.target = check_target(target)
        self.T = self.max_length  # a batch is padded to its longest expression: at most T steps
        self.tokens, self.labels = self._generate(self.n_train + self.n_test)

    def _generate(self, n: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
        r = random.Random(0)
        seen: set[tuple[int, ...]] = set()
        tokens, labels = [], []
        draws, cap = 0, 50 * n + 10000
        while len(tokens) < n:
            if draws == cap:
                raise ValueError(
                    f"listops: only {len(tokens)} distinct expressions of {self.min_length}–{self.max_length} tokens "
                    f"in {cap} draws (n_train + n_test = {n}): allowed options that make them less rare (a wider "
                    "min_length..max_length, a larger max_depth, max_args or p_list) or a smaller n_train / n_test"
                )
            draws += 1
            out: list[int] = []
            try:
                value = _expression(r, 1, out, self.max_length, self.max_depth, self.max_args, self.p_list)
            except _TooLong:
                continue
            key = tuple(out)
            if len(out) < self.min_length or key in seen:
                continue
            seen.add(key)
            tokens.append(key)
            labels.append(value)
        return tokens, np.array(labels, dtype=int)

    def _make(self, idx) -> Batch:
        xs, lengths = one_hot_padded([self.tokens[i] for i in idx], self.n_in)
        ys, mask = class_targets(lengths, self.labels[idx], self.n_out, xs.shape[0], self.target)
        return Batch(xs, ys, mask)

    def batch(self, index, batch_size):
        return self._make(self.rng(index).integers(0, self.n_train, batch_size))

    def test_batch(self, start: int = 0, size: int | None = None) -> Batch:
        """The held-out expressions (all ``n_test``, or ``size`` of them from ``start``)."""
        return self._make(self.n_train + chunk(self.n_test, start, size))

    def metrics(self, outputs, batch):
        return classification_metrics(outputs, batch, self.target)

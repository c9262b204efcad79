"""Shared pieces of the sequence-classification tasks (listops, scifar, imdb).

Sequences of different lengths are right-padded with all-zero inputs to the longest in the
batch; the label is a one-hot target on each sequence's last real step (``target="last"``, the
mask is 1 there only) or on all its real steps (``target="every"``: Zucchet et al. 2023's
per-step loss, to pair with ``pool="st_mean"``, as ``digits`` does). Padding comes after the
target, so a causal network never reads it before its answer. ``accuracy`` scores the output at
each sequence's last real step (the last step its mask covers).
"""

from __future__ import annotations

import numpy as np

from .._errors import check_choice, check_positive_int
from .base import Batch, class_accuracy

TARGETS = ("last", "every")


def check_target(target) -> str:
    return check_choice("target", target, TARGETS)


def one_hot_padded(seqs, n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """(xs (T, B, n_tokens), lengths (B,)) for token-id sequences, right-padded with zeros."""
    lengths = np.array([len(s) for s in seqs], dtype=int)
    T, B = int(lengths.max()), len(seqs)
    xs = np.zeros((T, B, n_tokens))
    for b, s in enumerate(seqs):
        xs[np.arange(len(s)), b, np.asarray(s, dtype=int)] = 1.0
    return xs, lengths


def class_targets(lengths, labels, n_classes: int, T: int, target: str) -> tuple[np.ndarray, np.ndarray]:
    """(ys (T, B, n_classes), mask (T, B)): the label on the last real step or on every one."""
    lengths, labels = np.asarray(lengths, dtype=int), np.asarray(labels, dtype=int)
    steps = np.arange(T)[:, None]
    on = (steps == lengths[None, :] - 1) if target == "last" else (steps < lengths[None, :])
    mask = on.astype(float)
    ys = np.eye(n_classes)[labels][None, :, :] * mask[:, :, None]
    return ys, mask


def last_steps(mask: np.ndarray) -> np.ndarray:
    """Each column's last step with a nonzero mask (B,)."""
    m = mask > 0
    return m.shape[0] - 1 - np.argmax(m[::-1], axis=0)


def classification_metrics(outputs: np.ndarray, batch: Batch, target: str) -> dict[str, float]:
    """``accuracy`` at each sequence's last real step; with ``target="every"`` also
    ``step_accuracy`` over every masked step."""
    last = last_steps(batch.mask)
    cols = np.arange(batch.mask.shape[1])
    correct = outputs[last, cols].argmax(-1) == batch.ys[last, cols].argmax(-1)
    out = {"accuracy": float(correct.mean()) if len(cols) else float("nan")}
    if target == "every":
        out["step_accuracy"] = class_accuracy(outputs, batch)
    return out


def chunk(n: int, start, size) -> np.ndarray:
    """Indices start … start+size−1 of n held-out samples (``size=None``: to the end), checked."""
    start = check_positive_int("start", start, minimum=0, maximum=max(n - 1, 0))
    stop = n if size is None else start + check_positive_int("size", size)
    return np.arange(start, min(stop, n))

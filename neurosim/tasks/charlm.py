"""Character-level language modelling (Menick et al. 2021 train on characters, WikiText-103).

``path``: a UTF-8 text file; without it, a small bundled text (``charlm_tiny.txt``, 4.6 KB,
written for neurosim, free to use). The vocabulary is the text's own characters (``vocab``, sorted;
``n_in = n_out = len(vocab)``), taken from the whole text, so the held-out part uses no unknown
symbol. The last ``test_frac`` of the text is held out; ``batch`` takes windows of ``seq_len``
characters from the rest and the target at each step is the next character (one-hot, softmax
CE, every step masked in). Windows start at random offsets by ``(seed, index)``; with
``stream=True`` the task is continuing instead: stream b reads the training text from an offset
of its own, ``seq_len`` characters per batch, wrapping round at its end, and the trainer keeps
the state across batches (truncated online learning on one long sequence, as Menick et al.).
``test_batch`` cuts the held-out tail into consecutive windows, so it scores every one of its
transitions once. ``bits_per_char``: the mean cross-entropy over masked steps, in bits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import check_bool, check_float, check_positive_int
from ._sequences import chunk
from .base import Batch, Task, class_accuracy

BUNDLED = Path(__file__).with_name("charlm_tiny.txt")


def read_text(path) -> str:
    """A UTF-8 text file's contents; errors name the path."""
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"path={str(p)!r}: no such file: allowed a path to a UTF-8 text file") from None
    except IsADirectoryError:
        raise ValueError(f"path={str(p)!r} is a directory: allowed a path to a UTF-8 text file") from None
    except OSError as e:
        raise ValueError(f"path={str(p)!r} cannot be read ({e.strerror or e}): allowed a readable text file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"path={str(p)!r} is not UTF-8 text (byte {e.start}): allowed a UTF-8 text file") from None


def bits_per_char(outputs: np.ndarray, batch: Batch) -> float:
    """Mean cross-entropy of softmax(outputs) against the targets over masked steps, in bits."""
    z = outputs - outputs.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    ce = -(batch.ys * logp).sum(-1)
    m = batch.mask > 0
    return float(ce[m].mean() / np.log(2.0)) if m.any() else float("nan")


class CharLM(Task):
    name = "charlm"
    loss = "ce"

    def __init__(
        self, seed: int = 0, path: str | None = None, seq_len: int = 64, test_frac: float = 0.1, stream: bool = False
    ):
        super().__init__(seed)
        self.seq_len = self.T = check_positive_int("seq_len", seq_len)
        self.test_frac = check_float("test_frac", test_frac, 0.0, 1.0, lo_open=True, hi_open=True)
        self.continuing = check_bool("stream", stream)
        self.path = str(BUNDLED if path is None else Path(path).expanduser())
        text = read_text(self.path)
        where = "the bundled text" if path is None else f"path={self.path!r}"
        need = seq_len + 1
        if len(text) < need:
            raise ValueError(
                f"seq_len={seq_len} is invalid for {where}: it has {len(text)} characters: allowed a text of at "
                f"least seq_len + 1 = {need} characters (or a smaller seq_len)"
            )
        self.vocab = "".join(sorted(set(text)))
        self.n_in = self.n_out = len(self.vocab)
        lookup = {c: i for i, c in enumerate(self.vocab)}
        self.ids = np.array([lookup[c] for c in text], dtype=np.int32)
        self.split = int(round(len(text) * (1.0 - self.test_frac)))
        for part, n in (("training part", self.split), ("held-out tail", len(text) - self.split)):
            if n < need:
                raise ValueError(
                    f"seq_len={seq_len} is invalid for {where} with test_frac={self.test_frac}: its {part} has {n} "
                    f"of its {len(text)} characters: allowed at least seq_len + 1 = {need} in each part "
                    "(a smaller seq_len, another test_frac or a longer text)"
                )

    def _windows(self, starts) -> Batch:
        L = self.seq_len
        pos = np.asarray(starts)[None, :] + np.arange(L + 1)[:, None]  # (L + 1, B)
        if self.continuing:
            pos %= self.split
        eye = np.eye(self.n_in)
        sym = self.ids[pos]
        return Batch(eye[sym[:-1]], eye[sym[1:]], np.ones((L, pos.shape[1])))

    def batch(self, index, batch_size):
        if self.continuing:
            offsets = np.array(
                [np.random.default_rng([self.seed, 7919, b]).integers(self.split) for b in range(batch_size)]
            )
            return self._windows(offsets + int(index) * self.seq_len)
        return self._windows(self.rng(index).integers(0, self.split - self.seq_len, batch_size))

    @property
    def n_test(self) -> int:
        """Windows in the held-out tail."""
        return (len(self.ids) - self.split - 1) // self.seq_len

    def test_batch(self, start: int = 0, size: int | None = None) -> Batch:
        """Consecutive windows of the held-out tail (all ``n_test``, or ``size`` from ``start``)."""
        return self._windows(self.split + self.seq_len * chunk(self.n_test, start, size))

    def decode(self, xs: np.ndarray) -> str:
        """The text of one one-hot sequence (T, n_in)."""
        return "".join(self.vocab[i] for i in xs.argmax(-1))

    def metrics(self, outputs, batch):
        return {"bits_per_char": bits_per_char(outputs, batch), "accuracy": class_accuracy(outputs, batch)}

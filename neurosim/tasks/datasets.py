"""Sequential CIFAR-10 and byte-level IMDB, read from the standard files you already have.

neurosim never downloads them: ``root=`` points at your copy, and a missing directory or file is
a ``ValueError`` naming the path and what was expected. Making the task checks that the files
are there; their contents are read at the first batch (``test_batch``: only the held-out part).

* ``SCifar`` (``scifar``; the sCIFAR of Zucchet et al. 2023's table, after Gu et al.'s S4):
  ``root`` = CIFAR-10's python version (``cifar-10-python.tar.gz`` unpacked: the directory
  ``cifar-10-batches-py``, or the one holding it) with ``data_batch_1`` … ``data_batch_5`` and
  ``test_batch``, each a pickled dict with ``b"data"`` (N × 3072 uint8: 1024 red, 1024 green,
  1024 blue values, rows of 32 pixels) and ``b"labels"``. The pickles are read with an unpickler
  that builds numpy arrays and nothing else. A sequence is the 1024 pixels in row-major order,
  3 inputs per step (the RGB values), or 1 with ``grayscale=True`` (luma 0.299 R + 0.587 G +
  0.114 B, LRA's "Image" task). Values are scaled to [0, 1], then with ``normalize=True``
  standardised per input by the training set's mean and standard deviation. 10 classes; train =
  the 50 000 training images, ``test_batch`` = the first ``n_test`` of the 10 000 test images
  (``None``: all).
* ``IMDB`` (``imdb``; LRA's "Text", Tay et al. 2021): ``root`` = an ``aclImdb`` directory (or the
  one holding it) with ``train/pos``, ``train/neg``, ``test/pos``, ``test/neg`` of ``.txt`` reviews.
  Each review's UTF-8 bytes are the tokens (one-hot over 0–255, ``n_in = 256``), truncated to
  the first ``max_len`` bytes (LRA: 4096; an empty review is one NUL byte); a batch is
  right-padded with zeros to its longest review. Label: 1 positive, 0 negative (2 classes).
  Train = all of train/ (``train/unsup`` is not used); ``test_batch`` = ``n_test`` reviews of
  test/ drawn once with a fixed seed (``None``: all 25 000). Memory: a one-hot batch is
  T × B × 256 floats, so the default test batch (500 × 1024) is about 1 GB; ``test_batch(start,
  size)`` hands it out in parts.

Both follow ``_sequences``: the label on the last (real) step, ``target="last"``, or on every
step, ``target="every"`` (Zucchet et al.'s per-step loss, with ``pool="st_mean"``); ``accuracy``
at the last real step. ``batch(index, B)`` samples training examples by ``(seed, index)``.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from .._errors import bad, check_bool, check_positive_int
from ._sequences import check_target, chunk, class_targets, classification_metrics, one_hot_padded
from .base import Batch, Task


def _root(root, what: str, inner: str, required: list[str]) -> Path:
    """The directory holding ``required`` (relative paths): ``root`` itself or ``root/inner``."""
    if root is None:
        raise bad("root", root, f"the path of {what} (neurosim never downloads it)")
    p = Path(root).expanduser()
    if not p.is_dir():
        problem = "is not a directory" if p.exists() else "no such directory"
        raise ValueError(f"root={str(p)!r}: {problem}: allowed the path of {what}")
    if not (p / required[0]).exists() and (p / inner / required[0]).exists():
        p = p / inner
    missing = [r for r in required if not (p / r).exists()]
    if missing:
        raise ValueError(f"root={str(p)!r} has no {', '.join(missing)}: allowed the path of {what}")
    return p


# ---------------------------------------------------------------- sequential CIFAR-10

CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
CIFAR_WHAT = "CIFAR-10's python-version directory (cifar-10-batches-py) with data_batch_1 … data_batch_5 and test_batch"
_NUMPY = "numpy._core.multiarray" if int(np.__version__.split(".")[0]) >= 2 else "numpy.core.multiarray"
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): (_NUMPY, "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): (_NUMPY, "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): (_NUMPY, "scalar"),
    ("numpy._core.multiarray", "scalar"): (_NUMPY, "scalar"),
    ("numpy.core.numeric", "_frombuffer"): (_NUMPY.replace("multiarray", "numeric"), "_frombuffer"),  # protocol 5
    ("numpy._core.numeric", "_frombuffer"): (_NUMPY.replace("multiarray", "numeric"), "_frombuffer"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings and numpy arrays; refuses every other global."""

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a CIFAR-10 batch does not")
        return super().find_class(*_ALLOWED[module, name])


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(data (N, 3072) uint8, labels (N,)) of one CIFAR-10 python batch; errors name the file."""
    expected = 'allowed a CIFAR-10 python batch: a pickled dict with b"data" (N x 3072 uint8) and b"labels"'
    try:
        with open(path, "rb") as f:
            d = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as e:
        raise ValueError(f"{path}: not readable as a pickle ({e}): {expected}") from None
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        keys = sorted(d) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"{path}: holds {keys}: {expected}")
    data, labels = np.asarray(d[b"data"]), np.asarray(d[b"labels"])
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],) or data.shape[0] == 0:
        raise ValueError(f"{path}: data has shape {data.shape}, labels {labels.shape}: {expected}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{path}: labels are not integers in 0 … 9: {expected}")
    return data.astype(np.uint8, copy=False), labels.astype(int)


class SCifar(Task):
    name = "scifar"
    loss = "ce"
    n_out, T = 10, 1024

    def __init__(
        self,
        seed: int = 0,
        root: str | None = None,
        grayscale: bool = False,
        normalize: bool = True,
        n_test: int | None = None,
        target: str = "last",
    ):
        super().__init__(seed)
        self.root = _root(root, CIFAR_WHAT, "cifar-10-batches-py", CIFAR_FILES)
        self.grayscale = check_bool("grayscale", grayscale)
        self.normalize = check_bool("normalize", normalize)
        self.n_test_max = None if n_test is None else check_positive_int("n_test", n_test)
        self.target = check_target(target)
        self.n_in = 1 if self.grayscale else 3
        self._train: tuple | None = None
        self._test: tuple | None = None

    def _pixels(self, data: np.ndarray) -> np.ndarray:
        """(1024, N, n_in) inputs in [0, 1] (before standardising) from (N, 3072) rows."""
        x = data.reshape(len(data), 3, 1024).transpose(2, 0, 1) / 255.0
        if self.grayscale:
            x = x @ np.array([[0.299], [0.587], [0.114]])
        return x

    def _load_train(self):
        if self._train is None:
            parts = [read_cifar_batch(self.root / f) for f in CIFAR_FILES[:5]]
            data = np.concatenate([p[0] for p in parts])
            labels = np.concatenate([p[1] for p in parts])
            mean, std = np.zeros(self.n_in), np.ones(self.n_in)
            if self.normalize:  # in blocks, without the whole (1024, N, n_in) float array
                s = np.zeros(self.n_in)
                s2 = np.zeros(self.n_in)
                for i in range(0, len(data), 5000):
                    x = self._pixels(data[i : i + 5000])
                    s += x.sum((0, 1))
                    s2 += (x * x).sum((0, 1))
                n = 1024 * len(data)
                mean = s / n
                std = np.sqrt(np.maximum(s2 / n - mean**2, 0.0)) + 1e-8
            self._train = (data, labels, mean, std)
        return self._train

    def _make(self, data, labels) -> Batch:
        _, _, mean, std = self._load_train()
        xs = (self._pixels(data) - mean) / std
        ys, mask = class_targets(np.full(len(labels), 1024), labels, 10, 1024, self.target)
        return Batch(xs, ys, mask)

    def batch(self, index, batch_size):
        data, labels, _, _ = self._load_train()
        idx = self.rng(index).integers(0, len(labels), batch_size)
        return self._make(data[idx], labels[idx])

    @property
    def n_test(self) -> int:
        if self._test is None:
            data, labels = read_cifar_batch(self.root / "test_batch")
            n = len(labels) if self.n_test_max is None else min(self.n_test_max, len(labels))
            self._test = (data[:n], labels[:n])
        return len(self._test[1])

    def test_batch(self, start: int = 0, size: int | None = None) -> Batch:
        """The first ``n_test`` test images (or ``size`` of them from ``start``)."""
        idx = chunk(self.n_test, start, size)
        return self._make(self._test[0][idx], self._test[1][idx])

    def metrics(self, outputs, batch):
        return classification_metrics(outputs, batch, self.target)


# ---------------------------------------------------------------- byte-level IMDB

IMDB_DIRS = ["train/pos", "train/neg", "test/pos", "test/neg"]
IMDB_WHAT = "an aclImdb directory with train/pos, train/neg, test/pos and test/neg of .txt reviews"


def _reviews(folder: Path) -> list[Path]:
    files = sorted(e.path for e in os.scandir(folder) if e.name.endswith(".txt") and e.is_file())
    return [Path(f) for f in files]


class IMDB(Task):
    name = "imdb"
    loss = "ce"
    n_in, n_out = 256, 2

    def __init__(
        self,
        seed: int = 0,
        root: str | None = None,
        max_len: int = 1024,
        n_test: int | None = 500,
        target: str = "last",
    ):
        super().__init__(seed)
        self.root = _root(root, IMDB_WHAT, "aclImdb", IMDB_DIRS)
        for d in IMDB_DIRS:
            with os.scandir(self.root / d) as it:
                if not any(e.name.endswith(".txt") for e in it):
                    raise ValueError(f"root={str(self.root)!r}: {d} has no .txt file: allowed {IMDB_WHAT}")
        self.max_len = self.T = check_positive_int("max_len", max_len)
        self.n_test_max = None if n_test is None else check_positive_int("n_test", n_test)
        self.target = check_target(target)
        self._train: tuple | None = None
        self._test: tuple | None = None

    def _read(self, files: list[Path]) -> list[bytes]:
        return [f.read_bytes()[: self.max_len] or b"\x00" for f in files]

    def _split(self, part: str) -> tuple[list[Path], np.ndarray]:
        pos, neg = _reviews(self.root / part / "pos"), _reviews(self.root / part / "neg")
        return pos + neg, np.array([1] * len(pos) + [0] * len(neg))

    def _load_train(self):
        if self._train is None:
            files, labels = self._split("train")
            self._train = (self._read(files), labels)
        return self._train

    def _make(self, texts: list[bytes], labels) -> Batch:
        xs, lengths = one_hot_padded([np.frombuffer(t, np.uint8) for t in texts], 256)
        ys, mask = class_targets(lengths, labels, 2, xs.shape[0], self.target)
        return Batch(xs, ys, mask)

    def batch(self, index, batch_size):
        texts, labels = self._load_train()
        idx = self.rng(index).integers(0, len(labels), batch_size)
        return self._make([texts[i] for i in idx], labels[idx])

    @property
    def n_test(self) -> int:
        if self._test is None:
            files, labels = self._split("test")
            order = np.random.default_rng(0).permutation(len(files))
            if self.n_test_max is not None:
                order = order[: self.n_test_max]
            self._test = (self._read([files[i] for i in order]), labels[order])
        return len(self._test[1])

    def test_batch(self, start: int = 0, size: int | None = None) -> Batch:
        """``n_test`` held-out reviews (or ``size`` of them from ``start``)."""
        idx = chunk(self.n_test, start, size)
        return self._make([self._test[0][i] for i in idx], self._test[1][idx])

    def metrics(self, outputs, batch):
        return classification_metrics(outputs, batch, self.target)

"""Tasks: ``make(name, seed=0, **options)``. Nothing is ever downloaded.

Names: copy, copy_curriculum, anbn, add, digits, evidence (accumulation, Bellec et al. Fig. 3),
pattern (generation, Fig. S7), listops (generated ListOps, Nangia & Bowman 2018 / LRA), charlm
(character-level language modelling of a text file, or a bundled 4.6 KB text), and two loaders
of files you already have: scifar (sequential CIFAR-10, ``root=`` its python-version batches)
and imdb (byte-level IMDB reviews, ``root=`` an aclImdb directory).
"""

from __future__ import annotations

import inspect

from .._errors import bad, check_choice
from .base import Batch, Task
from .charlm import CharLM
from .copy import CopyCurriculum, CopyTask
from .datasets import IMDB, SCifar
from .listops import ListOps
from .others import AddTask, AnBn, Digits
from .spiking import EvidenceTask, PatternTask

TASKS = {
    "copy": CopyTask,
    "copy_curriculum": CopyCurriculum,
    "anbn": AnBn,
    "add": AddTask,
    "digits": Digits,
    "evidence": EvidenceTask,
    "pattern": PatternTask,
    "listops": ListOps,
    "charlm": CharLM,
    "scifar": SCifar,
    "imdb": IMDB,
}

__all__ = ["make", "TASKS", "Task", "Batch"]


def make(name: str, seed: int = 0, **options) -> Task:
    """Build a task; unknown names or options raise ``ValueError`` naming them."""
    check_choice("name", name, TASKS)
    cls = TASKS[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "seed")]
    for key in options:
        if key not in allowed:
            raise bad(key, options[key], f"no option {key!r} for task {name!r}; options: {allowed}")
    task = cls(seed=seed, **options)
    defaults = {
        k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k not in ("self", "seed")
    }
    task.options = {"name": name, "seed": seed, **defaults, **options}  # what it was made with (fingerprints)
    return task

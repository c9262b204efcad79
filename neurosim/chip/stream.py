"""Per-step records of a chip run, in memory or streamed to disk in chunks.

A chip run produces, every timestep, cycles and energy per core and phase, the step time, the
critical core and link, the event model's counts and the learning phases' SRAM words per core.
For a long run these outgrow memory (10⁶ steps × 32 cores × 8 phases of cycles are 2 GB), so with
a directory the records go to disk: every ``chunk`` steps one ``chunk-<first step>.npz`` is written
atomically, and ``finish`` gathers the chunks into one ``.npy`` file per array (``<name>.npy``,
written through a memory map, one chunk in memory at a time) that the ``ChipRun`` opens as
read-only memory maps. Without a directory the records are stacked in memory.

**Resume.** ``truncate(n)`` keeps the first ``n`` steps of what is on disk — chunks, or a
previous run's gathered files — and drops the rest: the steps that ran after the checkpoint the
run resumes from, which the resumed run computes again.

Record keys are flat: ``cycles`` (cores × phases), ``energy`` (same, pJ), ``step_ns``,
``critical_core``, ``critical_link`` (text), ``critical_link_packets``, ``events.<kind>``
(cores) and ``sram_words.<region>`` (cores).
"""

from __future__ import annotations

import glob
import os

import numpy as np

from .._io import atomic_write

LINK_TEXT = "<U32"  # 'x,y:direction' of the busiest link


class Steps:
    """Records of ``n_cores`` × ``n_phases`` per step; ``regions``: the SRAM regions whose learning
    words are counted; ``kinds``: the event model's count kinds; ``directory``: stream there."""

    def __init__(self, n_cores: int, n_phases: int, regions, kinds, directory: str | None = None, chunk: int = 1024):
        if chunk < 1:
            raise ValueError(f"chunk_steps: {chunk!r}: allowed an integer >= 1")
        self.C, self.P, self.chunk = n_cores, n_phases, int(chunk)
        self.regions, self.kinds = list(regions), list(kinds)
        self.directory = directory
        self.buffer: list[dict] = []
        self.start = 0  # the step index of buffer[0]
        self.sources: list[tuple[int, int, str]] = []  # (first, stop, path) on disk, in order
        if directory is not None:
            os.makedirs(directory, exist_ok=True)

    # --- shape of a record --------------------------------------------------------------------
    def keys(self) -> list[str]:
        return [
            "cycles", "energy", "step_ns", "critical_core", "critical_link", "critical_link_packets",
            *(f"events.{k}" for k in self.kinds), *(f"sram_words.{r}" for r in self.regions),
        ]  # fmt: skip

    def _empty(self, key: str, n: int) -> np.ndarray:
        if key in ("cycles", "energy"):
            return np.zeros((n, self.C, self.P))
        if key == "step_ns":
            return np.zeros(n)
        if key in ("critical_core", "critical_link_packets"):
            return np.zeros(n, np.int64)
        if key == "critical_link":
            return np.zeros(n, LINK_TEXT)
        if key.startswith("events."):
            return np.zeros((n, self.C), np.int64)
        return np.zeros((n, self.C))

    def _stack(self, records: list[dict]) -> dict[str, np.ndarray]:
        out = {}
        for key in self.keys():
            a = self._empty(key, len(records))
            for i, r in enumerate(records):
                if key.startswith("events."):
                    a[i] = r["events"][key[7:]]
                elif key.startswith("sram_words."):
                    a[i] = r["sram_words"].get(key[11:], 0.0)
                else:
                    a[i] = r[key]
            out[key] = a
        return out

    # --- writing --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.start + len(self.buffer)

    def append(self, record: dict) -> None:
        self.buffer.append(record)
        if self.directory is not None and len(self.buffer) >= self.chunk:
            self._write_chunk()

    def _write_chunk(self) -> None:
        if not self.buffer:
            return
        arrays = self._stack(self.buffer)
        path = os.path.join(self.directory, f"chunk-{self.start:010d}.npz")
        atomic_write(path, lambda tmp: np.savez(tmp, **arrays))
        self.sources.append((self.start, self.start + len(self.buffer), path))
        self.start += len(self.buffer)
        self.buffer = []

    # --- reading --------------------------------------------------------------------------------
    def _read(self, source) -> dict[str, np.ndarray]:
        first, stop, path = source
        if path.endswith(".npz"):
            with np.load(path) as z:
                return {k: z[k][: stop - first] for k in self.keys()}
        return {k: np.load(os.path.join(path, k + ".npy"), mmap_mode="r")[: stop - first] for k in self.keys()}

    def truncate(self, n: int) -> None:
        """Keep the first ``n`` steps on disk (a resume: see the module docstring)."""
        if self.directory is None:
            raise ValueError("only a streamed run (an out_dir) can be resumed")
        self.buffer = []
        sources = self._on_disk()
        have = sources[-1][1] if sources else 0
        if have < n:
            raise ValueError(
                f"{self.directory}: holds {have} step(s) of per-step records but the checkpoint is at step {n}: "
                "the records were removed or belong to another run; delete the checkpoint to start afresh"
            )
        kept = []
        for first, stop, path in sources:
            if first >= n:
                os.remove(path)  # steps after the checkpoint: computed again
            elif stop > n and path.endswith(".npz"):  # a chunk across the checkpoint: its first part
                arrays = self._read((first, n, path))
                atomic_write(path, lambda tmp, a=arrays: np.savez(tmp, **a))
                kept.append((first, n, path))
            else:
                kept.append((first, min(stop, n), path))
        self.sources, self.start = kept, n

    def _on_disk(self) -> list[tuple[int, int, str]]:
        """Chunks in step order, after the gathered files of an earlier finish (if any)."""
        out = []
        gathered = os.path.join(self.directory, "step_ns.npy")
        if os.path.exists(gathered):
            out.append((0, int(np.load(gathered, mmap_mode="r").shape[0]), self.directory))
        for path in sorted(glob.glob(os.path.join(self.directory, "chunk-*.npz"))):
            first = int(os.path.basename(path)[6:16])
            with np.load(path) as z:
                out.append((first, first + int(z["step_ns"].shape[0]), path))
        out.sort(key=lambda s: s[0])
        for (_, stop, p), (first, _, q) in zip(out, out[1:]):
            if stop != first:
                raise ValueError(f"{self.directory}: per-step records {p} and {q} are not contiguous")
        return out

    def finish(self) -> dict[str, np.ndarray]:
        """All steps: stacked in memory, or (streamed) gathered into one ``.npy`` per array and
        opened as read-only memory maps."""
        if self.directory is None:
            return self._stack(self.buffer)
        self._write_chunk()
        T = len(self)
        tmp = {k: os.path.join(self.directory, f".{k}.npy.part") for k in self.keys()}
        maps = {}
        for k in self.keys():
            proto = self._empty(k, 1)
            maps[k] = np.lib.format.open_memmap(tmp[k], mode="w+", dtype=proto.dtype, shape=(T, *proto.shape[1:]))
        for source in self.sources:
            part = self._read(source)
            for k in self.keys():
                maps[k][source[0] : source[1]] = part[k]
        for k in self.keys():
            maps[k].flush()
            del maps[k]
            os.replace(tmp[k], os.path.join(self.directory, k + ".npy"))
        for *_, path in self.sources:
            if path.endswith(".npz"):
                os.remove(path)
        self.sources = [(0, T, self.directory)] if T else []
        return {k: np.load(os.path.join(self.directory, k + ".npy"), mmap_mode="r") for k in self.keys()}

"""``ChipRun``: what ``chip.simulate`` counted, with its JSON form (schema ``neurosim.chip/1``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .._io import atomic_write

SCHEMA = "neurosim.chip/1"


@dataclass
class ChipRun:
    """Per chip timestep t (iterations × sequence length, in order): ``cycles[t, core, phase]``
    and ``energy[t, core, phase]`` (pJ; ``phases`` names the last axis, core ids index the
    middle one), ``step_ns[t]`` (every sample's scheduled step plus its barrier),
    ``critical_core[t]`` (the core whose work or last received packet ended the step last) and
    ``critical_link[t]`` (the link slot with most packets, 'x,y:direction'). ``losses`` per
    iteration; ``memory`` per core (region use, declared and resident elements); ``overflows``:
    per array, per core, ``saturations`` and ``lost_updates``; ``number_formats`` per array;
    ``sram_words[region][t, core]``: the learning phases' words read (and as many written) — trace
    elements, accumulators, weights updated (the inference phases' synaptic reads are inside the
    event model's synop cost, as SANA-FE prices them); ``events[kind][t, core]``: the event
    model's executed counts (neuron accesses and updates, spikes, synaptic events, messages out
    and in, east–west and north–south hops)."""

    model: str
    rule: str
    profile: str
    formats: str
    layout: object
    cores: list
    phases: tuple
    losses: np.ndarray
    params: dict
    cycles: np.ndarray
    energy: np.ndarray
    step_ns: np.ndarray
    critical_core: np.ndarray
    critical_link: list
    link_load: dict
    memory: list
    overflows: dict
    number_formats: dict
    clock_mhz: float
    batch_size: int = 1
    status: str = "finished"
    metrics: list = field(default_factory=list)
    sram_words: dict = field(default_factory=dict)  # region → (steps × cores) words read (and as many written)
    events: dict = field(default_factory=dict)  # event kind → (steps × cores) counts (events.COUNT_KINDS)

    def phase(self, name: str) -> np.ndarray:
        """``cycles[:, :, phase]`` of one phase (steps × cores)."""
        return self.cycles[:, :, self.phases.index(name)]

    @property
    def energy_pj(self) -> float:
        return float(self.energy.sum())

    def to_dict(self) -> dict:
        per_phase = {ph: float(self.energy[:, :, i].sum()) for i, ph in enumerate(self.phases)}
        return {
            "schema": SCHEMA,
            "status": self.status,
            "model": self.model,
            "rule": self.rule,
            "profile": self.profile,
            "formats": self.formats,
            "batch_size": self.batch_size,
            "clock_mhz": self.clock_mhz,
            "layout": self.layout.to_dict(),
            "cores": list(self.cores),
            "phases": list(self.phases),
            "losses": [float(x) for x in self.losses],
            "metrics": self.metrics,
            "steps": int(self.step_ns.size),
            "step_ns": self.step_ns.tolist(),
            "cycles": self.cycles.tolist(),
            "energy_pj": self.energy.tolist(),
            "energy_pj_by_phase": per_phase,
            "energy_pj_total": self.energy_pj,
            "critical_core": self.critical_core.tolist(),
            "critical_link": list(self.critical_link),
            "link_load": self.link_load,
            "memory": self.memory,
            "overflows": self.overflows,
            "number_formats": self.number_formats,
            "sram_words": {k: np.asarray(v).tolist() for k, v in self.sram_words.items()},
            "events": {k: np.asarray(v).tolist() for k, v in self.events.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=_plain)

    def save(self, out_dir: str) -> str:
        """Write ``chip_run.json`` into ``out_dir`` atomically; returns its path."""
        path = os.path.join(out_dir, "chip_run.json")
        text = self.to_json()

        def write(tmp):
            with open(tmp, "w") as f:
                f.write(text)

        atomic_write(path, write)
        return path


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")

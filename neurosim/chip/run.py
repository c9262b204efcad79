"""``ChipRun``: what ``chip.simulate`` counted, with its JSON form (schema ``neurosim.chip/2``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from .._io import atomic_write

SCHEMA = "neurosim.chip/2"


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
    and in, east–west and north–south hops), and the error phase's messages (``error_message_out``,
    ``error_message_in``, ``error_hops_ew``, ``error_hops_ns``: ``costs.LearningNoC``)."""

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
    # event kind → (steps × cores) counts (events.COUNT_KINDS, costs.LEARNING_KINDS)
    events: dict = field(default_factory=dict)
    steps_dir: str | None = None  # streamed: the per-step arrays are memory maps of the .npy files there
    opt_state: object = None  # the optimizer's state at the end (as ``ns.train`` returns it; not in the JSON)

    def phase(self, name: str) -> np.ndarray:
        """``cycles[:, :, phase]`` of one phase (steps × cores)."""
        return self.cycles[:, :, self.phases.index(name)]

    @property
    def energy_pj(self) -> float:
        return float(self.energy.sum())

    def summary(self) -> dict:
        """Totals over the run: cycles and energy per core and phase, the step time's statistics,
        the event counts and SRAM words per core (one pass over the per-step arrays)."""
        ns = np.asarray(self.step_ns, float)
        cores = [int(c) for c in self.cores]
        cyc, en = np.asarray(self.cycles).sum(0), np.asarray(self.energy).sum(0)
        return {
            "step_ns": {
                "mean": float(ns.mean()) if ns.size else 0.0,
                "median": float(np.median(ns)) if ns.size else 0.0,
                "min": float(ns.min()) if ns.size else 0.0,
                "max": float(ns.max()) if ns.size else 0.0,
                "total": float(ns.sum()),
            },
            "cycles_by_core_phase": {str(c): dict(zip(self.phases, map(float, cyc[c]))) for c in cores},
            "energy_pj_by_core_phase": {str(c): dict(zip(self.phases, map(float, en[c]))) for c in cores},
            "events_by_core": {k: np.asarray(v).sum(0).tolist() for k, v in self.events.items()},
            "sram_words_by_core": {k: np.asarray(v).sum(0).tolist() for k, v in self.sram_words.items()},
            "critical_core_counts": {
                str(c): int(n) for c, n in zip(*np.unique(self.critical_core, return_counts=True))
            },
        }

    def to_dict(self) -> dict:
        """The JSON record. A streamed run (``steps_dir``) names its per-step files instead of
        inlining them (they can be gigabytes); an in-memory run inlines them."""
        per_phase = {ph: float(self.energy[:, :, i].sum()) for i, ph in enumerate(self.phases)}
        streamed = self.steps_dir is not None
        steps = (
            {"steps_dir": os.path.basename(self.steps_dir), "step_files": sorted(
                f for f in os.listdir(self.steps_dir) if f.endswith(".npy"))}
            if streamed
            else {
                "step_ns": self.step_ns.tolist(),
                "cycles": self.cycles.tolist(),
                "energy_pj": self.energy.tolist(),
                "critical_core": self.critical_core.tolist(),
                "critical_link": [str(x) for x in self.critical_link],
                "sram_words": {k: np.asarray(v).tolist() for k, v in self.sram_words.items()},
                "events": {k: np.asarray(v).tolist() for k, v in self.events.items()},
            }
        )  # fmt: skip
        link_load = dict(self.link_load)
        if streamed:
            link_load.pop("busiest_per_step", None)
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
            "energy_pj_by_phase": per_phase,
            "energy_pj_total": self.energy_pj,
            "summary": self.summary(),
            "link_load": link_load,
            "memory": self.memory,
            "overflows": self.overflows,
            "number_formats": self.number_formats,
            **steps,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=_plain)

    def _repr_html_(self) -> str:  # a notebook shows the report (``ns.report.build``)
        from ..report import build

        return build(self).to_html(fragment=True)

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

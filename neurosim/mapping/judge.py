"""The mapper's judge: a layout run by the chip simulation (``ns.chip.simulate``, learning off).

Hops and link loads are proxies; the judge is the cycle-level chip simulation of a short
inference run of the model on the layout: the step time (``ChipRun.step_ns``: every core's work,
the NoC schedule of its packets and the barrier) and the energy per step (``ChipRun.energy``
summed over cores and phases). ``judge`` returns them with what was run.

What is run: ``model`` (a plain graph's ``graph.as_model``), the mapping's rule when it can train
the model online (its learning phases are off: ``learn=False``; the rule only has to accept the
model), else the first of ``FALLBACK_RULES`` that does; on ``task`` when given (one iteration of
one sample), else ``Probe``: ``steps`` timesteps of input drawn from the seed — Bernoulli spikes
at ``PROBE_RATE`` per input and step for a spiking model, standard normal values for a rate
model. The simulation's own activity follows from the network's dynamics, not from the
``activity`` the mapper was given.

Routes: the chip simulation follows each of ``Layout.routes`` in its dimension order (XY or YX,
as ``routing="xy" | "yx" | "adaptive"`` chose; ``events.route_orders``), pairs without a route
XY. What it does not see: a chip's multicast trees (it sends one packet per destination core),
so multicast changes the mapper's report, not the judge's numbers. A model the chip
cannot run (``hardware.capabilities.check_runs``: binary spikes vs graded activations, LIF vs
programmable neurons) or a graph with no model is skipped, with the reason, and so is a layout
whose cores are on more than one chip of a board (the simulation is of one chip); a board layout
with every core on one chip is run on that chip.
"""

from __future__ import annotations

import numpy as np

from ..tasks.base import Batch, Task

FALLBACK_RULES = ("spatial", "eprop", "online_lru", "snap1")
PROBE_RATE = 0.2


class Probe(Task):
    """``T`` timesteps of seeded input for a model with ``n_in`` inputs and ``n_out`` outputs
    (module docstring); the targets are zero and the loss is MSE (learning is off)."""

    name = "probe"
    loss = "mse"

    def __init__(self, n_in: int, n_out: int, T: int = 20, spiking: bool = False, seed: int = 0):
        super().__init__(seed)
        self.n_in, self.n_out, self.T, self.spiking = int(n_in), int(n_out), int(T), bool(spiking)

    def batch(self, index: int, batch_size: int) -> Batch:
        rng = self.rng(index)
        shape = (self.T, batch_size, self.n_in)
        xs = (rng.random(shape) < PROBE_RATE).astype(float) if self.spiking else rng.standard_normal(shape)
        return Batch(xs, np.zeros((self.T, batch_size, self.n_out)), np.ones((self.T, batch_size)))


def judge_rule(model, rule=None):
    """``rule`` when it can run ``model`` online, else the first of ``FALLBACK_RULES`` that can;
    None when none can."""
    from .. import rules

    candidates = ([rule] if rule is not None and getattr(rule, "name", None) != "inference" else []) + [
        rules.make(n) for n in FALLBACK_RULES
    ]
    for r in candidates:
        try:
            r.check_model(model)
        except ValueError:
            continue
        if any(s.belongs == "history" for s in r.state_spec(model)):
            continue
        return r
    return None


def judge(model, layout, profile, rule=None, *, steps: int = 20, seed: int = 0, task: Task | None = None) -> dict:
    """The chip simulation's step time (ns, mean and max over the run's timesteps) and energy per
    step (pJ) of ``model`` on ``layout`` (module docstring); ``{"skipped": reason}`` when the chip
    cannot run it."""
    from ..chip import simulate
    from ..hardware.capabilities import check_runs
    from ..hardware.profile import load_profile

    profile = load_profile(profile) if isinstance(profile, str) else profile
    chips = sorted({c.chip for c in layout.cores})
    if len(chips) > 1:
        return {"skipped": f"the layout spans {len(chips)} chips of {profile.name}; the chip simulation runs one "
                           "chip (its inter-chip traffic is the mapping report's board entry)"}  # fmt: skip
    try:
        check_runs(model, profile)
    except ValueError as e:
        return {"skipped": str(e)}
    r = judge_rule(model, rule)
    if r is None:
        return {"skipped": f"no online rule among {', '.join(FALLBACK_RULES)} runs a {model.kind} model"}
    if task is None:
        task = Probe(model.n_in, model.n_out, steps, bool(getattr(model, "spiking", False)), seed)
    run = simulate(model, r, task, profile, layout=layout, steps=1, batch_size=1, seed=seed, learn=False,
                   activity="off")  # fmt: skip
    per_step = run.energy.sum(axis=(1, 2))
    return {
        "step_ns_mean": float(run.step_ns.mean()),
        "step_ns_max": float(run.step_ns.max()),
        "energy_pj_per_step": float(per_step.mean()),
        "timesteps": int(run.step_ns.size),
        "rule": r.name,
        "task": getattr(task, "name", type(task).__name__),
        "routing": "the layout's routes (XY or YX per pair, XY where none), one packet per destination core",
    }

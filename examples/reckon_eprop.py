"""ReckOn's e-prop on its own 256-256-16 network, in float and in ReckOn's own number formats.

ReckOn (Frenkel & Indiveri, ISSCC 2022; github.com/ChFrenkel/ReckOn, doc/README.md) is a
(256)-r256-16 spiking RNN: 256 input channels, 256 recurrent LIF neurons, 16 leaky-integrator
outputs, 8-bit weights, per neuron a 16-bit membrane and 12-bit input, 12-bit recurrent and 10-bit
output eligibility traces, stochastic rounding (LFSRs). This script trains that network with
e-prop, through ``ns.chip.simulate`` on the ``reckon`` profile, twice with the same seed:
``formats="float"`` (float32, the numbers of ``ns.train``) and ``formats="profile"`` (every stored
array in ReckOn's formats), plus round-to-nearest at the same widths as the control. It writes
``docs/reckon_eprop.png`` (the learning curves) and ``docs/reckon_eprop.json`` (final metrics,
the largest saturation and lost-update counts, and the training power at the profile's clock
beside the published figure).

**The network as ReckOn runs it.** LIF neurons only (ReckOn has no adaptation), a leaky readout
with κ = 0x7A / 128 = 0.953 (ReckOn's reset value of SPI_KAPPA; τ_out = 20 ms gives 0.951), no
readout bias (the memory map has none). e-prop with per-neuron traces only (``filter=False``:
ε^v per input and per recurrent neuron and the κ-filtered spikes, exactly the three traces of the
neuron SRAM), symmetric feedback (the learning signal through W_out: ReckOn stores no random
feedback matrix), plain SGD applied to the weights at every step that carries a target
(``update_every=1``: ReckOn has no gradient memory; its updates go straight into the 8-bit
weights, stochastically).

**The task** is ReckOn's own delayed-supervision navigation task (cue accumulation, Bellec et al.
2020; ReckOn's testbench data set ``src/data/dataset_cueAcc_*.dat``): 7 cues of 100 ms, 50 ms
apart, a delay, 150 ms of recall, T = 2250 ms, the label being the side with more cues. ReckOn's
own data set drives 40 of its inputs (4 groups of 10); here 4 groups of 64 drive all 256, so the
input array, its events and its SRAM traffic are the full chip's. All 16 output neurons are
trained (a 16-way softmax whose target is one of the first two: the chip's full output array,
14 of whose classes never occur). ``accuracy`` is the task's (the output summed over the recall
window, argmax over all 16 outputs); because the weights change at every recall step, that
window has already seen its own label, so ``onset_accuracy`` is also reported: the argmax of the
output at the first recall step, before this sample's target has changed any weight — a
prediction on an unseen sample.

**Power.** The ChipRun's energy per step (every phase, static included) over its step time is the
power of the chip running time steps back to back at the profile's clock; it is set beside the
published training power (< 150 µW at 0.5 V, "accelerated-time" learning; < 50 µW for real-time
learning at 1 ms per step; see ``PUBLISHED``).

    python examples/reckon_eprop.py            # full size: 256-256-16, T = 2250 ms
    python examples/reckon_eprop.py --small    # seconds: 16-32-16, T = 170 ms (the test's size)
    python examples/reckon_eprop.py --replot   # redraw docs/reckon_eprop.png from its JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

import neurosim as ns
from neurosim._io import atomic_write
from neurosim.tasks.base import Batch
from neurosim.tasks.spiking import EvidenceTask

ROOT = Path(__file__).resolve().parents[1]

# The published training power, with its conditions (nothing here is read from reckon.toml).
PUBLISHED = {
    "training_power_uW_max": 150.0,
    "realtime_power_uW_max": 50.0,
    "supply_V": 0.5,
    "process": "28 nm FDSOI",
    "clock": "not stated in the sources read (the profile's 13 MHz is an estimate)",
    "tasks": "navigation (cue accumulation), gesture recognition, keyword spotting",
    "source": (
        "C. Frenkel, G. Indiveri, ISSCC 2022 (arXiv 2208.09759, abstract: 'a <150-µW training power "
        "budget'); the 20–150 µW range 'from real-time to accelerated-time learning at 0.5 V' and "
        "'<50 µW at 0.5 V for real-time learning': open-neuromorphic.org, ReckOn (C. Frenkel)"
    ),
}

FULL = {
    "task": {"group": 64},  # 4 × 64 = 256 inputs; ReckOn's timing (T = 2250 ms)
    "n_hidden": 256,
    "tau_v": 20.0,
    "lr": 1e-4,
    "steps": 30,
}
SMALL = {
    "task": {"group": 4, "n_cues": 3, "cue_ms": 20, "gap_ms": 10, "delay_ms": 60, "recall_ms": 20, "cue_hz": 100.0},
    "n_hidden": 32,
    "tau_v": 20.0,
    "lr": 1e-3,
    "steps": 30,
}
N_OUT = 16


class ReckOnCues(EvidenceTask):
    """Cue accumulation on a 16-output readout: the targets of ``EvidenceTask`` (classes 0 and 1)
    padded to 16 classes, and ``onset_accuracy`` beside ``accuracy`` (module docstring)."""

    name = "evidence"
    n_out = N_OUT

    def batch(self, index: int, batch_size: int) -> Batch:
        b = super().batch(index, batch_size)
        ys = np.zeros(b.ys.shape[:2] + (N_OUT,))
        ys[..., :2] = b.ys
        return Batch(b.xs, ys, b.mask)

    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        out = super().metrics(outputs, batch)
        first = int(np.argmax(batch.mask[:, 0] > 0))
        label = batch.ys[-1].argmax(-1)
        out["onset_accuracy"] = float((outputs[first].argmax(-1) == label).mean())
        return out


def setup(cfg: dict, seed: int = 0):
    """(model, rule, task, optimizer) of the ReckOn network for ``cfg`` (FULL or SMALL)."""
    task = ReckOnCues(seed=seed, **cfg["task"])
    model = ns.models.make(
        "lif", n_in=task.n_in, n_out=N_OUT, n_hidden=cfg["n_hidden"], dtype="float32",
        tau_v=cfg["tau_v"], tau_out=20.0, readout_bias=False,
    )  # fmt: skip
    rule = ns.rules.make("eprop", feedback="symmetric", filter=False)
    return model, rule, task, ns.optim.sgd(cfg["lr"])


def nearest(profile):
    """The same profile with round-to-nearest (the control)."""
    return dataclasses.replace(profile, formats=dataclasses.replace(profile.formats, rounding="nearest"))


def run(cfg: dict, mode: str, seed: int = 0, ranges: dict | None = None):
    """One ``ns.chip.simulate`` run: mode "float", "profile" or "nearest"."""
    model, rule, task, opt = setup(cfg, seed)
    prof = ns.hardware.load_profile("reckon")
    return ns.chip.simulate(
        model, rule, task, nearest(prof) if mode == "nearest" else prof, steps=cfg["steps"], optimizer=opt,
        batch_size=1, seed=seed, formats="float" if mode == "float" else "profile", update_every=1,
        ranges=ranges,
    )  # fmt: skip


def offenders(run_, k: int = 4) -> list[dict]:
    """The ``k`` largest saturation and lost-update counts (array, kind, count over cores)."""
    rows = [
        {"array": name, "kind": kind, "count": int(sum(per_core))}
        for kind, arrays in run_.overflows.items()
        for name, per_core in arrays.items()
    ]
    return sorted(rows, key=lambda r: -r["count"])[:k]


def power(run_) -> dict:
    """The run's power at the profile's clock: energy over time, in µW (pJ/ns = mW), split into
    phases; and the clock a 1-ms (real-time) step would need for the counted cycles."""
    t_ns = float(run_.step_ns.sum())
    by_phase = {ph: float(run_.energy[:, :, i].sum()) / t_ns * 1e3 for i, ph in enumerate(run_.phases)}
    total = sum(by_phase.values())
    cycles_per_step = float(run_.cycles.sum(axis=2).max(axis=1).mean())
    static_mw = ns.hardware.load_profile(run_.profile).chip.static_power_mw
    return {
        "clock_MHz": run_.clock_mhz,
        "step_us_mean": t_ns / run_.step_ns.size / 1e3,
        "energy_nJ_per_step": run_.energy_pj / run_.step_ns.size / 1e3,
        "power_uW": total,
        "dynamic_power_uW": total - by_phase["static"],
        "static_share": by_phase["static"] / total,
        "power_uW_by_phase": by_phase,
        "cycles_per_step": cycles_per_step,
        "clock_MHz_for_1ms_steps": cycles_per_step / 1e3,
        # the same dynamic energy per step if the steps are 1 ms apart (ReckOn's real-time tick),
        # plus the profile's static power: only meaningful when cycles_per_step fit in 1 ms
        "realtime_power_uW": (total - by_phase["static"]) * t_ns / (run_.step_ns.size * 1e6) + 1e3 * static_mw,
    }


def curve(run_, name: str) -> np.ndarray:
    return np.array([m.get(name, np.nan) for m in run_.metrics], float)


def main(small: bool = False, out: Path | None = None) -> dict:
    cfg = SMALL if small else FULL
    runs = {mode: run(cfg, mode) for mode in ("float", "profile", "nearest")}
    k = max(1, cfg["steps"] // 4)
    report = {
        "config": {**cfg, "small": small, "n_out": N_OUT, "update_every": 1, "batch_size": 1, "seed": 0},
        "published": PUBLISHED,
        "number_formats": runs["profile"].number_formats,
    }
    for mode, r in runs.items():
        report[mode] = {
            "loss_first": float(np.mean(r.losses[:k])),
            "loss_last": float(np.mean(r.losses[-k:])),
            "accuracy_last": float(np.nanmean(curve(r, "accuracy")[-k:])),
            "onset_accuracy_last": float(np.nanmean(curve(r, "onset_accuracy")[-k:])),
            "offenders": offenders(r),
            "lost_updates_total": int(sum(sum(v) for v in r.overflows["lost_updates"].values())),
            "saturations_total": int(sum(sum(v) for v in r.overflows["saturations"].values())),
            "power": power(r),
            "curves": {
                "loss": [float(x) for x in r.losses],
                "accuracy": curve(r, "accuracy").tolist(),
                "onset_accuracy": curve(r, "onset_accuracy").tolist(),
            },  # fmt: skip
        }
    out = out or ROOT / "docs"
    _figure(report, out / ("reckon_eprop_small.png" if small else "reckon_eprop.png"))
    text = json.dumps(report, indent=1)

    def write(tmp):
        Path(tmp).write_text(text)

    atomic_write(str(out / ("reckon_eprop_small.json" if small else "reckon_eprop.json")), write)
    return report


def _figure(report: dict, path: Path) -> None:
    """The loss curves of ``report`` (each mode's ``curves``), raw and smoothed."""
    from neurosim.report.chip_plots import OKABE_ITO, _axes
    from neurosim.report.plots import _smooth

    cfg = report["config"]
    labels = {"float": "float32", "profile": "ReckOn formats, stochastic rounding",
              "nearest": "ReckOn widths, round-to-nearest"}  # fmt: skip
    ax = _axes(None)
    for mode, color in zip(labels, OKABE_ITO):
        y = np.asarray(report[mode]["curves"]["loss"])
        ax.plot(np.arange(len(y)), y, color=color, alpha=0.25, lw=0.8)
        ys = _smooth(y, max(2, len(y) // 6))
        ax.plot(np.arange(len(ys)) + len(y) - len(ys), ys, color=color, lw=1.8, label=labels[mode])
    ax.axhline(np.log(2), color="0.5", ls=":", lw=1, label="ln 2: the two classes at chance")
    ax.set_xlabel("training sample (online, one at a time)")
    ax.set_ylabel("loss (cross-entropy per recall step)")
    n_in = 4 * cfg["task"]["group"]
    ax.set_title(f"e-prop, cue accumulation, {n_in}-{cfg['n_hidden']}-{N_OUT} LIF network on the reckon profile",
                 fontsize=10)  # fmt: skip
    ax.legend(fontsize=8)
    ax.figure.savefig(path, dpi=120)


def replot(small: bool = False, out: Path | None = None) -> None:
    """Redraw the figure from the JSON a run wrote (no simulation)."""
    out = out or ROOT / "docs"
    stem = "reckon_eprop_small" if small else "reckon_eprop"
    _figure(json.loads((out / f"{stem}.json").read_text()), out / f"{stem}.png")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="the test's size: runs in seconds")
    ap.add_argument("--replot", action="store_true", help="redraw the figure from the JSON of an earlier run")
    args = ap.parse_args()
    if args.replot:
        replot(args.small)
        raise SystemExit(0)
    print(json.dumps({k: v for k, v in main(args.small).items() if k != "number_formats"}, indent=1))

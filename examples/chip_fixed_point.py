"""Learning on a chip's number formats: the same online_lru run in float (``ns.train``) and on
the loihi2 profile in its own formats (8-bit weights and traces, 16-bit gradients), with its
stochastic rounding and, as the control, with round-to-nearest. Writes
``docs/chip_float_vs_fixed.png`` and prints the mean loss over the first and last 20 iterations
and the largest saturation and lost-update counts.

    python examples/chip_fixed_point.py [--steps 200]   # about 30 s here
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import neurosim as ns
from neurosim.report.chip_plots import OKABE_ITO, _axes
from neurosim.report.plots import _smooth


def main(steps: int = 200) -> None:
    task = ns.tasks.make("copy", seed=0, pattern_len=5, pad=2, n_bits=2)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=16, width=16, dtype="float64")
    rule = ns.rules.make("online_lru")
    kw = dict(steps=steps, batch_size=8, optimizer=ns.optim.adam(3e-3), update_every="sequence")
    prof = ns.hardware.load_profile("loihi2")
    nearest = dataclasses.replace(prof, formats=dataclasses.replace(prof.formats, rounding="nearest"))
    curves = {"float (ns.train)": ns.train(model, rule, task, progress=False, **kw).losses}
    for label, p in (("loihi2 formats, stochastic rounding", prof), ("loihi2 formats, round-to-nearest", nearest)):
        run = ns.chip.simulate(model, rule, task, p, **kw)
        curves[label] = run.losses
        worst = sorted(
            (
                (sum(per_core), name, kind)
                for kind, arrays in run.overflows.items()
                for name, per_core in arrays.items()
            ),
            reverse=True,
        )[:3]
        print(f"{label}: " + ", ".join(f"{name} {k} {n:,}" for n, name, k in worst if n))
    ax = _axes(None)
    for (label, y), color in zip(curves.items(), OKABE_ITO):
        y = np.asarray(y)
        ax.plot(np.arange(len(y)), y, color=color, alpha=0.25, lw=0.8)
        ys = _smooth(y, 10)
        ax.plot(np.arange(len(ys)) + len(y) - len(ys), ys, color=color, lw=1.8, label=label)
        print(f"{label}: mean loss {y[:20].mean():.3f} (iterations 1-20) -> {y[-20:].mean():.3f} (last 20)")
    ax.set_xlabel("iteration (batch of 8)")
    ax.set_ylabel("loss (per-bit cross-entropy)")
    ax.set_title("online_lru on the copy task: float against Loihi 2's 8-bit formats")
    ax.legend(fontsize=8)
    out = Path(__file__).resolve().parents[1] / "docs" / "chip_float_vs_fixed.png"
    ax.figure.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    main(ap.parse_args().steps)

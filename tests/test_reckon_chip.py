"""ReckOn's e-prop on the chip simulation in ReckOn's own precisions (issue 11, "Must show").

Oracle: the published precisions, typed in from ReckOn's documentation (github.com/ChFrenkel/
ReckOn, doc/README.md §1, the neuron SRAM word layout, and §3, SPI_EN_STOCH_ROUND) and
/work/shared/reference/hardware.md — 8-bit input, recurrent and output weights, 16-bit membrane
(LIF neurons and the output neurons' register file), 12-bit input and 12-bit recurrent
eligibility traces, 10-bit output trace, stochastic rounding — not read from the profile. The
negative controls: the same profile without its output-trace entry maps that trace to the wrong
width and the oracle catches it; round-to-nearest at the same widths loses more updates and does
not learn. ``examples/reckon_eprop.py`` is the network and the runs.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import neurosim as ns

ROOT = Path(__file__).resolve().parents[1]

# array → published width (bits); the arrays of the 256-256-16 LIF network under e-prop with
# per-neuron traces: W_in, W_rec, W_out; membrane v, output membrane y; ε^v of the inputs and of
# the recurrent neurons, and the κ-filtered spikes (the output trace).
PUBLISHED_BITS = {
    "layer0.W_in": 8,
    "layer0.W_rec": 8,
    "dec.W": 8,
    "v": 16,
    "y": 16,
    "eprop.ev_in@0": 12,
    "eprop.ev_rec@0": 12,
    "eprop.zo@0": 10,
}
PUBLISHED_TRAINING_POWER_UW = 150.0  # "<150-µW training power budget", ISSCC 2022 (arXiv 2208.09759)


def _example():
    spec = importlib.util.spec_from_file_location("reckon_eprop", ROOT / "examples" / "reckon_eprop.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EX = _example()


def _widths(run) -> dict:
    return {k: (f["bits"], f["rounding"]) for k, f in run.number_formats.items() if k in PUBLISHED_BITS}


def test_reckon_run_holds_each_array_in_its_published_width():
    cfg = {**EX.SMALL, "steps": 1}
    run = EX.run(cfg, "profile")
    assert _widths(run) == {k: (b, "stochastic") for k, b in PUBLISHED_BITS.items()}
    # every stored array of the run is one of the published ones, none is left out: no gradient
    # format (update_every=1 stores no gradient, as ReckOn stores none) and no adaptation `a`
    # (a LIF network holds none of it)
    assert set(run.number_formats) == set(PUBLISHED_BITS)
    assert run.memory[0]["resident_elements"].get("a@0", 0) == 0
    assert not run.overflows["saturations"].get("grad:dec.W")


def test_a_profile_without_the_output_trace_entry_is_caught():
    """Negative control: drop ``eprop.zo`` from [formats.array_bits] and the output trace falls
    back to the 12-bit trace width, which the published list rejects."""
    prof = ns.hardware.load_profile("reckon")
    bits = {k: v for k, v in prof.array_bits.items() if k != "eprop.zo"}
    wrong = dataclasses.replace(prof, array_bits=bits)
    model, rule, task, opt = EX.setup(EX.SMALL)
    run = ns.chip.simulate(model, rule, task, wrong, steps=1, optimizer=opt, update_every=1)
    assert run.number_formats["eprop.zo@0"]["bits"] == 12
    assert _widths(run) != {k: (b, "stochastic") for k, b in PUBLISHED_BITS.items()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return EX.main(small=True, out=tmp_path_factory.mktemp("reckon"))


def test_reckon_formats_learn_and_nearest_rounding_loses_the_updates(small):
    """At the small size (30 samples, one at a time): in float and in ReckOn's formats the loss
    falls by more than a third; with round-to-nearest at the same widths it does not fall by even
    a tenth, and it loses more updates than stochastic rounding does."""
    fl, fx, nr = small["float"], small["profile"], small["nearest"]
    assert fl["loss_last"] < 0.67 * fl["loss_first"]
    assert fx["loss_last"] < 0.67 * fx["loss_first"]
    assert nr["loss_last"] > 0.9 * nr["loss_first"]
    assert nr["lost_updates_total"] > fx["lost_updates_total"]
    assert fl["lost_updates_total"] == 0 and fl["saturations_total"] == 0  # float counts nothing


def test_power_splits_into_phases_and_its_static_part_is_the_profiles(small):
    """The reported power is the sum of its phases, and its static part, the simulation's static
    energy over the simulated time, is the profile's static power (0.02 mW) — the step times and
    the static energy of the ChipRun agree."""
    p = small["profile"]["power"]
    assert p["power_uW"] == pytest.approx(sum(p["power_uW_by_phase"].values()))
    static_uW = 1e3 * ns.hardware.load_profile("reckon").chip.static_power_mw
    assert p["power_uW_by_phase"]["static"] == pytest.approx(static_uW)
    assert p["static_share"] == pytest.approx(static_uW / p["power_uW"])


@pytest.mark.slow
def test_full_size_reckon_network_in_its_formats(tmp_path):
    """The 256-256-16 network on ReckOn's cue-accumulation timing (T = 2250 ms): the published
    widths, the loss falls in ReckOn's formats, and the simulated training power at the
    profile's clock is within the published < 150 µW budget."""
    rep = EX.main(small=False, out=tmp_path)
    assert {k: rep["number_formats"][k]["bits"] for k in PUBLISHED_BITS} == PUBLISHED_BITS
    assert rep["profile"]["loss_last"] < rep["profile"]["loss_first"]
    assert rep["profile"]["power"]["power_uW"] < PUBLISHED_TRAINING_POWER_UW
    assert np.isfinite(rep["float"]["loss_last"])

"""``ns.chip.simulate`` with learning off against SANA-FE 2.2.9 run directly on the same network.

``test_sanafe.py`` checks the event model on rasters SANA-FE produced. Here the chip simulation
runs a neurosim LIF network on layouts of its own (a random scatter over six tiles; the mapper's
round-robin and auto layouts of 300 neurons, two cores on one tile), SANA-FE runs the same
network — its own dynamics, its own spikes — on its Loihi architecture, and the energy (static
aside) and time of every step agree to 1 % (measured: ≤ 3.4e-13 relative on every step but the
first; energy is held to 1e-9 here, as it does not depend on the order SANA-FE processes
messages in).

Making the two dynamics the same, on purpose:
- SANA-FE's ``loihi_lif`` truncates the potential to 1/64 every step and, with ``input_decay``
  0, adds this step's synaptic current; with weights on the 1/64 grid, threshold 1, leak 1 and
  soft reset it is neurosim's LIF with α = 1 (``tau_v`` = 1e300) and ``n_ref`` = 0 exactly:
  v^t = v^{t−1} + W_rec z^{t−1} + W_in x^t − z^{t−1}, a spike when v > 1.
- SANA-FE delays every synapse by one step, neurosim's model feeds x^t to v^t: SANA-FE's inputs
  spike with x^t at step t, its LIF neurons then spike at t + 1 as the chip's do at t, and its
  step t + 1 is the chip's step t. The inputs sent in that step are x^{t+1} there, x^t here:
  exactly K of the inputs spike every step, all onto every neuron (W_in dense), so the two cost
  the same. The readout (SANA-FE: a LIF that never fires, leak κ) is updated when a spike
  reached it the step before in both.
- The chip's step 0: its neurons integrate x^0 in the step x^0 is sent, and the event model —
  SANA-FE's convention: a neuron is updated when a packet reached it the step *before* — counts
  an update only for those that fire; SANA-FE's step 1 updates every neuron x^0 reached. The
  difference is checked to be exactly those neurons' update energy.
- A dense layer's synapses exist whatever their weights: weights that round to 0 on the grid
  are connected in SANA-FE too (the negative control drops them and misses by more than 1 %).
"""

from __future__ import annotations

import contextlib
import functools
import io

import numpy as np
import pytest

import neurosim as ns
from neurosim.chip.costs import ChipNet
from neurosim.hardware import mesh
from neurosim.hardware.layout import Layout
from neurosim.tasks.base import Batch, Task

sanafe = pytest.importorskip(
    "sanafe", reason="SANA-FE is not installed (pip install sanafe: the test extra installs it on Linux)"
)
from helpers import in_fresh_process, sanafe_loihi_arch  # noqa: E402

N_IN, K, N_OUT, T = 16, 5, 3, 40
TOL = 0.01


class KOfN(Task):
    """Exactly ``K`` of the ``N_IN`` inputs spike at every step, a random K-subset each step."""

    name, n_in, n_out, loss = "k_of_n", N_IN, N_OUT, "mse"

    def batch(self, index: int, batch_size: int) -> Batch:
        rng = self.rng(index)
        xs = np.zeros((T, batch_size, N_IN))
        for t in range(T):
            for b in range(batch_size):
                xs[t, b, rng.choice(N_IN, K, replace=False)] = 1.0
        return Batch(xs, np.zeros((T, batch_size, N_OUT)), np.ones((T, batch_size)))


def integrate_and_fire(n: int):
    model = ns.models.make("lif", n_in=N_IN, n_out=N_OUT, n_hidden=n, tau_v=1e300, tau_out=20.0, n_ref=0,
                           readout_bias=False, v_th=1.0)  # fmt: skip
    assert model.alpha == 1.0
    init = model.init(0)
    grid = {k: np.round(v * 64) / 64 for k, v in init.items()}  # Loihi's 1/64 resolution
    grid["layer0.W_in"] = np.round(init["layer0.W_in"] * 3 * 64) / 64  # drive enough to fire
    assert (grid["layer0.W_rec"] == 0).sum() > n  # some weights round to zero: the control bites
    return model, grid


def scattered(model, profile) -> Layout:
    rng = np.random.default_rng(7)
    cores = [3, 6, 17, 42, 77, 126]  # six tiles, both mesh directions
    where = rng.integers(0, len(cores), model.n)
    spec = []
    for i, c in enumerate(cores):
        x, y = mesh.default_site(profile, c)
        spec.append({"core": c, "x": int(x), "y": int(y), "layers": {0: np.nonzero(where == i)[0].tolist()}})
    return Layout.build(spec)


def mapped(method: str):
    def make(model, profile) -> Layout:
        return ns.mapping.map_network(model, profile, rule=ns.rules.make("eprop"), method=method).layout

    return make


CASES = {"scattered": (60, scattered), "round_robin": (300, mapped("round_robin")), "auto": (300, mapped("auto"))}


@functools.cache
def runs(case: str, drop_zero_weights: bool = False):
    """The chip run (learning off, float formats) and SANA-FE's energy (pJ), time (ns) and LIF
    raster per step, its step s + 1 aligned with the chip's step s."""
    n, make_layout = CASES[case]
    profile = ns.hardware.load_profile("loihi")
    model, params = integrate_and_fire(n)
    layout = make_layout(model, profile)
    task = KOfN(seed=1)
    run = ns.chip.simulate(model, ns.rules.make("eprop"), task, profile, layout=layout, steps=1, formats="float",
                           learn=False, activity="off", params=params)  # fmt: skip
    xs = task.batch(0, 1).xs[:, 0] != 0
    _, zs, _ = model.run(params, task.batch(0, 1).xs, record=True)
    core_of = ChipNet(model, ns.rules.make("eprop"), profile, layout).core_of

    steps = T + 1
    x_sf = np.zeros((steps, N_IN), bool)
    x_sf[:T] = xs
    x_sf[T, np.random.default_rng(3).choice(N_IN, K, replace=False)] = True  # the chip's step T − 1's inputs' cost
    energy, time, raster = in_fresh_process(_sanafe_here, n, model.kappa, params, core_of, x_sf, drop_zero_weights)
    return run, zs[:, 0] != 0, raster[1:], energy[1:], time[1:], profile


def _sanafe_here(n, kappa, params, core_of, x_sf, drop_zero_weights):
    """SANA-FE's energy (pJ), time (ns) and LIF raster per step of the network (module docstring)."""
    steps = x_sf.shape[0]
    arch = sanafe.load_arch(sanafe_loihi_arch())
    cores = arch.cores()
    net = sanafe.Network()
    inp = net.create_neuron_group("in", N_IN)
    for i, neuron in enumerate(inp):
        neuron.set_attributes(soma_hw_name=f"loihi_inputs[{i}]", model_attributes={"spikes": x_sf[:, i].tolist()})
    kw = dict(soma_hw_name="loihi_lif", default_synapse_hw_name="loihi_dense_synapse", log_spikes=True)
    lif = {"threshold": 1.0, "leak_decay": 1.0, "input_decay": 0.0, "reset": 0.0, "reset_mode": "soft"}
    readout = {"threshold": 1e30, "leak_decay": kappa, "input_decay": 0.0, "reset_mode": "none"}
    hid = net.create_neuron_group("hid", n, model_attributes=lif, **kw)
    out = net.create_neuron_group("out", N_OUT, model_attributes=readout, **kw)
    for a, b, W in ((inp, hid, params["layer0.W_in"]), (hid, hid, params["layer0.W_rec"]), (hid, out, params["dec.W"])):
        exists = np.ones(W.shape, bool) if a is not b else ~np.eye(n, dtype=bool)  # no autapses
        if drop_zero_weights:
            exists &= W != 0
        j, i = np.nonzero(exists)
        a.connect_neurons_sparse(b, {"weight": W[j, i].tolist()}, list(zip(i.tolist(), j.tolist())))
    for i, neuron in enumerate([nrn for g in (inp, hid, out) for nrn in g]):  # node order: a core's order
        neuron.map_to_core(cores[int(core_of[i])])
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    with contextlib.redirect_stdout(io.StringIO()):
        res = chip.sim(steps, timing_model="detailed", spike_trace=True, perf_trace=True)
    raster = np.zeros((steps, n), bool)
    for t, spikes in enumerate(res["spike_trace"]):
        for s in spikes:
            if s.group_name == "hid":
                raster[t, s.neuron_offset] = True
    energy = np.array(res["perf_trace"]["total_energy"]) * 1e12
    time = np.array(res["perf_trace"]["sim_time"]) * 1e9
    return energy, time, raster


def chip_energy(run) -> np.ndarray:
    return run.energy[:, :, : ns.chip.PHASES.index("static")].sum((1, 2))


@pytest.mark.parametrize("case", list(CASES))
def test_chip_inference_costs_what_sanafe_costs_on_the_same_network(case):
    run, chip_raster, sf_raster, energy, time, profile = runs(case)
    assert len(run.cores) >= 2, "the case is on one core: it sends no packet between cores"
    assert chip_raster.sum(1).min() > 0, "a step without spikes checks little"
    np.testing.assert_array_equal(sf_raster, chip_raster)  # the same dynamics, so the same spikes
    # … and the chip run fired those (model.run is the reference; spike_out counts the LIF units')
    np.testing.assert_array_equal(run.events["spike_out"].sum(1), chip_raster.sum(1))
    assert np.abs(chip_energy(run)[1:] / energy[1:] - 1).max() <= min(TOL, 1e-9)
    assert np.abs(run.step_ns / time - 1).max() <= TOL
    if case == "scattered":  # the case that checks the mesh: hops in both directions
        assert run.events["hops_ew"].sum() > 0 and run.events["hops_ns"].sum() > 0
    # step 0: SANA-FE also updates every LIF neuron that x^0 reached and that did not fire
    ops = profile.ops  # an update's energy beyond the access every live neuron costs anyway
    missing = (~chip_raster[0]).sum() * (ops.neuron_update_energy_pj - ops.neuron_access_energy_pj)
    assert energy[0] - chip_energy(run)[0] == pytest.approx(missing, rel=1e-9)
    assert missing > 1e6 * np.abs(chip_energy(run)[1:] / energy[1:] - 1).max() * energy[0]  # not round-off


def test_sanafe_without_the_zero_weight_synapses_is_another_chip():
    """Negative control: connecting only the non-zero weights in SANA-FE (a sparse chip) costs
    fewer synaptic events than the dense layers the chip simulated, by more than 1 %."""
    run, chip_raster, sf_raster, energy, _, _ = runs("scattered", drop_zero_weights=True)
    np.testing.assert_array_equal(sf_raster, chip_raster)  # the same spikes …
    assert np.abs(chip_energy(run)[1:] / energy[1:] - 1).min() > TOL  # … not the same cost


def test_the_simple_timing_model_is_not_sanafes_detailed_one():
    """Negative control: the chip's simple NoC model misses SANA-FE's detailed timing by > 1 %."""
    run, _, _, _, time, profile = runs("scattered")
    n, make_layout = CASES["scattered"]
    model, params = integrate_and_fire(n)
    layout = make_layout(model, profile)
    simple = ns.chip.simulate(model, ns.rules.make("eprop"), KOfN(seed=1), profile, layout=layout, steps=1,
                              formats="float", learn=False, activity="off", params=params, timing="simple")  # fmt: skip
    assert np.abs(simple.step_ns / time - 1).max() > TOL
    assert np.array_equal(chip_energy(simple), chip_energy(run))  # energy does not depend on timing

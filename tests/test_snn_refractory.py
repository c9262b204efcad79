"""Refractoriness as Brian2 writes it beyond a fixed time: a per-neuron time (``refractory="tref"``
with ``tref : second``), a condition on v (``refractory="v > -56*mV"``), and v integrating through
refractoriness (no '(unless refractory)' on v) — against Brian2 (numpy target), imported from the
Brian2 objects and built by hand, each with a control that must differ."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brian2_numpy_scope

from neurosim.snn import populations as P

b2 = pytest.importorskip("brian2")


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(0.1)


def _set(mon, dt=0.1):
    return set(zip(np.rint(np.asarray(mon.t / b2.ms) / dt).astype(int).tolist(), np.asarray(mon.i).tolist()))


def _ours(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


def _drive(brian, G, n, rng, steps):
    """Poisson excitation and inhibition onto ge/gi (exponential currents), as a generator both
    simulators see; returns (SpikeInput, [Brian2 objects], projections for channel names e/i)."""
    drive = P.poisson("drive", 200, 80.0, steps * 0.1, dt=0.1, seed=4)
    gen = P.to_brian2_generator(drive, brian)
    m = rng.random((200, n)) < 0.15
    i, j = np.nonzero(m)
    w = np.where(i < 150, 3.0, -2.5) * rng.uniform(0.5, 1.5, i.size)
    objs = [gen]
    projs = []
    for sel, var, ch in ((i < 150, "ge", "e"), (i >= 150, "gi", "i")):
        S = brian.Synapses(gen, G, "w : volt", on_pre=f"{var}_post += w")
        S.connect(i=i[sel], j=j[sel])
        S.w = w[sel] * brian.mV
        objs.append(S)
        projs.append(P.projection("drive", "p", i[sel], j[sel], w[sel], ch))
    return drive, objs, projs


EQS = """dv/dt = (ge + gi - (v - El)) / taum : volt{flag}
dge/dt = -ge / taue : volt
dgi/dt = -gi / taui : volt
tref : second"""
NS = dict(El=-58 * b2.mV, taum=20 * b2.ms, taue=5 * b2.ms, taui=10 * b2.ms, Vt=-50 * b2.mV, Vr=-55 * b2.mV)


@pytest.mark.parametrize(
    "case",
    [
        # (refractory, '(unless refractory)' on v, population keywords)
        ("tref", True, None),  # a per-neuron time, v held
        ("tref", False, None),  # a per-neuron time, v integrating through it
        ("v > -56*mV", False, dict(refractory_condition="v > -56.0", v_during_refractory=True)),
        # at V_r = -55 exactly: '>=' holds after the reset, '>' would not (the control below)
        ("v >= -55*mV", False, dict(refractory_condition="v >= -55.0", v_during_refractory=True)),
    ],
)
def test_refractoriness_as_brian2(brian, case):
    ref, clamp, kw = case
    rng = np.random.default_rng(2)
    n, steps = 200, 2000
    G = brian.NeuronGroup(n, EQS.format(flag=" (unless refractory)" if clamp else ""), threshold="v > Vt",
                          reset="v = Vr", refractory=ref, method="exact", namespace=NS)  # fmt: skip
    tref = rng.uniform(1.0, 6.0, n)  # ms, off the dt grid: Brian2's timestep() rounding applies
    G.tref = tref * brian.ms
    v0 = -58.0 + 8.0 * rng.random(n)
    G.v = v0 * brian.mV
    drive, objs, projs = _drive(brian, G, n, rng, steps)
    from neurosim.snn.brian2_network import from_brian2_network

    imported, v_imp = from_brian2_network([G, *objs], namespace={})
    mon = brian.SpikeMonitor(G)
    brian.Network(G, *objs, mon).run(steps * 0.1 * brian.ms)
    theirs = _set(mon)
    assert len(theirs) > 150
    assert _ours(P.simulate(imported, steps, v0=v_imp)) == theirs
    # by hand
    if kw is None:
        kw = dict(refractory=np.floor((tref * 1e-3 + 1e-3 * 1e-4) / 1e-4) * 0.1, v_during_refractory=not clamp)
    pop = P.Population("p", n, tau_m=20.0, E_l=-58.0, V_t=-50.0, V_r=-55.0, channels={"e": 5.0, "i": 10.0}, **kw)
    net = P.build([pop], projs, [drive])
    assert _ours(P.simulate(net, steps, v0=v0)) == theirs
    # controls: the other clamping, and (for a condition) a refractory time of one step instead
    other = dict(kw, v_during_refractory=not kw["v_during_refractory"])
    if "refractory_condition" in kw:  # '>=' becomes '>', '>' becomes one step of refractoriness
        ge = kw["refractory_condition"].startswith("v >=")
        other = dict(refractory_condition="v > -55.0", v_during_refractory=True) if ge else dict(
            refractory=0.1, v_during_refractory=True)  # fmt: skip
    bad = P.Population("p", n, tau_m=20.0, E_l=-58.0, V_t=-50.0, V_r=-55.0, channels={"e": 5.0, "i": 10.0}, **other)
    assert _ours(P.simulate(P.build([bad], projs, [drive]), steps, v0=v0)) != theirs


def test_refractory_condition_errors(brian):
    with pytest.raises(ValueError, match=r"p.refractory_condition.*'v <op> <number>'"):
        P.build([P.Population("p", 2, refractory_condition="w > 3")])
    G = brian.NeuronGroup(2, EQS.format(flag=""), threshold="v > Vt", reset="v = Vr", refractory="ge > 1*mV",
                          method="exact", namespace=NS)  # fmt: skip
    from neurosim.snn.brian2_network import from_brian2_network

    with pytest.raises(ValueError, match=r"refractory condition 'ge > 1\*mV'.*a condition on v only"):
        from_brian2_network([G], namespace={})

"""The adaptive exponential neuron (AdEx, Brette & Gerstner 2005) in ``snn.populations``, by forward
Euler as Brian2's ``method="euler"``: against Brian2 (numpy target) on a Poisson-driven population
with recurrent synapses — identical spikes over the first tens of milliseconds, equal rates and
ISI CVs over the run — and the firing patterns the model is known for, each with a control."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import brian2_numpy_scope

from neurosim.snn import populations as P

b2 = pytest.importorskip("brian2")

EQS = """dv/dt = (DeltaT*exp((v - VT)/DeltaT) + El - v + ge + gi - w)/taum : volt (unless refractory)
dw/dt = (a*(v - El) - w)/tauw : volt
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt"""
ADEX = dict(delta_T=2.0, V_T=-50.0, a=0.5, tau_w=100.0, b=3.0)


@pytest.fixture()
def brian():
    yield from brian2_numpy_scope(0.1)


def _ours(res):
    return set(zip(res.spike_step.tolist(), res.spike_i.tolist()))


def _stats(pairs, n, seconds):
    by: dict[int, list[int]] = {}
    for t, i in sorted(pairs):
        by.setdefault(i, []).append(t)
    isis = [np.diff(ts) for ts in by.values() if len(ts) > 2]
    return len(pairs) / n / seconds, float(np.mean([d.std() / d.mean() for d in isis]))


def test_adex_against_brian2_euler(brian):
    ms, mV = brian.ms, brian.mV
    rng = np.random.default_rng(6)
    n, n_in, steps = 300, 200, 5000
    ns = dict(DeltaT=2 * mV, VT=-50 * mV, El=-65 * mV, taum=20 * ms, a=0.5, tauw=100 * ms, taue=5 * ms,
              taui=10 * ms, Vcut=-30 * mV, Vr=-58 * mV, b=3 * mV)  # fmt: skip
    G = brian.NeuronGroup(n, EQS, threshold="v > Vcut", reset="v = Vr; w += b", refractory=2 * ms, method="euler",
                          namespace=ns)  # fmt: skip
    v0 = -65.0 + 10.0 * rng.random(n)
    G.v = v0 * mV
    drive = P.poisson("drive", n_in, 60.0, steps * 0.1, dt=0.1, seed=12)
    gen = P.to_brian2_generator(drive, brian)
    xi, xj = np.nonzero(rng.random((n_in, n)) < 0.1)
    wx = rng.uniform(2.0, 6.0, xi.size)
    ri, rj = np.nonzero(rng.random((n, n)) < 0.05)
    rw = np.where(ri < 240, 1.0, -4.0) * rng.uniform(0.5, 1.5, ri.size)
    objs = [gen]
    for src, i, j, w, var in ((gen, xi, xj, wx, "ge"), (G, ri[ri < 240], rj[ri < 240], rw[ri < 240], "ge"),
                              (G, ri[ri >= 240], rj[ri >= 240], rw[ri >= 240], "gi")):  # fmt: skip
        S = brian.Synapses(src, G, "wsyn : volt", on_pre=f"{var}_post += wsyn")
        S.connect(i=i, j=j)
        S.wsyn = w * mV
        objs.append(S)
    mon = brian.SpikeMonitor(G)
    from neurosim.snn.brian2_network import from_brian2_network

    imported, v_imp = from_brian2_network([G, *objs], namespace={})  # before the run: its start state
    brian.Network(G, *objs, mon).run(steps * 0.1 * ms)
    theirs = set(zip(np.rint(np.asarray(mon.t / ms) / 0.1).astype(int).tolist(), np.asarray(mon.i).tolist()))

    def ours(adex):
        pop = P.Population("p", n, tau_m=20.0, E_l=-65.0, V_t=-30.0, V_r=-58.0, refractory=2.0,
                           channels={"e": 5.0, "i": 10.0}, adex=adex)  # fmt: skip
        e, i_ = ri < 240, ri >= 240
        projs = [P.projection("drive", "p", xi, xj, wx, "e"), P.projection("p", "p", ri[e], rj[e], rw[e], "e"),
                 P.projection("p", "p", ri[i_], rj[i_], rw[i_], "i")]  # fmt: skip
        return _ours(P.simulate(P.build([pop], projs, [drive]), steps, v0=v0))

    mine = ours(ADEX)
    assert len(theirs) > 2000
    early = {x for x in theirs if x[0] < 300}  # the first 30 ms: identical
    assert len(early) > 50 and {x for x in mine if x[0] < 300} == early
    assert mine == theirs  # measured here: all 500 ms of them (2162 spikes), the same arithmetic
    (r1, c1), (r2, c2) = _stats(mine, n, 0.5), _stats(theirs, n, 0.5)
    assert abs(r1 - r2) <= 0.03 * r2 and abs(c1 - c2) <= 0.05 * c2, (r1, r2, c1, c2)
    # imported from the Brian2 objects (method="euler" groups with one exponential term: AdEx)
    assert _ours(P.simulate(imported, steps, v0=v_imp)) == theirs
    # controls: no adaptation (b = 0, a = 0) changes the first 30 ms already and raises the rate
    flat = ours(dict(ADEX, a=0.0, b=0.0))
    assert {x for x in flat if x[0] < 300} != early and len(flat) > 1.1 * len(theirs)


def test_adex_adapts_and_bursts():
    """Constant current: tonic spiking with adaptation (ISIs lengthen) for a = 0.5, b = 3 mV;
    without adaptation (a = b = 0) the ISIs are constant after the first."""
    pop = dict(tau_m=20.0, E_l=-65.0, V_t=-30.0, V_r=-58.0, refractory=0.0, channels={"e": 5.0})

    def isis(adex):
        net = P.build([P.Population("p", 1, adex=adex, **pop)])
        res = P.simulate(net, 20000, v0=[-65.0], current=np.array([25.0]))
        return np.diff(res.spike_step)

    adapting = isis(ADEX)
    assert adapting.size > 5 and adapting[-1] > 1.5 * adapting[0]
    plain = isis(dict(ADEX, a=0.0, b=0.0))
    assert plain.size > adapting.size and np.ptp(plain[1:]) <= 1


def test_adex_import_refusals(brian):
    from neurosim.snn.brian2_network import from_brian2_network

    ms, mV = brian.ms, brian.mV
    ns = dict(DeltaT=2 * mV, VT=-50 * mV, El=-65 * mV, taum=20 * ms, a=0.5, tauw=100 * ms, taue=5 * ms,
              taui=10 * ms, Vcut=-30 * mV, Vr=-58 * mV, b=3 * mV)  # fmt: skip
    # two exponentials with different slopes (the same slope would just be one with another V_T)
    two = EQS.replace("DeltaT*exp((v - VT)/DeltaT)", "DeltaT*exp((v - VT)/DeltaT) + DeltaT*exp((v - VT)/(2*DeltaT))")
    G = brian.NeuronGroup(2, two, threshold="v > Vcut", reset="v = Vr; w += b", method="euler", namespace=ns)
    with pytest.raises(ValueError, match=r"exactly one exponential term in v"):
        from_brian2_network([G], namespace={})
    quad = EQS.replace("DeltaT*exp((v - VT)/DeltaT)", "(v - VT)**2/DeltaT")  # a quadratic neuron
    H = brian.NeuronGroup(2, quad, threshold="v > Vcut", reset="v = Vr; w += b", method="euler", namespace=ns)
    with pytest.raises(ValueError, match=r"exactly one exponential term in v"):
        from_brian2_network([H], namespace={})
    K = brian.NeuronGroup(2, EQS, threshold="v > Vcut", reset="v = Vr; w += b", method="rk4", namespace=ns)
    with pytest.raises(ValueError, match=r"integration method 'rk4'.*'euler'"):
        from_brian2_network([K], namespace={})


def test_adex_errors():
    with pytest.raises(ValueError, match=r"p.adex.*exactly the keys"):
        P.build([P.Population("p", 2, adex={"delta_T": 2.0})])
    with pytest.raises(ValueError, match=r"p.adex.*current-based"):
        P.build([P.Population("p", 2, channels={"e": 5.0}, reversal={"e": 0.0}, adex=ADEX)])
    with pytest.raises(ValueError, match=r"delta_T"):
        P.build([P.Population("p", 2, adex=dict(ADEX, delta_T=0.0))])

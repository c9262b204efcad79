"""The chip's number formats: scaling, unbiased stochastic rounding (with round-to-nearest as
the negative control), saturation and lost-update counters per array and core, and learning in
fixed point on the copy task with the loihi2 profile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurosim as ns
from neurosim.chip.numbers import ArrayFormat, Store, frac_bits
from neurosim.chip.owners import Placement


def _fmt(rounding: str, bits: int = 8, frac: int = 7) -> ArrayFormat:
    return ArrayFormat("w", "weight", bits, "fixed", frac, rounding, True)


def z_of_mean(values: np.ndarray, want: float, lsb: float) -> float:
    """z of the sample mean against ``want``, with the variance of a stochastic rounding between
    the two grid points around ``want`` (p (1 − p) LSB²)."""
    p = (want / lsb) % 1.0
    sd = lsb * np.sqrt(p * (1 - p))
    return float((values.mean() - want) / (sd / np.sqrt(values.size)))


@pytest.mark.parametrize("update_lsb", [0.3, 0.05])
def test_stochastic_rounding_is_unbiased_and_nearest_is_not(update_lsb):
    """A sub-LSB update of N weights on the grid: stochastic rounding stores it in expectation
    (|z| < 4), round-to-nearest loses all of it and the same z test detects the bias."""
    n = 20000
    lsb = 2.0**-7
    w0 = np.full(n, 0.25)
    place = Placement(np.zeros(n, np.int64))
    results = {}
    for rounding in ("stochastic", "nearest"):
        store = Store(seed=3, n_cores=1)
        w = w0 + update_lsb * lsb
        store.write(_fmt(rounding), w, place, old=w0)
        results[rounding] = (w - w0, int(store.lost.get("w", [0])[0]))
    delta, lost = results["stochastic"]
    assert abs(z_of_mean(delta, update_lsb * lsb, lsb)) < 4.0
    # the lost updates are the ones rounded down: a binomial count around (1 − p) n
    assert abs(lost - (1 - update_lsb) * n) < 4 * np.sqrt(n * update_lsb * (1 - update_lsb))
    delta, lost = results["nearest"]
    assert abs(z_of_mean(delta, update_lsb * lsb, lsb)) > 10.0  # the negative control: biased, detected
    assert lost == n and not delta.any()


def test_stochastic_rounding_is_reproducible_from_the_seed():
    x = np.linspace(-0.5, 0.5, 1001)
    place = Placement(np.zeros(x.size, np.int64))
    a, b, c = x.copy(), x.copy(), x.copy()
    Store(1, 1).write(_fmt("stochastic"), a, place)
    Store(1, 1).write(_fmt("stochastic"), b, place)
    Store(2, 1).write(_fmt("stochastic"), c, place)
    np.testing.assert_array_equal(a, b)
    assert np.any(a != c)


def test_saturations_and_lost_updates_count_on_the_owning_core():
    """Elements owned by core 2 saturate, core 0's do not; a batch axis counts every sample."""
    cores = np.array([0, 0, 2, 2, -1])  # the last element is stored nowhere
    place = Placement(cores)
    store = Store(0, 3)
    x = np.array([[0.1, -0.2, 5.0, -7.0, 9.0], [0.0, 0.0, 0.0, 3.0, 0.0]])  # (batch 2, 5)
    store.write(_fmt("nearest"), x, place)
    np.testing.assert_array_equal(store.saturations["w"], [0, 0, 3])
    assert x.max() == 127 / 128 and x.min() == -1.0
    # lost updates: core 0's update is below half an LSB, core 2's is not
    old = np.array([0.5, 0.5, 0.5, 0.5, 0.5])
    new = old + np.array([0.001, 0.0, 0.02, 0.0, 0.001])
    store.write(_fmt("nearest"), new, place, old=old)
    np.testing.assert_array_equal(store.lost["w"], [1, 0, 0])
    # a copy on every core of its layer counts on each
    copies = Placement(None, (0, 1), 3)
    y = np.array([2.0, 0.0, 0.0])
    store.write(_fmt("nearest"), y, copies)
    assert store.saturations["w"].tolist() == [1, 1, 3]


def test_a_placement_by_rows_counts_as_its_map_does():
    """A row placement (the core of each row, no map built) counts elements, masked elements and
    a store's saturations per core exactly as the same placement as a full map; a row stored
    nowhere (−1) counts nowhere."""
    rows = np.array([0, 2, 2, -1, 1, 0])
    shape = (6, 4, 3)
    by_rows = Placement.by_rows(rows, shape)
    full = Placement(np.broadcast_to(rows[:, None, None], shape).copy())
    rng = np.random.default_rng(5)
    mask = rng.random(shape) < 0.4
    assert by_rows.count(n_cores=3).tolist() == full.count(n_cores=3).tolist() == [24, 12, 24]
    np.testing.assert_array_equal(by_rows.count(mask, 3), full.count(mask, 3))
    assert "_map" not in by_rows.__dict__  # counting never built the map
    assert not by_rows.all_stored() and Placement.by_rows(rows[rows >= 0], (5, 4, 3)).all_stored()
    x = rng.normal(0, 2.0, (2,) + shape)
    a, b = Store(0, 3), Store(0, 3)
    a.write(_fmt("nearest"), x.copy(), by_rows)
    b.write(_fmt("nearest"), x.copy(), full)
    np.testing.assert_array_equal(a.saturations["w"], b.saturations["w"])
    assert a.saturations["w"].sum() > 0
    np.testing.assert_array_equal(by_rows.cores, full.cores)  # the map, when asked for
    # negative control: other rows' cores count differently
    assert by_rows.count(mask, 3).tolist() != Placement.by_rows(rows[::-1], shape).count(mask, 3).tolist()


def test_scaling_is_the_smallest_power_of_two_above_the_range():
    assert frac_bits(8, 0.5) == 7 - 0  # [-1, 1): 0.5 < 1
    assert frac_bits(8, 1.0) == 7 - 1  # 1.0 needs [-2, 2)
    assert frac_bits(8, 3.0) == 7 - 2
    assert frac_bits(16, 0.1) == 15 + 3  # [-1/8, 1/8)
    model = ns.models.make("lru", n_in=3, n_out=2, n_hidden=4, width=5)
    task = ns.tasks.make("copy", n_bits=2, pattern_len=2, pad=0)
    run = ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", steps=1)
    params = model.init(0)
    for name, f in run.number_formats.items():
        if name in params and np.abs(params[name]).max() > 0:
            top = np.abs(params[name]).max() * 2.0 ** f["frac_bits"]
            assert 2 ** (f["bits"] - 2) <= top < 2 ** (f["bits"] - 1), name  # the top code used, none saturated


def _copy_run(rounding: str, steps: int):
    task = ns.tasks.make("copy", seed=0, pattern_len=5, pad=2, n_bits=2)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=16, width=16, dtype="float64")
    prof = ns.hardware.load_profile("loihi2")
    assert prof.formats.rounding == "stochastic" and prof.formats.weight_bits == 8
    if rounding == "nearest":
        prof = dataclasses.replace(prof, formats=dataclasses.replace(prof.formats, rounding="nearest"))
    return ns.chip.simulate(model, ns.rules.make("online_lru"), task, prof, steps=steps, batch_size=8,
                            optimizer=ns.optim.adam(3e-3), update_every="sequence")  # fmt: skip


@pytest.mark.parametrize("rounding", ["stochastic", "nearest"])
def test_fixed_point_learning_progresses_on_the_copy_task_with_loihi2(rounding):
    """8-bit weights, 8-bit traces, 16-bit gradients: with loihi2's stochastic rounding the loss
    falls (0.69 → about 0.5 in 60 iterations, as float does); round-to-nearest loses every
    sub-LSB Adam step (lr 3e-3 against an LSB of 2⁻⁷) and does not learn — the negative control."""
    run = _copy_run(rounding, 60)
    first, last = run.losses[:10].mean(), run.losses[-10:].mean()
    lost = sum(sum(v) for v in run.overflows["lost_updates"].values())
    assert lost > 0
    if rounding == "stochastic":
        assert last < first - 0.08, run.losses
    else:
        assert last > first - 0.02, run.losses


@pytest.mark.slow
def test_fixed_point_learning_curve_200_iterations():
    run = _copy_run("stochastic", 200)
    assert run.losses[-20:].mean() < 0.3, run.losses
    assert _copy_run("nearest", 200).losses[-20:].mean() > 0.65


def _float_profile(bits: int):
    p = ns.hardware.load_profile("loihi2")
    f = dataclasses.replace(p.formats, number="float", weight_bits=bits, state_bits=bits, trace_bits=bits,
                            gradient_bits=bits)  # fmt: skip
    return dataclasses.replace(p, formats=f, array_bits={})


@pytest.mark.parametrize("rule_name", ["online_lru", "eprop"])
def test_every_write_goes_through_the_format(rule_name):
    """A profile of 64-bit floats stores every array unchanged: ``formats="profile"`` then equals
    ``ns.train`` bit for bit (the writes are the identity); 16-bit floats change the run (every
    stored array is rounded: the negative control)."""
    if rule_name == "eprop":
        task = ns.tasks.make("pattern", seed=0, n_in=5, T=25, rate_hz=200.0)
        model = ns.models.make("alif", n_in=5, n_out=task.n_out, n_hidden=9, n_alif=5, dtype="float64")
    else:
        task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
        model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, dtype="float64")
    rule = ns.rules.make(rule_name)
    kw = dict(optimizer=ns.optim.adam(3e-3), steps=3, batch_size=2, update_every=2, activity="off")
    want = ns.train(model, rule, task, progress=False, **kw)
    exact = ns.chip.simulate(model, rule, task, _float_profile(64), **kw)
    np.testing.assert_array_equal(exact.losses, want.losses)
    assert all(np.array_equal(exact.params[k], want.params[k]) for k in want.params)
    half = ns.chip.simulate(model, rule, task, _float_profile(16), **kw)
    assert not np.array_equal(half.losses, want.losses)
    assert all(np.array_equal(v.astype(np.float16).astype(np.float64), v) for v in half.params.values())


def _nearest(profile):
    return dataclasses.replace(profile, formats=dataclasses.replace(profile.formats, rounding="nearest"))


def _quantised(x, fmt: dict) -> np.ndarray:
    """Round-to-nearest, saturating, on ``fmt``'s grid: the format, written out independently."""
    lsb = 2.0 ** -fmt["frac_bits"]
    hi = 2 ** (fmt["bits"] - 1) - 1
    return np.clip(np.round(np.asarray(x, np.float64) / lsb), -hi - 1, hi) * lsb


def test_optimizer_formats_hold_adams_moments_and_v_underflows():
    """``optimizer_formats=True`` on loihi2 (16-bit fixed point, round to nearest): after one
    update, Adam's m and v are exactly the float moments of the same run rounded on their grid (the
    run is identical up to the update: moments are read only there), and most of v — squared
    gradients times 1 − β₂ — underflows to zero, which is why chips learn with SGD. Without the
    option the moments stay float, off the grid (the negative control)."""
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, dtype="float64")
    rule = ns.rules.make("online_lru")
    prof = _nearest(ns.hardware.load_profile("loihi2"))
    kw = dict(optimizer=ns.optim.adam(3e-3), steps=1, batch_size=2, activity="off")
    held = ns.chip.simulate(model, rule, task, prof, optimizer_formats=True, **kw)
    free = ns.chip.simulate(model, rule, task, prof, **kw)
    np.testing.assert_array_equal(held.losses, free.losses)
    under = total = 0
    for name in free.params:
        for part in ("m", "v"):
            fmt = held.number_formats[f"{part}:{name}"]
            assert fmt["role"] == "optimizer" and fmt["bits"] == prof.bits_of("optimizer", "gradient")
            want = _quantised(getattr(free.opt_state, part)[name], fmt)
            np.testing.assert_array_equal(getattr(held.opt_state, part)[name], want, err_msg=f"{part}:{name}")
        v_free, v_held = free.opt_state.v[name], held.opt_state.v[name]
        under += int(((v_free > 0) & (v_held == 0)).sum())
        total += int((v_free > 0).sum())
    assert under > total / 2, (under, total)
    off_grid = [np.any(_quantised(v, held.number_formats[f"v:{k}"]) != v) for k, v in free.opt_state.v.items()]
    assert any(off_grid)


def test_optimizer_formats_with_momentum_sgd_learns_and_is_refused_when_not_a_bool():
    """Momentum SGD's one moment on the grid every update, and the copy task's loss still falls
    over a few iterations; ``optimizer_formats`` must be a bool."""
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, dtype="float64")
    rule = ns.rules.make("online_lru")
    prof = ns.hardware.load_profile("loihi2")
    run = ns.chip.simulate(model, rule, task, prof, optimizer=ns.optim.sgd(0.3, momentum=0.9), steps=12,
                           batch_size=4, activity="off", optimizer_formats=True)  # fmt: skip
    for name, m in run.opt_state.m.items():
        lsb = 2.0 ** -run.number_formats[f"m:{name}"]["frac_bits"]
        np.testing.assert_array_equal(np.round(m / lsb) * lsb, m)
    assert "v:enc.W" not in run.number_formats  # momentum keeps one moment
    assert run.losses[-3:].mean() < run.losses[:3].mean()
    with pytest.raises(ValueError, match="optimizer_formats"):
        ns.chip.simulate(model, rule, task, prof, steps=1, optimizer_formats="yes")

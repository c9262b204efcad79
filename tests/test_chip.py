"""The chip simulation (issue 11, first slice): ``formats="float"`` is ``ns.train`` on any layout,
the memory it holds is the budget's, its JSON round-trips, and bad input is refused before the
first step. Every identity has a negative control that must fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurosim as ns
from neurosim.hardware.layout import Layout, LayoutError
from neurosim.hardware.mesh import default_site


def _lru():
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, n_layers=2, dtype="float64")
    return model, ns.rules.make("online_lru"), task


def _sparse_rnn():
    task = ns.tasks.make("copy", seed=1, pattern_len=3, pad=1)
    model = ns.models.make("rnn", n_in=task.n_in, n_out=task.n_out, n_hidden=9, density=0.4, dtype="float64")
    return model, ns.rules.make("snap1"), task


def _alif():
    task = ns.tasks.make("pattern", seed=0, n_in=5, T=25, rate_hz=200.0)
    model = ns.models.make("alif", n_in=5, n_out=task.n_out, n_hidden=9, n_alif=5, dtype="float64")
    return model, ns.rules.make("eprop"), task


CASES = {"online_lru": _lru, "snap1": _sparse_rnn, "eprop": _alif}


def _more(kind, rule, **kw):
    task = ns.tasks.make("copy", seed=0, pattern_len=2, pad=0, n_bits=2)
    model = ns.models.make(kind, n_in=task.n_in, n_out=task.n_out, n_hidden=6, n_layers=2, **kw)
    return lambda: (model, ns.rules.make(rule), task)


MEMORY_CASES = {
    **CASES,
    "snap2_pooled": _more("rnn", "snap2", density=0.5, pool="st_mean"),  # SnAp-2's pattern-owned traces
    "uoro_gru": _more("gru", "uoro"),  # shared and global arrays
    "rtrl_glu": _more("lru", "rtrl", width=6, mix="glu"),
}


def split_layout(model, pieces: int = 3, profile=None) -> Layout:
    """Every layer cut into ``pieces`` interleaved unit sets (any subset, not ranges), one core
    per (layer, piece): on distinct tiles of an 8-wide mesh, or at ``profile``'s default sites."""
    units = ns.hardware.layout.layer_units(model)
    cores, core = [], 0
    for layer, n in enumerate(units):
        for k in range(pieces):
            x, y = (core % 8, core // 8) if profile is None else default_site(profile, core)
            cores.append({"core": core, "x": x, "y": y, "layers": {layer: list(range(k, n, pieces))}})
            core += 1
    return Layout.build(cores)


def _train(model, rule, task, **kw):
    return ns.train(model, rule, task, optimizer=ns.optim.adam(3e-3), steps=3, batch_size=kw.pop("batch_size", 2),
                    progress=False, activity="off", **kw)  # fmt: skip


def _chip(model, rule, task, profile="loihi2", **kw):
    return ns.chip.simulate(model, rule, task, profile, optimizer=ns.optim.adam(3e-3), steps=3,
                            batch_size=kw.pop("batch_size", 2), activity="off", **kw)  # fmt: skip


def _differ(a: dict, b: dict) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("split", [False, True])
def test_float_formats_reproduce_train_bit_for_bit(case, split):
    model, rule, task = CASES[case]()
    layout = split_layout(model) if split else None
    if split:
        assert len(layout.cores) >= 3
    want = _train(model, rule, task, update_every=2)
    run = _chip(model, rule, task, layout=layout, formats="float", update_every=2)
    assert run.formats == "float"
    np.testing.assert_array_equal(run.losses, want.losses)
    assert set(run.params) == set(want.params)
    assert _differ(run.params, want.params) == 0.0
    if split:
        assert len(run.cores) >= 3 and run.cycles.shape[1] >= 3
    # negative control: the comparison sees a different run (another update interval)
    other = _chip(model, rule, task, layout=layout, formats="float", update_every=1)
    assert _differ(other.params, want.params) > 1e-9


def test_profile_formats_change_the_numbers():
    """Negative control of the identity above: the profile's formats are not float."""
    model, rule, task = _lru()
    want = _train(model, rule, task, update_every=2)
    run = _chip(model, rule, task, formats="profile", update_every=2)
    assert _differ(run.params, want.params) > 1e-6
    fmt = run.number_formats["layer0.B_re"]
    assert fmt["bits"] == 8 and fmt["number"] == "fixed"
    lsb = 2.0 ** -fmt["frac_bits"]
    codes = run.params["layer0.B_re"] / lsb
    np.testing.assert_array_equal(codes, np.round(codes))  # held on the weight grid


@pytest.mark.parametrize(
    "profile,case,optimizer",
    [("loihi2", "online_lru", "adam"), ("loihi", "eprop", "sgd"), ("reckon", "eprop", "adam"),
     ("spinnaker2", "snap1", "adam"), ("cortex_m4", "snap1", "sgd"), ("loihi2", "snap2_pooled", "adam"),
     ("tianjic", "uoro_gru", "sgd"), ("spinnaker2", "rtrl_glu", "adam")],
)  # fmt: skip
def test_memory_per_core_and_region_equals_the_budget(profile, case, optimizer):
    model, rule, task = MEMORY_CASES[case]()
    prof = ns.hardware.load_profile(profile)
    pieces = 2 if prof.n_cores >= 2 * model.n_layers else 1
    layout = split_layout(model, pieces, prof)
    opt = ns.optim.adam(1e-3) if optimizer == "adam" else ns.optim.sgd(1e-2)
    run = ns.chip.simulate(model, rule, task, prof, layout=layout, steps=1, optimizer=opt, update_every=3,
                           activity="off")  # fmt: skip
    b = ns.hardware.budget(model, rule, prof, layout, optimizer=optimizer, update_every=3)
    want = {(r.core, r.region): (r.used_bits, r.capacity_bits) for r in b.regions}
    got = {(m["core"], r): (v["used_bits"], v["capacity_bits"]) for m in run.memory for r, v in m["regions"].items()}
    assert got == want
    # the arrays the simulation holds on each core are the items the accounting stores there
    for m in run.memory:
        assert m["resident_elements"] == m["declared_elements"], m["core"]
    # negative control: the same arrays held on another layout are not this layout's items
    other = split_layout(model, 3 - pieces, ns.hardware.load_profile("loihi2"))
    one = ns.chip.simulate(model, rule, task, "loihi2", layout=other, steps=1, optimizer=opt, update_every=3,
                           activity="off")  # fmt: skip
    assert one.memory[0]["resident_elements"] != run.memory[0]["declared_elements"]


def test_to_json_is_versioned_and_written_atomically(tmp_path):
    model, rule, task = _alif()
    run = _chip(model, rule, task, out_dir=str(tmp_path))
    d = json.loads((tmp_path / "chip_run.json").read_text())
    assert d["schema"] == ns.chip.SCHEMA == "neurosim.chip/2"
    assert d["steps"] == run.step_ns.size == 3 * task.T
    # streamed: the per-step arrays are files beside the JSON, the run's arrays memory maps of them
    assert "cycles" not in d and "cycles.npy" in d["step_files"]
    assert np.array_equal(np.load(tmp_path / d["steps_dir"] / "cycles.npy"), run.cycles)
    assert isinstance(run.cycles, np.memmap)
    totals = d["summary"]["cycles_by_core_phase"]
    assert totals[str(run.cores[0])]["neuron"] == pytest.approx(run.phase("neuron")[:, run.cores[0]].sum())
    assert d["phases"] == list(ns.chip.PHASES)
    assert d["losses"] == [float(x) for x in run.losses]
    assert abs(d["energy_pj_total"] - run.energy.sum()) < 1e-6 * run.energy.sum()
    assert Layout.from_dict(d["layout"]) == run.layout
    # no temporaries left: the JSON, the checkpoint, and the gathered per-step files only
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chip_checkpoint.npz", "chip_run.json", "chip_steps"]
    assert sorted(p.name for p in (tmp_path / "chip_steps").iterdir()) == sorted(d["step_files"])


# --- bad input, refused before the first step ----------------------------------------------------
class _Counting:
    """A task that counts the batches asked of it (none: refused before the first step)."""

    def __init__(self, task):
        self.task, self.calls = task, 0

    def __getattr__(self, k):
        return getattr(self.task, k)

    def batch(self, *a):
        self.calls += 1
        return self.task.batch(*a)


def test_unknown_formats_mode_is_refused():
    model, rule, task = _lru()
    t = _Counting(task)
    with pytest.raises(ValueError, match="formats='fixed'.*'float', 'profile'"):
        ns.chip.simulate(model, rule, t, "loihi2", formats="fixed")
    assert t.calls == 0


def test_starting_weights_are_used_and_bad_ones_refused():
    """``params=``: a trained network's weights start the run (float formats: ``ns.train`` from
    the same weights); wrong keys, shapes or non-finite values are refused before the first step."""
    model, rule, task = _lru()
    start = {k: v * 0.5 for k, v in model.init(0).items()}
    run = _chip(model, rule, task, formats="float", params=start)
    np.testing.assert_array_equal(run.losses, _train(model, rule, task, params=start).losses)
    default = _chip(model, rule, task, formats="float")
    assert not np.array_equal(default.losses, run.losses)  # the weights given were used
    key = next(iter(start))
    t = _Counting(task)
    for given, match in (({k: v for k, v in start.items() if k != key}, "missing"),
                         ({**start, key: start[key][:1]}, "shape"),
                         ({**start, key: start[key] * np.nan}, "non-finite")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            ns.chip.simulate(model, rule, t, "loihi2", steps=1, params=given)
    with pytest.raises(ValueError, match="real values"):  # not silently cut to its real part
        ns.chip.simulate(model, rule, t, "loihi2", steps=1, params={**start, key: start[key] * (1 + 1j)})
    assert t.calls == 0
    # a masked network: weights off its structure would run but be stored (and priced) nowhere
    model, rule, task = _sparse_rnn()
    masks = model.param_masks()
    name = next(iter(masks))
    dense = {**model.init(0), name: np.ones_like(model.init(0)[name])}
    with pytest.raises(ValueError, match="outside the structural mask"):
        ns.chip.simulate(model, rule, _Counting(task), "loihi2", steps=1, params=dense)
    masked = {**dense, name: dense[name] * masks[name]}  # negative control: on the mask, accepted
    ns.chip.simulate(model, rule, task, "loihi2", steps=1, formats="float", params=masked)


def test_layout_that_does_not_match_the_model_is_refused():
    model, rule, task = _lru()
    bad = split_layout(model)
    bad = Layout(bad.cores[:-1])  # the last piece of the top layer is on no core
    t = _Counting(task)
    with pytest.raises(LayoutError, match="units of layer 1 are on no core"):
        ns.chip.simulate(model, rule, t, "loihi2", layout=bad)
    off_mesh = Layout.build([{"core": 0, "x": 99, "y": 0, "layers": {0: range(6), 1: range(6)}}])
    with pytest.raises(LayoutError, match="outside the 8×2 mesh"):
        ns.chip.simulate(model, rule, t, "loihi2", layout=off_mesh)
    assert t.calls == 0


def test_an_output_directory_that_cannot_be_written_is_refused(tmp_path):
    model, rule, task = _lru()
    blocker = tmp_path / "file"
    blocker.write_text("")
    t = _Counting(task)
    with pytest.raises(ns._io.OutputDirError, match="is an existing file"):
        ns.chip.simulate(model, rule, t, "loihi2", out_dir=str(blocker))
    assert t.calls == 0


def test_an_unknown_profile_or_a_chip_that_cannot_run_the_model_is_refused():
    model, rule, task = _lru()
    t = _Counting(task)
    with pytest.raises(ns.hardware.ProfileError, match="no such profile"):
        ns.chip.simulate(model, rule, t, "loihi9")
    spike_only = [n for n in ns.hardware.list_profiles() if ns.hardware.load_profile(n).core.messages == "spike"]
    assert spike_only
    with pytest.raises(ValueError, match="cannot run an lru model as it is"):
        ns.chip.simulate(model, rule, t, spike_only[0])
    assert t.calls == 0


def test_a_format_that_cannot_hold_the_initial_weights_is_refused():
    model, rule, task = _lru()
    t = _Counting(task)
    with pytest.raises(ns.chip.FormatError, match=r"layer0\.B_re: the 8-bit fixed point .* cannot hold the initial"):
        ns.chip.simulate(model, rule, t, "loihi2", ranges={"layer0.B_re": 1e-4})
    assert t.calls == 0
    # the same range in float mode stores nothing in a format: accepted
    ns.chip.simulate(model, rule, task, "loihi2", ranges={"layer0.B_re": 1e-4}, formats="float", steps=1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_vectorised_batch_is_its_samples_in_sequence_with_the_gradient_accumulated(case):
    """Why the chip may keep the batch vectorised: the batch's gradient is the mean of the
    samples' own gradients, each sample run alone from its own state (to rounding of the sum)."""
    model, rule, task = CASES[case]()
    params = model.init(0)
    batch = task.batch(0, 3)
    T = min(6, batch.xs.shape[0])
    whole = rule.init(model, params, 3)
    alone = [rule.init(model, params, 1) for _ in range(3)]
    for t in range(T):
        whole, g, _ = rule.step(model, params, whole, batch.xs[t], batch.ys[t], loss=task.loss, mask_t=batch.mask[t])
        gs = []
        for b in range(3):
            sl = slice(b, b + 1)
            alone[b], gb, _ = rule.step(model, params, alone[b], batch.xs[t, sl], batch.ys[t, sl], loss=task.loss,
                                        mask_t=batch.mask[t, sl])  # fmt: skip
            gs.append(gb)
        for k in g:
            summed = sum(gb[k] for gb in gs)
            np.testing.assert_allclose(summed / 3, g[k], rtol=1e-10, atol=1e-13, err_msg=k)
            if np.abs(g[k]).max() > 1e-8:  # negative control: the sum is not the mean
                assert np.abs(summed - g[k]).max() > 1e-9


def test_accumulators_are_held_in_their_format_after_every_step(monkeypatch):
    """An accumulator a step adds nothing to is not written again (its held value is already on
    the grid, and a second write is the identity); the last step's is, because the rule's
    ``finish`` may add to it (none of the online rules does: here one held-back gradient, off
    any grid, is added at the end). After every accumulation each accumulator is on its
    format's grid. Negative control: the held-back gradient itself is not."""
    import importlib

    sim = importlib.import_module("neurosim.chip.simulate")
    model, rule, task = _lru()
    on_grid, steps = [], []
    original = sim._Chip.accumulate

    def accumulate(self, acc):
        acc = original(self, acc)
        for name in self.param_order:
            v = np.asarray(acc[name]) * 2.0 ** self.fmt["grad:" + name].frac
            on_grid.append(bool(np.all(v == np.round(v))))
        return acc

    held_back = {}

    def finish(self, model_, params, state, loss="mse"):
        g = {k: np.full_like(v, 1e-3 / 3) for k, v in params.items()}  # off every power-of-two grid
        held_back.update(g)
        steps.append(1)
        return state, g

    monkeypatch.setattr(sim._Chip, "accumulate", accumulate)
    monkeypatch.setattr(type(rule), "finish", finish)
    _chip(model, rule, task, formats="profile")
    assert steps and on_grid and all(on_grid)
    v = held_back["layer0.B_re"] * 2.0**20
    assert not np.all(v == np.round(v))  # negative control

"""The ``Layout`` type (issue 10, item 1): unit sets per core, mesh sites, a JSON round trip,
validation that names the core and the units, and budgets that price any permutation of units
exactly like the ordered layout."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurosim as ns
from neurosim import hardware as hw
from neurosim.hardware.layout import CoreUnits, Layout, LayoutError, Route, Units

LOIHI = hw.load_profile("loihi")  # 8 × 4 tiles of 4 cores


def _layout(model, splits, profile=LOIHI, sites=None):
    """One core per unit set: ``splits`` = [(layer, indices), ...]; sites in core order."""
    cores = []
    for core, (layer, idx) in enumerate(splits):
        x, y = sites[core] if sites else hw.mesh.default_site(profile, core)
        cores.append({"core": core, "x": x, "y": y, "layers": {layer: idx}})
    return Layout.build(cores)


# --- unit sets -----------------------------------------------------------------------------------
def test_units_are_exact_sets_of_any_order():
    u = Units.of([7, 3, 4, 5, 0])
    assert u.runs == ((0, 1), (3, 6), (7, 8)) and len(u) == 5 and 4 in u and 6 not in u
    assert list(u) == [0, 3, 4, 5, 7] and u.count_in(2, 6) == 3
    assert Units.from_runs([[3, 6], [0, 1], [6, 8]]) == Units.of([0, 3, 4, 5, 6, 7])
    with pytest.raises(LayoutError, match="listed twice in one set: 4"):
        Units.of([4, 1, 4])
    with pytest.raises(LayoutError, match=r"overlap: \[0, 5\) and \[3, 8\)"):
        Units.from_runs([[0, 5], [3, 8]])


# --- validation: refusals name the core and the units ---------------------------------------------
MODEL = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=100, n_layers=2)


def test_a_complete_layout_validates_and_its_refusals_name_what_is_wrong():
    good = _layout(MODEL, [(0, range(0, 60)), (0, range(60, 100)), (1, range(100))])
    assert good.validate(MODEL, LOIHI) is good  # the positive control
    cases = [
        # 10 of 100 units placed: the rest are named
        ([(0, range(10)), (1, range(100))], None, r"90 units of layer 0 are on no core: units 10…99"),
        ([(0, range(0, 60)), (0, range(50, 100)), (1, range(100))], None,
         r"units 50…59 of layer 0 are on more than one core: cores \[0, 1\]"),
        ([(0, range(100)), (1, range(101))], None, r"core 1 holds units 100 of layer 1, which has units 0…99"),
        ([(0, range(100)), (2, range(100))], None, r"core 1 holds layer 2; the model has layers 0…1"),
        ([(0, range(100)), (1, range(100))], [(0, 0), (8, 0)], r"core 1 sits at \(8, 0\), outside the 8×4 mesh"),
        ([(0, range(100)), (1, range(100))], [(0, 0), (0, -1)], r"core 1 sits at \(0, -1\)"),
    ]  # fmt: skip
    for splits, sites, match in cases:
        with pytest.raises(LayoutError, match=match):
            _layout(MODEL, splits, sites=sites).validate(MODEL, LOIHI)


def test_core_ids_tiles_and_the_chip_are_checked():
    a = CoreUnits(0, 0, 0, ((0, Units.range(0, 100)),))
    b = CoreUnits(0, 1, 0, ((1, Units.range(0, 100)),))
    with pytest.raises(LayoutError, match=r"core ids listed twice: \[0\]"):
        Layout((a, b)).validate(MODEL, LOIHI)
    # five cores on one 4-core tile
    cores = [CoreUnits(i, 2, 1, ((0, Units.range(20 * i, 20 * i + 20)),)) for i in range(5)]
    cores.append(CoreUnits(5, 0, 0, ((1, Units.range(0, 100)),)))
    with pytest.raises(LayoutError, match=r"cores \[0, 1, 2, 3, 4\] share the tile at \(2, 1\), which holds 4"):
        Layout(tuple(cores)).validate(MODEL, LOIHI)
    # another chip index; more cores than the chip has (reckon: one core)
    with pytest.raises(LayoutError, match="core 1 is on chip 1; allowed: chip 0"):
        Layout((a, CoreUnits(1, 0, 0, ((1, Units.range(0, 100)),), chip=1))).validate(MODEL, LOIHI)
    reckon = hw.load_profile("reckon")
    with pytest.raises(LayoutError, match="2 cores but the chip has 1"):
        _layout(MODEL, [(0, range(100)), (1, range(100))], profile=reckon, sites=[(0, 0), (0, 0)]).validate(
            MODEL, reckon
        )


def test_routes_must_join_their_cores_through_neighbouring_tiles():
    lay = _layout(MODEL, [(0, range(100)), (1, range(100))], sites=[(0, 0), (2, 1)])
    ok = Route(0, 1, ((0, 0), (1, 0), (2, 0), (2, 1)))
    Layout(lay.cores, routes=(ok,)).validate(MODEL, LOIHI)
    for route, match in [
        (Route(0, 1, ((0, 0), (2, 0), (2, 1))), r"steps from \(0, 0\) to \(2, 0\), not a neighbour"),
        (Route(0, 1, ((0, 0), (1, 0))), r"must start at \(0, 0\) and end at \(2, 1\)"),
        (Route(0, 7, ((0, 0),)), "core 7 is not in the layout"),
    ]:
        with pytest.raises(LayoutError, match=match):
            Layout(lay.cores, routes=(route,)).validate(MODEL, LOIHI)


def test_budget_refuses_an_invalid_layout_and_converts_the_old_range_dict():
    rule = ns.rules.make("snap1")
    with pytest.raises(LayoutError, match="90 units of layer 0 are on no core"):
        hw.budget(MODEL, rule, LOIHI, layout={"cores": [{"core": 0, "layer": 0, "start": 0, "stop": 10},
                                                        {"core": 1, "layer": 1, "start": 0, "stop": 100}]})  # fmt: skip
    old = {
        "cores": [{"core": 0, "layer": 0, "start": 0, "stop": 100}, {"core": 1, "layer": 1, "start": 0, "stop": 100}]
    }
    new = _layout(MODEL, [(0, range(100)), (1, range(100))])
    a, b = hw.budget(MODEL, rule, LOIHI, layout=old), hw.budget(MODEL, rule, LOIHI, layout=new)
    assert a.to_dict() == b.to_dict()


# --- JSON ------------------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), k=st.integers(1, 6))
def test_json_round_trip_is_exact_for_any_permutation(seed, k):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(100)
    cuts = np.sort(rng.choice(np.arange(1, 100), k - 1, replace=False)) if k > 1 else []
    parts = np.split(perm, cuts)
    splits = [(0, p) for p in parts] + [(1, range(100))]
    lay = _layout(MODEL, splits)
    lay = Layout(lay.cores, "random", (Route(0, 0, (lay.cores[0].site,)),))
    back = Layout.from_json(lay.to_json())
    assert back == lay and back.to_json() == lay.to_json()
    assert back.validate(MODEL, LOIHI) is back
    core_of = back.core_of(0, 100)
    for core, p in enumerate(parts):
        assert (core_of[p] == core).all()


def test_the_default_layout_round_trips_with_its_overflow():
    big = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=200_000)
    lay = hw.layers_in_order(big, LOIHI)
    assert lay.overflow is not None and lay.cores_needed == 196
    assert Layout.from_json(lay.to_json()) == lay
    with pytest.raises(LayoutError, match=r"do not fit on the chip's 128 cores \(the network needs 196\)"):
        lay.validate(big, LOIHI)


# --- a permuted layout prices like the ordered one -------------------------------------------------
@pytest.mark.parametrize(
    "kind,options,rule",
    [
        ("rnn", {"density": 0.3}, "snap1"),  # sparse rows: each unit's fan-in differs
        ("rnn", {"density": 0.3}, "snap2"),
        ("rnn", {}, "rtrl"),
        ("gru", {}, "uoro"),
        ("lru", {"n_layers": 2}, "online_lru"),
        ("alif", {"n_alif": 30}, "eprop"),
    ],
)
def test_a_permuted_layout_prices_exactly_like_the_ordered_one(kind, options, rule):
    n = 80
    model = ns.models.make(kind, n_in=5, n_out=3, n_hidden=n, **options)
    r = ns.rules.make(rule)
    layers = hw.layout.layer_units(model)
    rng = np.random.default_rng(3)
    ordered, permuted = [], []
    for layer, units in enumerate(layers):
        perm = rng.permutation(units)
        for part_o, part_p in zip(np.array_split(np.arange(units), 3), np.array_split(perm, 3)):
            ordered.append((layer, part_o))
            permuted.append((layer, part_p))
    a = hw.budget(model, r, LOIHI, layout=_layout(model, ordered))
    b = hw.budget(model, r, LOIHI, layout=_layout(model, permuted))
    assert a.learning_bits == b.learning_bits and a.inference_bits == b.inference_bits
    for phase in hw.PHASES[:-1]:  # "static" is power × the slowest core's time: the split decides it
        assert math.isclose(a.energy_pj[phase], b.energy_pj[phase], rel_tol=1e-12, abs_tol=1e-9), phase
    raw = lambda bud: [sum(r.items.values()) for r in sorted(bud.regions, key=lambda r: (r.core, r.region))]  # noqa: E731
    assert sum(raw(a)) == sum(raw(b))
    if kind != "lru" and kind != "alif" and options.get("density"):  # sparse: the split itself moves
        assert raw(a) != raw(b)
    if kind == "alif":  # the ALIF neurons are the last 30: ordered, they sit on the last core
        assert raw(a) != raw(b)


def test_budget_cli_prices_a_layout_file_and_names_what_is_wrong_with_one(tmp_path, capsys):
    from neurosim import cli

    args = ["budget", "--model", "rnn", "--n-hidden", "100", "--rule", "snap1", "--profile", "loihi"]
    split = _layout(
        ns.models.make("rnn", n_in=8, n_out=2, n_hidden=100), [(0, range(0, 100, 2)), (0, range(1, 100, 2))]
    )
    good = tmp_path / "split.json"
    good.write_text(split.to_json())
    assert cli.main([*args, "--layout", str(good), "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)["rules"][0]
    assert out["cores_used"] == 2 and Layout.from_dict(out["layout"]) == split
    bad = tmp_path / "bad.json"
    bad.write_text(Layout(split.cores[:1]).to_json())
    assert cli.main([*args, "--layout", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"--layout {bad}: layout on loihi: 50 units of layer 0 are on no core: units 1, 3, 5" in err
    assert cli.main([*args, "--layout", str(tmp_path)]) == 2
    assert "a directory; allowed: a layout JSON file" in capsys.readouterr().err

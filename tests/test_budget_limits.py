"""The budget answers at any size, on shared cores, and checks every limit a profile declares.

Oracles: hand counts of bits and units (one 32-bit word per element on Cortex-M4), the published
ReckOn limits (256 input addresses, 16 output neurons and a 256-bit output register file, 272
synapses out of a neuron), Xylo's fan-out of 64, and the physical ranges of profile values.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
import tracemalloc
from pathlib import Path

import pytest

import neurosim as ns
from neurosim import hardware as hw
from neurosim.cli import main

EXAMPLE = Path(__file__).parents[1] / "examples" / "eprop_alif_evidence.toml"


def reckon_lif(**kw):
    return ns.models.make("lif", **{"n_in": 256, "n_out": 16, "n_hidden": 256, "n_ref": 0, "readout_bias": False, **kw})


def _refuse(*_a, **_k):
    raise AssertionError("the budget built parameters or ran a forward pass")


# --- item 8: arithmetic on shapes, at any size ---------------------------------------------------
@pytest.mark.parametrize("kind,rule", [("rnn", "bptt"), ("gru", "spatial"), ("lru", "bptt"), ("lif", "eprop")])
def test_a_budget_of_any_size_builds_no_parameter_array(kind, rule, monkeypatch):
    """n = 100 000: a dense W alone is 80 GB (its mask 10 GB); the budget must stay in megabytes
    and never call ``init`` or ``forward``. The parameter count is the hand count of the shapes."""
    n, m, o = 100_000, 8, 2
    H = 2 * n  # the LRU's width: encoder, λ ν θ γ, B and C (complex), D, LayerNorm, GLU, decoder
    tracemalloc.start()
    model = ns.models.make(kind, n_in=m, n_out=o, n_hidden=n)
    monkeypatch.setattr(model, "init", _refuse)
    monkeypatch.setattr(model, "forward", _refuse)
    b = hw.budget(model, ns.rules.make(rule), hw.load_profile("reckon"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert not b.fits and all(c.layer != -1 for c in b.culprits)
    expected = {
        "rnn": n * n + n * m + n + o * n + o,
        "gru": 3 * (n * m + n * n + n) + n + o * n + o,
        "lif": n * m + n * n + o * n + o,
        "lru": H * m + H + 3 * n + 4 * n * H + H + 2 * H + 2 * (H * H + H) + o * H + o,
    }
    assert b.metrics["parameter_count"] == expected[kind]
    if kind == "lif":  # e-prop's per-synapse traces: n (n + m) filtered ē of 12 bits, nowhere to go
        assert {c.what.split(":")[0] for c in b.culprits if c.region == "<none>"} == {"eb_in", "eb_rec"}


def test_budget_cli_at_large_sizes_never_builds_a_model_s_parameters(monkeypatch, capsys):
    monkeypatch.setattr(ns.models.Model, "init", _refuse)
    monkeypatch.setattr(ns.models.SpikingModel, "init", _refuse)
    assert main("budget --model rnn --n-hidden 100000 --profile reckon".split()) == 0
    assert main("budget --model rnn --rule bptt --n-hidden 4096 --profile cortex_m4".split()) == 0
    out = capsys.readouterr().out
    assert "largest fitting n_hidden in [1, 4096]" in out and "layer -1" not in out


def test_dense_cells_store_no_mask_and_sparse_ones_keep_theirs():
    dense = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=6)
    assert dense.blocks[0].cell.masks == {} and dense.param_masks() == {}
    ones = ns.models.make("gru", n_in=2, n_out=1, n_hidden=4, mask=[[True] * 4] * 4)
    assert ones.blocks[0].cell.masks == {}  # every entry kept: dense
    sparse = ns.models.make("gru", n_in=2, n_out=1, n_hidden=6, density=0.3, structure_seed=1)
    assert set(sparse.param_masks()) == {"layer0.W_hr", "layer0.W_hz", "layer0.W_hn"}


def test_dense_weights_store_no_synapse_index():
    """Loihi hand count (nengo-loihi's rows: 10 header bits + 8-bit weights, 64-bit words): a dense
    W stores no index; d153e25 priced it as sparse (a 5-bit index per synapse, 8 320 bits)."""
    n, m, o = 20, 5, 2
    b = hw.budget(
        ns.models.make("rnn", n_in=m, n_out=o, n_hidden=n), ns.rules.make("spatial"), hw.load_profile("loihi")
    )
    row = lambda k: math.ceil((10 + 8 * k) / 64)  # noqa: E731
    words = n * row(n) + n * row(m) + row(n) + o * row(n) + row(o)  # W, U, b, decoder W, decoder b
    assert b.used_bits("synapse") == 64 * words == 5760


def test_a_layer_split_over_cores_splits_its_bias_and_keeps_the_readout_whole():
    """1500 units on Loihi (1024 per core): each core stores its units' rows of W and U and their
    elements of b; the decoder goes whole to the layer's first core (d153e25 put all of b there)."""
    b = hw.budget(
        ns.models.make("rnn", n_in=4, n_out=2, n_hidden=1500), ns.rules.make("spatial"), hw.load_profile("loihi")
    )
    items = {r.core: r.items for r in b.regions if r.region == "synapse"}
    assert items[0]["layer0.b"] == 1024 * 8 and items[1]["layer0.b"] == 476 * 8
    assert items[0]["layer0.W"] == 1024 * 1500 * 8 and items[1]["layer0.U"] == 476 * 4 * 8
    assert items[0]["dec.W"] == 2 * 1500 * 8 and "dec.W" not in items[1]


# --- item 7: the search starts where the model's options allow ------------------------------------
def test_largest_fitting_starts_at_the_smallest_size_the_model_allows(capsys):
    """examples/eprop_alif_evidence.toml has n_alif = 50: sizes below 50 do not exist. On ReckOn it
    never fits (ALIF's ε^a and the filtered ē are per-synapse traces); on Cortex-M4 the answer N is
    the size where the budget stops fitting (checked here with the budget itself at N and N + 1)."""
    assert main(["budget", str(EXAMPLE), "--profile", "reckon"]) == 0
    out = capsys.readouterr().out
    assert "largest fitting n_hidden in [50, 4096]" in out and "none" in out.split("in [50, 4096]")[1].split("\n")[0]
    assert main(["budget", str(EXAMPLE), "--profile", "cortex_m4", "--json", "-"]) == 0
    res = json.loads(capsys.readouterr().out)
    largest = res["rules"][0]["largest_fitting_n_hidden"]
    assert res["search"] == "in [50, 4096]" and 50 <= largest < 4096
    cfg = tomllib.loads(EXAMPLE.read_text())
    rule = ns.rules.make("eprop", **{k: v for k, v in cfg["rule"].items() if k != "name"})
    build = lambda n: ns.models.make("alif", n_in=40, n_out=2, n_hidden=n, n_alif=50, dtype="float32")  # noqa: E731
    profile = hw.load_profile("cortex_m4")
    assert hw.budget(build(largest), rule, profile).fits and not hw.budget(build(largest + 1), rule, profile).fits


def test_buildable_range_and_a_model_that_cannot_be_built_in_range(capsys):
    alif = lambda n: ns.models.make("alif", n_in=3, n_out=2, n_hidden=n, n_alif=50)  # noqa: E731
    assert hw.buildable_range(alif, 1, 4096, start=100) == (50, 4096)
    assert hw.buildable_range(alif, 1, 4096) == (50, 4096)
    fixed = lambda n: ns.models.make("lru", n_in=8, n_out=2, n_hidden=n, encoder=False)  # noqa: E731
    assert hw.buildable_range(fixed, 1, 64, start=4) == (4, 4)  # width 2n must equal n_in
    with pytest.raises(ValueError, match=r"cannot be built at any n_hidden in \[1, 40\].*n_alif=50 is invalid"):
        hw.buildable_range(alif, 1, 40)
    assert main("budget --model alif:n_alif=5000 --n-hidden 6000 --profile cortex_m4 --rule bptt".split()) == 0
    out = capsys.readouterr().out
    assert "largest n_hidden: none in [1, 4096] builds" in out and "n_alif=5000 is invalid" in out


# --- item 9: layers share a core -----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_a_two_layer_model_fits_one_core_and_its_memory_is_the_hand_count(kind):
    """Cortex-M4: 32-bit elements in 32-bit words, so every element is one word. Both layers on
    core 0: parameters + h0 + h1 + y, nothing else (spatial keeps no state)."""
    n, m, o = 32, 8, 2
    model = ns.models.make(kind, n_in=m, n_out=o, n_hidden=n, n_layers=2)
    b = hw.budget(model, ns.rules.make("spatial"), hw.load_profile("cortex_m4"))
    assert b.fits, [str(c) for c in b.culprits]
    assert [(e.core, e.layer) for e in b.layout.entries()] == [(0, 0), (0, 1)] and b.cores_used == 1
    elements = sum(math.prod(s) for s in model.shapes().values()) + 2 * n + o
    assert b.used_bits("sram") == 32 * elements
    assert len(b.energy_pj_by_core) == 1 and b.energy_pj["communication"] == 0.0
    reckon = hw.budget(model, ns.rules.make("spatial"), hw.load_profile("reckon"))
    assert reckon.fits and reckon.cores_used == 1, [str(c) for c in reckon.culprits]


def test_a_two_layer_model_too_big_for_one_core_names_the_region_or_the_chip():
    n, m, o = 300, 8, 2
    model = ns.models.make("rnn", n_in=m, n_out=o, n_hidden=n, n_layers=2)
    b = hw.budget(model, ns.rules.make("spatial"), hw.load_profile("cortex_m4"))
    elements = sum(math.prod(s) for s in model.shapes().values()) + 2 * n + o
    assert [(c.layer, c.core, c.region, c.needed, c.available) for c in b.culprits] == [
        (0, 0, "sram", 32 * elements, 256 * 1024 * 8)  # named by its largest item: layer0.W (first of the ties)
    ]
    # ReckOn: 2 × 200 units need two 256-neuron cores on a one-core chip
    r = hw.budget(ns.models.make("rnn", n_in=m, n_out=o, n_hidden=200, n_layers=2), ns.rules.make("spatial"),
                  hw.load_profile("reckon"))  # fmt: skip
    assert str(r.culprits[0]) == "chip, cores: needs 2 but has 1 (144 units do not fit on the chip: 1 × 256 neurons)"
    assert all(c.layer in (0, 1) for c in r.culprits[1:]) and r.culprits[0].scope == "chip"


def test_shared_cores_route_and_count_messages_between_distinct_cores_only():
    """Loihi, two layers of 300 units: on one core (a layout with two entries of core 0) nothing
    is sent between cores and no routing table is stored; on two cores, core 0 routes to core 1
    (one 32-bit entry) and messages cost energy. The default layout shares core 0 while its
    synapse memory holds both layers (n = 150) and opens core 1 when it does not (n = 300). Two
    layers of 600 on one core (1200 units > 1024) name the neuron limit on the layer that crosses it."""
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=300, n_layers=2)
    prof = hw.load_profile("loihi")
    shared = {
        "cores": [{"core": 0, "layer": 0, "start": 0, "stop": 300}, {"core": 0, "layer": 1, "start": 0, "stop": 300}]
    }
    split = {
        "cores": [{"core": 0, "layer": 0, "start": 0, "stop": 300}, {"core": 1, "layer": 1, "start": 0, "stop": 300}]
    }
    a = hw.budget(model, ns.rules.make("spatial"), prof, layout=shared)
    s = hw.budget(model, ns.rules.make("spatial"), prof, layout=split)
    assert a.cores_used == 1 and s.cores_used == 2
    assert a.energy_pj["communication"] == 0.0 < s.energy_pj["communication"]
    assert "routing_table" not in {k for r in a.regions for k in r.items}
    routing = {r.core: r.items.get("routing_table") for r in s.regions if r.region == "axon_routing"}
    assert routing == {0: 32}  # core 0 sends to core 1 (the next layer); core 1 sends nowhere
    # the default layout shares a core while its synapse memory (1 Mbit) holds both layers
    for n, cores in ((150, [0, 0]), (300, [0, 1])):
        layout = hw.budget(
            ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n, n_layers=2), ns.rules.make("spatial"), prof
        ).layout
        assert [e.core for e in layout.entries()] == cores
    big = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=600, n_layers=2)
    both = {
        "cores": [{"core": 0, "layer": 0, "start": 0, "stop": 600}, {"core": 0, "layer": 1, "start": 0, "stop": 600}]
    }
    c = hw.budget(big, ns.rules.make("spatial"), prof, layout=both)
    assert ("neurons", 1, 0, 1200, 1024) in [(x.region, x.layer, x.core, x.needed, x.available) for x in c.culprits]


# --- item 10: every declared limit is checked ----------------------------------------------------
def test_reckon_has_256_input_addresses():
    """A 384-input network does not fit ReckOn; 300 inputs into 200 neurons break only that limit
    (fan-in 500 ≤ 512, input weights 486 kbit ≤ 512 kbit); 256 inputs fit (negative control)."""
    rule = ns.rules.make("eprop", filter=False)
    prof = hw.load_profile("reckon")
    wide = hw.budget(reckon_lif(n_in=384), rule, prof)
    assert ("axons_in", 384, 256) in [(c.region, c.needed, c.available) for c in wide.culprits]
    only = hw.budget(reckon_lif(n_in=300, n_hidden=200), rule, prof)
    assert [(c.layer, c.core, c.region, c.needed, c.available) for c in only.culprits] == [(0, 0, "axons_in", 300, 256)]
    assert "300 chip inputs" in str(only.culprits[0])
    assert hw.budget(reckon_lif(), rule, prof).fits


def test_reckon_has_16_output_neurons_in_a_256_bit_register_file():
    rule = ns.rules.make("eprop", filter=False)
    b = hw.budget(reckon_lif(n_out=20), rule, hw.load_profile("reckon"))
    found = {c.region: (c.needed, c.available) for c in b.culprits}
    assert found["registers"] == (20 * 16, 256) and found["axons_out"] == (20, 16)
    assert found["fan_out"] == (255 + 20, 272)  # 255 recurrent (no autapse) + 20 readout synapses
    assert "y: 20 output units × 16 bits" in str(b.culprits[0])


def test_fan_out_limits_per_profile_definition():
    """Xylo: at most 64 synapses out of a neuron (59 + 2 fit, 99 + 2 do not). TrueNorth counts
    destination cores: one neuron, one axon — a layer over two cores needs two."""
    xylo = hw.load_profile("xylo")
    rule = ns.rules.make("eprop", filter=False)
    small = hw.budget(ns.models.make("lif", n_in=16, n_out=2, n_hidden=60), rule, xylo)
    big = hw.budget(ns.models.make("lif", n_in=16, n_out=2, n_hidden=100), rule, xylo)
    assert small.fits and [(c.region, c.needed, c.available) for c in big.culprits] == [("fan_out", 101, 64)]
    tn = hw.load_profile("truenorth")
    assert tn.fan_out_counts == "cores" and xylo.fan_out_counts == "neurons"
    two = hw.budget(ns.models.make("lif", n_in=4, n_out=2, n_hidden=300), rule, tn)
    # a per-unit limit, the same for every unit of the layer: named once, at the layer's first core
    assert [(c.layer, c.core, c.needed, c.available) for c in two.culprits if c.region == "fan_out"] == [(0, 0, 2, 1)]


def _sourced(value, source="reckon_doc"):
    return {"value": value, "source": source, "confidence": "estimate"}


@pytest.mark.parametrize(
    "path,value,match",
    [
        ("chip.clock_mhz", 1e-300, r"chip\.clock_mhz\.value: must be >= 0\.001, got 1e-300"),
        ("ops.synop_energy_pj", 1e308, r"ops\.synop_energy_pj\.value: must be <= 1e\+09 .*, got 1e\+308"),
        ("core.max_neurons", 10**400, r"core\.max_neurons\.value: must be <= .*, got an integer of 401 digits"),
        ("sram.0.capacity_bits", 10**400, r"sram\[0\]\(neuron\)\.capacity_bits\.value: must be <= "),
        ("chip.static_power_mw", 2e6, r"chip\.static_power_mw\.value: must be <= 1e\+06"),
    ],
    ids=["clock", "energy", "huge-int", "huge-capacity", "power"],
)
def test_values_that_make_a_budget_infinite_are_refused_at_load(path, value, match):
    d = tomllib.loads(hw.profile.PROFILE_DIR.joinpath("reckon.toml").read_text())
    keys = path.split(".")
    node = d
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    node[keys[-1]] = _sourced(value)
    with pytest.raises(hw.ProfileError, match=r"^bad\.toml: " + match):
        hw.parse(d, "bad.toml")


def test_at_the_edge_of_the_ranges_a_huge_budget_is_finite_and_beyond_it_refused():
    """Every energy at its maximum (1 mJ), the slowest clock (1 kHz), 10⁹ cycles per op, n = 10⁵:
    the budget is finite. Past the load check (a value edited into a loaded profile), the budget
    refuses an infinite result instead of printing it."""
    d = tomllib.loads(hw.profile.PROFILE_DIR.joinpath("cortex_m4.toml").read_text())
    for k in d["ops"]:
        d["ops"][k] = _sourced(1e9, "estimate")
    d["chip"]["clock_mhz"] = _sourced(1e-3, "estimate")
    prof = hw.parse(d, "edge.toml")
    model = ns.models.make("rnn", n_in=8, n_out=2, n_hidden=100_000)
    b = hw.budget(model, ns.rules.make("bptt"), prof, seq_len=10**6)
    values = [*b.energy_pj.values(), b.step_ns, b.update_ns, b.update_energy_pj]
    assert all(math.isfinite(v) for v in values) and b.step_ns > 1e20
    broken = copy.deepcopy(prof)
    object.__setattr__(broken.ops, "mac_energy_pj", 1e308)  # past the frozen section's checks
    with pytest.raises(ValueError, match=r"edge\.toml: the budget's energy_pj\['forward'\] is inf"):
        hw.budget(model, ns.rules.make("bptt"), broken)


def test_array_bits_names_must_name_an_array_of_some_model_or_rule():
    d = tomllib.loads(hw.profile.PROFILE_DIR.joinpath("reckon.toml").read_text())
    d["formats"]["array_bits"]["eprop.ev_inn"] = _sourced(12)
    with pytest.raises(
        hw.ProfileError, match=r"bad\.toml: formats\.array_bits\.eprop\.ev_inn: no array .* allowed: .*eprop\.ev_in, "
    ):
        hw.parse(d, "bad.toml")
    del d["formats"]["array_bits"]["eprop.ev_inn"]
    # a rule's array is named with its rule: a bare 'ev_in' names nothing (issue 10: uoro's trace
    # 'v' was priced at ReckOn's membrane width)
    d["formats"]["array_bits"]["ev_in"] = _sourced(12)
    with pytest.raises(hw.ProfileError, match=r"formats\.array_bits\.ev_in: no array"):
        hw.parse(d, "bad.toml")
    del d["formats"]["array_bits"]["ev_in"]
    d["formats"]["array_bits"]["h7"] = _sourced(16)  # a layer-indexed state: any layer
    d["formats"]["array_bits"]["snap2.G_snap"] = _sourced(8)
    assert hw.parse(d, "ok.toml").bits_of("h7", "state") == 16
    names = hw.array_names()
    # derived from the code: every array of a model built here, every array of every rule on it
    model = ns.models.make("alif", n_in=3, n_out=2, n_hidden=5, n_alif=2)
    assert {k.split(".")[-1] for k in model.shapes()} | {a.name for a in model.state_arrays()} <= names
    assert {f"eprop.{s.name}" for s in ns.rules.make("eprop").state_spec(model)} <= names
    assert {"tbptt.history", "bptt.history_per_step", "optimizer", "gradient"} <= names


# --- item 6 (the budget's parts): one-line errors ------------------------------------------------
def test_a_directory_as_a_profile_is_a_profile_error(tmp_path, capsys):
    with pytest.raises(hw.ProfileError, match=r"is a directory; allowed: a bundled profile name or a path"):
        hw.load_profile(tmp_path)
    assert main(["budget", "--model", "lif", "--profile", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path) in err


def test_an_unknown_model_option_or_a_rule_that_cannot_train_the_model_is_a_one_line_error(capsys):
    assert main("budget --model lif:foo=1 --profile reckon".split()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--model: [model] foo = 1 is not an option of model 'lif'; allowed: n_in" in err
    assert main("budget --model spiky --profile reckon".split()) == 2
    assert "--model: [model] name = 'spiky' is unknown; allowed: alif, gru" in capsys.readouterr().err
    assert main("budget --model lif:n_ref=1.5 --profile reckon".split()) == 2  # types as in a config
    assert "[model] n_ref = 1.5 is invalid: allowed an integer" in capsys.readouterr().err
    assert main("budget --model lif --rule eprop:filter=maybe --profile reckon".split()) == 2
    assert "--rule: [rule] filter = 'maybe' is invalid: allowed true or false" in capsys.readouterr().err
    assert main("budget --model rnn --rule eprop --profile reckon".split()) == 2
    assert "rule 'eprop' cannot train model 'rnn'" in capsys.readouterr().err


def test_a_configuration_s_rule_options_are_priced(tmp_path, capsys):
    """`neurosim budget CONFIG` prices the configuration's rule with its options: e-prop with
    per-neuron traces fits ReckOn, with κ-filtered per-synapse traces it does not (negative
    control: the same configuration without the option)."""
    text = (
        '[model]\nname = "lif"\nn_ref = 0\nreadout_bias = false\nn_hidden = 256\n'
        '[rule]\nname = "eprop"\nfilter = false\n[task]\nname = "pattern"\nn_in = 256\n'
    )
    cfg = tmp_path / "reckon.toml"
    cfg.write_text(text)
    assert main(["budget", str(cfg), "--profile", "reckon", "--n-out", "16", "--json", "-"]) == 0
    rule = json.loads(capsys.readouterr().out)["rules"][0]
    assert rule["rule_spec"] == "eprop:filter=False" and rule["fits"]
    cfg.write_text(text.replace("filter = false\n", ""))
    assert main(["budget", str(cfg), "--profile", "reckon", "--json", "-"]) == 0
    assert not json.loads(capsys.readouterr().out)["rules"][0]["fits"]


def test_each_rule_column_shows_its_own_cores(capsys):
    assert main("budget --model rnn:n_layers=2 --n-hidden 150 --rule spatial --rule rtrl --profile loihi".split()) == 0
    out = capsys.readouterr().out
    cores = next(line for line in out.splitlines() if line.startswith("cores needed")).split()[-2:]
    assert cores[0] != cores[1], out  # rtrl's learning state needs more cores than spatial's


def test_an_element_wise_recurrence_reads_no_unit_of_another_core():
    """A 400-unit layer split over TrueNorth's 256-neuron cores: an RNN's second core reads the
    256 units of the first (260 axons with 4 inputs > 256: a culprit); the LRU's units read only
    themselves, so its cores exchange nothing within the layer."""
    p = hw.load_profile("truenorth")
    axons = {}
    for kind in ("rnn", "lru"):
        b = hw.budget(ns.models.make(kind, n_in=4, n_out=2, n_hidden=400), ns.rules.make("spatial"), p)
        axons[kind] = [c for c in b.culprits if c.region == "axons_in"]
    assert [(c.core, c.needed) for c in axons["rnn"]] == [(1, 4 + 256)]
    assert axons["lru"] == []


@pytest.mark.parametrize("n", [10**7, 10**8])
def test_a_network_far_beyond_the_chip_answers_at_once_with_the_cores_it_needs(n):
    """Loihi has 128 cores of 1024 neurons: a 10^8-unit layer needs ceil(10^8 / 1024) of them. The
    default layout stops at the chip (one core past it holds the rest), so the budget stays small."""
    tracemalloc.start()
    b = hw.budget(ns.models.make("rnn", n_in=8, n_out=2, n_hidden=n), ns.rules.make("rtrl"), hw.load_profile("loihi"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20 and b.cores_used == 129
    chip = b.culprits[0]
    assert (chip.scope, chip.region, chip.needed, chip.available) == ("chip", "cores", -(-n // 1024), 128)
    assert f"{n - 128 * 1024:,} units do not fit" in chip.what and b.cores_needed == chip.needed
    assert all(c.core != 128 for c in b.culprits)  # nothing per core for the core past the chip


@pytest.mark.parametrize(
    "argv,said",
    [
        ("--model lif:n_hidden=32 --n-hidden 16", "n_hidden is given twice: --model says 32, --n-hidden says 16"),
        ("--model lif:n_ref=1,n_ref=2", "option 'n_ref' in 'lif:n_ref=1,n_ref=2' is given twice"),
        ("--model lif:", "'lif:' is invalid"),
        ("examples/quickstart.toml --model lif", "a CONFIG file and --model both name the model"),
        ("--model rnn --search-max 0", "--search-max=0 is invalid"),
        ("--model rnn --json /tmp", "--json '/tmp': allowed a file path"),
        ("--model rnn --json /proc/x/y.json", "output directory /proc/x: cannot be created"),
    ],
)
def test_budget_refuses_conflicting_or_unusable_options(argv, said, capsys):
    root = Path(__file__).parents[1]
    args = [str(root / a) if a.endswith(".toml") else a for a in argv.split()]
    assert main(["budget", "--profile", "loihi", *args]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1


def test_the_budget_table_sizes_columns_to_their_widest_cell(capsys):
    assert main("budget --model rnn --n-hidden 100000 --rule rtrl --rule snap1 --profile loihi2".split()) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()[2:] if not line.startswith("  ")]
    assert len({len(r) for r in rows}) == 1, rows  # every row as wide: no cell runs into the next

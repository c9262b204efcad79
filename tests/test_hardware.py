"""Hardware profiles and accounting: published memory maps, hand counts, additivity, bad profiles."""

from __future__ import annotations

import copy
import json
import math
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurosim as ns
from neurosim import hardware as hw
from neurosim.cli import main

REQUIRED = {
    "loihi",
    "loihi2",
    "truenorth",
    "spinnaker",
    "spinnaker2",
    "reckon",
    "xylo",
    "tianjic",
    "cortex_m4",
    "cortex_m7",
}


def test_every_bundled_profile_loads_and_every_number_cites_a_source():
    names = set(hw.list_profiles())
    assert REQUIRED <= names
    for name in names:
        p = hw.load_profile(name)
        assert p.name == name
        assert len(p.provenance) >= 40
        for field, s in p.provenance.items():
            assert s.source in p.sources, (name, field)
            assert s.confidence in ("confirmed", "secondary", "estimate")
            if s.source == "estimate":
                assert s.confidence == "estimate", (name, field)
        sourced = [k for k, s in p.provenance.items() if s.confidence != "estimate"]
        assert len(sourced) >= 5, f"{name}: almost nothing sourced"  # Loihi 2 has only secondary numbers
    assert hw.load_profile("cortex_m4").sram_bits_per_core() == 256 * 1024 * 8


def reckon_network():
    model = ns.models.make("lif", n_in=256, n_out=16, n_hidden=256, n_ref=0, readout_bias=False)
    return model, hw.load_profile("reckon")


def test_reckon_eprop_reproduces_the_published_memory_map_to_the_bit():
    """ChFrenkel/ReckOn doc/README.md §1: neuron SRAM 128 words × 128 b (two neurons per word:
    16-bit Vm, 12-bit input trace, 12-bit recurrent trace, 10-bit output trace each, plus 28
    shared bits); input and recurrent weight SRAMs 4096 words × 128 b of 8-bit weights; output
    weight SRAM 512 words × 128 b of which 256 are used. ISSCC 2022: 0.8 % memory overhead."""
    model, profile = reckon_network()
    b = hw.budget(model, ns.rules.make("eprop", filter=False), profile)
    assert b.fits, b.culprits
    assert b.used_bits("neuron") == 128 * 128
    assert b.used_bits("weights_input") == 4096 * 128
    assert b.used_bits("weights_recurrent") == 4096 * 128
    assert b.used_bits("weights_output") == 256 * 128
    assert b.learning_bits == 256 * (12 + 12 + 10)
    # inference state: the weights, the membrane potentials, the shared per-word parameters and
    # the output neurons' 16-bit registers
    inference = (256 * 256 * 2 + 16 * 256) * 8 + 256 * 16 + 128 * 28 + 16 * 16
    assert b.inference_bits == inference
    assert round(100 * b.overhead_fraction, 1) == 0.8
    # negative control: κ-filtered per-synapse traces (e-prop's ē) have nowhere to go on ReckOn
    bad = hw.budget(model, ns.rules.make("eprop"), profile)
    assert not bad.fits
    assert {c.what.split(":")[0] for c in bad.culprits} == {"eb_in", "eb_rec"}
    assert all(c.region == "<none>" and c.needed == 256 * 256 * 12 for c in bad.culprits)


def test_reckon_culprits_name_layer_core_region_and_bits():
    model = ns.models.make("lif", n_in=256, n_out=16, n_hidden=300, n_ref=0, readout_bias=False)
    b = hw.budget(model, ns.rules.make("eprop", filter=False), hw.load_profile("reckon"))
    found = {(c.layer, c.core, c.region): (c.needed, c.available) for c in b.culprits}
    assert found[(None, None, "cores")] == (2, 1)  # 300 neurons need two 256-neuron cores
    assert str(b.culprits[0]) == "chip, cores: needs 2 but has 1 (44 units do not fit on the chip: 1 × 256 neurons)"
    assert all(c.layer == 0 for c in b.culprits[1:])  # the rest name the layer, never -1
    assert found[(0, 0, "fan_in")] == (256 + 300, 512)
    # 256 rows of 300 8-bit recurrent weights, each rounded up to 128-bit words
    assert found[(0, 0, "weights_recurrent")] == (256 * math.ceil(300 * 8 / 128) * 128, 524288)
    assert any(
        str(c).startswith("layer 0, core 0, weights_recurrent: needs 622,592 but has 524,288") for c in b.culprits
    )
    assert hw.largest_fitting(
        lambda n: ns.models.make("lif", n_in=256, n_out=16, n_hidden=n, n_ref=0, readout_bias=False),
        ns.rules.make("eprop", filter=False), hw.load_profile("reckon"), hi=1024,
    ) == 256  # fmt: skip


def test_loihi_synapse_memory_rounds_rows_to_64_bit_words_like_nengo_loihi():
    """Hand count: each fan-in row is 10 header bits + its synapses, rounded up to 64-bit words;
    a sparse row stores an index (ceil(log2 20) = 5 bits) with each 8-bit weight."""
    n, m, o = 20, 5, 2
    model = ns.models.make("rnn", n_in=m, n_out=o, n_hidden=n, density=0.3, structure_seed=4)
    b = hw.budget(model, ns.rules.make("spatial"), hw.load_profile("loihi"))
    mask = model.blocks[0].cell.masks["W"]
    words = sum(math.ceil((10 + int(k) * (8 + 5)) / 64) for k in mask.sum(1))  # W (sparse)
    words += n * math.ceil((10 + m * 8) / 64)  # U: dense rows of 5
    words += math.ceil((10 + n * 8) / 64)  # b: one row of 20
    words += o * math.ceil((10 + n * 8) / 64)  # decoder W: 2 rows of 20
    words += math.ceil((10 + o * 8) / 64)  # decoder b
    assert b.used_bits("synapse") == 64 * words
    dense = hw.budget(ns.models.make("rnn", n_in=m, n_out=o, n_hidden=n), ns.rules.make("spatial"),
                      hw.load_profile("loihi"))  # fmt: skip
    assert dense.used_bits("synapse") != b.used_bits("synapse")


def _per_sample_floats(state, batch):
    total = 0
    for leaf in _leaves(state.traces):
        if leaf.ndim >= 1 and leaf.shape[0] == batch:
            total += leaf.size * (2 if np.iscomplexobj(leaf) else 1)
    return total // batch


def _leaves(obj):
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, tuple):
        return [x for o in obj for x in _leaves(o)]
    return []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 9), m=st.integers(1, 6), k=st.integers(1, 3), alif=st.integers(0, 9))
def test_closed_form_memory_equals_the_actual_state_arrays(n, m, k, alif):
    """The closed forms, written here: rtrl n·p, snap1/rflo p, uoro k(n + p), online_lru 2N(H+2),
    e-prop (LIF, unfiltered, κ = 0) n + m, ALIF + ψ + ε^a, + ē with the filter."""
    B = 11  # larger than every other dimension, so batch-shared arrays are not miscounted
    p_rnn = n * n + n * m + n
    rnn = ns.models.make("rnn", n_in=m, n_out=2, n_hidden=n, alpha=0.5)
    lru = ns.models.make("lru", n_in=m, n_out=2, n_hidden=n, width=m + 1)
    na = min(alif, n)
    cases = [
        ("rtrl", {}, rnn, n * p_rnn),
        ("snap1", {}, rnn, p_rnn),
        ("rflo", {}, rnn, p_rnn),
        ("uoro", {"rank": k}, rnn, k * (n + p_rnn)),
        ("online_lru", {}, lru, 2 * n * (m + 1 + 2)),
        ("eprop", {"filter": False}, ns.models.make("lif", n_in=m, n_out=2, n_hidden=n, tau_out=0.0), n + m),
        ("eprop", {}, ns.models.make("alif", n_in=m, n_out=2, n_hidden=n, n_alif=na),
         n + m + (na + na * (n + m) if na else 0) + n * (n + m) + n),
    ]  # fmt: skip
    for rule_name, kw, model, floats in cases:
        rule = ns.rules.make(rule_name, **kw)
        state = rule.init(model, model.init(0), B)
        assert _per_sample_floats(state, B) == rule.memory_floats(model) == floats, rule_name
    # and the budget prices exactly those floats (cortex_m4: every trace element 32 bits)
    rule = ns.rules.make("uoro", rank=k)
    b = hw.budget(rnn, rule, hw.load_profile("cortex_m4"))
    assert b.learning_bits == 32 * k * (n + p_rnn) + 32  # + its step counter, one per layer (32-bit state)


def test_energy_is_additive_over_phases_and_cores_and_linear_in_counts():
    profile = hw.load_profile("loihi")
    model = ns.models.make("lif", n_in=40, n_out=2, n_hidden=2500)
    rule = ns.rules.make("eprop", filter=False)
    b = hw.budget(model, rule, profile, activity=0.05)
    assert len(b.layout.cores) == 3
    total = sum(b.energy_pj.values())
    by_core = sum(sum(e.values()) for e in b.energy_pj_by_core)
    assert math.isclose(total, by_core, rel_tol=1e-12)
    for ph in hw.PHASES:
        assert math.isclose(b.energy_pj[ph], sum(e[ph] for e in b.energy_pj_by_core), rel_tol=1e-12)
    f = {a: hw.budget(model, rule, profile, activity=a).energy_pj["forward"] for a in (0.0, 0.1, 0.2)}
    assert math.isclose(f[0.2] - f[0.1], f[0.1] - f[0.0], rel_tol=1e-9)  # linear in events
    weights = sum(int(np.prod(s)) for s in model.shapes().values())
    synapse = profile.srams[0]
    per_event = profile.ops.synop_energy_pj + synapse.read_energy_pj * 8 / synapse.word_bits
    assert math.isclose(f[0.1] - f[0.0], 0.1 * weights * per_event, rel_tol=1e-9)
    c = {a: hw.budget(model, rule, profile, activity=a).energy_pj["communication"] for a in (0.1, 0.3)}
    assert math.isclose(c[0.3], 3 * c[0.1], rel_tol=1e-9) and c[0.1] > 0


def test_event_model_on_a_hand_counted_raster():
    """The network and raster above through ``events.price_raster`` (SANA-FE's model; neuron 0
    an input): energy by kind and the first step's time, simple and detailed, counted by hand."""
    from neurosim.hardware import events

    profile = hw.load_profile("loihi")
    pre, post = [0, 0, 1, 2, 3, 4, 5, 5], [1, 2, 3, 4, 5, 0, 1, 2]
    core_of = [0, 0, 4, 4, 36, 36]
    raster = np.zeros((3, 6), bool)
    raster[0, [0, 3]] = True
    raster[1, [5]] = True
    raster[2, [0, 1, 2]] = True
    c = events.price_raster(profile, (pre, post), core_of, raster, inputs=[0])
    e = c.totals()
    # 5 neurons accessed per step; updated (input the step before, or firing): 3 | 1, 2, 5 | 1, 2
    # (neuron 0 is an input: free); spikes of non-inputs: 3, 5, 1, 2
    # messages, one per destination core: 0 → cores 0, 4 (twice), 3 → 36, 5 → 0, 4, 1 → 4, 2 → 36
    # hops: 0 → 4: 1 N (twice); 3 → 36: 2 E; 5 → 0: 2 E + 1 N; 5 → 4: 2 E; 1 → 4: 1 N; 2 → 36: 2 E
    want = {"neuron_access": 15 * 51.2, "neuron_update": 6 * 21.6, "spike_out": 4 * 69.3, "message_out": 9 * 111.0,
            "message_in": 0.0, "synop": 9 * 35.5, "hops": 4 * 4.2 + 8 * 3.0}  # fmt: skip
    for k, v in want.items():
        assert math.isclose(e[k], v, rel_tol=1e-12, abs_tol=1e-12), k
    assert math.isclose(e["total"], sum(want.values()), rel_tol=1e-12)
    # step 0, 3 tiles in use (barrier 1000 ns). Core 0: input 0 sends two messages (5.1 ns each),
    # neuron 1 is accessed (6.0); core 4: neuron 2 accessed (6.0), neuron 3 updated and fires
    # (9.7 + 30) then sends (5.1): 50.8; core 36: 12.0 of accesses. Each message is processed in
    # 16 + 3.8 ns. Simple: the busiest core, 50.8. Detailed: 3's message leaves at 50.8, crosses
    # 2 E hops (8.2) and is processed by 78.8.
    simple = events.price_raster(profile, (pre, post), core_of, raster, inputs=[0], timing="simple")
    assert math.isclose(simple.time_ns[0], 50.8 + 1000.0, rel_tol=1e-12)
    assert math.isclose(c.time_ns[0], 78.8 + 1000.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match="timing: 'cycle'"):
        events.price_raster(profile, (pre, post), core_of, raster, timing="cycle")
    with pytest.raises(ValueError, match="core_of has 5 entries for 6 neurons"):
        events.price_raster(profile, (pre, post), core_of[:5], raster)


# --- malformed profiles ------------------------------------------------------------------------
def reckon_dict():
    return tomllib.loads(hw.profile.PROFILE_DIR.joinpath("reckon.toml").read_text())


def _set(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()


@pytest.mark.parametrize(
    "path,value,match",
    [
        ("ops.synop_energy_pj", _DELETE, r"ops\.synop_energy_pj: missing"),
        ("ops.synop_energy_pj.value", -5.3, r"ops\.synop_energy_pj\.value: must be >= 0, got -5\.3"),
        ("sram.0.capacity_bits.value", 0, r"sram\[0\]\(neuron\)\.capacity_bits\.value: must be > 0"),
        ("chip.voltage_v", {"value": 0.5, "source": "frenkel2022", "confidence": "confirmed"},
         r"chip\.voltage_v: unknown key"),
        ("core.max_neurons.value", "256", r"core\.max_neurons\.value: must be a number, got '256'"),
        ("core.max_neurons", 256, r"core\.max_neurons: must be an inline table"),
        ("chip.clock_mhz.source", "wikipedia", r"chip\.clock_mhz\.source: 'wikipedia' is not a key of \[sources\]"),
        ("chip.clock_mhz.confidence", "sure", r"chip\.clock_mhz\.confidence: 'sure'; allowed: confirmed"),
        ("formats.number", "posit", r"formats\.number: 'posit'; allowed: fixed, float"),
        ("sram.1.holds", ["weights.hidden"], r"sram\[1\]\(weights_input\)\.holds: 'weights\.hidden'"),
        ("core.max_neurons.value", 2.5, r"core\.max_neurons\.value: must be an integer"),
        ("extra", {}, r"extra: unknown section"),
        ("noc", _DELETE, r"noc: missing section"),
    ],
)  # fmt: skip
def test_malformed_profiles_name_the_file_field_and_problem(tmp_path, path, value, match):
    d = reckon_dict()
    _set(d, path, value)
    with pytest.raises(hw.ProfileError, match=r"bad\.toml: " + match):
        hw.parse(d, str(tmp_path / "bad.toml"))


def test_a_file_that_is_not_toml_or_missing(tmp_path):
    f = tmp_path / "junk.toml"
    f.write_text("[chip\nprocess_nm = = 3")
    with pytest.raises(hw.ProfileError, match=r"junk\.toml: <file>: not valid TOML"):
        hw.load_profile(f)
    with pytest.raises(hw.ProfileError, match=r"nothere\.toml: no such file"):
        hw.load_profile(tmp_path / "nothere.toml")
    with pytest.raises(hw.ProfileError, match=r"loihi3: no such profile; bundled: .*reckon"):
        hw.load_profile("loihi3")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(data=_json)
def test_random_documents_fail_only_with_profile_errors(data):
    try:
        hw.parse(data, "fuzz.toml")
    except hw.ProfileError as e:
        assert str(e).startswith("fuzz.toml: ")


@settings(max_examples=150, deadline=None)
@given(section=st.sampled_from(["chip", "core", "ops", "noc", "formats"]), data=st.data(), value=_json)
def test_random_mutations_of_a_valid_profile_fail_only_with_profile_errors(section, data, value):
    d = reckon_dict()
    key = data.draw(st.sampled_from(sorted(d[section])))
    d[section][key] = value
    try:
        hw.parse(copy.deepcopy(d), "mut.toml")
    except hw.ProfileError as e:
        assert str(e).startswith("mut.toml: ")


# --- CLI ---------------------------------------------------------------------------------------
def test_profiles_cli(capsys):
    assert main(["profiles"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 10 and any(line.startswith("reckon") for line in lines)
    assert main(["profiles", "loihi"]) == 0
    out = capsys.readouterr().out
    assert "ops.synop_energy_pj" in out and "sanafe_loihi" in out and "[confirmed]" in out
    assert main(["profiles", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["required"] == list(hw.profile.SECTIONS)
    assert main(["profiles", "nosuchchip"]) == 2


def test_budget_cli_compares_rules(capsys, tmp_path):
    args = "budget --model lif:n_ref=0,readout_bias=false --n-in 256 --n-out 16 --n-hidden 256".split()
    args += "--rule eprop:filter=false --rule eprop --profile reckon --search-max 512".split()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "learning / inference memory" in out and "0.80%" in out
    assert "eprop: does not fit: layer 0, core 0, <none>" in out
    assert main(args + ["--json", str(tmp_path / "b.json")]) == 0
    res = json.loads((tmp_path / "b.json").read_text())
    assert [r["fits"] for r in res["rules"]] == [True, False]
    assert res["rules"][0]["largest_fitting_n_hidden"] == 256
    assert main(["budget", "--model", "rnn", "--rule", "nosuchrule", "--profile", "reckon"]) == 2


def test_trace_energy_is_the_rules_declared_counts_times_the_profiles_costs():
    """RTRL on one core (cortex_m4): n_state²·P MACs and n·P trace updates per step, plus one
    read and one write of every 32-bit trace word. Hand count from the closed forms."""
    n, m = 6, 3
    model = ns.models.make("rnn", n_in=m, n_out=2, n_hidden=n)
    prof = hw.load_profile("cortex_m4")
    P = n * n + n * m + n
    b = hw.budget(model, ns.rules.make("rtrl"), prof)
    sram = prof.srams[0]
    hand = n * P * prof.ops.trace_update_energy_pj + n * n * P * prof.ops.mac_energy_pj
    hand += n * P * (sram.read_energy_pj + sram.write_energy_pj)  # 32-bit traces, 32-bit words
    assert math.isclose(b.energy_pj["trace"], hand, rel_tol=1e-12)
    snap1 = hw.budget(model, ns.rules.make("snap1"), prof)
    assert snap1.energy_pj["trace"] < b.energy_pj["trace"] / n  # SnAp-1: O(P) instead of O(n²P)
    assert hw.budget(model, ns.rules.make("spatial"), prof).energy_pj["trace"] == 0.0


def test_routing_tables_take_one_entry_per_destination_core():
    """A 2-layer RNN of 1500 units per layer on Loihi: layer 0 on cores 0–1, layer 1 on 2–3. Core 0
    routes to core 1 (its layer) and cores 2, 3 (the next layer); core 2 only to core 3."""
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=1500, n_layers=2)
    prof = hw.load_profile("loihi")
    b = hw.budget(model, ns.rules.make("spatial"), prof)
    assert [e.layer for e in b.layout.entries()] == [0, 0, 1, 1]
    routing = {r.core: r.items.get("routing_table") for r in b.regions if r.region == "axon_routing"}
    assert routing == {0: 3 * 32, 1: 3 * 32, 2: 32, 3: 32}
    assert b.update_ns > 0


def test_budget_refuses_bad_arguments_by_name():
    model, profile = reckon_network()
    rule = ns.rules.make("eprop", filter=False)
    with pytest.raises(ValueError, match="optimizer='rmsprop' is invalid"):
        hw.budget(model, rule, profile, optimizer="rmsprop")
    with pytest.raises(ValueError, match="activity=1.5 is invalid"):
        hw.budget(model, rule, profile, activity=1.5)
    with pytest.raises(ValueError, match="update_every=0 is invalid"):
        hw.budget(model, rule, profile, update_every=0)

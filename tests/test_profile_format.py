"""The profile format as typed frozen sections, every number used, and the number formats
(``hardware.formats``) against exact oracles."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest

import neurosim
import neurosim.hardware as hw
from neurosim.hardware import formats, mesh
from neurosim.hardware import profile as P

PROFILES = hw.list_profiles()
SECTIONS = {"chip": P.Chip, "core": P.Core, "formats": P.Formats, "ops": P.Ops, "noc": P.Noc}
UNITS = ("_nm", "_mhz", "_mw", "_ns", "_pj", "_cycles", "_bits", "_bits_per_cycle", "_packets")
# dimensionless counts (tiles, cores, neurons, axons, samples held)
COUNTS = {"mesh_width", "mesh_height", "cores_per_tile", "max_neurons", "max_fan_in", "max_fan_out",
          "max_axons_in", "max_axons_out", "contexts", "routing_table_entries"}  # fmt: skip


# --- typed sections ------------------------------------------------------------------------------
def test_sections_are_typed_frozen_dataclasses_with_units_in_their_names():
    p = hw.load_profile("loihi")
    for name, cls in SECTIONS.items():
        section = getattr(p, name)
        assert type(section) is cls and dataclasses.is_dataclass(section)
        assert set(f.name for f in dataclasses.fields(cls)) >= set(P._NUM.get(name, {})) | set(P._TEXT.get(name, {}))
        for f in dataclasses.fields(cls):
            numeric = f.name in P._NUM.get(name, {})
            assert not numeric or f.name.endswith(UNITS) or re.search(r"_(pj|ns)_(ew|ns)$", f.name) or f.name in COUNTS
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(section, dataclasses.fields(cls)[0].name, 0)
    for s in p.srams:
        assert type(s) is P.Sram
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.access_cycles = 3


@pytest.mark.parametrize("name", PROFILES)
def test_sections_are_read_by_attribute_only(name):
    """The sections are typed objects, not dicts: a string key is an error, not a silent lookup."""
    p = hw.load_profile(name)
    for sec in SECTIONS:
        with pytest.raises(TypeError):
            getattr(p, sec)["clock_mhz"]


def test_sections_check_their_values_on_creation():
    ops = hw.load_profile("loihi").ops
    with pytest.raises(hw.ProfileError, match=r"Ops: synop_energy_pj: -1\.0 outside"):
        dataclasses.replace(ops, synop_energy_pj=-1.0)
    with pytest.raises(hw.ProfileError, match=r"Ops: mac_cycles: must be a number"):
        dataclasses.replace(ops, mac_cycles="3")
    noc = hw.load_profile("loihi").noc
    with pytest.raises(hw.ProfileError, match=r"Noc: packet_bits: must be an integer"):
        dataclasses.replace(noc, packet_bits=31.5)
    fmt = hw.load_profile("loihi").formats
    with pytest.raises(hw.ProfileError, match=r"Formats: rounding: 'up'"):
        dataclasses.replace(fmt, rounding="up")
    chip = hw.load_profile("loihi").chip
    with pytest.raises(hw.ProfileError, match=r"barrier_latency_ns_by_tiles: keys must be ascending"):
        dataclasses.replace(chip, barrier_latency_ns_by_tiles=((4, 1.0), (2, 1.0)))
    assert dataclasses.replace(ops, synop_energy_pj=1.0).synop_energy_pj == 1.0


def test_the_barrier_follows_sanafes_table_by_tiles_in_use():
    p = hw.load_profile("loihi")
    got = [p.barrier_latency_ns(t) for t in (0, 1, 2, 3, 4, 28, 29, 32)]
    assert got == [600.0, 600.0, 1000.0, 1000.0, 1400.0, 1400.0, 1800.0, 1800.0]
    assert p.provenance["chip.barrier_latency_ns_by_tiles.29"].source == "sanafe_loihi"
    t = hw.load_profile("tianjic")
    assert t.barrier_latency_ns(1) == t.barrier_latency_ns(156) == t.chip.barrier_latency_ns


def test_a_bad_barrier_table_names_the_field(tmp_path):
    import tomllib

    d = tomllib.loads(P.PROFILE_DIR.joinpath("loihi.toml").read_text())
    d["chip"]["barrier_latency_ns_by_tiles"]["0"] = {"value": 1.0, "source": "estimate", "confidence": "estimate"}
    with pytest.raises(hw.ProfileError, match=r"bad\.toml: chip\.barrier_latency_ns_by_tiles\.0: keys must be"):
        hw.parse(d, "bad.toml")
    d["chip"]["barrier_latency_ns_by_tiles"] = {"2": {"value": -1.0, "source": "estimate", "confidence": "estimate"}}
    with pytest.raises(hw.ProfileError, match=r"chip\.barrier_latency_ns_by_tiles\.2\.value: must be >= 0"):
        hw.parse(d, "bad.toml")
    schema = hw.profile.json_schema()["properties"]["chip"]["properties"]
    assert "barrier_latency_ns_by_tiles" in schema


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_carries_the_event_fields_with_a_source(name):
    p = hw.load_profile(name)
    for key in ("ops.neuron_access_energy_pj", "ops.neuron_access_cycles", "ops.spike_out_energy_pj",
                "ops.spike_out_cycles", "noc.link_buffer_packets"):  # fmt: skip
        s = p.provenance[key]
        assert s.source in p.sources and (s.confidence != "estimate" or s.note)
    assert p.ops.neuron_access_energy_pj <= p.ops.neuron_update_energy_pj  # an update includes the access
    assert p.ops.neuron_access_cycles <= p.ops.neuron_update_cycles


def test_loihis_event_numbers_are_sanafes():
    """Where SANA-FE's arch/loihi.yaml is the source, the profile carries its numbers."""
    p = hw.load_profile("loihi")
    o, n = p.ops, p.noc
    assert (o.neuron_access_energy_pj, o.neuron_access_cycles) == (51.2, 6.0)
    assert (o.neuron_update_energy_pj, o.neuron_update_cycles) == (72.8, 9.7)  # 51.2 + 21.6
    assert (o.spike_out_energy_pj, o.spike_out_cycles) == (69.3, 30.0)
    assert (o.synop_energy_pj, o.synop_cycles, o.message_out_energy_pj, o.message_out_cycles) == (35.5, 3.8, 111.0, 5.1)
    assert (o.message_in_energy_pj, o.message_in_cycles) == (0.0, 16.0)
    assert (n.hop_energy_pj_ew, n.hop_energy_pj_ns, n.hop_latency_ns_ew, n.hop_latency_ns_ns) == (3.0, 4.2, 4.1, 6.5)
    assert n.link_buffer_packets == 16 and p.chip.cycle_ns == 1.0


def test_every_number_of_the_format_is_read_somewhere():
    """Each field of the format is read by the package (issue 10, item 3: every profile number is
    used, or it goes): as an attribute (``.field``) anywhere, or by its quoted name outside
    profile.py (whose quoted names are the spec itself); an op's fields also through its quoted op
    name (``rule.op_counts`` keys, ``_ns(profile, "op")``), a format width through its kind."""
    root = Path(neurosim.__file__).parent
    files = {p.name: p.read_text() for p in root.rglob("*.py")}
    anywhere = "\n".join(files.values())
    outside = "\n".join(t for n, t in files.items() if n != "profile.py")

    def read(k):
        if re.search(rf"\.{k}\b", anywhere) or re.search(rf"[\"']{k}[\"']", outside):
            return True
        op = re.match(r"(\w+)_(energy_pj|cycles)$", k)
        if op and op.group(1) in P.OPS:
            return bool(re.search(rf"[\"']{op.group(1)}[\"']", outside))
        width = re.match(r"(weight|state|trace|gradient)_bits$", k)
        return bool(width and re.search(rf"[\"']{width.group(1)}[\"']", outside))

    names = {k for sec in (*P._NUM.values(), *P._TEXT.values()) for k in sec} - {"name", "description", "kind"}
    unread = sorted(k for k in names if not read(k))
    assert not unread, f"fields no module reads: {unread}"


# --- the mesh ------------------------------------------------------------------------------------
def test_default_sites_fill_tiles_column_by_column():
    p = hw.load_profile("loihi")
    assert [mesh.default_site(p, c) for c in (0, 3, 4, 12, 16, 127)] == [(0, 0), (0, 0), (0, 1), (0, 3), (1, 0),
                                                                         (7, 3)]  # fmt: skip
    cores = np.arange(p.n_cores)
    assert np.array_equal(mesh.sites_of(p, cores), [mesh.default_site(p, c) for c in cores])


def test_route_latency_is_hops_plus_serialization():
    p = hw.load_profile("loihi")
    lat = mesh.route_latency_ns(p, (0, 0), [(0, 0), (1, 0), (0, 1), (3, 2)])
    assert np.allclose(lat, [0.0, 4.1, 6.5, 3 * 4.1 + 2 * 6.5])  # one flit per packet: no serialization
    long = dataclasses.replace(p, noc=dataclasses.replace(p.noc, packet_bits=72))  # 3 flits of 32 bits
    assert mesh.serialization_ns(long) == 2.0
    assert np.allclose(mesh.route_latency_ns(long, (0, 0), [(0, 0), (1, 0)]), [0.0, 4.1 + 2.0])


def test_sram_access_cycles():
    s = hw.load_profile("loihi").sram("synapse")
    assert s.access_cycles_for(10) == 10 * s.access_cycles
    with pytest.raises(KeyError, match="no SRAM region 'dram'"):
        hw.load_profile("loihi").sram("dram")


# --- number formats ------------------------------------------------------------------------------
X = np.random.default_rng(0).normal(0, 3, 10_000)


def test_nearest_rounding_is_np_round_on_the_scaled_grid():
    got = formats.quantize(X, 12, 4, rounding="nearest", saturate=True)
    assert np.array_equal(got, np.clip(np.round(X * 16), -2048, 2047) / 16)
    assert np.array_equal(formats.quantize([0.5, 1.5, 2.5, -0.5], 8, 0), [0.0, 2.0, 2.0, -0.0])  # ties to even


def test_stochastic_rounding_is_unbiased_and_picks_a_neighbour():
    """Mean of N = 40 000 draws of one value within 5 standard errors of the value itself; a floor
    (the biased rounding) fails the same test; every draw is one of the two grid neighbours."""
    rng = np.random.default_rng(1)
    f, n = 3, 40_000
    for x in (0.3, -1.17, 2.0 + 1 / 16, 5.0):
        draws = formats.quantize(np.full(n, x), 8, f, rounding="stochastic", rng=rng)
        lo, hi = math.floor(x * 8) / 8, math.ceil(x * 8) / 8
        assert set(np.unique(draws)) <= {lo, hi}
        p = (x - lo) * 8
        se = math.sqrt(max(p * (1 - p), 1e-12) / n) / 8
        assert abs(draws.mean() - x) <= 5 * se + 1e-15
        floor = np.floor(np.full(n, x) * 8) / 8  # negative control
        assert p == 0 or abs(floor.mean() - x) > 5 * se


def test_saturation_clips_and_no_saturation_wraps_twos_complement():
    x = np.arange(-300, 300) + 0.0
    sat = formats.quantize(x, 8, 0, saturate=True)
    assert sat.min() == -128 and sat.max() == 127 and np.array_equal(sat, np.clip(x, -128, 127))
    wrap = formats.quantize(x, 8, 0, saturate=False)
    assert np.array_equal(wrap, x.astype(np.int64).astype(np.int8))  # numpy's int8 cast wraps
    assert formats.saturations(x, 8) == np.count_nonzero((x < -128) | (x > 127))
    big = formats.to_codes([2.0**70 + 2.0**20], 24, 0, saturate=False)
    assert big[0] == ((2**70 + 2**20 + 2**23) % 2**24) - 2**23


def test_float_formats_pass_through_at_their_width():
    assert np.array_equal(formats.quantize(X, 32, number="float"), X.astype(np.float32).astype(np.float64))
    assert np.array_equal(formats.quantize(X, 16, number="float"), X.astype(np.float16).astype(np.float64))
    assert np.array_equal(formats.quantize(X, 24, number="float"), X)


@pytest.mark.parametrize("name", PROFILES)
def test_quantize_as_uses_the_profiles_format(name):
    p = hw.load_profile(name)
    f = p.formats
    got = formats.quantize_as(p, "weight", X, 2, rng=np.random.default_rng(2))
    want = formats.quantize(X, f.weight_bits, 2, number=f.number, rounding=f.rounding, saturate=f.saturate,
                            rng=np.random.default_rng(2))  # fmt: skip
    assert np.array_equal(got, want)
    if f.number == "fixed":
        lo, hi = formats.fixed_range(f.weight_bits)
        assert got.min() >= lo / 4 and got.max() <= hi / 4


def test_bad_format_arguments_are_refused():
    with pytest.raises(ValueError, match="stochastic rounding needs rng"):
        formats.quantize(X, 8, rounding="stochastic")
    with pytest.raises(ValueError, match="rounding: 'up'"):
        formats.quantize(X, 8, rounding="up")
    with pytest.raises(ValueError, match="kind: 'bias'"):
        formats.quantize_as(hw.load_profile("loihi"), "bias", X)
    with pytest.raises(ValueError, match="non-finite"):
        formats.quantize([np.inf], 8)

"""The profile fields the chip simulation and the mapper read (issue 11 part 7, issue 12 parts 5
and 8): packet header bits, multicast and router-table size, I/O ports, stochastic-rounding
support, and multi-chip boards — each loaded with a source from every bundled chip, each
validated with an error naming the file, the field and the value.

Negative cases edit a copy of a bundled TOML in ``tmp_path`` (``_write``), so the error names a
real file. Published values are the numbers of ``/work/shared/reference/hardware.md`` and the
cited repositories, written here by hand."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

import neurosim.hardware as hw
from neurosim.hardware import profile as P

CHIPS = ("loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2", "reckon", "xylo", "tianjic", "cortex_m4",
         "cortex_m7")  # fmt: skip


def _raw(name: str) -> dict:
    return tomllib.loads((P.PROFILE_DIR / f"{name}.toml").read_text())


def _toml(value) -> str:
    """A TOML rendering of a parsed profile value (enough for the profile format)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def _dump(data: dict) -> str:
    lines = []
    for sec, body in data.items():
        if isinstance(body, list):  # [[sram]]
            for table in body:
                lines.append(f"[[{sec}]]")
                lines += [f'"{k}" = {_toml(v)}' for k, v in table.items()]
            continue
        lines.append(f"[{sec}]")
        subs = {k: v for k, v in body.items() if isinstance(v, dict) and k in P._SUBTABLES.get(sec, ())}
        lines += [f'"{k}" = {_toml(v)}' for k, v in body.items() if k not in subs]
        for k, v in subs.items():
            lines.append(f"[{sec}.{k}]")
            lines += [f'"{kk}" = {_toml(vv)}' for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, data: dict, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(_dump(data))
    return path


def test_the_toml_writer_round_trips_every_bundled_chip(tmp_path):
    """The negative cases below rest on ``_dump``: unedited, every chip reloads to the same profile."""
    for name in CHIPS:
        again = hw.load_profile(_write(tmp_path, _raw(name), f"{name}.toml"))
        assert again.provenance == hw.load_profile(name).provenance


# --- 1, 2: packet header, multicast, routing tables --------------------------------------------
@pytest.mark.parametrize("name", CHIPS)
def test_every_chip_has_the_network_fields_with_a_source(name):
    p = hw.load_profile(name)
    for key in ("noc.packet_header_bits", "noc.multicast", "noc.routing_table_entries"):
        s = p.provenance[key]
        assert s.source in p.sources and s.confidence in P.CONFIDENCE
        assert s.confidence != "estimate" or s.note, f"{name}: {key} is an estimate without its reasoning"
    assert isinstance(p.noc.multicast, bool) and isinstance(p.noc.routing_table_entries, int)
    assert 0 <= p.noc.packet_header_bits < p.noc.packet_bits
    assert p.noc.payload_bits == p.noc.packet_bits - p.noc.packet_header_bits


def test_published_network_numbers():
    """hardware.md §5: SpiNNaker 1's router has 1,023 entries for applications (SpiNNMachine
    ``n_router_entries``; PACMAN compresses tables to fit 1023), SpiNNaker 2's 16,384 (the
    SpiNNaker2 datasheet); both routers are multicast. SpiNNaker packets: an 8-bit control byte,
    a 32-bit key, an optional 32-bit payload — SpiNNMachine's 40-bit packet and 72-bit packet with
    payload (JOULES_PER_PACKET = 25 pJ × 40, JOULES_PER_PACKET_WITH_PAYLOAD = 25 pJ × 72). Loihi
    (hardware.md §2, SANA-FE) sends one message per destination core: not multicast, no table.
    TrueNorth (Merolla 2014): a neuron targets one axon; its packet's 9-bit dx and dy route it."""
    s1, s2 = hw.load_profile("spinnaker"), hw.load_profile("spinnaker2")
    assert (s1.noc.routing_table_entries, s2.noc.routing_table_entries) == (1023, 16384)
    assert s1.noc.multicast and s2.noc.multicast
    assert s1.noc.packet_bits == 8 + 32 and s1.noc.packet_header_bits == 8 and s1.noc.payload_bits == 32
    assert s1.noc.packet_header_bits + 32 + 32 == 72 == s2.noc.packet_bits
    loihi = hw.load_profile("loihi")
    assert not loihi.noc.multicast and loihi.noc.routing_table_entries == 0
    tn = hw.load_profile("truenorth")
    assert not tn.noc.multicast and tn.noc.packet_header_bits == 9 + 9 and tn.noc.payload_bits == 32 - 18
    # negative control: the single-router chips differ from the mesh chips where the papers say so
    assert {n for n in CHIPS if hw.load_profile(n).noc.multicast} == {"spinnaker", "spinnaker2"}


def test_a_header_as_long_as_the_packet_is_refused(tmp_path):
    d = _raw("loihi")
    d["noc"]["packet_header_bits"]["value"] = 32
    path = _write(tmp_path, d)
    with pytest.raises(hw.ProfileError, match=rf"^{re.escape(str(path))}: noc\.packet_header_bits: 32 must be smaller "
                       r"than noc\.packet_bits \(32\)"):  # fmt: skip
        hw.load_profile(path)
    d["noc"]["packet_header_bits"]["value"] = 31  # negative control: one payload bit is enough
    assert hw.load_profile(_write(tmp_path, d)).noc.payload_bits == 1
    noc = hw.load_profile("loihi").noc
    with pytest.raises(hw.ProfileError, match=r"Noc: packet_header_bits: 40 must be smaller than packet_bits \(32\)"):
        dataclasses.replace(noc, packet_header_bits=40)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("multicast", {"value": "yes", "source": "estimate", "confidence": "estimate"},
         r"noc\.multicast\.value: must be true or false, got 'yes'"),
        ("multicast", True, r"noc\.multicast: must be an inline table \{ value = true \| false"),
        ("multicast", {"value": True, "source": "nowhere", "confidence": "estimate"},
         r"noc\.multicast\.source: 'nowhere' is not a key of \[sources\]"),
        ("routing_table_entries", {"value": -1, "source": "estimate", "confidence": "estimate"},
         r"noc\.routing_table_entries\.value: must be >= 0, got -1"),
        ("routing_table_entries", {"value": 2.5, "source": "estimate", "confidence": "estimate"},
         r"noc\.routing_table_entries\.value: must be an integer, got 2\.5"),
        ("packet_header_bits", {"value": -8, "source": "estimate", "confidence": "estimate"},
         r"noc\.packet_header_bits\.value: must be >= 0, got -8"),
    ],
)  # fmt: skip
def test_bad_network_fields_name_file_field_and_value(tmp_path, key, value, match):
    d = _raw("spinnaker")
    d["noc"][key] = value
    path = _write(tmp_path, d)
    with pytest.raises(hw.ProfileError, match=rf"^{re.escape(str(path))}: {match}"):
        hw.load_profile(path)
    del d["noc"][key]
    with pytest.raises(hw.ProfileError, match=rf"noc\.{key}: missing"):
        hw.load_profile(_write(tmp_path, d))

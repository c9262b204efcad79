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


def test_a_graded_value_takes_its_bits_over_the_payload_in_packets():
    """``mesh.packets_for``: ⌈value bits / (packet − header)⌉. SpiNNaker's 40-bit packet has 32
    payload bits, Loihi's (estimated) 32-bit packet 16: a 32-bit value is one packet on the first,
    two on the second; a spike (0 bits) is one packet."""
    from neurosim.hardware import mesh

    s1, loihi = hw.load_profile("spinnaker"), hw.load_profile("loihi")
    assert [mesh.packets_for(s1, b) for b in (0, 1, 32, 33, 64)] == [1, 1, 1, 2, 2]
    assert [mesh.packets_for(loihi, b) for b in (0, 16, 17, 32)] == [1, 1, 2, 2]
    assert -(-32 // loihi.noc.packet_bits) == 1  # negative control: the whole packet as payload says one
    with pytest.raises(ValueError, match=r"value_bits -1 must be ≥ 0"):
        mesh.packets_for(s1, -1)


# --- 3: I/O ports -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", CHIPS)
def test_every_chip_has_io_ports_inside_its_mesh(name):
    p = hw.load_profile(name)
    s = p.provenance["chip.io_ports"]
    assert s.source in p.sources and (s.confidence != "estimate" or s.note)
    w, h = p.chip.mesh_width, p.chip.mesh_height
    for d in ("in", "out"):
        sites = p.chip.io_sites(d)
        assert sites and all(0 <= x < w and 0 <= y < h for x, y in sites) and len(set(sites)) == len(sites)


def test_truenorths_ports_are_the_four_edges_of_its_mesh():
    """Merolla 2014: the mesh continues across all four sides of the chip: every border tile of
    the 64 × 64 mesh is a port — 4 × 64 − 4 corners counted twice = 252 tiles."""
    p = hw.load_profile("truenorth")
    border = {(x, y) for x in range(64) for y in range(64) if x in (0, 63) or y in (0, 63)}
    assert len(border) == 252 and set(p.chip.io_sites("in")) == border == set(p.chip.io_sites("out"))
    assert (1, 1) not in p.chip.io_sites("in")  # negative control: an inner tile is no port
    with pytest.raises(ValueError, match=r"direction 'up'"):
        p.chip.io_sites("up")


@pytest.mark.parametrize(
    "ports, match",
    [
        ([{"x": 8, "y": 0, "dir": "in"}, {"x": 0, "y": 0, "dir": "out"}],
         r"chip\.io_ports\.value\[0\]: tile \(8, 0\) is outside the 8×4 mesh \(x in 0…7, y in 0…3\)"),
        ([{"x": 0, "y": -1, "dir": "inout"}], r"chip\.io_ports\.value\[0\]: tile \(0, -1\) is outside the 8×4 mesh"),
        ([{"x": 0, "y": 0, "dir": "sideways"}],
         r"chip\.io_ports\.value\[0\]\.dir: 'sideways'; allowed: in, out, inout"),
        ([{"edge": "top", "dir": "in"}], r"chip\.io_ports\.value\[0\]\.edge: 'top'; allowed: west, east, south, north"),
        ([{"x": 0, "dir": "in"}], r"chip\.io_ports\.value\[0\]: \{'x': 0, 'dir': 'in'\}; allowed: \{ x, y, dir \}"),
        ([{"x": 0, "y": 0, "z": 1, "dir": "in"}], r"chip\.io_ports\.value\[0\]: unknown key\(s\) \['z'\]"),
        ([{"x": 0, "y": 0, "dir": "in"}], r"chip\.io_ports: no port with dir 'out' or 'inout'"),
        ([], r"chip\.io_ports\.value: must be a non-empty list"),
    ],
)  # fmt: skip
def test_bad_io_ports_name_file_field_and_value(tmp_path, ports, match):
    d = _raw("loihi")
    d["chip"]["io_ports"]["value"] = ports
    path = _write(tmp_path, d)
    with pytest.raises(hw.ProfileError, match=rf"^{re.escape(str(path))}: {match}"):
        hw.load_profile(path)


def test_good_io_ports_load_and_sections_recheck_them(tmp_path):
    d = _raw("loihi")
    d["chip"]["io_ports"]["value"] = [{"x": 7, "y": 3, "dir": "in"}, {"edge": "north", "dir": "out"}]
    p = hw.load_profile(_write(tmp_path, d, "ok.toml"))  # negative control of the cases above
    assert p.chip.io_sites("in") == ((7, 3),) and p.chip.io_sites("out") == tuple((x, 3) for x in range(8))
    del d["chip"]["io_ports"]
    with pytest.raises(hw.ProfileError, match=r"chip\.io_ports: missing"):
        hw.load_profile(_write(tmp_path, d))
    with pytest.raises(hw.ProfileError, match=r"Chip: io_ports: tile \(7, 3\) is outside the 4×4 mesh"):
        dataclasses.replace(p.chip, mesh_width=4)


# --- 4: stochastic rounding --------------------------------------------------------------------
@pytest.mark.parametrize("name", CHIPS)
def test_every_chip_says_whether_it_rounds_stochastically(name):
    p = hw.load_profile(name)
    s = p.provenance["formats.stochastic_rounding"]
    assert isinstance(p.formats.stochastic_rounding, bool) and s.source in p.sources
    assert s.confidence != "estimate" or s.note
    assert p.formats.rounding != "stochastic" or p.formats.stochastic_rounding


def test_published_stochastic_rounding():
    """hardware.md §12: ReckOn rounds stochastically from LFSRs; §4: nengo-loihi's bit-accurate
    emulator rounds Loihi's traces stochastically. Xylo and Tianjic have no learning engine."""
    assert hw.load_profile("reckon").formats.stochastic_rounding
    assert hw.load_profile("loihi").formats.stochastic_rounding
    assert not hw.load_profile("xylo").formats.stochastic_rounding  # negative control
    assert not hw.load_profile("tianjic").formats.stochastic_rounding


def test_stochastic_rounding_on_a_chip_without_it_is_an_error(tmp_path):
    d = _raw("xylo")
    d["formats"]["rounding"] = "stochastic"
    path = _write(tmp_path, d, "xylo.toml")
    want = r"formats\.rounding: 'stochastic', but formats\.stochastic_rounding is false \(rockpool_xylo: "
    want += r".*allowed: 'nearest'"
    with pytest.raises(hw.ProfileError, match=rf"^{re.escape(str(path))}: {want}"):
        hw.load_profile(path)
    d["formats"]["stochastic_rounding"]["value"] = True  # negative control: a chip that can, may
    assert hw.load_profile(_write(tmp_path, d, "xylo.toml")).formats.rounding == "stochastic"
    xylo, loihi2 = hw.load_profile("xylo").formats, hw.load_profile("loihi2").formats
    with pytest.raises(hw.ProfileError, match=r"Formats: rounding: 'stochastic', but stochastic_rounding is false"):
        dataclasses.replace(xylo, rounding="stochastic")
    assert dataclasses.replace(loihi2, rounding="nearest").rounding == "nearest"


# --- 5: boards ---------------------------------------------------------------------------------
LINKS = ((1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1))  # SpiNNMachine LINK_ADD_TABLE: E NE N W SW S


def _bfs(sites, links, wrap=None):
    """Hops between every pair of chips by breadth-first search over the links that join present
    chips (``wrap``: (width, height) of a torus) — the oracle for ``Board.hops``."""
    index = {s: i for i, s in enumerate(sites)}
    out = [[-1] * len(sites) for _ in sites]
    for i, start in enumerate(sites):
        out[i][i], frontier = 0, [start]
        while frontier:
            nxt = []
            for x, y in frontier:
                for dx, dy in links:
                    q = (x + dx, y + dy) if wrap is None else ((x + dx) % wrap[0], (y + dy) % wrap[1])
                    if q in index and out[i][index[q]] < 0:
                        out[i][index[q]] = out[i][index[(x, y)]] + 1
                        nxt.append(q)
            frontier = nxt
    return out


@pytest.mark.parametrize("name", CHIPS)
def test_a_chip_without_a_board_is_one_chip(name):
    p = hw.load_profile(name)
    assert p.board is None and p.n_chips == 1 and p.extends == ""


def test_the_spinn5_board_has_48_chips_in_a_hexagon():
    """SpiNNMachine version_5.py: 48 chips on an 8 × 8 grid, column x holding rows x − 4 … x + 3
    clipped to the grid (4, 5, 6, 7, 8, 7, 6, 5 chips); hardware.md §5 measures a '48-chip board'."""
    p = hw.load_profile("spinnaker_board48")
    b = p.board
    hexagon = {(x, y) for x in range(8) for y in range(8) if x - 4 <= y <= x + 3}
    assert b.n_chips == p.n_chips == 48 == len(hexagon) and set(b.sites) == hexagon
    assert (b.chips_x, b.chips_y, b.topology) == (8, 8, "hexagonal")
    assert p.extends == "spinnaker" and (0, 7) not in b.sites
    with pytest.raises(ValueError, match=r"board: no chip at \(0, 7\)"):
        b.hops((0, 0), (0, 7))
    with pytest.raises(ValueError, match=r"board: chip 48 does not exist; chips 0 … 47"):
        b.site(48)


def test_board_hops_are_shortest_paths_over_the_links():
    """Every pair of the 48 chips against a breadth-first search over SpiNNaker's six links; by
    hand: (0,0)→(7,7) is 7 diagonal hops, (0,3)→(4,0) 4 east + 3 south = 7, (2,2)→(4,3) = 2. The
    negative control: four-neighbour (Manhattan) hops disagree, (0,0)→(4,4) is 8 there, 4 here."""
    b = hw.load_profile("spinnaker_board48").board
    assert b.hop_matrix().tolist() == _bfs(b.sites, LINKS)
    assert [b.hops((0, 0), (7, 7)), b.hops((0, 3), (4, 0)), b.hops((2, 2), (4, 3)), b.hops(5, 5)] == [7, 7, 2, 0]
    assert b.hops((0, 0), (4, 4)) == 4 and _bfs(b.sites, LINKS[::3] + LINKS[2::3])[0][b.sites.index((4, 4))] == 8
    assert b.hops(b.sites.index((7, 7)), 0) == 7  # by chip number too


def test_mesh_and_torus_boards(tmp_path):
    """A 4 × 3 grid (no chips list: chip i at (i // 3, i % 3)): mesh hops are Manhattan, torus hops
    wrap — (0,0)→(3,2) is 3 + 2 = 5 on the mesh and 1 + 1 = 2 on the torus; both equal a BFS."""
    d = tomllib.loads((P.PROFILE_DIR / "spinnaker_board48.toml").read_text())
    d["board"].update(chips_x={"value": 4, "source": "estimate", "confidence": "estimate"},
                      chips_y={"value": 3, "source": "estimate", "confidence": "estimate"})  # fmt: skip
    del d["board"]["chips"]
    four = ((1, 0), (-1, 0), (0, 1), (0, -1))
    for topology, want, wrap in (("mesh", 5, None), ("torus", 2, (4, 3))):
        d["board"]["topology"]["value"] = topology
        (tmp_path / "b.toml").write_text(_dump(d).replace('"extends" = "spinnaker"', f'"extends" = "{_base()}"'))
        b = hw.load_profile(tmp_path / "b.toml").board
        assert b.n_chips == 12 and b.site(5) == (1, 2) and b.hops((0, 0), (3, 2)) == want
        assert b.hop_matrix().tolist() == _bfs(b.sites, four, wrap)


def _base() -> str:
    return str(P.PROFILE_DIR / "spinnaker.toml")


def test_board_link_costs():
    """SpiNNMachine: 25 pJ per bit routed, so a 40-bit packet costs 1 nJ per chip it crosses; two
    hops 2 nJ. Latency: 2 × 200 ns (the head) + 40 bits at 250 Mbit/s (160 ns) once; 0 hops is free."""
    p = hw.load_profile("spinnaker_board48")
    b = p.board
    assert b.transfer_energy_pj(p.noc.packet_bits, 2) == 2 * 1000.0 == 2 * p.noc.hop_energy_pj_ew
    assert b.transfer_latency_ns(40, 2) == pytest.approx(2 * 200 + 160)
    assert b.transfer_latency_ns(40, 0) == 0.0
    for key in ("chips_x", "chips_y", "topology", "chips", "link_energy_pj_per_bit", "link_latency_ns",
                "link_bandwidth_mbit_s"):  # fmt: skip
        s = p.provenance[f"board.{key}"]
        assert s.source in p.sources and (s.confidence != "estimate" or s.note)


def test_the_board_inherits_its_chip_whole():
    board, chip = hw.load_profile("spinnaker_board48"), hw.load_profile("spinnaker")
    for sec in ("chip", "core", "srams", "formats", "ops", "noc", "array_bits"):
        assert getattr(board, sec) == getattr(chip, sec)
    assert set(chip.sources) < set(board.sources) and "spinnmachine5" in board.sources
    assert {k: v for k, v in board.provenance.items() if not k.startswith("board.")} == chip.provenance


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda b: b["chips"]["value"].append([8, 0]),
         r"board\.chips\.value\[48\]: chip \[8, 0\] is outside the 8×8 grid"),
        (lambda b: b["chips"]["value"].append([0, 0]), r"board\.chips\.value\[48\]: chip \[0, 0\] is listed twice"),
        (lambda b: b["chips"].update(value=[[0, 0, 0]]), r"board\.chips\.value\[0\]: \[0, 0, 0\]; allowed: \[x, y\]"),
        (lambda b: b["topology"].update(value="ring"),
         r"board\.topology\.value: 'ring'; allowed: mesh, torus, hexagonal"),
        (lambda b: b["chips_x"].update(value=0), r"board\.chips_x\.value: must be >= 1, got 0"),
        (lambda b: b["link_bandwidth_mbit_s"].update(value=0), r"board\.link_bandwidth_mbit_s\.value: must be > 0"),
        (lambda b: b.pop("link_latency_ns"), r"board\.link_latency_ns: missing"),
        (lambda b: b.update(wrap=True), r"board\.wrap: unknown key; allowed: chips, chips_x"),
    ],
)  # fmt: skip
def test_bad_boards_name_file_field_and_value(tmp_path, edit, match):
    d = tomllib.loads((P.PROFILE_DIR / "spinnaker_board48.toml").read_text())
    edit(d["board"])
    path = tmp_path / "bad.toml"
    path.write_text(_dump(d).replace('"extends" = "spinnaker"', f'"extends" = "{_base()}"'))
    with pytest.raises(hw.ProfileError, match=rf"^{re.escape(str(path))}: {match}"):
        hw.load_profile(path)


def test_extends_errors_name_the_field(tmp_path):
    (tmp_path / "a.toml").write_text('[profile]\nname = "a"\nextends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('[profile]\nname = "b"\nextends = "a.toml"\n')
    # named where the cycle closes: b.toml's extends leads back to a.toml
    with pytest.raises(hw.ProfileError, match=r"/b\.toml: profile\.extends: 'a\.toml' extends itself \(a → b → a\)"):
        hw.load_profile(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('[profile]\nname = "c"\nextends = "spinaker"\n')
    with pytest.raises(hw.ProfileError, match=r"c\.toml: profile\.extends: 'spinaker' is neither a bundled profile "
                       r"\(.*spinnaker.*\) nor a \.toml file"):  # fmt: skip
        hw.load_profile(tmp_path / "c.toml")
    # an override, key by key, through a relative path: the rest is the base's
    (tmp_path / "d.toml").write_text(
        '[profile]\nname = "d"\nextends = "e.toml"\n[noc]\nlink_buffer_packets = { value = 4, source = "estimate", '
        'confidence = "estimate", note = "test" }\n'
    )
    (tmp_path / "e.toml").write_text((P.PROFILE_DIR / "loihi.toml").read_text())
    d = hw.load_profile(tmp_path / "d.toml")
    loihi = hw.load_profile("loihi")
    assert d.name == "d" and d.noc.link_buffer_packets == 4 and loihi.noc.link_buffer_packets == 16
    assert dataclasses.replace(d.noc, link_buffer_packets=16) == loihi.noc and d.chip == loihi.chip


# --- the format's documentation: the JSON Schema and the CLI ------------------------------------
def test_the_json_schema_lists_every_field_of_the_spec():
    schema = P.json_schema()["properties"]
    for sec in ("chip", "core", "formats", "ops", "noc", "board"):
        props = schema[sec]["properties"]
        assert set(P._NUM.get(sec, {})) | set(P._TEXT.get(sec, {})) | set(P._SPECIAL.get(sec, ())) <= set(props)
    assert "extends" in schema["profile"]["properties"] and "extends" not in schema["profile"]["required"]
    assert "board" not in P.json_schema()["required"] and "io_ports" in schema["chip"]["required"]
    assert schema["noc"]["properties"]["multicast"]["properties"]["value"] == {"type": "boolean"}


def test_every_bundled_profile_validates_against_the_json_schema(tmp_path):
    """The schema and the loader agree: every bundled profile (a board merged with its chip) is
    valid, and a copy the loader refuses for its ports or its multicast is refused by the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = P.json_schema()
    for name in hw.list_profiles():
        path = P.PROFILE_DIR / f"{name}.toml"
        jsonschema.validate(P._resolve_extends(tomllib.loads(path.read_text()), str(path)), schema)
    for edit in (lambda d: d["chip"]["io_ports"]["value"][0].update(dir="sideways"),
                 lambda d: d["noc"]["multicast"].update(value="yes")):  # fmt: skip
        d = _raw("loihi")
        edit(d)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(d, schema)
        with pytest.raises(hw.ProfileError):
            hw.load_profile(_write(tmp_path, d))


def test_the_cli_lists_the_new_fields(capsys):
    from neurosim import cli

    assert cli.main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"spinnaker_board48 .* multicast \(1023-entry tables\); board of 48 chips \(8×8 hexagonal\)", out)
    assert re.search(r"loihi +neuromorphic .* 32-bit packets \(16 payload\), unicast\n", out)
    assert cli.main(["profiles", "spinnaker_board48"]) == 0
    out = capsys.readouterr().out
    for key in ("noc.packet_header_bits", "noc.multicast", "chip.io_ports", "formats.stochastic_rounding",
                "board.topology", "board.chips"):  # fmt: skip
        assert key in out
    assert re.search(r"noc\.multicast +true", out) and re.search(r"chip\.io_ports +\(0,0\) inout", out)


def test_a_bundled_name_is_the_bundled_profile_beside_a_folder_of_that_name(tmp_path, monkeypatch):
    """A run's output folder called ``reckon`` in the working directory must not shadow the
    bundled profile; the explicit path ``./reckon`` still means the folder (and is refused)."""
    (tmp_path / "reckon").mkdir()
    monkeypatch.chdir(tmp_path)
    assert hw.load_profile("reckon").name == "reckon"
    with pytest.raises(hw.profile.ProfileError, match="is a directory"):
        hw.load_profile("./reckon")

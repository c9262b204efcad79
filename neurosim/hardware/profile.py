"""Hardware profiles: TOML files in ``hardware_profiles/``, validated on load.

Every number is an inline table ``{ value = …, source = "<key in [sources]>", confidence =
"confirmed" | "secondary" | "estimate", note = "…" (optional) }``: the source key must name an
entry of the profile's ``[sources]`` table (a paper with table/figure, or a repository file).
Units are in the field names (``_pj``, ``_ns``, ``_bits``, ``_mhz``, ``_mw``). Unknown sections
or keys, missing fields, wrong types, negative energies, zero-size memories, directories and files
that are not TOML are ``ProfileError``s naming the file, the field path and the problem.

**Where the line is.** Every number has a plausible physical range for its unit, generous by
orders of magnitude around every real chip, and a value outside it is refused at load: energies
≤ 10⁹ pJ (1 mJ) per event, clock 10⁻³ … 10⁶ MHz (1 kHz … 1 THz), latencies ≤ 10⁹ ns (1 s),
cycles ≤ 10⁹ per operation, static power ≤ 10⁶ mW, region capacities ≤ 2⁵³ bits, word, element,
header, packet and routing-entry widths ≤ 2¹⁶ bits, neuron, fan and axon counts ≤ 2⁴⁰, mesh sides
and cores per tile ≤ 2¹⁶. Within these, a budget's energies and times stay finite for any network
(``budget`` checks its results anyway). ``[formats.array_bits]`` keys must name an array of some
model (by name) or rule (as ``RULE.NAME``: ``"eprop.ev_in"``) — ``array_names()``, read from the
models and rules themselves.

Layout (``SCHEMA`` is the specification; ``json_schema()`` renders it as a JSON Schema):

    [profile]   name, description, kind ("neuromorphic" | "mcu" | "accelerator"), optional
                extends (a bundled profile name or a .toml path relative to this file: every
                section of that profile, overridden key by key by this file's — a board file
                says ``extends = "spinnaker"`` and adds only its [board] and sources)
    [sources]   key = "citation"  (at least one)
    [chip]      process_nm, clock_mhz, mesh_width, mesh_height, cores_per_tile, static_power_mw,
                barrier_latency_ns; optional [chip.barrier_latency_ns_by_tiles] "tiles" = ns (the
                barrier by tiles in use: the entry with the largest count ≤ the tiles in use);
                io_ports, a cited list ``{ value = [{ x = 0, y = 0, dir = "in" }, { edge = "west",
                dir = "inout" }, …], source, confidence }``: where spikes and data enter ("in"),
                leave ("out") or both ("inout") the mesh — a tile inside the mesh or a whole side
                ("west" x = 0, "east", "south" y = 0, "north"); at least one in and one out
                (``Chip.io_sites("in")``)
    [core]      max_neurons, max_fan_in, max_fan_out, max_axons_in, max_axons_out, register_bits,
                contexts (samples held at once), fan_out_counts ("neurons" | "cores", optional,
                default "neurons": what max_fan_out counts), and two cited texts ({value, source,
                confidence}, like numbers): messages ("spike" | "graded": what a packet carries),
                neurons ("lif" | "programmable": what a neuron computes; ``capabilities.py``)
    [[sram]]    name, holds (list), capacity_bits, word_bits, reserved_bits_per_word,
                row_header_bits, read_energy_pj, write_energy_pj, access_cycles
    [formats]   number ("fixed" | "float"), rounding ("nearest" | "stochastic"), saturate (bool),
                weight_bits, state_bits, trace_bits, gradient_bits; [formats.array_bits] name = n;
                stochastic_rounding, a cited boolean: whether the chip can round stochastically
                (its learning engine, or software on a programmable core) — rounding =
                "stochastic" on a chip that cannot is an error
    [ops]       <op>_energy_pj and <op>_cycles for synop, neuron_access, neuron_update, spike_out,
                trace_update, weight_update, message_in, message_out, mac (neuron_update: a neuron
                with input or state, access included; neuron_access: what every other neuron
                pays each step; spike_out: generating one spike)
    [noc]       hop_energy_pj_ew, hop_energy_pj_ns, hop_latency_ns_ew, hop_latency_ns_ns,
                packet_bits, link_bandwidth_bits_per_cycle, routing_entry_bits, link_buffer_packets,
                packet_header_bits (the bits only the network reads — routing and control — so
                ``noc.payload_bits`` = packet_bits − header is what reaches the destination core;
                header < packet_bits), routing_table_entries (entries of one router's table, e.g.
                SpiNNaker's 1023; 0 = no table: routes follow the address in each packet and the
                routing state lives in core memory), and a cited boolean multicast ({value = true,
                source, confidence}: a router copies one packet to several destinations along a
                tree, as SpiNNaker's does; false: a spike to k cores is k unicast packets, as on Loihi)
    [board]     optional (absent: one chip; ``Profile.board`` is None): chips_x, chips_y (the grid),
                topology (cited: "mesh" | "torus" | "hexagonal", SpiNNaker's six links),
                link_energy_pj_per_bit, link_latency_ns, link_bandwidth_mbit_s (one chip-to-chip
                hop), optional chips (a cited list of the [x, y] positions that hold a chip, when
                not the whole grid). ``Board`` gives ``n_chips``, ``sites``, ``hops(a, b)``,
                ``hop_matrix()``, ``transfer_energy_pj`` and ``transfer_latency_ns``

``Profile`` holds each section as a typed frozen dataclass (``Chip``, ``Core``, ``Formats``,
``Ops``, ``Noc``, and one ``Sram`` per region) whose fields are the spec's fields, declared once in
``_NUM``/``_TEXT`` and checked again when a section is created (``dataclasses.replace`` included):
read them as attributes (``profile.ops.synop_energy_pj``).

``holds`` says what a region stores: "weights", "neuron_state", "neuron_traces",
"synapse_traces", "parameter_traces", "optimizer", "routing", "history", each optionally
narrowed by role (``"weights.input"``, ``"weights.recurrent"``, ``"weights.output"``).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields, make_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CONFIDENCE = ("confirmed", "secondary", "estimate")
KINDS = ("neuromorphic", "mcu", "accelerator")
HOLDS = (
    "weights",
    "neuron_state",
    "neuron_traces",
    "synapse_traces",
    "parameter_traces",
    "optimizer",
    "routing",
    "history",
)
ROLES = ("input", "recurrent", "output", "other")
PORT_DIRS = ("in", "out", "inout")  # where spikes and data enter the mesh, leave it, or both
EDGES = ("west", "east", "south", "north")  # x = 0, x = width − 1, y = 0, y = height − 1
TOPOLOGIES = ("mesh", "torus", "hexagonal")
OPS = (
    "synop",
    "neuron_access",
    "neuron_update",
    "spike_out",
    "trace_update",
    "weight_update",
    "message_in",
    "message_out",
    "mac",
)


def _profile_dir() -> Path:
    """The bundled profiles: ``neurosim/hardware_profiles/`` in an installed wheel (``setup.py``
    builds them into it), else the repository's top-level ``hardware_profiles/`` (a checkout or an
    editable install)."""
    here = Path(__file__).resolve().parents[1]
    packaged = here / "hardware_profiles"
    return packaged if packaged.is_dir() else here.parent / "hardware_profiles"


PROFILE_DIR = _profile_dir()

ACCOUNTING_ARRAYS = ("optimizer", "gradient")  # the budget's own arrays (optimizer state, accumulator)

# Plausible physical ranges per unit (module docstring, "Where the line is").
_PJ, _NS, _CYCLES, _COUNT, _WIDTH = 1e9, 1e9, 1e9, 2**40, 2**16
# field → (kind, minimum, exclusive minimum, maximum). kinds: "int" / "num" (sourced numbers),
# "str", "bool", "enum:<a|b>", "holds".
_NUM = {
    "chip": {
        "process_nm": ("num", 0, True, 1e6),
        "clock_mhz": ("num", 1e-3, False, 1e6),
        "mesh_width": ("int", 1, False, _WIDTH),
        "mesh_height": ("int", 1, False, _WIDTH),
        "cores_per_tile": ("int", 1, False, _WIDTH),
        "static_power_mw": ("num", 0, False, 1e6),
        "barrier_latency_ns": ("num", 0, False, _NS),
    },
    "core": {
        "max_neurons": ("int", 1, False, _COUNT),
        "max_fan_in": ("int", 1, False, _COUNT),
        "max_fan_out": ("int", 1, False, _COUNT),
        "max_axons_in": ("int", 0, False, _COUNT),
        "max_axons_out": ("int", 0, False, _COUNT),
        "register_bits": ("int", 0, False, _COUNT),
        "contexts": ("int", 1, False, _COUNT),  # samples the chip holds state for at once (a batch)
    },
    "sram": {
        "capacity_bits": ("int", 0, True, 2**53),
        "word_bits": ("int", 0, True, _WIDTH),
        "reserved_bits_per_word": ("int", 0, False, _WIDTH),
        "row_header_bits": ("int", 0, False, _WIDTH),
        "read_energy_pj": ("num", 0, False, _PJ),
        "write_energy_pj": ("num", 0, False, _PJ),
        "access_cycles": ("num", 0, False, _CYCLES),
    },
    "formats": {
        "weight_bits": ("int", 1, False, _WIDTH),
        "state_bits": ("int", 1, False, _WIDTH),
        "trace_bits": ("int", 1, False, _WIDTH),
        "gradient_bits": ("int", 1, False, _WIDTH),
    },
    "ops": {
        f"{op}_{u}": ("num", 0, False, _PJ if u == "energy_pj" else _CYCLES)
        for op in OPS
        for u in ("energy_pj", "cycles")
    },
    "noc": {
        "hop_energy_pj_ew": ("num", 0, False, _PJ),
        "hop_energy_pj_ns": ("num", 0, False, _PJ),
        "hop_latency_ns_ew": ("num", 0, False, _NS),
        "hop_latency_ns_ns": ("num", 0, False, _NS),
        "packet_bits": ("int", 1, False, _WIDTH),
        "link_bandwidth_bits_per_cycle": ("num", 0, True, _COUNT),
        "routing_entry_bits": ("int", 0, False, _WIDTH),
        "link_buffer_packets": ("int", 1, False, _COUNT),
        # bits of a packet only the network reads (routing and control); the rest is payload
        "packet_header_bits": ("int", 0, False, _WIDTH),
        # entries of one router's table (0: no table, routes follow addresses in the packet)
        "routing_table_entries": ("int", 0, False, _COUNT),
    },
    # [board] (optional): a grid of chips joined by chip-to-chip links
    "board": {
        "chips_x": ("int", 1, False, _WIDTH),
        "chips_y": ("int", 1, False, _WIDTH),
        "link_energy_pj_per_bit": ("num", 0, False, _PJ),  # one chip-to-chip hop, per bit
        "link_latency_ns": ("num", 0, False, _NS),  # one chip-to-chip hop (the head of a packet)
        "link_bandwidth_mbit_s": ("num", 0, True, 1e9),  # one link, one direction
    },
}
_ARRAY_BITS = ("int", 1, False, _WIDTH)
_BARRIER = ("num", 0, False, _NS)  # [chip.barrier_latency_ns_by_tiles] values
_TEXT = {
    # extends: a bundled profile name (or a .toml path, relative to this file) whose sections this
    # file inherits, key by key; see ``_resolve_extends``
    "profile": {"name": "str", "description": "str", "kind": "enum:" + "|".join(KINDS), "extends": "str"},
    # "cited:" texts are inline tables like numbers ({value, source, confidence, note}): what the
    # chip's messages carry (binary spikes or graded values) and what its neurons compute (a fixed
    # LIF/ALIF circuit, or programmable: microcode or a processor)
    "core": {
        "fan_out_counts": "enum:neurons|cores",
        "messages": "cited:spike|graded",
        "neurons": "cited:lif|programmable",
    },
    "sram": {"name": "str", "holds": "holds"},
    # a router replicates one packet to several destinations along a tree (SpiNNaker), or a spike
    # to k destination cores is k unicast packets (Loihi)
    "noc": {"multicast": "cited:bool"},
    # stochastic_rounding: whether the chip can round stochastically (its learning engine's PRNG,
    # or a software routine on a programmable core); rounding = "stochastic" needs it
    "formats": {
        "number": "enum:fixed|float",
        "rounding": "enum:nearest|stochastic",
        "saturate": "bool",
        "stochastic_rounding": "cited:bool",
    },  # fmt: skip
    # how the chips of a board are linked: "mesh" (4 neighbours), "torus" (a mesh whose edges
    # wrap), "hexagonal" (SpiNNaker: 6 links E, NE, N, W, SW, S — a triangular lattice)
    "board": {"topology": "cited:" + "|".join(TOPOLOGIES)},
}
_SUBTABLES = {"formats": ("array_bits",), "chip": ("barrier_latency_ns_by_tiles",)}
# keys parsed by their own readers (lists of coordinates): [chip] io_ports, [board] chips
_SPECIAL = {"chip": ("io_ports",), "board": ("chips",)}
_OPTIONAL = {"reserved_bits_per_word": 0, "row_header_bits": 0, "register_bits": 0, "fan_out_counts": "neurons",
             "extends": ""}  # fmt: skip
SECTIONS = ("profile", "sources", "chip", "core", "sram", "formats", "ops", "noc")
OPTIONAL_SECTIONS = ("board",)  # absent: one chip


class ProfileError(ValueError):
    """A malformed hardware profile: names the file, the field path and the problem."""


@dataclass(frozen=True)
class Sourced:
    value: float | str
    source: str
    confidence: str
    note: str = ""

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)


def _check_value(where: str, name: str, v, spec) -> None:
    """A section field against its spec: type and physical range (``ProfileError`` otherwise)."""
    kind, lo, lo_open, hi = spec
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProfileError(f"{where}: {name}: must be a number, got {v!r}")
    if kind == "int" and not (isinstance(v, int) or float(v).is_integer()):
        raise ProfileError(f"{where}: {name}: must be an integer, got {v!r}")
    if not math.isfinite(v) or v < lo or (lo_open and v == lo) or v > hi:
        raise ProfileError(f"{where}: {name}: {v!r} outside {'(' if lo_open else '['}{lo:g}, {hi:g}]")


def _check_text(where: str, name: str, v, kind: str) -> None:
    ok = {
        "str": lambda: isinstance(v, str) and v.strip() != "",
        "bool": lambda: isinstance(v, bool),
        "cited:bool": lambda: isinstance(v, bool),
        "holds": lambda: isinstance(v, tuple) and len(v) > 0,
    }.get(kind, lambda: v in kind.split(":", 1)[1].split("|"))
    if not ok():
        raise ProfileError(f"{where}: {name}: {v!r} is not a valid {kind}")


class _Section:
    """A profile section: a frozen dataclass whose fields are the format's fields for the section
    (``_NUM``, ``_TEXT``: declared once, units in their names), checked on creation against that
    spec; read by attribute (``profile.chip.clock_mhz``)."""

    _NAME = ""

    def __post_init__(self) -> None:
        where = type(self).__name__
        nums, texts = _NUM.get(self._NAME, {}), _TEXT.get(self._NAME, {})
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in nums:
                _check_value(where, f.name, v, nums[f.name])
            elif f.name in texts:
                _check_text(where, f.name, v, texts[f.name])


@dataclass(frozen=True)
class IoPort:
    """Where spikes and data enter (``dir = "in"``), leave (``"out"``) or both (``"inout"``) a chip's
    mesh: one tile ``(x, y)``, or a whole edge of the mesh (``edge = "west"``: every tile with
    ``x = 0``; "east" ``x = width − 1``, "south" ``y = 0``, "north" ``y = height − 1``), as the chips
    whose off-chip links run along their mesh's sides (TrueNorth) are described."""

    dir: str
    x: int | None = None
    y: int | None = None
    edge: str | None = None

    def sites(self, width: int, height: int) -> list[tuple[int, int]]:
        """The tiles of this port on a ``width`` × ``height`` mesh."""
        if self.edge is None:
            return [(int(self.x), int(self.y))]
        if self.edge in ("west", "east"):
            x = 0 if self.edge == "west" else width - 1
            return [(x, y) for y in range(height)]
        y = 0 if self.edge == "south" else height - 1
        return [(x, y) for x in range(width)]

    def __str__(self) -> str:
        return f"{self.edge} edge {self.dir}" if self.edge else f"({self.x},{self.y}) {self.dir}"


class _Chip(_Section):
    def __post_init__(self) -> None:
        super().__post_init__()
        for port in self.io_ports:
            if not isinstance(port, IoPort) or port.dir not in PORT_DIRS:
                raise ProfileError(f"Chip: io_ports: {port!r} is not an IoPort with dir one of {', '.join(PORT_DIRS)}")
            if port.edge is None and not (0 <= port.x < self.mesh_width and 0 <= port.y < self.mesh_height):
                raise ProfileError(
                    f"Chip: io_ports: tile ({port.x}, {port.y}) is outside the "
                    f"{self.mesh_width}×{self.mesh_height} mesh"
                )
        keys = [k for k, _ in self.barrier_latency_ns_by_tiles]
        if keys != sorted(set(keys)) or any(not isinstance(k, int) or k < 1 for k in keys):
            raise ProfileError(f"Chip: barrier_latency_ns_by_tiles: keys must be ascending tile counts ≥ 1, got {keys}")
        for k, v in self.barrier_latency_ns_by_tiles:
            _check_value("Chip", f"barrier_latency_ns_by_tiles[{k}]", v, _BARRIER)

    @property
    def cycle_ns(self) -> float:
        """One clock cycle in ns."""
        return 1000.0 / self.clock_mhz

    def io_sites(self, direction: str = "in") -> tuple[tuple[int, int], ...]:
        """The tiles where spikes and data enter (``direction = "in"``) or leave (``"out"``) the mesh:
        the tiles of every port of that direction or ``"inout"``, each once, in the order given."""
        if direction not in ("in", "out"):
            raise ValueError(f"io_sites: direction {direction!r}; allowed: in, out")
        out: dict = {}
        for port in self.io_ports:
            if port.dir in (direction, "inout"):
                out.update(dict.fromkeys(port.sites(int(self.mesh_width), int(self.mesh_height))))
        return tuple(out)


class _Ops(_Section):
    def energy_pj(self, op: str) -> float:
        return getattr(self, f"{op}_energy_pj")

    def cycles(self, op: str) -> float:
        return getattr(self, f"{op}_cycles")


class _Noc(_Section):
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.packet_header_bits >= self.packet_bits:
            raise ProfileError(
                f"Noc: packet_header_bits: {self.packet_header_bits} must be smaller than packet_bits "
                f"({self.packet_bits}): a packet needs at least one payload bit"
            )

    @property
    def payload_bits(self) -> int:
        """Bits of a packet that reach the destination core: ``packet_bits − packet_header_bits``."""
        return int(self.packet_bits - self.packet_header_bits)

    @property
    def flits_per_packet(self) -> int:
        """Link transfers one packet takes: ⌈packet_bits / link_bandwidth_bits_per_cycle⌉."""
        return max(1, math.ceil(self.packet_bits / self.link_bandwidth_bits_per_cycle))


class _Sram(_Section):
    @property
    def words(self) -> int:
        return self.capacity_bits // self.word_bits

    def access_cycles_for(self, words: float) -> float:
        """Cycles to access ``words`` words of this region, one access at a time."""
        return float(words) * self.access_cycles


_PYTYPE = {"int": int, "num": float, "str": str, "bool": bool, "cited:bool": bool, "holds": tuple}


def _section_type(name: str, section: str, base: type, doc: str, extra=()) -> type:
    """The frozen dataclass of a section, its fields read from the spec (required ones first)."""
    spec = [(k, _PYTYPE[kind if kind in _PYTYPE else "str"]) for k, kind in _TEXT.get(section, {}).items()]
    spec += [(k, _PYTYPE[v[0]]) for k, v in _NUM.get(section, {}).items()]
    spec = [(k, t) for k, t in spec if k not in _OPTIONAL] + [(k, t, field(default=_OPTIONAL[k])) for k, t in spec
                                                            if k in _OPTIONAL]  # fmt: skip
    namespace = {"_NAME": section, "__module__": __name__, "__doc__": doc}
    return make_dataclass(name, [*spec, *extra], bases=(base,), frozen=True, namespace=namespace)


Chip = _section_type(
    "Chip", "chip", _Chip, "[chip]; ``barrier_latency_ns_by_tiles``: (tiles in use at least, ns) ascending, "
    "empty for ``barrier_latency_ns`` at any count; ``io_ports``: ``IoPort``s (``io_sites``).",
    [("barrier_latency_ns_by_tiles", tuple, field(default=())), ("io_ports", tuple, field(default=()))],
)  # fmt: skip
Core = _section_type("Core", "core", _Section, "[core]: per-core limits.")


class _Formats(_Section):
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rounding == "stochastic" and not self.stochastic_rounding:
            raise ProfileError(
                "Formats: rounding: 'stochastic', but stochastic_rounding is false (the chip cannot round "
                "stochastically); allowed: 'nearest'"
            )


Formats = _section_type("Formats", "formats", _Formats, "[formats]: number format and widths "
                        "([formats.array_bits] is ``Profile.array_bits``).")  # fmt: skip
Ops = _section_type(
    "Ops", "ops", _Ops, "[ops]: per-event energies (pJ) and latencies (cycles at ``chip.clock_mhz``). "
    "``neuron_update`` is a full update (a neuron with input or state; it includes ``neuron_access``, "
    "the part every neuron pays every step); ``spike_out`` is the generation of one spike.",
)  # fmt: skip
Noc = _section_type("Noc", "noc", _Noc, "[noc]: hop costs, packets and links.")
Sram = _section_type("Sram", "sram", _Sram, "[[sram]]: one memory region of a core.")


class _Board(_Section):
    """A board of chips: ``chips_x`` × ``chips_y`` grid positions, of which ``chips`` (all of them
    when empty) hold a chip, joined by chip-to-chip links in the ``topology``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        seen = set()
        for xy in self.chips:
            if not (isinstance(xy, tuple) and len(xy) == 2 and all(isinstance(c, int) for c in xy)):
                raise ProfileError(f"Board: chips: {xy!r} is not an (x, y) pair of integers")
            if not (0 <= xy[0] < self.chips_x and 0 <= xy[1] < self.chips_y):
                raise ProfileError(f"Board: chips: {xy} is outside the {self.chips_x}×{self.chips_y} grid")
            if xy in seen:
                raise ProfileError(f"Board: chips: {xy} is listed twice")
            seen.add(xy)

    @property
    def sites(self) -> tuple[tuple[int, int], ...]:
        """Grid coordinates of each chip, chip ``i`` at ``sites[i]``: the listed ``chips`` in their
        order, else the full grid column by column (as tiles fill a chip's mesh: ``x = i //
        chips_y``, ``y = i % chips_y``)."""
        if self.chips:
            return self.chips
        return tuple((i // self.chips_y, i % self.chips_y) for i in range(self.chips_x * self.chips_y))

    @property
    def n_chips(self) -> int:
        return len(self.sites)

    def site(self, chip: int) -> tuple[int, int]:
        """Grid coordinates of chip number ``chip``."""
        if not 0 <= int(chip) < self.n_chips:
            raise ValueError(f"board: chip {chip} does not exist; chips 0 … {self.n_chips - 1}")
        return self.sites[int(chip)]

    def hops(self, a, b) -> int:
        """Chip-to-chip hops of a shortest route from chip ``a`` to chip ``b`` (chip numbers or grid
        coordinates): "mesh" ``|dx| + |dy|``; "torus" the same with each difference taken the short
        way round; "hexagonal" (SpiNNaker's links E, NE, N, W, SW, S, no wrap on one board)
        ``max(|dx|, |dy|)`` when dx and dy have the same sign, since a diagonal link covers one of
        each, else ``|dx| + |dy|``."""
        (ax, ay), (bx, by) = (self._xy(c) for c in (a, b))
        dx, dy = bx - ax, by - ay
        if self.topology == "torus":
            dx, dy = min(abs(dx), self.chips_x - abs(dx)), min(abs(dy), self.chips_y - abs(dy))
        if self.topology == "hexagonal" and dx * dy > 0:
            return max(abs(dx), abs(dy))
        return abs(dx) + abs(dy)

    def hop_matrix(self):
        """``hops`` between every pair of chips, an (n_chips, n_chips) integer array."""
        import numpy as np

        n = self.n_chips
        return np.array([[self.hops(i, j) for j in range(n)] for i in range(n)], dtype=np.int64)

    def transfer_energy_pj(self, bits: float, hops: int) -> float:
        """Energy of ``bits`` crossing ``hops`` chip-to-chip links: bits × hops × ``link_energy_pj_per_bit``."""
        return float(bits) * int(hops) * self.link_energy_pj_per_bit

    def transfer_latency_ns(self, bits: float, hops: int) -> float:
        """Time for a packet of ``bits`` to cross ``hops`` chip-to-chip links: hops ×
        ``link_latency_ns`` for its head, plus its serialisation on one link (bits at
        ``link_bandwidth_mbit_s``) once, as on the chip's mesh (``mesh.route_latency_ns``); 0 for 0 hops."""
        if int(hops) == 0:
            return 0.0
        return int(hops) * self.link_latency_ns + float(bits) * 1e3 / self.link_bandwidth_mbit_s

    def _xy(self, chip) -> tuple[int, int]:
        if isinstance(chip, (tuple, list)):
            xy = (int(chip[0]), int(chip[1]))
            if xy not in self.sites:
                raise ValueError(f"board: no chip at {xy}")
            return xy
        return self.site(chip)


Board = _section_type("Board", "board", _Board, _Board.__doc__, [("chips", tuple, field(default=()))])


@dataclass(frozen=True)
class Profile:
    """A validated profile. ``chip``, ``core``, ``formats``, ``ops``, ``noc`` and each of ``srams``
    are typed frozen sections (units in the field names); ``array_bits`` maps array → bits;
    ``provenance`` maps "section.field" (or "sram.NAME.field") → ``Sourced``."""

    name: str
    description: str
    kind: str
    path: str
    sources: dict
    chip: Chip
    core: Core
    srams: tuple[Sram, ...]
    formats: Formats
    array_bits: dict
    ops: Ops
    noc: Noc
    provenance: dict
    board: Board | None = None  # a multi-chip board ([board]); None: one chip
    extends: str = ""  # the profile whose sections this one inherits ([profile] extends)

    @property
    def fan_out_counts(self) -> str:
        """What ``core.max_fan_out`` counts: "neurons" (units reading one unit) or "cores"."""
        return self.core.fan_out_counts

    @property
    def n_cores(self) -> int:
        """Cores of one chip (a board has ``n_chips`` times as many)."""
        c = self.chip
        return int(c.mesh_width * c.mesh_height * c.cores_per_tile)

    @property
    def n_chips(self) -> int:
        """Chips of the board, 1 without a [board]."""
        return 1 if self.board is None else self.board.n_chips

    def barrier_latency_ns(self, tiles_in_use: int) -> float:
        """The end-of-step barrier with ``tiles_in_use`` tiles holding neurons: the entry of
        ``[chip.barrier_latency_ns_by_tiles]`` with the largest tile count ≤ ``tiles_in_use`` (the
        first entry below all of them), else ``chip.barrier_latency_ns``."""
        table = self.chip.barrier_latency_ns_by_tiles
        if not table:
            return float(self.chip.barrier_latency_ns)
        below = [v for k, v in table if k <= tiles_in_use]
        return float(below[-1] if below else table[0][1])

    def sram_bits_per_core(self) -> int:
        return sum(s.capacity_bits for s in self.srams)

    def sram(self, name: str) -> Sram:
        for s in self.srams:
            if s.name == name:
                return s
        raise KeyError(f"{self.name}: no SRAM region {name!r}; regions: {', '.join(s.name for s in self.srams)}")

    def bits_of(self, array: str, kind: str) -> int:
        """Bits of one element of ``array`` (an override in [formats.array_bits], else the
        format of its kind: weight, state, trace, gradient)."""
        if array in self.array_bits:
            return int(self.array_bits[array])
        return int(getattr(self.formats, f"{kind}_bits"))

    def summary(self) -> str:
        """One line per profile (``neurosim profiles``): structure, memory, formats and network."""
        c, k, n = self.chip, self.core, self.noc
        mem = self.sram_bits_per_core() / 8192
        routing = "multicast" if n.multicast else "unicast"
        if n.routing_table_entries:
            routing += f" ({n.routing_table_entries}-entry tables)"
        return (
            f"{self.name:12s} {self.kind:12s} {c.process_nm:g} nm, {self.n_cores} cores "
            f"({c.mesh_width}×{c.mesh_height}×{c.cores_per_tile}), "
            f"{k.max_neurons} neurons/core, {mem:g} KiB SRAM/core, "
            f"{self.formats.weight_bits}-bit weights, "
            f"{n.packet_bits}-bit packets ({n.payload_bits} payload), {routing}"
            + ("" if self.board is None else f"; board of {self.n_chips} chips ({self.board.chips_x}×"
               f"{self.board.chips_y} {self.board.topology})")
        )  # fmt: skip

    def describe(self) -> str:
        """Every number with its source and confidence (``neurosim profiles NAME``)."""
        lines = [f"{self.name}: {self.description}", f"file: {self.path}", ""]
        for key, s in self.provenance.items():
            note = f"  — {s.note}" if s.note else ""
            value = f"{_show_value(s.value):>14s}"
            lines.append(f"  {key:40s} {value}  [{s.confidence}] {s.source}{note}")
        lines += ["", "sources:"]
        lines += [f"  {k}: {v}" for k, v in self.sources.items()]
        return "\n".join(lines)


def _show_value(v) -> str:
    """A provenance value as ``describe`` prints it: numbers as %g, booleans as TOML writes them,
    lists of ports or chips by their entries."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return f"{v:g}"
    if isinstance(v, tuple):
        return ", ".join(map(str, v))
    return str(v)


def _err(path, field, problem) -> ProfileError:
    return ProfileError(f"{path}: {field}: {problem}")


def _show(v) -> str:
    text = repr(v)
    return text if len(text) <= 24 else f"an integer of {len(str(abs(v)))} digits"


def _sourced(path, field, raw, spec, sources) -> Sourced:
    kind, lo, lo_open, hi = spec
    if not isinstance(raw, dict):
        raise _err(path, field, f"must be an inline table {{ value, source, confidence }}, got {raw!r}")
    extra = set(raw) - {"value", "source", "confidence", "note"}
    if extra:
        raise _err(path, field, f"unknown key(s) {sorted(extra)}; allowed: value, source, confidence, note")
    for k in ("value", "source", "confidence"):
        if k not in raw:
            raise _err(path, f"{field}.{k}", "missing")
    v = raw["value"]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(path, f"{field}.value", f"must be a number, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _err(path, f"{field}.value", f"must be finite, got {v!r}")
    if kind == "int" and isinstance(v, float) and not v.is_integer():
        raise _err(path, f"{field}.value", f"must be an integer, got {v!r}")
    if v < lo or (lo_open and v == lo):
        raise _err(path, f"{field}.value", f"must be {'>' if lo_open else '>='} {lo}, got {_show(v)}")
    if v > hi:
        raise _err(path, f"{field}.value", f"must be <= {hi:g} (the plausible range of its unit), got {_show(v)}")
    src, conf = raw["source"], raw["confidence"]
    if not isinstance(src, str) or src not in sources:
        raise _err(path, f"{field}.source", f"{src!r} is not a key of [sources] ({', '.join(sorted(sources))})")
    if conf not in CONFIDENCE:
        raise _err(path, f"{field}.confidence", f"{conf!r}; allowed: {', '.join(CONFIDENCE)}")
    note = raw.get("note", "")
    if not isinstance(note, str):
        raise _err(path, f"{field}.note", f"must be a string, got {note!r}")
    return Sourced(int(v) if kind == "int" else float(v), src, conf, note)


def _cited_text(path, field, raw, kind, sources) -> Sourced:
    """A text value with its source, as numbers have: ``{value = "spike", source, confidence}``
    (``cited:bool``: ``{value = true, source, confidence}``)."""
    if kind == "cited:bool":
        if not isinstance(raw, dict) or "value" not in raw:
            raise _err(
                path, field, f"must be an inline table {{ value = true | false, source, confidence }}, got {raw!r}"
            )
        if not isinstance(raw["value"], bool):
            raise _err(path, f"{field}.value", f"must be true or false, got {raw['value']!r}")
        s = _sourced(path, field, {**raw, "value": 0}, ("num", 0, False, 1), sources)
        return Sourced(raw["value"], s.source, s.confidence, s.note)
    allowed = kind.split(":", 1)[1].split("|")
    if not isinstance(raw, dict) or "value" not in raw:
        raise _err(
            path,
            field,
            f"must be an inline table {{ value, source, confidence }} with value one of {allowed}, got {raw!r}",
        )
    if raw["value"] not in allowed:
        raise _err(path, f"{field}.value", f"{raw['value']!r}; allowed: {', '.join(allowed)}")
    s = _sourced(path, field, {**raw, "value": 0}, ("num", 0, False, 1), sources)
    return Sourced(raw["value"], s.source, s.confidence, s.note)


def _text(path, field, raw, kind):
    if kind == "str":
        if not isinstance(raw, str) or not raw.strip():
            raise _err(path, field, f"must be a non-empty string, got {raw!r}")
        return raw
    if kind == "bool":
        if not isinstance(raw, bool):
            raise _err(path, field, f"must be true or false, got {raw!r}")
        return raw
    if kind.startswith("enum:"):
        allowed = kind[5:].split("|")
        if raw not in allowed:
            raise _err(path, field, f"{raw!r}; allowed: {', '.join(allowed)}")
        return raw
    if kind == "holds":
        if not isinstance(raw, list) or not raw:
            raise _err(path, field, f"must be a non-empty list, got {raw!r}")
        for h in raw:
            base, _, role = str(h).partition(".")
            if not isinstance(h, str) or base not in HOLDS or (role and role not in ROLES):
                raise _err(path, field, f"{h!r}; allowed: {', '.join(HOLDS)}, optionally '.{'|'.join(ROLES)}'")
        return tuple(raw)
    raise AssertionError(kind)


def _section(path, name, raw, sources, prov, prefix=None):
    prefix = prefix or name
    if not isinstance(raw, dict):
        raise _err(path, prefix, f"must be a table, got {raw!r}")
    nums, texts = _NUM.get(name, {}), _TEXT.get(name, {})
    allowed = set(nums) | set(texts) | set(_SUBTABLES.get(name, ())) | set(_SPECIAL.get(name, ()))
    for key in raw:
        if key not in allowed:
            raise _err(path, f"{prefix}.{key}", f"unknown key; allowed: {', '.join(sorted(allowed))}")
    out = {}
    for key, kind in texts.items():
        if key not in raw:
            if key in _OPTIONAL:
                out[key] = _OPTIONAL[key]
                continue
            raise _err(path, f"{prefix}.{key}", "missing")
        if kind.startswith("cited:"):
            s = _cited_text(path, f"{prefix}.{key}", raw[key], kind, sources)
            prov[f"{prefix}.{key}"] = s
            out[key] = s.value
            continue
        out[key] = _text(path, f"{prefix}.{key}", raw[key], kind)
    for key, spec in nums.items():
        if key not in raw:
            if key in _OPTIONAL:
                out[key] = _OPTIONAL[key]
                continue
            raise _err(path, f"{prefix}.{key}", "missing")
        s = _sourced(path, f"{prefix}.{key}", raw[key], spec, sources)
        prov[f"{prefix}.{key}"] = s
        out[key] = s.value
    return out


def parse(data: Any, path: str = "<profile>") -> Profile:
    """Validate a profile dict (as read from TOML) and build a ``Profile``; a ``[profile] extends``
    is resolved first (``_resolve_extends``: the named profile's sections, overridden key by key)."""
    if not isinstance(data, dict):
        raise _err(path, "<top>", f"must be a table, got {type(data).__name__}")
    data = _resolve_extends(data, path)
    for sec in data:
        if sec not in SECTIONS + OPTIONAL_SECTIONS:
            raise _err(path, sec, f"unknown section; allowed: {', '.join(SECTIONS + OPTIONAL_SECTIONS)}")
    for sec in SECTIONS:
        if sec not in data:
            raise _err(path, sec, "missing section")
    sources = data["sources"]
    if not isinstance(sources, dict) or not sources:
        raise _err(path, "sources", "must be a non-empty table of key = citation")
    for k, v in sources.items():
        if not isinstance(v, str) or not v.strip():
            raise _err(path, f"sources.{k}", f"must be a non-empty citation string, got {v!r}")
    prov: dict = {}
    meta = _section(path, "profile", data["profile"], sources, prov)
    chip = _section(path, "chip", data["chip"], sources, prov)
    chip["barrier_latency_ns_by_tiles"] = _barrier_table(path, data["chip"], sources, prov)
    chip["io_ports"] = _io_ports(path, data["chip"], chip, sources, prov)
    core = _section(path, "core", data["core"], sources, prov)
    fmt = _section(path, "formats", data["formats"], sources, prov)
    if fmt["rounding"] == "stochastic" and not fmt["stochastic_rounding"]:
        why = prov["formats.stochastic_rounding"]
        raise _err(
            path, "formats.rounding", f"'stochastic', but formats.stochastic_rounding is false ({why.source}"
            f"{': ' + why.note if why.note else ''}): this chip cannot round stochastically; allowed: 'nearest'",
        )  # fmt: skip
    ops = _section(path, "ops", data["ops"], sources, prov)
    noc = _section(path, "noc", data["noc"], sources, prov)
    array_bits = {}
    raw_ab = data["formats"].get("array_bits", {})
    if not isinstance(raw_ab, dict):
        raise _err(path, "formats.array_bits", f"must be a table of array name = sourced bits, got {raw_ab!r}")
    for k, v in raw_ab.items():
        _check_array_name(path, k)
        s = _sourced(path, f"formats.array_bits.{k}", v, _ARRAY_BITS, sources)
        prov[f"formats.array_bits.{k}"] = s
        array_bits[k] = s.value
    srams_raw = data["sram"]
    if not isinstance(srams_raw, list) or not srams_raw:
        raise _err(path, "sram", "must be a non-empty array of tables [[sram]]")
    srams, names = [], set()
    for i, raw in enumerate(srams_raw):
        label = f"sram[{i}]" + (f"({raw.get('name')})" if isinstance(raw, dict) and "name" in raw else "")
        d = _section(path, "sram", raw, sources, prov, prefix=label)
        if d["name"] in names:
            raise _err(path, f"{label}.name", f"duplicate region name {d['name']!r}")
        names.add(d["name"])
        if d["reserved_bits_per_word"] >= d["word_bits"]:
            raise _err(path, f"{label}.reserved_bits_per_word", "must be smaller than word_bits")
        if d["capacity_bits"] % d["word_bits"]:
            raise _err(path, f"{label}.capacity_bits", f"{d['capacity_bits']} is not a whole number of words")
        try:
            srams.append(Sram(**d))
        except ProfileError as e:
            raise ProfileError(f"{path}: {e}") from None
    if noc["packet_header_bits"] >= noc["packet_bits"]:
        raise _err(path, "noc.packet_header_bits", f"{noc['packet_header_bits']} must be smaller than noc.packet_bits "
                   f"({noc['packet_bits']}): payload = packet_bits − packet_header_bits is at least 1 bit")  # fmt: skip
    board = _board(path, data["board"], sources, prov) if "board" in data else None
    try:
        sections = Chip(**chip), Core(**core), Formats(**fmt), Ops(**ops), Noc(**noc)
        board = None if board is None else Board(**board)
    except ProfileError as e:  # parse checks every field first; the sections check again
        raise ProfileError(f"{path}: {e}") from None
    c, k, f, o, n = sections
    return Profile(meta["name"], meta["description"], meta["kind"], path, dict(sources), c, k, tuple(srams), f,
                   array_bits, o, n, prov, board, meta["extends"])  # fmt: skip


def _coords(path, field, raw, sources, what):
    """A cited list ``{ value = [...], source, confidence, note }``: its entries and ``Sourced``."""
    if not isinstance(raw, dict) or "value" not in raw:
        raise _err(path, field, f"must be an inline table {{ value = [{what}, …], source, confidence }}, got {raw!r}")
    entries = raw["value"]
    if not isinstance(entries, list) or not entries:
        raise _err(path, f"{field}.value", f"must be a non-empty list of {what}, got {entries!r}")
    return entries, _sourced(path, field, {**raw, "value": 0}, ("num", 0, False, 1), sources)


def _io_ports(path, raw_chip, chip, sources, prov) -> tuple:
    """``[chip] io_ports = { value = [{ x = 0, y = 0, dir = "in" }, { edge = "west", dir = "inout" }, …],
    source, confidence }``: each port a tile inside the mesh or a whole edge, with its direction;
    at least one port takes input and one gives output."""
    field = "chip.io_ports"
    if "io_ports" not in raw_chip:
        raise _err(path, field, "missing")
    entries, s = _coords(path, field, raw_chip["io_ports"], sources, "{ x, y, dir } or { edge, dir }")
    w, h = chip["mesh_width"], chip["mesh_height"]
    ports = []
    for i, e in enumerate(entries):
        where = f"{field}.value[{i}]"
        if not isinstance(e, dict) or "dir" not in e or not ({"x", "y"} <= set(e) or "edge" in e):
            raise _err(path, where, f"{e!r}; allowed: {{ x, y, dir }} (a tile) or {{ edge, dir }} (a side of the mesh)")
        extra = set(e) - ({"edge", "dir"} if "edge" in e else {"x", "y", "dir"})
        if extra:
            raise _err(path, where, f"unknown key(s) {sorted(extra)} in {e!r}")
        if e["dir"] not in PORT_DIRS:
            raise _err(path, f"{where}.dir", f"{e['dir']!r}; allowed: {', '.join(PORT_DIRS)}")
        if "edge" in e:
            if e["edge"] not in EDGES:
                raise _err(path, f"{where}.edge", f"{e['edge']!r}; allowed: {', '.join(EDGES)}")
            ports.append(IoPort(e["dir"], edge=e["edge"]))
            continue
        x, y = e["x"], e["y"]
        if any(isinstance(c, bool) or not isinstance(c, int) for c in (x, y)):
            raise _err(path, where, f"x and y must be integers, got {e!r}")
        if not (0 <= x < w and 0 <= y < h):
            raise _err(path, where, f"tile ({x}, {y}) is outside the {w}×{h} mesh (x in 0…{w - 1}, y in 0…{h - 1})")
        ports.append(IoPort(e["dir"], x, y))
    for d in ("in", "out"):
        if not any(p.dir in (d, "inout") for p in ports):
            raise _err(path, field, f"no port with dir '{d}' or 'inout': spikes must be able to enter and leave")
    prov[field] = Sourced(tuple(str(p) for p in ports), s.source, s.confidence, s.note)
    return tuple(ports)


def _board(path, raw, sources, prov) -> dict:
    """``[board]``: the chip grid, topology and link costs (sourced, as every number), and an
    optional cited list of the grid positions that hold a chip, ``chips = { value = [[x, y], …] }``."""
    out = _section(path, "board", raw, sources, prov)
    out["chips"] = ()
    if "chips" in raw:
        entries, s = _coords(path, "board.chips", raw["chips"], sources, "[x, y]")
        seen = set()
        for i, e in enumerate(entries):
            where = f"board.chips.value[{i}]"
            if not (isinstance(e, list) and len(e) == 2 and all(isinstance(c, int) and not isinstance(c, bool)
                                                                for c in e)):  # fmt: skip
                raise _err(path, where, f"{e!r}; allowed: [x, y], two integers")
            if not (0 <= e[0] < out["chips_x"] and 0 <= e[1] < out["chips_y"]):
                raise _err(path, where, f"chip {e} is outside the {out['chips_x']}×{out['chips_y']} grid of "
                           "board.chips_x × board.chips_y")  # fmt: skip
            if tuple(e) in seen:
                raise _err(path, where, f"chip {e} is listed twice")
            seen.add(tuple(e))
        out["chips"] = tuple(tuple(e) for e in entries)
        prov["board.chips"] = Sourced(out["chips"], s.source, s.confidence, s.note)
    return out


def _merge(base: dict, child: dict) -> dict:
    """``child``'s sections over ``base``'s: a table key by key (its sub-tables — array_bits, the
    barrier table — key by key too), ``[[sram]]`` and ``[sources]`` entries whole; sources are the
    union of both."""
    out = dict(base)
    for sec, body in child.items():
        if sec in out and isinstance(out[sec], dict) and isinstance(body, dict):
            merged = dict(out[sec])
            for k, v in body.items():
                sub = k in _SUBTABLES.get(sec, ()) and isinstance(merged.get(k), dict) and isinstance(v, dict)
                merged[k] = {**merged[k], **v} if sub else v
            out[sec] = merged
        else:
            out[sec] = body
    return out


def _resolve_extends(data: dict, path: str, chain: tuple = ()) -> dict:
    """A profile that says ``[profile] extends = "spinnaker"`` (a bundled name, or a path to a
    .toml relative to this file) inherits every section of that profile and overrides it key by
    key (``_merge``); the base may extend another. Unknown bases and cycles are errors naming
    the field."""
    meta = data.get("profile")
    if not isinstance(meta, dict) or "extends" not in meta:
        return data
    base = meta["extends"]
    field = "profile.extends"
    if not isinstance(base, str) or not base.strip():
        raise _err(path, field, f"must be a bundled profile name or a path to a .toml file, got {base!r}")
    if base.endswith(".toml"):
        base_path = (Path(path).parent / base).resolve()
    else:
        base_path = (PROFILE_DIR / f"{base}.toml").resolve()
    if not base_path.is_file():
        raise _err(
            path, field, f"{base!r} is neither a bundled profile ({', '.join(list_profiles())}) nor a .toml file"
        )
    here = str(Path(path).resolve())
    if str(base_path) in chain + (here,):
        cycle = " → ".join(Path(c).stem for c in (*chain, here, str(base_path)))
        raise _err(path, field, f"{base!r} extends itself ({cycle})")
    try:
        raw = tomllib.loads(base_path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise _err(path, field, f"{base!r} ({base_path}) cannot be read as TOML ({e})") from None
    raw = _resolve_extends(raw, str(base_path), chain + (here,))
    merged = _merge(raw, data)
    merged["profile"] = {**merged["profile"], "extends": base}
    return merged


def _barrier_table(path, raw_chip, sources, prov) -> tuple:
    """``[chip.barrier_latency_ns_by_tiles]``: tile count (a positive integer key) → sourced ns."""
    raw = raw_chip.get("barrier_latency_ns_by_tiles", {})
    field = "chip.barrier_latency_ns_by_tiles"
    if not isinstance(raw, dict):
        raise _err(path, field, f"must be a table of tiles in use = sourced ns, got {raw!r}")
    table = []
    for k, v in raw.items():
        if not (isinstance(k, str) and k.isdigit() and int(k) >= 1):
            raise _err(path, f"{field}.{k}", "keys must be tile counts (integers ≥ 1)")
        s = _sourced(path, f"{field}.{k}", v, _BARRIER, sources)
        prov[f"{field}.{k}"] = s
        table.append((int(k), s.value))
    return tuple(sorted(table))


def _stem(name: str) -> str:
    """A name with its trailing layer index made generic (h0, h1, … → h#)."""
    return re.sub(r"\d+$", "#", name)


@lru_cache(maxsize=1)
def array_names() -> frozenset[str]:
    """Every name ``[formats.array_bits]`` may set, read from the models and rules themselves:
    small instances of every model kind (with the options that add arrays: two layers, a running
    mean, sparsity, GLU and MLP mixes, ALIF), their parameters' local names and state arrays, and
    the learning-state arrays of every registered rule that accepts them; plus the budget's own
    ``optimizer`` and ``gradient``. Layer-indexed names (h0, h1) stand for any layer."""
    from .. import models, rules

    configs = [
        ("rnn", {"n_layers": 2, "pool": "st_mean", "density": 0.5}),
        ("gru", {"n_layers": 2}),
        ("lru", {"n_layers": 2, "mix": "glu"}),
        ("lru", {"mix": "mlp"}),
        ("lif", {}),
        ("alif", {}),
    ]
    names = set(ACCOUNTING_ARRAYS)
    for kind, options in configs:
        model = models.make(kind, n_in=3, n_out=2, n_hidden=4, **options)
        names |= {k.split(".")[-1] for k in model.shapes()} | {a.name for a in model.state_arrays()}
        for name in rules.RULES:
            rule = rules.make(name)
            if rule.accepts(model):  # a rule's arrays by RULE.NAME (uoro's v is not the membrane v)
                names |= {f"{rule.name}.{s.name}" for s in rule.state_spec(model)}
    return frozenset(names)


def _check_array_name(path, key) -> None:
    allowed = array_names()
    if _stem(str(key)) not in {_stem(a) for a in allowed}:
        raise _err(
            path,
            f"formats.array_bits.{key}",
            f"no array of any model or rule is named {key!r}; allowed: {', '.join(sorted(allowed))} "
            "(layer-indexed names such as h0 take any layer)",
        )


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A bundled profile by name (``neurosim profiles`` lists them) or a path to a TOML file. A
    bare bundled name is the bundled profile even where the working directory holds a file or
    folder of that name (a run's output directory called ``reckon``); ``./reckon`` is a path."""
    p = Path(name_or_path)
    bare = isinstance(name_or_path, str) and not any(c in name_or_path for c in "/\\") and p.suffix != ".toml"
    bare_bundled = bare and (PROFILE_DIR / f"{p}.toml").exists()
    if bare_bundled or (p.suffix != ".toml" and not p.exists()):
        bundled = PROFILE_DIR / f"{name_or_path}.toml"
        if not bundled.exists():
            raise ProfileError(
                f"{name_or_path}: no such profile; bundled: {', '.join(list_profiles())} (or pass a path to a .toml)"
            )
        p = bundled
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ProfileError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ProfileError(f"{p}: is a directory; allowed: a bundled profile name or a path to a .toml file") from None
    except OSError as e:
        raise ProfileError(f"{p}: cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise ProfileError(f"{p}: <file>: not a text file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ProfileError(f"{p}: <file>: not valid TOML ({e})") from None
    return parse(data, str(p))


def json_schema() -> dict:
    """The profile format as a JSON Schema (draft 2020-12): a profile as ``parse`` checks it, after
    ``extends`` is resolved (a file that extends another validates once merged with its base)."""
    sourced = lambda kind, lo, lo_open, hi: {  # noqa: E731
        "type": "object",
        "required": ["value", "source", "confidence"],
        "additionalProperties": False,
        "properties": {
            "value": {
                "type": "integer" if kind == "int" else "number",
                ("exclusiveMinimum" if lo_open else "minimum"): lo,
                "maximum": hi,
            },
            "source": {"type": "string", "description": "a key of [sources]"},
            "confidence": {"enum": list(CONFIDENCE)},
            "note": {"type": "string"},
        },
    }  # fmt: skip

    def text(kind):
        if kind == "str":
            return {"type": "string", "minLength": 1}
        if kind == "bool":
            return {"type": "boolean"}
        if kind.startswith("enum:"):
            return {"enum": kind[5:].split("|")}
        if kind.startswith("cited:"):
            value = {"type": "boolean"} if kind == "cited:bool" else {"enum": kind[6:].split("|")}
            return {**sourced("num", 0, False, 1), "properties": {**sourced("num", 0, False, 1)["properties"],
                    "value": value}}  # fmt: skip
        pattern = "^(" + "|".join(HOLDS) + r")(\.(" + "|".join(ROLES) + "))?$"
        return {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": pattern}}

    def cited_list(item):
        base = sourced("num", 0, False, 1)
        return {**base, "properties": {**base["properties"], "value": {"type": "array", "minItems": 1, "items": item}}}

    def obj(name):
        props = {k: sourced(*v) for k, v in _NUM.get(name, {}).items()}
        props.update({k: text(v) for k, v in _TEXT.get(name, {}).items()})
        required = [k for k in props if k not in _OPTIONAL]
        if name == "formats":
            props["array_bits"] = {"type": "object", "additionalProperties": sourced(*_ARRAY_BITS)}
        if name == "chip":
            tile = {"type": "object", "required": ["x", "y", "dir"], "additionalProperties": False,
                    "properties": {"x": {"type": "integer", "minimum": 0}, "y": {"type": "integer", "minimum": 0},
                                   "dir": {"enum": list(PORT_DIRS)}}}  # fmt: skip
            edge = {"type": "object", "required": ["edge", "dir"], "additionalProperties": False,
                    "properties": {"edge": {"enum": list(EDGES)}, "dir": {"enum": list(PORT_DIRS)}}}  # fmt: skip
            props["io_ports"] = cited_list({"oneOf": [tile, edge]})
            required.append("io_ports")
        if name == "board":
            pair = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}
            props["chips"] = cited_list(pair)
        if name == "chip":
            props["barrier_latency_ns_by_tiles"] = {
                "type": "object",
                "patternProperties": {"^[1-9][0-9]*$": sourced(*_BARRIER)},
                "additionalProperties": False,
            }
        return {"type": "object", "required": required, "additionalProperties": False, "properties": props}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "neurosim hardware profile",
        "type": "object",
        "required": list(SECTIONS),
        "additionalProperties": False,
        "properties": {
            "profile": obj("profile"),
            "sources": {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}},
            "chip": obj("chip"),
            "core": obj("core"),
            "sram": {"type": "array", "minItems": 1, "items": obj("sram")},
            "formats": obj("formats"),
            "ops": obj("ops"),
            "noc": obj("noc"),
            "board": obj("board"),
        },
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=1)

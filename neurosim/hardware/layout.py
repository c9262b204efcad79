"""Where units sit: the ``Layout`` type, its validation, and the default layout.

A ``Layout`` is plain frozen data. Per core (``CoreUnits``): its id, the chip it is on, the site
``(x, y)`` of its tile on the mesh, and for each layer it holds the **set** of that layer's unit
indices (``Units``: any subset, in any order of the layer; several layers may share a core).
Routes between cores may be attached (``Route``: the tiles a packet passes). ``to_json`` /
``from_json`` round-trip it exactly.

``Layout.validate(model, profile)`` refuses, naming the core and the units: a unit of a layer on
no core or on two; a unit index outside its layer; a layer the model does not have; two cores with
one id; a site outside the mesh; more cores on one tile than ``chip.cores_per_tile``; more cores
on one chip than the chip has (naming the chip); a chip index the profile does not have (0 only
without a ``[board]``, else ``0 … n_chips − 1``: each chip has its own mesh, sites are per chip);
a route whose ends are not the sites of its cores, that joins cores on two chips (chip-to-chip
traffic takes the board's links, not a mesh route), or whose steps are not mesh neighbours. ``budget`` validates every
layout it is given.

**Default layout** (``layers_in_order``). Layers are cut into chunks in order and packed
greedily: a chunk goes on the current core while the core's neuron count (``max_neurons``), SRAM
regions and output registers hold it together with what is there already; otherwise it opens the
next core. On the chip's last core nothing opens a new core but ``max_neurons``: what does not fit
there shows as that core's region culprits (which layer, which region, how many bits). Once the
chip's cores are full, what is left of each layer is the layout's ``overflow``: priced as one
virtual core past the chip (id ``n_cores``, off the mesh), so the budget still counts its memory
and says how many cores the network needs, without building thousands of cores for a network a
hundred times the chip. ``overflow`` is only made by the default layout; a layout with one is not
valid for the chip (``validate`` says so), which is what the budget's chip culprit reports.
Sites follow ``mesh.default_site``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .mesh import default_site
from .profile import Profile

SCHEMA = "neurosim.layout/1"


class LayoutError(ValueError):
    """A layout that does not place the model on the chip: names the core and the units."""


# --- unit sets -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Units:
    """A set of unit indices of one layer, kept as sorted, disjoint, non-adjacent runs
    ``[start, stop)`` — exact and compact for any subset (a contiguous block is one run)."""

    runs: tuple[tuple[int, int], ...] = ()

    @classmethod
    def range(cls, start: int, stop: int) -> Units:
        return cls(((int(start), int(stop)),) if stop > start else ())

    @classmethod
    def of(cls, indices: Iterable[int] | np.ndarray) -> Units:
        """The set of ``indices`` (any order); duplicates are refused, naming them."""
        a = np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices, np.int64).reshape(-1)
        if a.size == 0:
            return cls()
        a = np.sort(a)
        dup = a[1:][a[1:] == a[:-1]]
        if dup.size:
            raise LayoutError(f"unit indices listed twice in one set: {_few(np.unique(dup))}")
        cuts = np.flatnonzero(np.diff(a) != 1) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [a.size]])
        return cls(tuple((int(a[s]), int(a[e - 1]) + 1) for s, e in zip(starts, ends)))

    @classmethod
    def from_runs(cls, runs: Iterable) -> Units:
        """From ``[[start, stop], ...]`` (JSON form); overlapping or unsorted runs are normalised
        only if disjoint — an index in two runs is refused."""
        rs = sorted((int(a), int(b)) for a, b in runs if int(b) > int(a))
        out: list[list[int]] = []
        for a, b in rs:
            if out and a < out[-1][1]:
                raise LayoutError(f"unit runs overlap: [{out[-1][0]}, {out[-1][1]}) and [{a}, {b})")
            if out and a == out[-1][1]:
                out[-1][1] = b
            else:
                out.append([a, b])
        return cls(tuple((a, b) for a, b in out))

    def __len__(self) -> int:
        return sum(b - a for a, b in self.runs)

    def __bool__(self) -> bool:
        return bool(self.runs)

    def __contains__(self, i: int) -> bool:
        return any(a <= i < b for a, b in self.runs)

    def __iter__(self) -> Iterator[int]:
        for a, b in self.runs:
            yield from range(a, b)

    def array(self) -> np.ndarray:
        if not self.runs:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in self.runs])

    @property
    def min(self) -> int:
        return self.runs[0][0]

    @property
    def max(self) -> int:
        return self.runs[-1][1] - 1

    def count_in(self, lo: int, hi: int) -> int:
        """|self ∩ [lo, hi)|."""
        return sum(max(0, min(b, hi) - max(a, lo)) for a, b in self.runs)

    def shifted(self, by: int) -> Units:
        return Units(tuple((a + by, b + by) for a, b in self.runs))

    def __str__(self) -> str:
        return ", ".join(f"{a}" if b == a + 1 else f"{a}…{b - 1}" for a, b in self.runs[:6]) + (
            ", …" if len(self.runs) > 6 else ""
        )


def _few(a, k: int = 8) -> str:
    a = list(a)
    return ", ".join(str(int(x)) for x in a[:k]) + (f", … ({len(a)} in all)" if len(a) > k else "")


# --- cores, routes, layouts ----------------------------------------------------------------------
@dataclass(frozen=True)
class CoreUnits:
    """One core: id, chip, tile site (x, y), and per layer the units it holds."""

    core: int
    x: int
    y: int
    layers: tuple[tuple[int, Units], ...]  # (layer, units), layers distinct, increasing
    chip: int = 0

    def units(self, layer: int) -> Units:
        for lay, u in self.layers:
            if lay == layer:
                return u
        return Units()

    @property
    def n_units(self) -> int:
        return sum(len(u) for _, u in self.layers)

    @property
    def site(self) -> tuple[int, int]:
        return self.x, self.y


@dataclass(frozen=True)
class Route:
    """The tiles a packet from ``src`` to ``dst`` (core ids) passes, both ends included."""

    src: int
    dst: int
    tiles: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Overflow:
    """Units the default layout could not put on the chip (priced on one virtual core past it)."""

    core: int  # the virtual core's id: the chip's core count
    layers: tuple[tuple[int, Units], ...]
    cores_needed: int

    @property
    def n_units(self) -> int:
        return sum(len(u) for _, u in self.layers)


@dataclass(frozen=True)
class Entry:
    """One (core, layer) pair of a layout: the units of ``layer`` on ``core``. ``home``: the
    entry holding the layer's unit 0, which stores the layer's unit-less parameters and shared
    state."""

    core: int
    layer: int
    units: Units
    site: tuple[int, int]
    home: bool

    @property
    def n(self) -> int:
        return len(self.units)


@dataclass(frozen=True)
class Layout:
    cores: tuple[CoreUnits, ...]
    kind: str = "custom"
    routes: tuple[Route, ...] = ()
    overflow: Overflow | None = None
    _entries: list = field(default=None, init=False, repr=False, compare=False)

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def build(cls, cores: Iterable[dict | CoreUnits], kind: str = "custom", routes: Iterable = ()) -> Layout:
        """From dicts ``{"core", "x", "y", "chip"?, "layers": {layer: unit indices or Units}}``."""
        out = []
        for c in cores:
            if isinstance(c, CoreUnits):
                out.append(c)
                continue
            layers = []
            for lay, u in sorted(c["layers"].items(), key=lambda kv: int(kv[0])):
                layers.append((int(lay), u if isinstance(u, Units) else Units.of(u)))
            out.append(CoreUnits(int(c["core"]), int(c["x"]), int(c["y"]), tuple(layers), int(c.get("chip", 0))))
        return cls(tuple(out), kind, tuple(r if isinstance(r, Route) else _route(r) for r in routes))

    @classmethod
    def from_ranges(cls, ranges: dict | list, profile: Profile) -> Layout:
        """The old form ``{"cores": [{"core", "layer", "start", "stop"}]}`` (or its list of
        entries); sites from ``mesh.default_site``."""
        entries = ranges["cores"] if isinstance(ranges, dict) else ranges
        by_core: dict[int, dict[int, list]] = {}
        for e in entries:
            by_core.setdefault(int(e["core"]), {}).setdefault(int(e["layer"]), []).append((e["start"], e["stop"]))
        cores = []
        for core, layers in sorted(by_core.items()):
            x, y = default_site(profile, core)
            lays = tuple((lay, Units.from_runs(rs)) for lay, rs in sorted(layers.items()))
            cores.append(CoreUnits(core, x, y, lays))
        kind = ranges.get("kind", "custom") if isinstance(ranges, dict) else "custom"
        return cls(tuple(cores), kind)

    # --- views ---------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every (core, layer) pair, the overflow's last; ``home`` marks the entry with unit 0."""
        if self._entries is None:
            out = []
            groups = [(c.core, c.site, c.layers) for c in self.cores]
            if self.overflow is not None:
                groups.append((self.overflow.core, (-1, -1), self.overflow.layers))
            for core, site, layers in groups:
                for lay, u in layers:
                    if u:
                        out.append(Entry(core, lay, u, site, 0 in u))
            object.__setattr__(self, "_entries", out)
        return self._entries

    @property
    def n_cores(self) -> int:
        """Cores used (the overflow's virtual core included)."""
        return len(self.cores) + (self.overflow is not None)

    @property
    def cores_needed(self) -> int:
        return self.overflow.cores_needed if self.overflow is not None else len(self.cores)

    def core_of(self, layer: int, n_units: int) -> np.ndarray:
        """The core id of every unit of ``layer`` (-1 where none)."""
        out = np.full(n_units, -1, np.int64)
        for e in self.entries():
            if e.layer == layer:
                for a, b in e.units.runs:
                    out[a:b] = e.core
        return out

    def sites(self) -> dict[int, tuple[int, int]]:
        return {c.core: c.site for c in self.cores}

    # --- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {
            "schema": SCHEMA,
            "kind": self.kind,
            "cores": [
                {
                    "core": c.core,
                    "chip": c.chip,
                    "x": c.x,
                    "y": c.y,
                    "layers": {str(lay): [list(r) for r in u.runs] for lay, u in c.layers},
                }
                for c in self.cores
            ],
            "routes": [{"src": r.src, "dst": r.dst, "tiles": [list(t) for t in r.tiles]} for r in self.routes],
        }
        if self.overflow is not None:
            o = self.overflow
            d["overflow"] = {
                "core": o.core,
                "units": o.n_units,
                "cores_needed": o.cores_needed,
                "layers": {str(lay): [list(r) for r in u.runs] for lay, u in o.layers},
            }
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, d: dict) -> Layout:
        if d.get("schema") != SCHEMA:
            raise LayoutError(f"layout: schema is {d.get('schema')!r}; allowed: {SCHEMA!r}")
        cores = []
        for c in d["cores"]:
            layers = tuple((int(lay), Units.from_runs(rs)) for lay, rs in sorted(c["layers"].items(), key=_int_key))
            cores.append(CoreUnits(int(c["core"]), int(c["x"]), int(c["y"]), layers, int(c.get("chip", 0))))
        over = None
        if d.get("overflow"):
            o = d["overflow"]
            layers = tuple((int(lay), Units.from_runs(rs)) for lay, rs in sorted(o["layers"].items(), key=_int_key))
            over = Overflow(int(o["core"]), layers, int(o["cores_needed"]))
        return cls(tuple(cores), d.get("kind", "custom"), tuple(_route(r) for r in d.get("routes", ())), over)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        return cls.from_dict(json.loads(text))

    # --- validation ----------------------------------------------------------------------------
    def validate(self, model, profile: Profile, *, allow_overflow: bool = False) -> Layout:
        """Refuse a layout that does not place ``model`` on ``profile``'s chip (module
        docstring), naming the core and the units; returns the layout. ``allow_overflow``: accept
        the default layout's units past the chip (the budget then reports the chip culprit)."""
        units = layer_units(model)
        where = f"layout on {profile.name}"
        ids = [c.core for c in self.cores]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise LayoutError(f"{where}: core ids listed twice: {dup}")
        if self.overflow is not None and not allow_overflow:
            o = self.overflow
            raise LayoutError(
                f"{where}: {o.n_units:,} units do not fit on the chip's {profile.n_cores} cores "
                f"(the network needs {o.cores_needed:,})"
            )
        n_chips = profile.n_chips
        per_chip: dict[int, int] = {}
        for c in self.cores:
            if not 0 <= c.chip < n_chips:
                allowed = (
                    "chip 0 (one chip: the profile has no [board])"
                    if profile.board is None
                    else (f"chips 0…{n_chips - 1} (the board's {n_chips})")
                )
                raise LayoutError(f"{where}: core {c.core} is on chip {c.chip}; allowed: {allowed}")
            per_chip[c.chip] = per_chip.get(c.chip, 0) + 1
        for chip, n in sorted(per_chip.items()):
            if n > profile.n_cores:
                on = "" if profile.board is None else f" on chip {chip}"
                raise LayoutError(f"{where}: {n} cores{on} but the chip has {profile.n_cores}")
        W, H, per_tile = (
            int(profile.chip.mesh_width),
            int(profile.chip.mesh_height),
            profile.chip.cores_per_tile,
        )
        tiles: dict[tuple, list[int]] = {}
        for c in self.cores:
            if not (0 <= c.x < W and 0 <= c.y < H):
                raise LayoutError(
                    f"{where}: core {c.core} sits at ({c.x}, {c.y}), outside the {W}×{H} mesh "
                    f"(x in 0…{W - 1}, y in 0…{H - 1})"
                )
            tiles.setdefault((c.chip, c.x, c.y), []).append(c.core)
            for lay, u in c.layers:
                if not 0 <= lay < len(units):
                    raise LayoutError(
                        f"{where}: core {c.core} holds layer {lay}; the model has layers 0…{len(units) - 1}"
                    )
                if u and (u.min < 0 or u.max >= units[lay]):
                    bad = [i for i in (u.min, u.max) if not 0 <= i < units[lay]]
                    raise LayoutError(
                        f"{where}: core {c.core} holds units {_few(bad)} of layer {lay}, "
                        f"which has units 0…{units[lay] - 1}"
                    )
        crowded = {t: cs for t, cs in tiles.items() if len(cs) > per_tile}
        if crowded:
            (chip, x, y), cs = next(iter(crowded.items()))
            on = "" if profile.board is None else f" of chip {chip}"
            raise LayoutError(
                f"{where}: cores {cs} share the tile at ({x}, {y}){on}, which holds {int(per_tile)} cores"
            )
        for lay, n in enumerate(units):
            self._check_cover(where, lay, n, allow_overflow)
        sites = self.sites()
        chips = {c.core: c.chip for c in self.cores}
        for r in self.routes:
            self._check_route(where, r, sites)
            if chips[r.src] != chips[r.dst]:
                raise LayoutError(
                    f"{where}: route {r.src} → {r.dst} joins chip {chips[r.src]} to chip {chips[r.dst]}; a mesh "
                    "route stays on one chip (chip-to-chip traffic takes the board's links)"
                )
        return self

    def _check_cover(self, where: str, layer: int, n: int, allow_overflow: bool) -> None:
        """Every unit of ``layer`` on exactly one core."""
        held = [(c.core, c.units(layer)) for c in self.cores]
        if allow_overflow and self.overflow is not None:
            held.append((self.overflow.core, dict(self.overflow.layers).get(layer, Units())))
        edges = []  # (position, +1/-1, core): a sweep over the runs finds gaps and overlaps exactly
        for core, u in held:
            for a, b in u.runs:
                edges.append((a, 1, core))
                edges.append((b, -1, core))
        edges.sort(key=lambda e: (e[0], e[1]))
        depth, pos, owners = 0, 0, []
        missing, twice = [], []
        for x, d, core in edges:
            if x > pos:
                if depth == 0:
                    missing.append((pos, x))
                elif depth > 1:
                    twice.append((pos, x, tuple(owners)))
            pos = x
            depth += d
            if d > 0:
                owners.append(core)
            else:
                owners.remove(core)
        if pos < n:
            missing.append((pos, n))
        if twice:
            a, b, cores = twice[0]
            raise LayoutError(
                f"{where}: units {_span(a, b)} of layer {layer} are on more than one core: cores {list(cores)}"
            )
        if missing:
            total = sum(b - a for a, b in missing)
            spans = ", ".join(_span(a, b) for a, b in missing[:4]) + (", …" if len(missing) > 4 else "")
            raise LayoutError(f"{where}: {total:,} units of layer {layer} are on no core: units {spans}")

    def _check_route(self, where: str, r: Route, sites: dict) -> None:
        for end in (r.src, r.dst):
            if end not in sites:
                raise LayoutError(f"{where}: route {r.src} → {r.dst}: core {end} is not in the layout")
        if not r.tiles or tuple(r.tiles[0]) != sites[r.src] or tuple(r.tiles[-1]) != sites[r.dst]:
            raise LayoutError(
                f"{where}: route {r.src} → {r.dst} must start at {sites[r.src]} and end at {sites[r.dst]}, "
                f"not {r.tiles[:1]} … {r.tiles[-1:]}"
            )
        for (x0, y0), (x1, y1) in zip(r.tiles, r.tiles[1:]):
            if abs(x1 - x0) + abs(y1 - y0) != 1:
                raise LayoutError(
                    f"{where}: route {r.src} → {r.dst} steps from ({x0}, {y0}) to ({x1}, {y1}), not a neighbour"
                )


def _span(a: int, b: int) -> str:
    return f"{a}" if b == a + 1 else f"{a}…{b - 1}"


def _int_key(kv):
    return int(kv[0])


def _route(r) -> Route:
    if isinstance(r, Route):
        return r
    return Route(int(r["src"]), int(r["dst"]), tuple((int(x), int(y)) for x, y in r["tiles"]))


def layer_units(model) -> list[int]:
    """Units per layer (the spiking model: one layer of n neurons)."""
    if getattr(model, "spiking", False):
        return [int(model.n)]
    return [int(b.cell.n_units) for b in model.blocks]


def as_layout(layout, model, profile: Profile) -> Layout:
    """A ``Layout`` from a ``Layout``, the old range dict, or its JSON dict."""
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, dict) and layout.get("schema") == SCHEMA:
        return Layout.from_dict(layout)
    if isinstance(layout, (dict, list)):
        return Layout.from_ranges(layout, profile)
    raise LayoutError(f"layout: {type(layout).__name__} is not a layout; allowed: a Layout or its JSON dict")


# --- the default ---------------------------------------------------------------------------------
def layers_in_order(
    model, profile: Profile, rule=None, *, optimizer: str | None = None, update_every: int = 1, seq_len: int = 1000
) -> Layout:
    """Layers in order, chunks packed greedily onto shared cores (module docstring). ``rule``
    (None: no learning state), ``optimizer``, ``update_every`` and ``seq_len`` (as for
    ``budget``) decide what each core must hold."""
    from ..rules.base import Rule
    from .memory import OPTIMIZER_FLOATS, Net, core_store

    net = Net(model, rule or Rule())
    opts = {"opt_floats": OPTIMIZER_FLOATS[optimizer], "accumulate": update_every > 1, "seq_len": seq_len}
    per, n_cores = int(profile.core.max_neurons), profile.n_cores
    placed: list[list] = []  # per core: [(layer, start, stop)]
    over: dict[int, tuple[int, int]] = {}
    here: list = []
    core = 0
    for layer in range(net.n_layers):
        start, n = 0, net.units[layer]
        while start < n:
            room = per - sum(b - a for _, a, b in here)
            if core == n_cores or (room <= 0 and core + 1 == n_cores):  # the chip is full
                over[layer] = (start, n)
                core, start = n_cores, n
                continue
            if room <= 0:
                core, here = core + 1, []
                continue
            chunk = (layer, start, min(n, start + room))
            trial = [_entry(core, c, profile) for c in here + [chunk]]
            if here and core + 1 < n_cores and not core_store(net, profile, core, trial, opts).holds:
                core, here = core + 1, []
                continue
            if len(placed) <= core:
                placed.append([])
            placed[core].append(chunk)
            here.append(chunk)
            start = chunk[2]
    cores = []
    for cid, chunks in enumerate(placed):
        x, y = default_site(profile, cid)
        cores.append(CoreUnits(cid, x, y, tuple((lay, Units.range(a, b)) for lay, a, b in chunks)))
    overflow = None
    if over:
        beyond = sum(b - a for a, b in over.values())
        layers = tuple((lay, Units.range(a, b)) for lay, (a, b) in sorted(over.items()))
        overflow = Overflow(n_cores, layers, n_cores + -(-beyond // per))
    return Layout(tuple(cores), "layers in order, greedily packed", (), overflow)


def _entry(core: int, chunk: tuple, profile: Profile) -> Entry:
    layer, a, b = chunk
    return Entry(core, layer, Units.range(a, b), default_site(profile, core), a == 0)

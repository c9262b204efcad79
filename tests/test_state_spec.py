"""State declarations (issue 10, item 2): every rule on every model it accepts declares exactly
the arrays ``init`` creates (names, shapes, dtypes, batch sharing), the model declares its own
state the same way, and splitting a layer over cores splits each unit-owned array with its units
— checked against the real index arrays the rules build (``ParamIndex.unit``, ``snap_mask``),
not against the accounting's own arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurosim as ns
from neurosim.hardware.layout import Entry, Units
from neurosim.hardware.memory import Net, runs_total, spec_share
from neurosim.rules import param_index, snap_mask

B = 7  # no model dimension equals it, so a batch axis is never confused with another

MODELS = {
    "rnn": dict(n_in=3, n_out=2, n_hidden=5, n_layers=2),
    "rnn_sparse_pool": dict(name="rnn", n_in=3, n_out=2, n_hidden=6, density=0.4, pool="st_mean"),
    "gru": dict(n_in=3, n_out=2, n_hidden=4, n_layers=2),
    "lru": dict(n_in=3, n_out=2, n_hidden=3, width=4, n_layers=2),
    "lru_mlp": dict(name="lru", n_in=3, n_out=2, n_hidden=4, width=5, mix="mlp"),
    "lif": dict(n_in=3, n_out=2, n_hidden=6, n_ref=2),
    "lif_plain": dict(name="lif", n_in=3, n_out=2, n_hidden=6, tau_out=0.0, readout_bias=False),
    "alif": dict(n_in=3, n_out=2, n_hidden=6, n_alif=4),
}
RULES = {
    "bptt": {},
    "tbptt": {"k": 3},
    "rtrl": {},
    "snap1": {},
    "snap2": {},
    "snap": {"n": 3},
    "online_lru": {},
    "spatial": {},
    "trunc1": {},
    "uoro": {"rank": 2},
    "rflo": {},
    "eprop": {},
    "eprop_plain": {"filter": False},
    "eprop_reg": {"reg_coeff": 0.5},
}
CASES = [(r, m) for r in RULES for m in MODELS]


def _model(key, dtype="float64"):
    kw = dict(MODELS[key])
    return ns.models.make(kw.pop("name", key), dtype=dtype, **kw)


def _rule(key):
    return ns.rules.make(key.split("_")[0] if key.startswith("eprop") else key, **RULES[key])


def _arrays(tree, prefix="") -> dict[str, np.ndarray]:
    """Named arrays of a state: NamedTuple fields by name, a per-layer tuple of arrays as NAME{i}."""
    out = {}
    if isinstance(tree, np.ndarray):
        return {prefix: tree}
    if hasattr(tree, "_fields"):
        for f in tree._fields:
            v = getattr(tree, f)
            if isinstance(v, tuple) and not hasattr(v, "_fields"):
                for i, a in enumerate(v):
                    out[f"{f}{i}"] = a
            else:
                out.update(_arrays(v, f))
    return out


def _want_dtype(spec, model):
    if spec.dtype == "int":
        return "i"
    return "c" if spec.complex else "f"


def declared_equals_created(specs, created: dict[str, np.ndarray], model, n_units) -> list[str]:
    """Differences between declarations and created arrays (empty: they agree). Zero-size arrays
    are absent; a ``padded`` array is stored for every unit of its layer."""
    created = {k: v for k, v in created.items() if v.size}
    problems = []
    names = {s.name for s in specs}
    for extra in sorted(set(created) - names):
        problems.append(f"{extra}: created {created[extra].shape} but not declared")
    for s in specs:
        if s.name not in created:
            if s.padded and np.prod(s.shape) == 0:
                continue
            problems.append(f"{s.name}: declared but not created")
            continue
        a = created[s.name]
        shape = (n_units[s.layer],) if s.padded else s.shape
        want = ((B,) if s.per_sample else ()) + tuple(shape)
        if a.shape != want:
            problems.append(f"{s.name}: declared {want}, created {a.shape}")
        if a.dtype.kind != _want_dtype(s, model):
            problems.append(f"{s.name}: declared {s.dtype}{' complex' if s.complex else ''}, created {a.dtype}")
        elif s.dtype == "float" and np.finfo(a.dtype).bits != np.finfo(model.dtype).bits:
            problems.append(f"{s.name}: created {a.dtype} for a {model.dtype} model")
        if s.padded and not 0 <= s.offset <= s.offset + s.shape[0] <= n_units[s.layer]:
            problems.append(f"{s.name}: padded range outside the layer")
    return problems


def _per_layer_traces(rule, model, state) -> dict[str, np.ndarray]:
    out = {}
    for layer, tr in enumerate(state.traces):
        for name, a in (_arrays(tr) if not isinstance(tr, np.ndarray) else {"": tr}).items():
            spec_names = [s.name for s in rule.state_spec(model) if s.layer in (layer, -1)]
            key = name or (spec_names[0] if len(spec_names) == 1 else f"<layer {layer}>")
            out[f"{key}@{layer}"] = a
    return out


@pytest.mark.parametrize("rule_key,model_key", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_state_spec_equals_the_arrays_init_creates(rule_key, model_key, dtype):
    model, rule = _model(model_key, dtype), _rule(rule_key)
    if not rule.accepts(model):
        return
    params = model.init(0)
    state = rule.init(model, params, B)
    units = ns.hardware.layout.layer_units(model)
    # the model's own state
    assert declared_equals_created(model.state_arrays(), _arrays(state.model), model, units) == []
    # the rule's learning state, per layer
    specs = [s for s in rule.state_spec(model) if s.belongs != "history"]
    created = _per_layer_traces(rule, model, state)
    keyed = [type(s)(**{**s.__dict__, "name": f"{s.name}@{s.layer}"}) for s in specs]
    assert declared_equals_created(keyed, created, model, units) == []
    # and after a step (the state keeps its form; bptt's history grows by its declared floats)
    x = np.random.default_rng(0).normal(size=(B, model.n_in)).astype(dtype)
    y = np.zeros((B, model.n_out), dtype)
    state2, _, _ = rule.step(model, params, state, x, y)
    assert declared_equals_created(keyed, _per_layer_traces(rule, model, state2), model, units) == []
    hist = [s for s in rule.state_spec(model) if s.belongs == "history"]
    if hist and state2.history:
        leaves = [a for rec in state2.history for a in _leaves(rec)]
        floats = sum(
            (a.size // B if a.ndim and a.shape[0] == B else a.size) * (2 if np.iscomplexobj(a) else 1) for a in leaves
        )
        assert floats == hist[0].shape[1] * len(state2.history)


def _leaves(obj):
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [x for o in obj for x in _leaves(o)]
    return []


def test_the_battery_catches_a_declaration_that_drifts():
    """Negative controls: a shape, a dtype, a batch flag or a name off by one is reported."""
    model, rule = _model("alif"), _rule("eprop")
    state = rule.init(model, model.init(0), B)
    units = [model.n]
    created = _arrays(state.traces[0])
    specs = rule.state_spec(model)
    assert declared_equals_created(specs, created, model, units) == []
    S = type(specs[0])
    wrong_shape = [
        S(**{**s.__dict__, "shape": (s.shape[0] + 1,) + s.shape[1:]}) if s.name == "ev_in" else s for s in specs
    ]
    wrong_dtype = [S(**{**s.__dict__, "dtype": "int"}) if s.name == "psi" else s for s in specs]
    wrong_batch = [S(**{**s.__dict__, "per_sample": True}) if s.name == "bo" else s for s in specs]
    missing = [s for s in specs if s.name != "zo"]
    for bad, word in [(wrong_shape, "ev_in"), (wrong_dtype, "psi"), (wrong_batch, "bo"), (missing, "zo")]:
        problems = declared_equals_created(bad, created, model, units)
        assert problems and word in problems[0], problems


# --- ownership: a split over cores splits each array with its units --------------------------------
def _owner_of_elements(rule, model, spec) -> np.ndarray | None:
    """The owning unit of every element of a unit-owned array, from the index arrays the rules
    themselves build (independent of the accounting's run arithmetic)."""
    n = ns.hardware.layout.layer_units(model)[spec.layer]
    shape = spec.shape
    along = np.arange(shape[spec.axis] if shape else 1)
    if spec.index == "unit":
        unit = along + spec.offset
    elif spec.index == "state":
        unit = along % n
    elif spec.index == "param":
        unit = param_index(model.blocks[spec.layer].cell).unit
    else:  # pattern: the kept entries of SnAp-n's mask, owned by their parameter's unit
        cell = model.blocks[spec.layer].cell
        _, cols = np.nonzero(snap_mask(cell, rule.n))
        return param_index(cell).unit[cols]
    other = int(np.prod(shape)) // max(1, len(along))
    return np.repeat(unit, other)  # each owner index carries the other axes' elements


def _elements(share):
    rows, records = share
    return runs_total(rows) + records


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=st.sampled_from([c for c in CASES if not c[0].startswith(("bptt", "tbptt"))]),
    k=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_a_split_over_cores_gives_each_unit_its_own_arrays(case, k, seed):
    rule_key, model_key = case
    model, rule = _model(model_key), _rule(rule_key)
    if not rule.accepts(model):
        return
    net = Net(model, rule)
    rng = np.random.default_rng(seed)
    for layer, n in enumerate(net.units):
        perm = rng.permutation(n)
        cuts = np.sort(rng.choice(np.arange(1, n), min(k, n) - 1, replace=False)) if min(k, n) > 1 else []
        parts = [Units.of(p) for p in np.split(perm, cuts)]
        entries = [Entry(c, layer, u, (0, 0), 0 in u) for c, u in enumerate(parts)]
        for spec in [s for s in net.specs + net.states if s.layer in (layer, -1) and s.belongs != "event"]:
            if spec.layer == -1 and layer != 0:
                continue
            mult = 2 if spec.complex else 1
            whole = int(np.prod(spec.shape)) * mult
            shares = [_elements(spec_share(net, spec, e) or ([], 0)) for e in entries]
            if spec.owner == "unit":
                owner = _owner_of_elements(rule, model, spec)
                assert owner.size * mult == whole, spec.name
                for e, got in zip(entries, shares):
                    want = int(np.isin(owner, e.units.array()).sum()) * mult
                    assert got == want, (spec.name, e.units, got, want)
                assert sum(shares) == whole, spec.name
            elif spec.owner == "pre":  # every core of the layer keeps its own copy
                assert shares == [whole] * len(entries), spec.name
            else:  # shared / global: once, on the core holding unit 0
                assert sum(shares) == whole and shares[[0 in e.units for e in entries].index(True)] == whole


def test_traces_of_a_split_layer_land_on_every_core_not_only_the_first():
    """The issue's case: a 2048-unit RNN on Loihi (1024 neurons per core): snap1, snap2 and uoro
    traces follow their units, so both cores hold half (they all landed on core 0 before)."""
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=2048, density=0.01)
    prof = ns.hardware.load_profile("loihi")
    for name in ("snap1", "uoro", "snap2"):
        b = ns.hardware.budget(model, ns.rules.make(name), prof)
        names = {s.name for s in ns.rules.make(name).state_spec(model)}
        traces: dict[int, int] = {}
        for r in b.regions:
            traces[r.core] = traces.get(r.core, 0) + sum(v for k, v in r.items.items() if k in names)
        per_core = [traces.get(c, 0) for c in (0, 1)]
        assert min(per_core) > 0.4 * sum(per_core), (name, per_core)
    # e-prop's input traces are per presynaptic input: the same on every core, whatever n_in
    for n_in in (511, 512):
        lif = ns.models.make("lif", n_in=n_in, n_out=2, n_hidden=2048)
        b = ns.hardware.budget(lif, ns.rules.make("eprop", filter=False), prof)
        ev_in = [r.items.get("ev_in", 0) for r in b.regions if r.items.get("ev_in")]
        assert len(ev_in) == 2 and ev_in[0] == ev_in[1] == n_in * prof.formats.trace_bits


def test_rule_arrays_take_their_role_s_format_not_a_model_array_s_width():
    """ReckOn sets its membrane potential v to 16 bits; UORO's trace v is a trace (ReckOn's
    trace format), not a membrane (issue 10: it was priced at the membrane's width)."""
    prof = ns.hardware.load_profile("reckon")
    model = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=8)
    b = ns.hardware.budget(model, ns.rules.make("uoro"), prof)
    v_bits = next(r.items["v"] for r in b.regions if "v" in r.items)
    assert v_bits == 8 * prof.formats.trace_bits != 8 * prof.array_bits["v"]


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 3), min_size=1, max_size=60), data=st.data())
def test_selecting_rows_of_any_unit_set_equals_slicing_row_by_row(counts, data):
    """``runs_select`` (bisection into the runs) against the rows selected one at a time."""
    from neurosim.hardware.memory import runs_of, runs_select

    n = len(counts)
    chosen = data.draw(st.sets(st.integers(0, n - 1)))
    runs = runs_of(counts)
    want = runs_of([counts[i] for i in sorted(chosen)]) if chosen else []
    got = runs_select(runs, Units.of(sorted(chosen)))
    assert got == want

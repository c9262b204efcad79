"""Learning-state sizes are arithmetic on shapes: equal to the sizes of the index and the mask the
rules build for training (the oracle), and computable at sizes where those could not be built."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import neurosim as ns
from neurosim import hardware as hw
from neurosim.rules.base import active_count, param_index
from neurosim.rules.rtrl import snap_mask, snap_size

CELLS = {
    "rnn": dict(name="rnn", n_hidden=7),
    "rnn_leaky": dict(name="rnn", n_hidden=7, alpha=0.5),
    "rnn_sparse": dict(name="rnn", n_hidden=9, density=0.2, structure_seed=3),
    "rnn_ring": dict(name="rnn", n_hidden=6, mask=np.roll(np.eye(6, dtype=bool), 1, 1) | np.eye(6, dtype=bool)),
    "gru": dict(name="gru", n_hidden=5),
    "gru_sparse": dict(name="gru", n_hidden=8, density=0.25, structure_seed=1),
    "lru": dict(name="lru", n_hidden=4, width=6),
}


@pytest.mark.parametrize("key", CELLS)
def test_counts_equal_the_index_and_the_mask_the_rules_build(key):
    kw = dict(CELLS[key])
    cell = ns.models.make(kw.pop("name"), n_in=3, n_out=2, **kw).blocks[0].cell
    assert active_count(cell) == param_index(cell).size
    sizes = [snap_size(cell, n) for n in (1, 2, 3, 4, 6)]
    assert sizes == [int(snap_mask(cell, n).sum()) for n in (1, 2, 3, 4, 6)]
    if key == "rnn_ring":  # negative control: SnAp-n grows with n on a ring until n − 1 = 5
        assert sizes[0] < sizes[1] < sizes[2] < sizes[3] < sizes[4]


@pytest.mark.parametrize("rule", ["rtrl", "snap1", "snap2", "uoro", "rflo"])
def test_budget_of_the_rtrl_family_at_n_100000_builds_no_index(rule):
    """RTRL's G at n = 100 000 is n·P ≈ 1e15 floats: the budget prices it without an index."""
    model = ns.models.make("rnn", n_in=8, n_out=2, n_hidden=100_000)
    tracemalloc.start()
    b = hw.budget(model, ns.rules.make(rule), hw.load_profile("loihi"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    n, P = 100_000, 100_000 * (100_000 + 8 + 1)
    per_sample = {"rtrl": n * P, "snap1": P, "snap2": n * P, "uoro": n + P, "rflo": P}[rule]
    fmt = hw.load_profile("loihi").formats
    counter = fmt.state_bits if rule == "uoro" else 0  # UORO's step counter, one per layer
    assert b.learning_bits == per_sample * fmt.trace_bits + counter and not b.fits


@pytest.mark.parametrize("rule", ["rtrl", "snap2", "snap1", "online_lru"])
def test_the_rules_caches_do_not_keep_a_model_alive(rule):
    """Index, mask and pattern caches live on the model and its cells (an lru_cache keyed on them
    kept every model ever trained, masks included, for the life of the process)."""
    import gc
    import weakref

    kind = "lru" if rule == "online_lru" else "rnn"
    model = ns.models.make(kind, n_in=2, n_out=1, n_hidden=4, density=1.0 if kind == "lru" else 0.5)
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 1))
    ns.rules.total_gradient(ns.rules.make(rule), model, model.init(0), xs, ys)
    refs = [weakref.ref(model), weakref.ref(model.blocks[0].cell)]
    del model
    gc.collect()
    assert [r() for r in refs] == [None, None]

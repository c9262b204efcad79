"""Exact identities of the RTRL family against BPTT, each with a negative control: RTRL = BPTT
(Williams & Zipser 1989); SnAp-1 = RTRL when the recurrence is element-wise and SnAp-n = RTRL once
n − 1 reaches the unit graph's diameter (Menick et al. 2021, §3); the online LRU rule = BPTT for
the top layer (Zucchet et al. 2023, §3); BPTT against central finite differences. Parameters are
held fixed; float64."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import build, data, grad, rel_err

import neurosim as ns
from neurosim.rules.rtrl import SnAp


@pytest.mark.parametrize("key", ["rnn", "rnn_leaky", "gru", "lru"])
def test_rtrl_equals_bptt(key):
    model = build(key)
    params = model.init(0)
    xs, ys = data(model, T=30)
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("rtrl", model, params, xs, ys), ref) <= 1e-10
    # Every cell parameter is compared by name and is non-trivial in the reference.
    for name in model.cell_param_names(0):
        assert np.linalg.norm(ref[name]) > 1e-6, name


@pytest.mark.parametrize("key", ["rnn", "gru"])
def test_trunc1_differs_from_bptt(key):
    """Negative control: one-step truncation is not BPTT on the same data."""
    model = build(key)
    params = model.init(0)
    xs, ys = data(model, T=30)
    assert rel_err(grad("trunc1", model, params, xs, ys), grad("bptt", model, params, xs, ys)) > 1e-2


@pytest.mark.parametrize("key", ["rnn", "rnn_leaky", "gru", "lru"])
def test_bptt_matches_finite_differences(key):
    """Central differences of Σ_t ℓ_t along 5 random directions, float64, ε = 1e-6."""
    model = build(key)
    params = model.init(0)
    xs, ys = data(model, T=15)
    g = grad("bptt", model, params, xs, ys)
    rng = np.random.default_rng(5)

    def total_loss(p):
        out = model.run(p, xs)
        return 0.5 * ((out - ys) ** 2).sum() / xs.shape[1]

    for _ in range(5):
        d = {k: rng.normal(size=v.shape) for k, v in params.items()}
        eps = 1e-6
        plus = total_loss({k: params[k] + eps * d[k] for k in params})
        minus = total_loss({k: params[k] - eps * d[k] for k in params})
        fd = (plus - minus) / (2 * eps)
        an = sum(float((g[k] * d[k]).sum()) for k in params)
        assert abs(fd - an) / abs(an) < 1e-6


def test_bptt_finite_differences_detect_a_wrong_gradient():
    """Negative control for the FD oracle: a gradient scaled by 1.01 fails the same check."""
    model = build("rnn")
    params = model.init(0)
    xs, ys = data(model, T=15)
    g = grad("bptt", model, params, xs, ys)
    d = {k: np.random.default_rng(3).normal(size=v.shape) for k, v in params.items()}

    def total_loss(p):
        return 0.5 * ((model.run(p, xs) - ys) ** 2).sum() / xs.shape[1]

    fd = (
        total_loss({k: params[k] + 1e-6 * d[k] for k in params})
        - total_loss({k: params[k] - 1e-6 * d[k] for k in params})
    ) / 2e-6
    an = 1.01 * sum(float((g[k] * d[k]).sum()) for k in params)
    assert abs(fd - an) / abs(an) > 1e-6


def test_online_lru_one_layer_equals_bptt():
    model = build("lru", n_hidden=10, width=2, n_in=2)  # Zucchet test_rec: N=10, H=2
    params = model.init(0)
    xs, ys = data(model, T=100, B=2)
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("online_lru", model, params, xs, ys), ref) <= 1e-10


def test_online_lru_stack_top_exact_lower_layers_differ():
    model = ns.models.make("lru", n_in=3, n_out=2, n_hidden=6, width=4, n_layers=3, dtype="float64")
    params = model.init(0)
    xs, ys = data(model, T=40)
    ref = grad("bptt", model, params, xs, ys)
    got = grad("online_lru", model, params, xs, ys)
    # Exact: the top layer's recurrence and everything after it (C, D, GLU, decoder).
    top = [k for k in params if k.startswith("layer2.") and not k.startswith("layer2.norm.")] + ["dec.W", "dec.b"]
    assert rel_err(got, ref, top) <= 1e-10
    # Negative control: the lower layers (and the top layer's pre-norm, the encoder) differ.
    for layer in ("layer0.", "layer1."):
        keys = [k for k in params if k.startswith(layer)]
        assert rel_err(got, ref, keys) > 1e-3, layer
    assert rel_err(got, ref, ["enc.W"]) > 1e-3
    sim = ns.rules.gradient_similarity(got, ref)
    assert sim["per_layer"]["layer2"]["cosine"] < 1  # layer2.norm sits below the recurrence
    assert sim["per_layer"]["dec"]["cosine"] == pytest.approx(1.0, abs=1e-12)


def test_online_lru_hand_computed_toy():
    """Zucchet et al.'s 3-step toy: N = H = 1, λ = 0.5, γ = 1, B = 2 + 2i, C = 2 + i, D = 0,
    u = (1, 2, 3), loss ½ Σ (y_t − 1)². By hand: h_t = 2+2i, 5+5i, 8.5+8.5i; y_t = Re(C h_t) = 2,
    5, 8.5; the complex error δ_t = ∂ℓ/∂Re h − i ∂ℓ/∂Im h = (y_t − 1)(2 + i); e^λ_t = λ e^λ_{t−1} +
    h_{t−1} = 0, 2+2i, 6+6i, so Σ δ e^λ = (2+i)(4(2+2i) + 7.5(6+6i)) = 53 + 159i; e^γ_t = h_t (γ = 1),
    so ∇γ_log = Re Σ δ h = Re (2+i)(85.75+85.75i) = 85.75; likewise for B, C and D below."""
    model = ns.models.make(
        "lru", n_in=1, n_out=1, n_hidden=1, width=1, encoder=False, norm=False, mix="none", skip=False, dtype="float64"
    )
    # The toy's readout is y = Re(C h) (no GELU, no decoder), so drive the rule's layer step
    # directly with that readout's learning signal.
    cell = model.blocks[0].cell
    p = {
        "nu_log": np.array([np.log(np.log(2.0))]),
        "theta_log": np.array([-1e3]),
        "gamma_log": np.array([0.0]),
        "B_re": np.array([[2.0]]),
        "B_im": np.array([[2.0]]),
    }
    C = 2.0 + 1.0j
    u = [1.0, 2.0, 3.0]
    rule = ns.rules.make("online_lru")
    tr = rule.init_layer(model, 0, 1)
    h = np.zeros((1, 2))
    total = {k: 0.0 for k in ("nu_log", "theta_log", "gamma_log", "B_re", "B_im")}
    gC, gD, sum_de = 0.0 + 0.0j, 0.0, 0.0 + 0.0j
    for ut in u:
        h, cache = cell.step(p, h, np.array([[ut]]))
        hc = h[0, 0] + 1j * h[0, 1]
        y = (C * hc).real
        dy = y - 1.0
        c = np.array([[dy * C.real, -dy * C.imag]])  # ∂ℓ/∂Re h, ∂ℓ/∂Im h
        tr, g = rule.layer_step(model, 0, p, tr, cache, c)
        sum_de += (c[0, 0] - 1j * c[0, 1]) * tr.e_lam[0, 0]
        for k in total:
            total[k] += float(np.ravel(g[k])[0])
        gC += dy * np.conj(hc)  # ∇C_re + i ∇C_im = Σ g_t (Re h − i Im h)
        gD += dy * ut
    assert sum_de == pytest.approx(53 + 159j, rel=1e-12)
    assert total["gamma_log"] == pytest.approx(85.75, rel=1e-12)
    assert total["B_re"] == pytest.approx(85.75, rel=1e-12)
    assert total["B_im"] == pytest.approx(-42.875, rel=1e-12)
    assert gC.real == pytest.approx(85.75, rel=1e-12) and gC.imag == pytest.approx(-85.75, rel=1e-12)
    assert gD == pytest.approx(31.5, rel=1e-12)
    assert total["nu_log"] == pytest.approx(-np.log(2) * 0.5 * 53, rel=1e-12)
    assert abs(total["theta_log"]) < 1e-12


def test_snap1_equals_rtrl_on_diagonal_recurrence():
    for key, over in (
        ("rnn", {"mask": np.eye(5, dtype=bool)}),
        ("rnn_leaky", {"mask": np.eye(5, dtype=bool)}),
        ("lru", {}),
    ):
        model = build(key, **over)
        params = model.init(0)
        xs, ys = data(model, T=30)
        assert rel_err(grad("snap1", model, params, xs, ys), grad("rtrl", model, params, xs, ys)) <= 1e-10, key


@pytest.mark.parametrize("key", ["rnn", "gru"])
def test_snap1_differs_from_rtrl_on_dense_recurrence(key):
    model = build(key)
    params = model.init(0)
    xs, ys = data(model, T=30)
    assert rel_err(grad("snap1", model, params, xs, ys), grad("rtrl", model, params, xs, ys)) > 1e-3


def test_snap1_fast_path_equals_general_snap_n1():
    """The O(s²P) SnAp-1 path agrees with SnAp-n at n = 1 through the dense pattern."""
    for key in ("rnn", "gru", "lru"):
        model = build(key)
        params = model.init(0)
        xs, ys = data(model, T=20)
        fast = grad("snap1", model, params, xs, ys)
        general = ns.rules.total_gradient(SnAp(1), model, params, xs, ys)
        assert rel_err(fast, general) <= 1e-12, key


@pytest.mark.parametrize("key", ["rnn", "gru"])
def test_snap2_equals_rtrl_on_dense_recurrence(key):
    model = build(key)
    params = model.init(0)
    xs, ys = data(model, T=30)
    assert rel_err(grad("snap2", model, params, xs, ys), grad("rtrl", model, params, xs, ys)) <= 1e-10


def _ring(n: int) -> np.ndarray:
    m = np.zeros((n, n), bool)
    for i in range(n):
        m[(i + 1) % n, i] = True  # unit i+1 reads unit i
    return m


def test_snap_n_saturates_on_a_ring_and_is_biased_before():
    """On a ring of 6 units (diameter 5), SnAp-n equals RTRL once n − 1 ≥ 5, not before."""
    model = build("rnn", n_hidden=6, mask=_ring(6))
    params = model.init(0)
    xs, ys = data(model, T=25)
    ref = grad("rtrl", model, params, xs, ys)
    errs = {n: rel_err(grad("snap", model, params, xs, ys, n=n), ref) for n in (2, 3, 5, 6, 7)}
    assert errs[6] <= 1e-10 and errs[7] <= 1e-10
    assert errs[2] > 1e-4 and errs[3] > 1e-6 and errs[5] > 1e-10


def _bfs_within(adj_from: list[list[int]], src: int, limit: int) -> set[int]:
    seen, frontier = {src}, [src]
    for _ in range(limit):
        nxt = [k for u in frontier for k in adj_from[u] if k not in seen]
        seen.update(nxt)
        frontier = nxt
    return seen


@pytest.mark.parametrize("density", [0.1, 0.3])
def test_snap_masks_equal_graph_reachability_and_are_nested(density):
    model = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=12, density=density, structure_seed=3)
    cell = model.blocks[0].cell
    W = cell.masks["W"]
    out_edges = [[k for k in range(12) if W[k, u]] for u in range(12)]  # u → k when k reads u
    idx = ns.rules.param_index(cell)
    prev = None
    for n in (1, 2, 3, 4):
        mask = ns.rules.snap_mask(cell, n)
        for p in range(0, idx.size, 7):
            expect = _bfs_within(out_edges, int(idx.unit[p]), n - 1)
            assert set(np.flatnonzero(mask[:, p])) == expect
        if prev is not None:
            assert np.all(mask >= prev) and (mask.sum() >= prev.sum())
        prev = mask
    diag = ns.models.make("rnn", n_in=2, n_out=1, n_hidden=6, mask=np.eye(6, dtype=bool)).blocks[0].cell
    ident = ns.rules.snap_mask(diag, 1)
    for n in (2, 5):
        assert np.array_equal(ns.rules.snap_mask(diag, n), ident)


def test_tbptt_with_window_longer_than_sequence_is_bptt_and_short_window_is_not():
    model = build("gru")
    params = model.init(0)
    xs, ys = data(model, T=20)
    ref = grad("bptt", model, params, xs, ys)
    assert rel_err(grad("tbptt", model, params, xs, ys, k=20), ref) <= 1e-12
    assert rel_err(grad("tbptt", model, params, xs, ys, k=3), ref) > 1e-3


def test_total_gradient_masks():
    """A (T,) mask of ones is no mask; (T,) and (T, B) forms agree; a mask on late steps only
    equals BPTT of the same loss truncated to those steps (by linearity of Σ_t ℓ_t)."""
    model = build("gru")
    params = model.init(0)
    xs, ys = data(model, T=12)
    rule = ns.rules.make("rtrl")
    full = ns.rules.total_gradient(rule, model, params, xs, ys)
    ones = ns.rules.total_gradient(rule, model, params, xs, ys, mask=np.ones(12))
    assert rel_err(ones, full) <= 1e-14
    m = (np.arange(12) >= 8).astype(float)
    a = ns.rules.total_gradient(rule, model, params, xs, ys, mask=m)
    b = ns.rules.total_gradient(rule, model, params, xs, ys, mask=np.repeat(m[:, None], 3, 1))
    assert rel_err(a, b) <= 1e-14
    early = ns.rules.total_gradient(rule, model, params, xs, ys, mask=1 - m)
    assert rel_err({k: a[k] + early[k] for k in a}, full) <= 1e-12  # the two halves sum to the whole
    assert rel_err(a, full) > 1e-2  # and neither half is the whole

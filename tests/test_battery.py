"""One shared battery runs every registered rule on every model it accepts (optax's
``_common_test`` pattern): shapes and dtypes stable across steps, gradient keys equal to the
parameter keys, no parameter silently left without a gradient (braintrace #178)."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim as ns

MODEL_KW = {
    "rnn": dict(n_in=3, n_out=2, n_hidden=4, n_layers=2),
    "gru": dict(n_in=3, n_out=2, n_hidden=4, n_layers=2),
    "lru": dict(n_in=3, n_out=2, n_hidden=3, width=4, n_layers=2),
    "lif": dict(n_in=3, n_out=2, n_hidden=6, v_th=0.3, n_ref=1),
    "alif": dict(n_in=3, n_out=2, n_hidden=6, n_alif=3, v_th=0.3, n_ref=1, tau_a=50.0, beta=0.1),
}
RULE_OPTS = {"tbptt": {"k": 3}, "snap": {"n": 3}}
CASES = [(r, m, d) for r in ns.rules.RULES for m in MODEL_KW for d in ("float32", "float64")]


def _shapes(tree):
    if isinstance(tree, np.ndarray):
        return (tree.shape, tree.dtype)
    if isinstance(tree, tuple):
        return tuple(_shapes(t) for t in tree)
    return type(tree)


@pytest.mark.parametrize("rule_name,model_name,dtype", CASES)
def test_rule_battery(rule_name, model_name, dtype):
    model = ns.models.make(model_name, dtype=dtype, **MODEL_KW[model_name])
    rule = ns.rules.make(rule_name, **RULE_OPTS.get(rule_name, {}))
    params = model.init(0)
    if not rule.accepts(model):
        with pytest.raises(ValueError, match=f"cannot train model '{model_name}'"):
            rule.init(model, params, 2)
        return
    rng = np.random.default_rng(0)
    state = rule.init(model, params, 2)
    first = _shapes(state.traces)
    total = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(6):
        x = rng.normal(size=(2, 3)) * (3.0 if model_name in ("lif", "alif") else 1.0)
        state, g, loss = rule.step(model, params, state, x, rng.normal(size=(2, 2)))
        assert set(g) == set(params)
        for k, v in g.items():
            assert v.shape == params[k].shape and v.dtype == params[k].dtype, k
            total[k] += v
        assert _shapes(state.traces) == first
        assert np.isfinite(loss)
    _, g = rule.finish(model, params, state)
    for k, v in g.items():
        total[k] += v
    # No parameter silently without a gradient, except what the rule declares it drops.
    dropped = set()
    if rule_name == "spatial":
        dropped = {f"layer{i}.{k}" for i in range(model.n_layers) for k in model.blocks[i].cell.recurrent_params}
    for k, v in total.items():
        if k in dropped:
            assert not np.any(v), k
        else:
            assert np.linalg.norm(v) > 0, f"{rule_name} left {k} without a gradient"

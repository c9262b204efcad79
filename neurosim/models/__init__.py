"""Recurrent models: ``make(name, **options)`` builds a stack (see ``stack.py``).

Names: ``"rnn"`` (vanilla or leaky tanh, optional fixed sparsity), ``"gru"``, ``"lru"``.
Spiking ``"lif"`` / ``"alif"``: one recurrent layer of LIF / ALIF neurons with a leaky readout
(``spiking.py``).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .._errors import bad, check_bool, check_choice, check_float, check_positive_int
from .cells import Cell, GRUCell, LRUCell, RNNCell, is_sparse, jacobians
from .layers import Linear
from .spiking import SpikeCarry, SpikingModel, SpikingState, make_spiking
from .stack import Block, Model, ModelState

__all__ = [
    "make",
    "Model",
    "ModelState",
    "SpikingModel",
    "SpikingState",
    "SpikeCarry",
    "Cell",
    "RNNCell",
    "GRUCell",
    "LRUCell",
    "jacobians",
    "sparse_mask",
]

MODELS = ("rnn", "gru", "lru", "lif", "alif")
SPIKING = ("lif", "alif")
MAX_SIZE = 2**31 - 1  # units or inputs of a layer: index arithmetic stays in int64 (and no chip is near it)
_COMMON = ("n_in", "n_out", "n_hidden", "n_layers", "dtype", "pool")
_LIF = ("tau_v", "tau_out", "v_th", "n_ref", "gamma_pd", "dt", "detach", "readout_bias")
OPTIONS = {  # the options of ``make`` that each model kind takes; any other must keep its default
    "rnn": _COMMON + ("alpha", "density", "mask", "structure_seed", "gain"),
    "gru": _COMMON + ("density", "mask", "structure_seed"),
    "lru": _COMMON + ("width", "r_min", "r_max", "max_phase", "gamma_norm", "mix", "norm", "skip", "encoder"),
    "lif": _COMMON + _LIF,
    "alif": _COMMON + _LIF + ("n_alif", "tau_a", "beta"),
}
_DTYPES = ("float32", "float64")


def sparse_mask(n: int, density: float, seed: int = 0) -> np.ndarray:
    """A fixed random (n, n) structural mask with round(density·n²) nonzeros (at least one)."""
    density = check_float("density", density, 0.0, 1.0, lo_open=True)
    k = max(1, int(round(density * n * n)))
    rng = np.random.default_rng([seed, 7919])
    flat = np.zeros(n * n, bool)
    flat[rng.choice(n * n, size=k, replace=False)] = True
    return flat.reshape(n, n)


def _check_applies(name: str, given: dict) -> None:
    """Refuse an option that ``name`` does not take unless it has its default value."""
    defaults = {k: p.default for k, p in inspect.signature(_make).parameters.items()}
    for key, value in given.items():
        if key == "name" or key in OPTIONS[name]:
            continue
        default = defaults[key]
        same = value is default if default is None or isinstance(value, np.ndarray) else value == default
        if not same:
            kinds = [k for k, opts in OPTIONS.items() if key in opts]
            raise bad(
                key, value, f"only for {', '.join(map(repr, kinds))} models; {name!r} takes {', '.join(OPTIONS[name])}"
            )


def _make(
    name: str,
    n_in: int,
    n_out: int,
    n_hidden: int = 64,
    n_layers: int = 1,
    dtype: str = "float64",
    *,
    width: int | None = None,
    alpha: float = 1.0,
    density: float = 1.0,
    mask=None,
    structure_seed: int = 0,
    gain: float = 1.0,
    r_min: float = 0.0,
    r_max: float = 1.0,
    max_phase: float = 6.28,
    gamma_norm: bool = True,
    mix: str = "glu",
    norm: bool = True,
    skip: bool = True,
    encoder: bool | None = None,
    pool: str = "none",
    n_alif: int | None = None,
    tau_v: float = 20.0,
    tau_a: float = 2000.0,
    tau_out: float = 20.0,
    v_th: float = 0.6,
    beta: float | None = None,
    n_ref: int = 5,
    gamma_pd: float = 0.3,
    dt: float = 1.0,
    detach=(),
    readout_bias: bool = True,
) -> Model | SpikingModel:
    """Build a model.

    Common: ``n_in``, ``n_out``, ``n_hidden`` (units per layer; N complex states for the LRU),
    ``n_layers``, ``dtype`` ("float32" | "float64"), ``pool`` ("none" | "st_mean").
    rnn: ``alpha`` (leak, 1 = vanilla), ``density`` in (0, 1] or an explicit boolean ``mask``
    (n_hidden × n_hidden; a scipy.sparse one stays sparse, so that the budget and the mapper price
    10⁵–10⁶ units without an n × n array) for the recurrent matrix, ``gain``. gru: ``density``/``mask``.
    lru: ``width`` (model width H, default 2·n_hidden), ``r_min``, ``r_max``, ``max_phase``,
    ``gamma_norm``, ``mix`` ("glu" | "mlp" | "none"), ``norm`` (pre-LayerNorm), ``skip``,
    ``encoder`` (linear n_in → H; default True). The defaults reproduce Zucchet et al.'s copy-task
    LRU (r_min 0, r_max 1, full GLU).
    lif / alif (one layer; times in ms): ``n_alif`` (ALIF neurons, the last ones; default all for
    "alif"), ``tau_v``, ``tau_a``, ``tau_out`` (readout leak; 0 = none), ``v_th``, ``beta``
    (default 1.7(1−ρ)/(1−e^{−1/20}), Bellec et al.'s evidence task), ``n_ref``, ``gamma_pd``,
    ``dt``, ``detach`` (gradient paths of z^{t−1} to cut: "recurrent", "reset"), ``readout_bias``. Defaults are the
    evidence-accumulation network of Bellec et al. 2020 (§4.5). ``OPTIONS[name]`` lists the
    options a kind takes; another kind's option (``alpha`` for a GRU, ``n_alif`` for a LIF
    network) must keep its default, or it is refused by name rather than silently ignored.
    """
    given = dict(locals())
    check_choice("name", name, MODELS)
    _check_applies(name, given)
    n_in = check_positive_int("n_in", n_in, maximum=MAX_SIZE)
    n_out = check_positive_int("n_out", n_out, maximum=MAX_SIZE)
    n_hidden = check_positive_int("n_hidden", n_hidden, maximum=MAX_SIZE)
    n_layers = check_positive_int("n_layers", n_layers, maximum=1000)
    try:
        dtype = np.dtype(dtype).name
    except TypeError:
        raise bad("dtype", dtype, "'float32' or 'float64'") from None
    check_choice("dtype", dtype, _DTYPES)
    check_choice("pool", pool, ("none", "st_mean"))
    for arg, value in (("gamma_norm", gamma_norm), ("norm", norm), ("skip", skip), ("readout_bias", readout_bias)):
        check_bool(arg, value)
    check_bool("encoder", encoder, allow_none=True)
    if name in SPIKING:
        if n_layers != 1:
            raise bad("n_layers", n_layers, f"1 for {name!r} (one recurrent spiking layer)")
        if pool != "none":
            raise bad("pool", pool, f"'none' for {name!r} (the readout is already a leaky integrator)")
        return make_spiking(
            name,
            n_in,
            n_out,
            n_hidden,
            dtype,
            n_alif=n_alif,
            tau_v=tau_v,
            tau_a=tau_a,
            tau_out=tau_out,
            v_th=v_th,
            beta=beta,
            n_ref=n_ref,
            gamma_pd=gamma_pd,
            dt=dt,
            detach=detach,
            readout_bias=readout_bias,
        )
    check_float("gain", gain, 0.0, None)
    structure_seed = check_positive_int("structure_seed", structure_seed, minimum=0)
    if mask is None:
        check_float("density", density, 0.0, 1.0, lo_open=True)
        m = None if density == 1.0 else sparse_mask(n_hidden, density, structure_seed)
    elif is_sparse(mask):  # kept sparse (cells._structure): priced without an n × n array
        if mask.shape != (n_hidden, n_hidden) or not (mask.dtype == bool or np.isin(mask.data, (0, 1)).all()):
            raise bad("mask", f"<sparse matrix of shape {mask.shape}, dtype {mask.dtype}>",
                      f"a boolean array of shape ({n_hidden}, {n_hidden})")  # fmt: skip
        m = mask
    else:
        m = np.asarray(mask)
        if m.shape != (n_hidden, n_hidden) or not (m.dtype == bool or np.isin(m, (0, 1)).all()):
            shown = f"<array of shape {m.shape}, dtype {m.dtype}>" if m.ndim else mask
            raise bad("mask", shown, f"a boolean array of shape ({n_hidden}, {n_hidden})")
        m = m.astype(bool)

    blocks: list[Block] = []
    enc = None
    if name == "lru":
        check_choice("mix", mix, ("glu", "mlp", "none"))
        H = check_positive_int("width", 2 * n_hidden if width is None else width, maximum=2 * MAX_SIZE)
        use_enc = True if encoder is None else bool(encoder)
        if not use_enc and n_in != H:
            raise bad("encoder", encoder, f"True unless n_in == width (n_in={n_in}, width={H})")
        enc = Linear(n_in, H) if use_enc else None
        for _ in range(n_layers):
            cell = LRUCell(H, n_hidden, r_min, r_max, max_phase, gamma_norm)
            blocks.append(Block(cell, H, "lru", norm=norm, mix=mix, skip=skip))
    else:
        if width is not None:
            raise bad("width", width, f"None for {name!r} (the width is n_hidden)")
        if encoder:
            raise bad("encoder", encoder, f"None or False for {name!r}")
        m_in = n_in
        for _ in range(n_layers):
            cell = RNNCell(m_in, n_hidden, alpha, m, gain) if name == "rnn" else GRUCell(m_in, n_hidden, m)
            blocks.append(Block(cell, n_hidden, name))
            m_in = n_hidden
    return Model(name, n_in, n_out, blocks, enc, pool, dtype)


@functools.wraps(_make)
def make(*args, **kwargs) -> Model | SpikingModel:
    model = _make(*args, **kwargs)
    bound = inspect.signature(_make).bind(*args, **kwargs)
    bound.apply_defaults()
    opts = bound.arguments
    # what the model was made with (its kind's options, defaults filled in): a run's fingerprint
    model.options = {k: opts[k] for k in ("name",) + OPTIONS[opts["name"]]}
    return model

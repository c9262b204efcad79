"""neurosim's ``online_lru`` training iteration against a jitted JAX implementation of the same step.

The peer is what a user would otherwise write: the same LRU stack (encoder → [LayerNorm → LRU
→ Re(C h) + D u → GELU → GLU → skip] × L → decoder), the same parameters (neurosim's
``model.init`` loaded into JAX), the same per-step rule (Zucchet et al. 2023, §3), the same BCE
loss and the same Adam. It is written here from those equations:

* spatial back-propagation at time t with the recurrences cut: ``jax.grad`` of ℓ_t with respect
  to the non-recurrent parameters and to a zero perturbation of every h^l_t (which gives the
  learning signal δ^l_t = ∂ℓ_t/∂Re h − i ∂ℓ_t/∂Im h); the cell parameters are constants there,
  so no immediate B gradient is formed;
* the traces e^λ ← λ e^λ + h_{t−1}, e^γ ← λ e^γ + B u, E^B ← λ E^B + γ uᵀ and their contraction
  with δ, as in ``neurosim/rules/online_lru.py``.

Before any timing the peer's gradient of one whole sequence is compared with
``ns.rules.total_gradient`` (max over parameters of max|Δ| / max|g_neurosim|); a peer that does
not match is not timed. An iteration is one batch: ``ns.train(..., steps=1)`` for neurosim (rule
state, T rule steps, accumulation, Adam), and for JAX the same batch, T calls of the jitted step
(Python loop, like neurosim's) and a jitted Adam update; "JAX scan" is the whole iteration compiled
as one ``lax.scan`` over time. The two are timed alternately, one iteration each, so that load
from other processes hits both alike; min and median of the repeats are reported.

"One thread" runs in a child process pinned to one CPU (``sched_setaffinity``) with
OPENBLAS/OMP/NUMBA threads = 1 and XLA's intra-op pool off; "all threads" in a child with the
machine's CPUs. Needs ``pip install -e ".[bench]"`` (JAX); without it ``run`` returns no rows.

    python benchmarks/bench_jax.py [--sizes quickstart,large] [--threads all,one] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = {  # the quickstart (neurosim/config.py) and a 4-layer width-256 stack, both batch 32
    "quickstart": {"n_hidden": 64, "width": 64, "n_layers": 2, "pattern_len": 20, "batch": 32},
    "large": {"n_hidden": 256, "width": 256, "n_layers": 4, "pattern_len": 96, "batch": 32},
}
ONE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
GRAD_FACTOR, GRAD_FLOOR = 4.0, 1e-5  # the peer may be 4× as far from float64 as neurosim is (rounding)


def build(size: str):
    """(model, rule, task, optimizer, batch) of neurosim for a named size."""
    import neurosim as ns

    s = SIZES[size]
    task = ns.tasks.make("copy", pattern_len=s["pattern_len"])
    model = ns.models.make(
        "lru", task.n_in, task.n_out, s["n_hidden"], s["n_layers"], "float32", width=s["width"]
    )  # defaults: LayerNorm, GLU, skip, encoder: the quickstart's model
    opt = ns.optim.adam(3e-3, rec_lr_factor=0.5)
    return model, ns.rules.make("online_lru"), task, opt, s["batch"]


# --------------------------------------------------------------------------------------------
# The JAX peer
def jax_peer(model, opt):
    """Jitted functions of the peer for ``model`` (an lru stack as ``build`` makes it)."""
    import jax
    import jax.numpy as jnp

    b0 = model.blocks[0]
    if not (model.encoder and b0.norm and b0.skip and type(b0.mix).__name__ == "GLU" and model.pool == "none"):
        raise ValueError("the JAX peer implements the quickstart's block (encoder, norm, GLU, skip, no pool)")
    L = model.n_layers
    cell_keys = [model.cell_param_names(i) for i in range(L)]
    is_cell = {k for ks in cell_keys for k in ks}
    c_gelu = float(jnp.sqrt(2.0 / jnp.pi))

    def lin(x, p, pre):
        return x @ p[pre + "W"].T + p[pre + "b"]

    def layer_norm(x, g, b):
        xc = x - x.mean(-1, keepdims=True)
        return xc * jax.lax.rsqrt((xc * xc).mean(-1, keepdims=True) + 1e-5) * g + b

    def lam_gam(cp, i):
        pre = f"layer{i}."
        lam = jnp.exp(-jnp.exp(cp[pre + "nu_log"]) + 1j * jnp.exp(cp[pre + "theta_log"]))
        return lam, jnp.exp(cp[pre + "gamma_log"])

    def loss_t(other, eps, cp, hs, x, y_t, m_t):
        """ℓ_t with h_{t−1} fixed and h^l_t + eps^l; aux: the new states and (u, B u) per layer."""
        x = lin(x, other, "enc.")
        new_h, aux = [], []
        for i in range(L):
            pre = f"layer{i}."
            u = layer_norm(x, other[pre + "norm.g"], other[pre + "norm.b"])
            lam, gam = lam_gam(cp, i)
            bu = u @ cp[pre + "B_re"].T + 1j * (u @ cp[pre + "B_im"].T)
            h = lam * hs[i] + gam * bu + (eps[i][0] + 1j * eps[i][1])
            y = h.real @ other[pre + "C_re"].T - h.imag @ other[pre + "C_im"].T + other[pre + "D"] * u
            a = 0.5 * y * (1 + jnp.tanh(c_gelu * (y + 0.044715 * y * y * y)))
            m = (a @ other[pre + "mix.W1"].T + other[pre + "mix.b1"]) * jax.nn.sigmoid(
                a @ other[pre + "mix.W2"].T + other[pre + "mix.b2"]
            )
            x = x + m
            new_h.append(h)
            aux.append((u, bu))
        out = lin(x, other, "dec.")
        per = (jax.nn.softplus(out) - y_t * out).mean(-1)
        return (m_t / out.shape[0] * per).sum(), (new_h, aux)

    grad_fn = jax.grad(loss_t, argnums=(0, 1), has_aux=True)

    def step(params, state, acc, x, y_t, m_t):
        hs, traces = state
        other = {k: v for k, v in params.items() if k not in is_cell}
        cp = {k: v for k, v in params.items() if k in is_cell}
        eps = [(jnp.zeros(h.shape, jnp.float32), jnp.zeros(h.shape, jnp.float32)) for h in hs]
        (g_other, g_eps), (new_h, aux) = grad_fn(other, eps, cp, hs, x, y_t, m_t)
        acc = {k: acc[k] + g_other[k] if k in g_other else acc[k] for k in acc}
        new_traces = []
        for i in range(L):
            pre = f"layer{i}."
            lam, gam = lam_gam(cp, i)
            u, bu = aux[i]
            e_lam, e_gam, E_B = traces[i]
            delta = g_eps[i][0] - 1j * g_eps[i][1]
            e_lam = lam * e_lam + hs[i]
            e_gam = lam * e_gam + bu
            E_B = lam[None, :, None] * E_B + gam[None, :, None] * u[:, None, :]
            dw = (delta * e_lam).sum(0) * lam
            dB = jnp.einsum("bn,bnh->nh", delta, E_B)
            acc[pre + "nu_log"] += -jnp.exp(cp[pre + "nu_log"]) * dw.real
            acc[pre + "theta_log"] += -jnp.exp(cp[pre + "theta_log"]) * dw.imag
            acc[pre + "gamma_log"] += gam * (delta * e_gam).sum(0).real
            acc[pre + "B_re"] += dB.real
            acc[pre + "B_im"] += -dB.imag
            new_traces.append((e_lam, e_gam, E_B))
        return (new_h, new_traces), acc

    groups = model.param_groups()

    def adam(params, m, v, count, grads):
        t = count + 1
        new_p, new_m, new_v = {}, {}, {}
        for k, p in params.items():
            g = grads[k]
            new_m[k] = opt.b1 * m[k] + (1 - opt.b1) * g
            new_v[k] = opt.b2 * v[k] + (1 - opt.b2) * g * g
            mhat = new_m[k] / (1 - opt.b1**t)
            vhat = new_v[k] / (1 - opt.b2**t)
            lr = opt.lr * (opt.rec_lr_factor if groups[k] == "recurrent" else 1.0)
            new_p[k] = p - lr * mhat / (jnp.sqrt(vhat) + opt.eps)
        return new_p, new_m, new_v, t

    def init_state(batch):
        ct = jnp.complex64
        hs = [jnp.zeros((batch, b.cell.N), ct) for b in model.blocks]
        tr = [
            (
                jnp.zeros((batch, b.cell.N), ct),
                jnp.zeros((batch, b.cell.N), ct),
                jnp.zeros((batch, b.cell.N, b.width), ct),
            )
            for b in model.blocks
        ]
        return hs, tr

    def sequence(params, acc, xs, ys, mask):
        """The whole sequence as one lax.scan (a compiled loop over time)."""

        def body(carry, inp):
            state, acc = carry
            state, acc = step(params, state, acc, *inp)
            return (state, acc), None

        (_, acc), _ = jax.lax.scan(body, (init_state(xs.shape[1]), acc), (xs, ys, mask))
        return acc

    jstep = jax.jit(step, donate_argnums=(1, 2))
    jadam = jax.jit(adam, donate_argnums=(1, 2))
    jseq = jax.jit(sequence, donate_argnums=(1,))
    return {"init_state": init_state, "step": jstep, "adam": jadam, "sequence": jseq}


def _zeros_like(params):
    import jax.numpy as jnp

    return {k: jnp.zeros_like(v) for k, v in params.items()}


def jax_gradient(peer, params, batch, scan: bool = False) -> dict:
    """The peer's gradient of one sequence (summed over time), as numpy arrays."""
    import jax.numpy as jnp
    import numpy as np

    xs, ys, mask = (jnp.asarray(a, jnp.float32) for a in (batch.xs, batch.ys, batch.mask))
    acc = _zeros_like(params)
    if scan:
        acc = peer["sequence"](params, acc, xs, ys, mask)
    else:
        state = peer["init_state"](xs.shape[1])
        for t in range(xs.shape[0]):
            state, acc = peer["step"](params, state, acc, xs[t], ys[t], mask[t])
    return {k: np.asarray(v) for k, v in acc.items()}


def max_rel_error(g: dict, ref: dict) -> float:
    """max over parameters of max|g − ref| / max|ref| (a parameter whose gradient is exactly 0 in
    both, e.g. the encoder's W on the copy task, whose inputs are 0 wherever the loss is, counts 0;
    any non-finite entry counts inf)."""
    import numpy as np

    errs = []
    for k in ref:
        d = float(np.abs(g[k] - ref[k]).max())
        errs.append(d / max(float(np.abs(ref[k]).max()), 1e-30) if np.isfinite(d) else np.inf)
    return max(errs)


def jax_iteration(peer, params, opt_state, task, batch_size: int, scan: bool):
    """One training iteration of the peer (batch, T steps or one scan, Adam); blocks until done."""
    import jax
    import jax.numpy as jnp

    batch = task.batch(0, batch_size)
    xs, ys, mask = (jnp.asarray(a, jnp.float32) for a in (batch.xs, batch.ys, batch.mask))
    acc = _zeros_like(params)
    if scan:
        acc = peer["sequence"](params, acc, xs, ys, mask)
    else:
        state = peer["init_state"](batch_size)
        for t in range(xs.shape[0]):
            state, acc = peer["step"](params, state, acc, xs[t], ys[t], mask[t])
    m, v, count = opt_state
    params, m, v, count = peer["adam"](params, m, v, count, acc)
    jax.block_until_ready(params)
    return params, (m, v, count)


def grad_check(size: str, model, rule, task, params, batch, peer) -> dict:
    """The peer's gradient of one sequence against neurosim's, both float32, and both against
    neurosim in float64 (same parameters): rounding, not a formula, must explain the difference.
    Control: neurosim's ``trunc1`` (no temporal credit) must be far from the float64 gradient."""
    import jax.numpy as jnp
    import numpy as np

    import neurosim as ns

    run = lambda r, m, p: ns.rules.total_gradient(r, m, p, batch.xs, batch.ys, loss=task.loss, mask=batch.mask)  # noqa: E731
    ref32 = run(rule, model, params)
    s = SIZES[size]
    m64 = ns.models.make("lru", model.n_in, model.n_out, s["n_hidden"], s["n_layers"], "float64", width=s["width"])
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    ref64 = run(rule, m64, p64)
    jp = {k: jnp.asarray(v) for k, v in params.items()}
    g_step, g_scan = jax_gradient(peer, jp, batch), jax_gradient(peer, jp, batch, scan=True)
    out = {
        "grad_rel_err": max(max_rel_error(g_step, ref32), max_rel_error(g_scan, ref32)),
        "jax_vs_f64": max(max_rel_error(g_step, ref64), max_rel_error(g_scan, ref64)),
        "neurosim_vs_f64": max_rel_error(ref32, ref64),
        "control_vs_f64": max_rel_error(run(ns.rules.make("trunc1"), model, params), ref64),
    }
    tol = max(GRAD_FACTOR * out["neurosim_vs_f64"], GRAD_FLOOR)
    if out["jax_vs_f64"] > tol:
        out["error"] = f"JAX peer is {out['jax_vs_f64']:.2e} from the float64 gradient > {tol:.2e}"
    elif out["control_vs_f64"] <= tol:
        out["error"] = f"the check cannot fail: trunc1 is within {tol:.2e} of the float64 gradient"
    return out


def measure(size: str, repeats: int) -> dict:
    """Gradient check, then alternate timed iterations of neurosim, JAX (step) and JAX (scan)."""
    import numpy as np

    import neurosim as ns

    model, rule, task, opt, B = build(size)
    params = model.init(0)

    import jax
    import jax.numpy as jnp

    peer = jax_peer(model, opt)
    row = {"size": size, "T": task.T, "batch": B, "threads": len(os.sched_getaffinity(0))}
    row.update(grad_check(size, model, rule, task, params, task.batch(0, B), peer))
    if "error" in row:
        return row
    jparams = {k: jnp.asarray(v) for k, v in params.items()}
    p_ns = params
    states = {s: (jparams, (_zeros_like(jparams), _zeros_like(jparams), 0)) for s in (False, True)}
    times = {"neurosim": [], "jax_step": [], "jax_scan": []}
    for r in range(repeats + 1):  # the first round compiles / warms up and is dropped
        t0 = time.perf_counter()
        p_ns = ns.train(model, rule, task, opt, steps=1, batch_size=B, params=p_ns, progress=False).params
        t1 = time.perf_counter()
        for scan, name in ((False, "jax_step"), (True, "jax_scan")):
            t2 = time.perf_counter()
            states[scan] = jax_iteration(peer, *states[scan], task, B, scan)
            t3 = time.perf_counter()
            if r:
                times[name].append(t3 - t2)
        if r:
            times["neurosim"].append(t1 - t0)
    for k, ts in times.items():
        row[f"{k}_min_s"] = float(np.min(ts))
        row[f"{k}_median_s"] = float(np.median(ts))
    row["jax_version"] = jax.__version__
    return row


def _child(size: str, threads: str, repeats: int) -> None:
    if threads == "one":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(json.dumps({**measure(size, repeats), "mode": threads}), flush=True)


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("jax") is not None


REPEATS = {"quickstart": 7, "large": 3}  # timed iterations per size (one more is dropped as warm-up)


def run(sizes=("quickstart", "large"), threads=("all", "one"), repeats: int | None = None) -> list[dict]:
    """One child process per (threads, size); returns their rows (none without JAX)."""
    if not available():
        print("bench_jax: JAX is not installed (pip install -e '.[bench]'); skipped", flush=True)
        return []
    rows = []
    for th in threads:
        for size in sizes:
            env = dict(os.environ, **(ONE_THREAD_ENV if th == "one" else {}))
            cmd = [sys.executable, __file__, "--child", size, th, str(repeats or REPEATS[size])]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode:
                rows.append({"size": size, "mode": th, "error": out.stderr.strip().splitlines()[-1]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            _print(rows[-1])
    return rows


def _print(r: dict) -> None:
    if "error" in r:
        print(f"{r['size']:10s} {r['mode']:3s} threads: {r['error']}", flush=True)
        return
    ns_, js, sc = (r[f"{k}_min_s"] for k in ("neurosim", "jax_step", "jax_scan"))
    print(
        f"{r['size']:10s} {r['mode']:3s} threads: neurosim {ns_ * 1e3:8.1f} ms  JAX step {js * 1e3:8.1f} ms  "
        f"JAX scan {sc * 1e3:8.1f} ms  (min of repeats)  neurosim/JAX {ns_ / js:5.2f}  "
        f"grad rel err {r['grad_rel_err']:.1e}",
        flush=True,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="quickstart,large")
    ap.add_argument("--threads", default="all,one")
    ap.add_argument("--repeats", type=int, default=None, help="timed iterations (default: REPEATS per size)")
    ap.add_argument("--child", nargs=3, metavar=("SIZE", "THREADS", "REPEATS"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(a.child[0], a.child[1], int(a.child[2]))
        return 0
    run(tuple(a.sizes.split(",")), tuple(a.threads.split(",")), a.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Mapper quality on two networks, per method: cores used and packet-hops per step.

* ``sheet``: a 64 × 64 sheet of neurons, each with ~100 outgoing synapses drawn with a Gaussian
  distance profile (σ = 3 sites), neuron ids shuffled — a structured network whose structure
  the ids hide. Priced as one ``rnn`` layer whose structural mask is the sheet (``mapping.as_model``).
* ``rnn``: a 1000-unit RNN at density 0.1 (random, unstructured).

Both under ``snap1`` (its per-parameter traces sit in the synapse memory with the weights) on
Loihi (4 cores per tile), and on a what-if Loihi with one core per tile (every core pair is at
least one hop apart, so placement shows), activity uniform. Run:
``python benchmarks/bench_mapping.py [--quick]``. Prints a Markdown table; every layout is
checked by the independent validator first.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

import neurosim as ns
import neurosim.mapping as nm


def sheet(side: int = 64, per: int = 100, sigma: float = 3.0, seed: int = 0) -> nm.Graph:
    rng = np.random.default_rng(seed)
    n = side * side
    xy = np.stack(np.divmod(np.arange(n), side), 1)
    perm = rng.permutation(n)  # id of grid site i is perm[i]
    r = int(4 * sigma)
    off = np.array([(dx, dy) for dx in range(-r, r + 1) for dy in range(-r, r + 1) if (dx, dy) != (0, 0)])
    w = np.exp(-(off**2).sum(1) / (2 * sigma**2))
    rows = [[] for _ in range(n)]
    for i in range(n):
        t = xy[i] + off
        ok = ((t >= 0) & (t < side)).all(1)
        p = w[ok] / w[ok].sum()
        pick = rng.choice(np.flatnonzero(ok), size=min(per, ok.sum()), replace=False, p=p)
        rows[perm[i]] = np.sort(perm[t[pick, 0] * side + t[pick, 1]])
    indptr = np.concatenate([[0], np.cumsum([len(x) for x in rows])])
    proj = nm.Projection(0, 0, indptr.astype(np.int64), np.concatenate(rows).astype(np.int64))
    return nm.Graph((("sheet", n),), (proj,))


# --- scale (issue 12: 10k, 100k and 1M units, ~100 synapses each) --------------------------------
def _graph(n: int, src: np.ndarray, dst: np.ndarray, shuffle: bool, seed: int) -> nm.Graph:
    """A one-group graph from (src, dst) pairs (self-pairs and repeats dropped), ids optionally
    shuffled as an imported network's often are."""
    if shuffle:
        perm = np.random.default_rng([seed, 1]).permutation(n)
        src, dst = perm[src], perm[dst]
    keep = src != dst
    key = nm.graph.unique(src[keep] * n + dst[keep])
    s, d = key // n, key % n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(s, minlength=n))]).astype(np.int64)
    return nm.Graph((("net", n),), (nm.Projection(0, 0, indptr, d.astype(np.int64)),))


def random_sparse(n: int, per: int = 100, seed: int = 0, shuffle: bool = False) -> nm.Graph:
    """Each unit reaches ``per`` units drawn uniformly (no structure to find)."""
    rng = np.random.default_rng(seed)
    src = np.repeat(np.arange(n, dtype=np.int64), per)
    return _graph(n, src, rng.integers(0, n, src.size), shuffle, seed)


def sheet_fast(n: int, per: int = 100, sigma: float = 3.0, seed: int = 0, shuffle: bool = True) -> nm.Graph:
    """A √n × √n sheet, each unit reaching ~``per`` sites at Gaussian offsets (σ sites), drawn
    at once (out-of-sheet and repeated draws dropped): ``sheet`` vectorised for 10⁵–10⁶ units."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n)))
    n = side * side
    draw = int(per * 1.25)
    src = np.repeat(np.arange(n, dtype=np.int64), draw)
    x, y = np.divmod(src, side)
    tx = x + np.rint(rng.normal(0, sigma, src.size)).astype(np.int64)
    ty = y + np.rint(rng.normal(0, sigma, src.size)).astype(np.int64)
    ok = (tx >= 0) & (tx < side) & (ty >= 0) & (ty < side)
    return _graph(n, src[ok], tx[ok] * side + ty[ok], shuffle, seed)


def small_world(n: int, per: int = 100, p: float = 0.1, seed: int = 0, shuffle: bool = True) -> nm.Graph:
    """Watts–Strogatz: a ring, each unit reaching its ``per`` nearest neighbours (half on each
    side), each synapse rewired to a uniform target with probability ``p``."""
    rng = np.random.default_rng(seed)
    half = per // 2
    off = np.concatenate([np.arange(-half, 0), np.arange(1, half + 1)])
    src = np.repeat(np.arange(n, dtype=np.int64), off.size)
    dst = (src + np.tile(off, n)) % n
    rew = rng.random(src.size) < p
    dst[rew] = rng.integers(0, n, int(rew.sum()))
    return _graph(n, src, dst, shuffle, seed)


def rnn(n: int = 1000, density: float = 0.1):
    return ns.models.make("rnn", n_in=4, n_out=2, n_hidden=n, density=density)


def one_core_per_tile():
    import tomllib

    data = tomllib.loads((ns.hardware.profile.PROFILE_DIR / "loihi.toml").read_text())
    data["chip"]["cores_per_tile"]["value"] = 1
    return ns.hardware.parse(data, "loihi, 1 core per tile")


def run(quick: bool = False) -> dict:
    """Every method on every network and chip: one row each (validated first)."""
    rule = ns.rules.make("snap1")
    nets = {"sheet": sheet(32 if quick else 64), "rnn": rnn(300 if quick else 1000)}
    rows = []
    for (name, net), (chip, profile) in itertools.product(
        nets.items(), (("loihi", ns.hardware.load_profile("loihi")), ("loihi 1/tile", one_core_per_tile()))
    ):
        model = nm.as_model(net) if isinstance(net, nm.Graph) else net
        graph = net if isinstance(net, nm.Graph) else None
        for method in nm.METHODS[1:] + ("auto",):
            t = time.perf_counter()
            res = nm.map_network(net, profile, rule=rule, method=method, seed=0)
            dt = time.perf_counter() - t
            nm.validate(res.layout, model, profile, rule, graph=graph)
            r = res.report
            rows.append({"chip": chip, "network": name, "method": method, "seconds": dt,
                         **{k: r[k] for k in ("cores_used", "packets_per_step", "packet_hops_per_step",
                                              "mean_hops", "max_link_load")}})  # fmt: skip
    return {"quick": quick, "rows": rows}


def table(data: dict) -> list[str]:
    out = [
        "| chip | network | method | cores | packets/step | packet-hops/step | mean hops | max link load | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data["rows"]:
        out.append(
            f"| {r['chip']} | {r['network']} | {r['method']} | {r['cores_used']} | {r['packets_per_step']:.0f} | "
            f"{r['packet_hops_per_step']:.0f} | {r['mean_hops']:.2f} | {r['max_link_load']:.0f} | {r['seconds']:.1f} |"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 32 × 32 sheet and a 300-unit RNN")
    print("\n".join(table(run(ap.parse_args().quick))))


if __name__ == "__main__":
    main()

"""The mapper's inner loops, compiled (numba): k-way λ − 1 refinement and heavy-edge matching.

Both were numpy-per-vertex loops whose cost grew with the number of cores (``refine``: a
(degree × k) pin-count block per vertex, and a dense (edges × k) count matrix) or with the number
of vertices (``_match``: a bincount of length n per vertex, O(n²) per level). Here each vertex
costs the pins of its incident hyperedges, Σ_{e ∋ v} |e|, and nothing of size k or n is touched
per vertex: at 10⁵ units with ~100 synapses each a refinement pass is about a second.

The decisions are the numpy versions' own (``tests/test_mapping_scale.py`` holds them as the
oracle): the same visiting order (passed in), the same gains, the same tie-breaks (lowest core
id; in matching the stable order of decreasing rating), the same capacity tests.

**Gain.** Moving v from core a to core b changes the connectivity by
    Σ_{e ∋ v} r_e ([cnt(e, a) = 1] − [cnt(e, b) = 0]) = A − R + S(b),
with A = Σ r_e [v is e's only pin on a], R = Σ_{e ∋ v} r_e and S(b) = Σ r_e [e has a pin on b]:
only cores with S(b) > 0 — those some incident hyperedge already reaches — can gain, so the
candidates are collected from the pins while they are counted.
"""

from __future__ import annotations

import numpy as np

from ..hardware.events import _njit


@_njit
def refine_pass(order, part, ptr, pins, inc_ptr, inc, rate, cost, layer, fixed, cap, load, lay_cnt):
    """One pass of greedy positive-gain moves over ``order`` (updates ``part``, ``load``,
    ``lay_cnt`` in place); returns the number of moves."""
    k = load.shape[0]
    n_r = load.shape[1]
    S = np.zeros(k)
    seen = np.full(k, -1, np.int64)  # the edge that last marked a core (one mark per edge)
    touched = np.empty(k, np.int64)
    extra = np.empty(n_r)
    moved = 0
    for v in order:
        a = part[v]
        n_t = 0
        A = 0.0
        R = 0.0
        for q in range(inc_ptr[v], inc_ptr[v + 1]):
            e = inc[q]
            w = rate[e]
            R += w
            on_a = 0
            for p in range(ptr[e], ptr[e + 1]):
                b = part[pins[p]]
                if b == a:
                    on_a += 1
                elif seen[b] != e:
                    if S[b] == 0.0 and seen[b] < 0:
                        touched[n_t] = b
                        n_t += 1
                    seen[b] = e
                    S[b] += w
            if on_a == 1:
                A += w
        best = -1
        best_gain = 0.0
        lv = layer[v]
        for i in range(n_t):
            b = touched[i]
            g = A - R + S[b]
            if g > 1e-12 and (best < 0 or g > best_gain or (g == best_gain and b < best)):
                ok = True
                new_layer = lay_cnt[b, lv] == 0
                for r in range(n_r):
                    x = cost[v, r] + (fixed[lv, r] if new_layer else 0.0)
                    if not load[b, r] + x <= cap[r]:
                        ok = False
                        break
                if ok:
                    best = b
                    best_gain = g
        for i in range(n_t):  # reset the scratch for the next vertex
            S[touched[i]] = 0.0
            seen[touched[i]] = -1
        if best < 0:
            continue
        b = best
        new_layer = lay_cnt[b, lv] == 0
        for r in range(n_r):
            extra[r] = cost[v, r] + (fixed[lv, r] if new_layer else 0.0)
            load[b, r] += extra[r]
        part[v] = b
        lay_cnt[b, lv] += 1
        lay_cnt[a, lv] -= 1
        gone = lay_cnt[a, lv] == 0
        for r in range(n_r):
            load[a, r] -= cost[v, r] + (fixed[lv, r] if gone else 0.0)
        moved += 1
    return moved


@_njit
def match(order, ptr, pins, inc_ptr, inc, score_e, cost, limit, top):
    """Heavy-edge matching (``multilevel._match``): the cluster of each vertex."""
    n_v = cost.shape[0]
    n_r = cost.shape[1]
    cl = np.full(n_v, -1, np.int64)
    score = np.zeros(n_v)
    mark = np.zeros(n_v, np.bool_)
    touched = np.empty(n_v, np.int64)
    n_c = 0
    for v in order:
        if cl[v] >= 0:
            continue
        n_t = 0
        for q in range(inc_ptr[v], inc_ptr[v + 1]):
            e = inc[q]
            s = score_e[e]
            for p in range(ptr[e], ptr[e + 1]):
                u = pins[p]
                if not mark[u]:
                    mark[u] = True
                    touched[n_t] = u
                    n_t += 1
                score[u] += s
        best = -1
        # candidates: touched vertices other than v, unmatched, with a positive rating, in
        # decreasing rating, ties by increasing id (a stable argsort of −score), the first ``top``
        cand = np.empty(n_t, np.int64)
        n_cand = 0
        for i in range(n_t):
            u = touched[i]
            if u != v and cl[u] < 0 and score[u] > 0:
                cand[n_cand] = u
                n_cand += 1
        cand = cand[:n_cand]
        if n_cand:
            ids = np.sort(cand)  # by (−score, id): ids in order, then a stable sort on −score
            keys = np.empty(n_cand)
            for i in range(n_cand):
                keys[i] = -score[ids[i]]
            ranked = ids[np.argsort(keys, kind="mergesort")]
            for i in range(min(top, n_cand)):
                u = ranked[i]
                ok = True
                for r in range(n_r):
                    if not cost[u, r] + cost[v, r] <= limit[r]:
                        ok = False
                        break
                if ok:
                    best = u
                    break
        for i in range(n_t):
            u = touched[i]
            score[u] = 0.0
            mark[u] = False
        cl[v] = n_c
        if best >= 0:
            cl[best] = n_c
        n_c += 1
    return cl

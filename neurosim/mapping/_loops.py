"""The mapper's inner loops, compiled (numba): k-way λ − 1 refinement and heavy-edge matching.

Both were numpy-per-vertex loops whose cost grew with the number of cores (``refine``: a
(degree × k) pin-count block per vertex, and a dense (edges × k) count matrix) or with the number
of vertices (``_match``: a bincount of length n per vertex, O(n²) per level). Here nothing of
size k or n is touched per vertex: refinement keeps each hyperedge's connectivity set (the cores
it spans, with its pins on each: Λ(e) and Φ(e, ·), FM's bookkeeping) and a vertex costs
Σ_{e ∋ v} λ(e); matching costs the pins of the vertex's hyperedges, Σ_{e ∋ v} |e|.

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
def connectivity_sets(part, ptr, pins):
    """Per hyperedge e, the cores its pins lie on and how many pins on each (Λ(e) and Φ(e, ·)),
    stored in ``pins``' layout: ``blocks[ptr[e] : ptr[e] + size[e]]``, ``counts`` beside it
    (λ(e) ≤ |e|, so the room is always there)."""
    n_e = ptr.size - 1
    blocks = np.empty(pins.size, np.int64)
    counts = np.zeros(pins.size, np.int64)
    size = np.zeros(n_e, np.int64)
    for e in range(n_e):
        base = ptr[e]
        for p in range(ptr[e], ptr[e + 1]):
            b = part[pins[p]]
            found = False
            for i in range(base, base + size[e]):
                if blocks[i] == b:
                    counts[i] += 1
                    found = True
                    break
            if not found:
                blocks[base + size[e]] = b
                counts[base + size[e]] = 1
                size[e] += 1
    return blocks, counts, size


@_njit
def _scan(v, a, ptr, inc_ptr, inc, rate, blocks, counts, size, S, mark, touched):
    """(n_t, A, R) of vertex v on core a (module docstring, "Gain"): S(b) accumulated for the
    ``n_t`` cores in ``touched`` (marked in ``mark``); the caller resets them with ``_reset``."""
    n_t = 0
    A = 0.0
    R = 0.0
    for q in range(inc_ptr[v], inc_ptr[v + 1]):
        e = inc[q]
        w = rate[e]
        R += w
        for i in range(ptr[e], ptr[e] + size[e]):
            b = blocks[i]
            if b == a:
                if counts[i] == 1:
                    A += w
            else:
                if not mark[b]:
                    mark[b] = True
                    touched[n_t] = b
                    n_t += 1
                S[b] += w
    return n_t, A, R


@_njit
def _reset(n_t, S, mark, touched):
    for i in range(n_t):
        S[touched[i]] = 0.0
        mark[touched[i]] = False


@_njit
def _fits(v, b, lv, cost, fixed, cap, load, lay_cnt):
    """Core b's linear-model load stays within every region with v on it."""
    new_layer = lay_cnt[b, lv] == 0
    for r in range(load.shape[1]):
        x = cost[v, r] + (fixed[lv, r] if new_layer else 0.0)
        if not load[b, r] + x <= cap[r]:
            return False
    return True


@_njit
def _best(v, lv, n_t, touched, A, R, S, positive, cost, fixed, cap, load, lay_cnt):
    """Among the ``n_t`` touched cores with room for v, the one with the best gain A − R + S(b)
    (ties: the lowest id); ``positive``: only a gain above 0. −1 when none."""
    best = -1
    best_gain = 0.0
    for i in range(n_t):
        b = touched[i]
        g = A - R + S[b]
        if positive and not g > 1e-12:
            continue
        if best < 0 or g > best_gain or (g == best_gain and b < best):
            if _fits(v, b, lv, cost, fixed, cap, load, lay_cnt):
                best = b
                best_gain = g
    return best


@_njit
def _move(v, a, b, lv, ptr, inc_ptr, inc, cost, fixed, load, lay_cnt, part, blocks, counts, size):
    """v from core a to core b: loads, layer counts and the connectivity sets updated."""
    n_r = load.shape[1]
    new_layer = lay_cnt[b, lv] == 0
    for r in range(n_r):
        load[b, r] += cost[v, r] + (fixed[lv, r] if new_layer else 0.0)
    part[v] = b
    lay_cnt[b, lv] += 1
    lay_cnt[a, lv] -= 1
    gone = lay_cnt[a, lv] == 0
    for r in range(n_r):
        load[a, r] -= cost[v, r] + (fixed[lv, r] if gone else 0.0)
    for q in range(inc_ptr[v], inc_ptr[v + 1]):  # Φ(e, a) − 1, Φ(e, b) + 1
        e = inc[q]
        base = ptr[e]
        end = base + size[e]
        for i in range(base, end):
            if blocks[i] == a:
                counts[i] -= 1
                if counts[i] == 0:  # a leaves Λ(e): the last entry takes its place
                    blocks[i] = blocks[end - 1]
                    counts[i] = counts[end - 1]
                    size[e] -= 1
                    end -= 1
                break
        found = False
        for i in range(base, end):
            if blocks[i] == b:
                counts[i] += 1
                found = True
                break
        if not found:
            blocks[end] = b
            counts[end] = 1
            size[e] += 1


@_njit
def refine_pass(order, part, ptr, inc_ptr, inc, rate, cost, layer, fixed, cap, load, lay_cnt, blocks, counts, size):
    """One pass of greedy positive-gain moves over ``order`` (updates ``part``, ``load``,
    ``lay_cnt`` and the connectivity sets in place); returns the number of moves. A vertex
    costs Σ_{e ∋ v} λ(e): the candidates and S(b) come from its edges' connectivity sets."""
    k = load.shape[0]
    S = np.zeros(k)
    mark = np.zeros(k, np.bool_)
    touched = np.empty(k, np.int64)
    moved = 0
    for v in order:
        a = part[v]
        n_t, A, R = _scan(v, a, ptr, inc_ptr, inc, rate, blocks, counts, size, S, mark, touched)
        lv = layer[v]
        best = _best(v, lv, n_t, touched, A, R, S, True, cost, fixed, cap, load, lay_cnt)
        _reset(n_t, S, mark, touched)
        if best < 0:
            continue
        _move(v, a, best, lv, ptr, inc_ptr, inc, cost, fixed, load, lay_cnt, part, blocks, counts, size)
        moved += 1
    return moved


@_njit
def evict_pass(members, c, part, ptr, inc_ptr, inc, rate, cost, layer, fixed, cap, load, lay_cnt, blocks, counts,
               size):  # fmt: skip
    """Move every vertex of ``members`` (all on core c) off c: each to the core with the best
    gain A − R + S(b) (any sign; ties: lowest core id) among those its hyperedges reach and that
    have room, else to the core with the most room (the largest least-free fraction over the
    regions) of all those that take it. Returns how many found no core (then stopped: the caller
    discards the partition)."""
    k = load.shape[0]
    n_r = load.shape[1]
    S = np.zeros(k)
    mark = np.zeros(k, np.bool_)
    touched = np.empty(k, np.int64)
    for m in range(members.size):
        v = members[m]
        n_t, A, R = _scan(v, c, ptr, inc_ptr, inc, rate, blocks, counts, size, S, mark, touched)
        lv = layer[v]
        best = _best(v, lv, n_t, touched, A, R, S, False, cost, fixed, cap, load, lay_cnt)
        _reset(n_t, S, mark, touched)
        if best < 0:
            most = -1.0
            for b in range(k):
                if b == c or not _fits(v, b, lv, cost, fixed, cap, load, lay_cnt):
                    continue
                free = 1.0
                for r in range(n_r):
                    if cap[r] > 0:
                        free = min(free, (cap[r] - load[b, r]) / cap[r])
                if free > most:
                    most = free
                    best = b
        if best < 0:
            return members.size - m
        _move(v, c, best, lv, ptr, inc_ptr, inc, cost, fixed, load, lay_cnt, part, blocks, counts, size)
    return 0


@_njit
def match_into(order, ptr, pins, inc_ptr, inc, score_e, cost, limit, top, cl, score, mark, touched, n_c):
    """Heavy-edge matching (``multilevel._match``) over ``order`` into ``cl`` (−1: unmatched),
    clusters numbered from ``n_c``, with the caller's scratch (``score`` zero, ``mark`` false, as
    it leaves them): a matching visited in chunks equals one visited at once. Returns the next
    cluster number."""
    n_r = cost.shape[1]
    top_s = np.empty(max(top, 1))
    top_u = np.empty(max(top, 1), np.int64)
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
        # decreasing rating, ties by increasing id; the first ``top`` of that order, kept by
        # insertion (a vertex of a random graph touches ~10⁴ others: sorting them all cost 20 s
        # a level at 10⁵ units)
        k = 0
        for i in range(n_t):
            u = touched[i]
            s = score[u]
            if u == v or cl[u] >= 0 or not s > 0:
                continue
            if k == top and not (s > top_s[k - 1] or (s == top_s[k - 1] and u < top_u[k - 1])):
                continue
            if k < top:
                k += 1
            j = k - 1
            while j > 0 and (s > top_s[j - 1] or (s == top_s[j - 1] and u < top_u[j - 1])):
                top_s[j] = top_s[j - 1]
                top_u[j] = top_u[j - 1]
                j -= 1
            top_s[j] = s
            top_u[j] = u
        for i in range(k):
            u = top_u[i]
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
    return n_c


@_njit
def incidence(ptr, pins, n_v):
    """The hyperedges of each vertex in increasing edge order (CSR ``inc_ptr``, ``inc``): a
    counting sort of the pins, O(pins) (a stable argsort of 10⁷ pins was 0.4 s per call)."""
    inc_ptr = np.zeros(n_v + 1, np.int64)
    for p in range(pins.size):
        inc_ptr[pins[p] + 1] += 1
    for v in range(n_v):
        inc_ptr[v + 1] += inc_ptr[v]
    fill = inc_ptr[:-1].copy()
    inc = np.empty(pins.size, np.int64)
    for e in range(ptr.size - 1):
        for p in range(ptr[e], ptr[e + 1]):
            v = pins[p]
            inc[fill[v]] = e
            fill[v] += 1
    return inc_ptr, inc

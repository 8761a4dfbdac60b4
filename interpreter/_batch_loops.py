"""The numba loops behind batch_kernels.py (imported only where numba is installed).

Compiled on first use and cached beside this file (numba's `cache=True`; a read-only install
caches in the user's folder). Integers only: int64 money and codes, uint64 hashes.
"""

import numpy as np
from numba import njit

_NUMBA = dict(cache=True, nogil=True, boundscheck=False)
_WORDS = 3  # strings of up to 24 bytes compared as words


@njit(**_NUMBA)
def _hash(data, a, b):
    """FNV-1a over bytes a..b, then mixed (the table's slot is taken from the low bits)."""
    h = np.uint64(14695981039346656037)
    prime = np.uint64(1099511628211)
    for j in range(a, b):
        h = (h ^ np.uint64(data[j])) * prime
    h ^= h >> np.uint64(32)
    h *= np.uint64(11400714819323198485)
    h ^= h >> np.uint64(29)
    return h


@njit(**_NUMBA)
def encode(offsets, data, valid, pack):
    """Each string's code (-1 for null): equal strings one code, codes 0..k-1 in no particular
    order. Each string is hashed once, the rows dealt by the hash's top bits into parts of about
    16,384 (each part's table then stays in the core's cache), and within a part an open-addressing
    table of each new string's first row; a probe compares the full hash, then the bytes (exact,
    whatever the hash). `pack`: strings that repeat (persons) are compared as words, kept beside
    the hashes; without it (ids, mostly unique: a probe rarely meets the same hash) from the bytes."""
    n = len(offsets) - 1
    h = np.zeros(n, np.uint64)
    for i in range(n):
        if valid[i]:
            h[i] = _hash(data, offsets[i], offsets[i + 1])
    bits = 0
    while (1 << bits) * 16384 < n:
        bits += 1
    shift = np.uint64(63 - bits)  # (h >> 1) >> shift: the top `bits` bits, 0 when bits is 0
    parts = 1 << bits
    start = np.zeros(parts + 1, np.int64)
    for i in range(n):
        if valid[i]:
            start[np.int64((h[i] >> np.uint64(1)) >> shift) + 1] += 1
    for p in range(parts):
        start[p + 1] += start[p]
    at = start[:-1].copy()
    rows = np.empty(start[parts], np.int64)
    hashes = np.empty(start[parts], np.uint64)
    # The first 24 bytes and the length of each string beside its hash, in the part's order: strings that short
    # are compared without going back to the bytes (read in input order, here, once).
    words = np.zeros((start[parts] if pack else 0, _WORDS + 1), np.uint64)  # the words, then the length
    for i in range(n):
        if valid[i]:
            p = np.int64((h[i] >> np.uint64(1)) >> shift)
            t = at[p]
            rows[t] = i
            hashes[t] = h[i]
            if pack:
                a, b = offsets[i], offsets[i + 1]
                words[t, _WORDS] = b - a
                for j in range(min(b - a, 8 * _WORDS)):
                    words[t, j >> 3] |= np.uint64(data[a + j]) << np.uint64(8 * (j & 7))
            at[p] += 1
    codes = np.full(n, -1, np.int64)
    local = np.empty(start[parts], np.int64)
    biggest = 0
    for p in range(parts):
        biggest = max(biggest, start[p + 1] - start[p])
    size = 16
    while size < 2 * biggest:
        size <<= 1
    slots = np.empty(size, np.int64)
    count = 0
    for p in range(parts):
        a, b = start[p], start[p + 1]
        width = 16
        while width < 2 * (b - a):
            width <<= 1
        mask = np.uint64(width - 1)
        slots[:width] = -1
        for t in range(a, b):
            i, hi = rows[t], hashes[t]
            slot = np.int64(hi & mask)
            while True:
                s = slots[slot]
                if s < 0:
                    slots[slot] = t
                    local[t] = count
                    count += 1
                    break
                if hashes[s] == hi and _same(offsets, data, words, pack, rows[s], i, s, t):
                    local[t] = local[s]
                    break
                slot = (slot + 1) & (width - 1)
        for t in range(a, b):
            codes[rows[t]] = local[t]
    return codes


@njit(**_NUMBA)
def _same(offsets, data, words, pack, r, i, s, t):
    """Whether rows r and i (at s and t in the parts' order) hold the same string."""
    start = 0
    if pack:
        for k in range(_WORDS + 1):
            if words[s, k] != words[t, k]:
                return False
        if words[t, _WORDS] <= 8 * _WORDS:
            return True
        start = 8 * _WORDS
    a, b, ra = offsets[i], offsets[i + 1], offsets[r]
    if offsets[r + 1] - ra != b - a:
        return False
    for t in range(start, b - a):
        if data[ra + t] != data[a + t]:
            return False
    return True


@njit(**_NUMBA)
def two_decimals(offsets, data, valid):
    """batch._two_decimals in one pass over the bytes: strings of 1-13 ASCII digits, then
    optionally '.' and 1 or 2 digits, as fen (0 where not); and which are of that shape."""
    n = len(offsets) - 1
    fen = np.zeros(n, np.int64)
    ok = np.zeros(n, np.bool_)
    for i in range(n):
        if not valid[i]:
            continue
        a, b = offsets[i], offsets[i + 1]
        j, v = a, 0
        while j < b and j - a < 14 and 48 <= data[j] <= 57:
            v = v * 10 + (np.int64(data[j]) - 48)
            j += 1
        whole = j - a
        if whole < 1 or whole > 13:
            continue
        if j == b:
            fen[i], ok[i] = v * 100, True
            continue
        decimals = b - j - 1
        if data[j] != 46 or decimals < 1 or decimals > 2:
            continue
        d1 = np.int64(data[j + 1]) - 48
        if d1 < 0 or d1 > 9:
            continue
        d2 = 0
        if decimals == 2:
            d2 = np.int64(data[j + 2]) - 48
            if d2 < 0 or d2 > 9:
                continue
        fen[i], ok[i] = v * 100 + d1 * 10 + d2, True
    return fen, ok


@njit(**_NUMBA)
def sort_order(first, second, lo, span_first, span_second):
    """np.lexsort((positions, second, first)) by two stable counting sorts (second, then
    first): keys first in 0..span_first-1 and second - lo in 0..span_second-1."""
    n = len(first)
    count = np.zeros(span_second + 1, np.int64)
    for i in range(n):
        count[second[i] - lo + 1] += 1
    for k in range(span_second):
        count[k + 1] += count[k]
    by_second = np.empty(n, np.int64)
    for i in range(n):
        k = second[i] - lo
        by_second[count[k]] = i
        count[k] += 1
    count = np.zeros(span_first + 1, np.int64)
    for i in range(n):
        count[first[i] + 1] += 1
    for k in range(span_first):
        count[k + 1] += count[k]
    order = np.empty(n, np.int64)
    for t in range(n):
        i = by_second[t]
        k = first[i]
        order[count[k]] = i
        count[k] += 1
    return order


@njit(**_NUMBA)
def first_codes(keys):
    """Each key's code, numbered in order of first appearance, and each code's first row: a
    table of the few distinct keys (plan signatures), grown as they come."""
    n = len(keys)
    bits = 6
    slots = np.full(1 << bits, -1, np.int64)
    firsts = np.empty(max(n, 1), np.int64)
    codes = np.empty(n, np.int64)
    count = 0
    for i in range(n):
        key = keys[i]
        slot = np.int64((np.uint64(key) * np.uint64(11400714819323198485)) >> np.uint64(64 - bits))
        while True:
            c = slots[slot]
            if c < 0:
                slots[slot] = count
                firsts[count] = i
                codes[i] = count
                count += 1
                break
            if keys[firsts[c]] == key:
                codes[i] = c
                break
            slot = (slot + 1) & ((1 << bits) - 1)
        if 2 * count > (1 << bits):  # half full: twice the slots, every key placed again
            bits += 1
            slots = np.full(1 << bits, -1, np.int64)
            for c in range(count):
                slot = np.int64((np.uint64(keys[firsts[c]]) * np.uint64(11400714819323198485)) >> np.uint64(64 - bits))
                while slots[slot] >= 0:
                    slot = (slot + 1) & ((1 << bits) - 1)
                slots[slot] = c
    return codes, firsts[:count].copy()


@njit(**_NUMBA)
def wave_order(person_scheme, ordinal, year, shape, lo, span_f, span_s, shapes):
    """batch._Run._waves' order in one pass: the rows sorted by person and scheme, then date
    (sort_order), numbered into person-years (a new one where the person, scheme or year
    changes) and ranks within them, then sorted again by (rank, shape), ties in that order.
    Returns (order, pyear, rank) in the final order and the number of person-years."""
    n = len(person_scheme)
    first = sort_order(person_scheme, ordinal, lo, span_f, span_s)
    pyear = np.empty(n, np.int64)
    rank = np.empty(n, np.int64)
    years, top, start = 0, 0, 0
    for t in range(n):
        i = first[t]
        if t == 0 or person_scheme[i] != person_scheme[first[t - 1]] or year[i] != year[first[t - 1]]:
            years += 1
            start = t
        pyear[t] = years - 1
        rank[t] = t - start
        top = max(top, rank[t])
    span = (top + 1) * shapes
    count = np.zeros(span + 1, np.int64)
    for t in range(n):
        count[rank[t] * shapes + shape[first[t]] + 1] += 1
    for k in range(span):
        count[k + 1] += count[k]
    order = np.empty(n, np.int64)
    out_pyear = np.empty(n, np.int64)
    out_rank = np.empty(n, np.int64)
    for t in range(n):
        k = rank[t] * shapes + shape[first[t]]
        s = count[k]
        count[k] += 1
        order[s], out_pyear[s], out_rank[s] = first[t], pyear[t], rank[t]
    return order, out_pyear, out_rank, years


@njit(**_NUMBA)
def add_at(column, rows, values):
    """column[rows] += values for distinct rows, in one pass (numpy gathers, adds and scatters)."""
    for i in range(len(rows)):
        column[rows[i]] += values[i]

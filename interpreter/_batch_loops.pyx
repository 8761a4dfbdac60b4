# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=False
"""The compiled loops behind batch_kernels.py, compiled ahead of time (Cython) when the package
is built: importing them costs milliseconds, nothing is compiled or cached at run time, and no
compiler is part of the install. Integers only: int64 money and codes, uint64 hashes.

The same loops, line for line where C allows, as the numba loops they replace. Indexes are not
checked (the callers build the arrays to size); divisions keep Python's floor semantics
(cdivision=False: a value may be negative), as numba did. After editing this file, rebuild it:
`pip install -e '.[test]'` (tests/test_batch.py fails while the built module is older).
"""

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint64_t, INT64_MAX

cdef enum:
    _WORDS = 3  # strings of up to 24 bytes compared as words
cdef int64_t _NONE = INT64_MAX


def _flags(valid):
    """A bool array's bytes (0/1) as uint8: a memoryview of bool is not a typed buffer."""
    return np.ascontiguousarray(valid).view(np.uint8)


cdef inline uint64_t _hash(const uint8_t* data, int64_t a, int64_t b) noexcept:
    """FNV-1a over bytes a..b, then mixed (the table's slot is taken from the low bits)."""
    cdef uint64_t h = 14695981039346656037ULL
    cdef uint64_t prime = 1099511628211ULL
    cdef int64_t j
    for j in range(a, b):
        h = (h ^ <uint64_t>data[j]) * prime
    h ^= h >> 32
    h *= 11400714819323198485ULL
    h ^= h >> 29
    return h


def encode(const int32_t[::1] offsets, const uint8_t[::1] data, valid_flags, bint pack):
    """Each string's code (-1 for null): equal strings one code, codes 0..k-1 in no particular
    order. Each string is hashed once, the rows dealt by the hash's top bits into parts of about
    16,384 (each part's table then stays in the core's cache), and within a part an open-addressing
    table of each new string's first row; a probe compares the full hash, then the bytes (exact,
    whatever the hash). `pack`: strings that repeat (persons) are compared as words, kept beside
    the hashes; without it (ids, mostly unique: a probe rarely meets the same hash) from the bytes."""
    cdef const uint8_t[::1] valid = _flags(valid_flags)
    cdef int64_t n = offsets.shape[0] - 1
    cdef int64_t i, j, p, t, a, b, s, slot, width, count
    cdef uint64_t hi, mask
    h_ = np.zeros(n, np.uint64)
    cdef uint64_t[::1] h = h_
    for i in range(n):
        if valid[i]:
            h[i] = _hash(&data[0], offsets[i], offsets[i + 1])
    cdef int64_t bits = 0
    while (<int64_t>1 << bits) * 16384 < n:
        bits += 1
    cdef uint64_t shift = 63 - bits  # (h >> 1) >> shift: the top `bits` bits, 0 when bits is 0
    cdef int64_t parts = <int64_t>1 << bits
    start_ = np.zeros(parts + 1, np.int64)
    cdef int64_t[::1] start = start_
    for i in range(n):
        if valid[i]:
            start[<int64_t>((h[i] >> 1) >> shift) + 1] += 1
    for p in range(parts):
        start[p + 1] += start[p]
    cdef int64_t[::1] at = start_[:parts].copy()
    cdef int64_t[::1] rows = np.empty(start[parts], np.int64)
    cdef uint64_t[::1] hashes = np.empty(start[parts], np.uint64)
    # The first 24 bytes and the length of each string beside its hash, in the part's order: strings that short
    # are compared without going back to the bytes (read in input order, here, once).
    cdef uint64_t[:, ::1] words = np.zeros((start[parts] if pack else 0, _WORDS + 1), np.uint64)  # the words, then the length
    for i in range(n):
        if valid[i]:
            p = <int64_t>((h[i] >> 1) >> shift)
            t = at[p]
            rows[t] = i
            hashes[t] = h[i]
            if pack:
                a, b = offsets[i], offsets[i + 1]
                words[t, _WORDS] = b - a
                for j in range(min(b - a, 8 * _WORDS)):
                    words[t, j >> 3] |= <uint64_t>data[a + j] << (8 * (j & 7))
            at[p] += 1
    codes_ = np.full(n, -1, np.int64)
    cdef int64_t[::1] codes = codes_
    cdef int64_t[::1] local = np.empty(start[parts], np.int64)
    cdef int64_t[::1] slots = np.empty(_table_size(start, parts), np.int64)
    cdef const uint64_t* packed = &words[0, 0] if pack else NULL
    count = 0
    for p in range(parts):
        a, b = start[p], start[p + 1]
        width = 16
        while width < 2 * (b - a):
            width <<= 1
        mask = width - 1
        slots[:width] = -1
        for t in range(a, b):
            i, hi = rows[t], hashes[t]
            slot = <int64_t>(hi & mask)
            while True:
                s = slots[slot]
                if s < 0:
                    slots[slot] = t
                    local[t] = count
                    count += 1
                    break
                if hashes[s] == hi and _same(&offsets[0], &data[0], packed, pack, rows[s], i, s, t):
                    local[t] = local[s]
                    break
                slot = (slot + 1) & (width - 1)
        for t in range(a, b):
            codes[rows[t]] = local[t]
    return codes_


cdef int64_t _table_size(const int64_t[::1] start, int64_t parts) noexcept:
    """Slots for the largest part's table (at least twice its rows, a power of two, 16 or more)."""
    cdef int64_t p, biggest = 0, size = 16
    for p in range(parts):
        biggest = max(biggest, start[p + 1] - start[p])
    while size < 2 * biggest:
        size <<= 1
    return size


cdef inline bint _same(const int32_t* offsets, const uint8_t* data, const uint64_t* words, bint pack,
                       int64_t r, int64_t i, int64_t s, int64_t t) noexcept:
    """Whether rows r and i (at s and t in the parts' order) hold the same string (`words`: the
    rows of encode's words, _WORDS + 1 to a row)."""
    cdef int64_t start = 0, k, a, b, ra
    if pack:
        for k in range(_WORDS + 1):
            if words[s * (_WORDS + 1) + k] != words[t * (_WORDS + 1) + k]:
                return False
        if words[t * (_WORDS + 1) + _WORDS] <= 8 * _WORDS:
            return True
        start = 8 * _WORDS
    a, b, ra = offsets[i], offsets[i + 1], offsets[r]
    if offsets[r + 1] - ra != b - a:
        return False
    for t in range(start, b - a):
        if data[ra + t] != data[a + t]:
            return False
    return True


def two_decimals(const int32_t[::1] offsets, const uint8_t[::1] data, valid_flags):
    """batch_columns._two_decimals in one pass over the bytes: strings of 1-13 ASCII digits, then
    optionally '.' and 1 or 2 digits, as fen (0 where not); and which are of that shape."""
    cdef const uint8_t[::1] valid = _flags(valid_flags)
    cdef int64_t n = offsets.shape[0] - 1
    cdef int64_t i, a, b, j, v, whole, decimals, d1, d2
    fen_ = np.zeros(n, np.int64)
    ok_ = np.zeros(n, np.uint8)
    cdef int64_t[::1] fen = fen_
    cdef uint8_t[::1] ok = ok_
    for i in range(n):
        if not valid[i]:
            continue
        a, b = offsets[i], offsets[i + 1]
        j, v = a, 0
        while j < b and j - a < 14 and 48 <= data[j] <= 57:
            v = v * 10 + (<int64_t>data[j] - 48)
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
        d1 = <int64_t>data[j + 1] - 48
        if d1 < 0 or d1 > 9:
            continue
        d2 = 0
        if decimals == 2:
            d2 = <int64_t>data[j + 2] - 48
            if d2 < 0 or d2 > 9:
                continue
        fen[i], ok[i] = v * 100 + d1 * 10 + d2, True
    return fen_, ok_.view(bool)


def sort_order(const int64_t[:] first, const int64_t[:] second, int64_t lo, int64_t span_first,
               int64_t span_second):
    """np.lexsort((positions, second, first)) by two stable counting sorts (second, then
    first): keys first in 0..span_first-1 and second - lo in 0..span_second-1."""
    cdef int64_t n = first.shape[0], i, k, t
    cdef int64_t[::1] count = np.zeros(span_second + 1, np.int64)
    for i in range(n):
        count[second[i] - lo + 1] += 1
    for k in range(span_second):
        count[k + 1] += count[k]
    cdef int64_t[::1] by_second = np.empty(n, np.int64)
    for i in range(n):
        k = second[i] - lo
        by_second[count[k]] = i
        count[k] += 1
    count = np.zeros(span_first + 1, np.int64)
    for i in range(n):
        count[first[i] + 1] += 1
    for k in range(span_first):
        count[k + 1] += count[k]
    order_ = np.empty(n, np.int64)
    cdef int64_t[::1] order = order_
    for t in range(n):
        i = by_second[t]
        k = first[i]
        order[count[k]] = i
        count[k] += 1
    return order_


cdef inline uint64_t _fibonacci(int64_t key) noexcept:
    """A key's Fibonacci hash: times 2^64 over the golden ratio, wrapping (a bijection: equal
    hashes, equal keys), whose top bits differ for keys that differ anywhere."""
    return <uint64_t>key * 11400714819323198485ULL


cdef inline int64_t _part(uint64_t mixed, int64_t bits) noexcept:
    """A mixed key's top `bits` bits (0 when bits is 0)."""
    return <int64_t>((mixed >> 1) >> (63 - bits))


cdef inline int64_t _slot(int64_t key, int64_t bits) noexcept:
    """A key's slot in a table of 2^bits: the top bits of its Fibonacci hash."""
    return _part(_fibonacci(key), bits)


def first_codes(const int64_t[:] keys):
    """Each key's code, numbered in order of first appearance, and each code's first row: a
    table of the few distinct keys (plan signatures), grown as they come."""
    cdef int64_t n = keys.shape[0], i, c, key, slot, count
    cdef int64_t bits = 6
    cdef int64_t[::1] slots = np.full(<int64_t>1 << bits, -1, np.int64)
    firsts_ = np.empty(max(n, 1), np.int64)
    codes_ = np.empty(n, np.int64)
    cdef int64_t[::1] firsts = firsts_
    cdef int64_t[::1] codes = codes_
    count = 0
    for i in range(n):
        key = keys[i]
        slot = _slot(key, bits)
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
            slot = (slot + 1) & ((<int64_t>1 << bits) - 1)
        if 2 * count > (<int64_t>1 << bits):  # half full: twice the slots, every key placed again
            bits += 1
            slots = np.full(<int64_t>1 << bits, -1, np.int64)
            for c in range(count):
                slot = _slot(keys[firsts[c]], bits)
                while slots[slot] >= 0:
                    slot = (slot + 1) & ((<int64_t>1 << bits) - 1)
                slots[slot] = c
    return codes_, firsts_[:count].copy()


def wave_order(const int64_t[:] person_scheme, const int64_t[:] ordinal, const int64_t[:] year,
               const int64_t[:] shape, int64_t lo, int64_t span_f, int64_t span_s, int64_t shapes):
    """batch._Run._waves' order in one pass: the rows sorted by person and scheme, then date
    (sort_order), numbered into person-years (a new one where the person, scheme or year
    changes) and ranks within them, then sorted again by (rank, shape), ties in that order.
    Returns (order, pyear, rank) in the final order and the number of person-years."""
    cdef int64_t n = person_scheme.shape[0], t, i, k, s, span
    cdef const int64_t[::1] first = sort_order(person_scheme, ordinal, lo, span_f, span_s)
    cdef int64_t[::1] pyear = np.empty(n, np.int64)
    cdef int64_t[::1] rank = np.empty(n, np.int64)
    cdef int64_t years = 0, top = 0, start = 0
    for t in range(n):
        i = first[t]
        if t == 0 or person_scheme[i] != person_scheme[first[t - 1]] or year[i] != year[first[t - 1]]:
            years += 1
            start = t
        pyear[t] = years - 1
        rank[t] = t - start
        top = max(top, rank[t])
    span = (top + 1) * shapes
    cdef int64_t[::1] count = np.zeros(span + 1, np.int64)
    for t in range(n):
        count[rank[t] * shapes + shape[first[t]] + 1] += 1
    for k in range(span):
        count[k + 1] += count[k]
    order_, out_pyear_, out_rank_ = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    cdef int64_t[::1] order = order_, out_pyear = out_pyear_, out_rank = out_rank_
    for t in range(n):
        k = rank[t] * shapes + shape[first[t]]
        s = count[k]
        count[k] += 1
        order[s], out_pyear[s], out_rank[s] = first[t], pyear[t], rank[t]
    return order_, out_pyear_, out_rank_, years


def add_at(int64_t[::1] column, const int64_t[:] rows, const int64_t[:] values):
    """column[rows] += values for distinct rows, in one pass (numpy gathers, adds and scatters)."""
    cdef Py_ssize_t i
    for i in range(rows.shape[0]):
        column[rows[i]] += values[i]


# ---- the waves: every claim of the run settled by one kernel reading its plan's description ----
# batch_plans.describe writes each vector plan as int64 numbers, read here in the same order (see it
# for the layout); every stage does what batch_steps.Step does over arrays, one row at a time.

cdef inline int64_t _banded(const int64_t* desc, int64_t at, int64_t lo, int64_t hi, int64_t den) noexcept:
    """settle.banded in 1/scale fen over the bands at desc[at] (count, then (upper, share) pairs),
    lo and hi in 1/den fen (the burdens' unit; 1 elsewhere): the bands' bounds times den."""
    cdef int64_t count = desc[at], pay = 0, start = 0, i, top, share, a, b
    if count == 1 and desc[at + 1] == _NONE:
        return max(hi - lo, 0) * desc[at + 2]
    for i in range(count):
        top, share = desc[at + 1 + 2 * i], desc[at + 2 + 2 * i]
        if den != 1 and top != _NONE:
            top *= den
        a, b = max(lo, start), min(hi, top)
        pay += max(b - a, 0) * share
        start = top
    return pay


cdef inline int64_t _covered(const int64_t* rated, const int64_t* added, int64_t fund, const int64_t[::1] rated_fund,
                             const int64_t[::1] rated_share, const int64_t[::1] order, int64_t room,
                             int64_t den) noexcept:
    """settle.covered_by_cap in 1/den fen, of the rated costs (with `added`, if not NULL) at shares
    above 0: the costs at the lowest shares first, until `room` (1/scale fen) is used; the last one
    in part, room / share (den is a multiple of every share)."""
    cdef int64_t covered = 0, j, k, cost, share
    for j in range(order.shape[0]):
        k = order[j]
        share = rated_share[k]
        if rated_fund[k] != fund or share <= 0:
            continue
        cost = rated[k] + (added[k] if added != NULL else 0)
        if cost * share <= room:
            covered += cost * den
            room -= cost * share
        else:
            return covered + room * (den // share)
    return covered


cdef inline int64_t _half_up(int64_t x, int64_t scale) except? -1:
    """x (1/scale fen) in fen, half-up: (2x + scale) // 2 scale. The run's scale is 10^k, k <= 6:
    each a constant here, so the division is a multiplication (a quarter of the kernel's time
    went to dividing by a number it did not know)."""
    if scale == 100:
        return (2 * x + 100) // 200
    if scale == 1:
        return (2 * x + 1) // 2
    if scale == 10:
        return (2 * x + 10) // 20
    if scale == 1000:
        return (2 * x + 1000) // 2000
    if scale == 10000:
        return (2 * x + 10000) // 20000
    return (2 * x + scale) // (2 * scale)


cdef inline int64_t _paid(const int64_t* desc, int64_t at, const int64_t* pools, const int64_t* rounded,
                          int64_t pay, int64_t scale) except? -1:
    """settle.paid: the increase of the rounded exact cumulative, the least over the pools at desc[at]."""
    cdef int64_t count = desc[at], least = _NONE, i, k
    if count == 0:
        return _half_up(pay, scale)
    for i in range(count):
        k = desc[at + 1 + i]
        least = min(least, _half_up(pools[k] + pay, scale) - rounded[k])
    return least


def _positions(const int64_t[::1] desc, const int64_t[::1] starts):
    """Where each list of each settled plan's description starts (settle_rows reads them so, not by
    walking the counts on every claim): the deductible's stays counted, the caps that waive it,
    the scope, the bands, the caps, the pools, the funds, the own cap, the class at its own rate,
    the limit and fixed amount, the layers' count; then for each layer its numbers, bands, caps,
    pools, thresholds and groups."""
    pos_ = np.zeros((starts.shape[0], 11 + 6 * 16), np.int64)
    cdef int64_t[:, ::1] pos = pos_
    cdef int64_t p, d, at, i, width, layers, li, q, count, g
    for p in range(starts.shape[0]):
        d = starts[p]
        if desc[d] != 2:
            continue
        at = d + 16
        for i in range(10):
            pos[p, i] = at
            width = 2 if i == 1 or i == 3 else 3 if i == 4 else 1
            at += 1 + width * desc[at]
        pos[p, 10] = at
        layers = desc[at]
        at += 1
        for li in range(layers):
            q = 11 + 6 * li
            pos[p, q] = at
            at += 10
            pos[p, q + 1] = at
            at += 1 + 2 * desc[at]
            pos[p, q + 2] = at
            at += 1 + 2 * desc[at]
            pos[p, q + 3] = at
            at += 1 + desc[at]
            pos[p, q + 4] = at  # count, then (amount, counts, count of burdens summed, their keys)
            count = desc[at]
            at += 1
            for i in range(count):
                at += 3 + desc[at + 2]
            pos[p, q + 5] = at
            count = desc[at]
            at += 1
            for g in range(count):
                at += 1 + desc[at]
    return pos_


def settle_rows(const int64_t[::1] keys, int64_t bits, const int64_t[:, ::1] costs, const int64_t[::1] desc,
                const int64_t[::1] starts, int64_t scale, int64_t exact_room, const int64_t[::1] widths,
                const int64_t[::1] days, const int64_t[::1] daily, const int64_t[::1] rated_fund,
                const int64_t[::1] rated_share, const int64_t[::1] rated_order, int64_t burden_den,
                int64_t[:, ::1] out, int64_t[:, ::1] snaps):
    """batch_steps.Step.run for every row, a person-year at a time: the rows sorted by person and
    scheme, then date (ties in input order), keys[t] = (person-scheme * years spanned + year)
    << bits | plan: a new person-year where the key's high bits change, row t's plan the low
    bits (its description at desc[starts[plan]]; shifts, not divisions, which cost as much as
    the rest of a claim). costs[t] = (total, eligible, pre-payments, first
    share); days[t] its date (a day ordinal); `daily` the pools that are a day's (emptied where
    a person-year's claims move to another day); out[:, t] = (deductible, patient, each fund's
    payment) written here; rated_fund[k] and rated_share[k] (1/scale) are the layer's fund and the
    share of rated-cost column k (settle.cost_above_cap's year.rated_costs). The caller
    gathers and scatters them in this order (numpy's gathers overlap their memory reads; this
    loop's would wait on each). A person-year's accumulators (settle.Year: stays per
    benefit, deductibles, yearly deductible levels, eligible cost per benefit, stays per
    (benefit, level), pools exact and rounded, burdens, the pools' fractions as numerator and
    denominator, rated costs; `widths` their columns) are a few local numbers while its claims are
    settled. A layer that leaves out the cost above the benefit's own cap (绍兴 第三十五条 末款)
    takes it out exactly where `burden_den` > 0 (settle.cost_above_cap: the cap covers the year's
    rated costs at the lowest shares first, `rated_order` the columns by share): the cost covered
    comes to a fraction whose denominator divides a share, so every burden is held in 1/(100 *
    burden_den) yuan, burden_den a multiple of every rated share, and a burden layer's payment is a
    numerator over burden_den, added to its pools' fractions. With burden_den 0 the burdens are in
    fen, and a claim whose year's rated costs at their shares would pass the cap goes to the
    scalar engine with its year, which then reads the rated costs.

    Returns each row's state (0 settled; 1 the year goes to the scalar engine from this claim,
    which is not committed; 2 a later claim of such a year), each row's person-year, and how many
    years went to the scalar engine: the first len(snaps) of them leave their accumulators as they
    were before that claim in snaps[i] (the columns side by side as `acc` holds them, then the
    claim's day, whose the daily pools are, then the year's number); for more, the caller calls
    again with room for them. A cap point's fraction is kept as integers while its products stay
    within `exact_room`; past it (where the steps use Python's Fraction) the year goes to the
    scalar engine."""
    cdef int64_t n = keys.shape[0]
    cdef const int64_t[:, ::1] where = _positions(desc, starts)
    state_ = np.zeros(n, np.int8)
    pyear_ = np.empty(n, np.int64)
    cdef int8_t[::1] state = state_
    cdef int64_t[::1] pyear = pyear_
    cdef int64_t nb = widths[0], nstay = widths[1], npool = widths[2], nburden = widths[3], nrated = widths[4]
    cdef int64_t[::1] acc = np.zeros(4 * nb + nstay + 2 * npool + nburden + 2 * npool + nrated, np.int64)
    # (the accumulators as pointers into acc, where numba had views)
    cdef int64_t *stays = &acc[0]
    cdef int64_t *deductibles = &acc[nb]
    cdef int64_t *levels = &acc[2 * nb]
    cdef int64_t *eligible_acc = &acc[3 * nb]
    cdef int64_t o = 4 * nb
    cdef int64_t *level_stays = &acc[o]
    cdef int64_t *pools = &acc[o + nstay]
    cdef int64_t *rounded = &acc[o + nstay + npool]
    o += nstay + 2 * npool
    cdef int64_t *burden = &acc[o]
    cdef int64_t *frac_num = &acc[o + nburden]
    cdef int64_t *frac_den = &acc[o + nburden + npool]
    cdef int64_t *rated = &acc[o + nburden + 2 * npool]
    cdef int64_t own_add[64]   # this claim's cost above its deductible in each band (own cap)
    cdef int64_t own_col[64]   # ... each piece's rated-cost column
    cdef int64_t own_pieces = 0, class_at, fixed_at, general, piece_g = 0, piece_c = 0
    cdef bint portioned, nf_given
    cdef int64_t rated_add[64]  # ... by rated-cost column
    cdef int64_t bd = burden_den if burden_den > 0 else 1  # the burdens' unit: 1/bd fen
    cdef int64_t lost_years = 0, y = -1
    cdef bint dead = False
    cdef int64_t[::1] funds = np.zeros(out.shape[0] - 2, np.int64)
    # each layer's update, committed after the claim: (burden key or -1, burden, its keys' position, pay, paid)
    cdef int64_t up_burden_key[16]
    cdef int64_t up_burden[16]
    cdef int64_t up_keys[16]
    cdef int64_t up_pay[16]
    cdef int64_t up_p[16]
    cdef int64_t frac_den_of[16]  # the denominator of up_pay (1: whole 1/scale fen)
    cdef int64_t before[64]
    cdef int64_t after[64]
    cdef const int64_t *d_ = &desc[0]
    cdef int64_t t, i, j, g, k, q, f, li, plan, d, kind, b, counts_stay, stay, ded_amount, reducible
    cdef int64_t ded_base, static_ref, has_repeat, repeat, has_floor, floor, yearly, none_active
    cdef int64_t none_n, payer, counted_at, reached_at, scope_at, bands_at, caps_at, keys_at, funds_at
    cdef int64_t at, eligible, due, target, base, earlier, c, e0, lo, hi, pay, uncapped, rooms_fund
    cdef int64_t rooms_any, limit, fund_wide, room, exact, paid, paid_so_far, burden_claim, layers
    cdef int64_t lbands_at, lcaps_at, lkeys_at, thresholds_at, groups_at, base_kind, fund, has_rate
    cdef int64_t not_covered, share_l, counts_prepay, with_first, above_deductible, above_any_cap
    cdef int64_t burden_key, p, lpay, exact_num, exact_den, above, counted, amount, counts, summed
    cdef int64_t b0, first, blo, bhi, most_b, most_a, rooms, pos, paid_b, start, top, share, a, bb
    cdef int64_t seg, left, remaining, nf, charged, own_at, own_n, own_fund, rated_total, own_layer, above_d, whole
    cdef bint has_target, changed, reached, lost, exact_row, found, hit, big
    cdef int64_t plan_mask = (<int64_t>1 << bits) - 1
    for i in range(16):
        frac_den_of[i] = 1
    for i in range(64):
        rated_add[i] = 0
    for t in range(n):
        if t == 0 or (keys[t] >> bits) != (keys[t - 1] >> bits):
            y += 1
            dead = False
            acc[:] = 0
            for i in range(npool):
                frac_den[i] = 1
        elif daily.shape[0] and days[t] != days[t - 1]:  # another day: the day's pools start empty
            for i in range(daily.shape[0]):
                k = daily[i]
                pools[k], rounded[k], frac_num[k], frac_den[k] = 0, 0, 0, 1
        pyear[t] = y
        if dead:
            state[t] = 2
            continue
        plan = keys[t] & plan_mask
        d = starts[plan]
        kind = desc[d]
        if kind == 0:  # the claim's error row; the year does not move
            continue
        if kind == 1:  # not covered: the patient pays it all
            out[1, t] = costs[t, 0]
            continue
        b, counts_stay, stay = desc[d + 1], desc[d + 2], desc[d + 3]
        ded_amount, reducible, ded_base, static_ref = desc[d + 4], desc[d + 5], desc[d + 6], desc[d + 7]
        has_repeat, repeat, has_floor, floor = desc[d + 8], desc[d + 9], desc[d + 10], desc[d + 11]
        yearly, none_active, none_n, payer = desc[d + 12], desc[d + 13], desc[d + 14], desc[d + 15]
        counted_at, reached_at, scope_at = where[plan, 0], where[plan, 1], where[plan, 2]
        bands_at, caps_at, keys_at, funds_at = where[plan, 3], where[plan, 4], where[plan, 5], where[plan, 6]
        own_at, class_at, fixed_at, at = where[plan, 7], where[plan, 8], where[plan, 9], where[plan, 10]
        eligible = costs[t, 1]

        # the deductible (settle.deductible_due, reduced)
        due, target, has_target = 0, 0, False
        if ded_amount != 0:
            if reducible == 0:
                base = ded_amount
            else:
                earlier = stays[b]
                base = ded_base
                changed = static_ref != 0
                if has_repeat:
                    base = base - repeat * earlier
                    changed = changed or earlier > 0
                if has_floor and changed and base < floor:
                    base = floor
                base = max(base, 0)
            if yearly:
                has_target = True
                target = max(base, levels[b])
                due = max(target - deductibles[b], 0)
            else:
                due = base
            if none_active:
                c = 0
                for i in range(desc[counted_at]):
                    c += level_stays[desc[counted_at + 1 + i]]
                if c + 1 >= none_n:
                    due = 0
                    if has_target:
                        target = levels[b]
            reached = False
            for i in range(desc[reached_at]):
                if pools[desc[reached_at + 1 + 2 * i]] >= desc[reached_at + 2 + 2 * i]:
                    reached = True
            if reached:
                due = 0
            if desc[fixed_at] > 0 and desc[fixed_at + 3]:  # a fixed amount settles the claim: no deductible
                due = 0
        charged = min(due, eligible)

        # the paying fund: the rate in bands over the year's eligible cost, its caps
        e0 = 0
        for i in range(desc[scope_at]):
            e0 += eligible_acc[desc[scope_at + 1 + i]]
        lo, hi = e0 + charged, e0 + eligible
        portioned = desc[class_at] > 0 and costs[t, 5] != 0
        if portioned:  # engine._class_rates: the deductible from the general cost first, then the class's
            general = eligible - costs[t, 4]
            take = min(charged, general)
            piece_g, piece_c = general - take, costs[t, 4] - min(charged - take, costs[t, 4])
            pay = piece_g * desc[bands_at + 2] + piece_c * desc[class_at + 1]
        else:
            pay = _banded(d_, bands_at, lo, hi, 1)
        if desc[fixed_at] > 0:  # 限额: at most the limit; 定额: the fixed amount, at most the eligible cost
            if desc[fixed_at + 1]:
                pay = min(pay, desc[fixed_at + 2])
            if desc[fixed_at + 3]:
                pay = min(desc[fixed_at + 4], eligible * scale)
        uncapped = pay
        rooms_fund, rooms_any = _NONE, _NONE
        for i in range(desc[caps_at]):
            k, limit, fund_wide = desc[caps_at + 1 + 3 * i], desc[caps_at + 2 + 3 * i], desc[caps_at + 3 + 3 * i]
            room = max(limit - pools[k], 0)
            if pay > room:
                pay = room
                rooms_any = min(rooms_any, room)
                if fund_wide:
                    rooms_fund = min(rooms_fund, room)
        exact = pay
        paid = _paid(d_, keys_at, pools, rounded, pay, scale)
        funds[:] = 0
        funds[payer] = paid
        paid_so_far = paid
        burden_claim = eligible - paid

        # the cost above the own cap (settle.cost_above_cap): none while the year's rated costs,
        # this claim's added, come at their shares to at most the cap; past it, the scalar engine's
        lost = False
        own_n = desc[own_at]
        own_layer, above_d = -1, 0
        if own_n > 0:
            own_fund, start, rated_total, own_layer = desc[own_at + 1], 0, 0, desc[own_at + own_n]
            # the claim's cost above its deductible in pieces by share (engine._pieces): each band's,
            # or the general cost's and the class's (settle.cost_above_cap takes those above 0)
            if portioned:
                own_pieces = 2
                own_add[0], own_col[0] = max(piece_g, 0), desc[own_at + 3]
                own_add[1], own_col[1] = max(piece_c, 0), desc[class_at + 2]
            else:
                own_pieces = desc[bands_at]
                for i in range(own_pieces):
                    top = desc[bands_at + 1 + 2 * i]
                    a, bb = max(lo, start), min(hi, top)
                    own_add[i], own_col[i] = (bb - a if bb > a else 0), desc[own_at + 3 + i]
                    start = top
            if burden_den > 0:  # the cost above the cap, exactly: the claim's less what the cap now covers more
                for i in range(own_pieces):
                    k = own_col[i]
                    rated_add[k] += own_add[i]
                    if rated_share[k] > 0:
                        above_d += own_add[i] * bd
                above_d -= _covered(rated, rated_add, own_fund, rated_fund, rated_share, rated_order,
                                    desc[own_at + 2], bd) \
                    - _covered(rated, NULL, own_fund, rated_fund, rated_share, rated_order, desc[own_at + 2], bd)
                for i in range(own_pieces):
                    rated_add[own_col[i]] = 0
            else:  # none above while the year's rated costs at their shares stay within the cap
                for k in range(nrated):
                    if rated_fund[k] == own_fund and rated_share[k] > 0:
                        rated_total += rated[k] * rated_share[k]
                for i in range(own_pieces):
                    k = own_col[i]
                    if rated_share[k] > 0:
                        rated_total += own_add[i] * rated_share[k]
                lost = rated_total > desc[own_at + 2]

        # the layers
        layers = desc[at] if not lost else 0
        for li in range(layers):
            q = 11 + 6 * li
            at, lbands_at, lcaps_at, lkeys_at = where[plan, q], where[plan, q + 1], where[plan, q + 2], where[plan, q + 3]
            thresholds_at, groups_at = where[plan, q + 4], where[plan, q + 5]
            base_kind, fund, has_rate, not_covered = desc[at], desc[at + 1], desc[at + 2], desc[at + 3]
            share_l, counts_prepay, with_first = desc[at + 4], desc[at + 5], desc[at + 6]
            above_deductible, above_any_cap, burden_key = desc[at + 7], desc[at + 8], desc[at + 9]
            up_burden_key[li], up_keys[li], up_pay[li], up_p[li] = -1, -1, 0, 0
            frac_den_of[li] = 1
            p = 0
            lpay = 0
            exact_row, nf_given = False, False
            exact_num, exact_den = 0, 1
            above = 0
            if base_kind == 0:  # on the year's burden (in 1/bd fen), less any cost above the own cap
                counted = (burden_claim + (costs[t, 2] if counts_prepay else costs[t, 3] if with_first else 0)) * bd \
                    - (above_d if li == own_layer else 0)
                up_burden_key[li], up_burden[li] = burden_key, burden[burden_key] + counted
                if has_rate == 0 or not_covered:
                    continue
                # engine._burden_positions: the excess over each group of thresholds, above the first
                q = thresholds_at + 1
                for i in range(desc[thresholds_at]):
                    amount, counts, summed = desc[q], desc[q + 1], desc[q + 2]
                    b0 = 0
                    for j in range(summed):
                        b0 += burden[desc[q + 3 + j]]
                    before[i] = b0 - amount * bd
                    after[i] = b0 + counted - amount * bd if counts else b0 - amount * bd
                    q += 3 + summed
                first = desc[thresholds_at + 1] * bd
                blo, bhi = first, first
                q = groups_at + 1
                for g in range(desc[groups_at]):
                    most_b, most_a = -_NONE, -_NONE
                    for j in range(desc[q]):
                        i = desc[q + 1 + j]
                        most_b, most_a = max(most_b, before[i]), max(most_a, after[i])
                    blo += max(most_b, 0)
                    bhi += max(most_a, 0)
                    q += 1 + desc[q]
                if bd > 1:
                    if bhi > exact_room // (4 * scale):  # (products past int64: the scalar engine's)
                        lost = True
                        break
                    exact_row, exact_den, nf_given = True, bd, True  # a numerator over bd
                lpay = nf = _banded(d_, lbands_at, blo, bhi, bd)  # (nf: before the caps below, which read 1/scale fen)
            elif has_rate == 0:
                continue
            elif base_kind == 1:  # above the basic fund's cap point (engine._above)
                rooms = rooms_any if above_any_cap else rooms_fund
                if rooms != _NONE and rooms <= 0:
                    above = eligible
                elif rooms != _NONE and rooms > 0 and uncapped > rooms:
                    pos, found, paid_b, start = hi, False, 0, 0
                    for i in range(desc[bands_at]):
                        top, share = desc[bands_at + 1 + 2 * i], desc[bands_at + 2 + 2 * i]
                        a, bb = max(lo, start), min(hi, top)
                        seg = (bb - a) * share if bb > a else 0
                        hit = (not found) and bb > a and share > 0 and paid_b + seg >= rooms
                        if share > 0 and hit:
                            left = rooms - paid_b
                            if left % share != 0:  # off the grid: the cost above it is (hi - a) - left / share
                                exact_row = True
                                exact_num, exact_den = (hi - a) * share - left, share
                            pos = a + left // share
                        found = found or hit
                        paid_b += seg
                        start = top
                    above = hi - pos
                lpay = above * share_l
            elif not_covered:
                continue
            else:  # on what remains
                remaining = eligible - paid_so_far - (charged if above_deductible else 0) \
                    + (costs[t, 3] if with_first else 0)
                lpay = max(remaining, 0) * share_l
            # _layer_paid: the layer's caps, then the increase of its rounded pools
            for i in range(desc[lcaps_at]):
                k, limit = desc[lcaps_at + 1 + 2 * i], desc[lcaps_at + 2 + 2 * i]
                room = max(limit - pools[k], 0)
                if not exact_row and frac_num[k] != 0 and lpay > 0 and lpay >= room:
                    # a cap filled from a pool's fraction (an earlier claim's cap point): the payment
                    # is the room left exactly, a numerator over that fraction's denominator
                    if lpay > exact_room // frac_den[k]:
                        lost = True
                        break
                    exact_row, exact_den, nf_given, nf = True, frac_den[k], True, lpay * frac_den[k]
                lpay = min(lpay, room)
            if lost:
                break
            p = _paid(d_, lkeys_at, pools, rounded, lpay, scale)
            if exact_row:  # _exact_layer_paid: a numerator over exact_den, integers while they fit
                if nf_given:  # the banded payment over bd, or a whole payment over a pool's denominator
                    big = nf > exact_room
                else:  # the cost above the cap point, times the share
                    big = exact_num > exact_room // max(share_l, 1)
                    nf = 0 if big else exact_num * share_l
                # (a pool may hold a fraction over the same denominator: the burden layer's last one)
                for i in range(desc[lcaps_at]):
                    k = desc[lcaps_at + 1 + 2 * i]
                    big = big or (frac_num[k] != 0 and frac_den[k] != exact_den) \
                        or desc[lcaps_at + 2 + 2 * i] > exact_room // exact_den or pools[k] + scale > exact_room // exact_den
                for i in range(desc[lkeys_at]):
                    k = desc[lkeys_at + 1 + i]
                    big = big or (frac_num[k] != 0 and frac_den[k] != exact_den) \
                        or pools[k] + scale > exact_room // exact_den
                if big:  # (the numpy path's Fraction case: left to the scalar engine here)
                    lost = True
                    break
                for i in range(desc[lcaps_at]):
                    k, limit = desc[lcaps_at + 1 + 2 * i], desc[lcaps_at + 2 + 2 * i]
                    nf = min(nf, max(limit * exact_den - pools[k] * exact_den - frac_num[k], 0))
                if desc[lkeys_at] > 0:
                    p = _NONE
                    for i in range(desc[lkeys_at]):
                        k = desc[lkeys_at + 1 + i]
                        p = min(p, (2 * (pools[k] * exact_den + frac_num[k] + nf) + scale * exact_den)
                                // (2 * scale * exact_den) - rounded[k])
                else:
                    p = (2 * nf + scale * exact_den) // (2 * scale * exact_den)
                lpay, frac_den_of[li] = nf, exact_den
            elif base_kind == 1 and above <= 0:  # no payment, no layer update
                p, lpay = 0, 0
            up_keys[li], up_pay[li], up_p[li] = lkeys_at, lpay, p
            funds[fund] += p
            paid_so_far += p
        if lost:
            state[t] = 1
            dead = True
            if lost_years < snaps.shape[0]:
                for j in range(acc.shape[0]):
                    snaps[lost_years, j] = acc[j]
                snaps[lost_years, acc.shape[0]] = days[t]
                snaps[lost_years, acc.shape[0] + 1] = y
            lost_years += 1
            continue

        out[0, t] = charged
        for i in range(desc[funds_at]):
            f = desc[funds_at + 1 + i]
            out[2 + f, t] = funds[f]
        out[1, t] = costs[t, 0] - paid_so_far

        # the commit (engine._commit): the year's changes, in one place
        if counts_stay:
            stays[b] += 1
            level_stays[stay] += 1
        deductibles[b] += charged
        if has_target:
            levels[b] = target
        eligible_acc[b] += eligible
        for i in range(desc[keys_at]):
            k = desc[keys_at + 1 + i]
            pools[k] += exact
            rounded[k] += paid
        if own_n > 0:
            for i in range(own_pieces):
                rated[own_col[i]] += own_add[i]
        for li in range(layers):
            if up_burden_key[li] >= 0:
                burden[up_burden_key[li]] = up_burden[li]
            q = up_keys[li]
            if q >= 0:
                for i in range(desc[q]):
                    k = desc[q + 1 + i]
                    rounded[k] += up_p[li]
                    if frac_den_of[li] == 1:
                        pools[k] += up_pay[li]
                    else:  # a numerator over frac_den_of[li], with the pool's own fraction (the same denominator)
                        whole = frac_num[k] + up_pay[li]
                        pools[k] += whole // frac_den_of[li]
                        frac_num[k] = whole % frac_den_of[li]
                        frac_den[k] = frac_den_of[li] if frac_num[k] != 0 else 1
    return state_, pyear_, lost_years


def string_hash(const int64_t[::1] offsets, const uint8_t[::1] data, valid_flags):
    """partition.string_hash's 64-bit hash of each string's bytes (0 for null), in one pass: the
    polynomial sum of (byte + 1) * P**(position + 1), wrapping, plus (length + 1) times the golden
    ratio, then mixed; the same numbers as its numpy form (the bucket a person is dealt to)."""
    cdef const uint8_t[::1] valid = _flags(valid_flags)
    cdef int64_t n = offsets.shape[0] - 1
    cdef int64_t i, j
    cdef uint64_t h, power
    cdef uint64_t prime = 0x100000001B3ULL
    out_ = np.zeros(n, np.uint64)
    cdef uint64_t[::1] out = out_
    for i in range(n):
        if not valid[i]:
            continue
        h = 0
        power = 1
        for j in range(offsets[i], offsets[i + 1]):
            power *= prime
            h += (<uint64_t>data[j] + 1) * power
        h += <uint64_t>(offsets[i + 1] - offsets[i] + 1) * 0x9E3779B97F4A7C15ULL
        h ^= h >> 33
        h *= 0xFF51AFD7ED558CCDULL
        h ^= h >> 33
        out[i] = h
    return out_


def repeated(const int64_t[::1] keys):
    """Whether each key occurs more than once among `keys` (0/1 bytes, a bool array's view). As
    encode: the keys dealt by the top bits of their Fibonacci hash (equal hashes, equal keys)
    into parts of about 16,384, each part's hashes then put in an open-addressing table that
    stays in the core's cache (one table over a million mostly distinct keys, or a sort, misses
    it on most keys)."""
    cdef int64_t n = keys.shape[0]
    cdef int64_t i, t, p, a, b, s, slot, width, wbits
    cdef uint64_t m
    cdef int64_t bits = 0
    while (<int64_t>1 << bits) * 16384 < n:
        bits += 1
    cdef int64_t parts = <int64_t>1 << bits
    start_ = np.zeros(parts + 1, np.int64)
    cdef int64_t[::1] start = start_
    for i in range(n):
        start[_slot(keys[i], bits) + 1] += 1
    for p in range(parts):
        start[p + 1] += start[p]
    cdef int64_t[::1] at = start_[:parts].copy()
    cdef int64_t[::1] rows = np.empty(n, np.int64)
    cdef uint64_t[::1] mixed = np.empty(n, np.uint64)  # in the parts' order
    for i in range(n):
        m = _fibonacci(keys[i])
        p = _part(m, bits)
        rows[at[p]] = i
        mixed[at[p]] = m
        at[p] += 1
    out_ = np.zeros(n, np.uint8)
    cdef uint8_t[::1] out = out_
    cdef int64_t[::1] slots = np.empty(_table_size(start, parts), np.int64)
    for p in range(parts):
        a, b = start[p], start[p + 1]
        wbits = 4
        while (<int64_t>1 << wbits) < 2 * (b - a):
            wbits += 1
        width = <int64_t>1 << wbits
        slots[:width] = -1
        for t in range(a, b):
            m = mixed[t]
            slot = _part(m << bits, wbits)  # the bits below the part's
            while True:
                s = slots[slot]
                if s < 0:
                    slots[slot] = t
                    break
                if mixed[s] == m:
                    out[rows[s]] = 1
                    out[rows[t]] = 1
                    break
                slot = (slot + 1) & (width - 1)
    return out_.view(np.bool_)

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


# ---- the waves: every claim of the run settled by one kernel reading its plan's description ----
# batch._describe writes each vector plan as int64 numbers, read here in the same order (see it
# for the layout); every stage does what batch._Step does over arrays, one row at a time.

_NONE = np.iinfo(np.int64).max


@njit(**_NUMBA)
def _banded(desc, at, lo, hi):
    """settle.banded in 1/scale fen over the bands at desc[at] (count, then (upper, share) pairs)."""
    count = desc[at]
    if count == 1 and desc[at + 1] == _NONE:
        return max(hi - lo, 0) * desc[at + 2]
    pay, start = 0, 0
    for i in range(count):
        top, share = desc[at + 1 + 2 * i], desc[at + 2 + 2 * i]
        a, b = max(lo, start), min(hi, top)
        pay += max(b - a, 0) * share
        start = top
    return pay


@njit(**_NUMBA)
def _half_up(x, scale):
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


@njit(**_NUMBA)
def _paid(desc, at, pools, rounded, pay, scale):
    """settle.paid: the increase of the rounded exact cumulative, the least over the pools at desc[at]."""
    count = desc[at]
    if count == 0:
        return _half_up(pay, scale)
    least = _NONE
    for i in range(count):
        k = desc[at + 1 + i]
        least = min(least, _half_up(pools[k] + pay, scale) - rounded[k])
    return least


@njit(**_NUMBA)
def _positions(desc, starts):
    """Where each list of each settled plan's description starts (settle_rows reads them so, not by
    walking the counts on every claim): the deductible's stays counted, the caps that waive it,
    the scope, the bands, the caps, the pools, the funds, the layers' count; then for each layer
    its numbers, bands, caps, pools, thresholds and groups."""
    pos = np.zeros((len(starts), 8 + 6 * 16), np.int64)
    for p in range(len(starts)):
        d = starts[p]
        if desc[d] != 2:
            continue
        at = d + 16
        for i in range(7):
            pos[p, i] = at
            width = 2 if i == 1 or i == 3 else 3 if i == 4 else 1
            at += 1 + width * desc[at]
        pos[p, 7] = at
        layers = desc[at]
        at += 1
        for li in range(layers):
            q = 8 + 6 * li
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
    return pos


@njit(**_NUMBA)
def settle_rows(keys, bits, costs, desc, starts, scale, exact_room, widths, out, snaps):
    """batch._Step.run for every row, a person-year at a time: the rows sorted by person and
    scheme, then date (ties in input order), keys[t] = (person-scheme * years spanned + year)
    << bits | plan: a new person-year where the key's high bits change, row t's plan the low
    bits (its description at desc[starts[plan]]; shifts, not divisions, which cost as much as
    the rest of a claim). costs[t] = (total, eligible, pre-payments, first
    share); out[:, t] = (deductible, patient, each fund's payment) written here. The caller
    gathers and scatters them in this order (numpy's gathers overlap their memory reads; this
    loop's would wait on each). A person-year's accumulators (settle.Year: stays per
    benefit, deductibles, yearly deductible levels, eligible cost per benefit, stays per
    (benefit, level), pools exact and rounded, burdens, the pools' fractions as numerator and
    denominator; `widths` their columns) are a few local numbers while its claims are settled.

    Returns each row's state (0 settled; 1 the year goes to the scalar engine from this claim,
    which is not committed; 2 a later claim of such a year), each row's person-year, and how many
    years went to the scalar engine: the first len(snaps) of them leave their accumulators as they
    were before that claim in snaps[i] (the columns side by side as `acc` holds them, then the
    year's number); for more, the caller calls again with room for them. A cap point's fraction
    is kept as integers while its products stay within `exact_room`; past it (where the steps use
    Python's Fraction) the year goes to the scalar engine."""
    n = len(keys)
    where = _positions(desc, starts)
    state = np.zeros(n, np.int8)
    pyear = np.empty(n, np.int64)
    nb, nstay, npool, nburden = widths[0], widths[1], widths[2], widths[3]
    acc = np.zeros(4 * nb + nstay + 2 * npool + nburden + 2 * npool, np.int64)
    stays, deductibles, levels, eligible_acc = acc[:nb], acc[nb:2 * nb], acc[2 * nb:3 * nb], acc[3 * nb:4 * nb]
    o = 4 * nb
    level_stays, pools, rounded = acc[o:o + nstay], acc[o + nstay:o + nstay + npool], \
        acc[o + nstay + npool:o + nstay + 2 * npool]
    o += nstay + 2 * npool
    burden, frac_num, frac_den = acc[o:o + nburden], acc[o + nburden:o + nburden + npool], \
        acc[o + nburden + npool:o + nburden + 2 * npool]
    lost_years, y, dead = 0, -1, False
    funds = np.zeros(out.shape[0] - 2, np.int64)
    # each layer's update, committed after the claim: (burden key or -1, burden, its keys' position, pay, paid)
    up_burden_key = np.empty(16, np.int64)
    up_burden = np.empty(16, np.int64)
    up_keys = np.empty(16, np.int64)
    up_pay = np.empty(16, np.int64)
    up_p = np.empty(16, np.int64)
    frac_part = np.zeros(16, np.int64)
    frac_den_of = np.ones(16, np.int64)
    before = np.empty(64, np.int64)
    after = np.empty(64, np.int64)
    for t in range(n):
        if t == 0 or (keys[t] >> bits) != (keys[t - 1] >> bits):
            y += 1
            dead = False
            acc[:] = 0
            frac_den[:] = 1
        pyear[t] = y
        if dead:
            state[t] = 2
            continue
        plan = keys[t] & ((1 << bits) - 1)
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
        at = where[plan, 7]
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
        charged = min(due, eligible)

        # the paying fund: the rate in bands over the year's eligible cost, its caps
        e0 = 0
        for i in range(desc[scope_at]):
            e0 += eligible_acc[desc[scope_at + 1 + i]]
        lo, hi = e0 + charged, e0 + eligible
        pay = _banded(desc, bands_at, lo, hi)
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
        paid = _paid(desc, keys_at, pools, rounded, pay, scale)
        funds[:] = 0
        funds[payer] = paid
        paid_so_far = paid
        burden_claim = eligible - paid

        # the layers
        lost = False
        layers = desc[at]
        for li in range(layers):
            q = 8 + 6 * li
            at, lbands_at, lcaps_at, lkeys_at = where[plan, q], where[plan, q + 1], where[plan, q + 2], where[plan, q + 3]
            thresholds_at, groups_at = where[plan, q + 4], where[plan, q + 5]
            base_kind, fund, has_rate, not_covered = desc[at], desc[at + 1], desc[at + 2], desc[at + 3]
            share_l, counts_prepay, with_first = desc[at + 4], desc[at + 5], desc[at + 6]
            above_deductible, above_any_cap, burden_key = desc[at + 7], desc[at + 8], desc[at + 9]
            up_burden_key[li], up_keys[li], up_pay[li], up_p[li] = -1, -1, 0, 0
            frac_part[li] = 0
            p = 0
            lpay = 0
            exact_row = False
            exact_num, exact_den = 0, 1
            above = 0
            if base_kind == 0:  # on the year's burden
                counted = burden_claim + (costs[t, 2] if counts_prepay else costs[t, 3] if with_first else 0)
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
                    before[i] = b0 - amount
                    after[i] = b0 + counted - amount if counts else b0 - amount
                    q += 3 + summed
                first = desc[thresholds_at + 1]
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
                lpay = _banded(desc, lbands_at, blo, bhi)
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
                    lost = True  # a cap filled from a fraction: the scalar engine's from here
                lpay = min(lpay, room)
            p = _paid(desc, lkeys_at, pools, rounded, lpay, scale)
            if exact_row:  # _exact_layer_paid: cost * share / den, integers while they fit
                big = exact_num > exact_room // max(share_l, 1)
                for i in range(desc[lcaps_at]):
                    k = desc[lcaps_at + 1 + 2 * i]
                    big = big or frac_num[k] != 0 or desc[lcaps_at + 2 + 2 * i] > exact_room // exact_den \
                        or pools[k] + scale > exact_room // exact_den
                for i in range(desc[lkeys_at]):
                    k = desc[lkeys_at + 1 + i]
                    big = big or frac_num[k] != 0 or pools[k] + scale > exact_room // exact_den
                if big:  # (the numpy path's Fraction case: left to the scalar engine here)
                    lost = True
                    break
                nf = exact_num * share_l
                for i in range(desc[lcaps_at]):
                    k, limit = desc[lcaps_at + 1 + 2 * i], desc[lcaps_at + 2 + 2 * i]
                    nf = min(nf, max(limit - pools[k], 0) * exact_den)
                if desc[lkeys_at] > 0:
                    p = _NONE
                    for i in range(desc[lkeys_at]):
                        k = desc[lkeys_at + 1 + i]
                        p = min(p, (2 * (pools[k] * exact_den + nf) + scale * exact_den)
                                // (2 * scale * exact_den) - rounded[k])
                else:
                    p = (2 * nf + scale * exact_den) // (2 * scale * exact_den)
                lpay = nf // exact_den
                frac_part[li], frac_den_of[li] = nf % exact_den, exact_den
            elif base_kind == 1 and above <= 0:  # no payment, no layer update
                p, lpay = 0, 0
            up_keys[li], up_pay[li], up_p[li] = lkeys_at, lpay, p
            funds[fund] += p
            paid_so_far += p
        if lost:
            state[t] = 1
            dead = True
            if lost_years < len(snaps):
                snaps[lost_years, :len(acc)] = acc
                snaps[lost_years, len(acc)] = y
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
        for li in range(layers):
            if up_burden_key[li] >= 0:
                burden[up_burden_key[li]] = up_burden[li]
            q = up_keys[li]
            if q >= 0:
                for i in range(desc[q]):
                    k = desc[q + 1 + i]
                    pools[k] += up_pay[li]
                    rounded[k] += up_p[li]
                    if frac_part[li] != 0:
                        frac_num[k], frac_den[k] = frac_part[li], frac_den_of[li]
    return state, pyear, lost_years

"""The columnar engine's waves without the compiled kernel: numpy steps (batch.py, step 4).

Each person-year's claims in date order; the k-th claim of every person-year under plans of one
shape settled in one vectorised `Step`, the year's accumulators (`Accumulators`: stays,
deductibles, eligible cost, pools, burdens) a row per person-year, carried from wave to wave.
Payments are integers in 1/S fen, rounded half-up to the fen by integer arithmetic; a cap point
that is not a whole number of them is kept exact (`Exact`, Python fractions). The orders the
waves need (`sort_order`, `wave_order`, `unique_keys`) are here too, with the compiled kernel's
versions where batch_kernels has them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from .batch_kernels import kernels
from .batch_plans import NONE, Keys, VPlan, is_positive

if TYPE_CHECKING:
    from .batch import _Run

def round_div(num: np.ndarray, den: int) -> np.ndarray:
    """num / den rounded half-up, for num >= 0 (money's only rounding, money.q)."""
    return (2 * num + den) // (2 * den)


class Accumulators:
    """Each person-year's accumulators (settle.Year), as columns: a row per person-year, a
    column per key, stored column by column (a step gathers one key for many years)."""

    def __init__(self, n: int, keys: Keys, order: str = "F"):
        """`order`: F for the steps (a column per key), C for the kernel (a person-year's together)."""
        nb, npool, nburden = max(len(keys.benefits), 1), max(len(keys.pools), 1), max(len(keys.burdens), 1)
        self.stays = np.zeros((n, nb), np.int64, order=order)          # benefit -> stays (Year.benefit_stays)
        self.level_stays = np.zeros((n, max(len(keys.stays), 1)), np.int64, order=order)  # (benefit, level) -> Year.stays
        self.deductibles = np.zeros((n, nb), np.int64, order=order)
        self.levels = np.zeros((n, nb), np.int64, order=order)         # Year.deductible_levels
        self.eligible = np.zeros((n, nb), np.int64, order=order)
        self.pools = np.zeros((n, npool), np.int64, order=order)       # exact, in 1/scale fen
        self.rounded = np.zeros((n, npool), np.int64, order=order)     # fen
        self.burden = np.zeros((n, nburden), np.int64, order=order)
        # Costs above the deductible by (layer's fund, share), for a burden leaving out the cost
        # above a benefit's own cap (settle.Year.rated_costs).
        self.rated = np.zeros((n, max(len(keys.rated), 1)), np.int64, order=order)
        # A pool past a cap point off the grid: its exact value is pools + fractions[(y, k)] (< 1 unit).
        # Whole payments round the same with or without it (2x + S is even, S = 10^k, k >= 1).
        self.fractions: dict = {}
        self.has_fraction = np.zeros((n, npool), bool, order="F")
        self.daily = keys.daily()                 # the pools that are a day's (a daily cap's)
        self.day = np.full(n, -1, np.int64)       # whose day they hold: the year's last claim's

    def to_day(self, y: np.ndarray, day: np.ndarray) -> None:
        """Person-years `y` (distinct) on to claims dated `day`: their daily pools start empty
        where the day is another (a year's claims are settled in date order). No daily pool
        holds a fraction: a layer has no daily cap."""
        if not self.daily:
            return
        moved = y[self.day[y] != day]
        for k in self.daily:
            self.pools[moved, k] = 0
            self.rounded[moved, k] = 0
        self.day[y] = day

    @classmethod
    def of_snapshots(cls, snaps: np.ndarray, keys: Keys, widths: np.ndarray) -> "Accumulators":
        """The years the compiled kernel handed over, as it left them (a row each, its columns side
        by side in _batch_loops.settle_rows' order, the pools' fractions and the rated costs last,
        then the claim's day)."""
        acc = cls(len(snaps), keys, order="C")
        nb, nstay, npool, nburden, nrated = widths.tolist()
        at = 0
        for name, width in (("stays", nb), ("deductibles", nb), ("levels", nb), ("eligible", nb),
                            ("level_stays", nstay), ("pools", npool), ("rounded", npool), ("burden", nburden),
                            ("frac_num", npool), ("frac_den", npool), ("rated", nrated)):
            setattr(acc, name, snaps[:, at:at + width])
            at += width
        for y, k in zip(*np.nonzero(acc.frac_num)):
            acc.fractions[(int(y), int(k))] = Fraction(int(acc.frac_num[y, k]), int(acc.frac_den[y, k]))
        acc.day = snaps[:, at]  # (then the year's number)
        return acc


class _Exact:
    """The rows of a step whose cost above a cap point is a fraction: (hi - a) - left / share,
    kept as numerator over denominator (share)."""

    def __init__(self):
        self.parts: list = []

    def add(self, off: np.ndarray, span: np.ndarray, left: np.ndarray, share) -> None:
        rows = np.flatnonzero(off)
        den = share[rows] if isinstance(share, np.ndarray) else np.full(len(rows), share, np.int64)
        self.parts.append((rows, span[rows] * den - left[rows], den))

    def done(self) -> "_Exact":
        rows, num, den = (np.concatenate(x) for x in zip(*self.parts)) if self.parts else \
            (np.zeros(0, np.int64),) * 3
        self.rows, self.num, self.den = rows, num, den
        return self


class Out:
    def __init__(self, n: int, funds: list):
        self.deductible = np.zeros(n, np.int64)
        self.patient = np.zeros(n, np.int64)
        self.paid = {f: np.zeros(n, np.int64) for f in funds}
EXACT_LIMIT = 1 << 62  # a cap point's fraction in int64 while 4x its largest product stays below this


class Step:
    """engine.py's stages over arrays: `rows` (claims) of person-years `y`, all under plan `v`.
    `run()` settles them into `out`, updates the accumulators, and returns the rows whose exact
    amounts left the 1/scale-fen grid (their persons go to the scalar engine)."""

    def __init__(self, run: _Run, v: VPlan, rows: np.ndarray, y: np.ndarray, acc: Accumulators, out: Out):
        self.r, self.v, self.rows, self.y, self.acc, self.out = run, v, rows, y, acc, out
        self.scale = run.scale
        self.lost = np.zeros(len(rows), bool)
        self.fractions: list = []   # (person-year, pool, fraction of a unit) to add at commit

    def run(self) -> np.ndarray:
        v, rows, out = self.v, self.rows, self.out
        self.acc.to_day(self.y, self.r.claims.ordinal[rows])
        total = self.r.total[rows]
        if v.error is not None:  # the claim's error row; the year does not move
            return self.lost
        if v.not_covered:  # the patient pays it all; the year does not move
            out.patient[rows] = total
            return self.lost
        if self.r.portioned is not None:  # a class at its own rate: the scalar engine's from this claim on
            self.lost |= self.r.portioned[rows]
        if v.limit is not None or v.fixed is not None:  # 限额, 定额: likewise (the kernel pays them)
            self.lost[:] = True
        eligible = self.r.eligible[rows]
        due, target = self._deductible_due()
        charged = np.minimum(due, eligible)
        paid, exact, lo, hi, uncapped, rooms = self._paying_fund(charged, eligible)
        rated = self._rated_costs(lo, hi) if v.own_cap is not None else None
        funds = {v.payer: paid}
        updates = []
        paid_so_far = paid.copy()
        burden_claim = eligible - paid
        for layer in v.layers:
            p, update = self._layer(layer, eligible, charged, paid_so_far, burden_claim, lo, hi, uncapped, rooms)
            funds[layer.fund] = funds.get(layer.fund, 0) + p
            paid_so_far += p
            updates.append(update)
        out.deductible[rows] = charged
        for f in v.funds:
            out.paid[f][rows] = funds.get(f, 0)
        out.patient[rows] = total - paid_so_far
        if self.lost.any():  # taken over by the scalar engine from this claim on, as the year was
            self.r.snapshot(self.acc, np.unique(self.y[self.lost]))
        self._commit(charged, target, eligible, exact, paid, updates, rated)
        return self.lost

    def _rated_costs(self, lo, hi) -> list:
        """The claim's cost above its deductible in each band of the paying fund's rate (settle.
        cost_above_cap's rated costs); a row whose year's rated costs, with these, would come at
        their shares to more than the benefit's own cap is lost (the scalar engine finds which
        cost is above it). While they stay within it, none is above (settle.covered_by_cap)."""
        v, acc, y = self.v, self.acc, self.y
        pieces, start = [], 0
        for upper, _ in v.rate.scaled_bands:
            top = NONE if upper is None else upper
            pieces.append(np.maximum(np.minimum(hi, top) - np.maximum(lo, start), 0))
            start = top
        fund_of, share_of = self.r.rated_columns
        fund = self.r.funds.index(v.own_fund)
        total = np.zeros(len(y), np.int64)
        for k in np.flatnonzero((fund_of == fund) & (share_of > 0)).tolist():
            total += acc.rated[:, k].take(y) * share_of[k]
        for k, piece in zip(v.rated, pieces):
            total += piece * share_of[k]
        self.lost |= total > v.own_cap_s
        return pieces

    def _deductible_due(self):
        """settle.deductible_due and reduced, for deductibles without referral or none-from."""
        v, acc, y = self.v, self.acc, self.y
        n = len(y)
        if np.all(v.ded_amount == 0):  # (all or none of a step's rows: the sign is its shape's)
            return np.zeros(n, np.int64), None
        b = v.benefit
        if not v.reducible:
            base = np.full(n, v.ded_amount, np.int64)
        else:
            earlier = acc.stays[:, b].take(y)
            base = np.full(n, v.ded_base, np.int64)
            changed = np.full(n, v.ded_static_ref)
            if v.repeat is not None:
                base = base - v.repeat * earlier
                changed |= earlier > 0
            if v.floor is not None:
                base = np.where(changed & (base < v.floor), v.floor, base)
            base = np.maximum(base, 0)
        target = None
        if v.yearly:
            target = np.maximum(base, acc.levels[:, b].take(y))
            due = np.maximum(target - acc.deductibles[:, b].take(y), 0)
        else:
            due = base
        if v.none_from is not None and v.none_from_applies:
            counted = _columns_sum(acc.level_stays, y, v.stays_counted)
            none = counted + 1 >= v.none_from[0]
            due = np.where(none, 0, due)
            if target is not None:  # settle.deductible_due returns before the yearly amount
                target = np.where(none, acc.levels[:, b].take(y), target)
        if v.cap_reached_s:
            # Past the basic fund's yearly cap the layer above it settles alone: no deductible.
            reached = np.zeros(n, bool)
            for k, limit in v.cap_reached_s:
                reached |= acc.pools[:, k].take(y) >= limit
            due = np.where(reached, 0, due)
        return due, target

    def _paying_fund(self, charged, eligible):
        v, acc, y = self.v, self.acc, self.y
        e0 = _columns_sum(acc.eligible, y, v.scope)
        lo, hi = e0 + charged, e0 + eligible
        pay = _banded(lo, hi, v.rate.scaled_bands)
        uncapped = pay
        rooms_fund = np.full(len(y), NONE, np.int64)
        rooms_any = rooms_fund.copy()
        for k, limit, fund_wide in v.caps_s:
            room = np.maximum(limit - acc.pools[:, k].take(y), 0)
            bound = pay > room
            pay = np.where(bound, room, pay)
            rooms_any = np.where(bound, np.minimum(rooms_any, room), rooms_any)
            if fund_wide:
                rooms_fund = np.where(bound, np.minimum(rooms_fund, room), rooms_fund)
        return self._paid(pay, v.keys), pay, lo, hi, uncapped, (rooms_fund, rooms_any)

    def _paid(self, pay, keys):
        """settle.paid: the increase of the rounded exact cumulative, the least over its pools."""
        s = self.scale
        if not keys:
            return round_div(pay, s)
        acc, y = self.acc, self.y
        return np.min([round_div(acc.pools[:, k].take(y) + pay, s) - acc.rounded[:, k].take(y) for k in keys],
                      axis=0)

    def _layer(self, layer, eligible, charged, paid_so_far, burden_claim, lo, hi, uncapped, rooms):
        n = len(eligible)
        zero = np.zeros(n, np.int64)
        if layer.base == "burden":
            counted = burden_claim + (self.r.prepay[self.rows] if layer.counts_prepay
                                      else self.r.first_share[self.rows] if layer.includes_first_share else 0)
            acc, y = self.acc, self.y
            burden = (layer.burden, acc.burden[:, layer.burden].take(y) + counted)
            if layer.rate is None or layer.not_covered:
                return zero, (burden, [], zero, zero)
            lo, hi = self._burden_positions(layer, counted)
            pay = _banded(lo, hi, layer.rate.scaled_bands)
            return self._layer_paid(layer, pay, burden)
        if layer.rate is None:
            return zero, (None, [], zero, zero)
        if layer.base == "above-cap":
            self.exact = _Exact()
            above = self._above(rooms[1] if layer.above_any_cap else rooms[0], eligible, lo, hi, uncapped)
            pay = above * layer.rate.scaled_share
            ex = self.exact.done()
            p, update = self._layer_paid(layer, pay, None, exclude=ex.rows)
            pay, p = update[2], p.copy()
            if len(ex.rows):
                share = layer.rate.scaled_share
                share = share[ex.rows] if isinstance(share, np.ndarray) else np.full(len(ex.rows), share, np.int64)
                p[ex.rows], pay[ex.rows] = self._exact_layer_paid(layer, ex.rows, ex.num, share, ex.den)
            # No payment, no layer update (engine._above_cap returns before _layer_paid).
            skip = above <= 0
            skip[ex.rows] = False
            return np.where(skip, 0, p), (None, layer.keys, np.where(skip, 0, pay), np.where(skip, 0, p))
        if layer.not_covered:
            return zero, (None, [], zero, zero)
        remaining = eligible - paid_so_far - (charged if layer.above_deductible else 0) \
            + (self.r.first_share[self.rows] if layer.includes_first_share else 0)
        pay = np.maximum(remaining, 0) * layer.rate.scaled_share
        return self._layer_paid(layer, pay, None)

    def _burden_positions(self, layer, counted):
        """engine._burden_positions: the excess over each group of thresholds (the larger one in
        a group), placed above the first threshold."""
        acc, y = self.acc, self.y
        before, after = [], []
        for (amount, _, counts), summed in zip(layer.thresholds, layer.summed):
            b0 = _columns_sum(acc.burden, y, summed)
            before.append(b0 - amount)
            after.append(b0 + counted - amount if counts else b0 - amount)
        first = layer.thresholds[0][0]
        lo, hi = np.full(len(y), first, np.int64), np.full(len(y), first, np.int64)
        for group in layer.groups:
            lo += np.maximum(np.max([before[i] for i in group], axis=0), 0)
            hi += np.maximum(np.max([after[i] for i in group], axis=0), 0)
        return lo, hi

    def _layer_paid(self, layer, pay, burden, exclude=()):
        acc, y = self.acc, self.y
        for k, limit in layer.caps_s:
            room = np.maximum(limit - acc.pools[:, k].take(y), 0)
            if acc.fractions:
                # A pool holding a fraction (an earlier cap point) that this payment would fill:
                # the capped payment is a fraction too; the year goes on in the scalar engine.
                frac = acc.has_fraction[:, k].take(y) & (pay > 0) & (pay >= room)
                frac[list(exclude)] = False
                self.lost |= frac
            pay = np.minimum(pay, room)
        p = self._paid(pay, layer.keys)
        return p, (burden, layer.keys, pay, p)

    def _above(self, rooms, eligible, lo, hi, uncapped):
        """engine._above: the eligible cost (fen) above the basic fund's cap point. A cap point
        off the 1/scale-fen grid marks the row lost (its person goes to the scalar engine)."""
        bound = rooms != NONE
        above = np.zeros(len(rooms), np.int64)
        used_up = bound & (rooms <= 0)
        above[used_up] = eligible[used_up]
        crossing = bound & (rooms > 0) & (uncapped > rooms)
        if crossing.any():
            pos = hi.copy()
            found = np.zeros(len(rooms), bool)
            paid = np.zeros(len(rooms), np.int64)
            start = 0
            for upper, share in self.v.rate.scaled_bands:
                top = NONE if upper is None else upper
                a, b = np.maximum(lo, start), np.minimum(hi, top)
                seg = np.where(b > a, (b - a) * share, 0)
                hit = crossing & ~found & (b > a) & (share > 0) & (paid + seg >= rooms)
                if is_positive(share):
                    left = rooms - paid
                    off = hit & (left % share != 0)
                    if off.any():  # off the grid: the cost above it is (hi - a) - left / share
                        self.exact.add(off, hi - a, left, share)
                    pos = np.where(hit, a + left // share, pos)
                found |= hit
                paid += seg
                start = top
            above = np.where(crossing, hi - pos, above)
        return above

    def _exact_layer_paid(self, layer, rows: np.ndarray, cost: np.ndarray, share: np.ndarray, den: np.ndarray):
        """_layer_paid for rows whose payment (1/scale fen) is a fraction, cost * share / den: the layer's
        pools keep the part below one unit in `acc.fractions`, added to them at commit. Integer
        arithmetic over the rows' common form; in Python (`Fraction`) where a pool already holds a
        fraction or the products could pass int64. Returns (payments in fen, whole units)."""
        acc, s = self.acc, self.scale
        y = self.y[rows]
        caps = [(k, limit[rows] if isinstance(limit, np.ndarray) else limit) for k, limit in layer.caps_s]
        pooled = [k for k, _ in caps] + list(layer.keys)
        slow = np.zeros(len(rows), bool)
        for k in pooled:
            slow |= acc.has_fraction[:, k].take(y)
        widest = int(den.max(initial=0))
        most = max([int(cost.max(initial=0)) * int(share.max(initial=0))]
                   + [int(np.max(limit)) * widest for _, limit in caps]
                   + [(int(acc.pools[:, k].take(y).max(initial=0)) + s) * widest for k in pooled])
        if 4 * most >= EXACT_LIMIT:
            slow[:] = True
        else:
            num = cost * share
        p, whole = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
        fast = ~slow
        if fast.any():
            yf, nf, df = y[fast], num[fast], den[fast]
            for k, limit in caps:
                nf = np.minimum(nf, np.maximum((limit[fast] if isinstance(limit, np.ndarray) else limit)
                                               - acc.pools[:, k].take(yf), 0) * df)
            if layer.keys:
                p[fast] = np.min([(2 * (acc.pools[:, k].take(yf) * df + nf) + s * df) // (2 * s * df)
                                  - acc.rounded[:, k].take(yf) for k in layer.keys], axis=0)
            else:
                p[fast] = (2 * nf + s * df) // (2 * s * df)
            whole[fast] = nf // df
            part = nf % df
            for j in np.flatnonzero(part).tolist():
                self.fractions.extend((int(yf[j]), k, Fraction(int(part[j]), int(df[j]))) for k in layer.keys)
        for j in np.flatnonzero(slow).tolist():
            p[j], whole[j] = self._exact_one(layer, int(y[j]), Fraction(int(cost[j]) * int(share[j]), int(den[j])),
                                             [(k, int(limit[j]) if isinstance(limit, np.ndarray) else limit)
                                              for k, limit in caps])
        return p, whole

    def _exact_one(self, layer, y: int, pay: Fraction, caps) -> tuple[int, int]:
        acc, s = self.acc, self.scale
        exact = lambda k: int(acc.pools[y, k]) + acc.fractions.get((y, k), 0)  # noqa: E731
        for k, limit in caps:
            pay = min(pay, max(limit - exact(k), 0))
        if layer.keys:
            p = min(math.floor((2 * (exact(k) + pay) + s) / (2 * s)) - int(acc.rounded[y, k]) for k in layer.keys)
        else:
            p = math.floor((2 * pay + s) / (2 * s))
        whole = math.floor(pay)
        self.fractions.extend((y, k, pay - whole) for k in layer.keys)
        return p, whole

    def _commit(self, charged, target, eligible, exact, paid, updates, rated=None) -> None:
        """engine._commit: the year's changes, in one place."""
        v, acc, y = self.v, self.acc, self.y
        b = v.benefit
        # (a step's years are distinct, so a column's y-th entries can be added to in place)
        if v.counts_stay:
            acc.stays[:, b][y] += 1
            acc.level_stays[y, v.stay] += 1  # (the stay may differ by row: plans of one shape)
        loops = self.r.loops
        _add(loops, acc.deductibles[:, b], y, charged)
        if target is not None:
            acc.levels[:, b][y] = target
        _add(loops, acc.eligible[:, b], y, eligible)
        _record(loops, acc, y, v.keys, exact, paid)
        for burden, keys, pay, p in updates:
            if burden is not None:
                acc.burden[:, burden[0]][y] = burden[1]
            _record(loops, acc, y, keys, pay, p)
        for k, piece in zip(v.rated if rated is not None else (), rated or ()):
            _add(loops, acc.rated[:, k], y, piece)
        for year, k, part in self.fractions:
            part += acc.fractions.pop((year, k), 0)
            if part >= 1:
                acc.pools[year, k] += 1
                part -= 1
            if part:
                acc.fractions[(year, k)] = part
            acc.has_fraction[year, k] = bool(part)


def _columns_sum(table: np.ndarray, y: np.ndarray, columns: list) -> np.ndarray:
    """table[y][:, columns].sum(axis=1), a column at a time (5x quicker than taking whole rows)."""
    total = np.zeros(len(y), np.int64)
    for j in columns:
        total += table[:, j].take(y)
    return total


def _record(loops, acc: Accumulators, y, keys, exact, rounded) -> None:
    for k in keys:
        _add(loops, acc.pools[:, k], y, exact)
        _add(loops, acc.rounded[:, k], y, rounded)


def _add(loops, column: np.ndarray, y: np.ndarray, values) -> None:
    """column[y] += values, the y distinct: with the loops one pass, not a gather, a sum and a scatter."""
    if loops is not None and isinstance(values, np.ndarray) and values.dtype == y.dtype == np.int64 \
            and column.flags.c_contiguous:
        loops.add_at(column, y, values)
    else:
        column[y] += values


def sort_order(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """np.lexsort((positions, second, first)) for non-negative keys, as one sort of one integer
    key when it fits in 63 bits (a quarter of the time); a small key sorts by radix."""
    n = len(first)
    lo = int(second.min()) if n else 0  # (not min(initial=0): dates are ordinals ~739,000, the counts' span)
    span_f, span_s = int(first.max(initial=0)) + 1, int(second.max(initial=0)) - lo + 1
    loops = kernels(n)
    if loops is not None and span_f + span_s <= 4 * n + 4096:  # two counting sorts, O(n + spans)
        return loops.sort_order(first.astype(np.int64, copy=False), second.astype(np.int64, copy=False),
                                lo, span_f, span_s)
    if span_f * span_s < 1 << 16:
        return np.argsort((first * span_s + (second - lo)).astype(np.uint16), kind="stable")
    if span_f * span_s * max(n, 1) >= 1 << 62:
        return np.lexsort((np.arange(n), second, first))
    return np.argsort((first * span_s + (second - lo)) * n + np.arange(n))


def wave_order(rows, person_scheme, ordinal, year, shape) -> tuple:
    """The rows of the waves in their order: each person-year's claims by date (ties in input
    order), numbered into person-years and ranks, then by (rank, shape): the k-th claims of every
    year, a step's rows together. Returns (rows, person-year, rank) in that order and the number
    of person-years. With the loops, one compiled pass (the same values)."""
    n = len(rows)
    lo = int(ordinal.min()) if n else 0
    span_f, span_s = int(person_scheme.max(initial=0)) + 1, int(ordinal.max(initial=0)) - lo + 1
    loops = kernels(n)
    if loops is not None and span_f + span_s <= 4 * n + 4096:
        int64 = lambda a: a.astype(np.int64, copy=False)  # noqa: E731 (one signature, compiled once)
        order, pyear, rank, years = loops.wave_order(int64(person_scheme), int64(ordinal), int64(year), int64(shape),
                                                     lo, span_f, span_s, int(shape.max(initial=0)) + 1)
        return rows[order], pyear, rank, years
    order = sort_order(person_scheme, ordinal)  # the year follows the date
    rows, person_scheme, year, shape = rows[order], person_scheme[order], year[order], shape[order]
    new = np.r_[True, (person_scheme[1:] != person_scheme[:-1]) | (year[1:] != year[:-1])]
    pyear = np.cumsum(new) - 1
    rank = np.arange(len(rows)) - np.flatnonzero(new)[pyear]
    by_wave = sort_order(rank, shape)
    return rows[by_wave], pyear[by_wave], rank[by_wave], int(pyear[-1]) + 1


def unique_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(keys, return_index=True, return_inverse=True) for non-negative keys of few
    distinct values: with the loops, one pass through a small table, then the few keys sorted."""
    loops = kernels(len(keys))
    if loops is None:
        return np.unique(keys, return_index=True, return_inverse=True)
    codes, firsts = loops.first_codes(keys)
    order = np.argsort(keys[firsts])
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return keys[firsts][order], firsts[order], rank[codes]


def _banded(lo, hi, bands) -> np.ndarray:
    """settle.banded in 1/scale fen: each band's part of lo..hi (fen) times its scaled share."""
    if len(bands) == 1 and bands[0][0] is None:
        return np.maximum(hi - lo, 0) * bands[0][1]
    pay = np.zeros(len(lo), np.int64)
    start = 0
    for upper, share in bands:
        top = NONE if upper is None else upper
        a, b = np.maximum(lo, start), np.minimum(hi, top)
        pay += np.maximum(b - a, 0) * share
        start = top
    return pay

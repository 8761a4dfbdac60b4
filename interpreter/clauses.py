"""Compiled clauses: which claims a clause is about (its constraint) and what it sets.

A constraint is plain data: per dimension the allowed values, intervals on measures and
dates. `implies` orders clauses by specificity, `overlaps` finds clauses that may both
apply to one claim; the compiler's checks and the engine's choice of clause use them.
"""

from __future__ import annotations

import datetime as dt
import functools
from bisect import bisect_left, insort
from decimal import Decimal
from typing import Any, Iterator, NamedTuple, Optional, Union

import attrs

from .ast import Span
from .vocabulary import MULTI_DIMS

Interval = tuple[Optional[int], Optional[int]]  # closed, None = unbounded


def _interval_within(a: Interval, b: Interval) -> bool:
    lo_ok = b[0] is None or (a[0] is not None and a[0] >= b[0])
    hi_ok = b[1] is None or (a[1] is not None and a[1] <= b[1])
    return lo_ok and hi_ok


def _interval_meet(a: Interval, b: Interval) -> Interval:
    lo = max((x for x in (a[0], b[0]) if x is not None), default=None)
    hi = min((x for x in (a[1], b[1]) if x is not None), default=None)
    return (lo, hi)


@attrs.frozen
class Constraint:
    """The claims a clause is about. Empty means every claim."""

    values: tuple[tuple[str, frozenset], ...] = ()     # dimension -> allowed values (any of)
    excluded: tuple[tuple[str, frozenset], ...] = ()   # dimension -> values it must not have
    measures: tuple[tuple[str, Interval], ...] = ()    # measure -> closed interval
    dates: Interval = (None, None)                     # ordinal days, closed
    required: tuple[tuple[str, frozenset], ...] = ()   # dimension -> values it must all have (`and`)

    @functools.cached_property
    def _by_dim(self) -> dict:
        return dict(self.values)

    def clearly_apart(self, other: "Constraint") -> bool:
        """A cheap test: no claim can satisfy both, because a single-valued dimension or the
        dates leave nothing in common. False means "maybe"; `overlaps` decides."""
        mine = self._by_dim
        for d, v in other.values:
            m = mine.get(d)
            if m is not None and d not in MULTI_DIMS and m.isdisjoint(v):
                return True
        (a0, a1), (b0, b1) = self.dates, other.dates
        return (a1 is not None and b0 is not None and a1 < b0) or (b1 is not None and a0 is not None and b1 < a0)

    def get(self, dim: str) -> Optional[frozenset]:
        for d, v in self.values:
            if d == dim:
                return v
        return None

    def dims(self) -> set[str]:
        return {d for d, _ in self.values}

    def meet(self, other: "Constraint") -> "Constraint":
        """The constraint of a clause inside a block: both must hold."""
        values = dict(self.values)
        for d, v in other.values:
            values[d] = values[d] & v if d in values else v
        excluded = dict(self.excluded)
        for d, v in other.excluded:
            excluded[d] = excluded.get(d, frozenset()) | v
        measures = dict(self.measures)
        for m, iv in other.measures:
            measures[m] = _interval_meet(measures[m], iv) if m in measures else iv
        required = dict(self.required)
        for d, v in other.required:
            required[d] = required.get(d, frozenset()) | v
        return Constraint(tuple(sorted(values.items())), tuple(sorted(excluded.items())),
                          tuple(sorted(measures.items())), _interval_meet(self.dates, other.dates),
                          tuple(sorted(required.items())))

    def without(self, *dims: str) -> "Constraint":
        return attrs.evolve(self, values=tuple((d, v) for d, v in self.values if d not in dims))

    def implies(self, other: "Constraint") -> bool:
        """Every claim this constraint admits, `other` admits too (this one is as specific or more)."""
        mine = dict(self.values)
        my_required = dict(self.required)
        for d, allowed in other.values:
            if (d not in mine or not mine[d] <= allowed) and my_required.get(d, frozenset()).isdisjoint(allowed):
                return False
        for d, needed in other.required:
            have = my_required.get(d, frozenset()) | (mine[d] if len(mine.get(d, ())) == 1 else frozenset())
            if not needed <= have:
                return False
        mine_ex = dict(self.excluded)
        for d, banned in other.excluded:
            if not (banned <= mine_ex.get(d, frozenset()) or (d in mine and not (mine[d] & banned))):
                return False
        my_measures = dict(self.measures)
        for m, iv in other.measures:
            if m not in my_measures or not _interval_within(my_measures[m], iv):
                return False
        return _interval_within(self.dates, other.dates)

    def overlaps(self, other: "Constraint") -> bool:
        """Some claim could satisfy both. Several groups or conditions may hold at once."""
        mine = dict(self.values)
        for d, allowed in other.values:
            if d in mine and d not in MULTI_DIMS and not (mine[d] & allowed):
                return False
        merged = self.meet(other)
        for d, v in merged.values:
            # Every value one clause needs, the other bans (`veteran-worker` against `not veteran-worker`).
            if v <= dict(merged.excluded).get(d, frozenset()):
                return False
        for d, v in merged.required:
            # `hypertension and diabetes` against `not diabetes`.
            if v & dict(merged.excluded).get(d, frozenset()):
                return False
        for _, iv in merged.measures:
            if iv[0] is not None and iv[1] is not None and iv[0] > iv[1]:
                return False
        d = merged.dates
        return d[0] is None or d[1] is None or d[0] <= d[1]

    def describe(self) -> str:
        parts = [" ".join(sorted(v)) for _, v in self.values]
        parts += ["not " + " ".join(sorted(v)) for _, v in self.excluded]
        parts += [" and ".join(sorted(v)) for _, v in self.required]
        for m, (lo, hi) in self.measures:
            parts.append(f"{m} {lo if lo is not None else ''}..{hi if hi is not None else ''}")
        if self.dates != (None, None):
            lo, hi = self.dates
            parts.append(f"dates {_date(lo)}..{_date(hi)}")
        return ", ".join(parts) or "every claim"


def pairs_to_compare(constraints: list[Constraint], tiers: list[int]) -> list[tuple[int, int]]:
    """The pairs (i < j) of clauses of one tier that might both apply to one claim with
    neither containing the other, or that are the same claims twice: what the ambiguity check
    must look at. Near-linear for a table over one measure (`age >= 1 1% age >= 2 2% ...`):
    clauses alike but for that measure are grouped, and only their equal or partly
    overlapping intervals are paired; clauses of one constraint are paired with the first and
    the one before (_pairs_alike); groups that are clearly apart are never paired."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(constraints):
        key = (tiers[i], c.values, c.excluded, c.dates, tuple(m for m, _ in c.measures), c.required)
        groups.setdefault(key, []).append(i)
    keys = list(groups)
    later = _later_overlapping([k[3] for k in keys])
    out: list[tuple[int, int]] = []
    for n, ka in enumerate(keys):
        a = groups[ka]
        out.extend(_pairs_within(a, constraints) if len(ka[4]) == 1 else _pairs_alike(a) if not ka[4] else _all_pairs(a))
        envelope = attrs.evolve(constraints[a[0]], measures=())
        for kb in (keys[m] for m in later[n]):
            b = groups[kb]
            if kb[0] != ka[0] or envelope.clearly_apart(constraints[b[0]]):
                continue
            out.extend((min(i, j), max(i, j)) for i in a for j in b)
    return sorted(out)


def _later_overlapping(dates: list[Interval]) -> list[list[int]]:
    """For each date range, the later ones (by position) that meet it, by a sweep over the
    start dates rather than by trying every pair: a block of hundreds of clauses, one per
    period, is near-linear. A range without a start or end is open that way."""
    def start(i):
        return dates[i][0]
    later: list[list[int]] = [[] for _ in dates]
    active: list[int] = []  # started and not yet ended, as of the current start date
    for j in sorted(range(len(dates)), key=lambda i: (start(i) is not None, start(i) or 0)):
        if start(j) is not None:
            active = [i for i in active if dates[i][1] is None or dates[i][1] >= start(j)]
        for i in active:
            if i < j:
                later[i].append(j)
            else:
                later[j].append(i)
        active.append(j)
    return [sorted(js) for js in later]


def _pairs_alike(indices: list[int]) -> Iterator[tuple[int, int]]:
    """Clauses of one constraint (the same claims): each against the first and the one before
    it, which is enough to find every clause that sets a thing differently from them, and keeps
    a pasted block of a thousand alike clauses linear, not a million pairs and as many errors."""
    yield from ((indices[0], j) for j in indices[1:])
    yield from ((indices[k - 1], indices[k]) for k in range(2, len(indices)))


def _all_pairs(indices: list[int]) -> Iterator[tuple[int, int]]:
    return ((i, j) for n, i in enumerate(indices) for j in indices[n + 1:])


def _pairs_within(indices: list[int], constraints: list[Constraint]) -> Iterator[tuple[int, int]]:
    """Clauses alike but for one measure's interval: pairs with the same interval, and pairs
    whose intervals partly overlap. Nested intervals (one clause more specific) and disjoint
    ones need no check."""
    by_interval: dict[Interval, list[int]] = {}
    for i in indices:
        by_interval.setdefault(constraints[i].measures[0][1], []).append(i)
    for same in by_interval.values():
        yield from ((same[0], j) for j in same[1:])
    inf = float("inf")
    bounds = [(-inf if lo is None else lo, inf if hi is None else hi) for lo, hi in by_interval]
    members = list(by_interval.values())
    active: list[tuple[float, int]] = []  # (upper bound, interval number), by upper bound
    for k in sorted(range(len(bounds)), key=lambda k: (bounds[k][0], -bounds[k][1])):
        lo, hi = bounds[k]
        # Earlier intervals start at or before `lo`; those ending in [lo, hi) overlap it partly.
        for _, other in active[bisect_left(active, (lo,)):bisect_left(active, (hi,))]:
            yield from ((min(i, j), max(i, j)) for i in members[other] for j in members[k])
        insort(active, (hi, k))


def _date(ordinal: Optional[int]) -> str:
    return dt.date.fromordinal(ordinal).isoformat() if ordinal is not None else ""


@attrs.frozen
class Amt:
    """An amount: a constant, or a parameter times a factor (resolved per run)."""

    const: Optional[Decimal] = None
    param: Optional[str] = None
    factor: Decimal = Decimal(1)

    def of(self, params: dict) -> Decimal:
        if self.param is None:
            return self.const  # type: ignore[return-value]
        return params[self.param] * self.factor

    def __str__(self) -> str:
        if self.param is None:
            return f"{self.const}"
        return f"{self.factor} × {self.param}" if self.factor != 1 else self.param


@attrs.frozen
class BandSpec:
    """Shares by position: `65% to 20000, 70% to 50000, 75% above` -> ((0.65, 20000), ..., (0.75, None))."""

    bands: tuple[tuple[Amt, Optional[Amt]], ...]


class PoolKey(NamedTuple):
    """A fund's capped pool: the benefits and maternity events whose payments count in it
    (None: every one) and its period ("year", or "day": 日限额)."""

    benefits: Optional[tuple[str, ...]]
    events: Optional[tuple[str, ...]]
    period: str

    def __repr__(self) -> str:  # as the plain tuple it is: the quantity `cap:(...)`, generated texts
        return tuple.__repr__(self)


# The values of the settings that are more than an amount or a share (the compiler's lowering
# makes them; terms and plan read them by name).

@attrs.frozen
class CapSpec:
    """`cap 2000 yearly with outpatient`: the amount, its period ("year" or "day"), the other
    benefits that share it (含), and its pool (set where the clause's benefits are known)."""

    amount: Amt
    period: str
    shared: tuple[str, ...] = ()
    pool: Optional[PoolKey] = None


@attrs.frozen
class CapAdjustSpec:
    """`cap + 20%` (a share of the cap) or `cap + 200` (an amount), `each-extra MEASURE`: for
    each unit of the measure past the first."""

    delta: Union[Decimal, Amt]   # a share: Decimal; an amount: Amt
    share: bool
    each: Optional[str] = None


@attrs.frozen
class ThresholdSpec:
    """A layer's threshold `for` some benefits: the amount their yearly burden must pass."""

    amount: Amt
    benefits: frozenset


@attrs.frozen
class CeilingSpec:
    """An item class's price ceiling (最高支付限价), per day where `daily` (床位费)."""

    amount: Amt
    daily: bool


@attrs.frozen
class RateAsSpec:
    """`rate as level3 + 5 points`: the rate at another level, with points added (a fraction)."""

    level: str
    points: Decimal


@attrs.frozen
class AllowanceAdjustSpec:
    """`allowance + 15 days [each-extra MEASURE]`."""

    days: int
    each: Optional[str] = None


@attrs.frozen
class Setting:
    """One thing a clause sets: the quantity (`rate`, `deductible`, `cap:...`), how, and the value."""

    quantity: str       # what it sets
    mode: str           # "abs" | "adjust" | "flag"
    value: Any
    span: Span


@attrs.frozen
class Clause:
    constraint: Constraint
    settings: tuple[Setting, ...]
    exception: bool
    order: int
    span: Span
    cite: Optional[str]
    fund: str                          # the fund whose clauses these are
    item: bool = False                 # selects item classes: prepay, ceilings, class rates

    @property
    def tier(self) -> int:
        return 1 if self.exception else 0

    @functools.cached_property
    def ref(self) -> dict:
        """Where a trace step points: the line of the policy and the article cited."""
        d = {"line": self.span.line}
        if self.cite:
            d["cite"] = self.cite
        return d


class Clauses(tuple):
    """Clauses in their order, with, for each benefit, the ones that can apply to its claims:
    those naming it, or naming no benefit. Most clauses name one benefit, and `terms.resolve`
    runs for every distinct claim (Ziyang's employees: 97 clauses, 4 to 47 for one benefit)."""

    def __new__(cls, clauses=()):
        self = super().__new__(cls, clauses)
        named = [c.constraint.get("benefit") for c in self]
        self.unnamed = tuple(c for c, b in zip(self, named) if b is None)
        self.by_benefit = {benefit: tuple(c for c, b in zip(self, named) if b is None or benefit in b)
                           for benefit in sorted(set().union(*(b for b in named if b is not None)))}
        return self

    def of_benefit(self, benefit: Optional[str]) -> tuple:
        """The clauses that can apply to a claim of `benefit`, in their order."""
        return self.by_benefit.get(benefit, self.unnamed)

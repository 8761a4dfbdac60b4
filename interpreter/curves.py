"""A policy's benefit curves: what each fund pays, and the patient, as a function of a claim's cost.

Every rule of the language is piecewise linear in the claim's cost (a deductible, rates, bands,
caps, layers above a cap or a threshold), and the engine rounds each fund once per claim, so a
fund's payment is a piecewise-linear function rounded to the fen. A `Curve` recovers it from the
engine itself, by adaptive bisection: a stretch is linear when points inside it lie on the chord
(to the fen); where they do not, it is halved until the kink is pinned to one fen. Nothing here
reads the engine's internals: a curve is what `Policy.settle` answers, so it is what a member gets.

`cases` lists the claims a policy distinguishes (scheme × benefit × level × status × place ×
group, other selectors one at a time), each a `Case` that writes the claim for a given cost.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import re
from decimal import Decimal
from typing import Iterable, Optional

import attrs

from .claim_fields import CHOICE_PREFIX, measure_fields
from .policy import Policy, State

CENT = Decimal("0.01")
ZERO = Decimal(0)
# Each end and the middle are rounded, and a layer on the burden sees the basic fund's rounded
# payment: two fen of slack before a point is off its chord.
SLACK = Decimal("0.02")
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(万)?(?![\w%])")
_PERCENT = re.compile(r"\d+(?:\.\d+)?%")
# Selector dimensions a claim field feeds, besides those a Case has slots for.
_ONE_AT_A_TIME = ("grade", "type", "event", "condition", "disease-class")


@attrs.frozen
class Case:
    """One kind of claim: the selectors that decide its terms. `extra` holds other claim fields."""

    scheme: str
    benefit: str
    level: str
    status: Optional[str] = None
    place: str = "local"
    group: Optional[str] = None
    extra: tuple = ()  # ((path, value), ...), a path being a tuple of keys

    def claim(self, cost: Decimal, *, date: str, cid: str = "probe", person: str = "probe") -> dict:
        """The claim of this case with one class-A item of `cost`."""
        c: dict = {"id": cid, "person": person, "date": date, "scheme": self.scheme, "benefit": self.benefit,
                   "facility": {"level": self.level}, "place": self.place,
                   "items": [{"class": "A", "amount": f"{cost:.2f}"}]}
        if self.status:
            c["status"] = self.status
        if self.group:
            c["groups"] = [self.group]
        for path, value in self.extra:
            target = c
            for k in path[:-1]:
                target = target.setdefault(k, {})
            target[path[-1]] = list(value) if isinstance(value, tuple) else value
        return c

    def label(self) -> str:
        parts = [self.scheme, self.benefit, self.level, self.status, self.place, self.group]
        parts += [f"{'.'.join(p)}={v}" for p, v in self.extra]
        return " ".join(str(p) for p in parts if p)


@attrs.frozen
class Point:
    """The settlement of one probe claim: each fund's payment and the patient's share, or an error code."""

    cost: Decimal
    paid: tuple  # ((fund, amount), ...) in the policy's order
    patient: Decimal
    error: Optional[str] = None
    reason: Optional[str] = attrs.field(default=None, eq=False)  # the error's message, said when nothing settles

    def value(self, fund: str) -> Decimal:
        if fund == "patient":
            return self.patient
        return dict(self.paid).get(fund, ZERO)


@attrs.frozen
class Segment:
    """A stretch of cost over which every fund's payment is linear: from `lo` to `hi`."""

    lo: Point
    hi: Point

    def slope(self, fund: str) -> Decimal:
        run = self.hi.cost - self.lo.cost
        return (self.hi.value(fund) - self.lo.value(fund)) / run if run else ZERO


class Prober:
    """Settles probe claims of one case on one policy, each in the same year after an optional
    earlier claim, and remembers every answer (the curve and the comparison share them)."""

    def __init__(self, policy: Policy, case: Case, params: dict, *, date: str, prior: Optional[Decimal] = None):
        self.policy, self.case, self.params, self.date = policy, case, params, date
        self.funds = policy.funds(case.scheme)
        self.state: Optional[State] = None
        self.prior_error: Optional[str] = None
        if prior is not None:
            r = policy.settle(case.claim(prior, date=date, cid="first"), params=params)
            self.state = r.state
            self.prior_error = None if r.ok else r.to_json()["error"]["code"]
        self.points: dict[Decimal, Point] = {}

    def at(self, cost: Decimal) -> Point:
        cost = cost.quantize(CENT)
        p = self.points.get(cost)
        if p is None:
            r = self.policy.settle(self.case.claim(cost, date=self.date), state=self.state, params=self.params)
            data = r.to_json(trace=False)
            if "error" in data:
                p = Point(cost, (), cost, data["error"]["code"], data["error"]["message"])
            else:
                p = Point(cost, tuple((f, Decimal(data["paid"].get(f, "0"))) for f in self.funds),
                          Decimal(data["patient"]))
            self.points[cost] = p
        return p

    def unsettled(self) -> Optional[Point]:
        """The first failed probe when no probe settled (the case has no curve), else None."""
        failed = sorted((p for p in self.points.values() if p.error), key=lambda p: p.cost)
        return failed[0] if failed and len(failed) == len(self.points) else None


def _on_chord(a: Point, b: Point, m: Point, funds: Iterable[str]) -> bool:
    if a.error or b.error or m.error:
        return a.error == b.error == m.error
    span = b.cost - a.cost
    for f in funds:
        expected = a.value(f) + (b.value(f) - a.value(f)) * (m.cost - a.cost) / span
        if abs(m.value(f) - expected) > SLACK:
            return False
    return True


@attrs.frozen
class Curve:
    """A case's settlement over costs 0..top: linear segments, and kinks pinned to the fen."""

    case: Case
    segments: tuple[Segment, ...]
    funds: tuple[str, ...]
    lines: tuple = ()  # per segment, {fund: (slope, intercept)} fitted to every probe in it
    kinks: tuple = ()  # where some fund's slope changes, to the fen: where two stretches' lines meet

    def slope(self, fund: str, cost: Decimal) -> Decimal:
        """A fund's slope just above `cost` (the share of each further yuan it pays); a fund this
        version does not have pays nothing."""
        line = self.lines[bisect.bisect_right(self.kinks, cost)] if self.lines else {}
        return line.get(fund, (ZERO, ZERO))[0]

    def at(self, cost: Decimal, fund: str) -> Decimal:
        """A fund's payment at `cost` on the stretch that holds it (rounded to the fen)."""
        for s in self.segments:
            if cost <= s.hi.cost:
                base = s.lo if cost >= s.lo.cost else s.lo
                return (base.value(fund) + s.slope(fund) * (cost - base.cost)).quantize(CENT)
        last = self.segments[-1]
        return (last.hi.value(fund) + last.slope(fund) * (cost - last.hi.cost)).quantize(CENT)


def _kink(line_s: dict, line_t: dict, s: Segment, t: Segment) -> Decimal:
    """Where the line of `s` meets the line of `t`, judged by the fund whose slope changes most."""
    fund = max(line_s, key=lambda f: abs(line_s[f][0] - line_t[f][0]))
    (ms, bs), (mt, bt) = line_s[fund], line_t[fund]
    if ms == mt:
        return t.lo.cost
    x = (bt - bs) / (ms - mt)
    return min(max(x, s.lo.cost), t.hi.cost).quantize(CENT)


KINK_MARGIN = Decimal(1)
SLOPE = Decimal("0.0001")  # rates in regulations are whole or half percents, and products of two


def _line(points: list[Point], fund: str) -> tuple[Decimal, Decimal]:
    """The line through a stretch's probes: its slope from the far ends snapped to SLOPE, and the
    intercept every probe allows (each is within half a fen of the true line)."""
    a, b = points[0], points[-1]
    slope = ((b.value(fund) - a.value(fund)) / (b.cost - a.cost)).quantize(SLOPE) if b.cost > a.cost else ZERO
    offsets = sorted(p.value(fund) - slope * p.cost for p in points)
    lo, hi = offsets[-1] - CENT / 2, offsets[0] + CENT / 2
    intercept = (lo + hi) / 2 if lo <= hi else offsets[len(offsets) // 2]
    return slope, intercept


def trace_curve(prober: Prober, grid: list[Decimal], resolution: Decimal = CENT) -> Curve:
    """The curve over `grid` (sorted costs, first 0), refined until each stretch is linear or no
    wider than `resolution` (a fen: each kink exact; a chart needs them to a fraction of a pixel)."""
    funds = (*prober.funds, "patient")
    segments: list[Segment] = []
    for a, b in zip(grid, grid[1:]):
        _refine(prober, prober.at(a), prober.at(b), funds, segments, resolution)
    merged = _merged(segments, funds)
    probes = sorted((p for p in prober.points.values() if not p.error), key=lambda p: p.cost)
    lines = []
    for i, seg in enumerate(merged):
        # Probes within a yuan of a kink may lie past it (rounding hides which side): leave them out.
        lo = seg.lo.cost + (KINK_MARGIN if i > 0 else 0)
        hi = seg.hi.cost - (KINK_MARGIN if i + 1 < len(merged) else 0)
        inside = [p for p in probes if lo <= p.cost <= hi]
        if len(inside) < 2:
            inside = [p for p in probes if seg.lo.cost <= p.cost <= seg.hi.cost]
        # A stretch no probe settles has the line of its failed ends (no fund pays, the patient all).
        inside = inside or [seg.lo, seg.hi]
        lines.append({f: _line(inside, f) for f in funds})
    kinks = tuple(_kink(a, b, s, t) for (s, a), (t, b) in zip(zip(merged, lines), zip(merged[1:], lines[1:])))
    return Curve(prober.case, tuple(merged), tuple(prober.funds), tuple(lines), kinks)


# A stretch narrower than this between two wider ones only brackets a kink: its slope is rounding
# noise (no regulation has a band or a cap point closer than this to the next).
KINK = Decimal(50)


def _merged(segments: list[Segment], funds) -> list[Segment]:
    """The straight stretches: neighbours the grid cut (not a kink) joined, and the brackets of a
    kink (narrower than a yuan, their slope rounding noise) left out as gaps between stretches."""
    joined: list[Segment] = []
    for s in segments:
        if joined and joined[-1].hi.cost == s.lo.cost and _on_chord(joined[-1].lo, s.hi, s.lo, funds):
            joined[-1] = Segment(joined[-1].lo, s.hi)
        else:
            joined.append(s)
    wide: list[Segment] = []
    for i, s in enumerate(joined):
        width = s.hi.cost - s.lo.cost
        neighbours = [joined[j].hi.cost - joined[j].lo.cost for j in (i - 1, i + 1) if 0 <= j < len(joined)]
        if width < KINK and neighbours and all(n > width for n in neighbours):
            continue
        if wide and all(_slope4(wide[-1], f) == _slope4(s, f) for f in funds) \
                and _on_chord(wide[-1].lo, s.hi, s.lo, funds) and _on_chord(wide[-1].lo, s.hi, wide[-1].hi, funds):
            wide[-1] = Segment(wide[-1].lo, s.hi)
        else:
            wide.append(s)
    return wide


def _slope4(s: Segment, fund: str) -> Decimal:
    return s.slope(fund).quantize(Decimal("0.0001"))


def _refine(prober: Prober, a: Point, b: Point, funds, out: list, resolution: Decimal) -> None:
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        span = b.cost - a.cost
        if span <= resolution:
            out.append(Segment(a, b))
            continue
        quarters = [prober.at(a.cost + span * k / 4) for k in (1, 2, 3)]
        if all(_on_chord(a, b, m, funds) for m in quarters):
            out.append(Segment(a, b))
            continue
        mid = quarters[1]
        stack.append((mid, b))
        stack.append((a, mid))
    out.sort(key=lambda s: s.lo.cost)


def probe_grid(*texts: str, top: Optional[Decimal] = None) -> list[Decimal]:
    """Costs to start from: 0, every amount the policies' texts name (and a fen above it), and a
    geometric ladder up to `top`; bisection finds the kinks between them (cap points and the like)."""
    amounts: set[Decimal] = set()
    for text in texts:
        body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        body = re.sub(r'"[^"]*"', " ", body)  # citations and titles hold article numbers, not amounts
        for m in _NUMBER.finditer(_PERCENT.sub(" ", body)):
            n = Decimal(m.group(1)) * (10000 if m.group(2) else 1)
            if 1 <= n < 10 ** 8 and not _looks_like_year(n, m.group(0)):
                amounts.add(n)
    if top is None:
        top = max(amounts, default=Decimal(100000)) * 2
    points = {ZERO, top}
    for n in amounts:
        for x in (n, n + CENT):
            if 0 < x < top:
                points.add(x.quantize(CENT))
    x = Decimal(10)
    while x < top:
        points.add(x)
        x = (x * Decimal("1.5")).quantize(CENT)
    return sorted(points)


def _looks_like_year(n: Decimal, text: str) -> bool:
    return 1900 <= n <= 2100 and "." not in text


def cases(*policies: Policy) -> list[Case]:
    """Every case the policies distinguish: per scheme and benefit, level × status × place × group,
    and each other selector that a clause about the benefit names, varied one at a time."""
    out: dict[Case, None] = {}
    for scheme in sorted({s for p in policies for s in p.compiled.schemes}):
        by_benefit = _named_values([p for p in policies if scheme in p.compiled.schemes], scheme)
        for benefit, named in sorted(by_benefit.items()):
            statuses = sorted(named.get("status", ())) or [None]
            if scheme == "employee":
                statuses = sorted(set(statuses) - {None} | {"employed", "retired"})
            # A clause that names a place makes every place a case (one it does not name may be a gap).
            vocab_places = policies[0].compiled.vocabulary.names_of("place") if named.get("place") else []
            places = ["local", *sorted((named.get("place", set()) | set(vocab_places)) - {"local"})]
            groups = [None, *sorted(named.get("group", ()))]
            order = {name: i for i, name in enumerate(policies[0].compiled.vocabulary.names_of("level"))}
            levels = sorted(named.get("level", ()), key=lambda lv: (order.get(lv, len(order)), lv)) or ["level3"]
            base_extra = _benefit_extra(benefit, named)
            for level, status, place, group in itertools.product(levels, statuses, places, groups):
                out[Case(scheme, benefit, level, status, place, group, base_extra)] = None
            for extra in _one_at_a_time(named, base_extra):
                for level, status in itertools.product(levels, statuses):
                    out[Case(scheme, benefit, level, status, "local", None, extra)] = None
    return list(out)


def _named_values(policies: list[Policy], scheme: str) -> dict[str, dict[str, set]]:
    """Per benefit, per selector dimension, the values that clauses about it name (in or out),
    and the bounds of measures they compare."""
    benefits = set().union(*(p.compiled.schemes[scheme].benefits for p in policies))
    by_benefit: dict[str, dict[str, set]] = {b: {} for b in benefits}
    for p in policies:
        for clause in _all_clauses(p.compiled.schemes[scheme]):
            con = clause.constraint
            for b in (con.get("benefit") or benefits) & benefits:
                named = by_benefit[b]
                for dim, values in (*con.values, *con.excluded):
                    named.setdefault(dim, set()).update(values)
                for measure, (lo, hi) in con.measures:
                    bounds = named.setdefault("measure:" + measure, set())
                    bounds.update(v for x in (lo, hi) if x is not None for v in (x - 1, x, x + 1) if v >= 0)
    # Levels named anywhere in the scheme apply to every benefit (a benefit's clause may name none).
    levels = set().union(*(n.get("level", set()) for n in by_benefit.values()))
    for named in by_benefit.values():
        named.setdefault("level", set()).update(levels)
    return by_benefit


def _all_clauses(rules) -> list:
    return [*rules.clauses, *rules.item_clauses, *(c for f in rules.funds for c in f.clauses)]


def _benefit_extra(benefit: str, named: dict) -> tuple:
    if benefit == "maternity":
        events = sorted(named.get("event", ())) or ["delivery"]
        return ((("maternity",), events[0]),)
    return ()


def _one_at_a_time(named: dict, base: tuple) -> list[tuple]:
    variants = []
    fields = {"grade": ("facility", "grade"), "type": ("facility", "type"), "event": ("maternity",),
              "condition": ("conditions",), "disease-class": ("disease_class",)}
    for dim in _ONE_AT_A_TIME:
        if dim == "event" and not base:
            continue  # only a maternity claim names its event
        for value in sorted(named.get(dim, ())):
            v = (value,) if dim == "condition" else value.removeprefix(CHOICE_PREFIX.get(dim, ""))
            variants.append(_with(base, fields[dim], v))
    fed = measure_fields()  # measures no field feeds directly keep their default
    for key in sorted(k for k in named if k.startswith("measure:")):
        path = fed.get(key.split(":", 1)[1])
        if path is not None:
            variants.extend(_with(base, path, int(v)) for v in sorted(named[key]))
    return variants


def _with(extra: tuple, path: tuple, value) -> tuple:
    return tuple((p, v) for p, v in extra if p != path) + ((path, value),)


def first_date(*policies: Policy) -> str:
    """A claim date inside every policy's effective period (its first day, or 1 January)."""
    starts = [p.compiled.effective[0] for p in policies if p.compiled.effective[0] is not None]
    day = max(starts) if starts else dt.date.today().toordinal()
    return dt.date.fromordinal(day).isoformat()

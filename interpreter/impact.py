"""What an edit does: `med diff OLD NEW [CLAIMS]`.

Three answers, each from what the two compiled policies say and settle, never from their text:
- the clauses added, removed or changed (with line and article);
- the exact effect on a claim: for every case the policies distinguish, each fund's payment
  as a function of the claim's cost (first claim of a year, and a second claim after a large
  first one), compared stretch by stretch (`curves.py`): every interval where they differ, its
  kinks and slopes, the largest difference and a concrete claim that shows it;
- with CLAIMS, a replay of real claims under both: totals per fund, who is better or worse
  off and by how much, and the claims that change most.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, Optional

import attrs

from .ast import Span
from .clauses import (AllowanceAdjustSpec, Amt, BandSpec, CapAdjustSpec, CapSpec, CeilingSpec, Clause, Constraint,
                      RateAsSpec, Setting, ThresholdSpec)
from .curves import CENT, ZERO, Case, Curve, Prober, cases, first_date, probe_grid, trace_curve
from .errors import Diagnostic, ParameterError
from .policy import Policy

TOP_CLAIMS = 20


# ---- clauses ----------------------------------------------------------------------------

@attrs.frozen
class ClauseChange:
    kind: str                   # "added" | "removed" | "changed"
    scheme: str
    old: Optional[Clause]
    new: Optional[Clause]

    @property
    def clause(self) -> Clause:
        return self.new or self.old  # type: ignore[return-value]

    def describe(self) -> str:
        c = self.clause
        where = f"{c.constraint.describe()}" + (f" [{c.fund}]" if c.fund != "basic" else "")
        if self.kind == "changed":
            return f"{where}: {_settings(self.old)} -> {_settings(self.new)}"
        return f"{where}: {_settings(c)}"

    def to_json(self) -> dict:
        d: dict[str, Any] = {"change": self.kind, "scheme": self.scheme, "about": self.clause.constraint.describe(),
                             "fund": self.clause.fund}
        for side, c in (("old", self.old), ("new", self.new)):
            if c is not None:
                d[side] = {"line": c.span.line, "cite": c.cite, "sets": _settings(c)}
        return d


def _settings(c: Optional[Clause]) -> str:
    if c is None:
        return ""
    return ", ".join(_setting(s) for s in c.settings)


def _setting(s: Setting) -> str:
    """A setting as an author writes it: `cap 2000 yearly with outpatient`, `rate 90%`, `threshold
    18000 for inpatient special` (a cap's or threshold's pool, part of the compiled quantity, left out)."""
    name = s.quantity.split(":")[0] if ":" in s.quantity else s.quantity
    if s.mode == "flag":
        return name
    return f"{name} {_value(s.value, name.split('.')[0] in _SHARES)}"


_SHARES = ("rate", "prepay", "first_share")


def _value(v: Any, share: bool = False) -> str:
    """A setting's value as an author wrote it: shares as percentages, bands as `65% to 20000, …`."""
    spec = _spec(v)
    if spec is not None:
        return spec
    if isinstance(v, BandSpec):
        return ", ".join(f"{_value(rate, True)} {'to ' + _value(upper) if upper is not None else 'above'}"
                         for rate, upper in v.bands)
    if isinstance(v, Amt):
        if v.param is not None:
            return str(v)
        return _pct(v.const) if share else f"{v.const.normalize():f}"
    if isinstance(v, tuple):
        return " ".join(_value(x, share) for x in v if x is not None)
    if isinstance(v, Decimal):
        return _pct(v) if share else f"{v.normalize():f}"
    return str(v)


def _spec(v: Any) -> Optional[str]:
    """The value of a cap, threshold, ceiling, `rate as` or adjustment as the author wrote it."""
    each = f" each-extra {v.each}" if isinstance(v, (CapAdjustSpec, AllowanceAdjustSpec)) and v.each else ""
    if isinstance(v, CapSpec):
        shared = f" with {' '.join(v.shared)}" if v.shared else ""
        return f"{_value(v.amount)} {'daily' if v.period == 'day' else 'yearly'}{shared}"
    if isinstance(v, CapAdjustSpec):
        return f"+ {_pct(v.delta) if v.share else _value(v.delta)}{each}"
    if isinstance(v, ThresholdSpec):
        return f"{_value(v.amount)} for {' '.join(sorted(v.benefits))}"
    if isinstance(v, CeilingSpec):
        return f"{_value(v.amount)}{' daily' if v.daily else ''}"
    if isinstance(v, RateAsSpec):
        points = (v.points * 100).normalize()
        return f"as {v.level}" + (f" {'+' if points > 0 else '-'} {abs(points):f} points" if points else "")
    if isinstance(v, AllowanceAdjustSpec):
        return f"{'+' if v.days >= 0 else '-'} {abs(v.days)} days{each}"
    return None


def _identity(c: Clause) -> tuple:
    """What makes two clauses the same clause: whom they are about, in which fund, at which rank."""
    return (c.fund, c.item, c.exception, c.constraint)


def _content(c: Clause) -> tuple:
    return (tuple((s.quantity, s.mode, s.value) for s in c.settings), c.cite)


def clause_changes(old: Policy, new: Policy) -> list[ClauseChange]:
    """Clauses added, removed or changed, scheme by scheme, in the new file's order."""
    out: list[ClauseChange] = []
    for scheme in sorted(set(old.compiled.schemes) | set(new.compiled.schemes)):
        before = _clauses(old, scheme)
        after = _clauses(new, scheme)
        unmatched = list(before)
        for c in after:
            same = next((o for o in unmatched if _identity(o) == _identity(c)), None)
            if same is None:
                out.append(ClauseChange("added", scheme, None, c))
                continue
            unmatched.remove(same)
            if _content(same) != _content(c):
                out.append(ClauseChange("changed", scheme, same, c))
        out.extend(ClauseChange("removed", scheme, o, None) for o in unmatched)
    return out


def _clauses(policy: Policy, scheme: str) -> list[Clause]:
    rules = policy.compiled.schemes.get(scheme)
    if rules is None:
        return []
    # (the basic fund's own line, its yearly cap, counts with the benefit clauses: listed once)
    return list(dict.fromkeys([*rules.clauses, *rules.item_clauses, *(c for f in rules.funds for c in f.clauses)]))


def _fund_shapes(policy: Policy, scheme: str) -> tuple:
    rules = policy.compiled.schemes.get(scheme)
    if rules is None:
        return ()
    return tuple((f.name, f.base, f.including_prepay, f.above_deductible, f.benefits,
                  f.including_first_share, f.excluding_above_cap)
                 for f in rules.funds)


# ---- curves ------------------------------------------------------------------------------

@attrs.frozen
class Stretch:
    """A stretch of cost where one fund's payment differs between the versions."""

    fund: str
    lo: Decimal
    hi: Optional[Decimal]          # None: and every cost above
    kinks: tuple[Decimal, ...]     # where either version's slope changes inside
    slopes: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (from cost, old slope, new slope)
    largest: Decimal               # new - old at the cost where it is largest in size
    at: Decimal
    example: dict

    def to_json(self) -> dict:
        return {"fund": self.fund, "from": _m(self.lo), "to": _m(self.hi) if self.hi is not None else None,
                "kinks": [_m(k) for k in self.kinks],
                "slopes": [{"from": _m(x), "old": _pct(a), "new": _pct(b)} for x, a, b in self.slopes],
                "largest": _m(self.largest), "at": _m(self.at), "example": self.example}


@attrs.frozen
class CaseEffect:
    case: Case
    second: bool        # a second claim, after a first claim of `first`
    first: Optional[Decimal]
    stretches: tuple[Stretch, ...]
    old: Curve
    new: Curve
    alike: tuple[Case, ...] = ()  # other cases whose effect is the same, stretch for stretch
    refused: Optional[tuple[str, str]] = None  # ("old" or "new", why): that version settles the case at no cost

    def title(self) -> str:
        also = f" (and {_cases(len(self.alike))} alike)" if self.alike else ""
        return self.case.label() + (f", after a first claim of {_m(self.first)}" if self.second else "") + also

    def shape(self) -> tuple:
        """The effect without its example claims: equal shapes are reported once."""
        return (self.second, self.refused, tuple(attrs.astuple(s, recurse=False)[:-1] for s in self.stretches))

    def refusal(self) -> Optional[str]:
        """The sentence for a case one version cannot settle at all, instead of its curves."""
        if self.refused is None:
            return None
        which, why = self.refused
        return f"the {which} version cannot settle it: {why}"


def effects(old: Policy, new: Policy, params_old: dict, params_new: dict, *,
            changed_only: bool = True) -> list[CaseEffect]:
    """Every case whose settlement differs between the versions, with where and by how much."""
    changes = clause_changes(old, new)
    texts = [*old.sources.values(), *new.sources.values()]
    grid = probe_grid(*texts)
    date = first_date(old, new)
    first = grid[-1] / 2  # a large first claim: past every cap, so later claims show it
    found: dict[tuple, CaseEffect] = {}
    for case in cases(old, new):
        if changed_only and not _touched(case, changes, old, new):
            continue
        for prior in (None, first):
            effect = _case_effect(old, new, case, params_old, params_new, grid, date, prior)
            if not effect.stretches and effect.refused is None:
                continue
            same = found.get(effect.shape())
            if same is None:
                found[effect.shape()] = effect
            else:
                found[effect.shape()] = attrs.evolve(same, alike=(*same.alike, case))
            if effect.refused is not None:
                break  # (refused after any first claim too: nothing more to say of it)
    return list(found.values())


def _touched(case: Case, changes: list[ClauseChange], old: Policy, new: Policy) -> bool:
    """A case can settle differently only if a changed clause is about it, or a fund changed."""
    if _fund_shapes(old, case.scheme) != _fund_shapes(new, case.scheme):
        return True
    return any(ch.scheme == case.scheme and _may_match(ch.clause.constraint, case) for ch in changes)


def _may_match(con: Constraint, case: Case) -> bool:
    """Whether the clause may be about this case; when unsure (a measure, a flag), yes."""
    have = {"benefit": {case.benefit}, "level": {case.level}, "status": {case.status}, "place": {case.place},
            "group": {case.group} if case.group else set()}
    for dim, allowed in con.values:
        if dim in have and have[dim].isdisjoint(allowed):
            return False
    for dim, banned in con.excluded:
        if dim in have and have[dim] and have[dim] <= banned:
            return False
    return True


def _case_effect(old, new, case, params_old, params_new, grid, date, prior) -> CaseEffect:
    a = Prober(old, case, params_old, date=date, prior=prior)
    b = Prober(new, case, params_new, date=date, prior=prior)
    curve_a, curve_b = trace_curve(a, grid), trace_curve(b, grid)
    refused_a, refused_b = a.unsettled(), b.unsettled()
    if (refused_a is None) != (refused_b is None):  # settled by one version only: no curve to compare
        which, point = ("old", refused_a) if refused_a is not None else ("new", refused_b)
        return CaseEffect(case, prior is not None, prior, (), curve_a, curve_b,
                          refused=(which, point.reason or point.error))
    for k in (*curve_a.kinks, *curve_b.kinks):  # the largest difference is at a kink or an end
        a.at(k), b.at(k)
    costs = sorted(set(a.points) | set(b.points))
    funds = list(dict.fromkeys((*a.funds, *b.funds, "patient")))
    stretches = []
    for fund in funds:
        stretches.extend(_stretches(fund, costs, a, b, curve_a, curve_b, case, date))
    return CaseEffect(case, prior is not None, prior, tuple(stretches), curve_a, curve_b)


def _stretches(fund, costs, a: Prober, b: Prober, curve_a: Curve, curve_b: Curve, case: Case, date) -> list[Stretch]:
    deltas = [(x, b.at(x).value(fund) - a.at(x).value(fund), a.at(x).error != b.at(x).error) for x in costs]
    out = []
    i = 0
    while i < len(deltas):
        if not deltas[i][1] and not deltas[i][2]:
            i += 1
            continue
        j = i
        while j + 1 < len(deltas) and (deltas[j + 1][1] or deltas[j + 1][2]):
            j += 1
        kinks = sorted(set(curve_a.kinks) | set(curve_b.kinks))
        lo = _snap(deltas[i - 1][0] if i > 0 else deltas[i][0], kinks)
        hi = _snap(deltas[j + 1][0], kinks) if j + 1 < len(deltas) else None
        x, d, _ = max(deltas[i:j + 1], key=lambda t: abs(t[1]))
        out.append(Stretch(fund, lo, hi, _kinks_within(curve_a, curve_b, lo, hi), _slopes(fund, curve_a, curve_b, lo, hi),
                           d, x, case.claim(x, date=date, cid="example")))
        i = j + 1
    return out


def _snap(cost: Decimal, kinks: list[Decimal]) -> Decimal:
    """A stretch's end where a kink is: rounding to the fen hides a difference of under a fen near
    its start, so the probe that first shows it may lie a few fen past the kink."""
    near = [k for k in kinks if abs(k - cost) <= 1]
    return min(near, key=lambda k: abs(k - cost)) if near else cost


def _kinks_within(ca: Curve, cb: Curve, lo: Decimal, hi: Optional[Decimal]) -> tuple:
    ks = sorted(set(ca.kinks) | set(cb.kinks))
    return tuple(k for k in ks if k > lo and (hi is None or k < hi))


def _slopes(fund, ca: Curve, cb: Curve, lo, hi) -> tuple:
    points = [lo, *_kinks_within(ca, cb, lo, hi)]
    out = []
    for x in points:
        probe = x
        sa, sb = ca.slope(fund, probe), cb.slope(fund, probe)
        if not out or (out[-1][1], out[-1][2]) != (sa, sb):
            out.append((x, sa, sb))
    return tuple(out)


# ---- replay ------------------------------------------------------------------------------

@attrs.frozen
class Replay:
    claims: int
    errors_old: int
    errors_new: int
    funds: dict          # fund -> (old total, new total)
    better: int          # persons whose own payments fell
    worse: int
    unchanged: int
    distribution: tuple  # ((label, persons), ...) of the change in what each person pays
    top: tuple           # ((id, person, patient old, patient new), ...)


_EDGES = (Decimal(10), Decimal(100), Decimal(1000), Decimal(10000))


def _bucket(d: Decimal) -> str:
    """The range a change in what a person pays falls in: unchanged, or less/more by up to 10, 100, ..."""
    if not d:
        return "unchanged"
    size, way = abs(d), "less" if d < 0 else "more"
    lower = None
    for edge in _EDGES:
        if size <= edge:
            return f"{way} by ≤ {edge:,.0f}" if lower is None else f"{way} by {lower:,.0f}–{edge:,.0f}"
        lower = edge
    return f"{way} by > {lower:,.0f}"


def _bucket_order() -> list[str]:
    sizes = [*_EDGES, _EDGES[-1] * 10]
    return [*(_bucket(-e) for e in reversed(sizes)), "unchanged", *(_bucket(e) for e in sizes)]


def replay(old: Policy, new: Policy, claims: list, params_old: dict, params_new: dict) -> Replay:
    """Both versions settle the same claims (each person's year accumulating as in `med run`)."""
    rows_old = [r.to_json(trace=False) for r in old.settle_all(claims, params=params_old)]
    rows_new = [r.to_json(trace=False) for r in new.settle_all(claims, params=params_new)]
    funds: dict[str, list] = {}
    persons: dict[str, Decimal] = {}
    changed = []
    for a, b in zip(rows_old, rows_new):
        for side, row in ((0, a), (1, b)):
            for f, v in row.get("paid", {}).items():
                funds.setdefault(f, [ZERO, ZERO])[side] += Decimal(v)
        if "error" in a or "error" in b:
            continue
        d = Decimal(b["patient"]) - Decimal(a["patient"])
        persons[a["person"]] = persons.get(a["person"], ZERO) + d
        if d:
            changed.append((abs(d), a["id"], a["person"], a["patient"], b["patient"]))
    changed.sort(key=lambda t: t[0], reverse=True)
    return Replay(len(claims), sum("error" in r for r in rows_old), sum("error" in r for r in rows_new),
                  {f: (v[0], v[1]) for f, v in funds.items()},
                  sum(d < 0 for d in persons.values()), sum(d > 0 for d in persons.values()),
                  sum(d == 0 for d in persons.values()), _distribution(persons.values()),
                  tuple(t[1:] for t in changed[:TOP_CLAIMS]))


def _distribution(changes: Iterable[Decimal]) -> tuple:
    counts = dict.fromkeys(_bucket_order(), 0)
    for d in changes:
        counts[_bucket(d)] += 1
    return tuple(counts.items())


# ---- the report ---------------------------------------------------------------------------

@attrs.frozen
class Report:
    old_name: str
    new_name: str
    clauses: tuple[ClauseChange, ...]
    effects: tuple[CaseEffect, ...]
    replay: Optional[Replay]

    def to_json(self) -> dict:
        d: dict[str, Any] = {"old": self.old_name, "new": self.new_name,
                             "clauses": [c.to_json() for c in self.clauses],
                             "cases": [{"case": e.case.label(), "alike": [c.label() for c in e.alike],
                                    "claim": "second" if e.second else "first",
                                        "first_claim": _m(e.first) if e.first is not None else None,
                                        "differences": [s.to_json() for s in e.stretches],
                                        "refused": None if e.refused is None else
                                        {"by": e.refused[0], "message": e.refused[1]}} for e in self.effects]}
        if self.replay is not None:
            r = self.replay
            d["claims"] = r.claims
            d["errors"] = {"old": r.errors_old, "new": r.errors_new}
            d["funds"] = {f: {"old": _m(a), "new": _m(b), "change": _m(b - a)} for f, (a, b) in r.funds.items()}
            d["persons"] = {"better_off": r.better, "worse_off": r.worse, "unchanged": r.unchanged,
                            "patient_change": [{"range": label, "persons": n} for label, n in r.distribution]}
            d["top_claims"] = [{"id": i, "person": p, "patient_old": a, "patient_new": b} for i, p, a, b in r.top]
        return d


def diff(old: Policy, new: Policy, claims: Optional[list] = None, *, params_old: Optional[dict] = None,
         params_new: Optional[dict] = None) -> Report:
    """Compare two versions of a policy; raises ParameterError if either needs parameters not given."""
    params_old, params_new = dict(params_old or {}), dict(params_new or {})
    # Every parameter without a default given, before any work: the comparison settles claims
    # of every case, so it reaches them all (a run asks only for the ones its claims reach).
    for policy, params in ((old, params_old), (new, params_new)):
        policy.bind(params)
        missing = [p.name for p in policy.compiled.parameters.values() if p.default is None and p.name not in params
                   and p.name not in policy.compiled.members.only_params]  # member rules settle no claim
        if missing:
            raise ParameterError(Diagnostic(Span(policy.compiled.file, 1, 1, 1, 1),
                                            f"comparing settles claims of every case: give parameter "
                                            f"{', '.join(missing)} (--param {missing[0]}=VALUE)"))
    return Report(old.compiled.file, new.compiled.file, tuple(clause_changes(old, new)),
                  tuple(effects(old, new, params_old, params_new)),
                  replay(old, new, claims, params_old, params_new) if claims is not None else None)


def _m(x: Optional[Decimal]) -> Optional[str]:
    return None if x is None else str(x.quantize(CENT))


def _pct(x: Decimal) -> str:
    return f"{(x * 100).normalize():f}%"


# ---- text and markdown ------------------------------------------------------------------------

def render(report: Report, fmt: str = "text") -> str:
    """The report as a person reads it: `text` for a terminal, `md` for a review or a ticket."""
    md = fmt == "md"
    out: list[str] = [f"# {report.old_name} → {report.new_name}" if md else f"{report.old_name} -> {report.new_name}", ""]
    out += _render_clauses(report.clauses, md)
    out += _render_effects(report.effects, md)
    if report.replay is not None:
        out += _render_replay(report.replay, md)
    return "\n".join(out).rstrip() + "\n"


def _heading(title: str, md: bool) -> list[str]:
    return [f"## {title}", ""] if md else [title]


def _render_clauses(changes, md: bool) -> list[str]:
    out = _heading(f"clauses: {len(changes)} changed" if changes else "clauses: none changed", md)
    for ch in changes:
        old = f":{ch.old.span.line}" if ch.old is not None else ""
        new = f":{ch.new.span.line}" if ch.new is not None else ""
        where = {"added": f"new{new}", "removed": f"old{old}", "changed": f"old{old} new{new}"}[ch.kind]
        cite = f"  {ch.clause.cite}" if ch.clause.cite else ""
        out.append(f"{'- ' if md else '  '}{ch.kind:8} {ch.scheme} {where}{cite}  {ch.describe()}")
    return out + [""]


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def _render_effects(effects, md: bool) -> list[str]:
    if not effects:
        return _heading("effect on claims: none (every case settles the same at every cost)", md) + [""]
    n = len(effects)
    out = _heading(f"effect on claims: {_cases(n)} {'settles' if n == 1 else 'settle'} differently", md)
    for e in effects:
        out.append(f"{'### ' if md else '  '}{e.title()}")
        if e.refused is not None:
            out.append(f"{'- ' if md else '    '}{e.refusal()}")
        for s in e.stretches:
            upto = f"{_m(s.hi)}" if s.hi is not None else "and above"
            slopes = "; ".join(f"from {_m(x)} {_pct(a)} → {_pct(b)}" for x, a, b in s.slopes)
            kinks = f", kinks at {', '.join(_m(k) for k in s.kinks)}" if s.kinks else ""
            out.append(f"{'- ' if md else '    '}{s.fund}: costs {_m(s.lo)} – {upto}: slope {slopes}{kinks}; "
                       f"largest change {_signed(s.largest)} at cost {_m(s.at)}")
        if md:
            out.append("")
    return out + [""]


def _render_replay(r: Replay, md: bool) -> list[str]:
    out = _heading(f"replay of {r.claims} claims", md)
    if r.errors_old or r.errors_new:
        out.append(f"  claims that cannot be settled: {r.errors_old} before, {r.errors_new} after")
    width = max((len(f) for f in r.funds), default=4)
    for f, (a, b) in r.funds.items():
        out.append(f"{'- ' if md else '  '}{f.ljust(width)}  {_m(a):>16}  →  {_m(b):>16}   {_signed(b - a):>14}")
    out.append(f"  persons: {r.better} pay less, {r.worse} pay more, {r.unchanged} unchanged")
    out += [f"    {label:24} {n}" for label, n in r.distribution if n]
    if r.top:
        out.append("  claims that change most (what the patient pays):")
        out += [f"    {i} ({p}): {a} → {b}" for i, p, a, b in r.top]
    return out + [""]


def _signed(x: Decimal) -> str:
    return f"{'+' if x > 0 else ''}{_m(x)}"

"""`med check --strict`: what a compiling policy may still get wrong, each with a counter-claim.

The compiler refuses what is certainly wrong. These checks find what is probably wrong, by
looking at the text and by settling a claim of every case the policy distinguishes
(`curves.cases`), so each finding about settlement comes with a claim that shows it:
- a gap: a benefit the scheme covers, but no clause settles a case of it;
- an overlap: two clauses that both apply to a claim with nothing to decide between them;
- a clause no case reaches (it can never win);
- a rate that adjustments push past 100% or below 0 for some case (the engine clamps it);
- the same setting twice in one clause (the last one silently wins);
- a clause dated `from` a day after its `until`;
- an empty policy;
- indentation by one column or by a tab, which silently nests a block.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Iterator, Optional

import attrs

from . import ast, indentation
from .ast import Span
from .clauses import Amt, BandSpec
from .claim_fields import date_fields, measure_fields
from .claim_fields import walk as walk_fields
from .coverage import _used_by
from .curves import Case, cases, first_date
from .errors import ClaimError, Diagnostic, MedError, ParameterError
from .policy import Policy
from .terms import benefit_terms

PROBE = Decimal(10000)  # a claim's cost for the settlement checks: past every deductible
# Settings a clause states once: a second one silently replaces the first.
_ONCE = (ast.Deductible, ast.Rate, ast.Limit, ast.Fixed, ast.Terms, ast.AsBenefit, ast.PaidBy,
         ast.AllowanceDays, ast.NotCovered, ast.Ceiling, ast.Prepay)


@attrs.frozen
class Finding:
    span: Span
    message: str
    claim: Optional[dict] = None  # a counter-claim that shows it

    def format(self) -> str:
        text = f"{self.span.file}:{self.span.line}:{self.span.column}: warning: {self.message}"
        if self.claim is not None:
            text += "\n  counter-claim: " + json.dumps(self.claim, ensure_ascii=False)
        return text


def strict_findings(policy: Policy, params: Optional[dict] = None) -> list[Finding]:
    """Every strict finding of a compiled policy, in file order."""
    module = ast_of(policy)
    found = [*_text_findings(policy, module), *_place_findings(policy),
             *_settlement_findings(policy, dict(params or {}))]
    return sorted(found, key=lambda f: (f.span.line, f.span.column, f.message))


def ast_of(policy: Policy) -> ast.Module:
    from .parser import parse
    return parse(policy.sources[policy.compiled.file], policy.compiled.file)


# ---- where care happened ----------------------------------------------------------------

def _place_findings(policy: Policy) -> Iterator[Finding]:
    """A benefit whose clauses name places (or areas) but leave some remote place and area
    unnamed: such claims settle on the local terms, silently. Each combination is reported
    once per benefit, with a counter-claim."""
    vocab = policy.compiled.vocabulary
    places = [p for p in vocab.names_of("place") if p != "local"]
    areas = [a for a in vocab.names_of("area") if a != "within-region"] + [None]
    for scheme in policy.compiled.schemes.values():
        for benefit in sorted(scheme.benefits):
            placed = [c for c in scheme.clauses if _allows(c.constraint, "benefit", benefit)
                      and any(c.constraint.get(d) or dict(c.constraint.excluded).get(d) for d in ("place", "area"))]
            if not placed:
                continue
            left = [(p, a) for p in places for a in areas
                    if not any(_allows(c.constraint, "place", p) and _allows(c.constraint, "area", a) for c in placed)]
            if not left:
                continue
            shown = ", ".join(f"{p} {a or '(no area)'}" for p, a in left)
            first = min(placed, key=lambda c: c.order)
            place, area = left[0]
            claim = {"id": "counter", "person": "counter", "date": first_date(policy),
                     "scheme": scheme.name, "benefit": benefit, "facility": {"level": "level3"}, "place": place,
                     "items": [{"class": "A", "amount": f"{PROBE:.2f}"}]}
            if area:
                claim["area"] = area
            yield Finding(first.span, f"scheme {scheme.name}, {benefit}: its clauses name where care happened, but "
                                      f"none is about {shown}: those claims get only the clauses that do not say where care "
                                      f"happened (the local terms, or none)", claim)


def _allows(con, dim: str, value) -> bool:
    allowed, banned = con.get(dim), dict(con.excluded).get(dim, frozenset())
    return (allowed is None or value in allowed) and value not in banned


# ---- from the text ----------------------------------------------------------------------

def _text_findings(policy: Policy, module: ast.Module) -> Iterator[Finding]:
    if not policy.compiled.schemes:
        yield Finding(Span(module.file, 1, 1, 1, 1), "the policy has no `scheme` block: it settles no claim")
    for line in _lines(module.items):
        yield from _twice(line)
        if isinstance(line, ast.Line):
            yield from _empty_dates(line)
    yield from _indentation(module.file, policy.sources[policy.compiled.file])


def _lines(items) -> Iterator:
    """Every clause of the file: lines, with the blocks they head, and fund lines."""
    for item in items:
        if isinstance(item, ast.Line):
            yield item
            yield from _lines(item.children)
        elif isinstance(item, ast.Scheme):
            yield from _lines(item.items)
        elif isinstance(item, ast.FundBlock):
            yield item  # a fund's own settings are a clause too
            yield from _lines(item.children)


def _twice(line) -> Iterator[Finding]:
    seen: dict[tuple, object] = {}
    for s in line.settings:
        kind = type(s)
        key = (kind, getattr(s, "period", None))
        if kind in _ONCE or kind is ast.Cap:
            if key in seen:
                first = seen[key].span  # type: ignore[attr-defined]
                yield Finding(s.span, f"the clause sets `{_word(kind)}` twice: this one silently replaces the one "
                                      f"at column {first.column}")
            seen[key] = s


def _word(kind: type) -> str:
    return {ast.AllowanceDays: "allowance", ast.NotCovered: "not-covered", ast.AsBenefit: "as", ast.PaidBy: "paid-by"}.get(
        kind, kind.__name__.lower())


def _empty_dates(line: ast.Line) -> Iterator[Finding]:
    dates = {s.kind: s for s in line.selectors if isinstance(s, ast.DateSelector)}
    start, end = dates.get("from"), dates.get("until")
    if start and end and dt.date.fromisoformat(start.date) > dt.date.fromisoformat(end.date):
        yield Finding(end.span, f"the clause applies from {start.date} until {end.date}: no day is in both, "
                                f"so it never applies")


def _indentation(file: str, text: str) -> Iterator[Finding]:
    blocks = indentation.Blocks()  # the parser's rule: widths in display columns
    for number, raw in enumerate(text.splitlines(), 1):
        lead = indentation.leading(raw)
        stripped = raw[len(lead):]
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in lead:
            yield Finding(Span(file, number, lead.index("\t") + 1, number, lead.index("\t") + 2),
                          "a tab in the indentation: editors show it at different widths; indent with two spaces")
        width = indentation.width(raw)
        try:
            opened = blocks.enter(width) == 1
        except indentation.Misaligned:
            continue  # the parser refuses such a line
        if opened and width - blocks.levels[-2] == 1 and "\t" not in lead:
            yield Finding(Span(file, number, 1, number, len(lead) + 1),
                          "indented one column more than the line before: that nests this line in a block "
                          "under it; indent blocks by two spaces")


# ---- from settling every case -------------------------------------------------------------

def _settlement_findings(policy: Policy, params: dict) -> Iterator[Finding]:
    date = first_date(policy)
    reached: set[int] = set()
    gaps: dict[tuple, Finding] = {}
    out_of_range: dict[tuple, Finding] = {}
    for case in cases(policy):
        claim = case.claim(PROBE, date=date, cid="counter")
        result = policy.settle(claim, params=params).to_json(trace=False)
        error = result.get("error")
        if error and error["code"] == "no-clause":
            gaps.setdefault((case.scheme, case.benefit, case.place, case.group),
                            Finding(_benefit_span(policy, case), f"a gap: {error['message']}", claim))
        elif error and error["code"] == "ambiguous":
            yield Finding(_benefit_span(policy, case), f"an overlap: {error['message']}", claim)
        elif error and error["code"] == "missing-parameter":
            # A case left unsettled would be a case left unchecked: the strict check asks for it.
            raise ParameterError(Diagnostic(Span(policy.compiled.file, 1, 1, 1, 1),
                                            "--strict settles a claim of every case: " + error["message"].replace(
                                                "this claim's", f"the {case.benefit} claim's", 1)))
        reached |= _used_by(policy, claim)
        for f in _rate_out_of_range(policy, case, claim, params):
            out_of_range.setdefault((f.span.line, "past" in f.message), f)
    yield from gaps.values()
    yield from out_of_range.values()
    for line, (clause, scheme) in sorted(_clauses_by_line(policy).items()):
        if line in reached:
            continue
        claim = witness(policy, scheme, clause, date)
        if line in _used_by(policy, claim):
            continue
        yield Finding(clause.span, "this clause never wins: a claim it is about is settled by other clauses "
                                   "(a more specific clause or an exception always takes its place)", claim)


def _benefit_span(policy: Policy, case: Case) -> Span:
    rules = policy.compiled.schemes[case.scheme]
    for clause in rules.clauses:
        benefits = clause.constraint.get("benefit")
        if benefits and case.benefit in benefits and clause.span.file == policy.compiled.file:
            return clause.span
    return rules.span


def _clauses_by_line(policy: Policy) -> dict[int, tuple]:
    """The first compiled clause of each line of the policy's own file, with its scheme."""
    out: dict[int, tuple] = {}
    for name, rules in policy.compiled.schemes.items():
        for clause in (*rules.clauses, *rules.item_clauses, *(c for f in rules.funds for c in f.clauses)):
            if clause.span.file == policy.compiled.file:
                out.setdefault(clause.span.line, (clause, name))
    return out


# Flags and the claim values that set them (a flag's field and value; claim_fields.py has the fields).
_FLAG_FIELDS = {word.split()[1]: (path.rpartition(".")[0] or None, f.name, f.flag_when)
                for path, f in walk_fields() if f.type == "bool" for word in f.feeds if word.startswith("flag ")}
_FLAG_FIELDS["pooled-only"] = ("enrolment", "mode", "pooled-only")


def witness(policy: Policy, scheme: str, clause, date: str) -> dict:
    """A claim the clause is about: every dimension it names set to a value it allows."""
    con = clause.constraint
    rules = policy.compiled.schemes[scheme]
    benefit = sorted(con.get("benefit") or rules.benefits or {"inpatient"})[0]
    claim: dict = {"id": "counter", "person": "counter", "scheme": scheme, "benefit": benefit,
                   "facility": {"level": _pick(con, "level", policy, "level3")},
                   "place": _pick(con, "place", policy, "local"), "date": _date_in(con, date)}
    if scheme == "employee":
        claim["status"] = _pick(con, "status", policy, "employed")
    required = dict(con.required)
    for dim, field in (("group", "groups"), ("condition", "conditions")):
        if con.get(dim) or required.get(dim):
            claim[field] = sorted(set(sorted(con.get(dim) or ())[:1]) | required.get(dim, frozenset()))
    if con.get("area"):
        claim["area"] = _pick(con, "area", policy, "in-province")
    if con.get("event") or benefit == "maternity":
        claim["maternity"] = _pick(con, "event", policy, "delivery")
    if con.get("grade"):  # the vocabulary's grade-A is the claim's "A"
        claim["facility"]["grade"] = sorted(con.get("grade"))[0].removeprefix("grade-")
    if con.get("type"):
        claim["facility"]["type"] = sorted(con.get("type"))[0]
    if con.get("disease-class"):  # class-1 is the claim's 1
        claim["disease_class"] = sorted(con.get("disease-class"))[0].removeprefix("class-")
    for flag in sorted(set(con.get("flag") or ()) | required.get("flag", frozenset())):
        where, field, value = _FLAG_FIELDS.get(flag, (None, None, None))
        if field:
            (claim.setdefault(where, {}) if where else claim)[field] = value
    _measures(claim, con)
    cls = sorted(con.get("class") or {"A"})[0]
    item = {"class": cls, "amount": f"{PROBE:.2f}"}
    if cls in ("material", "partial"):
        item["unit_price"] = f"{PROBE:.2f}"
    if cls == "bed":
        item.update(days=10, kind=sorted(con.get("bed-kind") or {"normal"})[0])
    claim["items"] = [item]
    return claim


def _pick(con, dim: str, policy: Policy, default: str) -> str:
    allowed = con.get(dim)
    if allowed:
        return sorted(allowed)[0]
    banned = dict(con.excluded).get(dim, frozenset())
    if default not in banned:
        return default
    return next(v for v in policy.compiled.vocabulary.names_of(dim) if v not in banned)


def _date_in(con, default: str) -> str:
    lo, hi = con.dates
    day = dt.date.fromisoformat(default).toordinal()
    if lo is not None and day < lo:
        day = lo
    if hi is not None and day > hi:
        day = hi
    return dt.date.fromordinal(day).isoformat()


def _measures(claim: dict, con) -> None:
    date = dt.date.fromisoformat(claim["date"])
    fed, dated = measure_fields(), date_fields()
    for measure, (lo, hi) in con.measures:
        value = lo if lo is not None else (hi if hi is not None else 0)
        if measure in dated:  # a dated fact: its bound is a day number
            claim[dated[measure][-1]] = dt.date.fromordinal(value or date.toordinal()).isoformat()
        elif measure == "months-enrolled":
            month = date.year * 12 + date.month - 1 - value
            claim.setdefault("enrolment", {})["since"] = f"{month // 12:04d}-{month % 12 + 1:02d}-01"
        elif measure == "days-since-paid":
            claim.setdefault("enrolment", {})["paid_on"] = (date - dt.timedelta(days=value)).isoformat()
        elif measure == "diseases":
            claim["conditions"] = (claim.get("conditions") or [])[:1] + ["hypertension", "diabetes"][:max(value, 1)]
        elif measure in fed:
            *where, field = fed[measure]
            target = claim
            for key in where:
                target = target.setdefault(key, {})
            target[field] = value


def _rate_out_of_range(policy: Policy, case: Case, claim: dict, params: dict) -> Iterator[Finding]:
    try:
        facts = policy._read(claim)
        rate = benefit_terms(policy.compiled.schemes[case.scheme], facts).rate
        bound = policy.bind(params)
    except (ClaimError, MedError, KeyError):
        return
    if rate is None:
        return
    shares = [b[0] for b in rate.base.bands] if isinstance(rate.base, BandSpec) else [rate.base]
    for share in shares:
        if not isinstance(share, Amt):
            continue
        r = share.of(bound) + rate.points
        for _ in range(rate.halvings):
            r = r / 2
        if r > 1 or r < 0:
            way = "past 100%" if r > 1 else "below 0"
            yield Finding(rate.clause.span, f"adjustments take the rate {way} ({(r * 100).normalize():f}%) for "
                                            f"{case.label()} (and maybe others): it is settled at "
                                            f"{'100%' if r > 1 else '0%'}", claim)

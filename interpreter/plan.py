"""Settlement plans: every term a claim of one signature needs, resolved once into plain data.

terms.py says which clauses win for a claim; this module turns the winners into what the
engine's arithmetic runs on: amounts with the run's parameters applied, rates with their
points and halvings applied band by band, caps with their pools, deductibles with their
reductions, layers with their thresholds, and the trace's clause lines, citations and fixed
note texts. The engine builds a plan on the first claim of a signature (the facts clauses
select on, `Facts.key`) and parameters, and caches it; a plan is never changed afterwards, so
the cache is a pure function of its key and a policy can be shared between threads.

A part of a plan that a claim may not reach (a referral's source deductible, the layers, the
limits of several events) is built when the plan is; if building it fails, the failure is
kept and raised only by the stage that needs it, as resolving it there would.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Optional

import attrs

from .accounts import AccountTerms, terms_of as account_terms
from .claim_fields import walk
from .clauses import BandSpec, Clause, PoolKey
from .errors import ClaimError
from .money import ONE, ZERO, q
from .straight import Straight
from .terms import RateSpec, benefit_terms, matches, rate_spec, resolve
from .vocabulary import MULTI_DIMS

_HUNDRED = Decimal(100)


# ---- the pieces ---------------------------------------------------------------------

@attrs.frozen
class Ref:
    """Where a trace step points: the clause's line and the article it cites."""

    line: int
    cite: Optional[str]

    @staticmethod
    def of(clause: Optional[Clause]) -> Optional["Ref"]:
        return None if clause is None else Ref(clause.span.line, clause.cite)


@attrs.frozen
class Band:
    """A share paid on positions up to `upper` (None: no upper bound)."""

    share: Decimal
    upper: Optional[Decimal]


@attrs.frozen
class Rate:
    """A rate ready to apply: its bands with points and halvings applied (one band, unbounded,
    for a flat rate); a banded rate is measured on the year's cumulative eligible cost of
    `scope`."""

    bands: tuple[Band, ...]
    banded: bool
    scope: tuple[str, ...]
    note: str                 # the trace's note for a flat rate ("87% (85% + 2 points)")
    ref: Ref

    @property
    def share(self) -> Decimal:
        return self.bands[0].share


@attrs.frozen
class Cap:
    """A cap on a fund's payments into one pool (its benefits, events and period)."""

    amount: Decimal                               # after adjustments that need no measure
    per_extra: tuple[tuple[Decimal, str], ...]    # + amount for each unit of a measure above 1
    key: PoolKey                                  # the pool: its benefits, events and period
    daily: bool
    fund_wide: bool                               # the fund's own yearly cap, over every benefit
    ref: Ref

    def limit(self, measures: dict) -> Decimal:
        limit = self.amount
        for amount, measure in self.per_extra:
            limit += amount * max((measures.get(measure) or 1) - 1, 0)
        return limit


@attrs.frozen
class Pools:
    """The cumulatives a fund's payment on a claim counts in (and is rounded against): its
    capped pools, yearly (keys complete) or daily (the day is the claim's), and for a rate
    banded over a cumulative amount, the band's."""

    yearly: tuple[tuple, ...]                     # (fund, pool key, None)
    daily: tuple[tuple[str, tuple], ...]          # (fund, pool key): the claim's day completes it
    band: Optional[tuple] = None

    def keys(self, day: int, banded: bool = True):
        """The keys of the claim's cumulatives (a sequence the caller only reads)."""
        if not self.daily:  # most pools: the same keys for every claim
            return self.yearly if not banded or self.band is None else self.yearly + (self.band,)
        keys = list(self.yearly)
        for fund, key in self.daily:
            keys.append((fund, key, day))
        if banded and self.band is not None:
            keys.append(self.band)
        return keys


@attrs.frozen
class Ceiling:
    limit: Decimal
    daily: bool               # per day of the item (`days`), else per unit price
    ref: Ref


@attrs.frozen
class ItemRule:
    """What the item clauses say about one class (and bed kind) of item."""

    ceiling: Optional[Ceiling]
    prepay: Optional[tuple[Band, ...]]            # shares by unit-price tier; one unbounded band if flat
    prepay_tiered: bool
    prepay_ref: Optional[Ref]
    rate: Optional[Rate]                          # the class's own rate, if it has one
    defaults: tuple[tuple[Ref, str], ...] = ()   # parameters read from the policy's defaults: trace notes


@attrs.frozen
class DeductibleRule:
    """A level's deductible and its reductions, before the year is known."""

    amount: Decimal
    ref: Optional[Ref]
    steps: tuple[tuple[Decimal, Ref], ...]        # `deductible - 200`, in order
    halvings: tuple[Ref, ...]
    repeat: Optional[tuple[Decimal, Ref]]         # minus this for each earlier stay of the year
    floor: Optional[tuple[Decimal, Ref]]


@attrs.frozen
class Deductible:
    rule: DeductibleRule
    yearly: bool                                  # one a year, at the highest level used (绍兴 第四十九条)
    none_from: Optional[tuple[int, Optional[frozenset], Ref]]   # none from stay N (at these levels)
    referral: Optional[Ref]                       # the referral-difference clause, for a referred claim
    referred_down: bool
    source: Optional[str]                         # the level the claim was referred from
    source_rule: Callable[[], Optional[DeductibleRule]]   # the source level's deductible, or raises


@attrs.frozen
class Threshold:
    amount: Decimal                               # halved as the layer's clauses say
    benefits: Optional[frozenset]                 # the burdens it is measured on (None: the layer's)
    ref: Optional[Ref]


@attrs.frozen
class Layer:
    """A further layer (大额, 大病, 补充, 救助) as it applies to claims of the plan's signature."""

    fund: str
    base: str                                     # burden | above-cap | remaining
    rate: Optional[Rate]
    not_covered: bool
    caps: tuple[Cap, ...]
    thresholds: tuple[Threshold, ...]
    # Thresholds over burdens that share a benefit are alternatives (the larger excess counts, so
    # no cost counts twice); a threshold over a burden of its own adds its excess (绍兴 第三十六条（一）:
    # the special drugs' 8,000 pool adds to the larger of the 18,000 and 25,000 excesses).
    threshold_groups: tuple[tuple[int, ...], ...]
    pools: Pools
    counts_prepay: bool                           # the burden counts the pre-payments (绍兴 第三十五条)
    includes_first_share: bool                    # the burden (or what remains) counts the first share
    above_deductible: bool
    excludes_above_cap: bool                      # this benefit's cost above its own cap is no burden here
    above_any_cap: bool                           # a layer `for` some benefits: above whichever of their caps
                                                  # bound (else above the fund's own yearly cap)


@attrs.frozen
class Allowance:
    days: int
    per_extra: tuple[tuple[int, Optional[str]], ...]
    ref: Ref


@attrs.frozen
class Plan:
    """Everything a claim of one signature needs, before any arithmetic."""

    benefit: str                                  # the benefit whose terms settle it (after `as`)
    level: str
    redirect: Optional[tuple[Ref, str]]           # `as` / `terms`: the clause and the trace's note
    funds: tuple[str, ...]
    item_rule: Optional[Callable[[str, str], ItemRule]]   # (class, bed kind) -> rule; memoised, pure;
                                                          # None when the scheme has no item clauses
    first_share: Optional[tuple[Decimal, Ref]]
    not_covered: Optional[Ref]
    allowance: Optional[Allowance]
    deductible: Deductible
    fixed_settles: bool                           # a fixed amount is the claim's whole settlement
    cap_reached_caps: tuple[Cap, ...]             # fund-wide caps past which a layer settles alone
    payer: str
    rate: Optional[Rate]
    limit: Optional[tuple[Decimal, Ref]]
    fixed: Optional[tuple[Decimal, Ref]]
    no_rate: Optional[ClaimError]
    caps: tuple[Cap, ...]
    own_caps: tuple[Cap, ...]                     # the benefit's own yearly caps (read by the layers: basic payers only)
    pools: Pools                                  # the payer's cumulatives this claim counts in
    layers: Callable[[], tuple[Layer, ...]]       # raises as resolving them would
    counts_stay: bool                             # the claim is a stay of its benefit this year
    defaults: tuple[tuple[Ref, str], ...] = ()   # parameters read from the policy's defaults: trace notes
    missing: frozenset = frozenset()              # parameters the run did not give: the plan is not settled on
    account: Optional[AccountTerms] = None        # what the personal account pays (accounts.py); None: nothing
    # The plan's no-trace settlement as one generated function (straight.py), made on first use.
    straight: Straight = attrs.field(factory=Straight, eq=False, repr=False)


# ---- building a plan ------------------------------------------------------------------

class _Reading:
    """The run's parameters as a plan reads them: records each name read, and for a name the
    run did not give, records it as missing and reads a stand-in, so that one pass over the
    plan names every parameter the claim's terms reach."""

    __slots__ = ("given", "read", "missing")

    def __init__(self, given: dict):
        self.given, self.read, self.missing = given, set(), set()

    def __getitem__(self, name: str) -> Decimal:
        value = self.given.get(name)
        if value is None:
            self.missing.add(name)
            return ONE
        self.read.add(name)
        return value


def missing_parameters(compiled, names) -> ClaimError:
    """The error row of a claim whose terms need parameters the run did not give: every one, described."""
    described = []
    for name in sorted(names):
        p = compiled.parameters.get(name)
        described.append(f"{name} ({p.description})" if p is not None and p.description else name)
    first = min(names)
    error = ClaimError("missing-parameter",
                      f"this claim's terms need {'parameters' if len(names) > 1 else 'parameter'} the run did not give: "
                      f"{', '.join(described)}; give {'them' if len(names) > 1 else 'it'} with --param {first}=VALUE "
                      f"(or params={{'{first}': ...}})", None)
    error.parameters = frozenset(names)
    return error


def reach_error(compiled, plan: "Plan", facts) -> ClaimError:
    """The missing-parameter error of a claim: the parameters its plan lacks and those the
    rules of its items' classes lack, every one."""
    missing = set(plan.missing)
    if plan.item_rule is not None:
        for it in facts.items:
            if it.cls == "excluded":
                continue
            try:
                plan.item_rule(it.cls, it.kind)
            except ClaimError as e:
                if e.code != "missing-parameter":
                    raise
                missing |= e.parameters
    return missing_parameters(compiled, missing)


def _default_notes(compiled, params, read: set) -> tuple[tuple[Ref, str], ...]:
    """Trace notes for the parameters this plan read from the policy's defaults."""
    defaulted = getattr(params, "defaulted", ())
    notes = []
    for name in sorted(read.intersection(defaulted)):
        p = compiled.parameters[name]
        notes.append((Ref(p.span.line, p.source), f"{name} = {p.written} (the policy's default; "
                                                  f"no value given for this run)"))
    return tuple(notes)


def build(compiled, facts, params: dict, item_rules: Optional[dict] = None) -> Plan:
    """The plan of `facts`' signature under `params`; raises ClaimError where the terms do, and
    a `missing-parameter` ClaimError naming every parameter the terms need that `params` lack
    (before any arithmetic: the plan is built first). `item_rules`: the item classes' rules
    made for earlier plans (the engine's, _item_rules), shared where the facts the item clauses
    read are the same."""
    reading = _Reading(params)
    try:
        plan = _build(compiled, facts, reading, item_rules if item_rules is not None else {})
    except ClaimError:
        if reading.missing:  # a stand-in value may be what failed: the missing parameters are the cause
            raise missing_parameters(compiled, reading.missing) from None
        raise
    if reading.missing:  # kept, never settled on: the engine raises `reach_error` for it
        return attrs.evolve(plan, missing=frozenset(reading.missing))
    notes = _default_notes(compiled, params, reading.read)
    return attrs.evolve(plan, defaults=notes) if notes else plan


def _build(compiled, facts, params, item_rules: dict) -> Plan:
    scheme = compiled.schemes.get(facts.scheme)
    if scheme is None:
        raise ClaimError("not-covered", f"the policy has no rules for the {facts.scheme} scheme", "scheme")
    if facts.benefit not in scheme.benefits:
        raise ClaimError("not-covered", f"the {scheme.name} scheme of this policy has no {facts.benefit} benefit", "benefit")
    t = benefit_terms(scheme, facts)
    picks = t.picks
    for quantity, unset in (("rate", t.rate is None and t.limit is None and t.fixed is None),
                            ("deductible", t.deductible is None)):
        if unset:
            _require_measures(scheme.clauses, quantity, facts)
    eff, redirect = facts, None
    if t.redirect is not None:
        pick, changes = t.redirect
        eff = facts.replace(**changes)
        what = []
        if "benefit" in changes:
            what.append(f"as {changes['benefit']}")
        if "level" in changes:
            what.append(f"on the local terms of {changes['level']}")
        elif "place" in changes:
            what.append("on the local terms")
        redirect = (Ref.of(pick.clause), "settled " + ", ".join(what))
    rate = _rate(t.rate, params, eff)
    no_rate = None
    if rate is None and t.limit is None and t.fixed is None:
        no_rate = ClaimError("no-clause", f"no clause gives a rate for this {facts.benefit} claim "
                                          f"({eff.level}{', ' + eff.status if eff.status else ''}, {eff.place})", None)
    # A cap written in a fund's block binds that fund's payments only: `fund basic cap 500`
    # never caps a claim `paid-by maternity` (docs/language.md, "Caps and pools").
    # (By identity: a clause is one object wherever the scheme holds it, and hashing one by value
    # walks all of it, a twentieth of making a plan.)
    others = {id(c) for f in scheme.funds if f.name != t.payer for c in f.clauses}
    caps = tuple(c for p in t.caps if id(p.clause) not in others and (c := _cap(p, params)) is not None)
    has_above_cap_layer = any(f.base == "above-cap" and (f.benefits is None or eff.benefit in f.benefits)
                              for f in scheme.funds)
    referred = facts.referred_from is not None and picks.get("deductible.referral") is not None
    not_covered = t.not_covered.adjust[-1][0] if t.not_covered is not None and t.not_covered.adjust else None
    return Plan(
        benefit=eff.benefit, level=eff.level, redirect=redirect,
        funds=tuple(f.name for f in scheme.funds),
        item_rule=_item_rules(compiled, scheme, eff, params.given, item_rules) if scheme.item_clauses else None,
        first_share=(_share(t.first_share.value.of(params)), Ref.of(t.first_share.clause)) if t.first_share else None,
        not_covered=Ref.of(not_covered),
        allowance=_allowance(t),
        deductible=_deductible(scheme, t, eff, params, compiled.vocabulary.names_of("level")),
        fixed_settles=t.fixed is not None,
        cap_reached_caps=tuple(c for c in caps if c.fund_wide) if t.payer == "basic" and has_above_cap_layer else (),
        payer=t.payer,
        rate=rate,
        limit=_per_event(scheme, t, "limit", eff, params),
        fixed=_per_event(scheme, t, "fixed", eff, params),
        no_rate=no_rate,
        caps=caps,
        # The benefit's own yearly cap (`cap 6000 yearly` inside `outpatient`), for the layers
        # that leave out the cost above it (`excluding above cap of outpatient`).
        own_caps=tuple(c for c in caps if c.key.benefits is not None and c.key.period == "year"),
        pools=_pools(t.payer, scheme.pools.get("basic", ()), eff,
                     ("band", rate.scope) if rate is not None and rate.banded else None),
        layers=_deferred(lambda: _layers(scheme, t, eff, params)),
        # A stay is a claim of its own benefit: one settled `as inpatient` (视同住院) is not a
        # hospital stay, and a referral continues the stay it came from.
        counts_stay=(eff.benefit == facts.benefit or "as.stay" in picks) and not referred,
        account=account_terms(picks),
    )


# The claim field that feeds each measure (claim_fields.py's table says which).
# The field a measure is named after: the first that feeds it (`age`, though `birth_date` feeds it too).
_MEASURE_FIELDS: dict = {}
for _path, _f in walk():
    for _word in _f.feeds:
        if _word.startswith("measure "):
            _MEASURE_FIELDS.setdefault(_word[len("measure "):], _path)
_WORDS = {"rate": "rates", "deductible": "deductibles"}


def _require_measures(clauses, quantity: str, facts) -> None:
    """A claim left without a rate (or deductible) because it lacks a measure the clauses that
    set one select on (`age < 60 rate 80%`, `age >= 60 rate 85%`): the error names the field."""
    lines: dict[str, set] = {}
    for c in clauses:
        if not any(s.quantity == quantity and s.mode == "abs" for s in c.settings):
            continue
        lacking = [m for m, _ in c.constraint.measures if facts.measures.get(m) is None]
        if not lacking:
            continue
        known = tuple((m, iv) for m, iv in c.constraint.measures if m not in lacking)
        if matches(attrs.evolve(c.constraint, measures=known), facts):
            for m in lacking:
                lines.setdefault(m, set()).add(c.span.line)
    if not lines:
        return
    measure = min(lines)
    field = _MEASURE_FIELDS[measure]  # `med check` refuses a measure no claim field feeds
    at = sorted(lines[measure])
    where = f"line {at[0]}" if len(at) == 1 else \
        f"lines {at[0]}–{at[-1]}" if at[-1] - at[0] == len(at) - 1 else "lines " + ", ".join(map(str, at))
    raise ClaimError("missing-field", f"the policy's {_WORDS[quantity]} for this claim depend on `{measure}` "
                                      f"({where}), and the claim gives no {field}", field)


def _deferred(make: Callable):
    """`make()` now; its value, or its ClaimError raised again when a stage asks for it."""
    try:
        value = make()
    except ClaimError as e:
        error = e

        def fail():
            raise error
        return fail
    return lambda: value


def _share(x: Decimal) -> Decimal:
    """A share from a parameter stays a share: never below 0 or above 100%."""
    return min(max(x, ZERO), ONE)


def pct(x: Decimal) -> str:
    return f"{q(x * _HUNDRED).normalize():f}%"


def _rate(spec: Optional[RateSpec], params: dict, eff, scope: Optional[tuple] = None) -> Optional[Rate]:
    if spec is None:
        return None
    base = spec.base
    if isinstance(base, BandSpec):
        bands = tuple(Band(spec.share(s.of(params)), u.of(params) if u is not None else None) for s, u in base.bands)
        written = spec.clause.constraint.get("benefit")
        scope = tuple(sorted(written)) if written else (eff.benefit,)
        return Rate(bands, True, scope, "", Ref.of(spec.clause))
    written = base.of(params)
    share = spec.share(written)
    note = pct(share)
    if share != written:
        how = []
        if spec.points:
            how.append(f"{'+' if spec.points > 0 else '-'} {abs(spec.points * _HUNDRED).normalize():f} points")
        how.extend("halved" for _ in range(spec.halvings))
        note = f"{pct(share)} ({pct(written)} {', '.join(how)})"
    return Rate((Band(share, None),), False, (eff.benefit,), note, Ref.of(spec.clause))


def _cap(pick, params: dict) -> Optional[Cap]:
    if pick.value is None:
        return None  # `cap none`
    amount = pick.value.amount.of(params)
    key = pick.value.pool
    fixed, per_extra = amount, []
    for _, s in pick.adjust:
        adjust = s.value
        step = amount * adjust.delta if adjust.share else adjust.delta.of(params)
        if adjust.each is None:
            fixed += step
        else:
            per_extra.append((step, adjust.each))
    return Cap(fixed, tuple(per_extra), key, key.period == "day",
               key.benefits is None and key.events is None and key.period == "year", Ref.of(pick.clause))


def _pools(fund: str, pools: tuple, eff, band: Optional[tuple]) -> Pools:
    """The capped pools of its fund a payment counts in: every one that covers its benefit and
    event, whichever clause set the cap's amount for this claim; and its band's cumulative."""
    yearly, daily = [], []
    for key in pools:
        benefits, events, period = key
        if benefits is not None and eff.benefit not in benefits:
            continue
        if events is not None and eff.events.isdisjoint(events):
            continue
        if period == "day":
            daily.append((fund, key))
        else:
            yearly.append((fund, key, None))
    return Pools(tuple(yearly), tuple(daily), (fund, band, None) if band is not None else None)


def _item_rules(compiled, scheme, eff, given: dict, memo: dict) -> Callable[[str, str], ItemRule]:
    """The item rules of a claim's classes, resolved on first use (memoised in `memo`: a pure
    function of the class, the bed kind, the parameters and the facts the scheme's item clauses
    read, so plans of claims that differ elsewhere share them); a class whose rules need a
    parameter the run did not give raises `missing-parameter`."""
    view = (scheme.name, _item_facts(scheme, eff, memo), getattr(given, "key", None) or tuple(sorted(given.items())))

    def rule(cls: str, kind: str) -> ItemRule:
        r = memo.get((view, cls, kind))
        if r is None:
            reading = _Reading(given)
            r = _item_rule(scheme, eff, reading, cls, kind)
            if reading.missing:
                raise missing_parameters(compiled, reading.missing)
            notes = _default_notes(compiled, given, reading.read)
            memo[(view, cls, kind)] = r = attrs.evolve(r, defaults=notes) if notes else r
        return r
    return rule


def _item_facts(scheme, eff, memo: dict) -> tuple:
    """What an item rule reads of the claim's facts: the benefit (a rate's scope), and the value
    of each dimension, measure and the date where some item clause of the scheme tests them."""
    read = memo.get(("item clauses read", scheme.name))
    if read is None:
        dims, measures, dated = set(), set(), False
        for c in scheme.item_clauses:
            con = c.constraint
            dims.update(d for part in (con.values, con.excluded, con.required) for d, _ in part)
            measures.update(m for m, _ in con.measures)
            dated = dated or con.dates != (None, None)
        dims -= {"class", "bed-kind"}  # (the rule's own arguments)
        read = memo[("item clauses read", scheme.name)] = (tuple(sorted(dims)), tuple(sorted(measures)), dated)
    dims, measures, dated = read
    return (eff.benefit, tuple(frozenset(eff.multi(d)) if d in MULTI_DIMS else eff.single(d) for d in dims),
            tuple(eff.measures.get(m) for m in measures), eff.ordinal if dated else None)


def _item_rule(scheme, eff, params: dict, cls: str, kind: str) -> ItemRule:
    picks = resolve(scheme.item_clauses, eff, cls, kind)
    ceiling = prepay = prepay_ref = None
    tiered = False
    if "ceiling" in picks:
        p = picks["ceiling"]
        ceiling = Ceiling(p.value.amount.of(params), p.value.daily, Ref.of(p.clause))
    if "prepay" in picks:
        p = picks["prepay"]
        tiered = isinstance(p.value, BandSpec)
        prepay = tuple(Band(_share(s.of(params)), u.of(params) if u is not None else None) for s, u in p.value.bands) \
            if tiered else (Band(_share(p.value.of(params)), None),)
        prepay_ref = Ref.of(p.clause)
    rate = None
    if "rate" in picks:
        normal = picks if kind == "normal" else resolve(scheme.item_clauses, eff, cls, "normal")
        rate = _rate(rate_spec(scheme.item_clauses, normal, eff, item=(cls, "normal")), params, eff)
    return ItemRule(ceiling, prepay, tiered, prepay_ref, rate)


def _allowance(t) -> Optional[Allowance]:
    p = t.allowance
    if p is None:
        return None
    adj = t.picks.get("allowance.adjust")
    days, per_extra = p.value, []
    for _, s in (adj.adjust if adj else []):
        if s.value.each is None:
            days += s.value.days
        else:
            per_extra.append((s.value.days, s.value.each))
    return Allowance(days, tuple(per_extra), Ref.of(p.clause))


def _flag(picks: dict, quantity: str):
    """The last matching clause that sets a modifier, with its setting; None if none does."""
    p = picks.get(quantity)
    if p is None or not p.adjust:
        return None
    return p.adjust[-1]


def _deductible_rule(picks: dict, p, params: dict) -> DeductibleRule:
    repeat, floor = _flag(picks, "deductible.repeat"), _flag(picks, "deductible.floor")
    return DeductibleRule(
        amount=p.value.of(params) if p is not None else ZERO,
        ref=Ref.of(p.clause) if p is not None else None,
        steps=tuple((s.value.of(params), Ref.of(c)) for c, s in picks["deductible.adjust"].adjust)
        if "deductible.adjust" in picks else (),
        halvings=tuple(Ref.of(c) for c, _ in picks["deductible.halved"].adjust) if "deductible.halved" in picks else (),
        repeat=(repeat[1].value.of(params), Ref.of(repeat[0])) if repeat is not None else None,
        floor=(floor[1].value.of(params), Ref.of(floor[0])) if floor is not None else None,
    )


def _deductible(scheme, t, eff, params: dict, levels: list) -> Deductible:
    picks = t.picks
    none_from = _flag(picks, "deductible.none_from")
    referral = _flag(picks, "deductible.referral")
    source = eff.referred_from if referral is not None else None
    down = False
    source_rule: Callable = lambda: None  # noqa: E731
    if source is not None:
        order = {lv: i for i, lv in enumerate(levels)}
        down = order[source] >= order[eff.level]  # both read against the vocabulary's levels
        if not down:
            def source_terms():
                st = benefit_terms(scheme, eff.replace(level=source, referred_from=None))
                return _deductible_rule(st.picks, st.deductible, params) if st.deductible is not None else None
            source_rule = _deferred(source_terms)
    return Deductible(
        rule=_deductible_rule(picks, t.deductible, params),
        yearly=_flag(picks, "deductible.yearly") is not None,
        none_from=(none_from[1].value, none_from[0].constraint.get("level"), Ref.of(none_from[0]))
        if none_from is not None else None,
        referral=Ref.of(referral[0]) if referral is not None else None,
        referred_down=down, source=source, source_rule=source_rule)


def _per_event(scheme, t, quantity: str, eff, params: dict) -> Optional[tuple[Decimal, Ref]]:
    """Limits and fixed amounts of several events done together add up."""
    p = getattr(t, quantity)
    if p is None:
        return None
    events = sorted(eff.events)
    if len(events) <= 1:
        return p.value.of(params), Ref.of(p.clause)
    total = ZERO
    for e in events:
        pe = getattr(benefit_terms(scheme, eff.replace(events=frozenset((e,)))), quantity)
        if pe is not None:
            total += pe.value.of(params)
    return total, Ref.of(p.clause)


def _layers(scheme, t, eff, params: dict) -> tuple[Layer, ...]:
    # Layers pay after the basic fund; a benefit another fund pays (maternity), or a fixed
    # amount that is the claim's whole settlement, has none.
    if t.payer != "basic" or t.fixed is not None:
        return ()
    out = []
    for fund in scheme.funds:
        if fund.base is None or (fund.benefits is not None and eff.benefit not in fund.benefits):
            continue
        lt = resolve(fund.clauses, eff)
        halvings = len(lt["deductible.halved"].adjust) if "deductible.halved" in lt else 0
        thresholds = []
        if "deductible" in lt:
            thresholds.append(Threshold(lt["deductible"].value.of(params) / 2 ** halvings, None,
                                        Ref.of(lt["deductible"].clause)))
        for quantity, p in lt.items():
            if quantity.startswith("threshold:"):
                th = p.value
                thresholds.append(Threshold(th.amount.of(params) / 2 ** halvings, th.benefits, Ref.of(p.clause)))
        caps = [p for k, p in lt.items() if k.startswith("cap:") and not k.endswith(".adjust")]
        rate = _rate(rate_spec(fund.clauses, lt, eff), params, eff)
        out.append(Layer(
            fund=fund.name, base=fund.base,
            rate=rate,
            not_covered="not_covered" in lt and bool(lt["not_covered"].adjust),
            caps=tuple(c for p in caps if (c := _cap(p, params)) is not None),
            thresholds=tuple(thresholds) or (Threshold(ZERO, None, None),),
            threshold_groups=_overlapping([th.benefits for th in thresholds]),
            pools=_pools(fund.name, scheme.pools.get(fund.name, ()), eff,
                         ("band", "burden") if fund.base == "burden" and rate is not None and rate.banded else None),
            counts_prepay=fund.including_prepay,
            includes_first_share=fund.including_first_share,
            above_deductible=fund.above_deductible,
            excludes_above_cap=eff.benefit in fund.excluding_above_cap,
            above_any_cap=fund.benefits is not None,
        ))
    return tuple(out)


def _overlapping(scopes: list) -> tuple[tuple[int, ...], ...]:
    """The indexes of benefit scopes, grouped so that scopes sharing a benefit (or covering every
    benefit, None) are in one group: the connected parts of the overlap relation."""
    groups: list[tuple[Optional[set], list[int]]] = []
    for i, scope in enumerate(scopes):
        names = None if scope is None else set(scope)
        merged_names, merged_idx, rest = names, [i], []
        for g_names, g_idx in groups:
            if merged_names is None or g_names is None or not merged_names.isdisjoint(g_names):
                merged_names = None if merged_names is None or g_names is None else merged_names | g_names
                merged_idx += g_idx
            else:
                rest.append((g_names, g_idx))
        groups = rest + [(merged_names, merged_idx)]
    return tuple(tuple(sorted(idx)) for _, idx in groups)

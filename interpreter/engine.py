"""Settles claims on a compiled policy: the pipeline of domain.md, one claim at a time."""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from .clauses import BandSpec
from .compiler import Compiled, SchemeRules
from .errors import ClaimError
from .settle import (ONE, ZERO, Year, trace_step, apply_caps, banded, banded_pieces, cap_limit, cost_above_cap,
                     deductible_due, fund_wide, pool_key, position_paying, q, record_pools)
from .terms import BenefitTerms, benefit_terms, layer_terms, rate_spec, resolve

_HUNDRED = Decimal(100)


class Engine:
    """Compiled policy + caches of resolved terms. The caches only ever gain entries that are a
    pure function of their key, so sharing an engine between threads is safe."""

    def __init__(self, compiled: Compiled):
        self.c = compiled
        self.levels = compiled.vocabulary.names_of("level")
        self._benefit_cache: dict = {}
        self._layer_cache: dict = {}
        self._item_cache: dict = {}

    # ---- cached term lookups ------------------------------------------------------
    def scheme(self, facts) -> SchemeRules:
        s = self.c.schemes.get(facts.scheme)
        if s is None:
            raise ClaimError("not-covered", f"the policy has no rules for the {facts.scheme} scheme", "scheme")
        return s

    def benefit_terms(self, facts) -> BenefitTerms:
        key = facts.key(self.c.measure_breaks, self.c.date_breaks)
        t = self._benefit_cache.get(key)
        if t is None:
            scheme = self.scheme(facts)
            t = benefit_terms(scheme, facts)
            self._benefit_cache[key] = t
        return t

    def layer_terms(self, fund, facts) -> dict:
        key = (fund.name, facts.key(self.c.measure_breaks, self.c.date_breaks))
        t = self._layer_cache.get(key)
        if t is None:
            t = layer_terms(fund, facts)
            self._layer_cache[key] = t
        return t

    def item_terms(self, scheme: SchemeRules, facts, cls: str, kind: str) -> dict:
        key = (facts.key(self.c.measure_breaks, self.c.date_breaks), cls, kind)
        t = self._item_cache.get(key)
        if t is None:
            t = resolve(scheme.item_clauses, facts, cls, kind)
            self._item_cache[key] = t
        return t

    # ---- one claim -----------------------------------------------------------------
    def settle(self, facts, year: Year, params: dict) -> tuple[dict, list]:
        """Settle one claim, updating `year` in place; returns the result and its trace."""
        scheme = self.scheme(facts)
        if facts.benefit not in scheme.benefits:
            raise ClaimError("not-covered", f"the {scheme.name} scheme of this policy has no {facts.benefit} benefit", "benefit")
        t = self.benefit_terms(facts)
        trace: list[tuple] = []
        eff = facts
        if t.redirect is not None:
            pick, changes = t.redirect
            eff = facts.replace(**changes)
            what = []
            if "benefit" in changes:
                what.append(f"as {changes['benefit']}")
            if "level" in changes:
                what.append(f"on the local terms of {changes['level']}")
            trace.append(trace_step("terms", None, pick.clause, "settled " + ", ".join(what)))

        # 1-4: total, excluded, pre-payment, eligible
        total = excluded = class_prepay = ZERO
        class_portions: dict = {}
        for it in facts.items:
            total += it.amount
            if it.cls == "excluded":
                excluded += it.amount
                continue
            itp = self.item_terms(scheme, eff, it.cls, it.kind) if scheme.item_clauses else {}
            amount = it.amount
            ceiling = itp.get("ceiling")
            if ceiling is not None:
                limit, daily = ceiling.value
                limit = limit.of(params)
                if daily:
                    if it.days is None:
                        raise ClaimError("missing-field", f"a {it.cls} item needs days for its daily ceiling", "items.days")
                    allowed = limit * it.days
                    over = max(amount - allowed, ZERO)
                elif it.unit_price is not None and it.unit_price > limit:
                    over = q(amount * (it.unit_price - limit) / it.unit_price)
                else:
                    over = ZERO
                if over:
                    excluded += over
                    amount -= over
                    trace.append(trace_step("over ceiling", over, ceiling.clause, f"{it.cls} above {q(limit)}"))
            share_pick = itp.get("prepay")
            if share_pick is not None:
                share = _tier_share(share_pick.value, it, limit_price(it, ceiling, params), params)
                # Pre-payments are amounts the patient pays: whole fen, like every figure on the bill.
                pre = q(amount * share)
                if pre:
                    class_prepay += pre
                    amount -= pre
                    trace.append(trace_step("prepay", pre, share_pick.clause, f"class {it.cls}: {_pct(share)}"))
            if "rate" in itp:
                class_portions[it.cls] = class_portions.get(it.cls, ZERO) + amount
        trace.insert(0, trace_step("total", total, None))
        if excluded:
            trace.append(trace_step("excluded", excluded, None, "outside the catalogue or over a price ceiling"))
        eligible0 = total - excluded - class_prepay
        first_share = ZERO
        if t.first_share is not None:
            share = _share(t.first_share.value.of(params))
            first_share = q(eligible0 * share)
            trace.append(trace_step("prepay", first_share, t.first_share.clause, f"first personal share {_pct(share)}"))
        prepay = class_prepay + first_share
        eligible = eligible0 - first_share
        trace.append(trace_step("eligible", eligible, None))

        funds = {f.name: ZERO for f in scheme.funds}
        result = {"id": facts.id, "person": facts.person, "year": facts.year, "benefit": facts.benefit,
                  "total": total, "excluded": excluded, "prepay": prepay, "eligible": eligible,
                  "deductible": ZERO, "paid": funds}
        if t.not_covered is not None and t.not_covered.adjust:
            clause = t.not_covered.adjust[-1][0]
            trace.append(trace_step("not covered", None, clause, "no fund pays this claim"))
            self._allowance(t, facts, params, result, trace)
            result["patient"] = total
            return result, trace

        # 5: deductible
        due, ded_clause, note, year_target = deductible_due(t, eff, year, params, self.levels, self.benefit_terms)
        if due and t.fixed is not None:
            due, note = ZERO, "a fixed amount (定额) settles the claim: no deductible"
        elif due and self._basic_cap_reached(scheme, t, eff, year, params):
            # 第二十八条-style layers: past the basic cap the layer above it settles the claim alone.
            due, note = ZERO, "the basic fund's yearly cap is reached: no deductible"
        charged = min(due, eligible)
        result["deductible"] = charged
        trace.append(trace_step("deductible", charged, ded_clause, note or None))

        # 6: the paying fund (basic, or the benefit's own)
        payer = t.payer
        rate = t.rate
        if rate is None and t.limit is None and t.fixed is None:
            raise ClaimError("no-clause", f"no clause gives a rate for this {facts.benefit} claim "
                                          f"({eff.level}{', ' + eff.status if eff.status else ''}, {eff.place})", None)
        benefit_set = self._band_scope(rate, eff)
        e0 = sum(year.eligible.get(b, ZERO) for b in benefit_set)
        lo, hi = e0 + charged, e0 + eligible
        # The cost above the deductible, in pieces by the share the paying fund pays of each.
        pieces: list[tuple[Decimal, Decimal]] = []
        if rate is not None:
            general = eligible - sum(class_portions.values())
            pay = ZERO
            if class_portions:
                d_left = charged
                take = min(d_left, general)
                d_left -= take
                pieces.append((general - take, rate.share(rate.base.of(params))))
                for cls, portion in class_portions.items():
                    crate = rate_spec(scheme.item_clauses, self.item_terms(scheme, eff, cls, "normal"), eff)
                    take = min(d_left, portion)
                    d_left -= take
                    pieces.append((portion - take, crate.share(crate.base.of(params))))
                    trace.append(trace_step("rate", None, crate.clause, f"class {cls}: {_pct(crate.share(crate.base.of(params)))}"))
                pay = sum((cost * share for cost, share in pieces), ZERO)
            else:
                pay = banded(lo, hi, rate.base, rate, params)
                pieces = banded_pieces(lo, hi, rate.base, rate, params)
            trace.append(trace_step("rate", None, rate.clause, _rate_note(rate, params, lo, hi)))
        else:
            pay = eligible - charged
            pieces = [(pay, ONE)]
        events = sorted(facts.events)
        if t.limit is not None:
            limit = self._per_event(t, "limit", eff, events, params)
            if pay > limit:
                pay = limit
                trace.append(trace_step("limit", limit, t.limit.clause, "限额: the actual cost up to the limit"))
        if t.fixed is not None:
            fixed = self._per_event(t, "fixed", eff, events, params)
            pay = min(fixed, eligible)
            trace.append(trace_step("fixed", fixed, t.fixed.clause, "定额: the fixed amount"))
        uncapped = pay
        pay, bound = apply_caps(payer, pay, t.caps, eff, params, year, trace)
        paid = q(pay)
        funds[payer] = paid
        trace.append(trace_step(payer, paid, rate.clause if rate is not None else (t.limit or t.fixed).clause))

        # Where a cap stopped the basic fund, for a layer that pays above it: the fund's own
        # yearly cap, or (for a layer `for` some benefits) whichever of their caps bound.
        def above(rooms: list) -> Decimal:
            if not rooms or rate is None or payer != "basic":
                return ZERO
            room = min(rooms)
            if room <= 0:
                return eligible
            return hi - position_paying(lo, hi, rate.base, rate, params, room) if uncapped > room else ZERO

        above_fund_cap = above([room for pick, _, room in bound if fund_wide(pick.value[3])])
        above_any_cap = above([room for _, _, room in bound])
        # The benefit's own yearly cap (`cap 6000 yearly` inside `outpatient`), for the layers
        # that leave out the cost above it (`excluding above cap of outpatient`).
        own_caps = [cap_limit(p, eff, params) for p in t.caps
                    if p.value is not None and p.value[3][0] is not None and p.value[3][2] == "year"]
        own_cap = min((c for c in own_caps if c is not None), default=None) if payer == "basic" else None

        # 8-9: further layers
        paid_so_far = paid
        layer_updates: list = []
        burden_claim = eligible - paid
        # Layers pay after the basic fund; a benefit another fund pays (maternity), or a fixed
        # amount that is the claim's whole settlement, has none.
        for fund in scheme.funds if payer == "basic" and t.fixed is None else ():
            if fund.base is None or (fund.benefits is not None and eff.benefit not in fund.benefits):
                continue
            lt = self.layer_terms(fund, eff)
            lpay = self._layer(fund, lt, eff, year, params, trace, layer_updates, eligible=eligible,
                               charged=charged,
                               above_cap=above_any_cap if fund.benefits is not None else above_fund_cap,
                               burden_claim=burden_claim, prepay=prepay, first_share=first_share,
                               paid_so_far=paid_so_far, pieces=pieces, own_cap=own_cap)
            funds[fund.name] += lpay
            paid_so_far += lpay

        result["patient"] = total - sum(funds.values())
        self._allowance(t, facts, params, result, trace)
        trace.append(trace_step("patient", result["patient"], None))

        # Accumulate the year only now: a claim that fails above leaves it untouched.
        # A stay is a claim of its own benefit: one settled `as inpatient` (视同住院) is not a
        # hospital stay, and a referral continues the stay it came from.
        referred = facts.referred_from is not None and t.picks.get("deductible.referral")
        if (eff.benefit == facts.benefit or "as.stay" in t.picks) and not referred:
            k = (eff.benefit, eff.level)
            year.stays[k] = year.stays.get(k, 0) + 1
            year.benefit_stays[eff.benefit] = year.benefit_stays.get(eff.benefit, 0) + 1
        year.deductibles[eff.benefit] = year.deductibles.get(eff.benefit, ZERO) + charged
        if year_target is not None:
            year.deductible_levels[eff.benefit] = year_target
        year.eligible[eff.benefit] = year.eligible.get(eff.benefit, ZERO) + eligible
        # The benefit clauses' pools are kept under whichever fund pays the claim.
        record_pools(payer, paid, scheme.pools.get("basic", ()), eff, year)
        for fund_name, burden, layer_paid, rated in layer_updates:
            if burden is not None:
                year.burden[burden[0]] = burden[1]
            for share, cost in rated:
                k = (fund_name, share)
                year.rated_costs[k] = year.rated_costs.get(k, ZERO) + cost
            record_pools(fund_name, layer_paid, scheme.pools.get(fund_name, ()), eff, year)
        return result, trace

    # ---- helpers ---------------------------------------------------------------------
    def _basic_cap_reached(self, scheme, t, eff, year, params) -> bool:
        """The basic fund's scheme-wide cap is used up and a layer pays above it."""
        if t.payer != "basic" or not any(
                f.base == "above-cap" and (f.benefits is None or eff.benefit in f.benefits) for f in scheme.funds):
            return False
        for pick in t.caps:
            if pick.value is not None and fund_wide(pick.value[3]):
                limit = cap_limit(pick, eff, params)
                if limit is not None and year.pools.get(pool_key("basic", pick.value[3], eff), ZERO) >= limit:
                    return True
        return False

    def _band_scope(self, rate, eff) -> frozenset:
        if rate is not None and isinstance(rate.base, BandSpec):
            scope = rate.clause.constraint.get("benefit")
            if scope:
                return scope
        return frozenset((eff.benefit,))

    def _per_event(self, t: BenefitTerms, quantity: str, eff, events: list, params: dict) -> Decimal:
        """Limits and fixed amounts of several events done together add up."""
        if len(events) <= 1:
            return getattr(t, quantity).value.of(params)
        total = ZERO
        for e in events:
            te = self.benefit_terms(eff.replace(events=frozenset((e,))))
            p = getattr(te, quantity)
            if p is not None:
                total += p.value.of(params)
        return total

    def _burden_positions(self, fund, lt: dict, eff, year: Year, params: dict, counted: Decimal):
        """Where this claim's burden falls on the layer's scale. With one threshold N the scale is
        the year's burden itself (bands are measured on it) and payment starts at N. With several
        (`threshold 18000 for ...`, `threshold 25000 for ...`), the excess over the thresholds is
        placed above the first threshold: thresholds over burdens that share a benefit are
        alternatives (the larger excess counts, so no cost counts twice); a threshold over a
        burden of its own (benefits no other threshold counts) adds its excess (绍兴 第三十六条（一）:
        the special drugs' 8,000 pool adds to the larger of the 18,000 and 25,000 excesses)."""
        halvings = len(lt["deductible.halved"].adjust) if "deductible.halved" in lt else 0
        thresholds = []
        if "deductible" in lt:
            thresholds.append((lt["deductible"].value.of(params), None, lt["deductible"].clause))
        for q_, p in lt.items():
            if q_.startswith("threshold:"):
                thresholds.append((p.value[0].of(params), p.value[1], p.clause))
        if not thresholds:
            thresholds = [(ZERO, None, None)]

        def burden_of(benefits) -> Decimal:
            return sum((v for (f, b), v in year.burden.items() if f == fund.name and (benefits is None or b in benefits)),
                       ZERO)

        halved = [amount / 2 ** halvings for amount, _, _ in thresholds]
        before, after = [], []
        for amount, (_, benefits, _) in zip(halved, thresholds):
            b0 = burden_of(benefits)
            b1 = b0 + (counted if benefits is None or eff.benefit in benefits else ZERO)
            before.append(b0 - amount)
            after.append(b1 - amount)
        first = halved[0]
        lo = hi = first
        for group in _overlapping([benefits for _, benefits, _ in thresholds]):
            lo += max(max(before[i] for i in group), ZERO)
            hi += max(max(after[i] for i in group), ZERO)
        if len(thresholds) == 1:
            b0 = before[0] + first
            note = f"burden this year {q(b0)} -> {q(b0 + counted)}, threshold {q(first)}"
        else:
            note = f"excess over the thresholds {q(lo - first)} -> {q(hi - first)}"
        return lo, hi, thresholds[0][2], note

    def _layer(self, fund, lt: dict, eff, year: Year, params: dict, trace: list, updates: list, *,
               eligible, charged, above_cap, burden_claim, prepay, first_share, paid_so_far,
               pieces, own_cap) -> Decimal:
        """What one layer pays on this claim; its changes to the year go to `updates`."""
        rate = rate_spec(fund.clauses, lt, eff)
        burden = None
        rated: list = []
        if fund.base == "burden":
            counted = burden_claim + (prepay if fund.including_prepay else
                                      first_share if fund.including_first_share else ZERO)
            if eff.benefit in fund.excluding_above_cap and own_cap is not None:
                # The cost above the benefit's own cap is no one's burden here (绍兴 第三十五条 末款).
                above, rated = cost_above_cap(year, fund.name, pieces, own_cap)
                if above > 0:
                    counted -= above
                    trace.append(trace_step("above cap", above, None,
                                            f"cost above the {eff.benefit} cap {q(own_cap)}: no {fund.name} burden"))
            key = (fund.name, eff.benefit)
            burden = (key, year.burden.get(key, ZERO) + counted)
            if rate is None or ("not_covered" in lt and lt["not_covered"].adjust):
                updates.append((fund.name, burden, ZERO, rated))
                return ZERO
            lo, hi, threshold_clause, note = self._burden_positions(fund, lt, eff, year, params, counted)
            pay = banded(lo, hi, rate.base, rate, params) if hi > lo else ZERO
            trace.append(trace_step(f"{fund.name} base", counted, threshold_clause, note))
        elif fund.base == "above-cap":
            if rate is None or above_cap <= 0:
                return ZERO
            pay = above_cap * rate.share(rate.base.of(params))
            trace.append(trace_step(f"{fund.name} base", above_cap, rate.clause, "eligible cost above the basic fund's cap"))
        else:  # remaining
            if rate is None or ("not_covered" in lt and lt["not_covered"].adjust):
                return ZERO
            remaining = eligible - paid_so_far - (charged if fund.above_deductible else ZERO) \
                + (first_share if fund.including_first_share else ZERO)
            remaining = max(remaining, ZERO)
            pay = remaining * rate.share(rate.base.of(params))
            trace.append(trace_step(f"{fund.name} base", remaining, rate.clause, "what the earlier funds left"))
        caps = [p for k, p in lt.items() if k.startswith("cap:") and not k.endswith(".adjust")]
        pay, _ = apply_caps(fund.name, pay, caps, eff, params, year, trace)
        paid = q(pay)
        updates.append((fund.name, burden, paid, rated))
        trace.append(trace_step(fund.name, paid, rate.clause))
        return paid

    def _allowance(self, t: BenefitTerms, facts, params: dict, result: dict, trace: list) -> None:
        """The maternity allowance (生育津贴), paid besides the bill even when the bill is not covered."""
        p = t.allowance
        if p is None:
            return
        days = p.value
        adj = t.picks.get("allowance.adjust")
        for _, s in (adj.adjust if adj else []):
            delta, each = s.value
            n = 1 if each is None else max((facts.measures.get(each) or 1) - 1, 0)
            days += delta * n
        if days <= 0:
            result["allowance"] = ZERO
            trace.append(trace_step("allowance", ZERO, p.clause, "no allowance"))
            return
        if facts.wage is None:
            trace.append(trace_step("allowance", None, p.clause, f"{days} days, not computed: the claim gives no wage"))
            return
        amount = q(facts.wage * days / 30)
        result["allowance"] = amount
        trace.append(trace_step("allowance", amount, p.clause, f"{days} days × {q(facts.wage)} / 30"))


def _overlapping(scopes: list) -> list[list[int]]:
    """The indexes of benefit scopes, grouped so that scopes sharing a benefit (or covering every
    benefit, None) are in one group: the connected parts of the overlap relation."""
    groups: list[tuple[set, list[int]]] = []
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
    return [sorted(idx) for _, idx in groups]


def limit_price(it, ceiling, params) -> Optional[Decimal]:
    if it.unit_price is None:
        return None
    if ceiling is not None and not ceiling.value[1]:
        return min(it.unit_price, ceiling.value[0].of(params))
    return it.unit_price


def _tier_share(value, it, unit_price, params) -> Decimal:
    """A pre-payment share: flat, or the tier of the item's unit price applied to the whole item."""
    if not isinstance(value, BandSpec):
        return _share(value.of(params))
    price = unit_price if unit_price is not None else it.amount
    for share, upper in value.bands:
        if upper is None or price <= upper.of(params):
            return _share(share.of(params))
    return ZERO


def _share(x: Decimal) -> Decimal:
    """A share from a parameter stays a share: never below 0 or above 100%."""
    return min(max(x, ZERO), ONE)


def _pct(x: Decimal) -> str:
    v = (x * _HUNDRED).quantize(Decimal("0.01")).normalize()
    return f"{v:f}%"


def _rate_note(rate, params, lo, hi) -> str:
    if isinstance(rate.base, BandSpec):
        return f"banded over the year's eligible cost {q(lo)} -> {q(hi)}"
    share = rate.share(rate.base.of(params))
    base = rate.base.of(params)
    if share == base:
        return _pct(share)
    how = []
    if rate.points:
        how.append(f"{'+' if rate.points > 0 else '-'} {abs(rate.points * _HUNDRED).normalize():f} points")
    how.extend("halved" for _ in range(rate.halvings))
    return f"{_pct(share)} ({_pct(base)} {', '.join(how)})"

"""Settles claims on a compiled policy: domain.md's order, one claim at a time.

The driver looks up the claim's settlement plan (plan.py: every term resolved for the
claim's signature, cached) and runs the stages below over one working record, in order:

    costs -> first share -> not covered? -> account first -> deductible -> the paying fund
    -> further layers -> patient and allowance -> personal account (always, covered or not)

Each stage is a small function reading the plan and the person's year and writing the
record; none goes back to the clauses. The year's changes are collected in the record and
applied in one place (`_commit`), only once the claim has settled: a claim that fails
leaves the year as it was. A plan's claims usually settle by its generated function instead
(straight.py: the same stages in one function, with the trace or without); the stages
(`settle_stages`) stay the reference and settle what it leaves.
"""

from __future__ import annotations

import threading
from decimal import getcontext, setcontext
from typing import Optional

from . import accounts
from .compiler import Compiled
from .errors import ClaimError
from .money import CONTEXT, ONE, ZERO, div, q
from .plan import Plan, Rate, build, pct, reach_error
from .settle import (Year, apply_caps, banded, banded_pieces, cap_reached, cost_above_cap, deductible_due, paid,
                     position_paying, record, trace_step)


class Engine:
    """A compiled policy and its cache of settlement plans, keyed by claim signature and
    parameters. The cache only ever gains entries that are a pure function of their key, so
    sharing an engine between threads is safe."""

    def __init__(self, compiled: Compiled):
        self.c = compiled
        self._plans: dict = {}
        self._item_rules: dict = {}  # item classes' rules, shared by the plans (plan._item_rules)
        self._codes: dict = {}  # the plans' generated functions compiled, by shape (straight.py)
        self._local = threading.local()  # each thread's copy of money.CONTEXT

    def plan(self, facts, params: dict) -> Plan:
        """The settlement plan of the claim's signature under `params` (built on first use)."""
        key = (facts.key(self.c.measure_breaks, self.c.date_breaks), _params_key(params))
        p = self._plans.get(key)
        if p is None:
            if len(self._plans) >= MAX_PLANS:
                # A caller varying the parameters claim by claim would grow the cache without end;
                # dropping it is safe (plans are rebuilt on demand, equal to the ones dropped).
                self._plans, self._item_rules = {}, {}
            try:
                p = self._plans[key] = build(self.c, facts, params, self._item_rules)
            except ClaimError as e:
                if e.code != "missing-parameter":
                    raise
                p = self._plans[key] = e  # every claim of the signature gets it, without building again
        if p.__class__ is ClaimError:
            raise p.with_traceback(None)
        return p

    def _straight(self, facts, year: Year, params: dict, trace: bool = False):
        """The claim settled by its plan's generated function (straight.py): the result, or with
        `trace` (result, trace steps); None when it leaves the claim to the stages: a plan or
        claim it does not take, or any failure (the stages then word the error; the function
        changes the year only once the claim has settled)."""
        try:
            c = self.c
            try:
                pkey = params.key  # BoundParams: the key made once
            except AttributeError:
                pkey = _params_key(params)
            plan = self._plans.get((facts.key(c.measure_breaks, c.date_breaks), pkey))
            if plan is None:
                plan = self.plan(facts, params)
        except Exception:
            return None
        if plan.__class__ is not Plan or plan.missing:  # a signature's error, or parameters the run lacks
            return None
        straight = plan.straight
        if trace:
            fast = straight.traced if straight.traced_made else straight.get(plan, self._codes, True)
        else:
            fast = straight.fn if straight.made else straight.get(plan, self._codes)
        if fast is None:
            return None
        try:
            result = fast(facts, year)
        except Exception:
            result = None
        if result is None:
            straight.leave()
        return result

    def settle(self, facts, year: Year, params: dict, trace: bool = True) -> tuple[dict, Optional[list]]:
        """Settle one claim, updating `year` in place; returns the result and its trace (None
        when `trace` is false: no step is built). Runs in the library's decimal context; any
        failure is a ClaimError (an unexpected one coded `internal`, naming the stage)."""
        callers = getcontext()
        try:
            ours = self._local.context
        except AttributeError:
            ours = self._local.context = CONTEXT.copy()
        if callers is not ours:  # (a caller inside our context already: nothing to switch)
            setcontext(ours)  # what `decimal.localcontext(CONTEXT)` does, without a copy per claim
        try:
            result = self._straight(facts, year, params, trace)
        except BaseException:  # an interrupt: the caller's context back, as below
            setcontext(callers)
            raise
        if result is not None:
            if callers is not ours:
                setcontext(callers)
            return result if trace else (result, None)
        return self.settle_stages(facts, year, params, trace, callers)

    def settle_stages(self, facts, year: Year, params: dict, trace: bool = True, callers=None):
        """`settle` through the engine's stages (the reference the generated functions are
        compared with; the path of what they leave): the same result and trace."""
        if callers is None:
            callers = getcontext()
            try:
                ours = self._local.context
            except AttributeError:
                ours = self._local.context = CONTEXT.copy()
            setcontext(ours)
        w = Work(facts, year, [] if trace else None)
        try:
            w.plan = self.plan(facts, params)
            if w.plan.missing:
                raise reach_error(self.c, w.plan, facts)
            for w.stage, stage in _NAMED_STAGES:
                if stage(w):
                    break
            w.stage = "account"
            if w.account is None and w.plan.account is None and facts.account is None and not year.accounts:
                # No account anywhere, neither in the policy, the claim nor the year: all cash.
                w.result["account"] = ZERO
                w.result["cash"] = w.result["patient"]
            else:
                accounts.pay(w)  # the patient's share, covered or not, split into account and cash
            w.stage = "commit"
            _commit(w)
        except ClaimError as e:
            if e.code == "missing-parameter" and w.plan is not None and w.stage == "costs":
                raise reach_error(self.c, w.plan, facts) from None  # an item class's: name every one
            raise
        except Exception as e:  # a bug, or input nothing checked: this claim's error row, never a crash
            raise ClaimError("internal", f"could not settle ({w.where()}): {e!r}",
                             None if w.field is None else f"items[{w.field}]") from e
        finally:
            setcontext(callers)
        return w.result, w.trace


MAX_PLANS = 20_000  # plans a policy keeps (a city's policy has a few hundred signatures)


def _params_key(params: dict):
    key = getattr(params, "key", None)
    if key is None:
        key = tuple(sorted(params.items())) if params else ()
    return key


class Work:
    """One claim on its way through the stages: the amounts so far and the year's changes."""

    __slots__ = ("facts", "year", "trace", "plan", "stage", "field", "result", "funds", "total", "excluded",
                 "prepay", "first_share", "eligible", "portions", "charged", "ded_target", "lo", "hi", "uncapped",
                 "bound", "payer_pay", "payer_keys", "layer_updates", "paid_so_far", "line", "pieces", "account")

    def __init__(self, facts, year: Year, trace: Optional[list]):
        self.facts, self.year, self.trace = facts, year, trace
        self.plan = self.result = None
        self.stage = "plan"
        self.field = self.line = None
        self.ded_target = None
        self.account = None
        self.layer_updates: list = []

    def where(self) -> str:
        """Where an unexpected failure happened: the stage, and the clause line or claim field."""
        at = self.stage
        if self.line is not None:
            at += f", the clause at line {self.line}"
        if self.field is not None:
            at += f", claim field items[{self.field}]"
        return at

    def step(self, name: str, amount, ref, detail: Optional[str] = None) -> None:
        """A trace step (callers test `w.trace is not None` first, so no note is formatted in vain):
        settle.trace_step's tuple, built here without the extra call."""
        self.trace.append((name, amount, None, None, detail) if ref is None
                          else (name, amount, ref.line, ref.cite, detail))


# ---- the stages -------------------------------------------------------------------------

def costs(w: Work) -> None:
    """Total, excluded items and costs over price ceilings, class pre-payments (steps 1-3)."""
    plan, facts, trace = w.plan, w.facts, w.trace
    if plan.redirect is not None and trace is not None:
        w.step("terms", None, *plan.redirect)
    total = excluded = prepay = ZERO
    portions: dict = {}
    defaults = list(plan.defaults)  # the trace notes of parameters taken from the policy's defaults
    item_rule = plan.item_rule
    for i, it in enumerate(facts.items):
        total += it.amount
        if it.cls == "excluded":
            excluded += it.amount
            continue
        if item_rule is None:
            continue
        w.field = i
        rule = item_rule(it.cls, it.kind)
        if rule.defaults and trace is not None:
            defaults += [n for n in rule.defaults if n not in defaults]
        amount = it.amount
        ceiling = rule.ceiling
        if ceiling is not None:
            w.line = ceiling.ref.line
            over = _over_ceiling(it, ceiling)
            if over:
                excluded += over
                amount -= over
                if trace is not None:
                    w.step("over ceiling", over, ceiling.ref, f"{it.cls} above {q(ceiling.limit)}")
        if rule.prepay is not None:
            share = _prepay_share(rule, it)
            # Pre-payments are amounts the patient pays: whole fen, like every figure on the bill.
            pre = q(amount * share)
            if pre:
                prepay += pre
                amount -= pre
                if trace is not None:
                    w.step("prepay", pre, rule.prepay_ref, f"class {it.cls}: {pct(share)}")
        if rule.rate is not None:
            portions[it.cls] = portions.get(it.cls, ZERO) + amount
    w.field = w.line = None
    if trace is not None:
        trace.insert(0, trace_step("total", total, None))
        # Right after the total: the parameters this claim's terms took from the policy's defaults.
        trace[1:1] = [("parameter", None, ref.line, ref.cite, note) for ref, note in defaults]
        if excluded:
            w.step("excluded", excluded, None, "outside the catalogue or over a price ceiling")
    w.total, w.excluded, w.prepay, w.portions = total, excluded, prepay, portions
    w.eligible = total - excluded - prepay


def _over_ceiling(it, ceiling):
    if ceiling.daily:
        if it.days is None:
            raise ClaimError("missing-field", f"a {it.cls} item needs days for its daily ceiling", "items.days")
        return max(it.amount - ceiling.limit * it.days, ZERO)
    if it.unit_price is not None and it.unit_price > ceiling.limit:
        return div(it.amount * (it.unit_price - ceiling.limit), it.unit_price)  # exact: the share above the ceiling
    return ZERO


def _prepay_share(rule, it):
    """A pre-payment share: flat, or the tier of the item's unit price applied to the whole item."""
    if not rule.prepay_tiered:
        return rule.prepay[0].share
    price = it.unit_price
    if price is None:
        price = it.amount
    elif rule.ceiling is not None and not rule.ceiling.daily:
        price = min(price, rule.ceiling.limit)
    for band in rule.prepay:
        if band.upper is None or price <= band.upper:
            return band.share
    return ZERO


def first_share(w: Work) -> None:
    """The claim's first personal share (先行自付), then the eligible cost (step 4)."""
    w.first_share = ZERO
    fs = w.plan.first_share
    if fs is not None:
        share, ref = fs
        w.first_share = q(w.eligible * share)
        if w.trace is not None:
            w.step("prepay", w.first_share, ref, f"first personal share {pct(share)}")
        w.eligible -= w.first_share
        w.prepay += w.first_share
    if w.trace is not None:
        w.step("eligible", w.eligible, None)
    w.funds = dict.fromkeys(w.plan.funds, ZERO)
    f = w.facts
    w.result = {"id": f.id, "person": f.person, "year": f.year, "benefit": f.benefit, "total": w.total,
                "excluded": w.excluded, "prepay": w.prepay, "eligible": w.eligible, "deductible": ZERO,
                "paid": w.funds}


def not_covered(w: Work) -> bool:
    """A claim no fund pays: the patient pays it all (the allowance is still paid)."""
    ref, month = w.plan.not_covered, w.facts.uncovered
    if ref is None and month is None:
        return False
    if w.trace is not None:
        if month is not None:  # the member's record: no benefits in the claim's month
            reason, article, line = month
            w.trace.append(("not covered", None, line, article, f"no benefits this month ({reason}): "
                                                                "the member's record"))
        else:
            w.step("not covered", None, ref, "no fund pays this claim")
    _allowance(w)
    w.result["patient"] = w.total
    w.payer_keys = None
    return True


def deductible(w: Work) -> None:
    """The deductible this claim is charged (step 5)."""
    plan = w.plan
    due, ref, note, w.ded_target = deductible_due(plan, w.year, w.trace is not None)
    if due and plan.fixed_settles:
        due, note = ZERO, "a fixed amount (定额) settles the claim: no deductible"
    elif due and cap_reached(plan.cap_reached_caps, plan.payer, w.facts, w.year):
        # 第二十八条-style layers: past the basic cap the layer above it settles the claim alone.
        due, note = ZERO, "the basic fund's yearly cap is reached: no deductible"
    w.charged = min(due, w.eligible)
    w.result["deductible"] = w.charged
    if w.trace is not None:
        w.step("deductible", w.charged, ref, note or None)


def paying_fund(w: Work) -> None:
    """The basic fund (or the benefit's own): rate or bands, limit, fixed amount, caps (6-7)."""
    plan, year, trace = w.plan, w.year, w.trace
    if plan.no_rate is not None:
        raise plan.no_rate
    rate, charged, eligible = plan.rate, w.charged, w.eligible
    e0 = sum(year.eligible.get(b, ZERO) for b in rate.scope) if rate is not None and rate.banded \
        else year.eligible.get(plan.benefit, ZERO)
    w.lo, w.hi = e0 + charged, e0 + eligible
    if rate is not None:
        w.line = rate.ref.line
        # The cost above the deductible, in pieces by the share the paying fund pays of each
        # (with bands, `_pieces` cuts lo..hi only for a layer that asks).
        if w.portions:
            w.pieces = _class_rates(w, rate)
            pay = sum((c * s for c, s in w.pieces), ZERO)
        else:
            w.pieces = None
            pay = banded(w.lo, w.hi, rate.bands)
        if trace is not None:
            note = f"banded over the year's eligible cost {q(w.lo)} -> {q(w.hi)}" if rate.banded else rate.note
            w.step("rate", None, rate.ref, note)
    else:
        pay = eligible - charged
        w.pieces = [(pay, ONE)]
    if plan.limit is not None:
        limit, ref = plan.limit
        if pay > limit:
            pay = limit
            if trace is not None:
                w.step("limit", limit, ref, "限额: the actual cost up to the limit")
    if plan.fixed is not None:
        fixed, ref = plan.fixed
        pay = min(fixed, eligible)
        if trace is not None:
            w.step("fixed", fixed, ref, "定额: the fixed amount")
    w.uncapped = pay
    payer = plan.payer
    pay, w.bound = apply_caps(payer, pay, plan.caps, w.facts, year, trace)
    keys = plan.pools.keys(w.facts.ordinal, not w.portions)
    w.payer_pay, w.payer_keys = pay, keys
    w.funds[payer] = p = paid(pay, keys, year)
    w.paid_so_far = p
    if trace is not None:
        w.step(payer, p, rate.ref if rate is not None else (plan.limit or plan.fixed)[1])
    w.line = None


def _pieces(w: Work) -> list:
    """The claim's cost above its deductible as (cost, share) pieces, by the paying fund's share."""
    return w.pieces if w.pieces is not None else banded_pieces(w.lo, w.hi, w.plan.rate.bands)


def _class_rates(w: Work, rate: Rate) -> list:
    """Item classes with their own rates are paid at them; the deductible is taken from the
    general cost first, then from each class in turn. Returns the (cost, share) pieces."""
    general = w.eligible - sum(w.portions.values())
    left = w.charged
    take = min(left, general)
    left -= take
    pieces = [(general - take, rate.share)]
    for cls, portion in w.portions.items():
        crate = w.plan.item_rule(cls, "normal").rate
        take = min(left, portion)
        left -= take
        pieces.append((portion - take, crate.share))
        if w.trace is not None:
            w.step("rate", None, crate.ref, f"class {cls}: {pct(crate.share)}")
    return pieces


def layers(w: Work) -> None:
    """Further layers (steps 8-9): above the basic cap, on the year's burden, on what remains."""
    plan = w.plan
    if plan.payer != "basic" or plan.fixed_settles:
        return
    all_layers = plan.layers()
    if not all_layers:
        return
    if w.bound:
        above_fund_cap = _above(w, [room for cap, _, room in w.bound if cap.fund_wide])
        above_any_cap = _above(w, [room for _, _, room in w.bound])
    else:
        above_fund_cap = above_any_cap = ZERO
    burden_claim = w.eligible - w.funds[plan.payer]
    for layer in all_layers:
        w.line = layer.rate.ref.line if layer.rate is not None else None
        pay = _LAYER_BASES[layer.base](w, layer, above_any_cap if layer.above_any_cap else above_fund_cap,
                                      burden_claim)
        w.funds[layer.fund] += pay
        w.paid_so_far += pay
    w.line = None


def _above(w: Work, rooms: list):
    """The eligible cost above the point where a cap stopped the basic fund (its cap point)."""
    rate = w.plan.rate
    if not rooms or rate is None or w.plan.payer != "basic":
        return ZERO
    room = min(rooms)
    if room <= 0:
        return w.eligible
    return w.hi - position_paying(w.lo, w.hi, rate.bands, room) if w.uncapped > room else ZERO


def _on_burden(w: Work, layer, above_cap, burden_claim):
    counted = burden_claim + (w.prepay if layer.counts_prepay else w.first_share if layer.includes_first_share
                              else ZERO)
    rated: list = []
    own_caps = w.plan.own_caps
    if layer.excludes_above_cap and own_caps:
        # The cost above the benefit's own cap is no one's burden here (绍兴 第三十五条 末款).
        own_cap = min(c.limit(w.facts.measures) for c in own_caps)
        above, rated = cost_above_cap(w.year, layer.fund, _pieces(w), own_cap)
        if above > 0:
            counted -= above
            if w.trace is not None:
                w.step("above cap", above, None, f"cost above the {w.plan.benefit} cap {q(own_cap)}: no {layer.fund} burden")
    key = (layer.fund, w.plan.benefit)
    burden = (key, w.year.burden.get(key, ZERO) + counted, rated)
    if layer.rate is None or layer.not_covered:
        w.layer_updates.append((burden, (), ZERO, ZERO))
        return ZERO
    lo, hi, ref, note = _burden_positions(w, layer, counted)
    pay = banded(lo, hi, layer.rate.bands) if hi > lo else ZERO
    if w.trace is not None:
        w.step(f"{layer.fund} base", counted, ref, note())
    return _layer_paid(w, layer, pay, burden)


def _burden_positions(w: Work, layer, counted):
    """Where this claim's burden falls on the layer's scale. With one threshold N the scale is
    the year's burden itself (bands are measured on it) and payment starts at N. With several
    (`threshold 18000 for ...`, `threshold 25000 for ...`), the excess over the thresholds is
    the larger of each burden less its threshold, placed above the first threshold."""
    if len(layer.thresholds) == 1:
        return _one_threshold(w, layer, counted)
    burdens = w.year.burden
    before, after = [], []
    for th in layer.thresholds:
        b0 = sum((v for (f, b), v in burdens.items() if f == layer.fund and (th.benefits is None or b in th.benefits)),
                 ZERO)
        b1 = b0 + (counted if th.benefits is None or w.plan.benefit in th.benefits else ZERO)
        before.append(b0 - th.amount)
        after.append(b1 - th.amount)
    first = layer.thresholds[0].amount
    lo = hi = first
    for group in layer.threshold_groups:
        lo += max(max(before[i] for i in group), ZERO)
        hi += max(max(after[i] for i in group), ZERO)
    return lo, hi, layer.thresholds[0].ref, lambda: _thresholds_note(w, layer, before, after, lo - first, hi - first)


def _one_threshold(w: Work, layer, counted):
    """One threshold N: the scale is the year's burden itself, and payment starts at N."""
    th = layer.thresholds[0]
    fund, benefits = layer.fund, th.benefits
    b0 = ZERO
    for (f, b), v in w.year.burden.items():
        if f == fund and (benefits is None or b in benefits):
            b0 += v
    b1 = b0 + counted if benefits is None or w.plan.benefit in benefits else b0
    first = th.amount
    return max(b0, first), max(b1, first), th.ref, \
        lambda: f"burden this year {q(b0)} -> {q(b0 + counted)}, threshold {q(first)}"


def _thresholds_note(w: Work, layer, before: list, after: list, lo, hi) -> str:
    """With several thresholds: the burden against each threshold this claim's burden counts
    in (the figures a reader checks), then the excess the layer pays on."""
    burdens = [f"burden this year {q(b0 + th.amount)} -> {q(b1 + th.amount)}, threshold {q(th.amount)}"
               for th, b0, b1 in zip(layer.thresholds, before, after)
               if th.benefits is None or w.plan.benefit in th.benefits]
    return "; ".join(burdens + [f"excess over the thresholds {q(lo)} -> {q(hi)}"])


def _above_cap(w: Work, layer, above_cap, burden_claim):
    if layer.rate is None or above_cap <= 0:
        return ZERO
    pay = above_cap * layer.rate.share
    if w.trace is not None:
        w.step(f"{layer.fund} base", above_cap, layer.rate.ref, "eligible cost above the basic fund's cap")
    return _layer_paid(w, layer, pay, None)


def _remaining(w: Work, layer, above_cap, burden_claim):
    if layer.rate is None or layer.not_covered:
        return ZERO
    remaining = w.eligible - w.paid_so_far - (w.charged if layer.above_deductible else ZERO) \
        + (w.first_share if layer.includes_first_share else ZERO)
    remaining = max(remaining, ZERO)
    pay = remaining * layer.rate.share
    if w.trace is not None:
        w.step(f"{layer.fund} base", remaining, layer.rate.ref, "what the earlier funds left")
    return _layer_paid(w, layer, pay, None)


_LAYER_BASES = {"burden": _on_burden, "above-cap": _above_cap, "remaining": _remaining}


def _layer_paid(w: Work, layer, pay, burden):
    pay, _ = apply_caps(layer.fund, pay, layer.caps, w.facts, w.year, w.trace)
    keys = layer.pools.keys(w.facts.ordinal)
    p = paid(pay, keys, w.year)
    w.layer_updates.append((burden, keys, pay, p))
    if w.trace is not None:
        w.step(layer.fund, p, layer.rate.ref)
    return p


def patient(w: Work) -> None:
    """What the patient pays: the total less every fund's payment (step 10); the allowance."""
    w.result["patient"] = w.total - sum(w.funds.values())
    _allowance(w)
    if w.trace is not None:
        w.step("patient", w.result["patient"], None)


def _allowance(w: Work) -> None:
    """The maternity allowance (生育津贴), paid besides the bill even when the bill is not covered."""
    a = w.plan.allowance
    if a is None:
        return
    days = a.days
    for delta, measure in a.per_extra:
        days += delta * max((w.facts.measures.get(measure) or 1) - 1, 0)
    if days <= 0:
        w.result["allowance"] = ZERO
        if w.trace is not None:
            w.step("allowance", ZERO, a.ref, "no allowance")
        return
    wage = w.facts.wage
    if wage is None:
        if w.trace is not None:
            w.step("allowance", None, a.ref, f"{days} days, not computed: the claim gives no wage")
        return
    amount = w.result["allowance"] = q(div(wage * days, 30))
    if w.trace is not None:
        w.step("allowance", amount, a.ref, f"{days} days × {q(wage)} / 30")


# domain.md's order; a stage returning True settles the claim early (not covered).
def account_first(w: Work) -> None:
    """`account first`: the personal account pays a first segment before the deductible (accounts.py)."""
    if w.plan.account is not None:  # without terms the account pays nothing first (`pay` reads the balances)
        accounts.first_segment(w)


STAGES = (costs, first_share, not_covered, account_first, deductible, paying_fund, layers, patient)
_NAMED_STAGES = tuple((stage.__name__, stage) for stage in STAGES)


def _commit(w: Work) -> None:
    """The year's changes, applied once the claim has settled."""
    plan, year = w.plan, w.year
    b = plan.benefit
    if w.account is not None:
        accounts.commit(w, year)  # the account's balance moves even when no fund pays
    if w.payer_keys is None:  # not covered: the year does not move
        return
    if plan.counts_stay:
        k = (b, plan.level)
        year.stays[k] = year.stays.get(k, 0) + 1
        year.benefit_stays[b] = year.benefit_stays.get(b, 0) + 1
    year.deductibles[b] = year.deductibles.get(b, ZERO) + w.charged
    if w.ded_target is not None:
        year.deductible_levels[b] = w.ded_target
    year.eligible[b] = year.eligible.get(b, ZERO) + w.eligible
    # The benefit clauses' pools are kept under whichever fund pays the claim.
    record(w.payer_keys, w.payer_pay, w.funds[plan.payer], year)
    for burden, keys, pay, p in w.layer_updates:
        if burden is not None:
            key, total, rated = burden
            year.burden[key] = total
            for share, cost in rated:
                k = (key[0], share)
                year.rated_costs[k] = year.rated_costs.get(k, ZERO) + cost
        record(keys, pay, p, year)


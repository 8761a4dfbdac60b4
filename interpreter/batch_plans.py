"""The columnar engine's plans: a settlement plan (plan.py) in vector form (batch.py, step 2).

A `VPlan` is one signature's plan as numbers the waves read: deductibles, bands, caps, pools,
layers and thresholds in fen, shares as fractions scaled to the run's 1/S fen. `Plans` keeps them
by signature across the tables of one year; plans of equal numbers share one (`plan_identity`),
plans differing only in amounts share a numpy step (`Shapes`), and `describe` writes them as the
int64 rows the compiled kernel reads. A feature not vectorised raises `Unsupported`: the scalar
engine then settles the plan's persons.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple, Optional

import numpy as np

from .clauses import Constraint
from .errors import ClaimError
from .money import Exact

MAX_PERSON_FEN = 10 ** 12      # a person's claims above this in a run: scalar engine (int64 headroom)
MAX_DIGITS = 6                 # shares finer than 10^-6 (a parameter's odd percentage): scalar engine


class Unsupported(Exception):
    """A plan feature the columnar engine leaves to the scalar engine (its message says which)."""


def _fen_of(amount, what: str) -> int:
    """An amount (Decimal, Fraction or int) as whole fen, exactly (its integer ratio: no decimal
    context, and a tenth of Fraction(Decimal)'s time, which a few hundred plans' amounts felt)."""
    num, den = amount.as_integer_ratio()
    fen, rest = divmod(num * 100, den)
    if rest:
        raise Unsupported(f"{what} is not a whole number of fen")
    if abs(fen) >= MAX_PERSON_FEN * 1000:
        raise Unsupported(f"{what} is too large for int64")
    return fen


def _digits(share) -> int:
    """How many decimals a share has (its denominator 2^a 5^b needs max(a, b))."""
    den, twos, fives = Fraction(share).denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise Unsupported("a share that is not a decimal")
    return max(twos, fives)


class _Rate:
    def __init__(self, rate):
        if rate is None:  # no rate: the fund pays the eligible cost above the deductible (engine.paying_fund)
            self.bands, self.banded, self.share, self.digits = [(None, Fraction(1))], False, Fraction(1), 0
            return
        self.bands = [(None if b.upper is None else _fen_of(b.upper, "a band's bound"), Fraction(b.share))
                      for b in rate.bands]
        self.banded = rate.banded
        self.share = Fraction(rate.share)
        self.digits = max(_digits(s) for _, s in self.bands)

    def scaled(self, scale: int) -> None:
        self.scaled_bands = [(u, int(s * scale)) for u, s in self.bands]
        self.scaled_share = int(self.share * scale)


class _Layer:
    def __init__(self, layer, plan, keys: "Keys"):
        self.fund, self.base = layer.fund, layer.base
        if layer.pools.daily or any(c.daily or c.per_extra for c in layer.caps):
            raise Unsupported("a daily cap, or a cap per measure, in a layer")
        self.rate = _Rate(layer.rate) if layer.rate is not None else None
        self.not_covered = layer.not_covered
        self.caps = [(keys.pool((layer.fund, c.key, None)), _fen_of(c.amount, "a cap")) for c in layer.caps]
        self.keys = [keys.pool(k) for k in layer.pools.keys(0)]
        self.counts_prepay, self.includes_first_share = layer.counts_prepay, layer.includes_first_share
        self.above_deductible, self.above_any_cap = layer.above_deductible, layer.above_any_cap
        self.own_cap = None
        if self.base == "burden":
            if layer.excludes_above_cap and plan.own_caps:
                # The cost above the benefit's own cap is no burden (绍兴 第三十五条 末款): the waves
                # take the burden whole, which is right while none is above it; the year goes to
                # the scalar engine at the claim where some would be (the rated costs, VPlan.rated).
                # (A cap raised per measure is at least its amount: handed over no later than due.)
                self.own_cap = min(_fen_of(c.amount, "a cap") for c in plan.own_caps)
            # (amount in fen, the burdens it is measured on, whether this claim's burden counts)
            self.thresholds = [(_fen_of(th.amount, "a threshold"), None if th.benefits is None else frozenset(th.benefits),
                                th.benefits is None or plan.benefit in th.benefits) for th in layer.thresholds]
            self.groups = layer.threshold_groups
            self.burden = keys.burden((layer.fund, plan.benefit))


DAY = "day"  # a pool key's third part for a daily pool (the scalar engine's is the claim's day)


class Keys:
    """The accumulators' columns: benefits, pools (fund, key, None; a daily pool's: fund, key,
    DAY), burdens (layer, benefit)."""

    def __init__(self):
        self.benefits: dict = {}
        self.pools: dict = {}
        self.burdens: dict = {}
        self.stays: dict = {}
        self.rated: dict = {}   # (layer's fund, share: Decimal) -> the year's cost rated at that share

    def rated_cost(self, k) -> int:
        return self.rated.setdefault(k, len(self.rated))

    def stay(self, k) -> int:
        return self.stays.setdefault(k, len(self.stays))

    def benefit(self, b) -> int:
        return self.benefits.setdefault(b, len(self.benefits))

    def pool(self, k) -> int:
        return self.pools.setdefault(k, len(self.pools))

    def burden(self, k) -> int:
        return self.burdens.setdefault(k, len(self.burdens))

    def daily(self) -> list[int]:
        """The pools that are a day's, not a year's."""
        return [j for key, j in self.pools.items() if key[2] == DAY]


class VPlan:
    """A settlement plan as the vector step needs it; raises Unsupported for what it does not do."""

    def __init__(self, plan, classes: list, keys: Keys, facts=None, error: Optional[ClaimError] = None):
        # (classes: the item rules' (class, bed kind) pairs, as Claims.item_kinds codes them)
        self.error = error.as_dict() if error is not None else None  # every claim of the plan is this error row
        self.rate = None
        self.layers: list = []
        self.own_cap = None  # fen: a layer's burden leaves out the cost above this benefit's own cap
        self.limit = self.fixed = None  # fen: 限额, 定额
        self.rated_class = -1  # ... and the rated-cost column of a class at its own rate
        self.not_covered = False
        self.allowance_zero = False
        if error is not None:
            self.item_prepay, self.item_ok, self.first_share, self.funds = [None] * len(classes), [True] * len(classes), None, ()
            self.item_reads_price, self.item_daily = [False] * len(classes), [None] * len(classes)
            self.class_code = self.class_rate = None
            return
        self.funds, self.payer = plan.funds, plan.payer
        if plan.allowance is not None:
            # Without a wage (not a field of the common shape) the allowance is not computed, unless
            # its days come to nothing: then it is 0.
            a = plan.allowance
            days = a.days + sum(d * max((facts.measures.get(m) or 1) - 1, 0) for d, m in a.per_extra)
            self.allowance_zero = days <= 0
        self.item_prepay, self.item_ok, self.item_reads_price, self.item_daily, class_rates = self._items(plan, classes)
        self.class_code = self.class_rate = None
        self.first_share = Fraction(plan.first_share[0]) if plan.first_share is not None else None
        self.not_covered = plan.not_covered is not None
        if self.not_covered:
            return
        if plan.no_rate is not None:
            self.error = plan.no_rate.as_dict()
            self.allowance_zero = False  # an error row has no allowance, as the scalar engine's
            return
        self._fund_terms(plan, keys, class_rates)
        self._caps_and_pools(plan, keys)
        if plan.payer == "basic" and not plan.fixed_settles and not self._further_layers(plan, keys):
            return  # (the layers' error row)
        self.burden_sums = {}  # filled by `scaled`, when every burden key is known

    def _fund_terms(self, plan, keys: Keys, class_rates: list) -> None:
        """The paying fund's terms: limit and fixed amount, deductible, the stay counted, rate."""
        # 限额 and 定额 (随州, 绥化, 绍兴 maternity: per event, several events' added up): the payment at
        # most the limit; a fixed amount, at most the eligible cost, is the claim's whole settlement
        # (no deductible, no layer). A fixed amount or limit may stand without a rate: 100 %.
        self.limit = _fen_of(plan.limit[0], "a limit") if plan.limit is not None else None
        self.fixed = _fen_of(plan.fixed[0], "a fixed amount") if plan.fixed is not None else None
        if plan.rate is None and (plan.payer == "basic" and not plan.fixed_settles):
            raise Unsupported("no rate, and layers after the fund")
        d = plan.deductible
        if d.source is not None:
            raise Unsupported("a referral's deductible")
        self._deductible(d)
        self.benefit = keys.benefit(plan.benefit)
        self.benefit_name, self.level_name = plan.benefit, plan.level
        self.stay = keys.stay((plan.benefit, plan.level))
        self.counts_stay = plan.counts_stay
        self.rate = _Rate(plan.rate)
        self._class_rate(plan, class_rates)
        self.scope = [keys.benefit(b) for b in plan.rate.scope] if self.rate.banded else [self.benefit]

    def _caps_and_pools(self, plan, keys: Keys) -> None:
        """The paying fund's caps (their pools' columns and amounts) and every pool it counts in."""
        if any(c.per_extra for c in plan.caps) or any(c.daily or c.per_extra for c in plan.cap_reached_caps):
            raise Unsupported("a cap per measure")
        # A daily cap's pool is the day's (随州 第四十四条: 30 a day at a clinic): one column, emptied
        # when a person-year's claims move to another day (they are settled in date order).
        self.caps = [(keys.pool((plan.payer, c.key, DAY if c.daily else None)), _fen_of(c.amount, "a cap"), c.fund_wide)
                     for c in plan.caps]
        self.cap_reached = [(keys.pool((plan.payer, c.key, None)), _fen_of(c.amount, "a cap"))
                            for c in plan.cap_reached_caps]
        self.keys = [keys.pool(k) for k in plan.pools.yearly] \
            + [keys.pool((fund, key, DAY)) for fund, key in plan.pools.daily] \
            + ([keys.pool(plan.pools.band)] if plan.pools.band is not None else [])

    def _further_layers(self, plan, keys: Keys) -> bool:
        """The layers after the basic fund (False: they fail for this plan, its claims' error row)."""
        try:
            layers = plan.layers()
        except ClaimError as e:  # raised by the layers stage: the claim's error row
            self.error, self.rate = e.as_dict(), None
            return False
        self.layers = [_Layer(layer, plan, keys) for layer in layers]
        own = [layer for layer in self.layers if layer.own_cap is not None]
        if len(own) > 1:
            raise Unsupported("two layers that leave out the cost above a benefit's own cap")
        if own:
            # 绍兴 第三十五条 末款: the year's costs above the deductible, by the paying fund's share
            # (settle.cost_above_cap's `rated_costs`), a column per (layer's fund, share).
            self.own_cap, self.own_fund, self.own_layer = own[0].own_cap, own[0].fund, self.layers.index(own[0])
            self.rated = [keys.rated_cost((own[0].fund, band.share)) for band in plan.rate.bands]
            if self.class_rate is not None:  # (the class's cost is rated at its own share)
                self.rated_class = keys.rated_cost((own[0].fund, self.class_rate.share))
        return True

    def _class_rate(self, plan, class_rates: list) -> None:
        """A class paid at a rate of its own (绍兴 第三十二条（二）: residents' herbal medicine; engine.
        _class_rates): the claim's cost of it, less what of the deductible the general cost did not
        take, at that rate. Vectorised where it is the plan's only such class and both rates are
        flat (the order of several classes, and a band pool, are the scalar engine's): else its
        items are not taken."""
        rated = [i for i, r in enumerate(class_rates) if r is not None]
        if not rated:
            return
        rate = class_rates[rated[0]]
        if len(rated) > 1 or plan.rate is None or plan.rate.banded or len(plan.rate.bands) > 1 or plan.pools.band is not None \
                or rate.banded or len(rate.bands) > 1:
            for i in rated:
                self.item_ok[i] = False
            return
        self.class_code, self.class_rate = rated[0], _Rate(rate)

    def _items(self, plan, classes: list):
        """Per item class and bed kind: its flat pre-payment share (None: none), whether it is
        vectorised, whether its rule reads an item's unit price (a price ceiling, or pre-payment
        tiers by price: engine._over_ceiling, engine._prepay_share), so that an item with one is
        not, its daily ceiling in fen (床位费: the part above it times the days is excluded), and its
        rate of its own (None: none; VPlan._class_rate)."""
        n = len(classes)
        prepay, ok, reads_price, daily, rates = [None] * n, [True] * n, [False] * n, [None] * n, [None] * n
        if plan.item_rule is None:
            return prepay, ok, reads_price, daily, rates
        for i, (cls, kind) in enumerate(classes):
            if cls == "excluded":
                continue
            try:
                rule = plan.item_rule(cls, kind)
            except ClaimError:
                ok[i] = False
                continue
            reads_price[i] = rule.ceiling is not None or (rule.prepay is not None and rule.prepay_tiered)
            if rule.ceiling is not None and rule.ceiling.daily:
                try:
                    daily[i] = _fen_of(rule.ceiling.limit, "a daily ceiling")
                except Unsupported:
                    ok[i] = False
                    continue
            rates[i] = rule.rate
            if rule.prepay is not None:
                # (upper bound in fen or None, share): a tier by the item's price, which without a
                # unit price is its amount (engine._prepay_share); flat: one unbounded tier.
                try:
                    prepay[i] = [(None if b.upper is None or not rule.prepay_tiered else _fen_of(b.upper, "a tier"),
                                  Fraction(b.share)) for b in (rule.prepay if rule.prepay_tiered else rule.prepay[:1])]
                except Unsupported:
                    ok[i] = False
        return prepay, ok, reads_price, daily, rates

    def _deductible(self, d) -> None:
        rule = d.rule
        self.yearly = d.yearly
        self.ded_amount = _fen_of(rule.amount, "a deductible")
        self.reducible = bool(rule.steps or rule.halvings or rule.repeat)
        base = Fraction(rule.amount) + sum(Fraction(s) for s, _ in rule.steps)
        base /= 2 ** len(rule.halvings)
        self.ded_base = _fen_of(base, "a reduced deductible")
        self.ded_static_ref = bool(rule.steps or rule.halvings)
        self.repeat = _fen_of(rule.repeat[0], "a repeat-stay step") if rule.repeat is not None else None
        self.floor = min(_fen_of(rule.floor[0], "a floor"), self.ded_amount) if rule.floor is not None else None
        # No deductible from the N-th stay of the year (at these levels): (N, levels or None).
        self.none_from = (d.none_from[0], d.none_from[1]) if d.none_from is not None else None

    def digits(self) -> int:
        return max([r.digits for r in self._rates()] or [0])

    def _rates(self) -> list:
        """Every rate the plan pays at: its own, its class's, its layers'."""
        return ([self.rate] if self.rate else []) + ([self.class_rate] if self.class_rate else []) \
            + [layer.rate for layer in self.layers if layer.rate is not None]

    def scaled(self, scale: int, keys: Keys) -> None:
        """Amounts in 1/scale fen, once the run's scale is known."""
        for r in self._rates():
            r.scaled(scale)
        if self.rate is None:
            return
        self.caps_s = [(k, limit * scale, fund_wide) for k, limit, fund_wide in self.caps]
        if self.none_from is not None:
            stay_no, levels = self.none_from
            self.none_from_applies = levels is None or self.level_name in levels
            self.stays_counted = [j for (b, lv), j in keys.stays.items()
                                  if b == self.benefit_name and (levels is None or lv in levels)]
        self.cap_reached_s = [(k, limit * scale) for k, limit in self.cap_reached]
        self.limit_s = self.limit * scale if self.limit is not None else None
        self.fixed_s = self.fixed * scale if self.fixed is not None else None
        if self.own_cap is not None:
            self.own_cap_s = self.own_cap * scale
        for layer in self.layers:
            layer.caps_s = [(k, limit * scale) for k, limit in layer.caps]
            if layer.base == "burden":
                layer.summed = [[j for (fund, b), j in keys.burdens.items()
                                 if fund == layer.fund and (within is None or b in within)]
                                for _, within, _ in layer.thresholds]


class Plans:
    """The vector plans made for a policy and its parameters, by signature: kept across the
    tables (chunks, buckets) of one year so each signature's plan is made once. Not shared
    between threads."""

    def __init__(self):
        self.keys = Keys()
        self.vplans: list = []
        self.identities: dict = {}
        self.by_signature: dict = {}   # signature -> (plan index or -1, why not vectorised)
        self.reads: Optional[tuple] = None   # what a signature keeps, by scheme and benefit (_Run._reads)


def selected_groups(compiled) -> frozenset:
    """Every group (特殊人群) some clause of the policy selects on: the groups named by the
    constraints the compiled policy holds, wherever they are (schemes', funds' and items'
    clauses, layers; a cohort's condition is compiled into the constraints that name it). A
    claim's groups are read by `terms.matches` alone, so a group no constraint names cannot
    change which clauses match, nor so the plan: signatures that differ only in such groups
    share one (the generated years of the five cities: 2.2-11.8 thousand signatures a city,
    1.4-37x fewer plans to make)."""
    return _reads(compiled.schemes).groups


class Reads(NamedTuple):
    """What the plan of a claim of one scheme and benefit can read of the claim's groups and
    measures: `terms.matches` alone reads the groups, so only those its constraints name
    (`groups`), and only as its constraints test them (`group_tests`: (every, names), whether
    the claim has any of the names, or with `every`, all of them); a measure is read where a
    clause names it (a constraint's bounds, a cap or allowance per unit, a rate or deductible
    needing it): among `words`, every string its clauses hold."""
    groups: frozenset
    words: frozenset
    group_tests: frozenset


def benefit_reads(scheme) -> dict:
    """For each benefit the scheme's clauses name (and None, any other), the `Reads` of the parts
    a plan of one of its claims can consult: the clauses naming the benefit or none
    (`Clauses.of_benefit`), and those of every benefit it may be settled as (`as`), the item
    clauses, the funds' (layers') clauses and the pools. A group or an age some clause names for
    inpatient care only then keeps no outpatient claims apart (the generated years: Suihua's
    1,482 signatures -> 648, Suizhou's 4,387 -> 2,032)."""
    clauses = scheme.clauses
    common = _reads([clauses.unnamed, scheme.item_clauses, scheme.funds, scheme.pools])
    out = {None: common}
    for benefit in clauses.by_benefit:
        reached, todo = {benefit}, [benefit]
        while todo:  # (the benefits it may be settled as, and theirs)
            for c in clauses.of_benefit(todo.pop()):
                for setting in c.settings:
                    if setting.quantity == "as" and setting.value not in reached:
                        reached.add(setting.value)
                        todo.append(setting.value)
        own = _reads([clauses.of_benefit(b) for b in reached])
        out[benefit] = Reads(*(a | b for a, b in zip(common, own)))
    return out


def _reads(root) -> Reads:
    words, tests = set(), set()
    for obj in _parts(root):
        if type(obj) is str:
            words.add(obj)
        elif isinstance(obj, Constraint):
            tests.update((False, names) for part in (obj.values, obj.excluded) for dim, names in part if dim == "group")
            tests.update((True, names) for dim, names in obj.required if dim == "group")
    return Reads(frozenset(name for _, names in tests for name in names), frozenset(words), frozenset(tests))


def named_words(compiled) -> frozenset:
    """Every string the compiled schemes hold, anywhere (a constraint's words, a cap's key, a
    layer's names). A word of the vocabulary not among them cannot change a settlement where
    the claim's value is only compared with words; conservative: a word some other string of
    the schemes happens to equal counts as named."""
    return _reads(compiled.schemes).words


def unread_fields(compiled) -> frozenset:
    """The claim fields (top-level names; the facility's as `facility.grade`) that cannot change a
    settlement under this policy: a whole number, a yes/no or a choice whose every vocabulary word (`feeds`:
    "measure age", "flag contracted", the dimension "grade") no part of the compiled schemes
    names, anywhere (a constraint, a cap per measure, a layer). Such a field is only checked by
    the claim reader; the columnar engine checks it in vector form (batch_columns) and keeps the
    row. Conservative: a word any string of the schemes happens to equal counts as named."""
    from .claim_fields import CLAIM_FIELDS, FACILITY_FIELDS

    named = named_words(compiled)
    fields = [(f.name, f) for f in CLAIM_FIELDS] + [(f"facility.{f.name}", f) for f in FACILITY_FIELDS]
    return frozenset(path for path, f in fields
                     if f.type in ("whole", "bool", "choice") and f.feeds
                     and not any(word.split(" ")[-1] in named for word in f.feeds))


def _parts(root):
    """Every object `root` holds (the compiled schemes, or parts of them), each once, leaves
    (numbers, strings) included."""
    seen: set = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if type(obj) in _LEAVES:
            yield obj
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        else:  # a compiled record: attrs, slotted or plain
            stack.extend(getattr(obj, name) for cls in type(obj).__mro__
                         for name in getattr(cls, "__slots__", ()) if hasattr(obj, name))
            stack.extend(getattr(obj, "__dict__", {}).values())


_LEAVES = frozenset({int, bool, str, type(None), Fraction, Exact, Decimal})


def plan_identity(value):
    """A vector plan's numbers as a hashable value (two signatures with equal ones share a step).
    Attributes and a dict's items in the order they were set: plans are built by one path, and
    two equal plans built in another order would only not share a step (sorting them, and the
    dicts' items by repr, was half the time of making a plan)."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, (VPlan, _Layer, _Rate)):
        return tuple((k, plan_identity(x)) for k, x in vars(value).items())
    if isinstance(value, dict):
        return tuple((k, plan_identity(x)) for k, x in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(plan_identity(x) for x in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value, key=repr))
    return value


def _with_amounts(v: "VPlan", amount, free=None) -> "VPlan":
    """A copy of a vector plan with each amount and share the waves read (deductibles, band
    bounds and shares, caps, thresholds) replaced by `amount(value)`, None kept; the numbers
    only the rest of the run reads (item pre-payments, first share, unscaled values, names)
    left out. `free` (default `amount`) replaces the values whose sign no branch reads: the
    (benefit, level) stay counted, a deductible neither yearly nor reduced (0 is then just 0)."""
    free = free or amount
    def rate(r):
        if r is None:
            return None
        r = copy.copy(r)
        r.scaled_bands = [(None if u is None else amount(u), amount(s)) for u, s in r.scaled_bands]
        r.scaled_share, r.bands, r.share, r.digits = amount(r.scaled_share), None, None, None
        return r

    w = copy.copy(v)
    w.item_prepay = w.item_ok = w.item_reads_price = w.item_daily = w.first_share = w.allowance_zero = None
    w.class_rate = w.class_code = None  # (the steps hand a claim with such items to the scalar engine)
    if v.rate is None:  # an error row or not covered: nothing the waves read
        return w
    w.benefit_name = w.level_name = None
    w.stay = free(v.stay)
    w.ded_amount = (amount if v.yearly or v.reducible else free)(v.ded_amount)
    for name in ("ded_base", "repeat", "floor"):
        if getattr(v, name) is not None:
            setattr(w, name, amount(getattr(v, name)))
    w.rate = rate(v.rate)
    w.caps_s = [(k, amount(limit), fund_wide) for k, limit, fund_wide in v.caps_s]
    w.cap_reached_s = [(k, amount(limit)) for k, limit in v.cap_reached_s]
    w.caps = w.cap_reached = None
    w.layers = []
    for layer in v.layers:
        lay = copy.copy(layer)
        lay.rate = rate(layer.rate)
        lay.caps_s, lay.caps = [(k, amount(limit)) for k, limit in layer.caps_s], None
        if layer.base == "burden":
            lay.thresholds = [(amount(a), within, counts) for a, within, counts in layer.thresholds]
        w.layers.append(lay)
    return w


class Shapes:
    """Plans that differ only in their amounts and shares (levels' deductibles and rates, places'
    rates, groups' caps) settle in one vectorised step per wave: fewer, larger steps. A step's plan
    is then a copy with each amount an array over its rows, gathered by the rows' plan; whether an
    amount is None, negative, 0 or positive is part of the shape, so the step's branches are the same."""

    def __init__(self, vplans: list):
        sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
        index: dict = {}
        self.of = np.zeros(max(len(vplans), 1), np.int64)
        self.members: list = []
        for j, v in enumerate(vplans):
            shape = plan_identity(_with_amounts(v, sign, lambda _: "free"))
            self.of[j] = index.setdefault(shape, len(index))
            if self.of[j] == len(self.members):
                self.members.append([])
            self.members[self.of[j]].append(j)
        self.vplans = vplans
        self.tables: dict = {}  # shape -> each amount's values by plan index

    def plan(self, shape: int, plan_of_rows: np.ndarray) -> "VPlan":
        """The step's plan for rows whose plans (`plan_of_rows`) have this shape."""
        members = self.members[shape]
        if len(members) == 1:
            return self.vplans[members[0]]
        tables = self.tables.get(shape)
        if tables is None:
            columns = [[] for _ in members]
            for col, j in zip(columns, members):
                _with_amounts(self.vplans[j], lambda x, col=col: col.append(x) or x)
            tables = self.tables[shape] = []
            for values in zip(*columns):
                if len(set(values)) == 1:  # the same in every plan of the shape: the number itself
                    tables.append(values[0])
                    continue
                table = np.zeros(len(self.vplans), np.int64)
                table[members] = values
                tables.append(table)
        gathered = iter([t[plan_of_rows] if isinstance(t, np.ndarray) else t for t in tables])
        return _with_amounts(self.vplans[members[0]], lambda _: next(gathered))


_LAYER_KINDS = {"burden": 0, "above-cap": 1}  # anything else: on what remains


class _TooBig(Exception):
    """A plan the kernel cannot hold: more layers, thresholds or bands than it has room for."""


class _Numbers:
    """The description being written: int64 numbers, a list as its count then its entries."""

    def __init__(self, fund: dict):
        self.fund = fund   # fund name -> its index in the run's funds
        self.flat: list = []

    def listed(self, values, width=1) -> None:
        self.flat.append(len(values) // width)
        self.flat.extend(values)

    def bands(self, rate) -> None:  # (a band's upper bound None is int64's largest)
        self.listed([x for upper, share in rate.scaled_bands for x in (NONE if upper is None else upper, share)], 2)


def describe(vplans: list, funds: list) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Each vector plan as int64 numbers for the compiled kernel (_batch_loops.settle_rows reads
    them in this order), and where each plan's start: (numbers, starts). None where a plan has
    more layers or thresholds than the kernel holds, or a number past int64: the steps then
    settle the run."""
    out = _Numbers({f: i for i, f in enumerate(funds)})
    starts = []
    try:
        for v in vplans:
            starts.append(len(out.flat))
            _describe_plan(v, out)
    except _TooBig:
        return None
    if any(not -NONE <= x <= NONE for x in out.flat):
        return None
    return np.asarray(out.flat, dtype=np.int64), np.asarray(starts, dtype=np.int64)


def _describe_plan(v: VPlan, out: _Numbers) -> None:
    """One plan: its kind (0 an error row, 1 not covered, 2 settled), then for a settled one the
    deductible, the paying fund, its caps, pools, bands, own cap, class rate, limit and fixed
    amount, and its layers."""
    fund, flat, listed = out.fund, out.flat, out.listed
    if v.error is not None or v.not_covered:
        flat.append(0 if v.error is not None else 1)
        return
    if len(v.layers) > 16 or any(lay.fund not in fund for lay in v.layers) or v.payer not in fund:
        raise _TooBig
    none_active = v.none_from is not None and v.none_from_applies
    flat.extend([2, v.benefit, int(bool(v.counts_stay)), v.stay, v.ded_amount, int(v.reducible), v.ded_base,
                 int(v.ded_static_ref), int(v.repeat is not None), v.repeat or 0, int(v.floor is not None),
                 v.floor or 0, int(bool(v.yearly)), int(none_active), v.none_from[0] if none_active else 0,
                 fund[v.payer]])
    listed(v.stays_counted if none_active else [])
    listed([x for k, limit in v.cap_reached_s for x in (k, limit)], 2)
    listed(v.scope)
    out.bands(v.rate)
    listed([x for k, limit, wide in v.caps_s for x in (k, limit, int(bool(wide)))], 3)
    listed(v.keys)
    listed([fund[f] for f in v.funds if f in fund])
    if v.own_cap is not None and len(v.rate.scaled_bands) > 64:
        raise _TooBig
    # (the own cap: the layer's fund, the cap in 1/scale fen, a rated-cost column per band, the
    # layer that leaves the cost above it out; or none)
    listed([fund[v.own_fund], v.own_cap_s, *v.rated, v.own_layer] if v.own_cap is not None else [])
    # (a class at its own rate: its share in 1/scale fen, its rated-cost column or -1; or none)
    listed([v.class_rate.scaled_share, v.rated_class] if v.class_rate is not None else [])
    # (限额 and 定额: whether each is given, and it in 1/scale fen; or none)
    listed([int(v.limit is not None), v.limit_s or 0, int(v.fixed is not None), v.fixed_s or 0]
           if v.limit is not None or v.fixed is not None else [])
    flat.append(len(v.layers))
    for lay in v.layers:
        _describe_layer(lay, out)


def _describe_layer(lay: _Layer, out: _Numbers) -> None:
    """One further layer: its base, fund, rate, what its base counts, its caps and pools, and on
    the burden its thresholds and the groups of benefits whose burdens they sum."""
    flat, listed = out.flat, out.listed
    burden = lay.base == "burden"
    if burden and (len(lay.thresholds) > 64 or not lay.thresholds):
        raise _TooBig
    flat.extend([_LAYER_KINDS.get(lay.base, 2), out.fund[lay.fund], int(lay.rate is not None),
                 int(bool(lay.not_covered)), lay.rate.scaled_share if lay.rate is not None else 0,
                 int(bool(lay.counts_prepay)), int(bool(lay.includes_first_share)),
                 int(bool(lay.above_deductible)), int(bool(lay.above_any_cap)), lay.burden if burden else -1])
    if lay.rate is not None:
        out.bands(lay.rate)
    else:
        listed([])
    listed([x for k, limit in lay.caps_s for x in (k, limit)], 2)
    listed(lay.keys)
    if not burden:
        flat.extend([0, 0])
        return
    flat.append(len(lay.thresholds))
    for (amount, _, counts), summed in zip(lay.thresholds, lay.summed):
        flat.extend([amount, int(bool(counts)), len(summed), *summed])
    flat.append(len(lay.groups))
    for group in lay.groups:
        listed(list(group))


def is_positive(share) -> bool:
    """Whether a share is above 0 (for every row: the sign is part of a step's shape)."""
    return bool(np.all(share > 0))


NONE = np.iinfo(np.int64).max

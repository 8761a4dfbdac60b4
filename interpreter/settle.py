"""Settling one claim against its terms, in the order of domain.md:

total -> excluded -> pre-payment -> eligible -> deductible -> basic fund (rate, bands,
limits, caps) -> further layers (above the cap, on the year's burden, on what remains)
-> patient. Exact decimals; each fund's payment is rounded half-up to the fen once.

Every amount gets a trace step naming the clause (line and article) that produced it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

from .clauses import Amt, BandSpec, Clause
from .errors import ClaimError
from .terms import Pick, RateSpec

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
INF = Decimal("Infinity")


def q(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


class Year:
    """One person's accumulators for one calendar year. Copied, never shared, between results."""

    __slots__ = ("stays", "benefit_stays", "deductibles", "deductible_levels", "eligible", "pools", "burden",
                 "rated_costs")

    def __init__(self) -> None:
        self.stays: dict = {}        # (benefit, level) -> stays settled
        self.benefit_stays: dict = {}  # benefit -> stays settled, at any level
        self.deductibles: dict = {}  # benefit -> deductible charged this year
        self.deductible_levels: dict = {}  # benefit -> the largest yearly deductible called for so far
        self.eligible: dict = {}     # benefit -> eligible cost this year
        self.pools: dict = {}        # (fund, cap key, day or None) -> paid into the capped pool
        self.burden: dict = {}       # (layer, benefit) -> personal burden counted by it this year
        # (layer, rate) -> cost above the deductible of the benefits whose cost above their own cap
        # is no burden of the layer (`excluding above cap of`), by the rate the basic fund pays on it
        self.rated_costs: dict = {}

    def copy(self) -> "Year":
        y = Year()
        y.stays, y.deductibles, y.eligible = dict(self.stays), dict(self.deductibles), dict(self.eligible)
        y.deductible_levels = dict(self.deductible_levels)
        y.benefit_stays = dict(self.benefit_stays)
        y.pools, y.burden = dict(self.pools), dict(self.burden)
        y.rated_costs = dict(self.rated_costs)
        return y


def trace_step(step: str, amount: Optional[Decimal], clause: Optional[Clause], detail: Optional[str] = None) -> tuple:
    """One line of a claim's trace: (step, amount, the clause's line, its article, a note).

    Plain values only, never the clause itself: a run keeps every result's trace, and the
    cyclic collector stops scanning a plain tuple of plain values."""
    if clause is None:
        return (step, amount, None, None, detail)
    return (step, amount, clause.span.line, clause.cite, detail)


def step_dict(s: tuple) -> dict:
    """A trace step as the result JSON shows it."""
    step, amount, line, cite, detail = s
    d: dict = {"step": step}
    if amount is not None:
        d["amount"] = str(q(amount))
    if line is not None:
        d["line"] = line
        if cite:
            d["cite"] = cite
    if detail:
        d["detail"] = detail
    return d


def banded(lo: Decimal, hi: Decimal, base, rate: RateSpec, params: dict) -> Decimal:
    """What a rate pays on positions lo..hi; with bands, each part at its band's rate."""
    if hi <= lo:
        return ZERO
    if isinstance(base, Amt):
        return (hi - lo) * rate.share(base.of(params))
    pay, start = ZERO, ZERO
    for share, upper in base.bands:
        top = upper.of(params) if upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            pay += (b - a) * rate.share(share.of(params))
        start = top
        if start >= hi:
            break
    return pay


def banded_pieces(lo: Decimal, hi: Decimal, base, rate: RateSpec, params: dict) -> list[tuple[Decimal, Decimal]]:
    """The positions lo..hi as (length, share) pieces, one per band they cross."""
    if hi <= lo:
        return []
    if isinstance(base, Amt):
        return [(hi - lo, rate.share(base.of(params)))]
    pieces, start = [], ZERO
    for share, upper in base.bands:
        top = upper.of(params) if upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            pieces.append((b - a, rate.share(share.of(params))))
        start = top
        if start >= hi:
            break
    return pieces


def covered_by_cap(costs: dict, cap: Decimal) -> Decimal:
    """How much of a year's costs (rate -> cost above the deductible) a capped benefit's `cap` of
    payments covers, the costs at the lowest rates taken first (绍兴 第三十五条 末款: the cost
    above the outpatient cap is no burden). It depends on the year's costs, not on their order,
    and never falls when a cost rises: each yuan of payment placed at the lowest rate carries the
    largest co-payment, so the burden below the cap is the largest the year's costs allow."""
    covered, room = ZERO, cap
    for share in sorted(costs):
        cost = costs[share]
        if share <= 0:
            covered += cost  # the fund pays none of it: it uses no room
            continue
        if room <= 0:
            break
        if cost * share <= room:
            covered += cost
            room -= cost * share
        else:
            covered += room / share
            room = ZERO
    return covered


def cost_above_cap(year: Year, layer: str, pieces: list, cap: Decimal) -> tuple[Decimal, list]:
    """This claim's cost above a capped benefit's cap, for a layer that leaves it out of the burden,
    and the claim's rated costs to add to the year's. Which cost is above depends on the year's
    costs, not on the claim that reached the cap: the claim's cost above its deductible (its
    `pieces`, (cost, share)) less what it adds to the cost the cap covers."""
    rated = [(share, cost) for cost, share in pieces if cost > 0]
    costs = {share: cost for (name, share), cost in year.rated_costs.items() if name == layer}
    before = covered_by_cap(costs, cap)
    for share, cost in rated:
        costs[share] = costs.get(share, ZERO) + cost
    return sum((cost for _, cost in rated), ZERO) - (covered_by_cap(costs, cap) - before), rated


def position_paying(lo: Decimal, hi: Decimal, base, rate: RateSpec, params: dict, room: Decimal) -> Decimal:
    """The position in lo..hi at which the payment from lo reaches `room` (hi if it never does)."""
    if room <= 0:
        return lo
    acc, start = ZERO, ZERO
    bands = [(base, None)] if isinstance(base, Amt) else base.bands
    for share, upper in bands:
        top = upper.of(params) if upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            r = rate.share(share.of(params))
            seg = (b - a) * r
            if r > 0 and acc + seg >= room:
                return a + (room - acc) / r
            acc += seg
        start = top
        if start >= hi:
            break
    return hi


def cap_limit(pick: Pick, facts, params: dict) -> Optional[Decimal]:
    """A cap's amount after its adjustments; None means no cap."""
    if pick.value is None:
        return None
    amount: Amt = pick.value[0]
    limit = amount.of(params)
    for _, s in pick.adjust:
        kind, delta, each = s.value
        times = ONE
        if each is not None:
            n = facts.measures.get(each) or 1
            times = Decimal(max(n - 1, 0))
        if kind == "share":
            limit += amount.of(params) * delta * times
        else:
            limit += delta.of(params) * times
    return limit


def pool_key(fund: str, key: tuple, facts) -> tuple:
    """Where a capped pool's payments accumulate: per year, or per day for a daily cap."""
    return (fund, key, facts.ordinal if key[2] == "day" else None)


def fund_wide(key: tuple) -> bool:
    """The fund's own yearly cap, over every benefit it pays."""
    return key[0] is None and key[1] is None and key[2] == "year"


def apply_caps(fund: str, pay: Decimal, caps: list, facts, params: dict, year: Year, trace: list):
    """Limit a payment by every cap that applies; returns the payment and the caps that bound it."""
    bound = []
    for pick in caps:
        limit = cap_limit(pick, facts, params)
        if limit is None:
            continue
        key = pick.value[3]
        room = max(limit - year.pools.get(pool_key(fund, key, facts), ZERO), ZERO)
        if pay > room:
            pay = room
            bound.append((pick, limit, room))
            trace.append(trace_step(f"{fund} cap", limit, pick.clause,
                              f"{'daily' if key[2] == 'day' else 'yearly'} cap {q(limit)} leaves {q(room)}"))
    return pay, bound


def record_pools(fund: str, paid: Decimal, pools: tuple, facts, year: Year) -> None:
    """A payment counts in every capped pool of its fund that covers its benefit and event,
    whichever clause set the cap's amount for this claim."""
    for key in pools:
        benefits, events, _ = key
        if benefits is not None and facts.benefit not in benefits:
            continue
        if events is not None and facts.events.isdisjoint(events):
            continue
        k = pool_key(fund, key, facts)
        year.pools[k] = year.pools.get(k, ZERO) + paid


def deductible_due(t, facts, year: Year, params: dict, levels: list, terms_of) -> tuple:
    """The deductible this claim owes (before limiting it to the eligible cost): the amount, the
    clause behind it, a note, and for a yearly deductible the year's amount to remember."""
    picks = t.picks
    p = t.deductible
    base = p.value.of(params) if p is not None else ZERO
    clause = p.clause if p is not None else None
    if base == 0:
        return ZERO, clause, "no deductible", None
    benefit, level = t.benefit, t.level
    earlier = year.benefit_stays.get(benefit, 0)
    referral = flag(picks, "deductible.referral") is not None and facts.referred_from is not None
    if referral:
        earlier = max(earlier - 1, 0)  # the referred stay continues the one it came from
    base, note, reduced_by = _reduced(base, picks, params, earlier)
    if reduced_by is not None:
        clause = reduced_by
    none_from = flag(picks, "deductible.none_from")
    if none_from is not None:
        stay_no, levels_counted = none_from[1].value, none_from[0].constraint.get("level")
        counted = sum(n for (b, lv), n in year.stays.items()
                      if b == benefit and (levels_counted is None or lv in levels_counted))
        if (levels_counted is None or level in levels_counted) and counted + 1 >= stay_no:
            return ZERO, none_from[0], f"stay {counted + 1} of the year: none from stay {stay_no}", None
    if referral:
        order = {lv: i for i, lv in enumerate(levels)}
        source = facts.referred_from
        if order.get(source, 0) >= order.get(level, 0):
            return ZERO, flag(picks, "deductible.referral")[0], f"referred down from {source}: none", None
        # 随州 第二十三条（二）"按高级别医疗机构起付标准补差": the difference of the two levels'
        # standard deductibles; the repeat-stay steps lower neither of them.
        standard = _reduced(p.value.of(params), picks, params, 0)[0]
        source_terms = terms_of(facts.replace(level=source, referred_from=None))
        source_due = _reduced(source_terms.deductible.value.of(params), source_terms.picks, params, 0)[0] \
            if source_terms.deductible is not None else ZERO
        return max(standard - source_due, ZERO), flag(picks, "deductible.referral")[0], \
            f"referred up from {source}: the difference of the standard deductibles {q(standard)} - {q(source_due)}", None
    if flag(picks, "deductible.yearly") is not None:
        # One deductible a year, at the highest level used so far (绍兴 第四十九条): each claim
        # pays what is left of the largest yearly amount any of the year's claims called for.
        paid = year.deductibles.get(benefit, ZERO)
        target = max(base, year.deductible_levels.get(benefit, ZERO))
        return max(target - paid, ZERO), clause, f"yearly deductible {q(target)}, {q(paid)} already paid", target
    return base, clause, note, None


def flag(picks: dict, quantity: str):
    """The last matching clause that sets a modifier, with its setting; None if none does."""
    p = picks.get(quantity)
    if p is None or not p.adjust:
        return None
    return p.adjust[-1]


def _reduced(amount: Decimal, picks: dict, params: dict, earlier: int) -> tuple[Decimal, str, Optional[Clause]]:
    """A deductible after its adjustments (`- 200`, halved) and repeat-stay steps, then its floor:
    "经降低或递减后…不得低于" — the floor never raises it above the level's own amount."""
    base = amount
    notes = []
    clause = None
    if "deductible.adjust" in picks:
        for c, s in picks["deductible.adjust"].adjust:
            delta = s.value.of(params)
            base += delta
            notes.append(f"{'+' if delta >= 0 else '-'} {q(abs(delta))}")
            clause = c
    if "deductible.halved" in picks:
        for c, _ in picks["deductible.halved"].adjust:
            base = base / 2
            notes.append("halved")
            clause = c
    repeat = flag(picks, "deductible.repeat")
    if repeat is not None and earlier:
        step = repeat[1].value.of(params)
        base -= step * earlier
        notes.append(f"{earlier} earlier stay(s) this year: - {q(step)} each")
        clause = repeat[0]
    floor = flag(picks, "deductible.floor")
    if floor is not None and clause is not None:
        lowest = min(floor[1].value.of(params), amount)
        if base < lowest:
            base = lowest
            notes.append(f"not below {q(lowest)}")
            clause = floor[0]
    note = f"{q(amount)} " + ", ".join(notes) if notes else ""
    return max(base, ZERO), note, clause

"""The arithmetic the engine's stages share, on plain data (plan.py) and a person's `Year`:
bands, cap points, caps and their pools, the deductible of a stay, and rounding.

Exact decimals (money.py); each fund's payment is rounded half-up to the fen once, as the
increase of the year's exactly kept cumulative where a cap or band applies (`paid`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from .money import CENT, ZERO, div, q, to_fen

INF = Decimal("Infinity")


class Year:
    """One person's accumulators for one calendar year. Copied, never shared, between results."""

    __slots__ = ("stays", "benefit_stays", "deductibles", "deductible_levels", "eligible", "pools", "rounded",
                 "burden", "rated_costs", "accounts")

    def __init__(self) -> None:
        self.stays: dict = {}        # (benefit, level) -> stays settled
        self.benefit_stays: dict = {}  # benefit -> stays settled, at any level
        self.deductibles: dict = {}  # benefit -> deductible charged this year
        self.deductible_levels: dict = {}  # benefit -> the largest yearly deductible called for so far
        self.eligible: dict = {}     # benefit -> eligible cost this year
        self.pools: dict = {}        # (fund, cap or band key, day or None) -> paid into it, exact
        self.rounded: dict = {}      # the same keys -> the rounded payments counted in them
        self.burden: dict = {}       # (layer, benefit) -> personal burden counted by it this year
        # (layer, rate) -> cost above the deductible of the benefits whose cost above their own cap
        # is no burden of the layer (`excluding above cap of`), by the rate the basic fund pays on it
        self.rated_costs: dict = {}
        self.accounts: dict = {}     # (account owner, pot) -> balance left after the claims so far (accounts.py)

    def copy(self) -> "Year":
        y = Year()
        y.stays, y.deductibles, y.eligible = dict(self.stays), dict(self.deductibles), dict(self.eligible)
        y.deductible_levels = dict(self.deductible_levels)
        y.benefit_stays = dict(self.benefit_stays)
        y.pools, y.rounded, y.burden = dict(self.pools), dict(self.rounded), dict(self.burden)
        y.rated_costs = dict(self.rated_costs)
        y.accounts = dict(self.accounts)
        return y


def trace_step(step: str, amount, ref, detail: Optional[str] = None) -> tuple:
    """One line of a claim's trace: (step, amount, the clause's line, its article, a note).

    Plain values only: a run keeps every result's trace, and the cyclic collector stops
    scanning a plain tuple of plain values."""
    if ref is None:
        return (step, amount, None, None, detail)
    return (step, amount, ref.line, ref.cite, detail)


def step_dict(s: tuple) -> dict:
    """A trace step as the result JSON shows it."""
    step, amount, line, cite, detail = s
    d: dict = {"step": step}
    if amount is not None:
        d["amount"] = "0.00" if amount is ZERO else str(to_fen(amount, CENT) if amount.__class__ is Decimal else q(amount))
    if line is not None:
        d["line"] = line
        if cite:
            d["cite"] = cite
    if detail:
        d["detail"] = detail
    return d


def banded(lo, hi, bands: tuple):
    """What a rate pays on positions lo..hi; with bands, each part at its band's share."""
    if hi <= lo:
        return ZERO
    if len(bands) == 1 and bands[0].upper is None:
        return (hi - lo) * bands[0].share
    pay, start = ZERO, ZERO
    for band in bands:
        top = band.upper if band.upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            pay += (b - a) * band.share
        start = top
        if start >= hi:
            break
    return pay


def banded_pieces(lo, hi, bands: tuple) -> list:
    """The positions lo..hi as (length, share) pieces, one per band they cross."""
    if hi <= lo:
        return []
    pieces, start = [], ZERO
    for band in bands:
        top = band.upper if band.upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            pieces.append((b - a, band.share))
        start = top
        if start >= hi:
            break
    return pieces


def covered_by_cap(costs: dict, cap) -> Decimal:
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
            covered += div(room, share)  # exact, like a cap point
            room = ZERO
    return covered


def cost_above_cap(year: Year, layer: str, pieces: list, cap) -> tuple:
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


def position_paying(lo, hi, bands: tuple, room):
    """The position in lo..hi at which the payment from lo reaches `room` (hi if it never does):
    the cap point, exact (money.div)."""
    if room <= 0:
        return lo
    acc, start = ZERO, ZERO
    for band in bands:
        top = band.upper if band.upper is not None else INF
        a, b = max(lo, start), min(hi, top)
        if b > a:
            r = band.share
            seg = (b - a) * r
            if r > 0 and acc + seg >= room:
                return a + div(room - acc, r)
            acc += seg
        start = top
        if start >= hi:
            break
    return hi


def apply_caps(fund: str, pay, caps: tuple, facts, year: Year, trace: Optional[list]):
    """Limit a payment by every cap that applies; returns the payment and the caps that bound it
    as (cap, limit, room left)."""
    if not caps:
        return pay, ()
    bound = []
    pools = year.pools
    for cap in caps:
        limit = cap.limit(facts.measures) if cap.per_extra else cap.amount
        room = max(limit - pools.get((fund, cap.key, facts.ordinal if cap.daily else None), ZERO), ZERO)
        if pay > room:
            pay = room
            bound.append((cap, limit, room))
            if trace is not None:
                trace.append(trace_step(f"{fund} cap", limit, cap.ref,
                                        f"{'daily' if cap.daily else 'yearly'} cap {q(limit)} leaves {q(room)}"))
    return pay, bound


def cap_reached(caps: tuple, fund: str, facts, year: Year) -> bool:
    """A fund-wide yearly cap of the fund is used up."""
    for cap in caps:
        if year.pools.get((fund, cap.key, None), ZERO) >= (cap.limit(facts.measures) if cap.per_extra else cap.amount):
            return True
    return False


def paid(pay, keys: list, year: Year) -> Decimal:
    """A fund's payment on a claim, rounded half-up to the fen once. Where caps or bands keep a
    cumulative (`keys`), the claim is paid the increase of the rounded exact cumulative:
    q(before + pay) - the rounded payments already counted, the least over the cumulatives,
    so the rounded payments in each never pass the rounded exact total, nor its limit."""
    if not keys:
        return q(pay)
    pools, rounded = year.pools, year.rounded
    if len(keys) == 1:
        k = keys[0]
        return q(pools.get(k, ZERO) + pay) - rounded.get(k, ZERO)
    return min(q(pools.get(k, ZERO) + pay) - rounded.get(k, ZERO) for k in keys)


def record(keys: list, exact, rounded, year: Year) -> None:
    """A payment counts, exact and rounded, in every cumulative it was rounded against."""
    pools, r = year.pools, year.rounded
    for k in keys:
        pools[k] = pools.get(k, ZERO) + exact
        r[k] = r.get(k, ZERO) + rounded


# ---- the deductible -------------------------------------------------------------------

def deductible_due(plan, year: Year, tracing: bool) -> tuple:
    """The deductible this claim owes (before limiting it to the eligible cost): the amount, the
    clause behind it, a note (None unless `tracing`), and for a yearly deductible the year's
    amount to remember."""
    d = plan.deductible
    rule = d.rule
    if rule.amount == 0:
        return ZERO, rule.ref, "no deductible", None
    benefit, level = plan.benefit, plan.level
    earlier = year.benefit_stays.get(benefit, 0)
    if d.source is not None:
        earlier = max(earlier - 1, 0)  # the referred stay continues the one it came from
    base, note, ref = reduced(rule, earlier, tracing)
    if ref is None:
        ref = rule.ref
    if d.none_from is not None:
        stay_no, levels_counted, none_ref = d.none_from
        counted = sum(n for (b, lv), n in year.stays.items()
                      if b == benefit and (levels_counted is None or lv in levels_counted))
        if (levels_counted is None or level in levels_counted) and counted + 1 >= stay_no:
            return ZERO, none_ref, tracing and f"stay {counted + 1} of the year: none from stay {stay_no}", None
    if d.source is not None:
        if d.referred_down:
            return ZERO, d.referral, tracing and f"referred down from {d.source}: none", None
        # 随州 第二十三条（二）"按高级别医疗机构起付标准补差": the difference of the two levels'
        # standard deductibles; the repeat-stay steps lower neither of them.
        standard = reduced(rule, 0, False)[0]
        source = d.source_rule()
        source_due = reduced(source, 0, False)[0] if source is not None else ZERO
        return max(standard - source_due, ZERO), d.referral, tracing and \
            f"referred up from {d.source}: the difference of the standard deductibles {q(standard)} - {q(source_due)}", \
            None
    if d.yearly:
        # One deductible a year, at the highest level used so far (绍兴 第四十九条): each claim
        # pays what is left of the largest yearly amount any of the year's claims called for.
        already = year.deductibles.get(benefit, ZERO)
        target = max(base, year.deductible_levels.get(benefit, ZERO))
        return max(target - already, ZERO), ref, \
            tracing and f"yearly deductible {q(target)}, {q(already)} already paid", target
    return base, ref, note, None


def reduced(rule, earlier: int, tracing: bool) -> tuple:
    """A deductible after its adjustments (`- 200`, halved) and repeat-stay steps, then its floor:
    "经降低或递减后…不得低于" — the floor never raises it above the level's own amount.
    Returns the amount, a note (None unless `tracing`) and the clause that last changed it."""
    amount = base = rule.amount
    if not (rule.steps or rule.halvings or rule.repeat):
        return amount, "", None  # nothing lowers it (and so no floor applies)
    notes = [] if tracing else None
    ref = None
    for delta, ref in rule.steps:
        base += delta
        if tracing:
            notes.append(f"{'+' if delta >= 0 else '-'} {q(abs(delta))}")
    for ref in rule.halvings:
        base = base / 2
        if tracing:
            notes.append("halved")
    if rule.repeat is not None and earlier:
        step, ref = rule.repeat
        base -= step * earlier
        if tracing:
            notes.append(f"{earlier} earlier stay(s) this year: - {q(step)} each")
    if rule.floor is not None and ref is not None:
        lowest = min(rule.floor[0], amount)
        if base < lowest:
            base = lowest
            ref = rule.floor[1]
            if tracing:
                notes.append(f"not below {q(lowest)}")
    note = (f"{q(amount)} " + ", ".join(notes) if notes else "") if tracing else None
    return max(base, ZERO), note, ref

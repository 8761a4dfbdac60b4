"""Which clauses apply to a claim, and what they add up to: the claim's terms.

The rules of precedence (docs/language.md):
- An absolute setting (`deductible 900`, `rate 85%`) comes from the most specific clause
  that matches: one whose selectors imply every other's. `exception` clauses outrank
  the general ones.
- Adjustments (`rate + 5 points`, `deductible - 200`, `rate halved`) all apply, from the
  winner's rank and above: a general adjustment does not touch an exception's value.
- Clauses that differ only by group (a member may be in several) resolve to the one most
  favourable to the member (就高). Any other tie is an ambiguity the compiler reports.

Terms depend only on the claim's facts, so they are computed once per distinct claim
signature and cached; the cache is per policy, and filling it twice gives the same value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from .clauses import Amt, CapSpec, Clause, Clauses, Constraint, RateAsSpec, Setting, ThresholdSpec
from .errors import ClaimError
from .vocabulary import MULTI_DIMS

_ZERO = Decimal(0)


def matches(con: Constraint, facts, item_class: Optional[str] = None, bed_kind: Optional[str] = None) -> bool:
    for dim, allowed in con.values:
        if dim in MULTI_DIMS:
            if allowed.isdisjoint(facts.multi(dim)):
                return False
        elif dim == "class":
            if item_class not in allowed:
                return False
        elif dim == "bed-kind":
            if bed_kind not in allowed:
                return False
        elif facts.single(dim) not in allowed:
            return False
    for dim, banned in con.excluded:
        if dim in MULTI_DIMS:
            if not banned.isdisjoint(facts.multi(dim)):
                return False
        elif dim == "class":
            if item_class in banned:
                return False
        elif dim == "bed-kind":  # `bed not isolation`: a bed of another kind
            if bed_kind in banned:
                return False
        elif facts.single(dim) in banned:
            return False
    for dim, needed in con.required:
        if not needed <= facts.multi(dim):
            return False
    for m, (lo, hi) in con.measures:
        v = facts.measures.get(m)
        if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
            return False
    lo, hi = con.dates
    if (lo is not None and facts.ordinal < lo) or (hi is not None and facts.ordinal > hi):
        return False
    return True


class Pick:
    """The winning clause of one quantity and the adjustments that apply to it."""

    __slots__ = ("clause", "setting", "adjust")

    def __init__(self, clause: Optional[Clause], setting: Optional[Setting], adjust: list):
        self.clause = clause
        self.setting = setting
        self.adjust = adjust

    @property
    def value(self):
        return self.setting.value if self.setting is not None else None


# Which way is better for the member, when groups' clauses disagree (就高).
_PER_EVENT = ("limit", "fixed")   # quantities that add up over the events of one claim
_FAVOURABLE = {"rate": 1, "deductible": -1, "limit": 1, "fixed": 1, "prepay": -1, "allowance": 1}


def _rank_value(v) -> Optional[Decimal]:
    if isinstance(v, Amt):
        return v.const
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, (CapSpec, ThresholdSpec)):
        return v.amount.const
    return None


def resolve(clauses, facts, item_class=None, bed_kind=None) -> dict[str, Pick]:
    """Every quantity the matching clauses set, with its winner and adjustments."""
    absolute: dict[str, list] = {}
    adjust: dict[str, list] = {}
    if type(clauses) is Clauses:  # (a compiled scheme's: those of other benefits left out at once)
        clauses = clauses.of_benefit(facts.benefit)
    for c in clauses:
        if not matches(c.constraint, facts, item_class, bed_kind):
            continue
        for s in c.settings:
            (absolute if s.mode == "abs" else adjust).setdefault(s.quantity, []).append((c, s))
    picks: dict[str, Pick] = {}
    for q, cands in absolute.items():
        clause, setting = _winner(q, cands)
        adj_q = q + ".adjust" if q.startswith("cap:") else None
        picks[q] = Pick(clause, setting, [])
        if adj_q:
            picks[q].adjust = [(c, s) for c, s in adjust.pop(adj_q, []) if c.tier >= clause.tier]
    for q, cands in adjust.items():
        base = q.split(".")[0] if not q.startswith("cap:") else q[: -len(".adjust")]
        tier = picks[base].clause.tier if base in picks else 0
        picks[q] = Pick(None, None, [(c, s) for c, s in cands if c.tier >= tier])
    return picks


def _winner(q: str, cands: list) -> tuple[Clause, Setting]:
    if len(cands) == 1:  # (most quantities of most plans: one clause sets it)
        return cands[0]
    top = max(c.tier for c, _ in cands)
    cs = [(c, s) for c, s in cands if c.tier == top]
    maximal = [(c, s) for c, s in cs
               if not any(o.constraint.implies(c.constraint) and not c.constraint.implies(o.constraint) for o, _ in cs)]
    values = {s.value for _, s in maximal}
    if len(values) == 1:
        return maximal[-1]
    if _groups_only(maximal):
        sign = _FAVOURABLE.get(q.split(":")[0])
        ranked = [(v, c, s) for c, s in maximal if (v := _rank_value(s.value)) is not None]
        if sign is not None and len(ranked) == len(maximal):
            best = max(ranked, key=lambda t: sign * t[0])
            return best[1], best[2]
        if q in _PER_EVENT and _differ_only_in(maximal, "event"):
            # Events done together, one limit a parameter: the limits (or fixed amounts) add up,
            # each event's its own (plan._per_event sums them), so any clause may stand for the claim.
            return maximal[-1]
        if q.startswith("cap"):
            if any(s.value is None for _, s in maximal):  # no cap beats any cap
                return next((c, s) for c, s in maximal if s.value is None)
            best = max(maximal, key=lambda cs_: _rank_value(cs_[1].value) or _ZERO)
            return best
    lines = ", ".join(str(c.span.line) for c, _ in maximal)
    raise ClaimError("ambiguous", f"the clauses at lines {lines} all apply to this claim and disagree on {q.split(':')[0]}", None)


def _groups_only(maximal) -> bool:
    """The tied clauses differ only in multi-valued dimensions (groups, conditions)."""
    return _differ_only_in(maximal, *MULTI_DIMS)


def _differ_only_in(maximal, *dims: str) -> bool:
    return len({c.constraint.without(*dims) for c, _ in maximal}) == 1


# ---- the terms of a claim --------------------------------------------------------

class BenefitTerms:
    """What the benefit clauses say about one claim, ready for the arithmetic."""

    __slots__ = ("payer", "benefit", "level", "picks", "not_covered", "deductible", "rate", "caps",
                 "limit", "fixed", "first_share", "allowance", "redirect", "redirected_by")


# What a claim keeps from its own benefit when it is settled on another's terms (`as`):
# who pays, whether it is covered at all, its maternity allowance, and the limits and fixed
# amounts its own benefit sets.
_KEPT_THROUGH_AS = ("paid_by", "not_covered", "allowance", "allowance.adjust", "limit", "fixed")


def benefit_terms(scheme, facts) -> BenefitTerms:
    """The terms of a claim's benefit clauses; `as` and `terms` settle it on other terms,
    the redirecting clause's own settings staying on top."""
    picks = resolve(scheme.clauses, facts)
    redirect = None
    as_pick, terms_pick = picks.get("as"), picks.get("terms")
    if as_pick is not None or terms_pick is not None:
        changes: dict = {}
        if as_pick is not None:
            changes["benefit"] = as_pick.value
        if terms_pick is not None:
            # Local terms are those of care within the region; `terms local` keeps the level.
            changes["place"], changes["area"] = "local", "within-region"
            if terms_pick.value != "local":
                changes["level"] = terms_pick.value
        inner = resolve(scheme.clauses, facts.replace(**changes))
        inner.pop("as", None)
        inner.pop("terms", None)
        # The redirecting clauses' own settings stay on top.
        for p in (as_pick, terms_pick):
            if p is None:
                continue
            for s in p.clause.settings:
                if s.quantity in ("as", "terms"):
                    continue
                if s.mode == "abs":
                    inner[s.quantity] = Pick(p.clause, s, [])
                else:
                    inner[s.quantity] = Pick(None, None, [(p.clause, s)])
        if as_pick is not None:
            for q in _KEPT_THROUGH_AS:
                if q in picks and q not in inner:
                    inner[q] = picks[q]
        redirect = (as_pick or terms_pick, changes)
        facts = facts.replace(**changes)
        picks = inner
    t = BenefitTerms()
    t.picks = picks
    t.redirect = redirect
    # Both clauses when `as` and `terms` each redirect a claim (Ziyang 第二十条（二）).
    t.redirected_by = tuple(p.clause for p in (as_pick, terms_pick) if p is not None) if redirect else ()
    t.benefit = facts.benefit
    t.level = facts.level
    t.payer = picks["paid_by"].value if "paid_by" in picks else "basic"
    t.not_covered = picks.get("not_covered")
    t.deductible = picks.get("deductible")
    t.rate = rate_spec(scheme.clauses, picks, facts)
    t.caps = [p for q, p in picks.items() if q.startswith("cap:") and not q.endswith(".adjust")]
    t.limit = picks.get("limit")
    t.fixed = picks.get("fixed")
    t.first_share = picks.get("prepay")
    t.allowance = picks.get("allowance")
    return t


class RateSpec:
    """A rate ready to apply: a share or bands, points added, halvings, and the clause behind it."""

    __slots__ = ("base", "points", "halvings", "clause")

    def __init__(self, base, points: Decimal, halvings: int, clause: Clause):
        self.base = base          # Amt, or BandSpec
        self.points = points
        self.halvings = halvings
        self.clause = clause

    def share(self, rate: Decimal) -> Decimal:
        r = rate + self.points
        for _ in range(self.halvings):
            r = r / 2
        return min(max(r, _ZERO), Decimal(1))


def rate_spec(clauses, picks: dict, facts, depth: int = 0, item: tuple = ()) -> Optional[RateSpec]:
    """The rate the picks set, `rate as LEVEL` followed; `item` (class, bed kind) for an item
    class's rate, so that `B rate as level3` finds class B's clauses at level 3."""
    p = picks.get("rate")
    if p is None:
        return None
    points = sum((s.value for _, s in picks["rate.points"].adjust), _ZERO) if "rate.points" in picks else _ZERO
    halvings = len(picks["rate.halved"].adjust) if "rate.halved" in picks else 0
    v = p.value
    if isinstance(v, RateAsSpec):
        level, as_points = v.level, v.points
        ref = rate_spec(clauses, resolve(clauses, facts.replace(level=level, place="local"), *item), facts, depth + 1,
                        item) if depth < 4 else None
        if ref is None:
            raise ClaimError("no-clause", f"`rate as {level}` (line {p.clause.span.line}) finds no rate at {level}", None)
        return RateSpec(ref.base, ref.points + as_points + points, ref.halvings + halvings, p.clause)
    return RateSpec(v, points, halvings, p.clause)

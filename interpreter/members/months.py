"""A member's months: contributions due by payer, the account credit and balance, whether
benefits are payable (and which article says why not), waiting months left, and at
retirement the years counted against the minimum with the lump sum for the missing years.

Pure functions of (compiled member rules, record, dates, run parameters); money exact in the
library's decimal context, each figure rounded half-up to the fen once (`money.q`).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from decimal import Decimal, localcontext
from typing import Optional

import attrs

from .. import ast
from ..money import CONTEXT, ZERO, div, q
from .records import MemberRecord
from .rules import Came, MemberRule, MemberRules, add_months
from .syntax import BaseAtLower, BaseLimits, CatchUp, Contribution, Count, Credit, LumpSum, Months, Newborn, Years

Month = tuple  # (year, month)


@attrs.frozen
class Figure:
    """Where a figure came from: the clause's file, line and article (the member sheet)."""
    figure: str
    amount: object
    line: Optional[int]
    cite: Optional[str]
    note: str = ""


@attrs.frozen
class MonthRow:
    """One member-month: see docs/members.md for each field."""
    member: str
    month: Month
    scheme: str
    kind: Optional[str]
    base: Optional[Decimal]
    due: dict                     # payer -> fund -> Decimal
    credit: Decimal
    balance: Optional[Decimal]
    payable: bool
    reason: Optional[str]
    article: Optional[str]
    waiting_left: int
    retirement: Optional[dict]
    trace: tuple = ()
    deducted: Decimal = ZERO      # taken from the account for the member's own contribution
    from_day: Optional[dt.date] = None   # benefits start on this day of the month (a day-level start)

    def to_json(self, trace: bool = False) -> dict:
        out = {
            "member": self.member, "month": f"{self.month[0]:04d}-{self.month[1]:02d}", "scheme": self.scheme,
            "kind": self.kind, "base": _s(self.base),
            "due": {p: {f: _s(a) for f, a in funds.items()} for p, funds in self.due.items()},
            "credit": _s(self.credit), "deducted": _s(self.deducted), "balance": _s(self.balance),
            "payable": self.payable,
            "reason": self.reason, "article": self.article, "waiting_left": self.waiting_left,
            "from_day": self.from_day.isoformat() if self.from_day is not None else None,
        }
        if self.retirement is not None:
            out["retirement"] = {k: _s(v) if isinstance(v, (Decimal, Fraction)) else v
                                 for k, v in self.retirement.items()}
        if trace:
            out["trace"] = [{"figure": f.figure, "amount": _s(f.amount) if isinstance(f.amount, Decimal) else f.amount,
                             "line": f.line, "cite": f.cite, "note": f.note} for f in self.trace]
        return out


def on_day(row: "MonthRow", day: dt.date) -> "MonthRow":
    """The row as it stands on `day`: before a day-level start (a newborn's birth, the day after
    payment) benefits are not yet payable, with the article of the clause that sets the day."""
    if not row.payable or row.from_day is None or day >= row.from_day:
        return row
    rule = next((f for f in row.trace if f.figure == "from day"), None)
    trace = row.trace + ((Figure("not-started", False, rule.line, rule.cite, "before the start day"),) if rule else ())
    return attrs.evolve(row, payable=False, reason="not-started", article=rule.cite if rule else None, trace=trace)


def _s(v) -> Optional[str]:
    return None if v is None else str(q(v))


def add(mo: Month, n: int) -> Month:
    i = mo[0] * 12 + mo[1] - 1 + n
    return (i // 12, i % 12 + 1)


def diff(a: Month, b: Month) -> int:
    """Months from b to a."""
    return (a[0] * 12 + a[1]) - (b[0] * 12 + b[1])


def of(day: dt.date) -> Month:
    return (day.year, day.month)


def first_day(mo: Month) -> dt.date:
    return dt.date(mo[0], mo[1], 1)


def last_day(mo: Month) -> dt.date:
    return first_day(add(mo, 1)) - dt.timedelta(days=1)


class _Ctx:
    """The rules, record and parameters of one computation, and how to pick a rule."""

    def __init__(self, rules: MemberRules, rec: MemberRecord, params: dict, as_of: dt.date):
        self.rules = rules.of(rec.scheme)
        self.rec, self.params, self.as_of = rec, params, as_of
        # A resident's years paid after the collection period (on or after 1 January).
        self.late_years = frozenset(y for y, p in rec.years.items() if p.paid_on >= dt.date(y, 1, 1))
        # Cover ended by termination: the years before it no longer count (Shaoxing 第十七条 第二款).
        self.terminated = rec.came_from is not None and rec.came_from.terminated
        self.from_days: dict = {}     # month -> (the day benefits start, the rule that says so)
        self.retired_from = add(of(rec.retirement), 1) if rec.retirement else None
        self.newborn = _newborn(self)
        if self.newborn is not None:  # a newborn's birth year is paid on its own terms, never late
            self.late_years = self.late_years - {rec.birth.year}
        self.retired_from = _retired_from(self)

    def pick(self, cls, mo: Month, kind: str, mode: Optional[str], day: Optional[dt.date] = None,
             what: Optional[str] = None, fund: Optional[str] = "-", payers: bool = False,
             came: Optional[Came] = None, leaving_only: bool = False) -> Optional[MemberRule]:
        """The most specific rule of a setting class that applies (ties: the later line); with
        `payers`, only contributions someone other than a subsidy pays; with `leaving_only`, only
        `after leaving` rules that `came` satisfies."""
        d = (day or first_day(mo)).toordinal()
        found = [r for r in self.rules if isinstance(r.setting, cls)
                 and (what is None or getattr(r.setting, "what", None) == what)
                 and (fund == "-" or (r.setting.fund or "basic") == fund)
                 and (not payers or any(sh.payer != "subsidy" for sh in r.setting.shares))
                 and (not leaving_only or r.leaving is not None)
                 and r.applies(kind, self.rec.sex, mode, self.rec.groups, d, mo[0] in self.late_years,
                               self.rec.birth, came)]
        return max(found, key=lambda r: (r.specificity, r.line), default=None)

    def came_for(self, paid_on: dt.date) -> Optional[Came]:
        """Where the member came from, as an `after leaving` line sees a payment on `paid_on`."""
        b = self.rec.came_from
        # terminated cover is no transfer: the member starts as a first enrolment
        return None if b is None or b.terminated else Came(b.scheme, b.elsewhere, b.insured_months, b.end, paid_on)

    def amount(self, v) -> Decimal:
        if isinstance(v, (ast.Number, ast.Percent)):
            return v.value
        if isinstance(v, ast.ParamRef):
            if v.name not in self.params:
                raise KeyError(v.name)
            return CONTEXT.multiply(self.params[v.name], v.factor)
        return v


def member_months(rules: MemberRules, rec: MemberRecord, *, until: dt.date, as_of: Optional[dt.date] = None,
                  params: Optional[dict] = None) -> list[MonthRow]:
    """Every month from the first month of the member's history to `until`, as known on
    `as_of` (default `until`): a payment made after `as_of` is not counted."""
    ctx = _Ctx(rules, rec, params or {}, as_of or until)
    first, last = of(rec.history[0].start), of(until)
    if ctx.newborn is not None:
        first = min(first, of(rec.birth))
    months = [add(first, i) for i in range(diff(last, first) + 1)]
    with localcontext(CONTEXT):
        status = (_resident_status if rec.scheme == "resident" else _employee_status)(ctx, months)
        rows, balance = [], None
        opening = rec.balance
        for mo in months:
            kind, mode = _kind(ctx, mo)
            trace: list = []
            base = _base(ctx, mo, kind, mode, trace) if kind not in (None, "retired", "resident") else None
            due = _due(ctx, mo, kind, mode, base, trace) if kind is not None else {}
            credit = _credit(ctx, mo, kind, mode, base, trace) if kind is not None else ZERO
            credit += _lump_credit(ctx, mo, trace) if rec.retirement is not None else ZERO
            if opening is None and balance is None:
                balance = ZERO
            elif opening is not None and of(opening[0]) == mo:
                balance = opening[1]
            deducted = _deducted(ctx, kind, due, trace)
            if balance is not None:
                balance = balance + credit - deducted
            payable, reason, rule, left = status.get(mo, (False, "not-enrolled", None, 0))
            if rule is not None:
                trace.append(Figure("payable" if payable else reason, payable, rule.line, rule.cite))
            retirement = _retirement(ctx, mo, trace) if rec.retirement and of(rec.retirement) == mo else None
            from_day = ctx.from_days.get(mo) if payable else None
            if from_day is not None:
                trace.append(Figure("from day", from_day[0].isoformat(), from_day[1].line, from_day[1].cite))
            rows.append(MonthRow(rec.id, mo, rec.scheme, kind, q(base) if base is not None else None, due, credit,
                                 balance, payable, reason, rule.cite if rule is not None and not payable else None,
                                 left, retirement, tuple(trace), deducted, from_day[0] if from_day else None))
    return rows


def _kind(ctx, mo: Month):
    """The member's kind and mode in a month: the period covering its first day (or starting in
    it); a newborn covered from birth is a resident before the enrolment; after the retirement
    month, retired (the retiree standard starts the next month) — unless the member is short of
    the minimum years, who stays in service (paying alone, as a flexible worker) until they are
    made up (`_retired_from`)."""
    rec = ctx.rec
    p = rec.period_on(first_day(mo)) or next((p for p in rec.history if of(p.start) == mo), None)
    if p is None:
        if ctx.newborn is not None and of(rec.birth) <= mo < of(rec.history[0].start):
            return rec.history[0].kind, rec.history[0].mode
        return None, None
    if rec.retirement is not None and mo > of(rec.retirement) and rec.scheme == "employee":
        if ctx.retired_from is not None and mo < ctx.retired_from:
            return "flexible", p.mode
        return "retired", p.mode
    return p.kind, p.mode


# ---- contributions and credits ------------------------------------------------------

def _base(ctx, mo, kind, mode, trace) -> Optional[Decimal]:
    lim = ctx.pick(BaseLimits, mo, kind, mode)
    lower = upper = None
    if lim is not None:
        per = 12 if lim.setting.yearly else 1
        lower = div(ctx.amount(lim.setting.lower), per) if lim.setting.lower is not None else None
        upper = div(ctx.amount(lim.setting.upper), per) if lim.setting.upper is not None else None
    at_lower = ctx.pick(BaseAtLower, mo, kind, mode)
    if at_lower is not None and lower is not None:
        base = lower * at_lower.setting.share
        trace.append(Figure("base", base, at_lower.line, at_lower.cite, "a share of the lower limit"))
        return base
    pay = ctx.rec.months.get(mo)
    if pay is None or pay.base is None:
        return None
    base = pay.base
    if lower is not None and base < lower:
        base = lower
    if upper is not None and base > upper:
        base = upper
    trace.append(Figure("base", base, lim.line if lim else None, lim.cite if lim else None,
                        "clamped to the limits" if base != pay.base else ""))
    return base


def _due(ctx, mo, kind, mode, base, trace) -> dict:
    funds = {(r.setting.fund or "basic") for r in ctx.rules if isinstance(r.setting, Contribution)}
    due: dict = {}
    for fund in sorted(funds):
        rule = ctx.pick(Contribution, mo, kind, mode, fund=fund, payers=True)
        if rule is None:
            continue
        individual = None
        for share in rule.setting.shares:
            if share.per == "base":
                if share.payer == "subsidy" or base is None:
                    continue
                amount = q(base * share.value.value)
            elif share.per == "monthly":
                amount = q(ctx.amount(share.value))
            elif share.per == "yearly" and (mo[1] == 1 or _newborn_month(ctx, mo)):
                if _newborn_month(ctx, mo) and ctx.newborn.setting.exempt:
                    trace.append(Figure(f"due {share.payer} {fund}", ZERO, ctx.newborn.line, ctx.newborn.cite,
                                        "the birth year is free (免缴)"))
                    continue
                amount = q(ctx.amount(share.value))
            else:
                continue
            due.setdefault(share.payer, {})[fund] = amount
            if share.payer == "individual":
                individual = amount
            trace.append(Figure(f"due {share.payer} {fund}", amount, rule.line, rule.cite))
        _subsidy(ctx, mo, kind, mode, fund, individual, due, trace)
    return due


def _subsidy(ctx, mo, kind, mode, fund, individual, due, trace) -> None:
    """A subsidy (资助) pays a share of the member's own contribution: the highest share of the
    member's groups (就高不重复)."""
    if individual is None:
        return
    best = None
    d = first_day(mo).toordinal()
    for r in ctx.rules:
        if isinstance(r.setting, Contribution) and (r.setting.fund or "basic") == fund and (r.groups or r.ages) \
                and r.applies(kind, ctx.rec.sex, mode, ctx.rec.groups, d, birth=ctx.rec.birth):
            for share in r.setting.shares:
                if share.payer == "subsidy" and (best is None or share.value.value > best[0]):
                    best = (share.value.value, r)
    if best is None:
        return
    paid = q(individual * best[0])
    due.setdefault("subsidy", {})[fund] = paid
    due["individual"][fund] = individual - paid
    trace.append(Figure(f"due subsidy {fund}", paid, best[1].line, best[1].cite))


def _credit(ctx, mo, kind, mode, base, trace) -> Decimal:
    rule = ctx.pick(Credit, mo, kind, mode)
    if rule is None:
        return ZERO
    s = rule.setting
    if s.of == "base":
        paid = ctx.rec.months.get(mo)
        if base is None or paid is None or paid.paid_on > ctx.as_of:
            return ZERO
        credit = q(base * s.value.value)
    elif s.prorated:
        credit = q(ctx.amount(s.value) * _standard_share(ctx))
        trace.append(Figure("credit", credit, rule.line, rule.cite, "in proportion to the 统账结合 months"))
        return credit
    elif s.of == "pension":
        if ctx.rec.pension is None:
            return ZERO
        credit = q(ctx.rec.pension * s.value.value)
    else:
        credit = q(ctx.amount(s.value))
    trace.append(Figure("credit", credit, rule.line, rule.cite))
    return credit


def _deducted(ctx, kind, due, trace) -> Decimal:
    """A retiree's own major-layer contribution taken from the account, where the record says
    it is (Suihua 第二十八条（一）: optional, so a fact of the member)."""
    if not ctx.rec.deducts_major or kind != "retired":
        return ZERO
    amount = due.get("individual", {}).get("major", ZERO)
    if amount:
        trace.append(Figure("deducted", amount, None, None, "the member's major-layer contribution, from the account"))
    return amount


# ---- eligibility ------------------------------------------------------------------------

def _months_rule(ctx, what, mo, kind, mode):
    return ctx.pick(Months, mo, kind, mode, what=what)


def _due_day(ctx, mo, kind, mode) -> dt.date:
    rule = _months_rule(ctx, "due", mo, kind, mode)
    if rule is None:
        return last_day(mo)
    return min(dt.date(mo[0], mo[1], 1) + dt.timedelta(days=rule.setting.months - 1), last_day(mo))


_REASON_BEFORE = {"waiting": "waiting", "previous-terms": "previous-scheme", "start": "not-started"}


def _start(ctx, paid_month, kind, mode, first_time: bool, paid_on: Optional[dt.date] = None, came: bool = False):
    """(the first month of benefits after a payment in `paid_month`, the rule that says so, the
    reason before it). With `came`, the first payment after the member came from another scheme
    or region (paid on `paid_on`) takes the `after leaving` lines first; a start `after N days`
    sets the start day."""
    came = ctx.came_for(paid_on) if came and paid_on is not None else None
    if came is not None:
        found = [r for r in (ctx.pick(Months, paid_month, kind, mode, what=w, came=came, leaving_only=True)
                             for w in _REASON_BEFORE) if r is not None]
        rule = max(found, key=lambda r: (r.specificity, r.line), default=None)
        if rule is not None:
            return add(paid_month, rule.setting.months), rule, _REASON_BEFORE[rule.setting.what]
    wait = _months_rule(ctx, "waiting", paid_month, kind, mode) if first_time else None
    if wait is not None:
        return add(paid_month, wait.setting.months), wait, "waiting"
    start = _months_rule(ctx, "start", paid_month, kind, mode)
    if start is not None and start.setting.days:
        if paid_on is None:
            return paid_month, start, "not-started"
        day = paid_on + dt.timedelta(days=start.setting.months)
        if day.day != 1:
            ctx.from_days[of(day)] = (day, start)
        return of(day), start, "not-started"
    return add(paid_month, start.setting.months if start else 0), start, "not-started"


def _waiting_left(start, mo) -> int:
    return diff(start[0], mo) - 1 if start[2] in ("waiting", "previous-scheme") else 0


_COVERED = (True, None, None, 0)


def _employee_status(ctx, months) -> dict:
    """month -> (payable, reason, rule, waiting months left) for an employee-scheme member."""
    rec = ctx.rec
    paid = {mo: p for mo, p in rec.months.items() if p.paid_on <= ctx.as_of}
    active = [mo for mo in months if _kind(ctx, mo)[0] is not None]
    retired_from = ctx.retired_from

    def on_time(m) -> bool:
        k, md = _kind(ctx, m)
        return m in paid and paid[m].paid_on <= _due_day(ctx, m, k, md)

    first_time = rec.prior.get("months", 0) == 0 or ctx.terminated
    short_rule = _short_rule(ctx)
    out: dict = {}
    start = None  # (first month of benefits, the rule that says so, the reason before it)
    i = 0
    while i < len(active):
        mo = active[i]
        kind, mode = _kind(ctx, mo)
        step = 1
        if retired_from is not None and mo >= retired_from:
            out[mo] = _COVERED   # retirees pay nothing and keep benefits
        elif rec.retirement is not None and mo > of(rec.retirement):
            # short of the minimum years: covered (in service) only in the months paid (按月延续缴纳)
            out[mo] = _COVERED if mo in paid else (False, "short-years", short_rule, 0)
        elif start is None and mo not in paid:
            out[mo] = (False, "not-paid", None, 0)
        elif start is None or mo < start[0]:
            start = start or _start(ctx, of(paid[mo].paid_on), kind, mode, first_time, paid[mo].paid_on, came=True)
            if mo < start[0] and mo in paid and _restores_gap(start[1]):
                out[mo] = (True, None, start[1], 0)  # the gap since leaving, caught up: restored (追溯)
            elif mo < start[0]:
                out[mo] = (False, start[2], start[1], _waiting_left(start, mo))
            else:
                step = 0  # covered from this very month: decide it as any other
        elif on_time(mo):
            out[mo] = _COVERED
        else:  # a break: the run of months not paid on time from here
            j = i
            while j < len(active) and not on_time(active[j]) and (rec.retirement is None or active[j] <= of(rec.retirement)):
                j += 1
            resumed = paid.get(active[j]) if j < len(active) else None
            start = _break(ctx, active[i:j], paid, resumed, kind, mode, out) or start
            step = j - i
        i += step
    return out


def _restores_gap(rule) -> bool:
    """An `after leaving … start … retroactive` rule: the months before its start that the member
    paid (the gap since leaving, 补缴) are covered (Suizhou 第十四条: 中断期间的待遇可按规定追溯)."""
    return rule is not None and rule.leaving is not None and isinstance(rule.setting, Months) \
        and rule.setting.retroactive


def _break(ctx, run, paid, resumed, kind, mode, out):
    """Mark the months of a break; returns the new start of benefits after it, if it moves."""
    mo = run[0]
    caught = all(m in paid for m in run)
    c = max(of(paid[m].paid_on) for m in run) if caught else None
    length = diff(c, mo) if c is not None else diff(of(ctx.as_of), mo) + 1
    lapse = _months_rule(ctx, "lapse", mo, kind, mode)
    grace = lapse.setting.months if lapse else 0
    window = _window(ctx, mo, kind, mode, length) if c is not None else None
    restored = window is not None and window.setting.retroactive
    for k, m in enumerate(run):
        out[m] = _COVERED if k < grace or restored else (False, "lapsed", lapse or window, 0)
    if length <= grace or restored:
        return None
    if c is None:
        if resumed is None:
            return None
        # Paying again without the arrears: the break ends at the new payment, nothing restored.
        c = of(resumed.paid_on)
        window = _window(ctx, mo, kind, mode, diff(c, mo))
    # Restored from the payment on, not for the break: within a window, after the start delay;
    # beyond every window, after `restart` months or as a first enrolment (waiting again).
    restart = _months_rule(ctx, "restart", mo, kind, mode) if window is None else None
    if restart is not None:
        return add(c, restart.setting.months), restart, "lapsed"
    month, rule, reason = _start(ctx, c, kind, mode, first_time=window is None)
    return month, rule, "lapsed" if window is not None and reason == "not-started" else reason


def _window(ctx, mo, kind, mode, length) -> Optional[MemberRule]:
    """The narrowest catch-up window a break from `mo` caught up `length` months later falls in
    (a `yearly` window: caught up in the break's calendar year)."""
    d = first_day(mo).toordinal()
    fits = [r for r in ctx.rules if isinstance(r.setting, CatchUp)
            and (add(mo, length)[0] == mo[0] if r.setting.in_year else r.setting.months >= length)
            and r.applies(kind, ctx.rec.sex, mode, ctx.rec.groups, d)]
    return min(fits, key=lambda r: (r.setting.months, -r.specificity), default=None)


def _resident_status(ctx, months) -> dict:
    """A resident pays a year at a time: paid before the year begins (the collection period),
    the whole year; paid during it, from the start delay or the waiting period after payment."""
    rec, out = ctx.rec, {}
    for mo in months:
        kind, mode = _kind(ctx, mo)
        if kind is None:
            continue
        pay = rec.years.get(mo[0])
        if _newborn_year(ctx, mo[0]):
            out[mo] = _COVERED
            if mo == of(rec.birth) and rec.birth.day != 1:
                ctx.from_days[mo] = (rec.birth, ctx.newborn)
            continue
        if pay is None or pay.paid_on > ctx.as_of:
            out[mo] = (False, "not-paid", None, 0)
            continue
        if pay.paid_on < dt.date(mo[0], 1, 1):
            out[mo] = (True, None, None, 0)
            continue
        first_year = mo[0] == rec.history[0].start.year  # the year the member came from elsewhere
        start = _start(ctx, of(pay.paid_on), kind, mode, True, pay.paid_on, came=first_year)
        if mo < start[0]:
            out[mo] = (False, start[2], start[1], _waiting_left(start, mo))
        else:
            out[mo] = (True, None, None, 0)
    return out


# ---- retirement years ------------------------------------------------------------------

def counted_months(ctx) -> tuple:
    """(all months counted, local months counted) up to the retirement month: the record's prior
    periods converted by the policy's `count` lines, plus the months paid in the records."""
    rec = ctx.rec
    ret = of(rec.retirement)
    paid = sum(1 for mo, p in rec.months.items() if mo <= ret and p.paid_on <= ctx.as_of)
    prior = {} if ctx.terminated else rec.prior  # terminated cover's years are void (Shaoxing 第十七条)
    total = Decimal(prior.get("months", 0) + paid)
    local = Decimal(prior.get("local_months", 0) + paid)
    for r in ctx.rules:
        if isinstance(r.setting, Count):
            n = prior.get(r.setting.period.replace("-", "_"), 0)
            converted = Decimal(n * r.setting.months) if r.setting.months is not None else div(Decimal(n), 2)
            total += converted
            local += converted
    return total, local


def _retirement(ctx, mo, trace) -> dict:
    rec = ctx.rec
    kind, mode = _kind(ctx, mo)
    total, local = counted_months(ctx)
    need = ctx.pick(Years, mo, kind or "employed", mode, day=rec.retirement, what="minimum")
    need_local = ctx.pick(Years, mo, kind or "employed", mode, day=rec.retirement, what="local")
    minimum = need.setting.years if need else 0
    local_minimum = need_local.setting.years if need_local else 0
    short = max(Decimal(0), minimum * 12 - total, local_minimum * 12 - local)
    out = {"months": total, "local_months": local, "years": div(total, 12), "local_years": div(local, 12),
           "minimum": minimum,
           "local_minimum": local_minimum, "short_months": short, "lump_sum": None,
           "article": need.cite if need else None,
           "retiree_from": "%04d-%02d" % ctx.retired_from if ctx.retired_from and ctx.retired_from < _NEVER else None}
    for r, name in ((need, "minimum years"), (need_local, "local years")):
        if r is not None:
            trace.append(Figure(name, r.setting.years, r.line, r.cite))
    lump = _lump(ctx, short)
    if lump is not None:
        rule, base, whole, total_sum = lump
        out["lump_sum"] = total_sum
        out["lump_sum_article"] = rule.cite
        trace.append(Figure("lump sum", total_sum, rule.line, rule.cite,
                            f"{whole} months on base {q(base)}, rising {rule.setting.rising * 100}% a year"))
    return out


def _lump(ctx, short):
    """(the lump-sum rule, the base, the months paid, the sum) for `short` missing months, or None."""
    rec = ctx.rec
    mo = of(rec.retirement)
    kind, mode = _kind(ctx, mo)
    rule = ctx.pick(LumpSum, mo, kind or "employed", mode, day=rec.retirement)
    if rule is None or short <= 0:
        return None
    s = rule.setting
    base = div(ctx.amount(s.base), 12 if s.base_yearly else 1) if s.base is not None else _last_base(ctx, mo)
    if base is None:
        return None
    whole = int(short) if short == int(short) else int(short) + 1  # a part month is paid whole
    total_sum = ZERO
    for i in range(whole):
        total_sum += base * (1 + s.rising) ** (i // 12) * s.rate
    return rule, base, whole, q(total_sum)


def _lump_credit(ctx, mo, trace) -> Decimal:
    """The account's part of a lump sum, in the month it is paid: `credit` of the base for each
    month paid (Ziyang 第九条（五）: 按清缴当月在职人员个人账户划入标准划入个人账户)."""
    rec = ctx.rec
    if rec.lump_sum_paid is None or of(rec.lump_sum_paid) != mo or rec.lump_sum_paid > ctx.as_of:
        return ZERO
    lump = _lump(ctx, _shortfall(ctx))
    if lump is None or not lump[0].setting.credit:
        return ZERO
    rule, base, whole, _ = lump
    credit = q(base * rule.setting.credit * whole)
    trace.append(Figure("credit", credit, rule.line, rule.cite, f"the lump sum's account part: {whole} months"))
    return credit


def _last_base(ctx, mo) -> Optional[Decimal]:
    """The base of the last month paid up to `mo` (经办时缴费基数), clamped as that month's."""
    for m in sorted((m for m in ctx.rec.months if m <= mo), reverse=True):
        kind, mode = _kind(ctx, m)
        b = _base(ctx, m, kind or "employed", mode, [])
        if b is not None:
            return b
    return None


# ---- day-level starts, leaving, proration, retirees short of years ---------------------

_NEVER = (9999, 12)


def _newborn(ctx):
    """The `newborn` rule a resident newborn meets: enrolled (and, unless the birth year is
    exempt, paid for it) within the period after birth the text gives; None otherwise."""
    rec = ctx.rec
    if rec.scheme != "resident" or rec.history[0].start < rec.birth:
        return None
    kind, mode = rec.history[0].kind, rec.history[0].mode
    rule = ctx.pick(Newborn, of(rec.birth), kind, mode, day=rec.birth)
    if rule is None:
        return None
    s = rule.setting
    deadline = rec.birth + dt.timedelta(days=s.within) if s.days else add_months(rec.birth, s.within)
    pay = rec.years.get(rec.birth.year)
    paid = pay is not None and pay.paid_on <= deadline and pay.paid_on <= ctx.as_of
    enrolled = rec.history[0].start <= min(deadline, ctx.as_of)
    return rule if enrolled and (s.exempt or paid) else None


def _newborn_year(ctx, year: int) -> bool:
    return ctx.newborn is not None and year == ctx.rec.birth.year


def _newborn_month(ctx, mo) -> bool:
    return ctx.newborn is not None and mo == of(ctx.rec.birth)


def _standard_share(ctx):
    """The share of the months counted at retirement that were paid 统账结合: all counted months
    less those paid 单建统筹 (the record's `prior.pooled_only_months` and the months paid in a
    pooled-only period), over all counted months (Suizhou 第二十条（三））."""
    rec = ctx.rec
    if rec.retirement is None:
        return Decimal(1)
    total, _ = counted_months(ctx)
    if total <= 0:
        return ZERO
    ret = of(rec.retirement)
    pooled = rec.prior.get("pooled_only_months", 0) + sum(
        1 for mo, p in rec.months.items() if mo <= ret and p.paid_on <= ctx.as_of
        and (rec.period_on(first_day(mo)) or rec.history[0]).mode == "pooled-only")
    return div(max(total - pooled, ZERO), total)


def _shortfall(ctx) -> Decimal:
    rec = ctx.rec
    ret = of(rec.retirement)
    kind, mode = _kind(ctx, ret)
    need = ctx.pick(Years, ret, kind or "employed", mode, day=rec.retirement, what="minimum")
    need_local = ctx.pick(Years, ret, kind or "employed", mode, day=rec.retirement, what="local")
    total, local = counted_months(ctx)
    return max(Decimal(0), (need.setting.years if need else 0) * 12 - total,
               (need_local.setting.years if need_local else 0) * 12 - local)


def _retired_from(ctx):
    """The first month of retiree benefits: the month after retirement with the years made up;
    short of them, the month after the lump sum was paid (一次性趸缴/清缴, the record's
    `lump_sum.paid_on`), or after the month whose payment made them up (按月/逐年缴费至规定年限);
    as of `as_of` neither: never (`_NEVER`)."""
    rec = ctx.rec
    if rec.retirement is None or rec.scheme != "employee":
        return None
    ret = of(rec.retirement)
    short = _shortfall(ctx)
    if short <= 0:
        return add(ret, 1)
    if rec.lump_sum_paid is not None and rec.lump_sum_paid <= ctx.as_of:
        return max(add(ret, 1), add(of(rec.lump_sum_paid), 1))
    later = sorted(mo for mo, p in rec.months.items() if mo > ret and p.paid_on <= ctx.as_of)
    need = int(short) + (short != int(short))
    return add(later[need - 1], 1) if len(later) >= need else _NEVER


def _short_rule(ctx):
    """The clause that says what a retiree short of the years must do (the lump sum's, else the
    minimum years')."""
    rec = ctx.rec
    if rec.retirement is None:
        return None
    ret = of(rec.retirement)
    return (ctx.pick(LumpSum, ret, "employed", None, day=rec.retirement)
            or ctx.pick(Years, ret, "employed", None, day=rec.retirement, what="minimum"))

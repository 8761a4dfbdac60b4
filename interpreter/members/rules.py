"""The member rules compiled: each `members` line becomes a `MemberRule` (who it is about,
what it sets, its line and article), checked as the rest of a policy is.

Checks (each an error at file:line:col): unknown scheme, selector, fund and parameter names
with a "did you mean"; a share over 100%; a lower base limit above the upper one; minimum
years whose dated clauses leave a day uncovered or cover one twice; a conversion of a
period the member record does not know.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

import attrs

from .. import ast
from ..vocabulary import Vocabulary
from .syntax import (BaseAtLower, BaseLimits, CatchUp, Contribution, Count, Credit, LeavingSelector, LumpSum,
                     MembersBlock, Months, Newborn, SexSelector, Years)

# The kinds of member a line may select (the record's history says which a month is).
KINDS = ("employed", "flexible", "retired", "resident")
# Enrolment modes (统账结合 / 单建统筹).
MODES = ("standard-enrolment", "pooled-only")
# The periods of a member record's `prior` a `count` line may convert.
PERIODS = ("resident-years", "early-months")
# What a member may have left before joining (`after leaving NAME`): a scheme, or another system
# of medical security (复转军人、公费医疗、刑满释放…: 其他医疗保障制度).
OTHER_SCHEME = "other-scheme"
# Member measures a line may compare (`age >= 80`): whole years at the rule's date (周岁).
MEASURES = ("age",)
_OPS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}
FIRST_DAY, LAST_DAY = dt.date.min.toordinal(), dt.date.max.toordinal()


@attrs.frozen
class MemberRule:
    """One member clause: the members it is about and its setting."""

    scheme: str
    kinds: frozenset          # of KINDS; empty: every kind
    sex: Optional[str]
    modes: frozenset          # of MODES; empty: both
    groups: frozenset         # resident groups (a subsidy's selector); empty: anyone
    start: int                # date ordinals, inclusive: when the clause applies
    end: int
    setting: object           # a node of members.syntax
    line: int
    file: str
    cite: Optional[str]
    late: bool = False        # only a resident's year paid after the collection period (逾期缴费)
    leaving: Optional[LeavingSelector] = None   # only a member who came from another scheme or region
    ages: tuple = ()          # ((op, bound), ...): the member's age in whole years on the rule's date

    @property
    def specificity(self) -> int:
        came = 0 if self.leaving is None else 2 + bool(self.leaving.insured) + self.leaving.elsewhere
        return (bool(self.kinds) + bool(self.sex) + bool(self.modes) + len(self.groups)
                + (self.start != FIRST_DAY) + (self.end != LAST_DAY) + self.late + came + len(self.ages))

    def applies(self, kind: str, sex: Optional[str], mode: Optional[str], groups, day: int,
                late: bool = False, birth: Optional[dt.date] = None, came=None) -> bool:
        return ((not self.kinds or kind in self.kinds) and (self.sex is None or self.sex == sex)
                and (not self.modes or mode in self.modes) and self.groups <= set(groups)
                and self.start <= day <= self.end and (not self.late or late)
                and (self.leaving is None or (came is not None and came.matches(self.leaving)))
                and (not self.ages or (birth is not None and all(_OPS[op](age_on(birth, day), bound)
                                                                  for op, bound in self.ages))))


def age_on(birth: dt.date, day: int) -> int:
    """Age in whole years (周岁) on the day with ordinal `day`."""
    d = dt.date.fromordinal(day)
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def add_months(day: dt.date, n: int) -> dt.date:
    """The same day n months later; a month's last day stays the last day (1-31 + 1 month = 2-28)."""
    i = day.year * 12 + day.month - 1 + n
    y, m = divmod(i, 12)
    nxt = dt.date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1)
    last = (nxt - dt.timedelta(days=1)).day
    end_of_month = (day + dt.timedelta(days=1)).day == 1
    return dt.date(y, m + 1, last if end_of_month else min(day.day, last))


@attrs.frozen
class Came:
    """Where a member came from, for `after leaving` lines: the scheme left (another region's if
    `elsewhere`), the months of continuous cover there, the last day of that cover and the day
    the member paid here (the event the rule decides about)."""
    scheme: str
    elsewhere: bool
    insured: int
    left: dt.date
    paid_on: dt.date

    def matches(self, sel: LeavingSelector) -> bool:
        inside = self.paid_on <= add_months(self.left, sel.months)  # 以内 includes the Nth month
        return (self.scheme == sel.scheme and (self.elsewhere or not sel.elsewhere)
                and self.insured >= sel.insured and inside == sel.within)


@attrs.frozen
class MemberRules:
    """A policy's member rules by scheme: immutable, shared between threads."""

    schemes: dict             # scheme -> tuple[MemberRule, ...]
    only_params: frozenset = frozenset()  # parameters only member rules read (claims never need them)

    def of(self, scheme: str) -> tuple:
        return self.schemes.get(scheme, ())

    def __bool__(self) -> bool:
        return bool(self.schemes)


def compile_members(module: ast.Module, vocab: Vocabulary, params: dict, problems,
                    claim_params: Optional[set] = None) -> MemberRules:
    """The `members` blocks of `module`, compiled; every problem goes to `problems`.
    `claim_params`: the parameters the schemes' clauses read, when the caller knows them."""
    schemes: dict[str, list] = {}
    for block in module.items:
        if not isinstance(block, MembersBlock):
            continue
        word = vocab.lookup("scheme", block.scheme)
        if word is None:
            _unknown(problems, vocab, block.span, block.scheme, "scheme")
            continue
        rules = schemes.setdefault(word.name, [])
        for line in block.lines:
            rule = _rule(word.name, line, vocab, params, problems)
            if rule is not None:
                rules.append(rule)
    for name, rules in schemes.items():
        _check_years(rules, problems)
        _check_ambiguity(rules, problems)
    mine = {ref.name for rules in schemes.values() for r in rules for ref in _param_refs(r.setting)}
    claims = claim_params if claim_params is not None else {
        n.name for item in module.items if isinstance(item, ast.Scheme) for n in _walk(item)
        if isinstance(n, ast.ParamRef)}
    return MemberRules({k: tuple(v) for k, v in schemes.items()}, frozenset(mine - claims))


def _walk(node):
    yield node
    if attrs.has(type(node)):
        for value in attrs.astuple(node, recurse=False):
            for v in value if isinstance(value, tuple) else (value,):
                if attrs.has(type(v)):
                    yield from _walk(v)


def _rule(scheme, line, vocab, params, problems) -> Optional[MemberRule]:
    kinds, modes, groups, sex, late, leaving, ages = set(), set(), set(), None, False, None, []
    start, end = FIRST_DAY, LAST_DAY
    for s in line.selectors:
        if isinstance(s, SexSelector):
            sex = s.sex
        elif isinstance(s, LeavingSelector):
            leaving = _leaving(s, vocab, problems)
        elif isinstance(s, ast.MeasureSelector):
            if s.measure not in MEASURES and (vocab.lookup("measure", s.measure) is None
                                              or vocab.lookup("measure", s.measure).name not in MEASURES):
                problems.error(s.span, f"a member line compares only the member's age, not `{s.measure}`",
                               hint="e.g. `age >= 80` (whole years on the rule's date)")
            elif s.bound != int(s.bound) or not 0 <= s.bound <= 150:
                problems.error(s.span, "an age is a whole number of years, 0 to 150")
            else:
                ages.append((s.op, int(s.bound)))
        elif isinstance(s, ast.DateSelector):
            try:
                day = dt.date.fromisoformat(s.date).toordinal()
            except ValueError:
                problems.error(s.span, f"`{s.date}` is not a date")
                continue
            if s.kind == "from":
                start = day
            else:
                end = day
        elif isinstance(s, ast.NameSelector) and not s.negated:
            word = vocab.selector(s.name)  # employed/retired are statuses, flexible a flag, resident a scheme
            if word is not None and word.name in KINDS:
                kinds.add(word.name)
            elif word is not None and word.name in MODES:
                modes.add(word.name)
            elif word is not None and word.name == "late" and scheme == "resident":
                late = True
            elif word is not None and word.kind == "group":
                groups.add(word.name)
            else:
                _unknown(problems, vocab, s.span, s.name, None,
                         "a member line selects employed, flexible, retired, resident, male, female, "
                         "pooled-only, standard-enrolment, late (residents), a group or dates")
        else:
            problems.error(s.span, "a member line selects by kind, sex, enrolment, group and dates only")
    if start > end:
        problems.error(line.span, "the clause's dates end before they start")
    if isinstance(line.setting, Months) and line.setting.retroactive and leaving is None:
        problems.error(line.setting.span, "a `retroactive` start restores the gap since the member left another "
                                          "scheme: it needs `after leaving …`")
    _check_setting(line.setting, vocab, params, problems)
    setting = line.setting
    if isinstance(setting, Contribution) and setting.fund is not None:
        fund = vocab.lookup("fund", setting.fund)  # 统筹基金 -> basic
        setting = attrs.evolve(setting, fund=fund.name if fund is not None else setting.fund)
    return MemberRule(scheme, frozenset(kinds), sex, frozenset(modes), frozenset(groups), start, end,
                      setting, line.span.line, line.span.file, line.cite, late, leaving, tuple(ages))


def _leaving(s: LeavingSelector, vocab, problems) -> Optional[LeavingSelector]:
    """The selector with the scheme's canonical name; an unknown scheme is an error."""
    if s.scheme == OTHER_SCHEME:
        return s
    word = vocab.lookup("scheme", s.scheme)
    if word is None:
        _unknown(problems, vocab, s.span, s.scheme, "scheme", f"a scheme, or `{OTHER_SCHEME}` (其他医疗保障制度)")
        return None
    return attrs.evolve(s, scheme=word.name)


def _check_setting(s, vocab, params, problems) -> None:
    for ref in _param_refs(s):
        if ref.name not in params:
            problems.error(ref.span, f"unknown parameter `{ref.name}`", hint=f"declare it: `parameter {ref.name}`")
    if isinstance(s, Contribution):
        if s.fund is not None and vocab.lookup("fund", s.fund) is None:
            _unknown(problems, vocab, s.span, s.fund, "fund")
        for share in s.shares:
            if share.per == "base":
                _share_at_most_1(share.value.value, share.span, problems, f"the {share.payer}'s rate")
    elif isinstance(s, Credit) and s.of is not None:
        _share_at_most_1(s.value.value, s.span, problems, "a credit's share")
    elif isinstance(s, BaseAtLower):
        _share_at_most_1(s.share, s.span, problems, "a share of the lower limit")
    elif isinstance(s, LumpSum):
        _share_at_most_1(s.rate, s.span, problems, "the lump sum's rate")
        if s.credit > s.rate:
            problems.error(s.span, "the lump sum's account part is over its rate")
    elif isinstance(s, BaseLimits):
        lo, hi = s.lower, s.upper
        if lo is not None and hi is not None and _above(lo, hi):
            problems.error(s.span, "the lower limit of the base is above the upper limit")
    elif isinstance(s, Count) and s.period not in PERIODS:
        problems.error(s.span, f"unknown period `{s.period}`", hint="a member record's prior periods: "
                       + ", ".join(PERIODS))
    elif isinstance(s, Months) and s.what == "due" and not 1 <= s.months <= 31:
        problems.error(s.span, "a due day is a day of the month, 1 to 31")
    elif isinstance(s, Newborn) and (s.within == 0 or s.within > (366 if s.days else 12)):
        problems.error(s.span, "a newborn's enrolment period is 1 to 12 months (or 1 to 366 days)")


def _above(lo, hi) -> bool:
    """lower > upper, where both are numbers or both scale one parameter."""
    if isinstance(lo, ast.Number) and isinstance(hi, ast.Number):
        return lo.value > hi.value
    if isinstance(lo, ast.ParamRef) and isinstance(hi, ast.ParamRef) and lo.name == hi.name:
        return lo.factor > hi.factor
    return False


def _share_at_most_1(v: Decimal, span, problems, what: str) -> None:
    if v > 1:
        problems.error(span, f"{what} is over 100%")


def _param_refs(s):
    for value in attrs.astuple(s, recurse=False, filter=lambda a, v: True):
        if isinstance(value, ast.ParamRef):
            yield value
        elif isinstance(value, tuple):
            for v in value:
                inner = getattr(v, "value", None)
                if isinstance(inner, ast.ParamRef):
                    yield inner


def _check_years(rules, problems) -> None:
    """Minimum years by date of retirement: for each sex, the dated clauses of each quantity
    must cover every day once (a transition that leaves a year uncovered is an error)."""
    for what in ("minimum", "local"):
        mine = [r for r in rules if isinstance(r.setting, Years) and r.setting.what == what]
        if not mine:
            continue
        for sex in ("male", "female"):
            spans = sorted((r.start, r.end, r) for r in mine if r.sex in (None, sex) and not r.kinds)
            if not spans:
                continue
            if spans[0][0] != FIRST_DAY:
                problems.error(spans[0][2].setting.span,
                               f"{what} years for {sex} members retiring before "
                               f"{dt.date.fromordinal(spans[0][0])} are not given")
            for (_, e0, r0), (s1, _, r1) in zip(spans, spans[1:]):
                if s1 <= e0:
                    problems.error(r1.setting.span, f"{what} years for {sex} members: this clause overlaps "
                                                    f"the one on line {r0.line}")
                elif s1 > e0 + 1:
                    problems.error(r1.setting.span,
                                   f"{what} years for {sex} members retiring from {dt.date.fromordinal(e0 + 1)} "
                                   f"to {dt.date.fromordinal(s1 - 1)} are not given (a gap after line {r0.line})")
            if spans[-1][1] != LAST_DAY:
                problems.error(spans[-1][2].setting.span,
                               f"{what} years for {sex} members retiring after "
                               f"{dt.date.fromordinal(spans[-1][1])} are not given")


def _unknown(problems, vocab, span, name, kind, hint=None) -> None:
    guess = vocab.suggest(name, kind)
    problems.error(span, f"unknown {kind + ' ' if kind else ''}name `{name}`",
                   hint=f"did you mean `{guess}`?" if guess else hint)


def _topic(r: MemberRule):
    """What a rule sets: two rules of one topic compete for the same members."""
    s = r.setting
    if isinstance(s, Contribution):
        return ("contribution", s.fund or "basic", any(sh.payer == "subsidy" for sh in s.shares))
    if isinstance(s, (Months, Years)):
        return (type(s).__name__, s.what)
    if isinstance(s, Count):
        return ("count", s.period)
    if isinstance(s, CatchUp):  # windows of different lengths are tiers, not rivals
        return ("catch-up", s.months, s.in_year)
    return (type(s).__name__,)


def _check_ambiguity(rules, problems) -> None:
    """Two rules of one topic, equally specific, that can apply to the same member on the same
    day: nothing says which wins. (Minimum years have their own check; subsidies take the
    highest, 就高.)"""
    by_topic: dict = {}
    for r in rules:
        if not isinstance(r.setting, Years):
            by_topic.setdefault(_topic(r), []).append(r)
    for topic, group in by_topic.items():
        if topic[0] == "contribution" and topic[2]:
            continue
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if a.specificity == b.specificity and _overlap(a, b):
                    problems.error(b.setting.span, f"this clause and the one on line {a.line} both apply to the same "
                                                   f"members and neither is more specific",
                                   hint="add a selector (employed, flexible, retired, pooled-only, a date, …) to one")


def _overlap(a: MemberRule, b: MemberRule) -> bool:
    return ((not a.kinds or not b.kinds or bool(a.kinds & b.kinds)) and (a.sex is None or b.sex is None or a.sex == b.sex)
            and (not a.modes or not b.modes or bool(a.modes & b.modes)) and a.groups == b.groups and a.late == b.late
            and a.start <= b.end and b.start <= a.end and a.ages == b.ages
            and (a.leaving is None or b.leaving is None or _same_leaving(a.leaving, b.leaving)))


def _same_leaving(a: LeavingSelector, b: LeavingSelector) -> bool:
    """Two `after leaving` selectors that can hold for one member (within and beyond never both)."""
    return a.scheme == b.scheme and a.within == b.within and a.months == b.months

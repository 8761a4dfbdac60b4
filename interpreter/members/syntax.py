"""The member sections of the language as syntax: frozen attrs nodes with spans, and the
parse-tree → AST constructors for them (mixed into `parser._ToAst`).

    members employee                                            # 职工医保 参保人
      employed base lower base_lower upper base_upper           cite "第九条（一）"
      employed contribution basic employer 6.5% individual 2%   cite "第九条（二）"
      retired credit 70 monthly                                 cite "第二十条（二）"
      male until 2025-12-31 minimum-years 25                    cite "第十五条"

Meaning (which payer, which kind of member, whether the numbers make sense) is the
compiler's (`members/rules.py`); these nodes only say what was written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional, Union

import attrs

from .. import ast
from ..ast import _span


@attrs.frozen
class SexSelector:
    sex: str  # "male" | "female"
    span: ast.Span = _span()


@attrs.frozen
class LeavingSelector:
    """`after leaving SCHEME [elsewhere] [insured N months] within|beyond M months`: the member came
    from SCHEME (another region's, with `elsewhere`), after at least N months of cover there, and
    paid here at most (`within`) or more than (`beyond`) M months after leaving it."""
    scheme: str
    elsewhere: bool
    insured: int           # months of continuous cover in the scheme left (0: any)
    within: bool
    months: int
    span: ast.Span = _span()


@attrs.frozen
class BaseLimits:
    """`base [yearly] lower A upper B`: the base is clamped between A and B (÷ 12 if yearly)."""
    lower: Optional[ast.Amount]
    upper: Optional[ast.Amount]
    yearly: bool = False
    span: ast.Span = _span()


@attrs.frozen
class BaseAtLower:
    """`base lower`, `base 90% of lower`: the base is (a share of) the lower limit (灵活就业)."""
    share: Decimal = Decimal(1)
    span: ast.Span = _span()


@attrs.frozen
class PayerShare:
    """One payer's part: a share of the base (`employer 6.5%`) or a sum a month or a year."""
    payer: str            # employer | individual | subsidy
    per: str              # base | monthly | yearly
    value: Union[ast.Percent, ast.Number, ast.ParamRef]
    span: ast.Span = _span()


@attrs.frozen
class Contribution:
    fund: Optional[str]   # basic when not written
    shares: tuple[PayerShare, ...]
    span: ast.Span = _span()


@attrs.frozen
class Credit:
    """A monthly account credit: `of` is base, pension or None for a fixed sum; `prorated`: in
    proportion to the months paid 统账结合 among all months counted (Suizhou 第二十条（三））."""
    of: Optional[str]
    value: Union[ast.Percent, ast.Number, ast.ParamRef]
    span: ast.Span = _span()
    prorated: bool = False


@attrs.frozen
class Months:
    """A setting that is a number of months (or a day): start, lapse, waiting, due."""
    what: str             # start | lapse | waiting | due | restart | previous-terms
    months: int
    span: ast.Span = _span()
    days: bool = False    # `start after 1 days`: from the day after payment (缴费次日起)
    # `after leaving … start after N months retroactive`: the history's months before the start
    # that are paid (the gap since leaving, caught up: 补缴) are restored (中断期间的待遇可追溯)
    retroactive: bool = False


@attrs.frozen
class CatchUp:
    """`catch-up within N months [retroactive]`; `catch-up yearly`: paid in the break's year (年度内补足)."""
    months: int
    retroactive: bool
    in_year: bool = False
    span: ast.Span = _span()


@attrs.frozen
class Years:
    what: str             # minimum | local
    years: int
    span: ast.Span = _span()


@attrs.frozen
class Count:
    """`count resident-years as 2 months`, `count early-months halved`."""
    period: str
    months: Optional[int]  # None: halved
    span: ast.Span = _span()


@attrs.frozen
class LumpSum:
    """`lump-sum RATE [rising R] [base [yearly] AMOUNT]`: RATE of the base for each missing month;
    the base is the member's last one unless given (÷ 12 if yearly)."""
    rate: Decimal
    rising: Decimal = Decimal(0)
    base: Optional[ast.Amount] = None
    base_yearly: bool = False
    span: ast.Span = _span()
    credit: Decimal = Decimal(0)   # `credit 2%`: of the base, for each month paid, into the account (Ziyang 第九条（五）)


@attrs.frozen
class Newborn:
    """`newborn within N months|days [exempt]`: a newborn enrolled (and, unless `exempt`, paid for
    the birth year) within N of birth is covered from the birth date for the birth year."""
    within: int
    days: bool            # N is days (else months)
    exempt: bool          # the birth year's contribution is waived (免缴)
    span: ast.Span = _span()


MemberSetting = Union[BaseLimits, BaseAtLower, Contribution, Credit, Months, CatchUp, Years, Count, LumpSum, Newborn]


@attrs.frozen
class MemberLine:
    selectors: tuple
    setting: MemberSetting
    cite: Optional[str] = None
    span: ast.Span = _span()


@attrs.frozen
class MembersBlock:
    """`members SCHEME` and its member lines."""
    scheme: str
    lines: tuple[MemberLine, ...]
    cite: Optional[str] = None
    span: ast.Span = _span()

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
from lark import Token, Transformer, v_args

from .. import ast
from ..ast import _span
from ..money import CONVERTING


@attrs.frozen
class SexSelector:
    sex: str  # "male" | "female"
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
    """A monthly account credit: `of` is base, pension or None for a fixed sum."""
    of: Optional[str]
    value: Union[ast.Percent, ast.Number, ast.ParamRef]
    span: ast.Span = _span()


@attrs.frozen
class Months:
    """A setting that is a number of months (or a day): start, lapse, waiting, due."""
    what: str             # start | lapse | waiting | due | restart
    months: int
    span: ast.Span = _span()


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


MemberSetting = Union[BaseLimits, BaseAtLower, Contribution, Credit, Months, CatchUp, Years, Count, LumpSum]


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


def _toks(ch, *types):
    return [c for c in ch if isinstance(c, Token) and c.type in types]


def _pct(tok) -> Decimal:
    return CONVERTING.divide(Decimal(str(tok)[:-1]), 100)


def _int(ch) -> int:
    return int(str(_toks(ch, "INT")[0]))


@v_args(meta=True)
class MemberTransforms(Transformer):
    """Parse-tree rule → member AST node; mixed into the parser's transformer (which gives
    `_span` and turns values, selectors and `cite` into nodes first)."""

    def members_block(self, meta, ch):
        cite = _cite_of(ch)
        return MembersBlock(str(_toks(ch, "NAME")[0]), tuple(c for c in ch if isinstance(c, MemberLine)),
                            cite, span=self._span(meta))

    def member_line(self, meta, ch):
        setting = next(c for c in ch if isinstance(c, MemberSetting.__args__))
        selectors = tuple(c for c in ch if isinstance(c, (ast.NameSelector, ast.MeasureSelector,
                                                           ast.DateSelector, SexSelector)))
        return MemberLine(selectors, setting, _cite_of(ch), span=self._span(meta))

    def sex_selector(self, meta, ch):
        return SexSelector("male" if ch[0].type == "MALE" else "female", span=self._span(meta))

    def base_limits(self, meta, ch):
        return BaseLimits(_limit(ch, "lower"), _limit(ch, "upper"), bool(_toks(ch, "YEARLY")), span=self._span(meta))

    def lower_limit(self, meta, ch):
        return ("lower", ch[1])

    def upper_limit(self, meta, ch):
        return ("upper", ch[1])

    def base_at_lower(self, meta, ch):
        p = _toks(ch, "PERCENT")
        return BaseAtLower(_pct(p[0]) if p else Decimal(1), span=self._span(meta))

    def contribution(self, meta, ch):
        fund = _toks(ch, "NAME")
        return Contribution(str(fund[0]) if fund else None, tuple(c for c in ch if isinstance(c, PayerShare)),
                            span=self._span(meta))

    def payer(self, meta, ch):
        return {"EMPLOYER": "employer", "INDIVIDUAL": "individual", "SUBSIDY": "subsidy"}[ch[0].type]

    def share_of_base(self, meta, ch):
        return PayerShare(ch[0], "base", ast.Percent(_pct(ch[1]), span=self._span(meta)), span=self._span(meta))

    def sum_per_period(self, meta, ch):
        per = "monthly" if _toks(ch, "MONTHLY") else "yearly"
        return PayerShare(ch[0], per, ch[1], span=self._span(meta))

    def credit_of_base(self, meta, ch):
        return Credit("base", ast.Percent(_pct(_toks(ch, "PERCENT")[0]), span=self._span(meta)), span=self._span(meta))

    def credit_of_pension(self, meta, ch):
        return Credit("pension", ast.Percent(_pct(_toks(ch, "PERCENT")[0]), span=self._span(meta)),
                      span=self._span(meta))

    def credit_fixed(self, meta, ch):
        return Credit(None, ch[1], span=self._span(meta))

    def start_after(self, meta, ch):
        return Months("start", _int(ch), span=self._span(meta))

    def lapse_after(self, meta, ch):
        return Months("lapse", _int(ch), span=self._span(meta))

    def waiting(self, meta, ch):
        return Months("waiting", _int(ch), span=self._span(meta))

    def due_day(self, meta, ch):
        return Months("due", _int(ch), span=self._span(meta))

    def catch_up(self, meta, ch):
        return CatchUp(_int(ch), bool(_toks(ch, "RETROACTIVE")), span=self._span(meta))

    def catch_up_in_year(self, meta, ch):
        return CatchUp(12, bool(_toks(ch, "RETROACTIVE")), in_year=True, span=self._span(meta))

    def minimum_years(self, meta, ch):
        return Years("minimum", _int(ch), span=self._span(meta))

    def local_years(self, meta, ch):
        return Years("local", _int(ch), span=self._span(meta))

    def count_as(self, meta, ch):
        return Count(str(_toks(ch, "NAME")[0]), _int(ch), span=self._span(meta))

    def count_halved(self, meta, ch):
        return Count(str(_toks(ch, "NAME")[0]), None, span=self._span(meta))

    def lump_sum(self, meta, ch):
        p = _toks(ch, "PERCENT")
        base = next((c for c in ch if isinstance(c, (ast.Number, ast.ParamRef))), None)
        return LumpSum(_pct(p[0]), _pct(p[1]) if len(p) > 1 else Decimal(0), base, bool(_toks(ch, "YEARLY")),
                       span=self._span(meta))

    def restart_after(self, meta, ch):
        return Months("restart", _int(ch), span=self._span(meta))


def _limit(ch, which: str):
    return next((c[1] for c in ch if isinstance(c, tuple) and c[0] == which), None)


def _cite_of(ch) -> Optional[str]:
    # The parser's `cite` rule gives an object with `.text` (parser._Cite).
    return next((c.text for c in ch if type(c).__name__ == "_Cite"), None)

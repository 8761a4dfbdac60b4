"""The member blocks' parse tree → the AST nodes of members/syntax.py (lark's part, loaded
only with the parser: a policy served from the cache never imports lark)."""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from lark import Token, Transformer, v_args

from .. import ast
from ..money import CONVERTING
from ..spanned import spans_from_meta
from .syntax import (BaseAtLower, BaseLimits, CatchUp, Contribution, Count, Credit, LeavingSelector, LumpSum, MemberLine,
                     MembersBlock, MemberSetting, Months, Newborn, PayerShare, SexSelector, Years)


def _toks(ch, *types):
    return [c for c in ch if isinstance(c, Token) and c.type in types]


def _pct(tok) -> Decimal:
    return CONVERTING.divide(Decimal(str(tok)[:-1]), 100)


def _int(ch) -> int:
    return int(str(_toks(ch, "INT")[0]))


@v_args(meta=True)
@spans_from_meta
class MemberTransforms(Transformer):
    """Parse-tree rule → member AST node; mixed into the parser's transformer (which gives
    `_span` and turns values, selectors and `cite` into nodes first)."""

    def members_block(self, meta, ch):
        cite = _cite_of(ch)
        return MembersBlock(str(_toks(ch, "NAME")[0]), tuple(c for c in ch if isinstance(c, MemberLine)),
                            cite)

    def member_line(self, meta, ch):
        setting = next(c for c in ch if isinstance(c, MemberSetting.__args__))
        selectors = tuple(c for c in ch if isinstance(c, (ast.NameSelector, ast.MeasureSelector,
                                                           ast.DateSelector, SexSelector, LeavingSelector)))
        return MemberLine(selectors, setting, _cite_of(ch))

    def sex_selector(self, meta, ch):
        return SexSelector("male" if ch[0].type == "MALE" else "female")

    def leaving_selector(self, meta, ch):
        ints = [int(str(t)) for t in _toks(ch, "INT")]
        return LeavingSelector(str(_toks(ch, "NAME")[0]), bool(_toks(ch, "ELSEWHERE")),
                               ints[0] if len(ints) > 1 else 0, bool(_toks(ch, "WITHIN")), ints[-1])

    def base_limits(self, meta, ch):
        return BaseLimits(_limit(ch, "lower"), _limit(ch, "upper"), bool(_toks(ch, "YEARLY")))

    def lower_limit(self, meta, ch):
        return ("lower", ch[1])

    def upper_limit(self, meta, ch):
        return ("upper", ch[1])

    def base_at_lower(self, meta, ch):
        p = _toks(ch, "PERCENT")
        return BaseAtLower(_pct(p[0]) if p else Decimal(1))

    def contribution(self, meta, ch):
        fund = _toks(ch, "NAME")
        return Contribution(str(fund[0]) if fund else None, tuple(c for c in ch if isinstance(c, PayerShare)))

    def payer(self, meta, ch):
        return {"EMPLOYER": "employer", "INDIVIDUAL": "individual", "SUBSIDY": "subsidy"}[ch[0].type]

    def share_of_base(self, meta, ch):
        return PayerShare(ch[0], "base", ast.Percent(_pct(ch[1]), span=self._span(meta)))

    def sum_per_period(self, meta, ch):
        per = "monthly" if _toks(ch, "MONTHLY") else "yearly"
        return PayerShare(ch[0], per, ch[1])

    def credit_of_base(self, meta, ch):
        return Credit("base", ast.Percent(_pct(_toks(ch, "PERCENT")[0]), span=self._span(meta)))

    def credit_of_pension(self, meta, ch):
        return Credit("pension", ast.Percent(_pct(_toks(ch, "PERCENT")[0]), span=self._span(meta)))

    def credit_fixed(self, meta, ch):
        return Credit(None, ch[1], prorated=bool(_toks(ch, "PRORATED")))

    def start_after(self, meta, ch):
        return Months("start", _int(ch), retroactive=bool(_toks(ch, "RETROACTIVE")))

    def start_after_days(self, meta, ch):
        return Months("start", _int(ch), days=True)

    def newborn(self, meta, ch):
        return Newborn(_int(ch), bool(_toks(ch, "DAYS")), bool(_toks(ch, "EXEMPT")))

    def previous_terms(self, meta, ch):
        return Months("previous-terms", _int(ch))

    def lapse_after(self, meta, ch):
        return Months("lapse", _int(ch))

    def waiting(self, meta, ch):
        return Months("waiting", _int(ch))

    def due_day(self, meta, ch):
        return Months("due", _int(ch))

    def catch_up(self, meta, ch):
        return CatchUp(_int(ch), bool(_toks(ch, "RETROACTIVE")))

    def catch_up_in_year(self, meta, ch):
        return CatchUp(12, bool(_toks(ch, "RETROACTIVE")), in_year=True)

    def minimum_years(self, meta, ch):
        return Years("minimum", _int(ch))

    def local_years(self, meta, ch):
        return Years("local", _int(ch))

    def count_as(self, meta, ch):
        return Count(str(_toks(ch, "NAME")[0]), _int(ch))

    def count_halved(self, meta, ch):
        return Count(str(_toks(ch, "NAME")[0]), None)

    def lump_sum(self, meta, ch):
        # each PERCENT is the rate, or the one after `rising` / `credit`
        after = {str(ch[i - 1].type) if isinstance(ch[i - 1], Token) else "": _pct(c)
                 for i, c in enumerate(ch) if isinstance(c, Token) and c.type == "PERCENT"}
        base = next((c for c in ch if isinstance(c, (ast.Number, ast.ParamRef))), None)
        return LumpSum(after["LUMP_SUM"], after.get("RISING", Decimal(0)), base, bool(_toks(ch, "YEARLY")),
                       credit=after.get("CREDIT", Decimal(0)))

    def restart_after(self, meta, ch):
        return Months("restart", _int(ch))


def _limit(ch, which: str):
    return next((c[1] for c in ch if isinstance(c, tuple) and c[0] == which), None)


def _cite_of(ch) -> Optional[str]:
    # The parser's `cite` rule gives an object with `.text` (parser._Cite).
    return next((c.text for c in ch if type(c).__name__ == "_Cite"), None)

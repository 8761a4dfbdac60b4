"""A member record (JSON object) read and checked field by field into a frozen `MemberRecord`.

The shape is documented in docs/members.md. A bad field raises `MemberError` naming the
member and the field; `med members` turns it into that member's error row.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from decimal import Decimal, InvalidOperation, Overflow
from typing import Any, Mapping, Optional

import attrs

from ..claims import ASCII_DATE, ASCII_NUMBER, printable
from ..money import CONVERTING
from .rules import KINDS, OTHER_SCHEME, PERIODS

FIELDS = ("id", "sex", "birth", "scheme", "history", "contributions", "retirement", "pension",
          "balance", "prior", "groups", "deducts_major", "before", "lump_sum")
BEFORE = ("scheme", "region", "from", "to", "terminated")
MONTH_PAYMENT, YEAR_PAYMENT = ("month", "base", "paid_on"), ("year", "paid_on")
REGIONS = {"here": False, "local": False, "本地": False, "elsewhere": True, "统筹区外": True}
SEXES = {"male": "male", "female": "female", "男": "male", "女": "female"}
MODES = {"standard": "standard-enrolment", "standard-enrolment": "standard-enrolment",
         "pooled-only": "pooled-only", "统账结合": "standard-enrolment", "单建统筹": "pooled-only"}
PRIOR = ("months", "local_months", "pooled_only_months") + tuple(p.replace("-", "_") for p in PERIODS)
MAX_MONEY = Decimal(10) ** 12


class MemberError(Exception):
    """A member record that cannot be read: the member, the field and what is wrong."""

    def __init__(self, member: Optional[str], field: str, message: str):
        # a field's name or a value shown may hold a lone surrogate ("\ud800"), which no output writes
        field, message = printable(field), printable(message)
        super().__init__(f"member {member or '?'}: {field}: {message}")
        self.member, self.field, self.message = member, field, message

    def to_json(self) -> dict:
        return {"id": self.member, "error": {"code": "bad-member", "field": self.field, "message": self.message}}


@attrs.frozen
class Period:
    """A period of enrolment: [start, end] (end None: still enrolled), the member's kind and mode."""
    start: dt.date
    end: Optional[dt.date]
    kind: str
    mode: str


@attrs.frozen
class Payment:
    paid_on: dt.date
    base: Optional[Decimal] = None


@attrs.frozen
class Before:
    """Cover the member had before the record's history (`before`): the scheme (or another system
    of medical security), whether another region's, its dates and whether it was terminated."""
    scheme: str
    elsewhere: bool
    start: Optional[dt.date]
    end: dt.date
    terminated: bool = False

    @property
    def insured_months(self) -> int:
        """Calendar months of that cover, the first and the last counted (0 without `from`)."""
        if self.start is None:
            return 0
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


@attrs.frozen
class MemberRecord:
    id: str
    sex: str
    birth: dt.date
    scheme: str
    history: tuple                      # of Period, in order
    months: Mapping                     # (year, month) -> Payment (monthly contributions)
    years: Mapping                      # year -> Payment (a resident's yearly contribution)
    retirement: Optional[dt.date] = None
    pension: Optional[Decimal] = None
    balance: Optional[tuple] = None     # (date, Decimal)
    prior: Mapping = attrs.field(factory=dict)   # PRIOR key -> int
    groups: tuple = ()
    deducts_major: bool = False
    before: tuple = ()                  # of Before, in order: what the member left to join
    lump_sum_paid: Optional[dt.date] = None   # when a retiree short of years paid them at once (趸缴)

    @property
    def came_from(self) -> Optional[Before]:
        """The cover the member left last before the history starts."""
        return self.before[-1] if self.before else None

    def period_on(self, day: dt.date) -> Optional[Period]:
        for p in self.history:
            if p.start <= day and (p.end is None or day <= p.end):
                return p
        return None


def read_member(obj: Any) -> MemberRecord:
    """A member record from its JSON object; raises `MemberError` naming the bad field."""
    mid = member_id(obj)
    _known_fields(mid, "", obj, FIELDS)
    sex = _named(mid, "sex", obj.get("sex"), SEXES, "required: `male` or `female`")
    scheme = obj.get("scheme")
    if scheme not in ("employee", "resident"):
        raise MemberError(mid, "scheme", "required: `employee` or `resident`")
    history = _history(mid, obj.get("history"))
    months, years = _contributions(mid, obj.get("contributions", []))
    balance = None
    if obj.get("balance") is not None:
        b = obj["balance"]
        if not isinstance(b, Mapping):
            raise MemberError(mid, "balance", 'an object {"on": date, "amount": money}')
        balance = (_date(mid, "balance.on", b.get("on")), _money(mid, "balance.amount", b.get("amount")))
    prior = obj.get("prior", {})
    if not isinstance(prior, Mapping):
        raise MemberError(mid, "prior", "an object of whole numbers: " + ", ".join(PRIOR))
    for k, v in prior.items():
        if k not in PRIOR:
            raise MemberError(mid, f"prior.{k}", "unknown period; known: " + ", ".join(PRIOR))
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise MemberError(mid, f"prior.{k}", "a whole number ≥ 0")
    groups = obj.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise MemberError(mid, "groups", "a list of group names")
    deducts = obj.get("deducts_major", False)
    if not isinstance(deducts, bool):
        raise MemberError(mid, "deducts_major", "true or false")
    lump = obj.get("lump_sum")
    if lump is not None and (not isinstance(lump, Mapping) or set(lump) != {"paid_on"}):
        raise MemberError(mid, "lump_sum", 'an object {"paid_on": date}: when the missing years were paid at once')
    return MemberRecord(
        mid, sex, _date(mid, "birth", obj.get("birth")), scheme, history, months, years,
        _date(mid, "retirement", obj["retirement"]) if obj.get("retirement") is not None else None,
        _money(mid, "pension", obj["pension"]) if obj.get("pension") is not None else None,
        balance, dict(prior), tuple(groups), deducts, _before(mid, obj.get("before", []), history[0].start),
        _date(mid, "lump_sum.paid_on", lump.get("paid_on")) if lump is not None else None)


def member_id(obj: Any) -> str:
    """The member's id, as text; raises `MemberError` (no member named) when the record is not a
    JSON object or has no usable `id`."""
    if not isinstance(obj, Mapping):
        raise MemberError(None, "", "a member record is a JSON object")
    ident = obj.get("id")
    if not isinstance(ident, (str, int)) or isinstance(ident, bool) or str(ident) == "":
        raise MemberError(None, "id", "a member needs an `id` (a string)")
    if printable(str(ident)) != str(ident):
        raise MemberError(None, "id", "not valid Unicode: it holds a lone surrogate")
    return str(ident)


def _known_fields(mid, where: str, obj: Mapping, names: tuple, unknown: str = "unknown field") -> None:
    """Refuse a field not in `names`: a misspelt or misplaced one would be ignored without a word."""
    for name in obj:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            raise MemberError(mid, where + name, unknown + (f"; did you mean `{close[0]}`?" if close else ""))


def _named(mid, field, value, names: Mapping, expected: str):
    """What the word `value` means in `names`; anything else, a list or an object too, refused."""
    if isinstance(value, str) and value in names:
        return names[value]
    raise MemberError(mid, field, expected)


def _before(mid, value, first: dt.date) -> tuple:
    if not isinstance(value, list):
        raise MemberError(mid, "before", "a list of {scheme, region, from, to, terminated}")
    out = []
    for i, b in enumerate(value):
        where = f"before[{i}]"
        if not isinstance(b, Mapping):
            raise MemberError(mid, where, "an object {scheme, region, from, to, terminated}")
        _known_fields(mid, f"{where}.", b, BEFORE)
        scheme = b.get("scheme")
        if scheme not in ("employee", "resident", OTHER_SCHEME):
            raise MemberError(mid, f"{where}.scheme", f"required: `employee`, `resident` or `{OTHER_SCHEME}`")
        region = _named(mid, f"{where}.region", b.get("region", "here"), REGIONS,
                        "`here` (this region) or `elsewhere` (another region)")
        start = _date(mid, f"{where}.from", b["from"]) if b.get("from") is not None else None
        end = _date(mid, f"{where}.to", b.get("to"))
        if start is not None and end < start:
            raise MemberError(mid, f"{where}.to", "ends before it starts")
        if end >= first or (out and out[-1].end >= (start or end)):
            raise MemberError(mid, f"{where}.to", "earlier cover is in order and ends before the history starts")
        terminated = b.get("terminated", False)
        if not isinstance(terminated, bool):
            raise MemberError(mid, f"{where}.terminated", "true or false")
        out.append(Before(scheme, region, start, end, terminated))
    return tuple(out)


def _history(mid, value) -> tuple:
    if not isinstance(value, list) or not value:
        raise MemberError(mid, "history", "required: a list of enrolment periods {from, to, kind, mode}")
    out = []
    for i, p in enumerate(value):
        where = f"history[{i}]"
        if not isinstance(p, Mapping):
            raise MemberError(mid, where, "an object {from, to, kind, mode}")
        start = _date(mid, f"{where}.from", p.get("from"))
        end = _date(mid, f"{where}.to", p["to"]) if p.get("to") is not None else None
        if end is not None and end < start:
            raise MemberError(mid, f"{where}.to", "ends before it starts")
        kind = p.get("kind")
        if kind not in KINDS:
            raise MemberError(mid, f"{where}.kind", "one of " + ", ".join(KINDS))
        mode = _named(mid, f"{where}.mode", p.get("mode", "standard"), MODES,
                      "`standard` (统账结合) or `pooled-only` (单建统筹)")
        if out and (out[-1].end is None or out[-1].end >= start):
            raise MemberError(mid, f"{where}.from", "periods are in order and do not overlap")
        out.append(Period(start, end, kind, mode))
    return tuple(out)


def _contributions(mid, value):
    if not isinstance(value, list):
        raise MemberError(mid, "contributions", "a list of {month, base, paid_on} or {year, paid_on}")
    months, years = {}, {}
    for i, c in enumerate(value):
        where = f"contributions[{i}]"
        if not isinstance(c, Mapping):
            raise MemberError(mid, where, "an object {month, base, paid_on} or {year, paid_on}")
        paid_on = _date(mid, f"{where}.paid_on", c.get("paid_on"))
        if "month" in c:
            _known_fields(mid, f"{where}.", c, MONTH_PAYMENT, "not a field of a month's payment {month, base, paid_on}")
            key = _month(mid, f"{where}.month", c["month"])
            if key in months:
                raise MemberError(mid, f"{where}.month", f"month {c['month']} is paid twice")
            base = _money(mid, f"{where}.base", c["base"]) if c.get("base") is not None else None
            months[key] = Payment(paid_on, base)
        elif "year" in c:
            _known_fields(mid, f"{where}.", c, YEAR_PAYMENT, "not a field of a year's payment {year, paid_on}")
            y = c["year"]
            if not isinstance(y, int) or isinstance(y, bool) or not 1900 <= y <= 2200:
                raise MemberError(mid, f"{where}.year", "a year, e.g. 2026")
            years[y] = Payment(paid_on)
        else:
            raise MemberError(mid, where, "needs `month` (YYYY-MM) or `year`")
    return months, years


_ASCII_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _date(mid, field, value) -> dt.date:
    if not isinstance(value, str):
        raise MemberError(mid, field, "required: a date YYYY-MM-DD")
    try:
        if ASCII_DATE.fullmatch(value):  # (fromisoformat also takes 2026-W10-4, 20260305 and ２０２６-…)
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise MemberError(mid, field, f"`{value}` is not a date YYYY-MM-DD")


def _month(mid, field, value) -> tuple:
    if isinstance(value, str) and _ASCII_MONTH.fullmatch(value) and 1 <= int(value[5:]) <= 12:
        return int(value[:4]), int(value[5:])
    raise MemberError(mid, field, f"`{value}` is not a month YYYY-MM")


def _money(mid, field, value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise MemberError(mid, field, "an amount (a decimal string)")
    if isinstance(value, str) and not ASCII_NUMBER.fullmatch(value.strip()):  # (Decimal also reads ８０００ and 8_000)
        raise MemberError(mid, field, f"`{value}` is not an amount written with the digits 0-9 (and a point)")
    try:
        d = CONVERTING.create_decimal(str(value).strip())
    except InvalidOperation:
        raise MemberError(mid, field, f"`{value}` is not an amount") from None
    except Overflow:  # 1e999999999: beyond the context's exponents, so beyond any amount
        d = Decimal("Infinity")
    if not d.is_finite() or d < 0 or d >= MAX_MONEY:
        raise MemberError(mid, field, f"`{value}` is not an amount ≥ 0 below 10^12")
    if d and d.normalize(CONVERTING).as_tuple().exponent < -15:  # the running balance could not keep its digits
        raise MemberError(mid, field, f"`{value}` has more than 15 decimal places")
    return d

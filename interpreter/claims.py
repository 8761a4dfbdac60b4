"""A claim (JSON object) -> validated facts the clauses select on.

Every field of the contract is checked; a bad one raises `ClaimError` naming the field,
which the engine turns into an error result. Money becomes `Decimal`, never a float.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from .errors import ClaimError
from .vocabulary import Vocabulary

_ZERO = Decimal(0)
_CENT = Decimal("0.01")


class Item:
    __slots__ = ("cls", "amount", "unit_price", "days", "kind")

    def __init__(self, cls: str, amount: Decimal, unit_price: Optional[Decimal], days: Optional[int], kind: str):
        self.cls = cls
        self.amount = amount
        self.unit_price = unit_price
        self.days = days
        self.kind = kind


class Facts:
    """What a claim says, in the vocabulary's terms. Plain data; read only after construction."""

    __slots__ = ("id", "person", "date", "ordinal", "year", "scheme", "benefit", "level", "grade", "type",
                 "status", "place", "disease_class", "groups", "events", "conditions", "flags", "measures",
                 "items", "referred_from", "wage", "raw", "_key")

    def single(self, dim: str) -> Optional[str]:
        return _SINGLE_GETTERS[dim](self)

    def multi(self, dim: str) -> frozenset:
        return _MULTI_GETTERS[dim](self)

    def key(self, measure_breaks: dict, date_breaks: tuple) -> tuple:
        """Claims with the same key match the same clauses: the cache key for resolved terms.
        Measures and dates enter only as the interval between the policy's bounds they fall in."""
        k = self._key
        if k is None:
            measures = self.measures
            buckets = tuple(
                None if measures.get(m) is None else bisect_right(bps, measures[m])
                for m, bps in measure_breaks.items()
            )
            k = self._key = (self.scheme, self.benefit, self.level, self.grade, self.type, self.status,
                             self.place, self.disease_class, self.groups, self.events, self.conditions,
                             self.flags, buckets, bisect_right(date_breaks, self.ordinal), self.referred_from)
        return k

    def replace(self, **changes: Any) -> "Facts":
        f = Facts.__new__(Facts)
        for name in Facts.__slots__:
            setattr(f, name, changes[name] if name in changes else getattr(self, name))
        f._key = None
        return f


_SINGLE_GETTERS = {
    "scheme": lambda f: f.scheme, "benefit": lambda f: f.benefit, "level": lambda f: f.level,
    "grade": lambda f: f.grade, "type": lambda f: f.type, "status": lambda f: f.status,
    "place": lambda f: f.place, "disease-class": lambda f: f.disease_class,
}
_MULTI_GETTERS = {
    "group": lambda f: f.groups, "event": lambda f: f.events, "condition": lambda f: f.conditions,
    "flag": lambda f: f.flags,
}


def money(value: Any, field: str) -> Decimal:
    """A non-negative decimal amount from a JSON string or number."""
    if value.__class__ is str or value.__class__ is Decimal:  # the common case, checked fast
        try:
            d = Decimal(value)
        except (InvalidOperation, ValueError):
            d = None
        if d is not None and d.is_finite() and d >= 0 and -15 <= d.adjusted() <= 15:
            return d
    if isinstance(value, bool) or value is None:
        raise ClaimError("bad-amount", f"{field} must be a decimal amount", field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ClaimError("bad-amount", f"{field} must be a finite amount, not {value}", field)
        value = repr(value)
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise ClaimError("bad-amount", f"{field} must be a decimal amount, not {value!r}", field) from None
    if not d.is_finite():
        raise ClaimError("bad-amount", f"{field} must be a finite amount, not {value!r}", field)
    if d < 0:
        raise ClaimError("bad-amount", f"{field} must not be negative ({value})", field)
    if abs(d.adjusted()) > 15 and d != 0:
        raise ClaimError("bad-amount", f"{field} is out of range ({value})", field)
    return d


def _whole(value: Any, field: str, lo: int = 0, hi: int = 10_000_000) -> int:
    if isinstance(value, bool):
        raise ClaimError("bad-value", f"{field} must be a whole number", field)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value.strip())
    # Compared before int(): a float or Decimal like 1e999999 must not become a huge int.
    if isinstance(value, (Decimal, float)) and not _is_nan_or_infinite(value) and lo <= value <= hi \
            and value == int(value):
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise ClaimError("bad-value", f"{field} must be a whole number from {lo} to {hi}, not {value!r}", field)
    return value


def _is_nan_or_infinite(value) -> bool:
    return not value.is_finite() if isinstance(value, Decimal) else not math.isfinite(value)


def _date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise ClaimError("bad-date", f"{field} must be a date YYYY-MM-DD", field)
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ClaimError("bad-date", f"{field} is not a date YYYY-MM-DD: {value!r}", field) from None


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ClaimError("bad-value", f"{field} must be true or false", field)
    return value


def _obj(value: Any, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ClaimError("bad-value", f"{field} must be an object", field)
    return value


class ClaimReader:
    """Validates claims against one policy's vocabulary."""

    def __init__(self, vocab: Vocabulary):
        self.allowed = {kind: frozenset(vocab.names_of(kind)) for kind in
                        ("scheme", "benefit", "level", "type", "status", "group", "place", "class", "event",
                         "condition", "bed-kind")}

    def _one(self, kind: str, value: Any, field: str) -> str:
        allowed = self.allowed[kind]
        if value is None:
            raise ClaimError("missing-field", f"the claim has no {field} (one of: {', '.join(sorted(allowed))})", field)
        if not isinstance(value, str) or value not in allowed:
            raise ClaimError("unknown-value", f"{field} {value!r} is not one of: {', '.join(sorted(allowed))}", field)
        return value

    def _many(self, kind: str, value: Any, field: str) -> frozenset:
        if value is None:
            return frozenset()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ClaimError("bad-value", f"{field} must be a list", field)
        return frozenset(self._one(kind, v, f"{field}[{i}]") for i, v in enumerate(value))

    def read(self, claim: Any) -> Facts:
        if not isinstance(claim, dict):
            raise ClaimError("bad-claim", "a claim must be a JSON object", None)
        f = Facts.__new__(Facts)
        f.raw = claim
        f._key = None
        cid = claim.get("id")
        if cid is None or cid == "":
            raise ClaimError("missing-field", "the claim has no id", "id")
        if not isinstance(cid, str):
            raise ClaimError("bad-value", "id must be a string", "id")
        f.id = cid
        person = _required(claim, "person")
        if not isinstance(person, str) or not person:
            raise ClaimError("bad-value", "person must be a non-empty string", "person")
        f.person = person
        date = _date(_required(claim, "date"), "date")
        f.date, f.ordinal, f.year = date, date.toordinal(), date.year
        f.scheme = self._one("scheme", _required(claim, "scheme"), "scheme")
        f.benefit = self._one("benefit", _required(claim, "benefit"), "benefit")
        if f.scheme == "employee":
            f.status = self._one("status", claim.get("status") or "employed", "status")
        else:
            if claim.get("status") not in (None, "employed", "retired"):
                self._one("status", claim.get("status"), "status")
            f.status = None
        facility = _obj(_required(claim, "facility"), "facility")
        f.level = self._one("level", facility.get("level"), "facility.level")
        grade = facility.get("grade")
        if grade is not None and grade not in ("A", "B"):
            raise ClaimError("unknown-value", f"facility.grade {grade!r} is not one of: A, B", "facility.grade")
        f.grade = f"grade-{grade}" if grade else None
        f.type = self._one("type", facility.get("type") or "hospital", "facility.type")
        f.place = self._one("place", claim.get("place") or "local", "place")
        f.groups = self._many("group", claim.get("groups"), "groups")
        f.conditions = self._many("condition", claim.get("conditions"), "conditions")
        events = claim.get("maternity")
        f.events = self._many("event", events, "maternity") if events is not None else frozenset()
        dc = claim.get("disease_class")
        if dc is not None:
            if str(dc) not in ("1", "2", "3") or isinstance(dc, bool):
                raise ClaimError("unknown-value", f"disease_class {dc!r} is not one of: 1, 2, 3", "disease_class")
            f.disease_class = f"class-{dc}"
        else:
            f.disease_class = None
        enrolment = _obj(claim.get("enrolment"), "enrolment")
        history = _obj(claim.get("history"), "history")
        flags = set()
        mode = enrolment.get("mode", "standard")
        if mode not in ("standard", "pooled-only"):
            raise ClaimError("unknown-value", f"enrolment.mode {mode!r} is not one of: standard, pooled-only", "enrolment.mode")
        flags.add("pooled-only" if mode == "pooled-only" else "standard-enrolment")
        for key, flag in (("late", "late"), ("supplement", "supplement"), ("flexible", "flexible")):
            if key in enrolment and _bool(enrolment[key], f"enrolment.{key}"):
                flags.add(flag)
        if "contracted" in claim and _bool(claim["contracted"], "contracted"):
            flags.add("contracted")
        if "private" in facility and _bool(facility["private"], "facility.private"):
            flags.add("private")
        if "outpatient_last_year" in history and not _bool(history["outpatient_last_year"], "history.outpatient_last_year"):
            flags.add("no-outpatient-last-year")
        f.flags = frozenset(flags)
        measures: dict[str, Optional[int]] = {}
        if claim.get("age") is not None:
            measures["age"] = _whole(claim["age"], "age", 0, 150)
        if claim.get("pregnancy_months") is not None:
            measures["pregnancy-months"] = _whole(claim["pregnancy_months"], "pregnancy_months", 0, 12)
        measures["babies"] = _whole(claim["babies"], "babies", 1, 12) if claim.get("babies") is not None else (1 if f.events else None)
        if claim.get("birth_order") is not None:
            measures["birth-order"] = _whole(claim["birth_order"], "birth_order", 1, 20)
        if facility.get("beds") is not None:
            measures["beds"] = _whole(facility["beds"], "facility.beds", 0, 1_000_000)
        measures["diseases"] = len(f.conditions) if f.conditions else None
        if history.get("chronic_diseases") is not None:
            measures["chronic-diseases"] = _whole(history["chronic_diseases"], "history.chronic_diseases", 0, 100)
        if enrolment.get("paid_on") is not None:
            paid = _date(enrolment["paid_on"], "enrolment.paid_on")
            measures["days-since-paid"] = (date - paid).days
        if enrolment.get("since") is not None:
            since = _date(enrolment["since"], "enrolment.since")
            measures["months-enrolled"] = (date.year - since.year) * 12 + date.month - since.month
        f.measures = measures
        ref = claim.get("referred_from")
        f.referred_from = self._one("level", ref, "referred_from") if ref is not None else None
        f.wage = money(claim["wage"], "wage") if claim.get("wage") is not None else None
        items = _required(claim, "items")
        if not isinstance(items, list):
            raise ClaimError("bad-value", "items must be a list", "items")
        f.items = tuple(self._item(it, i) for i, it in enumerate(items))
        return f

    def _item(self, it: Any, i: int) -> Item:
        # The common item, `{"class": "A", "amount": "8000.00"}`, checked fast; anything else
        # goes through the full checks below, which name the field.
        if it.__class__ is dict and len(it) == 2:
            cls, amount = it.get("class"), it.get("amount")
            if amount.__class__ in (str, Decimal) and cls.__class__ is str and cls in self.allowed["class"] and cls != "bed":
                try:
                    d = Decimal(amount)
                except (InvalidOperation, ValueError):
                    d = None
                if d is not None and d.is_finite() and d >= 0 and d.as_tuple().exponent >= -2 and d.adjusted() <= 15:
                    return Item(cls, d, None, None, "normal")
        field = f"items[{i}]"
        if not isinstance(it, dict):
            raise ClaimError("bad-value", f"{field} must be an object with class and amount", field)
        cls = self._one("class", it.get("class"), f"{field}.class")
        if "amount" not in it:
            raise ClaimError("missing-field", f"{field} has no amount", f"{field}.amount")
        amount = money(it["amount"], f"{field}.amount")
        if amount != amount.quantize(_CENT):
            # A bill is in yuan and fen; a smaller part would vanish from every amount shown.
            raise ClaimError("bad-amount", f"{field}.amount has a part smaller than a fen ({it['amount']})", f"{field}.amount")
        unit = money(it["unit_price"], f"{field}.unit_price") if it.get("unit_price") is not None else None
        days = _whole(it["days"], f"{field}.days", 0, 100_000) if it.get("days") is not None else None
        kind = self._one("bed-kind", it.get("kind") or "normal", f"{field}.kind") if cls == "bed" else "normal"
        return Item(cls, amount, unit, days, kind)


def _required(claim: dict, field: str) -> Any:
    if field not in claim or claim[field] is None:
        raise ClaimError("missing-field", f"the claim has no {field}", field)
    return claim[field]

"""A claim (JSON object) -> validated facts the clauses select on.

Every field is checked as the table in `claim_fields.py` says; a bad or unknown one raises
`ClaimError` naming the field, which the engine turns into an error result. Money becomes
`Decimal`, never a float.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
import unicodedata
from bisect import bisect_right
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from .claim_compiler import absent_values, compile_dated, compile_direct, compile_fed, compile_reader, fast_or_none
from .claim_fields import (ACCOUNT_FIELDS, CLAIM_FIELDS, ENROLMENT_FIELDS, FACILITY_FIELDS, HISTORY_FIELDS,
                           ITEM_FIELDS, Field, feeders, walk)
from .errors import ClaimError
from .vocabulary import Vocabulary

_ZERO = Decimal(0)
_CENT = Decimal("0.01")


class Item:
    """One line of the bill, from its checked fields in the item table's order (a bed's kind
    matters only for class bed)."""

    __slots__ = ("cls", "amount", "unit_price", "days", "kind")

    def __init__(self, cls: str, amount: Decimal, unit_price: Optional[Decimal], days: Optional[int], kind: str):
        self.cls = cls
        self.amount = amount
        self.unit_price = unit_price
        self.days = days
        self.kind = kind if cls == "bed" else "normal"


class Facts:
    """What a claim says, in the vocabulary's terms. Plain data; read only after construction."""

    __slots__ = ("id", "person", "date", "ordinal", "year", "scheme", "benefit", "level", "grade", "type",
                 "status", "place", "area", "disease_class", "groups", "events", "conditions", "flags", "measures",
                 "items", "referred_from", "wage", "account", "uncovered", "raw", "_key")

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
            if measures:
                buckets = tuple([None if measures.get(m) is None else bisect_right(bps, measures[m])
                                 for m, bps in measure_breaks.items()])
            else:  # most claims give no measure
                buckets = (None,) * len(measure_breaks)
            k = self._key = (self.scheme, self.benefit, self.level, self.grade, self.type, self.status,
                             self.place, self.disease_class, self.groups, self.events, self.conditions,
                             self.flags, buckets, bisect_right(date_breaks, self.ordinal) if date_breaks else 0,
                             self.referred_from,
                             self.area)
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
    "place": lambda f: f.place, "disease-class": lambda f: f.disease_class, "area": lambda f: f.area,
}
_MULTI_GETTERS = {
    "group": lambda f: f.groups, "event": lambda f: f.events, "condition": lambda f: f.conditions,
    "flag": lambda f: f.flags,
}


# ---- showing what a claim said, safely --------------------------------------------------

def shown(value: Any) -> str:
    """A claim's value as a message may show it: its repr, short, never raising (an int of
    5,000 digits cannot be printed) and printable (repr escapes a lone surrogate); a number
    JSON gave (a Decimal) as JSON wrote it, 70.5, not Decimal('70.5')."""
    try:
        text = str(value) if type(value) is Decimal else repr(value)
    except (ValueError, RecursionError):
        text = f"a number of about {int(value.bit_length() * 0.30103) + 1} digits" if isinstance(value, int) \
            else "a value too large to show"
    return text if len(text) <= 60 else text[:57] + "..."


def printable(text: str) -> str:
    """The text with any lone surrogate written as `\\udXXX`, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _plain(value: Any) -> str:
    """A value shown as written: strings without quotes, surrogates escaped."""
    if isinstance(value, str):
        text = printable(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return shown(value)


# ---- one check per type of field (claim_fields.TYPES) -----------------------------------

# A number as JSON or a bill writes it: ASCII digits, a point, an exponent. Decimal() alone
# would also take `８０００`, `٨٠٠٠` and `8_000`.
ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def money(value: Any, field: str) -> Decimal:
    """A non-negative decimal amount from a JSON string or number."""
    if value.__class__ is str and ASCII_NUMBER.fullmatch(value) or value.__class__ is Decimal:
        d = Decimal(value)  # the common case, checked fast
        if d.is_finite() and d >= 0 and -15 <= d.adjusted() <= 15:
            return d
    if isinstance(value, bool) or value is None:
        raise ClaimError("bad-amount", f"{field} must be a decimal amount", field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ClaimError("bad-amount", f"{field} must be a finite amount, not {value}", field)
        value = repr(value)
    if isinstance(value, str):
        d = _decimal_text(value, field)
    elif isinstance(value, (int, Decimal)):
        d = Decimal(value)  # exact, however long
    else:
        raise ClaimError("bad-amount", f"{field} must be a decimal amount, not {shown(value)}", field)
    if not d.is_finite():
        raise ClaimError("bad-amount", f"{field} must be a finite amount, not {shown(value)}", field)
    if d < 0:
        raise ClaimError("bad-amount", f"{field} must not be negative ({_plain(value)})", field)
    if abs(d.adjusted()) > 15 and d != 0:
        raise ClaimError("bad-amount", f"{field} is out of range ({_plain(value)})", field)
    return d


def _decimal_text(value: str, field: str) -> Decimal:
    text = value.strip()
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ClaimError("bad-amount", f"{field} must be a decimal amount, not {shown(value)}", field) from None
    if d.is_finite() and not ASCII_NUMBER.fullmatch(text):
        raise ClaimError("bad-amount", f"{field} must be written with the digits 0-9 (and a point), "
                                       f"not {shown(value)}", field)
    return d


def _whole(value: Any, field: str, lo: int, hi: int) -> int:  # the range: the field table's low and high
    if isinstance(value, bool):
        raise ClaimError("bad-value", f"{field} must be a whole number", field)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 12:
        value = int(value.strip())
    # Compared before int(): a float or Decimal like 1e999999 must not become a huge int.
    if isinstance(value, (Decimal, float)) and not _is_nan_or_infinite(value) and lo <= value <= hi \
            and value == int(value):
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise ClaimError("bad-value", f"{field} must be a whole number from {lo} to {hi}, not {shown(value)}", field)
    return value


def _is_nan_or_infinite(value) -> bool:
    return not value.is_finite() if isinstance(value, Decimal) else not math.isfinite(value)


def _date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise ClaimError("bad-date", f"{field} must be a date YYYY-MM-DD", field)
    try:
        if not ASCII_DATE.fullmatch(value):  # fromisoformat also takes 2026-W10-4 and 20260305
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ClaimError("bad-date", f"{field} is not a date YYYY-MM-DD: {shown(value)}", field) from None


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ClaimError("bad-value", f"{field} must be true or false", field)
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ClaimError("bad-value", f"{field} must be a string", field)
    if not value:
        raise ClaimError("bad-value", f"{field} must be a non-empty string", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate ("\ud83d") cannot be written out
        raise ClaimError("bad-value", f"{field} is not valid Unicode: a lone surrogate "
                                      f"U+{ord(value[e.start]):04X} at character {e.start + 1}", field) from None
    return value


def person_as_read(text: str) -> str:
    """A person's id as every part of the engine takes it: the same person written in another
    Unicode form or with a stray space is one person (NFC, no white space around)."""
    return unicodedata.normalize("NFC", text).strip()


def _person(value: Any, field: str) -> str:
    return _text(person_as_read(_text(value, field)), field)


def _choice(f: Field, value: Any, field: str) -> str:
    # A whole number is read as its digits (disease_class 2); a huge one is not printed.
    text = value if isinstance(value, str) else \
        str(value) if value.__class__ is Decimal or value.__class__ is int and -1000 < value < 1000 else None
    if text not in f.values:
        raise ClaimError("unknown-value", f"{field} {shown(value)} is not one of: {', '.join(f.values)}", field)
    return text


# The names of each table's fields, and the table's words fed from bools and whole numbers.
NAMES_OF = {id(fields): frozenset(f.name for f in fields)
            for fields in (CLAIM_FIELDS, FACILITY_FIELDS, ENROLMENT_FIELDS, HISTORY_FIELDS, ITEM_FIELDS,
                               ACCOUNT_FIELDS)}
CLAIM_FIELD_NAMES = NAMES_OF[id(CLAIM_FIELDS)]  # a claim's own fields (the columns a claims table may have)
FACILITY_FIELD_NAMES = NAMES_OF[id(FACILITY_FIELDS)]
FLAGS_FED = tuple((path, word.split()[1], f.flag_when) for path, f in walk() if f.type == "bool"
                  for word in f.feeds if word.startswith("flag "))
MEASURES_FED = tuple((path, word.split()[1]) for path, f in walk() if f.type == "whole"
                     for word in f.feeds if word.startswith("measure "))
# Keys as tuples, split once: these are read for every claim.
COUNTED = tuple((tuple(path.split(".")), word.split()[1], f.counts) for path, f in walk() if f.counts
                for word in f.feeds if word.startswith("measure "))
DATES_FED = tuple((tuple(path.split(".")), word.split()[1]) for path, f in walk() if f.type == "date"
                  for word in f.feeds if word.startswith("date "))
# The same, with each path split into its keys once (not once a claim).
_FLAG_KEYS = tuple((tuple(path.split(".")), flag, when) for path, flag, when in FLAGS_FED)
_MEASURE_KEYS = tuple((tuple(path.split(".")), measure) for path, measure in MEASURES_FED)
_FED = compile_fed(_FLAG_KEYS, _MEASURE_KEYS)
_DATED = compile_dated(DATES_FED, COUNTED)


class ClaimReader:
    """Validates claims against one policy's vocabulary, field by field as `CLAIM_FIELDS` says."""

    def __init__(self, vocab: Vocabulary):
        kinds = {f.kind for _, f in walk() if f.kind}
        self.allowed = {kind: frozenset(vocab.names_of(kind)) for kind in kinds}
        self.cohorts = {w.name: w for (k, _), w in vocab.words.items() if k == "cohort"}
        self._fast = None  # the table compiled for this vocabulary (claim_compiler.py), on first use
        self._direct = None  # the common claim straight to its facts (claim_compiler.compile_direct)

    def read(self, claim: Any) -> Facts:
        """The claim's facts; a ClaimError naming the first field at fault.

        The compiled readers check the common claim in straight-line code (a claim naming only
        the fields `facts_of` takes is read straight into its facts, any other through the
        values dict); when they are not sure of a value, the table-driven reader below reads
        the claim again and words the error. Both give the same facts for every claim the
        detailed reader accepts."""
        direct = self._direct
        if direct is None:
            direct = self._compile()
        facts = direct(claim)
        if facts is None:
            if not isinstance(claim, dict):
                raise ClaimError("bad-claim", "a claim must be a JSON object", None)
            facts = self._facts(claim, self._object(claim, CLAIM_FIELDS, ""))
        return facts

    def _compile(self):
        """The compiled readers (claim_compiler.py): `_fast` claim -> values, `_direct` claim ->
        facts, or None when unsure. A claim naming fields beyond DIRECT_FIELDS (or when the
        fields' absence feeds a measure) goes through the values."""
        fast = self._fast = compile_reader(self, item_of, _date)

        def through_values(claim: Any) -> Optional[Facts]:
            v = fast_or_none(fast, claim)
            return None if v is None else self._facts(claim, v)

        direct = through_values
        try:
            base = absent_values(self)  # what every field not given says: the direct reader's constants
            flags, measures = _fed(base)
            _DATED(base, dt.date(2000, 1, 1), measures)
            if not measures and _account(base["account"], "") is None:
                direct = compile_direct(self, DIRECT_FIELDS, UNREAD_FIELDS, facts_of, Item, flags, through_values, _date)
        except (ClaimError, TypeError, KeyError):  # a vocabulary refusing an absent field's default: no direct reader
            direct = through_values
        self._direct = direct
        return direct

    # ---- validation, driven by the table ----

    def _object(self, obj: dict, fields: tuple, prefix: str) -> dict:
        names = NAMES_OF[id(fields)]
        if not names.issuperset(obj):
            raise _unknown_field(next(k for k in obj if k not in names), names, prefix)
        return {f.name: self._value(f, obj.get(f.name), prefix + f.name) for f in fields}

    def _value(self, f: Field, value: Any, field: str) -> Any:
        if value is None or (value.__class__ is str and value == "" and f.default is not None):
            if f.default is not None:
                value = f.default
            elif f.required:
                listed = f" (one of: {', '.join(sorted(self.allowed[f.kind]))})" if f.kind else ""
                raise ClaimError("missing-field", f"the claim has no {field}{listed}", field)
            elif f.type == "object":
                value = {}
            else:
                return frozenset() if f.type == "names" else None
        t = f.type
        if t == "name":
            return self._one(f.kind, value, field)
        if t == "names":
            return self._many(f.kind, value, field)
        if t == "object":
            if not isinstance(value, dict):
                raise ClaimError("bad-value", f"{field} must be an object", field)
            return self._object(value, f.fields, field + ".")
        if t == "list":
            if not isinstance(value, list):
                raise ClaimError("bad-value", f"{field} must be a list", field)
            return tuple(self._item(it, i, f.fields, field) for i, it in enumerate(value))
        if t == "amount":
            amount = money(value, field)
            if f.fen and amount != amount.quantize(_CENT):
                # A bill is in yuan and fen; a smaller part would vanish from every amount shown.
                raise ClaimError("bad-amount", f"{field} has a part smaller than a fen ({_plain(value)})", field)
            return amount
        if t == "whole":
            return _whole(value, field, f.low, f.high)
        if t == "choice":
            return _choice(f, value, field)
        return _CHECKS[t](value, field)

    def _one(self, kind: str, value: Any, field: str) -> str:
        allowed = self.allowed[kind]
        if value is None:
            raise ClaimError("missing-field", f"the claim has no {field} (one of: {', '.join(sorted(allowed))})", field)
        if not isinstance(value, str) or value not in allowed:
            if isinstance(value, str) and value in self.cohorts:
                raise ClaimError("computed-value", f"{field} {shown(value)} is a cohort the policy computes from the "
                                                   f"claim's facts ({_condition(self.cohorts[value])}); a claim cannot "
                                                   f"assert it", field)
            if not allowed:  # (a policy without a scheme block, say: nothing to choose from)
                raise ClaimError("unknown-value", f"{field} {shown(value)}: the policy names no {kind}", field)
            raise ClaimError("unknown-value", f"{field} {shown(value)} is not one of: {', '.join(sorted(allowed))}", field)
        return value

    def _many(self, kind: str, value: Any, field: str) -> frozenset:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ClaimError("bad-value", f"{field} must be a list", field)
        return frozenset(self._one(kind, v, f"{field}[{i}]") for i, v in enumerate(value))

    def _item(self, it: Any, i: int, fields: tuple, field: str) -> Item:
        # The common item, `{"class": "A", "amount": "8000.00"}`, checked fast; anything else
        # goes through the table's checks, which name the field.
        if it.__class__ is dict and len(it) == 2:
            cls, amount = it.get("class"), it.get("amount")
            if amount.__class__ is str and cls.__class__ is str and cls in self.allowed["class"] and cls != "bed" \
                    and ASCII_NUMBER.fullmatch(amount):
                d = Decimal(amount)
                if d.is_finite() and d >= 0 and d.as_tuple().exponent >= -2 and d.adjusted() <= 15:
                    return Item(cls, d, None, None, "normal")
        field = f"{field}[{i}]"
        if not isinstance(it, dict):
            raise ClaimError("bad-value", f"{field} must be an object with class and amount", field)
        return item_of(self._object(it, fields, field + "."))

    # ---- the facts clauses select on ----

    def _facts(self, claim: dict, v: dict) -> Facts:
        facility = v["facility"]
        flags, measures = _fed(v)
        f = facts_of(claim, v["id"], v["person"], v["date"], v["scheme"], v["benefit"], v["place"], v["area"],
                     v["status"], facility["level"], facility["type"], facility["grade"], v["groups"],
                     v["conditions"], v["maternity"], v["disease_class"], v["referred_from"], v["wage"], v["items"],
                     flags, measures)
        _dated_facts(v, f.date, measures)
        f.account = _account(v["account"], f.person)
        return f


# The fields `facts_of` takes as they are, in its order (dotted paths): a claim naming no other
# field but UNREAD_FIELDS (checked, kept in the raw claim only) is read straight into its facts
# by the reader compiled from the table (claim_compiler.compile_direct).
DIRECT_FIELDS = ("id", "person", "date", "scheme", "benefit", "place", "area", "status", "facility.level",
                 "facility.type", "facility.grade", "groups", "conditions", "maternity", "disease_class",
                 "referred_from", "wage", "items")
UNREAD_FIELDS = ("region_code",)


def facts_of(claim: dict, cid: str, person: str, date: dt.date, scheme: str, benefit: str, place: str,
             area: Optional[str], status: Optional[str], level: str, type_: str, grade: Optional[str],
             groups: frozenset, conditions: frozenset, events: frozenset, disease_class: Optional[str],
             referred_from: Optional[str], wage: Optional[Decimal], items: tuple, flags: frozenset,
             measures: dict) -> Facts:
    """The facts of a claim from its checked values (DIRECT_FIELDS, then the flags and measures
    its other fields feed); no account, no dated facts (`_facts` adds them)."""
    f = Facts.__new__(Facts)
    f.raw = claim
    f._key = None
    f.id, f.person = cid, person
    f.date, f.ordinal, f.year = date, date.toordinal(), date.year
    f.scheme, f.benefit, f.place = scheme, benefit, place
    f.area = "within-region" if area is None and place == "local" else _area(place, area)  # _area's common case
    f.status = status if scheme == "employee" else None  # residents have no status
    f.level, f.type = level, type_
    f.grade = f"grade-{grade}" if grade else None
    f.groups, f.conditions, f.events = groups, conditions, events
    f.disease_class = f"class-{disease_class}" if disease_class else None
    f.flags = flags
    if events and "babies" not in measures:
        measures["babies"] = 1  # a birth without a count is one baby
    if conditions:
        measures["diseases"] = len(conditions)
    f.measures = measures
    f.referred_from = referred_from
    f.wage = wage
    f.account = None
    f.uncovered = None  # (reason, article, line) of a month without benefits (member_claims.py)
    f.items = items
    return f


def _fed(v: dict) -> tuple[frozenset, dict]:
    """The flags and measures the claim's bool and whole-number fields feed (claim_compiler's
    straight-line lookups), and the enrolment's flag."""
    flags, measures = _FED(v)
    flags.append("pooled-only" if v["enrolment"]["mode"] == "pooled-only" else "standard-enrolment")
    return frozenset(flags), measures


def _area(place: str, area: Optional[str]) -> Optional[str]:
    """A local claim is within the region; a remote one is not, and may say how far it went."""
    if place == "local":
        if area not in (None, "within-region"):
            raise ClaimError("bad-value", f"area {area} contradicts place local (care inside the region)", "area")
        return "within-region"
    if area == "within-region":
        raise ClaimError("bad-value", f"area within-region contradicts place {place} (care outside the region)", "area")
    return area


def _condition(word) -> str:
    """The claim fields a cohort's condition reads: `birth_date, work_start`."""
    words = [f"date {s.fact}" if hasattr(s, "fact") else f"measure {s.measure}"
             for s in word.condition if hasattr(s, "fact") or hasattr(s, "measure")]
    fields = dict.fromkeys(path for w in words for path in feeders(w))
    return "from " + ", ".join(fields) if fields else "from other facts"


def _dated_facts(v: dict, date: dt.date, measures: dict) -> None:
    """Dated facts as day numbers (clauses compare them with dates), and the age at the claim's
    date from the birth date, which a given age must agree with."""
    _DATED(v, date, measures)  # DATES_FED as day numbers, COUNTED as months or days (claim_compiler)
    born = v["birth_date"]
    if born is None:
        return
    age = date.year - born.year - ((date.month, date.day) < (born.month, born.day))
    if age < 0:
        raise ClaimError("bad-date", f"birth_date {born.isoformat()} is after the claim's date {date.isoformat()}",
                         "birth_date")
    if v["age"] is not None and v["age"] != age:
        raise ClaimError("bad-value", f"age {v['age']} contradicts birth_date {born.isoformat()}: the member is "
                                      f"{age} on the claim's date {date.isoformat()}", "age")
    measures["age"] = age


def _account(acct: dict, person: str) -> Optional[dict]:
    """The claim's account (None when it gives none); another member's needs the relation."""
    for given in acct.values():
        if given is not None:
            break
    else:
        return None
    owner = acct["owner"]
    if owner is not None and owner != person and acct["relation"] is None:
        raise ClaimError("missing-field", "a claim paid from another member's account (account.owner) needs "
                                          "account.relation (spouse, parent, child ...)", "account.relation")
    return acct


_CHECKS = {"text": _text, "person": _person, "date": _date, "bool": _bool}


def item_of(v: dict) -> Item:
    """An item from its checked values."""
    return Item(v["class"], v["amount"], v["unit_price"], v["days"], v["kind"])


def _unknown_field(key: Any, names: frozenset, prefix: str) -> ClaimError:
    name = _plain(key) if isinstance(key, str) else shown(key)
    field = prefix + name
    return ClaimError("unknown-field", f"unknown field {field} ({_field_hint(name, names, prefix)})", field)


@functools.lru_cache(maxsize=256)
def _field_hint(name: str, names: frozenset, prefix: str) -> str:
    # (a file's every claim may give the same unknown field: difflib was half of refusing each)
    close = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)
    return f"did you mean {prefix}{close[0]}?" if close else f"the fields here are: {', '.join(sorted(names))}"

"""The claim reader at the edges of each numeric field: the last value accepted and the first
refused, every JSON type a number may come as, and the exact error (code, field, message)."""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy.claim_fields import CLAIM_FIELDS

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")
GOOD = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
        "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


def settle(field: str, value) -> dict:
    c = copy.deepcopy(GOOD)
    if field == "amount":
        c["items"][0]["amount"] = value
    else:
        c[field] = value
    return SUIHUA.settle(c).to_json(trace=False)


def bad(field, code, message):
    return {"code": code, "message": message, "field": field}


@pytest.mark.parametrize("value, total", [
    (0, "0.00"), ("0", "0.00"), ("-0", "0.00"), ("0E-20", "0.00"), (12.5, "12.50"), (0.1, "0.10"), (100, "100.00"),
    (" 12.50 ", "12.50"), (Decimal("12.30"), "12.30"), ("1E+3", "1000.00"), (Decimal("1E+3"), "1000.00"),
    ("999999999999.99", "999999999999.99"), ("1e15", "1000000000000000.00"),
])
def test_amounts_accepted(value, total):
    assert settle("amount", value)["total"] == total


F = "items[0].amount"


@pytest.mark.parametrize("value, error", [
    ("1e16", bad(F, "bad-amount", "items[0].amount is out of range (1e16)")),
    (1e16, bad(F, "bad-amount", "items[0].amount is out of range (1e+16)")),
    (10 ** 16, bad(F, "bad-amount", "items[0].amount is out of range (10000000000000000)")),
    ("-0.01", bad(F, "bad-amount", "items[0].amount must not be negative (-0.01)")),
    (Decimal("-0.01"), bad(F, "bad-amount", "items[0].amount must not be negative (-0.01)")),
    (-1, bad(F, "bad-amount", "items[0].amount must not be negative (-1)")),
    (Decimal("NaN"), bad(F, "bad-amount", "items[0].amount must be a finite amount, not NaN")),
    (None, bad(F, "missing-field", "the claim has no items[0].amount")),
    (False, bad(F, "bad-amount", "items[0].amount must be a decimal amount")),
    ([1], bad(F, "bad-amount", "items[0].amount must be a decimal amount, not [1]")),
    ("0.001", bad(F, "bad-amount", "items[0].amount has a part smaller than a fen (0.001)")),
])
def test_amounts_refused(value, error):
    assert settle("amount", value)["error"] == error


@pytest.mark.parametrize("field, value", [
    ("age", 0), ("age", 150), ("age", "70"), ("age", " 70 "), ("age", 70.0), ("age", Decimal("70")),
    ("babies", 1), ("babies", 12), ("babies", "2"), ("pregnancy_months", 0), ("pregnancy_months", 10),
])
def test_whole_numbers_accepted(field, value):
    assert settle(field, value)["total"] == "1000.00"


@pytest.mark.parametrize("field, value, message", [
    ("age", 151, "age must be a whole number from 0 to 150, not 151"),
    ("age", -1, "age must be a whole number from 0 to 150, not -1"),
    ("age", True, "age must be a whole number"),
    ("age", Decimal("70.5"), "age must be a whole number from 0 to 150, not 70.5"),
    ("age", Decimal("Infinity"), "age must be a whole number from 0 to 150, not Infinity"),
    ("age", math.nan, "age must be a whole number from 0 to 150, not nan"),
    ("age", math.inf, "age must be a whole number from 0 to 150, not inf"),
    ("age", 1e300, "age must be a whole number from 0 to 150, not 1e+300"),
    ("age", "1" * 13, "age must be a whole number from 0 to 150, not '1111111111111'"),
    ("babies", 0, "babies must be a whole number from 1 to 12, not 0"),
    ("babies", 13, "babies must be a whole number from 1 to 12, not 13"),
    ("babies", False, "babies must be a whole number"),
])
def test_whole_numbers_refused(field, value, message):
    assert settle(field, value)["error"] == bad(field, "bad-value", message)


def test_the_age_read_is_the_age_used():
    # Ziyang 第十八条（二）2: a retiree of 70 or more gets 5 more points: level 3, 80 + 5 + 5 = 90%.
    # Deductible 800 − 200 = 600: (10,600 − 600) × 90% = 9,000.00; at 69: 85%: 8,500.00.
    ziyang = medpolicy.load(ROOT / "policies" / "ziyang.med")
    c = dict(GOOD, date="2026-03-05", items=[{"class": "A", "amount": "10600.00"}])
    paid = lambda age: ziyang.settle(dict(c, age=age), params={"avg_wage": "60000"}).to_json()["paid"]["basic"]
    assert [paid(" 70 "), paid(70.0), paid("69")] == ["9000.00", "9000.00", "8500.00"]


@pytest.mark.parametrize("field, value, expected", [
    ("amount", "1e-16", bad(F, "bad-amount", "items[0].amount is out of range (1e-16)")),
    ("amount", 1e15, "1000000000000000.00"),                 # a float at the largest size accepted
    ("age", 0.0, "1000.00"), ("age", 150.0, "1000.00"),      # floats at both ends of the range
    ("age", Decimal("0"), "1000.00"), ("age", Decimal("150"), "1000.00"),
    ("age", "111111111111", bad("age", "bad-value", "age must be a whole number from 0 to 150, not 111111111111")),
    ("age", Decimal("sNaN"), bad("age", "bad-value", "age must be a whole number from 0 to 150, not sNaN")),
])
def test_numbers_at_the_readers_own_edges(field, value, expected):
    r = settle(field, value)
    assert r.get("error", r.get("total")) == expected


# ---- how a message shows a value: whole up to 60 characters, cut to 57 and "..." beyond -----

def _with(key, value) -> dict:
    c = copy.deepcopy(GOOD)
    c[key] = value
    return SUIHUA.settle(c).to_json(trace=False)["error"]


FIELDS_HERE = ", ".join(sorted(f.name for f in CLAIM_FIELDS))  # every top-level field of the table


def test_an_unknown_field_name_of_60_characters_is_shown_whole_and_of_61_cut():
    assert _with("x" * 60, 1)["field"] == "x" * 60
    e = _with("y" * 61, 1)
    assert e["field"] == "y" * 57 + "..."
    assert e["message"] == f"unknown field {'y' * 57}... (the fields here are: {FIELDS_HERE})"


def test_an_unknown_key_that_is_not_a_string_is_named_by_its_value():
    assert _with(5, 1) == bad("5", "unknown-field", f"unknown field 5 (the fields here are: {FIELDS_HERE})")


@pytest.mark.parametrize("value, shown_as", [
    ("r" * 59, repr("r" * 59)),                       # 61 characters with its quotes: cut
    ("r" * 58, repr("r" * 58)),                       # exactly 60: whole
    (["s" * 70], "['" + "s" * 55 + "..."),
    (10 ** 5000, "a number of about 5001 digits"),    # repr refuses ints over 4,300 digits
], ids=["61-cut", "60-whole", "list-cut", "huge-int"])
def test_a_refused_value_is_shown_whole_up_to_60_characters(value, shown_as):
    if len(shown_as) > 60:
        shown_as = shown_as[:57] + "..."
    assert _with("status", value) == bad("status", "unknown-value", f"status {shown_as} is not one of: employed, retired")


def test_a_value_too_deep_to_show_is_said_so():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert _with("status", deep) == bad("status", "unknown-value",
                                        "status a value too large to show is not one of: employed, retired")

"""Every claim field of the contract is validated: a bad claim gets an error row naming the
claim's id, the field and what was wrong (with the allowed values), and never stops a run.
Hostile claims (anything JSON can hold) end in a result or such an error, nothing else."""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from med_strategies import ROOT, compiled_policies, hostile_claims, policy_params

SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")

GOOD = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
        "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


def _drop(*path):
    def change(c):
        target = c
        for p in path[:-1]:
            target = target[p]
        del target[path[-1]]
    return change


def _set(value, *path):
    def change(c):
        target = c
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return change


def _rename(*path):
    def change(c):
        target = c
        for p in path[:-2]:
            target = target[p]
        target[path[-1]] = target.pop(path[-2])
    return change


def _settle(change) -> dict:
    claim = copy.deepcopy(GOOD)
    change(claim)
    return SUIHUA.settle(claim).to_json()


CASES = [
    # missing
    ("no id", _drop("id"), "missing-field", "id", "the claim has no id"),
    ("no person", _drop("person"), "missing-field", "person", "the claim has no person"),
    ("no date", _drop("date"), "missing-field", "date", "the claim has no date"),
    ("no scheme", _drop("scheme"), "missing-field", "scheme", "the claim has no scheme (one of: employee, resident)"),
    ("no benefit", _drop("benefit"), "missing-field", "benefit",
     "the claim has no benefit (one of: chronic, day-surgery, family-bed, inpatient, maternity, outpatient, "
     "single-pay-drug, special, two-diseases)"),
    ("no facility", _drop("facility"), "missing-field", "facility", "the claim has no facility"),
    ("no level", _drop("facility", "level"), "missing-field", "facility.level",
     "the claim has no facility.level (one of: level1, level2, level3, primary)"),
    ("no items", _drop("items"), "missing-field", "items", "the claim has no items"),
    ("no amount", _drop("items", 0, "amount"), "missing-field", "items[0].amount", "the claim has no items[0].amount"),
    ("no class", _drop("items", 0, "class"), "missing-field", "items[0].class",
     "the claim has no items[0].class (one of: A, B, bed, excluded, herbal, material, partial)"),
    # unknown or misspelt fields, at any depth
    ("misspelt status", _rename("status", "stauts"), "unknown-field", "stauts",
     "unknown field stauts (did you mean status?)"),
    ("misspelt facility level", _rename("facility", "level", "levle"), "unknown-field", "facility.levle",
     "unknown field facility.levle (did you mean facility.level?)"),
    ("misspelt item class", _rename("items", 0, "class", "clas"), "unknown-field", "items[0].clas",
     "unknown field items[0].clas (did you mean items[0].class?)"),
    ("misspelt enrolment", _set({"lates": True}, "enrolment"), "unknown-field", "enrolment.lates",
     "unknown field enrolment.lates (did you mean enrolment.late?)"),
    ("unlike any field", _set({"zzz": 1}, "history"), "unknown-field", "history.zzz",
     "unknown field history.zzz (the fields here are: chronic_diseases, outpatient_last_year)"),
    # wrong type
    ("id a number", _set(7, "id"), "bad-value", "id", "id must be a string"),
    ("person empty", _set("", "person"), "bad-value", "person", "person must be a non-empty string"),
    ("date a number", _set(20260305, "date"), "bad-date", "date", "date must be a date YYYY-MM-DD"),
    ("facility a string", _set("level3", "facility"), "bad-value", "facility", "facility must be an object"),
    ("items an object", _set({"class": "A"}, "items"), "bad-value", "items", "items must be a list"),
    ("item a string", _set(["A 100"], "items"), "bad-value", "items[0]", "items[0] must be an object with class and amount"),
    ("groups a number", _set(5, "groups"), "bad-value", "groups", "groups must be a list"),
    ("private a string", _set("yes", "facility", "private"), "bad-value", "facility.private",
     "facility.private must be true or false"),
    ("history a string", _set("none", "history"), "bad-value", "history", "history must be an object"),
    ("age a word", _set("old", "age"), "bad-value", "age", "age must be a whole number from 0 to 150, not 'old'"),
    ("age a fraction", _set(70.5, "age"), "bad-value", "age", "age must be a whole number from 0 to 150, not 70.5"),
    ("age negative", _set(-3, "age"), "bad-value", "age", "age must be a whole number from 0 to 150, not -3"),
    ("babies zero", _set(0, "babies"), "bad-value", "babies", "babies must be a whole number from 1 to 12, not 0"),
    # unknown values, with the allowed ones
    ("scheme", _set("army", "scheme"), "unknown-value", "scheme", "scheme 'army' is not one of: employee, resident"),
    ("status", _set("dead", "status"), "unknown-value", "status", "status 'dead' is not one of: employed, retired"),
    ("level", _set("level9", "facility", "level"), "unknown-value", "facility.level",
     "facility.level 'level9' is not one of: level1, level2, level3, primary"),
    ("grade", _set("C", "facility", "grade"), "unknown-value", "facility.grade", "facility.grade 'C' is not one of: A, B"),
    ("place", _set("moon", "place"), "unknown-value", "place",
     "place 'moon' is not one of: local, remote-emergency, remote-referred, remote-resident, remote-self"),
    ("class", _set("C", "items", 0, "class"), "unknown-value", "items[0].class",
     "items[0].class 'C' is not one of: A, B, bed, excluded, herbal, material, partial"),
    ("group", _set(["rich"], "groups"), "unknown-value", "groups[0]",
     "groups[0] 'rich' is not one of: disabled, extreme-poverty, low-income, low-income-edge, orphan, "
     "relapse-poverty, severe-mental, veteran-worker"),
    ("disease class", _set(4, "disease_class"), "unknown-value", "disease_class", "disease_class 4 is not one of: 1, 2, 3"),
    ("referred from", _set("level9", "referred_from"), "unknown-value", "referred_from",
     "referred_from 'level9' is not one of: level1, level2, level3, primary"),
    ("enrolment mode", _set({"mode": "both"}, "enrolment"), "unknown-value", "enrolment.mode",
     "enrolment.mode 'both' is not one of: standard, pooled-only"),
    # amounts
    ("negative amount", _set("-1", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must not be negative (-1)"),
    ("non-numeric amount", _set("abc", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a decimal amount, not 'abc'"),
    ("NaN amount", _set("NaN", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a finite amount, not 'NaN'"),
    ("NaN float amount", _set(math.nan, "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a finite amount, not nan"),
    ("infinite amount", _set("Infinity", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a finite amount, not 'Infinity'"),
    ("infinite float amount", _set(math.inf, "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a finite amount, not inf"),
    ("boolean amount", _set(True, "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount must be a decimal amount"),
    ("huge amount", _set("1e30", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount is out of range (1e30)"),
    ("part of a fen", _set("10.005", "items", 0, "amount"), "bad-amount", "items[0].amount",
     "items[0].amount has a part smaller than a fen (10.005)"),
    ("negative wage", _set("-5", "wage"), "bad-amount", "wage", "wage must not be negative (-5)"),
    ("negative unit price", _set("-5", "items", 0, "unit_price"), "bad-amount", "items[0].unit_price",
     "items[0].unit_price must not be negative (-5)"),
    # dates
    ("30 February", _set("2026-02-30", "date"), "bad-date", "date", "date is not a date YYYY-MM-DD: '2026-02-30'"),
    ("month 13", _set("2026-13-01", "date"), "bad-date", "date", "date is not a date YYYY-MM-DD: '2026-13-01'"),
    ("slashes", _set("2026/03/05", "date"), "bad-date", "date", "date is not a date YYYY-MM-DD: '2026/03/05'"),
    ("a time too", _set("2026-03-05T10:00", "date"), "bad-date", "date",
     "date is not a date YYYY-MM-DD: '2026-03-05T10:00'"),
    ("enrolment since", _set({"since": "2026-02-29"}, "enrolment"), "bad-date", "enrolment.since",
     "enrolment.since is not a date YYYY-MM-DD: '2026-02-29'"),
    ("before the period", _set("2025-12-31", "date"), "outside-period", "date",
     "date 2025-12-31 is outside the policy's effective period 2026-01-01 to 2030-12-31"),
    ("after the period", _set("2031-01-01", "date"), "outside-period", "date",
     "date 2031-01-01 is outside the policy's effective period 2026-01-01 to 2030-12-31"),
]


@pytest.mark.parametrize("change, code, field, message", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_a_bad_field_is_named(change, code, field, message):
    row = _settle(change)
    assert row["error"] == {"code": code, "message": message, "field": field}
    json.dumps(row)


def test_the_row_names_the_claim():
    assert _settle(_set("moon", "place"))["id"] == "c1"
    # An id of the wrong type is echoed as text, so the row is still JSON and can be matched.
    assert _settle(_set(7, "id"))["id"] == "7"
    assert _settle(_set(Decimal("1.5"), "id"))["id"] == "1.5"
    assert SUIHUA.settle(["not", "a", "claim"]).to_json() == {
        "id": None, "error": {"code": "bad-claim", "message": "a claim must be a JSON object", "field": None}}


def test_a_good_claim_settles():
    row = SUIHUA.settle(GOOD).to_json()
    # 第二十一条（一）3: level 3, deductible 900, retired 87%.
    assert (row["eligible"], row["deductible"], row["paid"]["basic"], row["patient"]) == \
        ("1000.00", "900.00", "87.00", "913.00")


def test_duplicate_ids_in_a_run():
    other = dict(GOOD, person="p2")
    rows = [r.to_json() for r in SUIHUA.settle_all([GOOD, other, dict(GOOD, id="c2")])]
    assert "error" not in rows[0] and "error" not in rows[2]
    assert rows[1] == {"id": "c1", "error": {"code": "duplicate-id", "field": "id",
                                              "message": "claim id 'c1' appears more than once in this run"}}


def test_bad_claims_do_not_stop_a_run_and_keep_their_place():
    claims = [GOOD, {"id": "x"}, 42, dict(GOOD, id="c3", date="2026-02-30"), dict(GOOD, id="c4")]
    rows = [r.to_json() for r in SUIHUA.settle_all(claims)]
    assert [r.get("id") for r in rows] == ["c1", "x", None, "c3", "c4"]
    assert ["error" in r for r in rows] == [False, True, True, True, False]


def test_a_failed_claim_leaves_the_year_as_it_was():
    big = dict(GOOD, items=[{"class": "A", "amount": "10000.00"}])
    later = dict(GOOD, id="c9", date="2026-06-01", items=[{"class": "A", "amount": "1000.00"}])
    alone = SUIHUA.settle_all([big, later])[1].to_json()
    bad = dict(GOOD, id="bad", date="2026-04-01", items=[{"class": "A", "amount": "-5"}])
    assert SUIHUA.settle_all([big, bad, later])[2].to_json() == alone


# ---- hostile claims on every shipped policy --------------------------------------------

HOSTILE = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("policy", [pytest.param(p, id=n) for n, p, _ in compiled_policies() if p is not None])
@HOSTILE
@given(data=st.data())
def test_hostile_claims_end_in_a_result_or_a_clear_error(policy, data):
    claims = [data.draw(hostile_claims(policy)) for _ in range(3)]
    params = policy_params(policy)
    rows = [r.to_json() for r in policy.settle_all(claims, params=params)]
    assert len(rows) == len(claims)
    for claim, row in zip(claims, rows):
        json.dumps(row, ensure_ascii=False, allow_nan=False).encode("utf-8")  # no lone surrogate in a row
        if "error" in row:
            e = row["error"]
            assert e["code"] != "internal", (claim, e)
            assert e["message"] and isinstance(e["message"], str)
            assert e["field"] is None or isinstance(e["field"], str)
    for claim in claims:
        json.dumps(policy.settle(claim, params=params).to_json(), ensure_ascii=False, allow_nan=False)


def test_a_policy_that_names_no_scheme_says_so_rather_than_an_empty_list():
    # An empty policy file said "scheme 'employee' is not one of: " (nothing after the colon).
    empty = medpolicy.compile("", "empty.med")
    row = empty.settle({"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "benefit": "inpatient",
                        "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "100"}]}).to_json()
    assert row["error"] == {"code": "unknown-value", "message": "scheme 'employee': the policy names no scheme",
                            "field": "scheme"}

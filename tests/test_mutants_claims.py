"""The claim reader (claims.py, claim_fields.py) where the mutation run found it untested: the
fast paths for the common item and the common amount (taken, and giving what the table's
checks give), the errors of items that are not objects, a lone surrogate's error code, the
fields a cohort is computed from, a changed fact's signature, and the measures and dated
facts the claim fields feed. Every message and value is written out in full."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy import claims
from medpolicy.claim_fields import CLAIM_FIELDS, ITEM_FIELDS, date_fields, measure_fields, walk
from medpolicy.claims import ClaimReader, item_of
from medpolicy.schema import claim_schema

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")
CLASSES = "A, B, bed, excluded, herbal, material, partial"


def claim(**changes) -> dict:
    c = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "benefit": "inpatient",
         "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}
    c.update(changes)
    return c


def error(policy, c: dict):
    [r] = policy.settle_all([c])
    return r.to_json(trace=False).get("error")


def item(x) -> tuple:
    return x.cls, str(x.amount), x.unit_price, x.days, x.kind


# ---- the common item: read without the table, to the same values ----------------------------

# Each at an edge of the fast check: zero, a part of a yuan, one fen (exponent -2), the largest
# amount (10^15, adjusted exponent 15), with fen written out.
COMMON_ITEMS = [
    ({"class": "A", "amount": "8000.00"}, ("A", "8000.00", None, None, "normal")),
    ({"class": "B", "amount": "0"}, ("B", "0", None, None, "normal")),
    ({"amount": "0.50", "class": "herbal"}, ("herbal", "0.50", None, None, "normal")),
    ({"class": "A", "amount": "0.01"}, ("A", "0.01", None, None, "normal")),
    ({"class": "excluded", "amount": "1000000000000000.00"}, ("excluded", "1000000000000000.00", None, None,
                                                                "normal")),
]


def test_the_common_item_is_read_without_the_table(monkeypatch):
    reader = ClaimReader(SUIHUA.compiled.vocabulary)
    by_table = [item(item_of(reader._object(it, ITEM_FIELDS, f"items[{i}]."))) for i, (it, _) in
                enumerate(COMMON_ITEMS)]
    assert by_table == [want for _, want in COMMON_ITEMS]

    def table(*args):
        raise AssertionError(f"the common item {args[0]} went through the table's checks")

    monkeypatch.setattr(reader, "_object", table)
    assert [item(reader._item(it, i, ITEM_FIELDS, "items")) for i, (it, _) in enumerate(COMMON_ITEMS)] == by_table


def test_the_common_claim_is_read_by_the_compiled_reader(monkeypatch):
    reader = ClaimReader(SUIHUA.compiled.vocabulary)
    reader.read(claim())  # compiled on first use (compiling reads the defaults through the table)

    def table(*args):
        raise AssertionError("the common claim went through the table's checks")

    monkeypatch.setattr(reader, "_object", table)
    for _ in range(2):
        facts = reader.read(claim())
        assert (facts.id, facts.person, facts.scheme, facts.benefit, facts.level, [item(i) for i in facts.items]) == \
            ("c1", "p1", "employee", "inpatient", "level3", [("A", "1000.00", None, None, "normal")])


def test_a_bed_item_reads_as_an_ordinary_bed():
    reader = ClaimReader(SUIHUA.compiled.vocabulary)
    assert item(reader._item({"class": "bed", "amount": "120.00"}, 0, ITEM_FIELDS, "items")) == \
        ("bed", "120.00", None, None, "normal")
    assert item(reader._item({"class": "bed", "amount": "120.00", "kind": "isolation", "days": 3}, 0, ITEM_FIELDS,
                             "items")) == ("bed", "120.00", None, 3, "isolation")


@pytest.mark.parametrize("bad, want", [
    (["A", "1000.00"], {"code": "bad-value", "field": "items[0]",
                        "message": "items[0] must be an object with class and amount"}),
    ("ab", {"code": "bad-value", "field": "items[0]", "message": "items[0] must be an object with class and amount"}),
    ({"class": ["A"], "amount": "1"}, {"code": "unknown-value", "field": "items[0].class",
                                       "message": f"items[0].class ['A'] is not one of: {CLASSES}"}),
    ({"class": {"A": 1}, "amount": "1"}, {"code": "unknown-value", "field": "items[0].class",
                                          "message": f"items[0].class {{'A': 1}} is not one of: {CLASSES}"}),
])
def test_an_item_of_two_that_is_not_the_common_one_gets_its_error(bad, want):
    assert error(SUIHUA, claim(items=[bad])) == want


# ---- the common amount: read without the text checks, to the same value ----------------------

@pytest.mark.parametrize("value, text", [
    ("8000.00", "8000.00"), ("0", "0"), ("0.5", "0.5"), ("1", "1"),
    ("1000000000000000", "1000000000000000"),    # adjusted exponent 15, the largest
    ("0.000000000000001", "1E-15"),              # adjusted exponent -15, the smallest
    (Decimal("2000.5"), "2000.5"),
])
def test_the_common_amount_is_read_without_the_text_checks(monkeypatch, value, text):
    def checks(*args):
        raise AssertionError(f"{value!r} went through the detailed text checks")

    monkeypatch.setattr(claims, "_decimal_text", checks)
    assert str(claims.money(value, "wage")) == text


@pytest.mark.parametrize("value, message", [
    ("1E+16", "wage is out of range (1E+16)"),
    ("1E-16", "wage is out of range (1E-16)"),
    ("-0.01", "wage must not be negative (-0.01)"),
])
def test_an_amount_outside_the_common_one_is_refused(value, message):
    with pytest.raises(medpolicy.errors.ClaimError) as e:
        claims.money(value, "wage")
    assert (e.value.code, str(e.value.message), e.value.field) == ("bad-amount", message, "wage")


# ---- texts, cohorts, signatures --------------------------------------------------------------

def test_a_lone_surrogate_is_a_bad_value_naming_its_place():
    assert error(SUIHUA, claim(id="\ud83d")) == {
        "code": "bad-value", "field": "id",
        "message": "id is not valid Unicode: a lone surrogate U+D83D at character 1"}
    assert error(SUIHUA, claim(person="ab\ud83d")) == {
        "code": "bad-value", "field": "person",
        "message": "person is not valid Unicode: a lone surrogate U+D83D at character 3"}


COHORTS = """policy "t" effective 2026-01-01 to 2030-12-31
use standard
define cohort "c"
  senior "aged" when age >= 60 retired-on <= 2000-12-31 beds >= 100
  latecomer "late" when late
scheme employee
  inpatient deductible 0 rate 80%
    senior rate 90%
    exception latecomer rate 70%
"""


def test_a_cohort_a_claim_asserts_names_the_fields_it_is_computed_from():
    p = medpolicy.compile(COHORTS, "t.med")
    # a measure (age: from age or birth_date), a dated fact and a facility's measure, in order
    assert error(p, claim(groups=["senior"])) == {
        "code": "computed-value", "field": "groups[0]",
        "message": "groups[0] 'senior' is a cohort the policy computes from the claim's facts (from age, birth_date, "
                   "retired_on, facility.beds); a claim cannot assert it"}
    # a flag only: no measure or date field to name
    assert error(p, claim(groups=["latecomer"])) == {
        "code": "computed-value", "field": "groups[0]",
        "message": "groups[0] 'latecomer' is a cohort the policy computes from the claim's facts (from other facts); "
                   "a claim cannot assert it"}


def test_a_changed_fact_changes_the_signature():
    c = SUIHUA.compiled
    facts = ClaimReader(c.vocabulary).read(claim())
    key = facts.key(c.measure_breaks, c.date_breaks)
    assert key[:3] == ("employee", "inpatient", "level3")
    other = facts.replace(benefit="outpatient")
    assert other.key(c.measure_breaks, c.date_breaks) == key[:1] + ("outpatient",) + key[2:]
    assert facts.key(c.measure_breaks, c.date_breaks) == key


def test_the_measures_and_dated_facts_claim_fields_feed():
    # med check --strict fills these fields to reach each measure and date bound (strict.py)
    assert measure_fields() == {
        "beds": ("facility", "beds"), "break-months": ("enrolment", "break_months"),
        "chronic-diseases": ("history", "chronic_diseases"), "age": ("age",),
        "pregnancy-months": ("pregnancy_months",), "babies": ("babies",), "birth-order": ("birth_order",)}
    assert date_fields() == {"birth-date": ("birth_date",), "work-start": ("work_start",),
                             "retired-on": ("retired_on",)}


def test_every_claim_field_is_described_in_the_schema():
    schema = claim_schema()
    assert schema["properties"]["id"]["description"] == "the claim's id, unique in a run"
    assert schema["properties"]["facility"]["properties"]["level"]["description"] == \
        "the facility's level (医疗机构级别)"
    assert schema["properties"]["items"]["items"]["properties"]["amount"]["description"] == "the item's cost in yuan"
    assert [path for path, f in walk() if not (isinstance(f.doc, str) and f.doc.strip())] == []


# ---- the claim's facts: area, status, enrolment, babies, birth date, account, item kind ---------

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def settle(body: str, c: dict):
    return medpolicy.compile(HEAD + body, "t.med").settle(c).to_json(trace=False)


AREAS = "scheme employee\n  outpatient deductible 0\n    local within-region rate 60%\n    remote-self rate 40%\n"


@pytest.mark.parametrize("changes, want", [
    # A local claim is within the region: the clause naming within-region pays 60%.
    ({}, {"paid": {"basic": "600.00"}}),
    ({"place": "remote-self"}, {"paid": {"basic": "400.00"}}),
    ({"area": "in-province"}, {"error": {
        "code": "bad-value", "field": "area",
        "message": "area in-province contradicts place local (care inside the region)"}}),
    ({"place": "remote-self", "area": "within-region"}, {"error": {
        "code": "bad-value", "field": "area",
        "message": "area within-region contradicts place remote-self (care outside the region)"}}),
])
def test_the_area_of_local_and_remote_care(changes, want):
    r = settle(AREAS, claim(benefit="outpatient", **changes))
    assert {k: r[k] for k in want} == want


def test_a_remote_claim_without_an_area_is_not_within_the_region():
    # `within-region` raises the rate to 60%: a local claim is within the region (600.00); a
    # remote one that says nothing of its area is not, and keeps 50% (500.00).
    body = "scheme employee\n  outpatient deductible 0 rate 50%\n    within-region rate 60%\n"
    assert settle(body, claim(benefit="outpatient"))["paid"] == {"basic": "600.00"}
    assert settle(body, claim(benefit="outpatient", place="remote-self"))["paid"] == {"basic": "500.00"}


def test_an_empty_text_for_a_field_with_a_default_is_the_default():
    # `"place": ""` is the default place, local: within the region, 60% — whether the claim is read
    # by the compiled reader or by the table's checks (a claim it is not sure of).
    assert settle(AREAS, claim(benefit="outpatient", place=""))["paid"] == {"basic": "600.00"}
    reader = ClaimReader(SUIHUA.compiled.vocabulary)
    v = reader._object(claim(place="", benefit="outpatient"), CLAIM_FIELDS, "")
    assert (v["place"], v["benefit"]) == ("local", "outpatient")


def test_a_null_among_a_claims_names_is_a_missing_field_naming_its_place():
    r = settle(AREAS, claim(benefit="outpatient", conditions=["diabetes", None]))
    assert r["error"] == {"code": "missing-field", "field": "conditions[1]",
                          "message": "the claim has no conditions[1] (one of: aids, diabetes, hypertension)"}


def test_a_residents_claim_has_no_status():
    # Only members of 60 and over have a rate: a resident of 30 gets none, and the message names
    # the level and the place, and no status (residents have none; an employee's is "employed").
    r = settle("scheme resident\n  outpatient deductible 0\n    age >= 60 rate 85%\n",
               claim(scheme="resident", benefit="outpatient", facility={"level": "level1"}, age=30))
    assert r["error"] == {"code": "no-clause", "field": None,
                          "message": "no clause gives a rate for this outpatient claim (level1, local)"}


def test_a_claim_without_an_enrolment_mode_is_a_standard_enrolment():
    body = "scheme employee\n  outpatient deductible 0\n    standard-enrolment rate 60%\n    pooled-only rate 30%\n"
    assert settle(body, claim(benefit="outpatient"))["paid"] == {"basic": "600.00"}


def test_a_birth_without_a_count_of_babies_is_one_baby():
    body = ("scheme employee\n  maternity deductible 0\n    babies < 2 rate 80%\n    babies >= 2 rate 90%\n")
    assert settle(body, claim(benefit="maternity", maternity=["delivery"]))["paid"] == {"basic": "800.00"}
    assert settle(body, claim(benefit="maternity", maternity=["delivery"], babies=2))["paid"] == {"basic": "900.00"}


@pytest.mark.parametrize("born, want", [
    ("2026-03-05", {"paid": {"basic": "500.00"}}),   # born on the claim's date: aged 0
    ("2025-03-06", {"paid": {"basic": "500.00"}}),   # a day short of a year: still 0
    ("2026-03-06", {"error": {"code": "bad-date", "field": "birth_date",
                              "message": "birth_date 2026-03-06 is after the claim's date 2026-03-05"}}),
])
def test_a_newborn_is_aged_zero_and_a_birth_after_the_claim_is_refused(born, want):
    body = "scheme employee\n  outpatient deductible 0\n    age < 1 rate 50%\n    age >= 1 rate 70%\n"
    r = settle(body, claim(benefit="outpatient", birth_date=born))
    assert {k: r[k] for k in want} == want


def test_the_members_own_account_needs_no_relation_and_another_members_does():
    body = "scheme employee\n  outpatient deductible 0 rate 50%\n"
    own = settle(body, claim(benefit="outpatient", person="p1", account={"owner": "p1"}))
    assert (own.get("error"), own["paid"]) == (None, {"basic": "500.00"})
    other = settle(body, claim(benefit="outpatient", person="p1", account={"owner": "p2"}))
    assert other["error"] == {"code": "missing-field", "field": "account.relation",
                              "message": "a claim paid from another member's account (account.owner) needs "
                                         "account.relation (spouse, parent, child ...)"}


def test_a_claim_without_an_account_is_paid_in_cash_with_no_account_step():
    r = medpolicy.compile(HEAD + "scheme employee\n  outpatient deductible 0 rate 50%\n", "t.med").settle(
        claim(benefit="outpatient")).to_json()
    assert (r["account"], r["cash"]) == ("0.00", "500.00")
    assert [s["step"] for s in r["trace"]] == ["total", "eligible", "deductible", "rate", "basic", "patient"]


def test_a_bed_kind_given_on_another_class_is_ignored():
    # Isolation beds pre-pay 10%; a class A item that says `kind: isolation` is no bed: no pre-payment.
    body = "scheme employee\n  outpatient deductible 0 rate 50%\n  isolation prepay 10%\n"
    r = settle(body, claim(benefit="outpatient", items=[{"class": "A", "amount": "1000.00", "kind": "isolation"}]))
    assert (r["prepay"], r["paid"]) == ("0.00", {"basic": "500.00"})

"""Facts of a claim (issue 9): dated facts and cohorts, `and` over several-valued kinds, the area
of care, and every defined name fed by a claim field or refused. Amounts worked out by hand in
the comment beside each; positions are the policy text's."""

from __future__ import annotations

from pathlib import Path

import pytest

import medpolicy
from medpolicy import nhsa
from medpolicy.strict import strict_findings

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'

COHORTS = HEAD + """define cohort "人员分类"
  middle-1 中人一档 "born by 1955 and working by 2000" when birth-date <= 1955-12-31 work-start <= 2000-12-31
  old 老人 "retired by 2000" when retired-on <= 2000-12-31
scheme employee
  inpatient deductible 0 rate 80%
    middle-1 rate 90%
    exception old rate 95%
    age >= 75 rate + 5 points
"""


def compile_(text: str):
    return medpolicy.compile(text, "t.med")


def errors(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(medpolicy.MedError) as e:
        compile_(text)
    return [(d.span.line, d.span.column, d.message) for d in e.value.diagnostics]


def claim(cid="c1", person="p", date="2026-03-05", **extra):
    c = {"id": cid, "person": person, "date": date, "scheme": "employee", "benefit": "inpatient",
         "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}
    c.update(extra)
    return c


def settle(p, *claims, **params):
    return [r.to_json(trace=False) for r in p.settle_all(list(claims), params=params)]


# ---- dated facts and cohorts -------------------------------------------------------------------

def test_a_cohort_is_computed_from_the_dated_facts():
    p = compile_(COHORTS)
    r = settle(p,
               # born 1955-12-31, working since 2000-12-31: 中人一档, 90% of 1,000 = 900.00
               claim("a", "pa", birth_date="1955-12-31", work_start="2000-12-31"),
               # born a day later: not in it, and 70 on 2026-03-05: 80% = 800.00
               claim("b", "pb", birth_date="1956-01-01", work_start="2000-12-31"),
               # working from 2001-01-01: not in it (both facts must hold); 76: 80% + 5 points = 850.00
               claim("c", "pc", birth_date="1950-01-01", work_start="2001-01-01"),
               # retired on 2000-12-31: 老人, the exception's 95% = 950.00
               claim("d", "pd", retired_on="2000-12-31"),
               # no dated facts at all: no cohort, 800.00
               claim("e", "pe"))
    assert [x["paid"]["basic"] for x in r] == ["900.00", "800.00", "850.00", "950.00", "800.00"]


def test_age_is_computed_from_the_birth_date_at_the_claims_date():
    p = compile_(COHORTS)
    # born 1951-03-05: 75 on 2026-03-05 (the birthday counts), 80% + 5 = 850.00; 74 the day before: 800.00
    r = settle(p, claim("a", "pa", birth_date="1951-03-05"),
               claim("b", "pb", date="2026-03-04", birth_date="1951-03-05"),
               claim("c", "pc", birth_date="1951-03-05", age=75))
    assert [x["paid"]["basic"] for x in r] == ["850.00", "800.00", "850.00"]


def test_a_given_age_that_contradicts_the_birth_date_is_an_error_naming_age():
    [r] = settle(compile_(COHORTS), claim(birth_date="1951-03-05", age=70))
    assert r["error"] == {"code": "bad-value", "field": "age", "message":
                          "age 70 contradicts birth_date 1951-03-05: the member is 75 on the claim's date 2026-03-05"}
    [r] = settle(compile_(COHORTS), claim(birth_date="2026-03-06"))
    assert r["error"]["field"] == "birth_date" and r["error"]["code"] == "bad-date"


def test_a_claim_cannot_assert_a_cohort():
    [r] = settle(compile_(COHORTS), claim(groups=["middle-1"]))
    assert r["error"] == {"code": "computed-value", "field": "groups[0]", "message":
                          "groups[0] 'middle-1' is a cohort the policy computes from the claim's facts (from "
                          "birth_date, work_start); a claim cannot assert it"}


def test_dated_facts_in_chinese_and_with_the_other_comparisons():
    p = compile_(HEAD + """define cohort "人员分类"
  新人 "joined after 2000" 条件 参加工作时间 > 2000-12-31
scheme employee
  inpatient deductible 0 rate 80%
    新人 rate 70%
""")
    r = settle(p, claim("a", "pa", work_start="2001-01-01"), claim("b", "pb", work_start="2000-12-31"))
    assert [x["paid"]["basic"] for x in r] == ["700.00", "800.00"]


def test_dated_facts_and_cohorts_are_checked_where_they_are_written():
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    birth-date >= 60 deductible 100\n") == [
        (5, 5, "`birth-date` is a date: compare it with a date (`birth-date <= 1955-12-31`)")]
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    age <= 1955-12-31 deductible 100\n") == [
        (5, 5, "`age` is a measure: compare it with a number, not a date")]
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    birth-dat <= 1955-12-31 deductible 100\n") == [
        (5, 5, "unknown date name `birth-dat`")]
    assert errors(HEAD + 'define cohort "c"\n  old "x"\n') == [
        (4, 3, "a cohort is defined by a condition: `old when birth-date <= 1955-12-31`")]
    assert errors(HEAD + 'define group "g"\n  old "x" when retired-on <= 2000-12-31\n') == [
        (4, 3, "only a cohort takes a condition (`when`); a group is given by the claim")]
    assert errors(COHORTS + "    not old cap 100 yearly\n") == [
        (11, 5, "`not old`: a cohort cannot be negated (its condition is several facts); define the other "
                "cohort and name it")]
    assert errors(HEAD + 'define cohort "c"\n  a "x" when b\n  b "y" when a\nscheme employee\n'
                  '  inpatient rate 80%\n    a deductible 100\n') == [
        (5, 14, "cohort `a` is defined by itself")]


# ---- every defined name fed by a claim field, or refused ------------------------------------

def test_a_name_no_claim_field_feeds_is_an_error_at_its_definition():
    diags = errors(HEAD + 'define measure "m"\n  birth-year 出生年 "x"\ndefine flag "f"\n  civil-servant "x"\n'
                          'define grade "g"\n  grade-C "x"\nscheme employee\n  inpatient rate 80%\n')
    assert diags == [
        (4, 3, "nothing feeds measure `birth-year`: no claim field gives it, so a clause on it would never match"),
        (6, 3, "nothing feeds flag `civil-servant`: no claim field gives it, so a clause on it would never match"),
        (8, 3, "nothing feeds grade `grade-C`: the claim's field gives only grade-A, grade-B")]
    with pytest.raises(medpolicy.MedError) as e:
        compile_(HEAD + 'define measure "m"\n  birth-year "x"\nscheme employee\n  inpatient rate 80%\n')
    hint = e.value.diagnostics[0].hint
    assert hint.startswith("the measures a claim gives: age (age, birth_date), babies (babies), beds (facility.beds)")
    assert "filing-month (filed_on)" in hint and "months-since-resumed (enrolment.resumed_on)" in hint


def test_every_standard_name_is_fed():
    compile_(HEAD + "scheme employee\n  inpatient rate 80%\n")  # no error: the standard library is fed


def test_an_unknown_nested_claim_field_is_named_with_a_did_you_mean():
    [r] = settle(compile_(COHORTS), claim(enrolment={"resumed_onn": "2026-01-01"}))
    assert r["error"] == {"code": "unknown-field", "field": "enrolment.resumed_onn",
                          "message": "unknown field enrolment.resumed_onn (did you mean enrolment.resumed_on?)"}


def test_counted_facts_months_and_the_filing_month():
    p = compile_(HEAD + """scheme employee
  inpatient deductible 0 rate 80%
    filing-month >= 19 not-covered
    break-months >= 3 months-since-resumed < 2 not-covered
""")
    r = settle(p,
               # a 2026 stay filed 2027-06-30 (month 18): 800.00; filed 2027-07-01 (month 19): 0.00
               claim("a", "pa", filed_on="2027-06-30"), claim("b", "pb", filed_on="2027-07-01"),
               # resumed in January after a 3-month break; March is the 3rd month: paid; February is not
               claim("c", "pc", enrolment={"break_months": 3, "resumed_on": "2026-01-31"}),
               claim("d", "pd", date="2026-02-28", enrolment={"break_months": 3, "resumed_on": "2026-01-31"}))
    assert [x["paid"]["basic"] for x in r] == ["800.00", "0.00", "800.00", "0.00"]


# ---- `and`: all of several names of one kind ---------------------------------------------------

TWO = HEAD + """scheme resident
  two-diseases deductible none rate 50%
    hypertension cap 400 yearly
    diabetes cap 600 yearly
    exception hypertension and diabetes cap 1000 yearly
"""


def test_and_needs_every_name():
    p = compile_(TWO)
    base = {"person": "p", "date": "2026-03-05", "scheme": "resident", "benefit": "two-diseases",
            "facility": {"level": "level1"}, "items": [{"class": "A", "amount": "3000.00"}]}
    r = settle(p, dict(base, id="a", person="pa", conditions=["hypertension", "diabetes"]),
               dict(base, id="b", person="pb", conditions=["diabetes", "aids"]),
               dict(base, id="c", person="pc", conditions=["hypertension", "aids"]),
               dict(base, id="d", person="pd", conditions=["hypertension", "diabetes", "aids"]))
    # 3,000 x 50% = 1,500, capped: both 1,000; diabetes 600; hypertension 400; all three 1,000
    assert [x["paid"]["basic"] for x in r] == ["1000.00", "600.00", "400.00", "1000.00"]


def test_and_joins_names_of_one_several_valued_kind():
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    level2 and level3 deductible 100\n") == [
        (5, 5, "`and` joins names of one kind a claim may have several of (group, event, condition, flag), "
               "not level")]
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    orphan and diabetes deductible 100\n") == [
        (5, 5, "`and` joins names of one kind a claim may have several of (group, event, condition, flag), "
               "not condition and group")]


def test_and_in_chinese():
    p = compile_(TWO.replace("hypertension and diabetes", "高血压 和 糖尿病"))
    base = {"id": "a", "person": "p", "date": "2026-03-05", "scheme": "resident", "benefit": "two-diseases",
            "facility": {"level": "level1"}, "conditions": ["hypertension", "diabetes"],
            "items": [{"class": "A", "amount": "3000.00"}]}
    assert settle(p, base)[0]["paid"]["basic"] == "1000.00"


# ---- the area of care ---------------------------------------------------------------------------

AREAS = HEAD + """scheme employee
  inpatient deductible 0 rate 80%
    remote-referred remote-emergency remote-self remote-resident rate 60%
    remote-self in-province rate 70%
"""


def test_the_area_selects_and_agrees_with_the_place():
    p = compile_(AREAS)
    r = settle(p, claim("a", "pa", place="remote-self", area="in-province"),
               claim("b", "pb", place="remote-self", area="out-of-province"),
               claim("c", "pc", place="remote-self"),
               claim("d", "pd"), claim("e", "pe", area="within-region"))
    # in the province 70% of 1,000; out of it, or unsaid, 60%; local 80%
    assert [x["paid"]["basic"] for x in r] == ["700.00", "600.00", "600.00", "800.00", "800.00"]
    r = settle(p, claim("f", "pf", area="in-province"), claim("g", "pg", place="remote-referred", area="within-region"))
    assert [x["error"]["message"] for x in r] == [
        "area in-province contradicts place local (care inside the region)",
        "area within-region contradicts place remote-referred (care outside the region)"]


def test_strict_reports_the_remote_combinations_a_benefit_leaves_to_local_terms():
    p = compile_(HEAD + """scheme employee
  inpatient deductible 0 rate 80%
    remote-referred remote-emergency rate 60%
    remote-self out-of-province rate 50%
""")
    [f] = [f for f in strict_findings(p) if "where care happened" in f.message]
    assert (f.span.line, f.span.column) == (5, 5)
    assert f.message == ("scheme employee, inpatient: its clauses name where care happened, but none is about "
                         "remote-self in-province, remote-self (no area), remote-resident in-province, "
                         "remote-resident out-of-province, remote-resident (no area): those claims get only the "
                         "clauses that do not say where care happened (the local terms, or none)")
    assert f.claim["place"] == "remote-self" and f.claim["area"] == "in-province"
    assert settle(p, f.claim)[0]["paid"]["basic"] == "8000.00"  # 80% of 10,000: the local rate


def test_the_national_platform_region_code_gives_the_area():
    path = str(ROOT / "policies" / "suihua.med")
    cm = nhsa.load_mapping(path, medpolicy.load(path))
    req = {"mdtrt_id": "M1", "psn_no": "P1", "insutype": "310", "psn_type": "1101", "med_type": "21",
           "hosp_lv": "01", "insuplc_admdvs": "231202", "setl_time": "2026-05-31 10:00:00",
           "feedetail": [{"chrgitm_lv": "01", "det_item_fee_sumamt": "800.00"}]}
    inside, _ = nhsa.to_claim(dict(req, mdtrtarea_admvs="230102"), cm)   # 哈尔滨: in the province
    outside, _ = nhsa.to_claim(dict(req, mdtrtarea_admvs="110105"), cm)  # 北京: out of it
    assert (inside["place"], inside["area"], inside["region_code"]) == ("remote-referred", "in-province", "230102")
    assert (outside["area"], outside["region_code"]) == ("out-of-province", "110105")


def test_the_docs_say_which_field_feeds_every_measure_flag_and_date():
    from medpolicy.claim_fields import fed_words
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    table = text[text.index("## How defined names are fed"):text.index("## Dated facts and cohorts")]
    named = {w for row in table.splitlines() if row.startswith("| `")
             for w in row.split("|")[1].replace("`", "").replace(" ", "").split(",")}
    fed = {w.split(" ", 1)[1] for w in fed_words() if w.split(" ", 1)[0] in ("measure", "flag", "date")}
    assert fed == named


def test_terms_local_settles_a_remote_claim_on_the_local_terms_of_its_level():
    p = compile_(HEAD + """scheme employee
  inpatient deductible 0 rate 80%
    level2 rate 85%
    remote-self rate - 20 points
    remote-resident terms local
""")
    r = [x.to_json(trace=True) for x in p.settle_all([claim("a", "pa", place="remote-resident", area="in-province",
                                                              facility={"level": "level2"}),
                                                        claim("b", "pb", place="remote-self",
                                                              facility={"level": "level2"})])]
    # level 2 local 85% of 1,000 = 850.00; self-referred 85% - 20 points = 650.00
    assert [x["paid"]["basic"] for x in r] == ["850.00", "650.00"]
    assert [t for t in r[0]["trace"] if t["step"] == "terms"] == [
        {"step": "terms", "line": 7, "detail": "settled on the local terms"}]
    assert errors(HEAD + "scheme employee\n  inpatient rate 80%\n    remote-self terms remote-resident\n") == [
        (5, 17, "unknown level name `remote-resident`")]

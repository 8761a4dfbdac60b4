"""Member rules added for issue 14 (part 1): waiting periods after leaving another scheme or
region, day-level starts (newborns, the day after payment), age selectors, the prorated retiree
credit and retirees short of the years — both spellings, every check with its position, the
record's new fields, and settlement of claims on either side of a start day.

The worked month-by-month figures are in policies/CITY.members.test.toml (test_members.py)."""

import datetime as dt
from pathlib import Path

import pytest

import medpolicy
from medpolicy.members.records import MemberError, read_member
from medpolicy.members.rules import add_months, age_on

ROOT = Path(__file__).resolve().parent.parent
HEAD = 'policy "t" region x\nuse standard\nparameter premium "年缴费"\n'

ENGLISH = HEAD + """members resident
  contribution basic individual premium yearly                  cite "第一条"
  low-income-edge age >= 60 contribution basic subsidy 80%      cite "第二条"
  severe-mental start after 1 days                              cite "第三条"
  newborn within 90 days                                        cite "第四条"
  after leaving employee within 3 months start after 0 months   cite "第五条"
  after leaving employee beyond 3 months waiting 3 months       cite "第五条"
  after leaving other-scheme insured 24 months within 3 months previous-terms 2 months   cite "第六条"
"""

CHINESE = HEAD + """参保人 居民
  缴费 统筹基金 个人 premium 每年                                   依据 "第一条"
  低保边缘 年龄>=60 缴费 统筹基金 资助 80%                           依据 "第二条"
  严重精神障碍 待遇起始 之后 1 天                                   依据 "第三条"
  新生儿 以内 90 天                                                 依据 "第四条"
  之后 离开 职工 以内 3 个月 待遇起始 之后 0 个月                     依据 "第五条"
  之后 离开 职工 以后 3 个月 等待期 3 个月                            依据 "第五条"
  之后 离开 other-scheme 连续参保 24 个月 以内 3 个月 原档次待遇 2 个月   依据 "第六条"
"""

PARAMS = {"premium": "400"}


def _resident(**over):
    rec = {"id": "r", "sex": "female", "birth": "1966-01-01", "scheme": "resident",
           "history": [{"from": "2026-01-01", "kind": "resident"}], "contributions": [{"year": 2026, "paid_on": "2026-03-10"}]}
    rec.update(over)
    return rec


@pytest.mark.parametrize("record", [
    _resident(groups=["low-income-edge", "severe-mental"]),
    _resident(birth="2026-02-10", history=[{"from": "2026-04-01", "kind": "resident"}],
              contributions=[{"year": 2026, "paid_on": "2026-04-01"}]),
    _resident(before=[{"scheme": "employee", "to": "2025-12-31"}], history=[{"from": "2026-05-01", "kind": "resident"}],
              contributions=[{"year": 2026, "paid_on": "2026-05-10"}]),
    _resident(before=[{"scheme": "other-scheme", "from": "2023-01-01", "to": "2025-12-31"}]),
], ids=["age-and-day-after", "newborn", "leaving-beyond", "previous-terms"])
def test_english_and_chinese_new_member_clauses_compute_the_same_months(record):
    en, zh = medpolicy.compile(ENGLISH, "en.med"), medpolicy.compile(CHINESE, "zh.med")
    until = dt.date(2026, 9, 30)
    rows_en = [r.to_json() for r in en.member_months(record, until=until, params=PARAMS)]
    assert rows_en == [r.to_json() for r in zh.member_months(record, until=until, params=PARAMS)]


def test_the_new_clauses_decide_what_the_text_says():
    p = medpolicy.compile(ENGLISH, "en.med")
    until = dt.date(2026, 9, 30)
    # 60 on 1 January, 低保边缘: 400 x 80% = 320.00; severe-mental paid 2026-03-10: from the 11th.
    rows = p.member_months(_resident(groups=["low-income-edge", "severe-mental"]), until=until, params=PARAMS)
    assert rows[0].to_json()["due"] == {"individual": {"basic": "80.00"}, "subsidy": {"basic": "320.00"}}
    assert (rows[1].payable, rows[1].reason, rows[1].article) == (False, "not-started", "第三条")
    assert (rows[2].payable, rows[2].from_day) == (True, dt.date(2026, 3, 11))
    # A newborn enrolled and paid within 90 days: rows from the birth month, payable from the 10th.
    born = p.member_months(_resident(birth="2026-02-10", history=[{"from": "2026-04-01", "kind": "resident"}],
                                     contributions=[{"year": 2026, "paid_on": "2026-04-01"}]), until=until, params=PARAMS)
    assert (born[0].month, born[0].payable, born[0].from_day) == ((2026, 2), True, dt.date(2026, 2, 10))
    # Left the employee scheme 2025-12-31, paid 2026-05-10: beyond 3 months, waiting May-July.
    late = p.member_months(_resident(before=[{"scheme": "employee", "to": "2025-12-31"}],
                                     history=[{"from": "2026-05-01", "kind": "resident"}],
                                     contributions=[{"year": 2026, "paid_on": "2026-05-10"}]), until=until, params=PARAMS)
    assert [(r.reason, r.waiting_left) for r in late[:4]] == [("waiting", 2), ("waiting", 1), ("waiting", 0), (None, 0)]
    # 36 months of another system, paid within 3 months: 2 months on the previous terms, March and April.
    prev = p.member_months(_resident(before=[{"scheme": "other-scheme", "from": "2023-01-01", "to": "2025-12-31"}]),
                           until=until, params=PARAMS)
    assert [(r.reason, r.article) for r in prev[2:5]] == [("previous-scheme", "第六条"), ("previous-scheme", "第六条"),
                                                          (None, None)]
    # 23 months is not 24: the previous-terms line does not apply; the plain start (after 0) does.
    short = p.member_months(_resident(before=[{"scheme": "other-scheme", "from": "2024-02-01", "to": "2025-12-31"}]),
                            until=until, params=PARAMS)
    assert short[2].payable and short[1].reason == "not-started" and short[1].article is None


@pytest.mark.parametrize("day, month, expected", [
    ("2026-01-31", 1, "2026-02-28"), ("2026-01-30", 1, "2026-02-28"), ("2026-02-28", 3, "2026-05-31"),
    ("2026-03-15", 3, "2026-06-15"), ("2025-11-30", 3, "2026-02-28"), ("2024-01-31", 1, "2024-02-29"),
])
def test_n_months_after_a_day(day, month, expected):
    assert add_months(dt.date.fromisoformat(day), month) == dt.date.fromisoformat(expected)


def test_age_is_whole_years_on_the_day():
    assert age_on(dt.date(1966, 1, 1), dt.date(2026, 1, 1).toordinal()) == 60
    assert age_on(dt.date(1966, 1, 2), dt.date(2026, 1, 1).toordinal()) == 59
    assert age_on(dt.date(2008, 2, 29), dt.date(2026, 2, 28).toordinal()) == 17


def _errors(body: str) -> list[str]:
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(HEAD + body, "t.med")
    return [f"{d.span.line}:{d.span.column}: {d.message}" for d in e.value.diagnostics]


@pytest.mark.parametrize("body, expected", [
    ("members resident\n  after leaving employe within 3 months waiting 3 months\n",
     "5:3: unknown scheme name `employe`"),
    ("members resident\n  beds >= 80 contribution basic subsidy 100%\n",
     "5:3: a member line compares only the member's age, not `beds`"),
    ("members resident\n  age >= 80.5 contribution basic subsidy 100%\n",
     "5:3: an age is a whole number of years, 0 to 150"),
    ("members resident\n  newborn within 13 months\n",
     "5:3: a newborn's enrolment period is 1 to 12 months (or 1 to 366 days)"),
    ("members employee\n  lump-sum 9% credit 10%\n",
     "5:3: the lump sum's account part is over its rate"),
    ("members resident\n  newborn within 0 days\n",
     "5:3: a newborn's enrolment period is 1 to 12 months (or 1 to 366 days)"),
    ("members resident\n  after leaving employee within 3 months start after 0 months\n"
     "  after leaving employee within 3 months start after 1 months\n",
     "6:42: this clause and the one on line 5 both apply to the same members and neither is more specific"),
    ("members employee\n  employed start after 0 months retroactive\n",
     "5:12: a `retroactive` start restores the gap since the member left another scheme: it needs `after leaving …`"),
])
def test_new_member_checks_name_the_place(body, expected):
    assert expected in _errors(body)


def test_within_and_beyond_and_disjoint_ages_are_not_rivals():
    medpolicy.compile(HEAD + "members resident\n"
                      "  after leaving employee within 3 months start after 0 months\n"
                      "  after leaving employee beyond 3 months start after 1 months\n"
                      "  low-income-edge age >= 60 start after 0 months\n"
                      "  low-income-edge age < 18 start after 1 months\n", "t.med")


def test_an_unknown_leaving_scheme_suggests_a_spelling():
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(HEAD + "members resident\n  after leaving residnt within 3 months waiting 3 months\n", "t.med")
    assert e.value.diagnostics[0].hint == "did you mean `resident`?"


@pytest.mark.parametrize("over, field, message", [
    ({"before": {}}, "before", "a list of {scheme, region, from, to, terminated}"),
    ({"before": [{"scheme": "army", "to": "2025-01-01"}]}, "before[0].scheme",
     "required: `employee`, `resident` or `other-scheme`"),
    ({"before": [{"scheme": "employee", "to": "2025-01-01", "regoin": "here"}]}, "before[0].regoin",
     "unknown field; did you mean `region`?"),
    ({"before": [{"scheme": "employee", "to": "2025-01-01", "region": "abroad"}]}, "before[0].region",
     "`here` (this region) or `elsewhere` (another region)"),
    ({"before": [{"scheme": "employee", "to": "2026-01-01"}]}, "before[0].to",
     "earlier cover is in order and ends before the history starts"),
    ({"before": [{"scheme": "employee", "from": "2025-06-01", "to": "2025-01-01"}]}, "before[0].to",
     "ends before it starts"),
    ({"before": [{"scheme": "employee", "to": "2025-01-01", "terminated": "yes"}]}, "before[0].terminated",
     "true or false"),
    ({"before": [{"scheme": "employee"}]}, "before[0].to", "required: a date YYYY-MM-DD"),
    ({"lump_sum": "2026-02-01"}, "lump_sum", 'an object {"paid_on": date}: when the missing years were paid at once'),
    ({"lump_sum": {"paid_on": "2026-02-30"}}, "lump_sum.paid_on", "`2026-02-30` is not a date YYYY-MM-DD"),
    ({"prior": {"pooled_only_months": -1}}, "prior.pooled_only_months", "a whole number ≥ 0"),
])
def test_a_bad_new_field_names_itself(over, field, message):
    with pytest.raises(MemberError) as e:
        read_member(_resident(**over))
    assert (e.value.member, e.value.field, e.value.message) == ("r", field, message)


def test_before_records_the_cover_left():
    rec = read_member(_resident(before=[{"scheme": "employee", "region": "elsewhere", "from": "2024-01-15",
                                         "to": "2025-12-31"}], lump_sum={"paid_on": "2026-02-01"}))
    assert (rec.came_from.scheme, rec.came_from.elsewhere, rec.came_from.insured_months) == ("employee", True, 24)
    assert rec.lump_sum_paid == dt.date(2026, 2, 1)


# ---- settlement: a claim dated before the start day is not covered, with the article ------------

SZ_PARAMS = {"resident_premium": "380", "base_lower": "3500", "base_upper": "17500"}


def _sz_claim(cid, date):
    return {"id": cid, "person": "s-day", "date": date, "scheme": "resident", "benefit": "inpatient",
            "facility": {"level": "level1"}, "items": [{"class": "A", "amount": "2000.00"}]}


def test_a_claim_on_the_payment_day_is_not_covered_the_next_day_is():
    # Suizhou 第三十七条: a severe-mental patient who paid 2026-03-10 is covered from 2026-03-11.
    policy = medpolicy.load(ROOT / "policies" / "suizhou.med")
    member = _resident(id="s-day", groups=["severe-mental"])
    assert policy.benefits_payable(member, on=dt.date(2026, 3, 10), params=SZ_PARAMS) == (False, "第三十七条")
    assert policy.benefits_payable(member, on=dt.date(2026, 3, 11), params=SZ_PARAMS) == (True, None)
    before, after = policy.settle_all([_sz_claim("a", "2026-03-10"), _sz_claim("b", "2026-03-11")],
                                      params=SZ_PARAMS, members=[member])
    before, after = before.to_json(), after.to_json()
    step = next(s for s in before["trace"] if s["step"] == "not covered")
    assert step["cite"] == "第三十七条" and "not-started" in step["detail"]
    assert step["line"] == next(i for i, text in enumerate((ROOT / "policies" / "suizhou.med").read_text(
        encoding="utf-8").splitlines(), 1) if text.strip().startswith("severe-mental start after 1 days"))
    assert before["paid"]["basic"] == "0.00" and before["patient"] == "2000.00"
    assert after["paid"]["basic"] != "0.00"


def test_a_newborns_claim_from_the_birth_date():
    # Shaoxing 第二十九条: born 2026-03-05, enrolled and paid 2026-04-20 (within 90 days): a claim
    # of the birth day is covered once the enrolment is known.
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    member = {"id": "x-nb", "sex": "female", "birth": "2026-03-05", "scheme": "resident",
              "history": [{"from": "2026-04-20", "kind": "resident"}], "contributions": [{"year": 2026, "paid_on": "2026-04-20"}]}
    params = {"prov_avg_wage": "96000", "resident_premium": "600", "major_premium": "150"}
    assert policy.benefits_payable(member, on=dt.date(2026, 3, 5), as_of=dt.date(2026, 5, 1), params=params) == (True, None)
    assert policy.benefits_payable(member, on=dt.date(2026, 3, 4), as_of=dt.date(2026, 5, 1), params=params) == \
        (False, "第二十九条")
    # As of the birth day itself the enrolment is not known yet: not enrolled.
    assert policy.benefits_payable(member, on=dt.date(2026, 3, 5), params=params) == (False, None)


def test_csv_records_carry_the_cover_left_and_rows_the_start_day(tmp_path, capsys):
    from medpolicy.cli import main
    policy = tmp_path / "t.med"
    policy.write_text(ENGLISH, encoding="utf-8")
    members = tmp_path / "m.csv"
    members.write_text("id,sex,birth,scheme,kind,from,year,paid_on,groups,before_scheme,before_to\n"
                       "r,female,1966-01-01,resident,resident,2026-05-01,2026,2026-05-10,severe-mental,employee,2025-12-31\n",
                       encoding="utf-8")
    assert main(["members", str(policy), str(members), "--as-of", "2026-08-31", "--param", "premium=400",
                 "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    head = out[0].split(",")
    rows = [dict(zip(head, line.split(","))) for line in out[1:]]
    # Left 2025-12-31, paid 2026-05-10: beyond 3 months, the waiting line (more specific than the
    # day-after start): May to July waiting, August payable.
    assert [(r["month"], r["reason"], r["waiting_left"]) for r in rows] == [
        ("2026-05", "waiting", "2"), ("2026-06", "waiting", "1"), ("2026-07", "waiting", "0"), ("2026-08", "", "0")]
    assert "from_day" in head and "retirement_retiree_from" in head


def test_leaving_decides_only_the_first_payment_after_it():
    # Left the employee scheme 2024-12-31; the 2025 payment (2025-06-10) is beyond 3 months: waiting
    # June-August. The 2026 payment (2026-02-10) is an ordinary in-year payment: from February.
    p = medpolicy.compile(ENGLISH, "en.med")
    rec = _resident(before=[{"scheme": "employee", "to": "2024-12-31"}], history=[{"from": "2025-06-01", "kind": "resident"}],
                    contributions=[{"year": 2025, "paid_on": "2025-06-10"}, {"year": 2026, "paid_on": "2026-02-10"}])
    rows = {r.month: r for r in p.member_months(rec, until=dt.date(2026, 2, 28), params=PARAMS)}
    assert rows[(2025, 8)].reason == "waiting" and rows[(2025, 9)].payable
    assert (rows[(2026, 1)].reason, rows[(2026, 2)].payable) == ("not-started", True)

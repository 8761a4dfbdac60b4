"""The personal account's pots across calendar years, members without an account of their own
(pooled-only 单建统筹, residents), and the balance after a claim. Amounts worked by hand in
each test's comment."""

import datetime as dt
from pathlib import Path

import pytest

import medpolicy

ROOT = Path(__file__).resolve().parent.parent

# The current pot pays the member's self-pay; the carried pot self-pay and own-expense, for a
# spouse too. A resident has no account; a parent's carried pot pays a resident child's costs.
POTS = """policy "pots test"
use standard
scheme employee
  fund basic
  outpatient deductible 500 yearly rate 70%                     cite "第一条"
  account current self-pay                                      cite "第二条"
  account carried self-pay own-expense family spouse            cite "第三条"
scheme resident
  fund basic
  outpatient rate 50%                                           cite "第四条"
  account carried self-pay own-expense family child             cite "第五条"
"""


def claim(cid, date, amount="1000.00", scheme="employee", **extra):
    c = {"id": cid, "person": "p1", "date": date, "scheme": scheme, "benefit": "outpatient",
         "facility": {"level": "level2"}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


@pytest.fixture(scope="module")
def pots():
    return medpolicy.compile(POTS, "pots.med")


def _three_ways(policy, claims, **kw):
    """The same claims through Policy.run, chained State and settle_all: one list of JSON rows each."""
    run = policy.run(kw.get("params"), members=kw.get("members"))
    streamed = [run.settle(c).to_json() for c in claims]
    state, chained = None, []
    for c in claims:
        r = policy.settle(c, state=state, **kw)
        state = r.state
        chained.append(r.to_json())
    return streamed, chained, [r.to_json() for r in policy.settle_all(claims, **kw)]


def test_last_years_balance_is_this_years_carried_pot_across_a_gap(pots):
    # 2025: deductible 500, basic (1000 - 500) x 70% = 350, patient 650 (self-pay): the current pot
    # 800 pays 650, left 150; the carried 100 is untouched: the account's balance after, 250.
    # 2027 (no claim in 2026): a new year's deductible: patient 650 again; no balance on the claim:
    # the carried pot is what 2025 left, 150 + 100 = 250 (through 2026): account 250, cash 400.
    # Then a 2027 claim giving this year's current pot 100: patient 1000 x 70% -> 300; current
    # pays 100, the carried pot is empty: account 100, cash 200.
    claims = [claim("a", "2025-06-01", account={"balance": "800.00", "carried": "100.00"}),
              claim("b", "2027-02-01"), claim("c", "2027-03-01", account={"balance": "100.00"})]
    for rows in _three_ways(pots, claims):
        assert [(r["account"], r["cash"], r["account_balance"]) for r in rows] == \
            [("650.00", "0.00", "250.00"), ("250.00", "400.00", "0.00"), ("100.00", "200.00", "0.00")]


def test_the_carry_is_per_scheme_and_needs_an_earlier_year(pots):
    # The employee account's 2025 balance never reaches the person's resident year (years are per
    # scheme), and a first year has nothing to carry: no balance known, no account_balance.
    rows = [r.to_json() for r in pots.settle_all([
        claim("a", "2025-06-01", account={"balance": "800.00"}),
        claim("b", "2026-02-01", scheme="resident")])]
    assert (rows[1]["account"], rows[1]["cash"]) == ("0.00", "500.00") and "account_balance" not in rows[1]


def test_a_policys_effective_start_bounds_the_look_back():
    # Effective from 2026: a 2027 claim looks back to 2026 only; the 2026 balance carries.
    policy = medpolicy.compile(POTS.replace('policy "pots test"', 'policy "pots test" effective 2026-01-01'), "p.med")
    rows = [r.to_json() for r in policy.settle_all([claim("a", "2026-06-01", account={"balance": "700.00"}),
                                                     claim("b", "2027-02-01")])]
    # 2026: patient 650 from the current pot, left 50; 2027: the carried 50 pays, cash 600.
    assert [(r["account"], r["cash"]) for r in rows] == [("650.00", "0.00"), ("50.00", "600.00")]


@pytest.mark.parametrize("enrolment, scheme", [({"mode": "pooled-only"}, "employee"), (None, "resident")])
@pytest.mark.parametrize("pot, field", [("balance", "account.balance"), ("carried", "account.carried")])
def test_an_account_a_member_cannot_have_is_an_error_row_naming_the_field(pots, enrolment, scheme, pot, field):
    extra = {"enrolment": enrolment} if enrolment else {}
    r = pots.settle(claim("a", "2026-03-01", scheme=scheme, account={pot: "500.00"}, **extra)).to_json()
    assert r["error"]["code"] == "bad-value" and r["error"]["field"] == field
    assert ("pooled-only" if enrolment else "resident scheme") in r["error"]["message"]


def test_without_an_account_nothing_is_paid_and_the_trace_says_why(pots):
    # pooled-only, no account named: deductible 500, 350 paid, patient 650 in cash.
    r = pots.settle(claim("a", "2026-03-01", enrolment={"mode": "pooled-only"})).to_json()
    assert (r["account"], r["cash"]) == ("0.00", "650.00")
    notes = [s["detail"] for s in r["trace"] if s["step"] == "account"]
    assert len(notes) == 1 and "pooled-only (单建统筹" in notes[0]


def test_a_relatives_account_pays_for_a_member_without_one(pots):
    # A pooled-only member's claim paid from the spouse's carried pot (500): patient 650 ->
    # account 500, cash 150. A resident child's claim (50% of 1000, patient 500) from a parent's
    # carried pot (800): account 500; the same child as a spouse: not among the resident clause's
    # relations: 0.
    spouse = pots.settle(claim("a", "2026-03-01", enrolment={"mode": "pooled-only"},
                               account={"owner": "p0", "relation": "spouse", "carried": "500.00"})).to_json()
    child = pots.settle(claim("b", "2026-03-01", scheme="resident",
                              account={"owner": "p0", "relation": "child", "carried": "800.00"})).to_json()
    other = pots.settle(claim("c", "2026-03-01", scheme="resident",
                              account={"owner": "p0", "relation": "spouse", "carried": "800.00"})).to_json()
    assert (spouse["account"], spouse["cash"], spouse["account_balance"]) == ("500.00", "150.00", "0.00")
    assert (child["account"], child["cash"], child["account_balance"]) == ("500.00", "0.00", "300.00")
    assert (other["account"], other["cash"]) == ("0.00", "500.00")


# ---- member records -------------------------------------------------------------------------

ZY_POOLED = {"id": "zp", "sex": "male", "birth": "1980-01-01", "scheme": "employee",
             "history": [{"from": "2024-01-01", "kind": "employed", "mode": "pooled-only"}],
             "contributions": [{"month": f"{y}-{m:02d}", "base": "5000", "paid_on": f"{y}-{m:02d}-01"}
                               for y in (2024, 2025) for m in range(1, 13)],
             "balance": {"on": "2024-01-01", "amount": "500.00"}}


def zy_claim(cid, date, amount, **extra):
    c = {"id": cid, "person": "zp", "date": date, "scheme": "employee", "status": "employed",
         "benefit": "outpatient", "facility": {"level": "level2"}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


def test_a_pooled_only_record_gives_the_claim_its_terms_and_no_account():
    # Ziyang, a record enrolled pooled-only (the record's 500.00 opening balance is never used:
    # 第十条 单建统筹参保人员不建立个人账户). Outpatient level 2: deductible 200, 60%, the
    # pooled-only cap 800 a year (第十六条（三）): claim 1, 1500: (1500 - 200) x 60% = 780; claim 2,
    # 500: 300, capped at 800 - 780 = 20. All in cash. A claim naming the account itself is refused.
    policy = medpolicy.load(ROOT / "policies" / "ziyang.med")
    params = {"avg_wage": "60000"}
    for rows in _three_ways(policy, [zy_claim("a", "2025-03-03", "1500.00"), zy_claim("b", "2025-04-03", "500.00")],
                            params=params, members=[ZY_POOLED]):
        assert [(r["paid"]["basic"], r["account"], r["cash"]) for r in rows] == \
            [("780.00", "0.00", "720.00"), ("20.00", "0.00", "480.00")]
    bad = policy.settle(zy_claim("c", "2025-03-03", "100.00", account={"balance": "50.00"}), params=params,
                        members=[ZY_POOLED]).to_json()
    assert bad["error"]["field"] == "account.balance"


SX_PARAMS = {"prov_avg_wage": "96000", "resident_premium": "600", "major_premium": "150", "b_prepay": "10%"}
SX_PAYER = {"id": "sx-payer", "sex": "female", "birth": "1970-03-01", "scheme": "employee",
            "history": [{"from": "2020-01-01", "kind": "retired"}], "retirement": "2019-12-31",
            "balance": {"on": "2025-01-01", "amount": "3000.00"}}


def test_a_relatives_claim_takes_the_payers_record_balance_by_pot_and_year():
    # Shaoxing: the payer's record (no credits in the text: the 3000.00 is all carried-over) pays
    # a resident grandchild's stays (第二十二条（四）). 2025, level 2: eligible 4000, deductible 800,
    # basic (4000 - 800) x 75% = 2400, patient 1600: carried pays 1600, left 1400.
    # Another 2025 stay, 2000: deductible paid, 75% -> 1500, patient 500: 500 from it, left 900.
    # 2026: deductible 800 again; 3000: basic 1650, patient 1350: the carried pot is
    # 3000 - 1600 - 500 = 900: account 900, cash 450.
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    acct = {"owner": "sx-payer", "relation": "grandchild"}
    claims = [{"id": cid, "person": "sx-kid", "date": date, "scheme": "resident", "benefit": "inpatient",
               "facility": {"level": "level2"}, "items": [{"class": "A", "amount": amount}], "account": acct}
              for cid, date, amount in (("a", "2025-05-12", "4000.00"), ("b", "2025-09-01", "2000.00"),
                                        ("c", "2026-03-09", "3000.00"))]
    for rows in _three_ways(policy, claims, params=SX_PARAMS, members=[SX_PAYER]):
        assert [(r["account"], r["cash"], r["account_balance"]) for r in rows] == \
            [("1600.00", "0.00", "1400.00"), ("500.00", "0.00", "900.00"), ("900.00", "450.00", "0.00")]


def test_a_bad_payer_record_is_an_error_row_naming_account_owner():
    policy = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    c = {"id": "a", "person": "sx-kid", "date": "2025-05-12", "scheme": "resident", "benefit": "inpatient",
         "facility": {"level": "level2"}, "items": [{"class": "A", "amount": "100.00"}],
         "account": {"owner": "sx-bad", "relation": "grandchild"}}
    r = policy.settle(c, params=SX_PARAMS, members=[{"id": "sx-bad", "sex": "x"}]).to_json()
    assert (r["error"]["code"], r["error"]["field"]) == ("bad-member", "account.owner")


def test_an_account_not_used_pays_nothing_and_keeps_its_balance(pots):
    # claim 1: patient 650 from the current pot 800 (left 150, carried 100 kept: 250).
    # claim 2 (account.used false): the yearly deductible paid, 1000 x 70% = 700, patient 300 in
    # cash; the balance stays 250. claim 3: patient 300: current 150, then carried 100; cash 50.
    rows = [r.to_json() for r in pots.settle_all([
        claim("a", "2026-03-01", account={"balance": "800.00", "carried": "100.00"}),
        claim("b", "2026-03-02", account={"used": False}), claim("c", "2026-03-03")])]
    assert [(r["account"], r["cash"], r["account_balance"]) for r in rows] == \
        [("650.00", "0.00", "250.00"), ("0.00", "300.00", "250.00"), ("250.00", "50.00", "0.00")]


@pytest.mark.parametrize("extra, note", [
    ({"enrolment": {"mode": "pooled-only"}}, "单建统筹参保人员不建立个人账户"),
    ({"scheme": "resident"}, "居民参保人员没有本人的个人账户"),
    ({"account": {"used": False, "balance": "10.00"}}, "本次结算不使用个人账户")])
def test_the_chinese_sheet_says_why_no_account_paid(pots, extra, note):
    from medpolicy.sheet import explain_sheet
    sheet = explain_sheet(pots.settle(claim("a", "2026-03-01", **extra)), pots, "zh")
    assert [line.split()[:3] for line in sheet.splitlines() if "个人账户支付" in line] == [["个人账户支付", "0.00", note]]

"""Tests that kill the mutation run's survivors in settle.py (docs/reliability.md, "Mutation
testing"): the deductible's trace notes (none, none from stay N, referred down and up, yearly),
the clause a floor cites, a payment that fills a cap's room exactly, and a payment rounded
against two cumulatives at once. Every amount and note is worked out by hand."""

from __future__ import annotations

from small_policies import policy


def claim(cid="c1", date="2026-03-01", amount="10000", level="level3", **extra):
    c = {"id": cid, "person": "p1", "date": date, "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": level}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


def step(result, name: str) -> tuple:
    """One trace step as (amount, line, detail)."""
    [s] = [s for s in result.to_json()["trace"] if s["step"] == name]
    return s.get("amount"), s.get("line"), s.get("detail")


def steps(result) -> list:
    return [s["step"] for s in result.to_json()["trace"]]


# ---- deductible_due: what the deductible step says ---------------------------------------------

def test_no_deductible_and_a_deductible_of_one_yuan():
    # `deductible 0`: none, noted so; `deductible 1`: one yuan is owed (1 is not "none").
    p = policy("scheme employee\n  inpatient rate 80%\n    level3 deductible 0\n    level2 deductible 1\n")
    assert step(p.settle(claim()), "deductible") == ("0.00", 5, "no deductible")
    r = p.settle(claim(level="level2", amount="101"))
    assert step(r, "deductible") == ("1.00", 6, None)
    assert r["paid"] == {"basic": "80.00"}  # (101 - 1) x 80%


def test_none_from_stay_three_is_noted_with_the_stay_number():
    # Stays 1 and 2 owe 1,000 (line 5); the third owes none, from line 6.
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
               "    deductible none from stay 3\n")
    rs = p.settle_all([claim("a", "2026-01-05"), claim("b", "2026-02-05"), claim("c", "2026-03-05")])
    assert [step(r, "deductible") for r in rs] == [
        ("1000.00", 5, None), ("1000.00", 5, None), ("0.00", 6, "stay 3 of the year: none from stay 3")]


REFERRAL = ("scheme employee\n  inpatient\n    deductible level1 400 level2 600 level3 800 primary 400\n"
            "    rate 90%\n    deductible referral-difference\n")


def test_a_referral_down_and_up_is_noted():
    p = policy(REFERRAL)
    down = p.settle(claim(referred_from="level3", level="level2"))
    assert step(down, "deductible") == ("0.00", 7, "referred down from level3: none")
    up = p.settle(claim(referred_from="level1"))
    assert step(up, "deductible") == (
        "400.00", 7, "referred up from level1: the difference of the standard deductibles 800.00 - 400.00")


def test_a_referral_up_from_a_level_with_no_deductible_owes_the_whole_standard_one():
    # Primary care has no deductible clause at all: the referred stay at level 3 owes 800 - 0,
    # and is paid (10,000 - 800) x 90% = 8,280.
    p = policy("scheme employee\n  inpatient rate 90%\n    level3 deductible 800\n    deductible referral-difference\n")
    r = p.settle(claim(referred_from="primary"))
    assert step(r, "deductible") == (
        "800.00", 6, "referred up from primary: the difference of the standard deductibles 800.00 - 0.00")
    assert r["paid"] == {"basic": "8280.00"}


def test_a_yearly_deductible_notes_what_was_already_paid():
    # 1,200 a year at level 3, 800 at the others: a first claim of 500 pays 500 of it; the next,
    # at level 2, owes what is left of the larger yearly amount: 1,200 - 500 = 700.
    p = policy("scheme employee\n  inpatient\n    deductible level3 1200 primary level1 level2 800 yearly\n"
               "    rate 80%\n")
    rs = p.settle_all([claim("a", "2026-01-05", amount="500"), claim("b", "2026-02-05", level="level2")])
    assert [step(r, "deductible") for r in rs] == [
        ("500.00", 5, "yearly deductible 1200.00, 0.00 already paid"),
        ("700.00", 5, "yearly deductible 1200.00, 500.00 already paid")]


# ---- reduced: the floor's clause -------------------------------------------------------------

def test_a_deductible_stopped_by_its_floor_cites_the_floor():
    # 1,000 (line 5), less 400 per earlier stay (line 6), not below 500 (line 7): the second stay
    # owes 600 by line 6, the third 1,000 - 800 = 200, raised to 500 by line 7.
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
               "    deductible repeat - 400\n    deductible floor 500\n")
    rs = p.settle_all([claim("a", "2026-01-05"), claim("b", "2026-02-05"), claim("c", "2026-03-05")])
    assert [step(r, "deductible")[:2] for r in rs] == [("1000.00", 5), ("600.00", 6), ("500.00", 7)]
    assert step(rs[2], "deductible")[2] == "1000.00 2 earlier stay(s) this year: - 400.00 each, not below 500.00"


def test_a_step_of_nothing_is_noted_as_plus_zero():
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"
               "    deductible + 0\n")
    assert step(p.settle(claim()), "deductible") == ("1000.00", 6, "1000.00 + 0.00")


# ---- apply_caps: a payment that fills the room exactly is not cut ------------------------------

def test_a_payment_exactly_filling_the_caps_room_leaves_no_cap_step():
    # 80% of 1,000 = 800 against a yearly cap of 800: paid in full, the cap did not bind.
    p = policy("scheme employee\n  inpatient deductible 0 rate 80%\n    cap 800 yearly\n")
    r = p.settle(claim(amount="1000"))
    assert r["paid"] == {"basic": "800.00"}
    assert "basic cap" not in steps(r)
    # The next claim finds no room: the cap binds and says so.
    r1, r2 = p.settle_all([claim("a", "2026-01-05", amount="1000"), claim("b", "2026-02-05", amount="1000")])
    assert r2["paid"] == {"basic": "0.00"}
    assert step(r2, "basic cap") == ("800.00", 5, "yearly cap 800.00 leaves 0.00")


# ---- paid: a payment rounded against two cumulatives takes the least ----------------------------

def _two_days(rate: str) -> list:
    p = policy(f"scheme employee\n  outpatient deductible 0 rate {rate}\n    cap 100 yearly\n    cap 30 daily\n")
    visits = [claim(f"v{i}", f"2026-01-0{i}", amount="10.01", benefit="outpatient") for i in (1, 2)]
    return [r["paid"]["basic"] for r in p.settle_all(visits)]


def test_a_payment_in_a_yearly_and_a_daily_cumulative_is_the_least_increase():
    # 50% of 10.01 = 5.005 each day. Day 1: 5.01 in both. Day 2: the yearly cumulative
    # q(10.01) - 5.01 = 5.00, the day's own q(5.005) = 5.01: the least, 5.00.
    assert _two_days("50%") == ["5.01", "5.00"]
    # 40% of 10.01 = 4.004 each day. Day 1: 4.00. Day 2: yearly q(8.008) - 4.00 = 4.01, the
    # day's own q(4.004) = 4.00: the least, 4.00.
    assert _two_days("40%") == ["4.00", "4.00"]


# ---- cap_reached: a fund-wide cap raised by a measure ------------------------------------------

def test_a_fund_wide_cap_raised_per_extra_disease_is_not_reached_at_its_base_amount():
    # The basic fund's cap 10,000, + 50% for each disease past the first: 3 diseases, 20,000.
    # Stay a: (20,000 - 1,000) x 80% = 15,200, under the cap. Stay b: 15,200 is past 10,000 but
    # not past 20,000, so the cap is not reached: deductible 1,000, (5,000 - 1,000) x 80% = 3,200
    # (had the cap been reached, no deductible and 4,000 of the 4,800 left).
    p = policy("scheme employee\n  fund basic cap 10000 yearly\n    cap + 50% each-extra diseases\n"
               "  fund major on eligible above cap\n    rate 90%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    ill = ["hypertension", "diabetes", "aids"]
    rs = p.settle_all([claim("a", "2026-01-05", amount="20000", conditions=ill),
                       claim("b", "2026-02-05", amount="5000", conditions=ill)])
    assert [(r["deductible"], r["paid"]["basic"], r["paid"]["major"]) for r in rs] == [
        ("1000.00", "15200.00", "0.00"), ("1000.00", "3200.00", "0.00")]


# ---- banded_pieces: the cost above a banded benefit's cap, band by band ------------------------

def test_the_cost_above_a_banded_benefits_cap_is_taken_band_by_band():
    # Outpatient 300: 50% of the first 100, 80% above: 50 + 160 = 210, capped at 100. The cap
    # covers the lowest rate first: 100 at 50% uses 50 of the room, the other 50 covers 50 / 80%
    # = 62.50 at 80%; covered 162.50, above the cap 137.50, no burden. The layer pays 100% of the
    # burden 300 - 100 - 137.50 = 62.50.
    p = policy("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
               "  outpatient deductible none rate 50% to 100, 80% above\n    cap 100 yearly\n")
    r = p.settle(claim(amount="300", benefit="outpatient"))
    assert r["paid"] == {"basic": "100.00", "major": "62.50"}
    assert step(r, "above cap") == ("137.50", None, "cost above the outpatient cap 100.00: no major burden")

"""Raising any claim's amount never lowers the year's total paid by the funds, in every city.

A capped or banded benefit pays the increase of its cumulative amount (domain.md), so what a
person's year gets from the funds must be a function of the year's costs that never falls when
a cost rises, whichever claim of the year is raised, the first as well as the last. Shaoxing's
major layer broke this (issue 16): which outpatient cost lay "above the outpatient cap" (第三十五条
末款) depended on which claim happened to reach the cap, so raising an early claim at a higher
rate lowered the major layer on a later claim.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from med_strategies import ROOT, compiled_policies, money_text, policy_params, runs_for

POLICIES = compiled_policies()
COMPILED = [pytest.param(p, id=name) for name, p, _ in POLICIES if p is not None]
SHAOXING = medpolicy.load(ROOT / "policies" / "shaoxing.med")
SHAOXING_PARAMS = {"b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000", "aid_rate_cat3": "75%",
                   "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"}

PROPS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXTRAS = ["0.01", "1.00", "99.99", "1000.00", "4000.00", "9313.81", "25000.00", "300000.00"]


def _funds_total(policy, claims: list[dict], params: dict) -> tuple[Decimal, list]:
    """What the funds paid over the run, and the ids of the claims that failed."""
    total, failed = Decimal(0), []
    for row in (r.to_json() for r in policy.settle_all(claims, params=params)):
        if "error" in row:
            failed.append(row["id"])
            continue
        total += sum(Decimal(v) for v in row["paid"].values())
    return total, failed


def _raised(claims: list[dict], index: int, item: int, extra: Decimal) -> list[dict]:
    out = copy.deepcopy(claims)
    it = out[index]["items"][item]
    it["amount"] = f"{Decimal(it['amount']) + extra:.2f}"
    return out


def _assert_never_lower(policy, claims: list[dict], params: dict, data, last=None) -> None:
    index = data.draw(st.integers(0, len(claims) - 1 if last is None else last), label="raised claim")
    item = data.draw(st.integers(0, len(claims[index]["items"]) - 1), label="raised item")
    extra = Decimal(data.draw(st.sampled_from(EXTRAS), label="extra"))
    before, failed_before = _funds_total(policy, claims, params)
    after, failed_after = _funds_total(policy, _raised(claims, index, item, extra), params)
    assert failed_after == failed_before, (claims, index, extra)
    # Each fund's payment is rounded once per claim (domain.md), so the sum of a year's rounded
    # increments may differ by a fen a claim from the rounded cumulative amount.
    assert after >= before - Decimal("0.01") * len(claims), f"raising claim {index} by {extra} lowered the funds' total {before} -> {after}: {claims}"


@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_raising_any_claim_never_lowers_the_years_total(policy, data):
    claims = data.draw(runs_for(policy, max_persons=1, max_claims=5))
    _assert_never_lower(policy, claims, policy_params(policy), data)


# ---- Shaoxing years where the outpatient cap binds at mixed rates -------------------------

@st.composite
def shaoxing_years(draw) -> list[dict]:
    """One employee's year where the outpatient cap binds at mixed rates and the major layer pays
    on the outpatient burden: outpatient care at primary (75%-85%) and at level 3 (65%/70%) in
    either order around the 6,000 cap, class-B care whose pre-payment enters the burden whole,
    then one large stay or special drugs (thresholds halved for the disabled)."""
    status = draw(st.sampled_from(["employed", "retired"]))
    groups = draw(st.sampled_from([[], ["disabled"], ["disabled"], ["disabled"]]))  # halved thresholds
    levels = draw(st.permutations(["primary", "level3"])) + [draw(st.sampled_from(["primary", "level3"]))]
    claims = []
    for n, level in enumerate(levels):
        claim = {"id": f"c{n}", "person": "p", "date": f"2025-{n + 1:02d}-10", "scheme": "employee",
                 "status": status, "benefit": "outpatient", "age": 50, "groups": groups,
                 "facility": {"level": level}, "place": draw(st.sampled_from(["local", "local", "remote-self"])),
                 "history": {"chronic_diseases": draw(st.integers(0, 1))},
                 "items": [{"class": "B" if n == 2 else "A", "amount": draw(money_text(30_000, 60_000) if n == 2 else money_text(0, 10_000))}]}
        claims.append(claim)
    stay = dict(claims[-1], id="stay", date="2025-12-10", benefit="inpatient", place="local",
                items=[{"class": "A", "amount": draw(money_text(60_000, 150_000))}])
    if draw(st.integers(0, 3)) == 0:
        stay["benefit"], stay["items"] = "special-drug", [{"class": "A", "amount": draw(money_text(0, 20_000))}]
    return claims + [stay]


@settings(PROPS, max_examples=100)
@given(data=st.data())
def test_shaoxing_years_with_the_outpatient_cap_never_pay_less_for_more(data):
    # The first two claims are the ones whose raise moves the cap to another claim.
    _assert_never_lower(SHAOXING, data.draw(shaoxing_years()), SHAOXING_PARAMS, data, last=1)


# ---- the reported case, worked by hand (shaoxing.test.toml: sx-13r) ------------------------

def _reported_year(first: str) -> list[dict]:
    def claim(cid, date, benefit, level, cls, amount):
        return {"id": cid, "person": "p", "date": date, "scheme": "employee", "status": "employed",
                "benefit": benefit, "facility": {"level": level}, "age": 40,
                "items": [{"class": cls, "amount": amount}]}
    return [claim("c1", "2025-01-10", "outpatient", "primary", "A", first),
            claim("c2", "2025-02-10", "outpatient", "level3", "A", "6000.00"),
            claim("c3", "2025-03-10", "outpatient", "primary", "B", "40000.00"),
            claim("c4", "2025-04-10", "inpatient", "level3", "A", "100000.00")]


def _paid(claims: list[dict]) -> dict:
    return {r["id"]: r["paid"] for r in (x.to_json() for x in SHAOXING.settle_all(claims, params=SHAOXING_PARAMS))}


def test_the_outpatient_cap_reached_on_a_raised_first_claim_takes_no_burden_away():
    # By hand (第二十四条, 第三十五条 末款, 第三十六条（一）): employed, outpatient cap 6,000,
    # deductible 400 a year; primary 75%, level 3 65%. The cap covers the year's costs at the
    # lowest rate first: 6,000 at 65% = 3,900 of payment, the other 2,100 covers 2,800 at 75%;
    # outpatient burden O = 400 + 6,000 x 35% + 2,800 x 25% = 3,200, plus c3's class-B
    # pre-payment 4,000 = 7,200, whether c1 is 4,400 or 8,400. c4: eligible 100,000, deductible
    # 1,200, basic 48,800 x 80% + 50,000 x 85% = 81,540, I = 18,460;
    # major = max(18,460 - 18,000, 18,460 + 7,200 - 25,000) x 70% = 660 x 70% = 462.00.
    # The old reading (the cap point of the claim that reached it) gave 332.77, then 322.00.
    low, high = _paid(_reported_year("4400.00")), _paid(_reported_year("8400.00"))
    assert [low[c]["basic"] for c in ("c1", "c2", "c3", "c4")] == ["3000.00", "3000.00", "0.00", "81540.00"]
    assert [high[c]["basic"] for c in ("c1", "c2", "c3", "c4")] == ["6000.00", "0.00", "0.00", "81540.00"]
    assert low["c4"]["major"] == high["c4"]["major"] == "462.00"


def test_the_years_outpatient_burden_does_not_depend_on_the_order_of_its_claims():
    # The yearly deductible is paid by the year's first claims (第二十四条（一）), so a first claim
    # of exactly 400 takes it; then c1 (4,000 at 75%) and c2 (6,000 at 65%) come in either order.
    # By hand: O = 400 + 6,000 x 35% + 2,800 x 25% + 4,000 = 7,200 either way; major 462.00.
    # The old reading gave 332.77 in this order and 462.00 in the other.
    first, c1, c2, c3, c4 = [dict(_reported_year("400.00")[0], id="c0", date="2025-01-02")] + _reported_year("4000.00")
    swapped = [first, dict(c2, date=c1["date"]), dict(c1, date=c2["date"]), c3, c4]
    assert _paid([first, c1, c2, c3, c4])["c4"]["major"] == _paid(swapped)["c4"]["major"] == "462.00"

"""Settlement rules of the language, each on a small policy with amounts worked out by hand."""

from pathlib import Path

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def policy(body: str, **kw):
    return medpolicy.compile(HEAD + body, "t.med", **kw)


def claim(cid="c1", person="p1", date="2026-03-01", amount="10000", **extra):
    c = {"id": cid, "person": person, "date": date, "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


def paid(results, fund="basic"):
    return [r["paid"][fund] for r in results]


INPATIENT = "scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n"


def test_repeat_stays_lower_the_deductible_down_to_the_floor():
    p = policy(INPATIENT + "    deductible repeat - 400 floor 300\n")
    rs = p.settle_all([claim("a", date="2026-01-05"), claim("b", date="2026-02-05"), claim("c", date="2026-03-05")])
    assert [r["deductible"] for r in rs] == ["1000.00", "600.00", "300.00"]  # 1000, 1000-400, max(200, 300)


def test_the_floor_applies_after_every_reduction_but_never_raises_a_lower_level():
    p = policy("scheme employee\n  inpatient\n    level3 deductible 1000 rate 80%\n    primary level1 level2 deductible 100 rate 80%\n"
               "    retired deductible - 200\n    deductible floor 150\n")
    assert p.settle(claim(status="retired"))["deductible"] == "800.00"
    # primary: 100 - 200 would be negative; the floor stops it at the level's own 100 (not 150)
    assert p.settle(claim(status="retired", facility={"level": "primary"}))["deductible"] == "100.00"


def test_a_yearly_deductible_is_owed_at_the_highest_level_used():
    p = policy("scheme employee\n  inpatient\n    deductible level3 1200 primary level1 level2 800 yearly\n    rate 80%\n")
    rs = p.settle_all([claim("a", amount="500", date="2026-01-05"),
                       claim("b", amount="5000", date="2026-02-05", facility={"level": "level2"})])
    assert [r["deductible"] for r in rs] == ["500.00", "700.00"]  # 1200 in all, at level 3's amount


def test_none_from_stay_counts_only_the_clause_levels():
    p = policy(INPATIENT + "    level2 level3 deductible none from stay 3\n")
    stays = [claim("a", date="2026-01-05"), claim("b", date="2026-02-05", facility={"level": "level1"}),
             claim("c", date="2026-03-05"), claim("d", date="2026-04-05")]
    assert [r["deductible"] for r in p.settle_all(stays)] == ["1000.00", "1000.00", "1000.00", "0.00"]


def test_referral_up_pays_the_difference_and_down_none():
    p = policy("scheme employee\n  inpatient\n    deductible level1 400 level2 600 level3 800 primary 400\n"
               "    rate 90%\n    deductible referral-difference\n")
    assert p.settle(claim(referred_from="level1"))["deductible"] == "400.00"      # 800 - 400
    assert p.settle(claim(referred_from="level3", facility={"level": "level2"}))["deductible"] == "0.00"


def test_as_inpatient_counts_as_a_stay_only_when_the_policy_says_stay():
    body = INPATIENT + "    deductible repeat - 500\n  day-surgery as inpatient{stay} deductible none\n"
    day = claim("a", date="2026-01-05", benefit="day-surgery")
    stay = claim("b", date="2026-02-05")
    assert [r["deductible"] for r in policy(body.format(stay="")).settle_all([day, stay])] == ["0.00", "1000.00"]
    assert [r["deductible"] for r in policy(body.format(stay=" stay")).settle_all([day, stay])] == ["0.00", "500.00"]


def test_a_daily_cap_and_a_yearly_cap_on_the_same_benefit_both_hold():
    p = policy("scheme resident\n  outpatient rate 50%\n    cap 100 yearly\n    clinic cap 30 daily\n")
    visits = [dict(claim(f"v{i}", date=f"2026-01-0{i}", amount="200", benefit="outpatient", scheme="resident"),
                   facility={"level": "primary", "type": "clinic"}) for i in range(1, 5)]
    assert paid(p.settle_all(visits)) == ["30.00", "30.00", "30.00", "10.00"]


def test_a_shared_cap_counts_every_payment_of_its_benefits():
    p = policy("scheme resident\n  outpatient rate 50%\n    cap 350 yearly\n"
               "  two-diseases rate 50%\n    hypertension cap 450 yearly with outpatient\n")
    out = dict(claim("o", date="2026-01-05", amount="700", benefit="outpatient", scheme="resident"),
               facility={"level": "primary"})
    drugs = dict(claim("d", date="2026-02-05", amount="1000", benefit="two-diseases", scheme="resident"),
                 facility={"level": "primary"}, conditions=["hypertension"])
    assert paid(p.settle_all([out, drugs])) == ["350.00", "100.00"]  # 450 in all


def test_a_layer_above_the_cap_pays_past_the_cap_point_then_alone():
    p = policy("scheme employee\n  fund basic cap 10000 yearly\n  fund major on eligible above cap\n    rate 90%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    rs = p.settle_all([claim("a", amount="20000", date="2026-01-05"), claim("b", amount="5000", date="2026-02-05")])
    # a: basic reaches 10000 at eligible 1000 + 10000/0.8 = 13500; major 90% x 6500 = 5850
    assert [(r["paid"]["basic"], r["paid"]["major"], r["deductible"]) for r in rs] == [
        ("10000.00", "5850.00", "1000.00"), ("0.00", "4500.00", "0.00")]


def test_a_layer_on_the_years_burden_pays_by_band():
    p = policy("scheme resident\n  fund major on burden\n    threshold 10000\n    rate 50% to 20000, 60% above\n"
               "    low-income threshold halved rate + 10 points cap none\n    cap 3000 yearly\n"
               "  inpatient\n    primary level1 level2 level3 deductible none rate 50%\n")
    c = dict(claim(amount="40000", scheme="resident"))
    assert p.settle(c)["paid"]["major"] == "3000.00"       # burden 20000 above 10000 at 50% = 5000, capped
    assert p.settle(dict(c, groups=["low-income"]))["paid"]["major"] == "9000.00"  # 5000->20000 at 60%


def test_several_thresholds_pay_on_the_larger_excess():
    p = policy("scheme resident\n  fund major on burden for inpatient outpatient\n"
               "    threshold 10000 for inpatient\n    threshold 15000 for inpatient outpatient\n    rate 50%\n"
               "  inpatient\n    primary level1 level2 level3 deductible none rate 0%\n"
               "  outpatient\n    rate 0%\n")
    o = dict(claim("o", date="2026-01-05", amount="8000", benefit="outpatient", scheme="resident"),
             facility={"level": "primary"})
    i = dict(claim("i", date="2026-02-05", amount="9000", scheme="resident"))
    # after o: max(0 - 10000, 8000 - 15000) < 0: nothing. after i: max(9000-10000, 17000-15000) = 2000
    assert paid(p.settle_all([o, i]), "major") == ["0.00", "1000.00"]


def test_remaining_layers_pay_on_what_is_left():
    p = policy("scheme employee\n  fund supplement on remaining above deductible\n    supplement rate 60%\n"
               "  inpatient\n    primary level1 level2 level3 deductible 1000 rate 80%\n")
    c = claim(enrolment={"supplement": True})
    assert p.settle(c)["paid"]["supplement"] == "1080.00"  # (10000 - 1000 - 7200) x 60%
    assert p.settle(claim())["paid"]["supplement"] == "0.00"


def test_item_rules_prepay_tiers_and_ceilings():
    p = policy("scheme employee\n  B prepay 10%\n  material prepay 10% to 500, 30% to 3000, 50% above\n"
               "  material ceiling 60000\n  bed level3 normal ceiling 25 daily\n"
               "  inpatient\n    primary level1 level2 level3 deductible none rate 100%\n")
    c = claim(items=[{"class": "B", "amount": "1000"},
                     {"class": "material", "amount": "80000", "unit_price": "80000"},
                     {"class": "bed", "amount": "300", "days": 10}])
    r = p.settle(c)
    # excluded: material above 60000 (20000) + beds above 25 x 10 (50); prepay: B 100 + 60000 x 50%
    assert (r["excluded"], r["prepay"], r["eligible"]) == ("20050.00", "30100.00", "31150.00")


def test_limits_of_events_done_together_add_up():
    p = policy("scheme employee\n  maternity paid-by maternity rate 100%\n    iud-insert limit 500\n    sterilization limit 2800\n")
    c = dict(claim(benefit="maternity", amount="5000"), maternity=["iud-insert", "sterilization"])
    assert p.settle(c)["paid"] == {"basic": "0.00", "maternity": "3300.00"}


def test_allowance_days_times_wage_over_thirty():
    p = policy("scheme employee\n  maternity paid-by maternity rate 100%\n    delivery allowance 128 days\n"
               "    delivery allowance + 15 days each-extra babies\n")
    c = dict(claim(benefit="maternity", amount="3000"), maternity="delivery", babies=2, wage="6000")
    assert p.settle(c)["allowance"] == "28600.00"  # 6000 / 30 x 143


def test_terms_of_another_level_and_a_first_share():
    p = policy("scheme resident\n  inpatient\n    primary level1 deductible 200 rate 90%\n    level2 deductible 500 rate 75%\n"
               "    level3 deductible 1000 rate 50%\n    exception remote-self prepay 10% terms level3\n")
    c = dict(claim(amount="20000", scheme="resident", place="remote-self"), facility={"level": "level1"})
    r = p.settle(c)
    # 10% first: 2000; eligible 18000; level-3 terms: (18000 - 1000) x 50% = 8500
    assert (r["prepay"], r["deductible"], r["paid"]["basic"]) == ("2000.00", "1000.00", "8500.00")


def test_not_covered_in_a_waiting_period():
    p = policy(INPATIENT + "  flexible months-enrolled < 3 not-covered\n")
    c = claim(enrolment={"flexible": True, "since": "2026-02-10"})
    assert p.settle(c)["paid"]["basic"] == "0.00"
    assert p.settle(dict(c, date="2026-05-10"))["paid"]["basic"] == "7200.00"


def test_rounding_half_up_once_per_fund():
    p = policy("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible none rate 33.3%\n")
    assert p.settle(claim(amount="0.15"))["paid"]["basic"] == "0.05"   # 0.04995 -> 0.05
    assert p.settle(claim(amount="100.05"))["paid"]["basic"] == "33.32"  # 33.31665 -> 33.32


def test_dates_select_clauses():
    p = policy("scheme resident\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 70%\n"
               "    exception low-income until 2026-06-30 deductible none\n")
    c = dict(claim(amount="1000", scheme="resident"), groups=["low-income"])
    assert p.settle(c)["deductible"] == "0.00"
    assert p.settle(dict(c, date="2026-07-01"))["deductible"] == "900.00"


def test_a_year_is_kept_per_scheme():
    # domain.md: a person's employee and resident claims in one year have separate accumulators.
    # Suihua: the employee stay of 200,000 uses up the basic fund's 120,000 cap; the resident
    # stay at level 3 then still gets its own terms: (10,000 - 800) x 65% = 5,980.00.
    suihua = medpolicy.load(Path(__file__).resolve().parent.parent / "policies" / "suihua.med")
    employee = claim("e", amount="200000")
    resident = dict(claim("r", date="2026-05-01"), scheme="resident")
    del resident["status"]
    for rows in (suihua.settle_all([employee, resident]), _chained(suihua, employee, resident)):
        assert rows[0]["paid"]["basic"] == "120000.00"
        assert rows[1]["paid"]["basic"] == "5980.00"
        assert rows[1]["deductible"] == "800.00"
    run = suihua.run()
    assert [run.settle(c)["paid"]["basic"] for c in (employee, resident)] == ["120000.00", "5980.00"]


def _chained(p, *claims):
    rows, state = [], None
    for c in claims:
        r = p.settle(c, state=state)
        rows.append(r)
        state = r.state
    return rows

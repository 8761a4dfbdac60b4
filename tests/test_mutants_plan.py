"""Tests that kill the mutation run's survivors in plan.py (docs/reliability.md, "Survivors in
engine.py and plan.py"): each asserts an exact amount, line, note or message worked out by hand
from the policy text."""

from __future__ import annotations

import pytest

from small_policies import claim, items, policy


def step(result: dict, name: str) -> dict:
    return next(s for s in result["trace"] if s["step"] == name)


# ---- _build: a claim the policy has no rules for, a claim no clause gives a rate -----------------

def test_a_scheme_or_benefit_the_policy_lacks_is_not_covered_naming_the_field():
    p = policy("scheme employee\n  inpatient deductible 0 rate 80%\n")
    assert p.settle(claim(scheme="resident", status=None))["error"] == {
        "code": "not-covered", "field": "scheme", "message": "the policy has no rules for the resident scheme"}
    assert p.settle(claim(benefit="outpatient"))["error"] == {
        "code": "not-covered", "field": "benefit",
        "message": "the employee scheme of this policy has no outpatient benefit"}


def test_a_claim_no_clause_gives_a_rate_is_told_its_level_status_and_place():
    # `age >= 60 rate 85%` only: an employee aged 30 (with a status) and a resident aged 30
    # (none) get no rate; the message says the claim's level, status if any, and place.
    p = policy("scheme employee\n  inpatient deductible 0\n    age >= 60 rate 85%\n"
               "scheme resident\n  inpatient deductible 0\n    age >= 60 rate 85%\n")
    assert p.settle(claim(age=30))["error"] == {
        "code": "no-clause", "field": None,
        "message": "no clause gives a rate for this inpatient claim (level3, employed, local)"}
    assert p.settle(claim(age=30, scheme="resident", status=None))["error"] == {
        "code": "no-clause", "field": None, "message": "no clause gives a rate for this inpatient claim (level3, local)"}


def test_a_redirection_says_how_the_claim_is_settled_right_after_the_total():
    # line 5: level2 70%; line 6: low income on level 2's terms; line 8: outpatient as inpatient;
    # line 9: both at once. 10,000 at 70% = 7,000.00, at 80% = 8,000.00.
    p = policy("scheme employee\n  inpatient deductible 0 rate 80%\n    level2 rate 70%\n    low-income terms level2\n"
               "  outpatient deductible 0 rate 50%\n    low-income as inpatient\n"
               "    extreme-poverty as inpatient terms level2\n")
    cases = [(claim(groups=["low-income"]), 6, "settled on the local terms of level2", "7000.00"),
             (claim(benefit="outpatient", groups=["low-income"]), 8, "settled as inpatient", "8000.00"),
             (claim(benefit="outpatient", groups=["extreme-poverty"]), 9,
              "settled as inpatient, on the local terms of level2", "7000.00")]
    for c, line, note, basic in cases:
        r = p.settle(c).to_json()
        assert r["trace"][:2] == [{"step": "total", "amount": "10000.00"},
                                  {"step": "terms", "line": line, "detail": note}]
        assert r["paid"]["basic"] == basic


def test_a_first_personal_share_given_as_a_parameter():
    # remote-self pre-pays fs = 10% of 1,000 = 100 first; 80% of 900 = 720.00.
    p = policy("parameter fs\nscheme employee\n  inpatient deductible none rate 80%\n    remote-self prepay fs\n")
    r = p.settle(claim(items(("A", "1000.00")), place="remote-self"), params={"fs": "10%"})
    assert (r["prepay"], r["paid"]["basic"]) == ("100.00", "720.00")


def test_fixed_amounts_of_several_events_add_up_and_cite_the_clause():
    # iud-insert 157 + iud-remove 100 done together: 257.00, the fixed step at line 5.
    p = policy("scheme employee\n  maternity paid-by maternity deductible 100 rate 100%\n"
               "    iud-insert fixed 157\n    iud-remove fixed 100\n")
    r = p.settle(claim(items(("A", "500.00")), benefit="maternity", maternity=["iud-insert", "iud-remove"])).to_json()
    assert r["paid"] == {"basic": "0.00", "maternity": "257.00"}
    assert step(r, "fixed") == {"step": "fixed", "amount": "257.00", "line": 5, "detail": "定额: the fixed amount"}
    assert step(r, "deductible") == {"step": "deductible", "amount": "0.00", "line": 4,
                                     "detail": "a fixed amount (定额) settles the claim: no deductible"}


def test_a_benefits_daily_cap_is_not_its_own_yearly_cap_for_a_layer_that_leaves_out_the_cost_above_it():
    # Outpatient 300 at 50% = 150, the daily cap 100 binds: basic 100.00. The yearly cap of 1,000
    # covers all 300 (150 paid of 1,000), so nothing is above it: the burden is 300 − 100 = 200,
    # all paid by the layer (a daily cap taken as the benefit's own cap would leave 100 above it).
    p = policy("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
               "  outpatient deductible none rate 50%\n    cap 1000 yearly\n    cap 100 daily\n")
    assert p.settle(claim(items(("A", "300.00")), benefit="outpatient"))["paid"] == {"basic": "100.00", "major": "200.00"}


# ---- _pools: every capped pool of the claim's benefit -----------------------------------------

def test_a_cap_listed_after_another_benefits_cap_still_counts_the_claims_payments():
    # The scheme's pools are kept in order, the inpatient cap's first; the outpatient cap of 1,000
    # still binds over the year: 800.00, then 200.00.
    p = policy("scheme employee\n  outpatient deductible none rate 100%\n    cap 1000 yearly\n"
               "  inpatient deductible none rate 100%\n    cap 100 yearly\n")
    out = p.settle_all([claim(items(("A", "800.00")), benefit="outpatient"),
                        claim(items(("A", "800.00")), id="c2", date="2026-04-01", benefit="outpatient")])
    assert [r["paid"]["basic"] for r in out] == ["800.00", "200.00"]


# ---- Pools.keys and the band's cumulative: rounding against the exact year -------------------

BANDED_DAILY = ("scheme employee\n  inpatient deductible none rate 50% to 100000, 80% above\n    cap 100000 daily\n"
                "  outpatient deductible none rate 50% to 100000, 80% above\n    cap 100000 daily\n")


def test_a_banded_rate_rounds_against_its_years_exact_cumulative_even_with_a_daily_cap():
    # 50% of 0.01 is 0.005: the first stay is paid 0.01 (half-up). Outpatient's band is its own:
    # its claim the next day is paid 0.01 too. A stay the day after, counted in the inpatient
    # band's cumulative, 0.005 + 0.005 = 0.01 in all: 0.00.
    p = policy(BANDED_DAILY)
    out = p.settle_all([claim(items(("A", "0.01"))),
                        claim(items(("A", "0.01")), id="c2", date="2026-03-02", benefit="outpatient"),
                        claim(items(("A", "0.01")), id="c3", date="2026-03-03")])
    assert [r["paid"]["basic"] for r in out] == ["0.01", "0.01", "0.00"]


def test_a_claim_with_a_class_rate_is_not_counted_in_the_band_cumulative():
    # Herbal at its own 33%: 0.50 × 33% = 0.165, paid 0.17. A claim with a class of its own rate
    # is paid by pieces, not by the band: the band cumulative stays empty, so the next claim,
    # 50% of 100.01 = 50.005, is paid 50.01 (not 50.17 − 0.17 = 50.00).
    for daily in ("", "    cap 100000 daily\n"):
        p = policy("scheme employee\n  inpatient deductible none rate 50% to 100000, 80% above\n" + daily
                   + "  herbal rate 33%\n")
        out = p.settle_all([claim(items(("herbal", "0.50"))),
                            claim(items(("A", "100.01")), id="c2", date="2026-03-02")])
        assert [r["paid"]["basic"] for r in out] == ["0.17", "50.01"]


# ---- _item_rule: a class rate for a bed of another kind, read at the claim's level -----------

def test_a_class_rate_chosen_by_level_applies_to_a_bed_of_another_kind():
    # level3 beds at 50%: an isolation bed of 200 is paid 100.00, the rest (1,000) at 80%: 800.00.
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  level3 bed rate 50%\n")
    r = p.settle(claim([{"class": "A", "amount": "1000.00"},
                        {"class": "bed", "amount": "200.00", "kind": "isolation", "days": 5}]))
    assert r["paid"]["basic"] == "900.00"


# ---- missing parameters: every one named, the item classes' too --------------------------------

def test_an_item_class_chosen_by_kind_names_its_missing_parameter():
    # The isolation bed's ceiling is a parameter the run does not give, and so is B's share:
    # both are named, whichever item comes first.
    p = policy("parameter c\nparameter pb\nscheme employee\n  inpatient deductible none rate 80%\n"
               "  bed isolation ceiling c daily\n  B prepay pb\n")
    for first, second in ((0, 1), (1, 0)):
        its = [{"class": "B", "amount": "100.00"}, {"class": "bed", "amount": "200.00", "kind": "isolation", "days": 2}]
        assert p.settle(claim([its[first], its[second]]))["error"] == {
            "code": "missing-parameter", "field": None,
            "message": "this claim's terms need parameters the run did not give: c, pb; "
                       "give them with --param c=VALUE (or params={'c': ...})"}


def test_an_excluded_items_class_rules_are_never_read():
    # `excluded ceiling c`: an excluded item is outside the catalogue, never settled on class
    # rules, so only the rate's parameter is asked for.
    p = policy("parameter c\nparameter r\nscheme employee\n  inpatient deductible none rate r\n  excluded ceiling c\n")
    assert p.settle(claim(items(("excluded", "100.00"), ("A", "100.00"))))["error"]["message"] == \
        "this claim's terms need parameter the run did not give: r; give it with --param r=VALUE (or params={'r': ...})"


def test_a_stand_in_that_fails_is_reported_as_the_missing_parameter(monkeypatch):
    # A plan built on a stand-in for a parameter the run did not give may fail where the real
    # value would not: the missing parameter, described, is the cause reported.
    from medpolicy import errors, plan as plan_mod

    def failing(*args):
        raise errors.ClaimError("ambiguous", "the stand-in failed", None)
    monkeypatch.setattr(plan_mod, "_per_event", failing)
    p = policy('parameter d "the deductible"\nscheme employee\n  inpatient deductible d rate 80%\n')
    assert p.settle(claim())["error"] == {
        "code": "missing-parameter", "field": None,
        "message": "this claim's terms need parameter the run did not give: d (the deductible); "
                   "give it with --param d=VALUE (or params={'d': ...})"}


# ---- _deductible and _deductible_rule: referrals, the clause each step cites -----------------

REFERRAL = ("scheme employee\n  inpatient deductible primary level1 400 level2 600 level3 800 rate 80%\n"
            "    deductible referral-difference\n")


@pytest.mark.parametrize("source, level, amount, note", [
    ("level2", "level3", "200.00", "referred up from level2: the difference of the standard deductibles 800.00 - 600.00"),
    ("level3", "level2", "0.00", "referred down from level3: none"),
    ("level3", "level3", "0.00", "referred down from level3: none"),     # the same level: no difference to pay
])
def test_a_referral_pays_the_difference_up_and_none_down_citing_the_referral_clause(source, level, amount, note):
    r = policy(REFERRAL).settle(claim(referred_from=source, facility={"level": level})).to_json()
    assert step(r, "deductible") == {"step": "deductible", "amount": amount, "line": 5, "detail": note}


def test_a_referral_without_a_referral_clause_pays_the_levels_deductible():
    p = policy("scheme employee\n  inpatient deductible primary level1 400 level2 600 level3 800 rate 80%\n")
    r = p.settle(claim(referred_from="level2"))
    assert (r["deductible"], r["paid"]["basic"]) == ("800.00", "7360.00")


def test_a_referral_up_from_a_level_whose_deductible_is_a_parameter():
    p = policy("parameter d2\nscheme employee\n  inpatient deductible primary level1 400 level2 d2 level3 800 rate 80%\n"
               "    deductible referral-difference\n")
    r = p.settle(claim(referred_from="level2"), params={"d2": "650"})
    assert (r["deductible"], r["paid"]["basic"]) == ("150.00", "7880.00")


def test_each_deductible_step_cites_the_clause_that_last_changed_it():
    # 900 (line 4); floor 400 (line 5); low income − 600 (line 6); retired halved (line 7).
    # Retired: 450, the halving's line. Low income: 300, raised to the floor: the floor's line.
    p = policy("scheme employee\n  inpatient deductible 900 rate 80%\n    deductible floor 400\n"
               "    low-income deductible - 600\n    retired deductible halved\n")
    retired = step(p.settle(claim(status="retired")).to_json(), "deductible")
    low = step(p.settle(claim(groups=["low-income"])).to_json(), "deductible")
    assert (retired["amount"], retired["line"], retired["detail"]) == ("450.00", 7, "900.00 halved")
    assert (low["amount"], low["line"], low["detail"]) == ("400.00", 5, "900.00 - 600.00, not below 400.00")


def test_no_deductible_from_the_nth_stay_cites_its_clause():
    p = policy("scheme employee\n  inpatient deductible 900 rate 80%\n    deductible none from stay 2\n")
    out = [r.to_json() for r in p.settle_all([claim(), claim(id="c2", date="2026-04-01")])]
    assert [step(r, "deductible") for r in out] == [
        {"step": "deductible", "amount": "900.00", "line": 4},
        {"step": "deductible", "amount": "0.00", "line": 5, "detail": "stay 2 of the year: none from stay 2"}]


# ---- _rate: the rate's note --------------------------------------------------------------------

@pytest.mark.parametrize("c, note, basic", [
    (claim(status="retired"), "90% (85% + 5 points)", "9000.00"),
    (claim(facility={"level": "level2"}), "75% (85% - 10 points)", "7500.00"),
    (claim(groups=["low-income"]), "42.5% (85% halved)", "4250.00"),
    (claim(status="retired", groups=["low-income"]), "45% (85% + 5 points, halved)", "4500.00"),
])
def test_a_rates_note_says_each_adjustment(c, note, basic):
    p = policy("scheme employee\n  inpatient deductible none rate 85%\n    retired rate + 5 points\n"
               "    level2 rate - 10 points\n    low-income rate halved\n")
    r = p.settle(c).to_json()
    assert (step(r, "rate")["detail"], r["paid"]["basic"]) == (note, basic)


# ---- _layers: a layer's rate, thresholds and rounding ------------------------------------------

def test_a_layers_rate_as_another_level():
    # level2 `rate as level3 - 5 points`: 60% − 5 = 55% of the burden 500: 275.00.
    p = policy("scheme employee\n  fund major on burden\n    rate 50%\n    level3 rate 60%\n"
               "    level2 rate as level3 - 5 points\n  inpatient deductible none rate 50%\n")
    assert p.settle(claim(items(("A", "1000.00")), facility={"level": "level2"}))["paid"] == \
        {"basic": "500.00", "major": "275.00"}


def test_a_layers_threshold_given_as_a_parameter():
    # burden 500 over the threshold t = 100: 50% of 400 = 200.00.
    p = policy("parameter t\nscheme employee\n  fund major on burden\n    threshold t for inpatient\n    rate 50%\n"
               "  inpatient deductible none rate 50%\n")
    assert p.settle(claim(items(("A", "1000.00"))), params={"t": "100"})["paid"] == {"basic": "500.00", "major": "200.00"}


def test_a_flat_burden_layer_rounds_each_claim_on_its_own():
    # Burden 0.01 a claim, 50%: 0.005, paid 0.01 each time (no band cumulative for a flat rate).
    p = policy("scheme employee\n  fund major on burden\n    rate 50%\n  inpatient deductible none rate 50%\n")
    out = p.settle_all([claim(items(("A", "0.02"))), claim(items(("A", "0.02")), id="c2", date="2026-04-01")])
    assert [r["paid"]["major"] for r in out] == ["0.01", "0.01"]


def test_a_layer_deductible_over_every_burden_beside_a_threshold_for_one_benefit():
    # Thresholds: the layer's deductible 1,000 over every burden, 300 over the outpatient
    # burden; they overlap, so the larger excess counts. Outpatient 1,000: burden 500, excess
    # max(500 − 1,000, 500 − 300) = 200: paid 200.00. Inpatient 1,000: burden 500; the excess
    # is max(1,000 − 1,000, 500 − 300) = 200, as before: 0.00.
    p = policy("scheme employee\n  fund major on burden\n    deductible 1000\n    threshold 300 for outpatient\n"
               "    rate 100%\n  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n")
    out = p.settle_all([claim(items(("A", "1000.00")), benefit="outpatient"),
                        claim(items(("A", "1000.00")), id="c2", date="2026-04-01")])
    assert [r["paid"]["major"] for r in out] == ["200.00", "0.00"]


def test_a_threshold_over_two_benefits_joins_the_thresholds_of_each():
    # Thresholds 1,000 (inpatient), 2,000 (outpatient), 2,500 (both): the third overlaps both,
    # so all three are alternatives. Outpatient 6,000: burden 3,000; excess max(−1,000, 1,000,
    # 500) = 1,000, paid 1,000.00. Inpatient 2,000: burden 1,000; excess max(0, 1,000, 1,500) =
    # 1,500: 500.00 more.
    p = policy("scheme employee\n  fund major on burden\n    threshold 1000 for inpatient\n"
               "    threshold 2000 for outpatient\n    threshold 2500 for inpatient outpatient\n    rate 100%\n"
               "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n")
    out = p.settle_all([claim(items(("A", "6000.00")), benefit="outpatient"),
                        claim(items(("A", "2000.00")), id="c2", date="2026-04-01")])
    assert [r["paid"]["major"] for r in out] == ["1000.00", "500.00"]


def test_a_layer_whose_terms_fail_fails_the_claims_that_reach_it_with_its_own_error():
    # The layer's `rate as level1` finds no rate at level 1: a level-2 claim is told so (the basic
    # fund's terms were fine); a level-3 claim settles: 50% of 10,000, then 50% of the burden 5,000.
    p = policy("scheme employee\n  fund major on burden\n    level3 rate 50%\n    level2 rate as level1\n"
               "  inpatient deductible none rate 50%\n")
    assert p.settle(claim(facility={"level": "level2"}))["error"] == {
        "code": "no-clause", "field": None, "message": "`rate as level1` (line 6) finds no rate at level1"}
    assert p.settle(claim())["paid"] == {"basic": "5000.00", "major": "2500.00"}


@pytest.mark.parametrize("clauses, basic", [
    # The class rate is the normal bed's (40%), for every kind of bed: the isolation bed's 200 at
    # 40% = 80 and A's 1,000 at 80% = 800: 880.00.
    ("  bed isolation rate 60%\n  bed normal rate 40%\n", "880.00"),
    # No rate for a normal bed: the class has no rate of its own, so the isolation bed is paid at
    # the general 80% like the rest: 960.00.
    ("  bed isolation rate 60%\n", "960.00"),
])
def test_a_bed_class_rate_is_the_normal_beds_for_every_kind(clauses, basic):
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n" + clauses)
    r = p.settle(claim([{"class": "bed", "amount": "200.00", "kind": "isolation", "days": 5},
                        {"class": "A", "amount": "1000.00"}]))
    assert r["paid"]["basic"] == basic


def test_an_item_classs_rate_as_another_level_is_that_levels_rate_for_the_class():
    # B: 50%; at level 2, `B rate as level3 - 10 points`: level 3's 50% − 10 = 40% of 1,000 = 400.00
    # (before, `rate as` looked for a rate without the class and found none).
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  B rate 50%\n"
               "  level2 B rate as level3 - 10 points\n")
    r = p.settle(claim(items(("B", "1000.00")), facility={"level": "level2"})).to_json()
    assert r["paid"]["basic"] == "400.00"
    assert next(s for s in r["trace"] if s["step"] == "rate" and s.get("line") == 6)["detail"] == "class B: 40%"


def test_a_benefit_cap_listed_after_a_cap_of_another_event_still_counts_the_claims_payments():
    # Maternity: 1,000 a year for every event, 5,000 for deliveries (that pool sorts first).
    # Antenatal claims of 800 and 800: 800.00, then 200.00.
    p = policy("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n    cap 1000 yearly\n"
               "    delivery cap 5000 yearly\n")
    out = p.settle_all([claim(items(("A", "800.00")), benefit="maternity", maternity=["antenatal"]),
                        claim(items(("A", "800.00")), id="c2", date="2026-04-01", benefit="maternity",
                              maternity=["antenatal"])])
    assert [r["paid"]["maternity"] for r in out] == ["800.00", "200.00"]


def test_a_bed_class_rate_as_another_level_is_the_normal_beds_there():
    # Beds 40%, normal beds at level 3 50%; at level 2 `bed rate as level3 - 10 points`: level 3's
    # normal-bed 50% − 10 = 40% for every bed: the isolation bed's 200 → 80.00, A's 1,000 at 80%
    # → 800.00.
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  bed rate 40%\n  level3 bed normal rate 50%\n"
               "  level2 bed rate as level3 - 10 points\n")
    r = p.settle(claim([{"class": "bed", "amount": "200.00", "kind": "isolation", "days": 5},
                        {"class": "A", "amount": "1000.00"}], facility={"level": "level2"}))
    assert r["paid"]["basic"] == "880.00"


def test_a_referral_up_from_a_level_without_a_deductible_of_its_own_pays_the_whole_standard():
    # Level 1 has no deductible; its `deductible + 100` has nothing to raise (a level-1 stay pays
    # none). Referred up from level 1, a level-2 stay pays the difference 600 − 0 = 600:
    # (10,000 − 600) × 80% = 7,520.00.
    p = policy("scheme employee\n  inpatient rate 80%\n    level2 deductible 600 referral-difference\n"
               "    level3 deductible 900 referral-difference\n    level1 deductible + 100\n")
    r = p.settle(claim(facility={"level": "level2"}, referred_from="level1")).to_json()
    assert (r["deductible"], r["paid"]["basic"]) == ("600.00", "7520.00")
    assert step(r, "deductible")["detail"] == "referred up from level1: the difference of the standard deductibles " \
                                              "600.00 - 0.00"
    assert p.settle(claim(facility={"level": "level1"}))["deductible"] == "0.00"


def test_an_item_classs_rate_as_a_level_whose_rate_is_as_another_follows_both_for_the_class():
    # Class B: 50%, 60% at level 3; at level 2 `B rate as level3 - 10 points` (50%), at level 1
    # `B rate as level2 - 5 points`: 60 − 10 − 5 = 45% of 1,000 = 450.00 (A's 1,000 at 80%: 800.00).
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  B rate 50%\n  level3 B rate 60%\n"
               "  level2 B rate as level3 - 10 points\n  level1 B rate as level2 - 5 points\n")
    r = p.settle(claim(items(("A", "1000.00"), ("B", "1000.00")), facility={"level": "level1"})).to_json()
    assert r["paid"]["basic"] == "1250.00"
    assert [s["detail"] for s in r["trace"] if s["step"] == "rate"] == ["class B: 45%", "80%"]

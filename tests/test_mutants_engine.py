"""Tests that kill the mutation run's survivors in engine.py, plan.py, settle.py and terms.py
(docs/reliability.md, "Mutation testing"): each asserts an exact amount, line or message
worked out by hand from the policy text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from small_policies import claim, items, policy

ROOT = Path(__file__).resolve().parent.parent
SUIZHOU = medpolicy.load(ROOT / "policies" / "suizhou.med")


# ---- plan._require_measures: a claim left without a rate for want of a measure -------------
# The message names the measure's field and the lines of the clauses that need it: one line,
# a run of lines, lines apart; a measure fed by a nested field names that field.

@pytest.mark.parametrize("body, measure, where, field", [
    ("    age >= 60 rate 85%\n", "age", "line 5", "age"),
    ("    age < 40 rate 80%\n    age >= 40 age < 60 rate 85%\n    age >= 60 rate 90%\n", "age", "lines 5–7", "age"),
    ("    age < 60 rate 80%\n    cap 50000 yearly\n    age >= 60 rate 90%\n", "age", "lines 5, 7", "age"),
    ("    chronic-diseases < 2 rate 80%\n    chronic-diseases >= 2 rate 90%\n", "chronic-diseases", "lines 5–6",
     "history.chronic_diseases"),
])
def test_the_missing_measure_names_its_field_and_the_clauses_lines(body, measure, where, field):
    p = policy("scheme employee\n  inpatient deductible 0\n" + body)
    assert p.settle(claim())["error"] == {
        "code": "missing-field", "field": field,
        "message": f"the policy's rates for this claim depend on `{measure}` ({where}), and the claim gives no {field}"}


def test_a_claim_with_the_measure_outside_every_clause_has_no_rate_not_a_missing_field():
    # `age >= 60 rate 85%` only: a claim aged 30 gives its age; no clause gives it a rate.
    p = policy("scheme employee\n  inpatient deductible 0\n    age >= 60 rate 85%\n")
    error = p.settle(claim(age=30))["error"]
    assert (error["code"], error["field"]) == ("no-clause", None)
    assert p.settle(claim(age=60))["paid"] == {"basic": "8500.00"}


# ---- plan._item_rule: a class with its own rate, a bed of another kind, the pre-payment's line --

ITEMS = ("parameter bed_r\nscheme employee\n  inpatient deductible none rate 80%\n  bed rate bed_r\n"
         "  bed isolation ceiling 40 daily\n  B prepay 10%\n")


def test_a_bed_of_another_kind_is_paid_at_its_class_rate_and_the_prepayment_cites_its_line():
    # Total 1,700: B pre-pays 10% of 500 = 50 (line 8); eligible 1,650. The isolation bed (200,
    # within 5 days × 40) is paid at the class rate 50% (line 6): 100; the rest, 1,450, at 80%
    # (line 5): 1,160; basic 1,260.00 (not 1,650 × 80% = 1,320.00 as if the bed had no rate).
    p = policy(ITEMS)
    r = p.settle(claim([{"class": "A", "amount": "1000.00"},
                        {"class": "bed", "amount": "200.00", "kind": "isolation", "days": 5},
                        {"class": "B", "amount": "500.00"}]), params={"bed_r": "50%"}).to_json()
    assert (r["prepay"], r["eligible"], r["paid"]["basic"], r["patient"]) == ("50.00", "1650.00", "1260.00", "440.00")
    steps = [(s["step"], s.get("amount"), s.get("line"), s.get("detail")) for s in r["trace"]]
    assert ("prepay", "50.00", 8, "class B: 10%") in steps
    assert ("rate", None, 6, "class bed: 50%") in steps


# ---- settle.reduced: the deductible's trace note ----------------------------------------------

def _stays(scheme, level, n):
    return [claim(id=f"s{i}", date=f"2026-0{i + 1}-05", scheme=scheme, facility={"level": level},
                  **({} if scheme == "employee" else {"status": None})) for i in range(n)]


def test_the_deductible_note_says_each_reduction_and_a_floor_only_when_it_binds():
    # Suizhou 第二十三条（一）（二）, employees at level 3: 800, − 200 for each earlier stay, not below
    # 400. The third stay is 800 − 400 = 400, exactly the floor: the floor does not bind, so the
    # note has no "not below". The first stay has no note at all.
    claims = [dict(c, status="employed") for c in _stays("employee", "level3", 4)]
    out = [r.to_json() for r in SUIZHOU.settle_all(claims)]
    ded = [next(s for s in r["trace"] if s["step"] == "deductible") for r in out]
    assert [d["amount"] for d in ded] == ["800.00", "600.00", "400.00", "400.00"]
    assert "detail" not in ded[0]
    assert ded[2]["detail"] == "800.00 2 earlier stay(s) this year: - 200.00 each"
    assert ded[3]["detail"] == "800.00 3 earlier stay(s) this year: - 200.00 each, not below 400.00"


@pytest.mark.parametrize("adjust, amount, note", [
    ("- 200", "700.00", "900.00 - 200.00"),
    ("+ 100", "1000.00", "900.00 + 100.00"),
    ("+ 0.50", "900.50", "900.00 + 0.50"),
])
def test_a_deductible_adjustment_is_noted_with_its_sign(adjust, amount, note):
    p = policy(f"scheme employee\n  inpatient deductible 900 rate 80%\n    level3 deductible {adjust}\n")
    r = p.settle(claim()).to_json()
    ded = next(s for s in r["trace"] if s["step"] == "deductible")
    assert (ded["amount"], ded["detail"]) == (amount, note)


def test_an_adjusted_deductible_without_a_repeat_rule_is_the_same_on_a_later_stay():
    # `deductible 900`, `level3 deductible - 100`: 800 on every stay; no repeat-stay rule.
    p = policy("scheme employee\n  inpatient deductible 900 rate 80%\n    level3 deductible - 100\n")
    out = [r.to_json(trace=False) for r in p.settle_all([claim(id="a"), claim(id="b", date="2026-04-01")])]
    assert [(r["deductible"], r["paid"]["basic"]) for r in out] == [("800.00", "7360.00"), ("800.00", "7360.00")]


# ---- engine._on_burden and _burden_positions: the burden layer's trace ------------------------

def test_shaoxing_cost_above_the_outpatient_cap_is_no_burden_and_the_excess_is_noted():
    # Shaoxing employees (第二十四条, 第三十五条 末款, 第三十六条（一）). Outpatient 20,000 at level 3:
    # deductible 400, 65%; the fund reaches its 6,000 cap at 400 + 6,000 / 0.65 = 9,630.769…, so
    # 10,369.23 lies above the cap and is no burden: the burden is 20,000 − 6,000 − 10,369.23 =
    # 3,630.77. A stay of 100,000 then: deductible 1,200, (50,000 − 1,200) × 80% + 50,000 × 85% =
    # 81,540.00; burden 18,460, over the stays' 18,000 by 460 (with the outpatient burden,
    # 22,090.77 stays under 25,000): the layer pays 70% of 460 = 322.00.
    from medpolicy.tomlcompat import tomllib
    params = tomllib.loads((ROOT / "policies" / "shaoxing.test.toml").read_text(encoding="utf-8"))["params"]
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    claims = [claim(id="o", date="2026-02-01", benefit="outpatient", items=[{"class": "A", "amount": "20000.00"}]),
              claim(id="i", date="2026-03-01", items=[{"class": "A", "amount": "100000.00"}])]
    out, stay = [r.to_json() for r in shaoxing.settle_all(claims, params=params)]
    steps = {s["step"]: s for s in out["trace"]}
    assert steps["above cap"] == {"step": "above cap", "amount": "10369.23",
                                  "detail": "cost above the outpatient cap 6000.00: no major burden"}
    assert (steps["major base"]["amount"], steps["major base"]["detail"]) == \
        ("3630.77", "burden this year 0.00 -> 3630.77, threshold 25000.00; excess over the thresholds 0.00 -> 0.00")
    assert (stay["paid"]["basic"], stay["paid"]["major"]) == ("81540.00", "322.00")
    base = next(s for s in stay["trace"] if s["step"] == "major base")
    assert (base["amount"], base["detail"]) == (
        "18460.00", "burden this year 0.00 -> 18460.00, threshold 18000.00; "
        "burden this year 3630.77 -> 22090.77, threshold 25000.00; excess over the thresholds 0.00 -> 460.00")


# ---- settle.covered_by_cap and cost_above_cap: what lies above a benefit's cap ----------------
# A layer on the burden that leaves out the cost above the outpatient cap (Shaoxing 第三十五条
# 末款's reading: the cap covers the year's costs at the lowest rates first). Outpatient 50%,
# herbal 80%, B 0%, cap 100 a year; the layer pays all the burden (100%, no threshold).

CAPPED = ("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
          "  outpatient deductible none rate 50%\n    cap 100 yearly\n  B rate 0%\n  herbal rate 80%\n")


@pytest.mark.parametrize("claims, paid", [
    # A 300, B 50: the fund pays 100 (150 capped). Covered: B's 50 (it uses no room), then 100 /
    # 50% = 200 of A: above 350 − 250 = 100; burden 350 − 100 − 100 = 150.
    ([[("A", "300.00"), ("B", "50.00")]], [("100.00", "150.00")]),
    # herbal 50 (40.00), then A 200: 100 would pass the 60 left, pays 60.00. Covered, lowest rate
    # first: A's 200 uses the whole 100 (exactly), herbal's 50 is above: the claim adds 200 to
    # the covered cost, which was 50 before: above 200 − 150 = 50; burden 200 − 60 − 50 = 90.
    ([[("herbal", "50.00")], [("A", "200.00")]], [("40.00", "10.00"), ("60.00", "90.00")]),
    # herbal 50 (40.00), then A 40 (20.00): nothing is above the cap; burden 40 − 20 = 20.
    ([[("herbal", "50.00")], [("A", "40.00")]], [("40.00", "10.00"), ("20.00", "20.00")]),
    # A 199 (99.50, 0.50 of room left), then herbal 50: pays 0.50, which covers 0.50 / 80% =
    # 0.625 of it: above 49.375; burden 50 − 0.50 − 49.375 = 0.125 → 0.13 (half-up).
    ([[("A", "199.00")], [("herbal", "50.00")]], [("99.50", "99.50"), ("0.50", "0.13")]),
    # A 300 reaches the cap; herbal 1.00 is then wholly above it: no burden.
    ([[("A", "300.00")], [("herbal", "1.00")]], [("100.00", "100.00"), ("0.00", "0.00")]),
    # A 150 (75.00), then A 100 at the same rate: the year's 250 of A, 200 covered, 150 of it
    # before: above 100 − 50 = 50; burden 100 − 25 − 50 = 25.
    ([[("A", "150.00")], [("A", "100.00")]], [("75.00", "75.00"), ("25.00", "25.00")]),
])
def test_the_cost_above_a_benefits_cap_is_no_burden_lowest_rates_covered_first(claims, paid):
    p = policy(CAPPED)
    settled = p.settle_all([claim(id=f"c{i}", date=f"2026-0{i + 2}-01", benefit="outpatient",
                                  items=[{"class": c, "amount": a} for c, a in items])
                            for i, items in enumerate(claims)])
    assert [(r["paid"]["basic"], r["paid"]["major"]) for r in settled] == paid


def test_a_layer_on_what_remains_leaves_out_the_first_personal_share_unless_it_says_so():
    # Remote-self care pre-pays 10% of 1,000 = 100 first; the basic fund pays 80% of 900 = 720;
    # what remains of the eligible cost is 900 − 720 = 180, and the layer pays 50%: 90.00
    # (140.00 if the 100 were counted, which needs `including first-share`).
    p = policy("scheme employee\n  fund supplement on remaining\n    rate 50%\n"
               "  inpatient deductible 0 rate 80%\n    remote-self prepay 10%\n")
    r = p.settle(claim([{"class": "A", "amount": "1000.00"}], place="remote-self")).to_json(trace=False)
    assert (r["prepay"], r["paid"], r["patient"]) == ("100.00", {"basic": "720.00", "supplement": "90.00"}, "190.00")


def test_a_stay_below_the_basic_cap_has_no_step_of_the_layer_above_it():
    # Suihua employees, level 3: (10,000 − 900) × 85% = 7,735.00; the major layer (第二十八条（二）)
    # pays only above the 120,000 cap, so the sheet shows no major step at all.
    suihua = medpolicy.load(ROOT / "policies" / "suihua.med")
    r = suihua.settle(claim()).to_json()
    assert [(s["step"], s.get("amount")) for s in r["trace"]] == [
        ("total", "10000.00"), ("eligible", "10000.00"), ("deductible", "900.00"), ("rate", None),
        ("basic", "7735.00"), ("patient", "2265.00")]


def test_a_year_carried_in_state_keeps_the_costs_the_cap_covers():
    # As the last case above, one claim at a time: the second claim gets the first one's state.
    p = policy(CAPPED)
    first = p.settle(claim(id="a", date="2026-02-01", benefit="outpatient", items=[{"class": "A", "amount": "150.00"}]))
    second = p.settle(claim(id="b", date="2026-03-01", benefit="outpatient", items=[{"class": "A", "amount": "100.00"}]),
                      state=first.state)
    assert (first["paid"], second["paid"]) == ({"basic": "75.00", "major": "75.00"}, {"basic": "25.00", "major": "25.00"})


@pytest.mark.parametrize("amount, prepay", [("300.00", "30.00"), ("800.00", "400.00")])
def test_a_tiered_prepayment_without_a_unit_price_takes_the_items_amount_as_its_price(amount, prepay):
    # domain.md (Ziyang): the share of the item's unit-price tier applies to the whole item; an
    # item that gives no unit price is one unit: 300 is in the 10% tier, 800 in the 50% one.
    p = policy("scheme employee\n  inpatient deductible none rate 100%\n  material prepay 10% to 500, 50% above\n")
    r = p.settle(claim([{"class": "material", "amount": amount}])).to_json(trace=False)
    assert (r["prepay"], r["paid"]["basic"]) == (prepay, str(Decimal(amount) - Decimal(prepay)))


def test_a_daily_cap_is_shared_by_the_days_claims_and_renewed_the_next_day():
    # `cap 100 daily`, 100%: 150 → 100.00; the same day 50 more → 0.00; the next day 150 → 100.00.
    p = policy("scheme employee\n  inpatient deductible none rate 100%\n    cap 100 daily\n")
    claims = [claim(id="a", items=[{"class": "A", "amount": "150.00"}]),
              claim(id="b", items=[{"class": "A", "amount": "50.00"}]),
              claim(id="c", date="2026-03-02", items=[{"class": "A", "amount": "150.00"}])]
    out = [r.to_json() for r in p.settle_all(claims)]
    assert [r["paid"]["basic"] for r in out] == ["100.00", "0.00", "100.00"]
    cap = next(s for s in out[1]["trace"] if s["step"] == "basic cap")
    assert (cap["line"], cap["detail"]) == (5, "daily cap 100.00 leaves 0.00")


# ---- terms._rank_value: clauses of two groups a member belongs to (就高) ----------------------

def test_a_member_of_two_groups_gets_no_cap_over_a_higher_cap():
    # 100%, cap 5,000; extreme poverty: no cap; low income: 8,000. On 10,000: both groups →
    # 10,000.00 (no cap beats any cap); low income alone → 8,000.00; neither → 5,000.00.
    p = policy("scheme employee\n  inpatient deductible none rate 100%\n    cap 5000 yearly\n"
               "    extreme-poverty cap none\n    low-income cap 8000 yearly\n")
    paid = [p.settle(claim(groups=g))["paid"]["basic"] for g in (["extreme-poverty", "low-income"], ["low-income"], [])]
    assert paid == ["10000.00", "8000.00", "5000.00"]


def test_a_member_of_two_groups_gets_the_longer_allowance():
    # Delivery allowance: 98 days; low income 100; extreme poverty 120. A member of both gets
    # 120 days of the monthly wage 3,000 / 30: 12,000.00.
    p = policy("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n"
               "    delivery allowance 98 days\n    low-income delivery allowance 100 days\n"
               "    extreme-poverty delivery allowance 120 days\n")
    r = p.settle(claim(benefit="maternity", maternity=["delivery"], groups=["extreme-poverty", "low-income"],
                       wage="3000")).to_json(trace=False)
    assert (r["paid"]["maternity"], r["allowance"]) == ("10000.00", "12000.00")


def test_a_layers_cap_is_a_step_of_the_sheet_and_binds_over_the_year():
    # Basic 50% of 1,000 = 500; the layer pays 50% of the burden 500 = 250, capped at 100 (line 6);
    # a second stay: the cap is used up, the layer pays 0.00.
    p = policy("scheme employee\n  fund major on burden\n    rate 50%\n    cap 100 yearly\n"
               "  inpatient deductible none rate 50%\n")
    stays = [claim(items=[{"class": "A", "amount": "1000.00"}]),
             claim(id="c2", date="2026-04-01", items=[{"class": "A", "amount": "1000.00"}])]
    out = [r.to_json() for r in p.settle_all(stays)]
    assert [r["paid"]["major"] for r in out] == ["100.00", "0.00"]
    caps = [next(s for s in r["trace"] if s["step"] == "major cap") for r in out]
    assert [(s["amount"], s["line"], s["detail"]) for s in caps] == [
        ("100.00", 6, "yearly cap 100.00 leaves 100.00"), ("100.00", 6, "yearly cap 100.00 leaves 0.00")]


def test_a_layers_daily_cap_is_shared_by_the_days_claims():
    # As above with `cap 100 daily`: 100.00, the same day 0.00, the next day 100.00 again.
    p = policy("scheme employee\n  fund major on burden\n    rate 50%\n    cap 100 daily\n"
               "  inpatient deductible none rate 50%\n")
    stays = [claim(id=i, date=d, items=[{"class": "A", "amount": "1000.00"}])
             for i, d in (("a", "2026-03-01"), ("b", "2026-03-01"), ("c", "2026-03-02"))]
    assert [r["paid"]["major"] for r in p.settle_all(stays)] == ["100.00", "0.00", "100.00"]


@pytest.mark.parametrize("including, major", [("", "180.00"), (" including first-share", "280.00")])
def test_a_burden_layer_counts_the_first_personal_share_only_when_it_says_so(including, major):
    # Remote-self: 10% of 1,000 = 100 first; basic 80% of 900 = 720; the burden is 900 − 720 =
    # 180, or 280 with the first share; the layer pays all of it.
    p = policy(f"scheme employee\n  fund major on burden{including}\n    rate 100%\n"
               "  inpatient deductible 0 rate 80%\n    remote-self prepay 10%\n")
    r = p.settle(claim([{"class": "A", "amount": "1000.00"}], place="remote-self"))
    assert r["paid"] == {"basic": "720.00", "major": major}


def test_a_claim_below_the_benefits_cap_has_no_above_cap_step():
    p = policy(CAPPED)
    r = p.settle(claim(benefit="outpatient", items=[{"class": "A", "amount": "40.00"}])).to_json()
    assert r["paid"] == {"basic": "20.00", "major": "20.00"}
    assert [s["step"] for s in r["trace"]] == ["total", "eligible", "deductible", "rate", "basic", "major base",
                                               "major", "patient"]


def test_clauses_of_two_groups_that_cannot_be_ranked_make_the_claim_ambiguous():
    # `terms level1` and `terms level2` for two groups: nothing says which is more favourable, so
    # a member of both gets an error row naming both lines; a member of one gets its terms
    # (low income: level 1's 90% of 1,000 = 900.00).
    p = policy("scheme employee\n  inpatient deductible none\n    primary level1 rate 90%\n    level2 rate 80%\n"
               "    level3 rate 70%\n    low-income terms level1\n    extreme-poverty terms level2\n")
    items = [{"class": "A", "amount": "1000.00"}]
    assert p.settle(claim(items, groups=["low-income", "extreme-poverty"]))["error"] == {
        "code": "ambiguous", "field": None,
        "message": "the clauses at lines 8, 9 all apply to this claim and disagree on terms"}
    assert p.settle(claim(items, groups=["low-income"]))["paid"] == {"basic": "900.00"}


@pytest.mark.parametrize("facility_type, basic", [("pharmacy", "650.00"), ("hospital", "750.00")])
def test_shaoxing_a_primary_level_pharmacy_is_not_primary_care(facility_type, basic):
    # Shaoxing 第二十四条（二）: `primary not pharmacy rate employed 75%`; a pharmacy gets the
    # other facilities' 65%. Outpatient 1,400, yearly deductible 400: 1,000 × 65% or 75%.
    from medpolicy.tomlcompat import tomllib
    params = tomllib.loads((ROOT / "policies" / "shaoxing.test.toml").read_text(encoding="utf-8"))["params"]
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    r = shaoxing.settle(claim([{"class": "A", "amount": "1400.00"}], benefit="outpatient",
                              facility={"level": "primary", "type": facility_type}), params=params)
    assert r["paid"]["basic"] == basic


# ==== Survivors of the full run (2026-12-06, 10:00): engine.py ================================

def step(result: dict, name: str) -> dict:
    return next(s for s in result["trace"] if s["step"] == name)


# ---- Engine.plan: one plan per signature and parameters, a bounded cache ----------------------

def _counting_build(monkeypatch, fail=None):
    from medpolicy import engine
    built, real = [], engine.build

    def counting(compiled, facts, params, *shared):
        built.append(facts.level)
        if fail is not None:
            raise fail(compiled)
        return real(compiled, facts, params, *shared)
    monkeypatch.setattr(engine, "build", counting)
    return built


def test_a_plan_is_built_once_per_claim_signature(monkeypatch):
    built = _counting_build(monkeypatch)
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n    level2 rate 70%\n")
    out = p.settle_all([claim(), claim(id="c2", date="2026-04-01"), claim(id="c3", facility={"level": "level2"})])
    assert [r["paid"]["basic"] for r in out] == ["8000.00", "8000.00", "7000.00"]
    assert built == ["level3", "level2"]


def test_plans_share_an_item_classes_rule_where_the_item_clauses_read_the_same_facts():
    # Class B pre-pays 10%, 20% at level 2; no item clause reads the place. Four plans (two
    # levels, two places) make two rules of class B, one a level, each shared by both places.
    p = policy("scheme employee\n  inpatient deductible none rate 100%\n  B prepay 10%\n    level2 prepay 20%\n")
    prepaid = [p.settle(claim([{"class": "B", "amount": "1000.00"}], id=f"{lv}-{place}", facility={"level": lv},
                              place=place))["prepay"]
               for lv in ("level3", "level2") for place in ("local", "remote-self")]
    assert prepaid == ["100.00", "100.00", "200.00", "200.00"]
    assert len(p._engine._plans) == 4
    rules = [k for k in p._engine._item_rules if k[0] != "item clauses read"]
    assert sorted((k[0][1][1], k[1]) for k in rules) == [(("level2",), "B"), (("level3",), "B")]


def test_a_signatures_missing_parameter_error_is_kept_not_built_again(monkeypatch):
    from medpolicy.plan import missing_parameters
    built = _counting_build(monkeypatch, fail=lambda compiled: missing_parameters(compiled, {"d"}))
    p = policy('parameter d "the deductible"\nscheme employee\n  inpatient deductible d rate 80%\n')
    rows = [r["error"] for r in p.settle_all([claim(), claim(id="c2", date="2026-04-01")])]
    assert rows == [{"code": "missing-parameter", "field": None,
                     "message": "this claim's terms need parameter the run did not give: d (the deductible); "
                                "give it with --param d=VALUE (or params={'d': ...})"}] * 2
    assert built == ["level3"]


def test_a_full_plan_cache_is_emptied_and_refilled(monkeypatch):
    from medpolicy import engine
    monkeypatch.setattr(engine, "MAX_PLANS", 2)
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n    level2 rate 70%\n    level1 rate 90%\n")
    out = p.settle_all([claim(facility={"level": lv}, id=lv) for lv in ("level1", "level2", "level3")])
    assert [r["paid"]["basic"] for r in out] == ["9000.00", "7000.00", "8000.00"]
    assert len(p._engine._plans) == 1   # two plans held: the third emptied the cache first


def test_parameters_given_as_a_plain_dict_key_the_plans_by_their_values():
    # The engine caches plans per signature and parameters; a caller of the engine itself may
    # give a plain dict (no precomputed key): 50% and 80% are two plans.
    from decimal import Decimal
    from medpolicy.settle import Year
    p = policy("parameter r\nscheme employee\n  inpatient deductible none rate r\n")
    facts = p._read(claim())
    paid = [p._engine.settle(facts, Year(), {"r": Decimal(r)}, trace=False)[0]["paid"]["basic"] for r in ("0.5", "0.8")]
    assert paid == [Decimal("5000.00"), Decimal("8000.00")]


# ---- an unexpected failure: the claim's error row names the stage and the clause or field --------

def _boom(*args, **kwargs):
    raise RuntimeError("boom")


def _internal(message, field=None):
    return {"code": "internal", "field": field, "message": f"could not settle ({message}): RuntimeError('boom')"}


def test_an_unexpected_failure_names_the_stage_it_happened_in(monkeypatch):
    from medpolicy import accounts, engine
    # The stages name where they failed (a generated function leaves any failure to them, and
    # commits and adds its layers' bases inline).
    monkeypatch.setattr(engine.Engine, "_straight", lambda self, *args, **kwargs: None)
    plain = policy("scheme employee\n  inpatient deductible none rate 80%\n")
    layered = policy("scheme employee\n  fund major on burden\n    rate 50%\n  inpatient deductible none rate 80%\n")
    with monkeypatch.context() as m:
        m.setattr(engine, "build", _boom)
        assert plain.settle(claim())["error"] == _internal("plan")
    with monkeypatch.context() as m:
        m.setattr(accounts, "pay", _boom)
        assert plain.settle(claim(account={"balance": "100.00"}))["error"] == _internal("account")
    with monkeypatch.context() as m:
        m.setattr(engine, "_commit", _boom)
        assert plain.settle(claim())["error"] == _internal("commit")
        assert layered.settle(claim())["error"] == _internal("commit")
    with monkeypatch.context() as m:
        m.setitem(engine._LAYER_BASES, "burden", _boom)
        assert layered.settle(claim())["error"] == _internal("layers, the clause at line 5")
    ceiling = policy("scheme employee\n  inpatient deductible none rate 80%\n  bed ceiling 40 daily\n")
    with monkeypatch.context() as m:
        m.setattr(engine, "_over_ceiling", _boom)
        bed = [{"class": "bed", "amount": "300.00", "days": 5}]
        assert ceiling.settle(claim(bed))["error"] == _internal("costs, the clause at line 5, claim field items[0]",
                                                                 "items[0]")


# ---- the personal account's stage: when it runs -----------------------------------------------

def test_a_claim_no_fund_pays_still_says_why_the_account_pays_nothing():
    p = policy("scheme employee\n  account self-pay own-expense\n  inpatient deductible 0 rate 80%\n"
               "    remote-self not-covered\n")
    r = p.settle(claim(place="remote-self")).to_json()
    assert (r["patient"], r["account"], r["cash"]) == ("10000.00", "0.00", "10000.00")
    assert r["trace"][2:] == [
        {"step": "not covered", "line": 6, "detail": "no fund pays this claim"},
        {"step": "account", "amount": "0.00", "line": 4, "detail": "the claim gives no account balance (account.balance)"}]


def test_the_accounts_balance_carries_to_a_claim_that_gives_none():
    p = policy("scheme employee\n  inpatient deductible 0 rate 80%\n")
    out = [r.to_json(trace=False) for r in p.settle_all([claim(account={"balance": "500.00"}),
                                                          claim(id="c2", date="2026-04-01")])]
    assert [r.get("account_balance") for r in out] == ["500.00", "500.00"]


# ---- costs: notes of defaults, ceilings, class pre-payments and rates -------------------------

def test_the_defaults_of_the_plan_and_of_an_item_class_are_both_noted_after_the_total():
    p = policy('parameter r "the rate" default 80% from "x"\nparameter pb "B\'s share" default 10% from "y"\n'
               "scheme employee\n  inpatient deductible none rate r\n  B prepay pb\n")
    r = p.settle(claim(items(("B", "1000.00")))).to_json()
    assert r["trace"][:4] == [
        {"step": "total", "amount": "1000.00"},
        {"step": "parameter", "line": 3, "cite": "x", "detail": "r = 80% (the policy's default; no value given for this run)"},
        {"step": "parameter", "line": 4, "cite": "y", "detail": "pb = 10% (the policy's default; no value given for this run)"},
        {"step": "prepay", "amount": "100.00", "line": 7, "detail": "class B: 10%"}]
    assert r["paid"]["basic"] == "720.00"


def test_the_cost_over_a_daily_ceiling_is_a_step_after_the_total():
    # An isolation bed of 300 for 5 days, ceiling 40 a day (line 6): 100 over, excluded.
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  bed rate 50%\n  bed isolation ceiling 40 daily\n")
    r = p.settle(claim([{"class": "bed", "amount": "300.00", "kind": "isolation", "days": 5}])).to_json()
    assert [(s["step"], s.get("amount"), s.get("line"), s.get("detail")) for s in r["trace"][:4]] == [
        ("total", "300.00", None, None), ("over ceiling", "100.00", 6, "bed above 40.00"),
        ("excluded", "100.00", None, "outside the catalogue or over a price ceiling"), ("eligible", "200.00", None, None)]
    assert r["paid"]["basic"] == "100.00"


def test_a_class_with_its_own_rate_is_paid_on_what_its_items_leave_after_prepaying():
    # B pre-pays 10% of each item (50 + 50); the B items leave 900, paid at B's 50%: 450; A's
    # 1,000 at 80%: 800. Basic 1,250.00.
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n  B prepay 10%\n  B rate 50%\n")
    r = p.settle(claim(items(("A", "1000.00"), ("B", "500.00"), ("B", "500.00"))))
    assert (r["prepay"], r["eligible"], r["paid"]["basic"]) == ("100.00", "1900.00", "1250.00")


def test_a_first_personal_share_adds_to_the_class_prepayments():
    # B pre-pays 20% of 500 = 100; remote-self then 10% of the 900 left = 90: prepay 190.00;
    # 80% of 810 = 648.00.
    p = policy("scheme employee\n  inpatient deductible none rate 80%\n    remote-self prepay 10%\n  B prepay 20%\n")
    r = p.settle(claim(items(("A", "500.00"), ("B", "500.00")), place="remote-self"))
    assert (r["prepay"], r["eligible"], r["paid"]["basic"]) == ("190.00", "810.00", "648.00")


# ---- not covered by the member's record ----------------------------------------------------------

def test_a_claim_in_a_month_without_benefits_says_so_from_the_members_record():
    # Suizhou 第三十七条: paid 2026-03-10, covered from the next day.
    import datetime as _dt  # noqa: F401
    member = {"id": "s-day", "sex": "female", "birth": "1966-01-01", "scheme": "resident", "groups": ["severe-mental"],
              "history": [{"from": "2026-01-01", "kind": "resident"}], "contributions": [{"year": 2026, "paid_on": "2026-03-10"}]}
    c = {"id": "a", "person": "s-day", "date": "2026-03-10", "scheme": "resident", "benefit": "inpatient",
         "facility": {"level": "level1"}, "items": [{"class": "A", "amount": "2000.00"}]}
    r = SUIZHOU.settle_all([c], params={"resident_premium": "380", "base_lower": "3500", "base_upper": "17500"},
                           members=[member])[0].to_json()
    s = step(r, "not covered")
    assert (s["cite"], s["detail"]) == ("第三十七条", "no benefits this month (not-started): the member's record")


# ---- the deductible past the basic fund's cap ------------------------------------------------------

def test_past_a_fund_cap_raised_per_disease_the_layer_settles_alone_without_a_deductible():
    # The basic fund's cap 1,000 + 500 for each disease beyond the first: 1,500 with two. A stay
    # of 3,000: deductible 100, the fund pays 1,500 (capped); the layer pays 50% above the cap
    # point 100 + 1,500: 700.00. The next stay: the cap is reached, no deductible, the layer pays
    # 50% of 1,000.
    p = policy("scheme employee\n  fund basic cap 1000 yearly\n    cap + 500 each-extra chronic-diseases\n"
               "  fund major on eligible above cap\n    rate 50%\n  inpatient deductible 100 rate 100%\n")
    h = {"chronic_diseases": 2}
    out = [r.to_json() for r in p.settle_all([claim(items(("A", "3000.00")), history=h),
                                              claim(items(("A", "1000.00")), id="c2", date="2026-04-01", history=h)])]
    assert [r["paid"] for r in out] == [{"basic": "1500.00", "major": "700.00"}, {"basic": "0.00", "major": "500.00"}]
    assert step(out[1], "deductible") == {"step": "deductible", "amount": "0.00", "line": 8,
                                          "detail": "the basic fund's yearly cap is reached: no deductible"}


# ---- paying_fund: bands, limits --------------------------------------------------------------------

def test_a_banded_rate_notes_the_years_eligible_cost_it_is_measured_on():
    # 50% to 5,000, 80% above; deductible 1,000: positions 1,000 -> 10,000: 2,000 + 4,000 = 6,000.00.
    p = policy("scheme employee\n  inpatient deductible 1000 rate 50% to 5000, 80% above\n")
    r = p.settle(claim()).to_json()
    assert (step(r, "rate")["detail"], r["paid"]["basic"]) == (
        "banded over the year's eligible cost 1000.00 -> 10000.00", "6000.00")


@pytest.mark.parametrize("amount, basic, limited", [("450.00", "350.00", False), ("600.00", "500.00", False),
                                                    ("700.00", "500.00", True)])
def test_a_limit_pays_the_cost_above_the_deductible_up_to_the_limit(amount, basic, limited):
    # `limit 500`, deductible 100: 450 → 350.00; 600 → exactly 500.00 (no limit step); 700 → 500.00.
    p = policy("scheme employee\n  inpatient deductible 100 limit 500\n")
    r = p.settle(claim(items(("A", amount)))).to_json()
    assert r["paid"]["basic"] == basic
    assert any(s["step"] == "limit" for s in r["trace"]) == limited


def test_a_limit_benefit_capped_under_layers_above_the_cap():
    # `limit 500` and a yearly cap of 300: 1,000 is paid 300.00. With no rate there is no cap
    # point on a scale: the layer above the cap pays nothing. Outpatient `limit 500`, cap 100:
    # 300 is paid 100.00, the whole cost paid at 100% up to the limit, so the cap covers 100 and
    # 200 is above it: the burden is 300 − 100 − 200 = 0.
    above = policy("scheme employee\n  fund major on eligible above cap\n    rate 50%\n"
                   "  inpatient deductible none limit 500\n    cap 300 yearly\n")
    assert above.settle(claim(items(("A", "1000.00"))))["paid"] == {"basic": "300.00", "major": "0.00"}
    burden = policy("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
                    "  outpatient deductible none limit 500\n    cap 100 yearly\n")
    assert burden.settle(claim(items(("A", "300.00")), benefit="outpatient"))["paid"] == {"basic": "100.00", "major": "0.00"}


# ---- layers above a cap, on the burden ---------------------------------------------------------

def test_after_a_benefits_cap_is_used_up_all_of_a_later_claims_eligible_cost_is_above_it():
    # The inpatient cap 1,000 (not the fund's): 3,000 − deductible 100, the fund pays 1,000; the
    # cap point is 100 + 1,000, the layer pays 50% of 1,900: 950.00. The next stay still owes its
    # deductible 100, but its whole eligible cost lies above the cap point passed before: 500.00.
    p = policy("scheme employee\n  fund major on eligible above cap for inpatient\n    rate 50%\n"
               "  inpatient deductible 100 rate 100%\n    cap 1000 yearly\n")
    out = p.settle_all([claim(items(("A", "3000.00"))), claim(items(("A", "1000.00")), id="c2", date="2026-04-01")])
    assert [(r["deductible"], r["paid"]) for r in out] == [
        ("100.00", {"basic": "1000.00", "major": "950.00"}), ("100.00", {"basic": "0.00", "major": "500.00"})]


def test_a_benefits_own_cap_raised_per_disease_bounds_the_cost_above_it():
    # Outpatient cap 100 + 50 per disease beyond the first: 150 with two. 500 at 50%: the fund
    # pays 150, which covers 300; 200 is above the cap and no burden: 500 − 150 − 200 = 150.
    p = policy("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
               "  outpatient deductible none rate 50%\n    cap 100 yearly\n    cap + 50 each-extra chronic-diseases\n")
    r = p.settle(claim(items(("A", "500.00")), benefit="outpatient", history={"chronic_diseases": 2})).to_json()
    assert r["paid"] == {"basic": "150.00", "major": "150.00"}
    assert step(r, "above cap")["amount"] == "200.00"


def test_the_cost_above_the_cap_counts_every_earlier_claims_cost():
    # CAPPED: A 150 (75.00), A 100 (25.00; 50 above), then A 100 more: the cap is used up and the
    # year's 350 of A has 200 covered: all 100 is above the cap, no burden: 0.00 and 0.00.
    p = policy(CAPPED)
    out = p.settle_all([claim(id=f"c{i}", date=f"2026-0{i + 2}-01", benefit="outpatient", items=items(("A", a)))
                        for i, a in enumerate(("150.00", "100.00", "100.00"))])
    assert [(r["paid"]["basic"], r["paid"]["major"]) for r in out] == [("75.00", "75.00"), ("25.00", "25.00"),
                                                                       ("0.00", "0.00")]


def test_a_banded_layer_over_two_thresholds_measures_the_excess_from_the_first():
    # Inpatient 4,000: burden 2,000, over its 1,000 threshold by 1,000 (outpatient's 3,000 not
    # reached); the excess is placed above the first threshold, 1,000 -> 2,000, in the 50% band
    # (to 2,000): 500.00.
    p = policy("scheme employee\n  fund major on burden\n    threshold 1000 for inpatient\n    threshold 3000 for outpatient\n"
               "    rate 50% to 2000, 100% above\n  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n")
    assert p.settle(claim(items(("A", "4000.00"))))["paid"] == {"basic": "2000.00", "major": "500.00"}


def test_each_burden_layer_counts_its_own_burden_over_every_benefit():
    # major over every benefit (threshold 1,000, 50%); aid only for outpatient (threshold 500, 10%).
    # Inpatient 1,000 (burden 500), outpatient 1,000 twice (500 each). major: 500, 1,000, 1,500:
    # 0, 0, 250.00; aid: 500, 1,000: 0, 50.00.
    p = policy("scheme employee\n  fund major on burden\n    deductible 1000\n    rate 50%\n"
               "  fund aid on burden for outpatient\n    deductible 500\n    rate 10%\n"
               "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n")
    out = p.settle_all([claim(items(("A", "1000.00"))),
                        claim(items(("A", "1000.00")), id="c2", benefit="outpatient", date="2026-04-01"),
                        claim(items(("A", "1000.00")), id="c3", benefit="outpatient", date="2026-05-01")])
    assert [r["paid"] for r in out] == [{"basic": "500.00", "major": "0.00", "aid": "0.00"},
                                        {"basic": "500.00", "major": "0.00", "aid": "0.00"},
                                        {"basic": "500.00", "major": "250.00", "aid": "50.00"}]


def test_a_single_threshold_for_one_benefit_counts_that_benefits_burden_only():
    # threshold 600 for inpatient: outpatient burdens (500, then 500) count nowhere; the inpatient
    # burdens 500 and 500 pass it by 400 on the second stay: 50% of 400 = 200.00.
    p = policy("scheme employee\n  fund major on burden\n    threshold 600 for inpatient\n    rate 50%\n"
               "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n")
    out = [r.to_json() for r in p.settle_all([
        claim(items(("A", "1000.00")), benefit="outpatient"), claim(items(("A", "1000.00")), id="c2", date="2026-04-01"),
        claim(items(("A", "1000.00")), id="c3", benefit="outpatient", date="2026-05-01"),
        claim(items(("A", "1000.00")), id="c4", date="2026-06-01")])]
    assert [r["paid"]["major"] for r in out] == ["0.00", "0.00", "0.00", "200.00"]
    assert step(out[3], "major base") == {"step": "major base", "amount": "500.00", "line": 5,
                                          "detail": "burden this year 500.00 -> 1000.00, threshold 600.00"}


# ---- the maternity allowance ---------------------------------------------------------------------

def test_an_allowance_adds_days_per_extra_unit_of_a_measure_only_when_given_and_pays_a_single_day():
    # delivery: 98 days, + 15 for each chronic disease beyond the first: none given, 98 × 3,000 / 30
    # = 9,800.00; three, 128 days: 12,800.00. antenatal: 1 day, 100.00.
    p = policy("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n"
               "    delivery allowance 98 days\n    delivery allowance + 15 days each-extra chronic-diseases\n"
               "    antenatal allowance 1 days\n")
    out = p.settle_all([claim(benefit="maternity", maternity=["delivery"], wage="3000"),
                        claim(benefit="maternity", maternity=["delivery"], wage="3000", id="c2",
                              history={"chronic_diseases": 3}),
                        claim(benefit="maternity", maternity=["antenatal"], wage="3000", id="c3")])
    assert [r["allowance"] for r in out] == ["9800.00", "12800.00", "100.00"]

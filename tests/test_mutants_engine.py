"""Tests that kill the mutation run's survivors in engine.py, plan.py, settle.py and terms.py
(docs/reliability.md, "Mutation testing"): each asserts an exact amount, line or message
worked out by hand from the policy text."""

from __future__ import annotations

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def policy(body: str):
    return medpolicy.compile(HEAD + body, "t.med")

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUIZHOU = medpolicy.load(ROOT / "policies" / "suizhou.med")


def claim(items=None, **extra):
    c = {"id": "c1", "person": "p", "date": "2026-03-01", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "place": "local", "facility": {"level": "level3"},
         "items": items or [{"class": "A", "amount": "10000.00"}]}
    c.update(extra)
    return c


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
        ("3630.77", "excess over the thresholds 0.00 -> 0.00")
    assert (stay["paid"]["basic"], stay["paid"]["major"]) == ("81540.00", "322.00")
    base = next(s for s in stay["trace"] if s["step"] == "major base")
    assert (base["amount"], base["detail"]) == ("18460.00", "excess over the thresholds 0.00 -> 460.00")

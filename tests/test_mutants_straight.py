"""Tests that kill the mutation run's survivors in straight.py (issue 17; docs/reliability.md,
"Mutation testing"). A plan's generated function is checked in three ways:

- its source, with and without the trace, is exactly the text in tests/golden/straight/ (what
  `med explain --settle-source` prints): a mutant of the generator that changes a name, a
  constant, a note, a comparison or a stage of the generated code changes that text; the
  cases below reach every branch of the generator (the five cities' plans that, between them,
  reach every one the cities have, and small policies for the rest);
- it settles its claims with the engine's stages switched off (a mutant that makes the
  generated code fail would otherwise be hidden by the fallback to the stages, which give the
  same result), with the stages' result and trace (the stages are the reference: no mutant of
  this file touches them) and the hand-worked amounts where a test below says so;
- what it leaves to the stages, and why, is exactly what the plan says.

The golden files are written by `python tests/test_mutants_straight.py --write` (review the
diff: they are the expectation, never rewritten by the tests themselves).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy import engine, straight
from medpolicy.plan import Plan
from small_policies import HEAD, claim, items

ONE_PATH = True  # about the generated path itself: not run once more through the stages (conftest)
ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "straight"

SHAOXING_PARAMS = {"b_prepay": "10%", "aid_rate_cat2": "10%", "aid_cap_cat2": "80000", "aid_rate_cat3": "10%",
                   "aid_cap_cat3": "80000", "aid_rate_cat4": "10%", "aid_cap_cat4": "80000", "prov_avg_wage": "80000",
                   "resident_premium": "80000", "major_premium": "80000"}
SUIHUA_PARAMS = {"avg_wage": "80000", "resident_premium": "80000"}
SUIZHOU_PARAMS = {"base_lower": "80000", "base_upper": "80000", "resident_premium": "80000"}
ZIYANG_PARAMS = {"avg_wage": "80000", "bed_markup": "80000", "avg_pension_2022": "80000"}
BINZHOU_PARAMS = {"resident_premium": "80000", "resident_full_premium": "80000"}


def _again(c: dict, date: str) -> dict:
    """The same claim again later in the year: the generated code then reads a year with
    deductibles, pools and burdens in it."""
    return {**c, "id": c["id"] + "-b", "date": date}


ITEM_RULES = ('parameter r "the rate" default 80% from "x"\nparameter pb "B\'s share" default 10% from "y"\n'
              "scheme employee\n  inpatient deductible none rate r\n  B prepay pb\n  bed isolation ceiling 40 daily\n"
              "  bed prepay 20%\n")

ALLOWANCES = ("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n    delivery allowance 98 days\n"
              "    delivery allowance + 15 days each-extra babies\n"
              "    delivery allowance + 15 days each-extra chronic-diseases\n    antenatal allowance 1 days\n")

# name -> (policy: a city or a policy's text after HEAD, parameters, claims: the first one's
# plan is the case's; the others settle after it in the same year)
_CITY = {
    # Shaoxing's employee maternity stay at a remote level-1 hospital: item rules, a first
    # share, the layers on what remains, events.
    "shaoxing-maternity-employee": ("shaoxing", SHAOXING_PARAMS, [
        {"id": "m1", "person": "p45", "date": "2025-06-15", "scheme": "employee", "benefit": "maternity",
         "facility": {"level": "level1"}, "place": "remote-self", "status": "employed",
         "items": items(("material", "10349.57"), ("partial", "11781.65")), "maternity": ["delivery", "abortion-early"]}]),
    "suihua-outpatient-employee": ("suihua", SUIHUA_PARAMS, [
        {"id": "o1", "person": "p73", "date": "2026-02-04", "scheme": "employee", "benefit": "outpatient",
         "facility": {"level": "level3"}, "place": "remote-self", "status": "employed", "age": 80,
         "items": items(("B", "252849.24")), "account": {"balance": "516.96"}}]),
    "ziyang-maternity-employee": ("ziyang", ZIYANG_PARAMS, [
        {"id": "m1", "person": "p1", "date": "2023-07-28", "scheme": "employee", "benefit": "maternity",
         "facility": {"level": "level2"}, "place": "remote-referred", "status": "retired", "age": 79,
         "items": items(("material", "7359.12"), ("material", "12269.89")),
         "maternity": ["spouse-abortion-early", "abortion-late"]}]),
    "suizhou-maternity-employee": ("suizhou", SUIZHOU_PARAMS, [
        {"id": "m1", "person": "p27", "date": "2024-02-26", "scheme": "employee", "benefit": "maternity",
         "facility": {"level": "level1"}, "place": "remote-self", "status": "retired", "groups": ["severe-mental"],
         "items": items(("material", "14599.10")), "account": {"balance": "3600.46"},
         "maternity": ["threatened-abortion"]}]),
    "shaoxing-outpatient-employee": ("shaoxing", SHAOXING_PARAMS, [
        {"id": "o1", "person": "p89", "date": "2025-06-17", "scheme": "employee", "benefit": "outpatient",
         "facility": {"level": "primary"}, "place": "remote-resident", "status": "employed", "age": 59,
         "groups": ["extreme-poverty", "low-income-edge"],
         "items": items(("herbal", "205688.71"), ("partial", "202707.50"), ("A", "110971.83"))}]),
    "suihua-two-diseases-resident": ("suihua", SUIHUA_PARAMS, [
        {"id": "t1", "person": "p2", "date": "2026-01-19", "scheme": "resident", "benefit": "two-diseases",
         "facility": {"level": "level1"}, "place": "remote-referred", "wage": "10333.96",
         "items": items(("A", "7906.24"), ("herbal", "4054.08"))}]),
    "suizhou-outpatient-resident": ("suizhou", SUIZHOU_PARAMS, [
        {"id": "o1", "person": "p75", "date": "2025-02-17", "scheme": "resident", "benefit": "outpatient",
         "facility": {"level": "level2"}, "place": "remote-emergency", "groups": ["severe-mental"],
         "wage": "1497.51", "maternity": ["iud-insert", "caesarean"],
         "items": items(("A", "273.11"), ("excluded", "6808.26"))}]),
    "shaoxing-maternity-resident-delivery": ("shaoxing", SHAOXING_PARAMS, [
        {"id": "m1", "person": "p119", "date": "2025-09-27", "scheme": "resident", "benefit": "maternity",
         "facility": {"level": "level1"}, "place": "local", "age": 80, "groups": ["low-income-edge", "relapse-poverty"],
         "items": items(("A", "2173.43"), ("herbal", "752.12"), ("herbal", "3644.48")), "maternity": ["delivery"]}]),
    "binzhou-inpatient-resident": ("binzhou", BINZHOU_PARAMS, [
        {"id": "i1", "person": "p66", "date": "2021-09-26", "scheme": "resident", "benefit": "inpatient",
         "facility": {"level": "primary"}, "place": "remote-resident", "wage": "4834.43", "age": 79,
         "items": items(("B", "6003.37"), ("A", "14207.52"), ("herbal", "14040.36"))}]),
}
for _name, (_, _, _claims) in _CITY.items():
    _claims.append(_again(_claims[0], _claims[0]["date"][:5] + "11-20"))

# Small policies for the generator's branches no city plan reaches.
_SMALL = {
    # a daily cap: the day's pool, renewed the next day (100%: 150 -> 100.00, 50 -> 0.00, 150 -> 100.00)
    "daily-cap": ("scheme employee\n  inpatient deductible none rate 100%\n    cap 100 daily\n", {}, [
        claim(items(("A", "150.00")), id="a"), claim(items(("A", "50.00")), id="b"),
        claim(items(("A", "150.00")), id="c", date="2026-03-02")]),
    # a layer's daily cap (basic 50% of 1,000; the layer 50% of the burden 500 = 250, capped at 100)
    "layer-daily-cap": ("scheme employee\n  fund major on burden\n    rate 50%\n    cap 100 daily\n"
                        "  inpatient deductible none rate 50%\n", {}, [
        claim(items(("A", "1000.00")), id="a"), claim(items(("A", "1000.00")), id="b"),
        claim(items(("A", "1000.00")), id="c", date="2026-03-02")]),
    # the fund's cap raised per disease, a layer above it, the deductible waived past the cap
    "cap-per-disease": ("scheme employee\n  fund basic cap 1000 yearly\n    cap + 500 each-extra chronic-diseases\n"
                        "  fund major on eligible above cap\n    rate 50%\n  inpatient deductible 100 rate 100%\n", {}, [
        claim(items(("A", "3000.00")), history={"chronic_diseases": 2}),
        claim(items(("A", "1000.00")), id="c2", date="2026-04-01", history={"chronic_diseases": 2})]),
    # the benefit's own cap raised per disease, a burden layer leaving out the cost above it
    "own-cap-per-disease": ("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
                            "  outpatient deductible none rate 50%\n    cap 100 yearly\n"
                            "    cap + 50 each-extra chronic-diseases\n", {}, [
        claim(items(("A", "500.00")), benefit="outpatient", history={"chronic_diseases": 2}),
        claim(items(("A", "500.00")), id="c2", date="2026-04-01", benefit="outpatient",
              history={"chronic_diseases": 2})]),
    # `limit` (no rate): a layer above the cap pays nothing, there is no cap point on a scale
    "limit-above-cap": ("scheme employee\n  fund major on eligible above cap\n    rate 50%\n"
                        "  inpatient deductible none limit 500\n    cap 300 yearly\n", {}, [
        claim(items(("A", "1000.00")))]),
    # `limit` (no rate) under a burden layer leaving out the cost above the benefit's cap
    "limit-burden": ("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
                     "  outpatient deductible none limit 500\n    cap 100 yearly\n", {}, [
        claim(items(("A", "300.00")), benefit="outpatient")]),
    # layers with no rate for this claim's level: the layer pays nothing
    "layers-without-rate": ("scheme employee\n  fund major on eligible above cap\n    level1 rate 50%\n"
                            "  fund aid on burden\n    level1 rate 50%\n"
                            "  inpatient deductible none rate 50%\n    cap 1000 yearly\n", {}, [
        claim(items(("A", "3000.00"))), claim(items(("A", "3000.00")), id="c2", date="2026-04-01")]),
    # one threshold for one benefit: only that benefit's burden counts
    "threshold-one-benefit": ("scheme employee\n  fund major on burden\n    threshold 600 for inpatient\n    rate 50%\n"
                              "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n", {}, [
        claim(items(("A", "1000.00")), id="c2", date="2026-04-01"),
        claim(items(("A", "1000.00")), id="c3", benefit="outpatient", date="2026-05-01"),
        claim(items(("A", "1000.00")), id="c4", date="2026-06-01")]),
    # two thresholds (the layer passed whole to the helper), bands over the excess
    "two-thresholds": ("scheme employee\n  fund major on burden\n    threshold 1000 for inpatient\n"
                       "    threshold 3000 for outpatient\n    rate 50% to 2000, 100% above\n"
                       "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n", {}, [
        claim(items(("A", "4000.00"))), claim(items(("A", "4000.00")), id="c2", date="2026-04-01")]),
    # two burden layers leaving out the cost above the outpatient cap: their notes share a constant
    "two-burden-layers-above-cap": ("scheme employee\n  fund major on burden excluding above cap of outpatient\n"
                                    "    rate 50%\n  fund aid on burden excluding above cap of outpatient\n    rate 50%\n"
                                    "  outpatient deductible none rate 50%\n    cap 100 yearly\n", {}, [
        claim(items(("A", "500.00")), benefit="outpatient"),
        claim(items(("A", "500.00")), id="c2", date="2026-04-01", benefit="outpatient")]),
    # a rate given as a parameter (`sources_of` binds the run's parameters)
    "parameter-rate": ("parameter r\nscheme employee\n  inpatient deductible 100 rate r\n", {"r": "60%"}, [
        claim(items(("A", "1100.00")))]),
    # item rules: the parameters' defaults noted, a class pre-payment, a bed over its daily ceiling
    "item-rules": (ITEM_RULES, {}, [
        claim(items(("A", "1000.00"), ("B", "1000.00")) + [
            {"class": "bed", "amount": "300.00", "kind": "isolation", "days": 5}, {"class": "excluded", "amount": "200.00"}]),
        claim(items(("excluded", "100.00")) + [{"class": "bed", "amount": "300.00", "kind": "isolation", "days": 5}]
              + items(("B", "500.00")), id="c2", date="2026-04-01")]),
    # not covered (work injury), the maternity allowance still paid: 98 days × 3,000 / 30 = 9,800.00
    "not-covered-allowance": ("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n"
                              "    delivery allowance 98 days\n    work-injury not-covered\n", {}, [
        claim(benefit="maternity", maternity=["delivery"], wage="3000", work_injury=True),
        claim(benefit="maternity", maternity=["delivery"], id="c2", date="2026-04-01", work_injury=True)]),
    # two layers on what remains, at the same rate (one constant): 1,000 at 50% = 500; major 50%
    # of the 500 left = 250; aid 50% of the 250 then left = 125
    "two-remaining-layers": ("scheme employee\n  fund major on remaining\n    rate 50%\n  fund aid on remaining\n"
                             "    rate 50%\n  inpatient deductible none rate 50%\n", {}, [
        claim(items(("A", "1000.00"))), claim(items(("A", "1000.00")), id="c2", date="2026-04-01")]),
    # two extra allowances of the same 15 days (one constant): 98 + 15 × (2 − 1) + 15 × (3 − 1) =
    # 143 days × 3,000 / 30 = 14,300.00; and a one-day allowance (antenatal): 100.00
    "allowance-two-extras": (ALLOWANCES, {}, [
        claim(benefit="maternity", maternity=["delivery"], wage="3000", babies=2, history={"chronic_diseases": 3})]),
    "allowance-one-day": (ALLOWANCES, {}, [claim(benefit="maternity", maternity=["antenatal"], wage="3000")]),
    # a rate from its parameter's default (noted in the trace's head), no item rules: 80% of 1,000
    "parameter-default": ('parameter r "the rate" default 80% from "x"\nscheme employee\n  inpatient deductible none rate r\n',
                          {}, [claim(items(("A", "1000.00")))]),
    # deductibles that are not one amount: 900 − 100 at level 3 = 800, 80% of 9,200 = 7,360.00;
    # 900 halved = 450, 80% of 9,550 = 7,640.00
    "deductible-step": ("scheme employee\n  inpatient deductible 900 rate 80%\n    level3 deductible - 100\n", {}, [
        claim(), claim(id="c2", date="2026-04-01")]),
    "deductible-halved": ("scheme employee\n  inpatient deductible 900 rate 80%\n    level3 deductible halved\n", {}, [
        claim(), claim(id="c2", date="2026-04-01")]),
    # no deductible clause at all (no line to cite): 50% of 10,000 = 5,000.00
    "no-deductible-clause": ("scheme employee\n  inpatient rate 50%\n", {}, [claim()]),
    # a layer on what remains above the deductible: 10,000, deductible 1,000, basic 50% of 9,000 =
    # 4,500; the layer 50% of 10,000 − 4,500 − 1,000 = 2,250.00
    "remaining-above-deductible": ("scheme employee\n  fund major on remaining above deductible\n    rate 50%\n"
                                   "  inpatient deductible 1000 rate 50%\n", {}, [claim()]),
    # a layer on what remains, then one above the cap (which does not count what the first paid):
    # 10,000 at 50%, capped at the fund's 1,000; aid 50% of the 9,000 left = 4,500.00; major 50% of the
    # cost above the cap point 2,000: 4,000.00
    "remaining-then-above-cap": ("scheme employee\n  fund basic cap 1000 yearly\n  fund aid on remaining\n    rate 50%\n"
                                 "  fund major on eligible above cap\n    rate 50%\n"
                                 "  inpatient deductible none rate 50%\n", {}, [claim()]),
    # a layer above the caps of the benefits it is for (the inpatient cap 1,000): 3,000 less the
    # deductible 100, the fund pays 1,000, the layer 50% above the cap point 1,100: 950.00; the
    # next stay's whole eligible cost is above it: the fund 0.00, the layer 500.00
    "above-benefit-cap": ("scheme employee\n  fund major on eligible above cap for inpatient\n    rate 50%\n"
                          "  inpatient deductible 100 rate 100%\n    cap 1000 yearly\n", {}, [
        claim(items(("A", "3000.00"))), claim(items(("A", "1000.00")), id="c2", date="2026-04-01")]),
    # two yearly caps of the outpatient benefit (one shared with inpatient): the burden layer
    # leaves out the cost above the lower of them: 500 at 50% = 250, capped at 100, which covers
    # 200: 300 above the cap, the burden 500 − 100 − 300 = 100.00; the next claim is all above it
    "two-own-caps": ("scheme employee\n  fund major on burden excluding above cap of outpatient\n    rate 100%\n"
                     "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n    cap 100 yearly\n"
                     "    cap 150 yearly with inpatient\n", {}, [
        claim(items(("A", "500.00")), benefit="outpatient"),
        claim(items(("A", "500.00")), id="c2", date="2026-04-01", benefit="outpatient")]),
    # a burden layer that counts the first personal share: 10% of 1,000 first; basic 80% of 900 =
    # 720; the burden 900 − 720 + 100 = 280, all paid by the layer
    "burden-including-first-share": ("scheme employee\n  fund major on burden including first-share\n    rate 100%\n"
                                     "  inpatient deductible 0 rate 80%\n    remote-self prepay 10%\n", {}, [
        claim(items(("A", "1000.00")), place="remote-self")]),
    # two burden layers, each with one threshold for inpatient (one constant for the benefits):
    # burdens 500, then 1,000: major 50% of 1,000 − 600 = 200.00, aid 10% of 1,000 − 800 = 20.00
    "two-thresholds-for-inpatient": ("scheme employee\n  fund major on burden\n    threshold 600 for inpatient\n"
                                     "    rate 50%\n  fund aid on burden\n    threshold 800 for inpatient\n    rate 10%\n"
                                     "  inpatient deductible none rate 50%\n  outpatient deductible none rate 50%\n", {}, [
        claim(items(("A", "1000.00"))), claim(items(("A", "1000.00")), id="c2", date="2026-04-01")]),
    # an allowance with days per extra unit of a measure
    "allowance-per-extra": ("scheme employee\n  maternity paid-by maternity deductible none rate 100%\n"
                            "    delivery allowance 98 days\n"
                            "    delivery allowance + 15 days each-extra chronic-diseases\n", {}, [
        claim(benefit="maternity", maternity=["delivery"], wage="3000", history={"chronic_diseases": 3}),
        claim(benefit="maternity", maternity=["delivery"], id="c2", date="2026-04-01")]),
}

CASES = {**_CITY, **_SMALL}

# Plans the generator leaves to the stages, each with its reason (straight.py's words).
FIRST = ("scheme employee\n  fund basic\n  outpatient deductible 500 yearly rate 70%\n"
         "  outpatient account current first\n")
NOT_TAKEN = {
    # Shaoxing's resident maternity at a primary-level remote hospital: no clause gives a rate
    "no-rate": ("shaoxing", SHAOXING_PARAMS, {
        "id": "m1", "person": "p2", "date": "2025-08-05", "scheme": "resident", "benefit": "maternity",
        "facility": {"level": "primary"}, "place": "remote-resident", "items": items(("herbal", "9594.81"))},
        "no rate: the stages raise the claim's error"),
    "account-first": (FIRST, {}, claim(benefit="outpatient", account={"balance": "300.00"}),
                      "`account first`: a segment before the deductible"),
    # the layer's `rate as level1` finds no rate at level 1
    "layers-raise": ("scheme employee\n  fund major on burden\n    level3 rate 50%\n    level2 rate as level1\n"
                     "  inpatient deductible none rate 50%\n", {}, claim(facility={"level": "level2"}),
                     "its layers raise: the stages raise the claim's error"),
}


def load(spec: str):
    if spec in ("binzhou", "shaoxing", "suihua", "suizhou", "ziyang"):
        return medpolicy.load(ROOT / "policies" / f"{spec}.med")
    return medpolicy.compile(HEAD + spec, "t.med")


def _plan(policy, c: dict, params: dict) -> Plan:
    return policy._engine.plan(policy._read(c), policy.bind(params))


def _golden(name: str, trace: bool) -> Path:
    return GOLDEN / f"{name}{'.traced' if trace else ''}.txt"


def _years(run) -> dict:
    """Every accumulator of every year (values and their exponents, by repr)."""
    return {key: {name: repr(getattr(y, name)) for name in y.__slots__} for key, y in run._years.items()}


def _no_stages(self, *args, **kwargs):
    raise AssertionError("the stages were asked")


# ---- the source: exactly the expected text -------------------------------------------------

@pytest.mark.parametrize("trace", [False, True], ids=["no-trace", "trace"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_plans_generated_source_is_the_expected_text(name, trace):
    spec, params, claims = CASES[name]
    plan = _plan(load(spec), claims[0], params)
    assert straight.source(plan, trace) == _golden(name, trace).read_text(encoding="utf-8")


# ---- the settlement: by the generated function alone, as the stages settle ------------------

@pytest.mark.parametrize("trace", [False, True], ids=["no-trace", "trace"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_plans_claims_are_settled_by_its_generated_function_as_the_stages_do(name, trace, monkeypatch):
    spec, params, claims = CASES[name]
    reference = load(spec)
    reference._engine.settle = reference._engine.settle_stages
    ref_run = reference.run(params, trace=True)
    expected = [ref_run.settle(c) for c in claims]
    policy = load(spec)
    policy._engine._plans.clear()
    monkeypatch.setattr(engine.Engine, "settle_stages", _no_stages)
    run = policy.run(params, trace=trace)
    got = [run.settle(c) for c in claims]
    for g, e in zip(got, expected):
        assert g.ok and e.ok
        assert g.to_json(trace=False) == e.to_json(trace=False)
        if trace:
            assert repr(g.trace) == repr(e.trace)
    assert _years(run) == _years(ref_run)
    plan = _plan(policy, claims[0], params)
    made = plan.straight.traced if trace else plan.straight.fn
    assert made.source == _golden(name, trace).read_text(encoding="utf-8")
    assert (plan.straight.why, plan.straight.left) == (None, 0)


def test_item_rules_settled_by_the_generated_function_note_defaults_ceilings_and_prepayments(monkeypatch):
    # Total 2,500: the excluded 200 and the bed's 300 over 5 days × 40 (100 over, line 8) are
    # excluded: 300; B pre-pays 10% of 1,000 = 100 (line 7), the bed 20% of what is left of it
    # under the ceiling, 200: 40 (line 9); eligible 2,500 − 300 − 140 = 2,060, at 80% = 1,648.00.
    spec, params, claims = CASES["item-rules"]
    monkeypatch.setattr(engine.Engine, "settle_stages", _no_stages)
    r = load(spec).run(params, trace=True).settle(claims[0]).to_json()
    assert (r["excluded"], r["prepay"], r["eligible"], r["paid"], r["patient"]) == (
        "300.00", "140.00", "2060.00", {"basic": "1648.00"}, "852.00")
    assert r["trace"][:8] == [
        {"step": "total", "amount": "2500.00"},
        {"step": "parameter", "line": 3, "cite": "x", "detail": "r = 80% (the policy's default; no value given for this run)"},
        {"step": "parameter", "line": 4, "cite": "y", "detail": "pb = 10% (the policy's default; no value given for this run)"},
        {"step": "prepay", "amount": "100.00", "line": 7, "detail": "class B: 10%"},
        {"step": "over ceiling", "amount": "100.00", "line": 8, "detail": "bed above 40.00"},
        {"step": "prepay", "amount": "40.00", "line": 9, "detail": "class bed: 20%"},
        {"step": "excluded", "amount": "300.00", "detail": "outside the catalogue or over a price ceiling"},
        {"step": "eligible", "amount": "2060.00"}]


@pytest.mark.parametrize("trace", [False, True], ids=["no-trace", "trace"])
def test_a_claim_with_a_class_rate_is_left_to_the_stages_and_counted(trace):
    # B at its own 50%: the generated function leaves the claim (1,000 A at 80% + 1,000 B at 50%
    # = 1,300.00) to the stages, counted once; a claim of A alone it settles itself (800.00).
    policy = load("scheme employee\n  inpatient deductible none rate 80%\n  B rate 50%\n")
    run = policy.run({}, trace=trace)
    both, alone = claim(items(("A", "1000.00"), ("B", "1000.00"))), claim(items(("A", "1000.00")), id="c2")
    assert [run.settle(c)["paid"]["basic"] for c in (both, alone)] == ["1300.00", "800.00"]
    s = _plan(policy, both, {}).straight
    assert (s.traced if trace else s.fn) is not None and s.left == 1


@pytest.mark.parametrize("name, paid", [
    ("not-covered-allowance", [({"basic": "0.00", "maternity": "0.00"}, "9800.00"), ({"basic": "0.00", "maternity": "0.00"}, None)]),
    ("allowance-two-extras", [({"basic": "0.00", "maternity": "10000.00"}, "14300.00")]),
    ("allowance-one-day", [({"basic": "0.00", "maternity": "10000.00"}, "100.00")]),
    ("deductible-step", [({"basic": "7360.00"}, None)] * 2),
    ("deductible-halved", [({"basic": "7640.00"}, None)] * 2),
    ("no-deductible-clause", [({"basic": "5000.00"}, None)]),
    ("remaining-above-deductible", [({"basic": "4500.00", "major": "2250.00"}, None)]),
    ("remaining-then-above-cap", [({"basic": "1000.00", "aid": "4500.00", "major": "4000.00"}, None)]),
    ("above-benefit-cap", [({"basic": "1000.00", "major": "950.00"}, None), ({"basic": "0.00", "major": "500.00"}, None)]),
    ("two-own-caps", [({"basic": "100.00", "major": "100.00"}, None), ({"basic": "0.00", "major": "0.00"}, None)]),
    ("burden-including-first-share", [({"basic": "720.00", "major": "280.00"}, None)]),
    ("two-thresholds-for-inpatient", [({"basic": "500.00", "major": "0.00", "aid": "0.00"}, None),
                                      ({"basic": "500.00", "major": "200.00", "aid": "20.00"}, None)]),
    ("two-remaining-layers", [({"basic": "500.00", "major": "250.00", "aid": "125.00"}, None)] * 2),
])
def test_hand_worked_amounts_of_the_generated_functions(name, paid, monkeypatch):
    spec, params, claims = CASES[name]
    monkeypatch.setattr(engine.Engine, "settle_stages", _no_stages)
    run = load(spec).run(params, trace=False)
    assert [(r["paid"], r.get("allowance")) for r in map(run.settle, claims)] == paid


# ---- what the generator leaves to the stages ---------------------------------------------

@pytest.mark.parametrize("first", [False, True], ids=["plain-first", "traced-first"])
@pytest.mark.parametrize("name", sorted(NOT_TAKEN))
def test_a_plan_left_to_the_stages_says_why_and_the_stages_settle_its_claims(name, first):
    spec, params, c, why = NOT_TAKEN[name]
    reference = load(spec)
    reference._engine.settle = reference._engine.settle_stages
    policy = load(spec)
    plan = _plan(policy, c, params)
    assert [straight.source(plan, t) for t in (False, True)] == [f"# settled by the stages: {why}\n"] * 2
    for trace in (first, not first):
        got, expected = policy.run(params, trace=trace).settle(c), reference.run(params, trace=True).settle(c)
        assert got.to_json(trace=trace) == expected.to_json(trace=trace)
        assert plan.straight.why == why  # said by whichever variant was made first
    s = plan.straight
    assert (s.fn, s.traced, s.made, s.traced_made, s.why, s.left) == (None, None, True, True, why, 0)


def test_a_plan_the_generator_fails_on_is_settled_by_the_stages_saying_why(monkeypatch):
    # A generator bug must never stop a claim: the plan settles by the stages, the reason kept.
    spec, params, claims = CASES["daily-cap"]
    policy = load(spec)

    def broken(plan, trace=False):
        raise KeyError("oops")

    monkeypatch.setattr(straight, "_generated", broken)
    r = policy.run(params, trace=False).settle(claims[0])
    assert r["paid"] == {"basic": "100.00"}
    s = _plan(policy, claims[0], params).straight
    assert (s.fn, s.made, s.why) == (None, True, "the generator failed: KeyError('oops')")


# ---- `med explain --settle-source`, in this process ------------------------------------------

def test_sources_of_prints_each_claims_source_or_why_not():
    spec, params, claims = CASES["parameter-rate"]
    policy = load(spec)
    bad = claim(id="x", scheme="nobody")
    outpatient = claim(id="y", benefit="outpatient")
    text = straight.sources_of(policy, [claims[0], bad, outpatient, ["not a claim"]], params)
    assert text == ("# ---- claim c1\n" + _golden("parameter-rate", False).read_text(encoding="utf-8") + "\n"
                    "# ---- claim x\n# not settled: unknown-value: scheme 'nobody' is not one of: employee, resident\n\n"
                    "# ---- claim y\n# not settled: not-covered: the employee scheme of this policy has no outpatient "
                    "benefit\n\n"
                    "# ---- claim None\n# not settled: bad-claim: a claim must be a JSON object\n")
    spec, params, c, why = NOT_TAKEN["no-rate"]
    assert straight.sources_of(load(spec), [c], params) == f"# ---- claim m1\n# settled by the stages: {why}\n"


# ---- plans that differ only in amounts share their code ------------------------------------

def test_plans_that_differ_only_in_amounts_share_one_compiled_code():
    # `rate r` at 60% and at 70%: two plans, one shape; each function keeps its own rate as a
    # keyword default, the code (compiled from "<settle plan>") is one.
    spec, _, claims = CASES["parameter-rate"]
    policy = load(spec)
    plans = [_plan(policy, claims[0], {"r": r}) for r in ("60%", "70%")]
    run60, run70 = policy.run({"r": "60%"}, trace=False), policy.run({"r": "70%"}, trace=False)
    # 1,100 less the deductible 100: 60% = 600.00, 70% = 700.00
    assert (run60.settle(claims[0])["paid"], run70.settle(claims[0])["paid"]) == ({"basic": "600.00"}, {"basic": "700.00"})
    a, b = (p.straight.fn for p in plans)
    assert a is not b and a.__code__ is b.__code__
    assert a.__code__.co_filename == "<settle plan>"
    assert (a.__kwdefaults__["RATE"], b.__kwdefaults__["RATE"]) == (Decimal("0.6"), Decimal("0.7"))
    assert len(policy._engine._codes) == 1
    # the variants with the trace: one more code, shared too
    traced = [policy.run({"r": r}, trace=True).settle(claims[0]) for r in ("60%", "70%")]
    assert [t["paid"] for t in traced] == [{"basic": "600.00"}, {"basic": "700.00"}]
    ta, tb = (p.straight.traced for p in plans)
    assert ta is not tb and ta.__code__ is tb.__code__ is not a.__code__
    assert len(policy._engine._codes) == 2


def test_a_plans_straight_starts_unmade_with_nothing_left():
    # `fn` and `traced` are None until made, `why` None, nothing left to the stages yet.
    s = straight.Straight()
    assert [repr(getattr(s, name)) for name in s.__slots__[:-1]] == ["None", "None", "False", "0", "None", "False"]
    assert s.__slots__ == ("fn", "why", "made", "left", "traced", "traced_made", "_counting")
    s.leave()  # (under its lock: threads settling with one policy share its plans)
    assert s.left == 1 and not s._counting.locked()


def test_a_plans_straight_made_without_shared_codes_is_its_own_function():
    # `Straight.get` without the policy's compiled codes compiles the plan's own (and keeps it).
    spec, params, claims = CASES["parameter-rate"]
    plan = _plan(load(spec), claims[0], params)
    own = straight.Straight()
    fn, traced = own.get(plan), own.get(plan, trace=True)
    assert (fn.source, traced.source) == (_golden("parameter-rate", False).read_text(encoding="utf-8"),
                                          _golden("parameter-rate", True).read_text(encoding="utf-8"))
    assert own.get(plan) is fn and own.get(plan, trace=True) is traced and own.why is None


def _write() -> None:
    """Write the golden sources (review the diff before committing them)."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, (spec, params, claims) in sorted(CASES.items()):
        plan = _plan(load(spec), claims[0], params)
        for trace in (False, True):
            _golden(name, trace).write_text(straight.source(plan, trace), encoding="utf-8")
            print(_golden(name, trace).relative_to(ROOT))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
    else:
        sys.exit("usage: python tests/test_mutants_straight.py --write  (the golden sources of tests/golden/straight/)")

"""The generated straight-line settlement (straight.py) against the engine's stages: generated
years of every city settled through both, every field of every result and every accumulator of
every year equal (the values and their decimal exponents: compared by repr)."""

import datetime as dt
import random
from pathlib import Path

import pytest

import medpolicy
from medpolicy import straight
from medpolicy.plan import Plan

from med_strategies import policy_params
from city_years import CITIES, _names, generated_year

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {city: medpolicy.load(ROOT / "policies" / f"{city}.med") for city in CITIES}


def _enriched(policy, claims: list, seed: int) -> list:
    """The batch tests' years with what they leave out: account balances (some of another
    member's account), wages, ages, referrals, events, unit prices, daily items, beds; a few
    claims in a month the policy does not cover, or with a bad field (both paths give the same
    error row)."""
    rnd = random.Random(seed)
    levels, events = _names(policy, "level"), _names(policy, "event")
    for c in claims:
        r = rnd.random
        if r() < 0.35 and (c["scheme"] == "employee" or r() < 0.3):
            c["account"] = {"balance": f"{rnd.randint(0, 400_000) / 100:.2f}"}
            if r() < 0.2:
                c["account"]["carried"] = f"{rnd.randint(0, 200_000) / 100:.2f}"
            if r() < 0.1 or c["scheme"] != "employee":
                c["account"].update(owner="p0", relation="spouse")
        if r() < 0.15:
            c["wage"] = f"{rnd.randint(100_000, 1_200_000) / 100:.2f}"
        if r() < 0.3:
            c["age"] = rnd.choice([0, 6, 17, 35, 59, 60, 69, 70, 79, 80, 95])
        if r() < 0.1:
            c["referred_from"] = rnd.choice(levels)
        if events and r() < 0.1:
            c["maternity"] = rnd.sample(events, rnd.randint(1, min(2, len(events))))
        if r() < 0.15:
            c["items"].append({"class": rnd.choice(["A", "B"]), "amount": f"{rnd.randint(100, 500_000) / 100:.2f}",
                               "unit_price": f"{rnd.randint(1, 200_000) / 100:.2f}"})
        if r() < 0.1:
            c["items"].append({"class": "bed", "amount": f"{rnd.randint(100, 300_000) / 100:.2f}",
                               "days": rnd.randint(1, 30), "kind": rnd.choice(["normal", "isolation"])})
        if r() < 0.01:
            c["items"][0]["amount"] = "-1"
    return claims


def _years(run) -> dict:
    return {key: {name: repr(getattr(y, name)) if name in ("stays", "benefit_stays") else
                  {k: repr(v) for k, v in getattr(y, name).items()} for name in y.__slots__}
            for key, y in run._years.items()}


# The same policies again, settling every claim through the engine's stages: the reference.
STAGES = {city: medpolicy.load(ROOT / "policies" / f"{city}.med") for city in CITIES}
for _policy in STAGES.values():
    _policy._engine.settle = _policy._engine.settle_stages


def _settle_both(city: str, persons: int, seed: int, trace: bool = False):
    """Each claim of a generated year settled by the generated functions (with the trace or
    without) and by the stages with the trace on."""
    policy = POLICIES[city]
    # Fresh plans: the counts read below (claims left to the stages) are this year's alone, not
    # those of a test that broke the generated functions on purpose earlier in the session.
    policy._engine._plans.clear()
    params = policy_params(policy)
    claims = _enriched(policy, generated_year(policy, persons, seed), seed)
    claims.sort(key=lambda c: (c["person"], c["date"]))
    straight_run, stages_run = policy.run(params, trace=trace), STAGES[city].run(params, trace=True)
    rows = []
    for claim in claims:
        a, b = straight_run.settle(claim), stages_run.settle(claim)
        rows.append((claim, a, b))
    return policy, rows, straight_run, stages_run


@pytest.mark.parametrize("city", CITIES)
def test_the_generated_function_settles_as_the_stages_do(city):
    policy, rows, straight_run, stages_run = _settle_both(city, 180, seed=17 + len(city))
    for claim, a, b in rows:
        assert repr(a.data) == repr(b.data), claim
        assert not a.trace and (b.trace or not b.ok)
    assert _years(straight_run) == _years(stages_run)
    # The generated functions settled the claims themselves: every plan is taken but those whose
    # claims are all error rows, and a claim is left to the stages only for classes with rates
    # of their own (Shaoxing's), never for a failure.
    plans = [p for p in policy._engine._plans.values() if isinstance(p, Plan)]
    assert all(p.straight.fn is not None or p.straight.why.startswith("no rate") for p in plans), \
        {p.straight.why for p in plans}
    assert sum(p.straight.left for p in plans) <= LEFT[city]


LEFT = {"binzhou": 0, "shaoxing": 3, "suihua": 0, "suizhou": 0, "ziyang": 0}


@pytest.mark.parametrize("city", CITIES)
def test_the_traced_variant_records_the_stages_trace(city):
    """The generated variant with the trace: every step (name, amount, clause line, article,
    note) the stages record, in their order, and the same results and years."""
    policy, rows, traced_run, stages_run = _settle_both(city, 180, seed=17 + len(city), trace=True)
    for claim, a, b in rows:
        assert repr(a.data) == repr(b.data), claim
        assert repr(a.trace) == repr(b.trace), claim
        assert a.trace or not a.ok
    assert _years(traced_run) == _years(stages_run)
    plans = [p for p in policy._engine._plans.values() if isinstance(p, Plan) and p.straight.traced_made]
    assert plans and all(p.straight.traced is not None or p.straight.why.startswith("no rate") for p in plans)
    assert sum(p.straight.left for p in plans) <= 2 * LEFT[city]


# Which plans the generator leaves to the stages in the five cities (straight.py's reasons): only
# those whose claims are all error rows.
EXPECTED_NOT_TAKEN = {"binzhou": set(), "shaoxing": {"no rate"}, "suihua": set(), "suizhou": {"no rate"},
                      "ziyang": {"no rate"}}


@pytest.mark.parametrize("city", CITIES)
def test_the_plans_left_to_the_stages_are_named(city):
    policy = POLICIES[city]
    _settle_both(city, 60, seed=3)
    reasons = {p.straight.why.split(":")[0] for p in policy._engine._plans.values()
               if isinstance(p, Plan) and p.straight.made and p.straight.fn is None}
    assert reasons <= EXPECTED_NOT_TAKEN[city], reasons


def test_a_plan_prints_its_source():
    policy = POLICIES["suihua"]
    claim = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
             "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "100.00"}]}
    policy.run(trace=False).settle(claim)
    plan = policy._engine.plan(policy._read(claim), policy._no_params)
    text = straight.source(plan)
    assert text == plan.straight.fn.source
    assert "def settle(facts, year, *," in text
    assert "DEDUCTIBLE=Decimal('900')" in text and "RATE=Decimal('0.85')" in text
    assert "trace" not in text.replace("(no trace)", "")


@pytest.mark.parametrize("city", ["shaoxing", "suihua", "ziyang"])
def test_settle_builds_the_trace_when_it_is_read(city):
    """`Policy.settle` settles without a trace and builds it on first read, from the state the
    claim was settled on: the same result, trace and all, as the stages with the trace on."""
    policy, rows, _, _ = _settle_both(city, 40, seed=5)
    params = policy_params(policy)
    state = None
    results = []
    for claim, _, expected in rows:
        r = policy.settle(claim, state=state, params=params)
        results.append((r, expected))
        assert r._state is None or not r.ok  # made when first read
        state = r.state
        assert r.state is state and (state is not None or not r.ok)
    for r, expected in reversed(results):  # read late, after later claims settled on their states
        assert r.to_json() == expected.to_json()
        assert r.trace is r.trace


def test_med_explain_prints_each_claims_settle_source(tmp_path):
    import json
    import subprocess
    import sys

    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps([
        {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "100.00"}]},
        {"id": "c2", "person": "p1", "date": "2026-03-05", "scheme": "nobody", "benefit": "inpatient",
         "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1.00"}]}]))
    r = subprocess.run([sys.executable, "-m", "medpolicy.cli", "explain", str(ROOT / "policies" / "suihua.med"),
                        str(claims), "--settle-source"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.split("# ---- claim c2\n")
    assert first.startswith("# ---- claim c1\n# a plan's settlement, paid by 'basic' (no trace)\n"
                            "def settle(facts, year, *,")
    assert "        DEDUCTIBLE=Decimal('900'),\n" in first and "    # the 'major' layer, on 'above-cap'\n" in first
    assert second == "# not settled: unknown-value: scheme 'nobody' is not one of: employee, resident\n"

"""The settlement arithmetic held to invariants, over every shipped policy and generated runs.

The amounts themselves are checked against an independent reference (test_reference.py) and
hand-worked cases (test_boundaries.py, the policies' worked examples). Here, for any run of
valid claims over each policy's whole vocabulary: the bill matches the claim's items; no fund
pays a negative amount or more than the eligible cost; the only error is the policy having no
terms for a claim; no yearly total passes the limit the regulation's text prints (including
parameter caps); raising a claim's cost never lowers what the funds pay; the claims given are
never altered. Interleaving, settling twice and chaining `State`s compare the engine with
itself: extra checks only.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from med_strategies import compiled_policies, params_for, policy_params, runs_for
from text_caps import over_caps

POLICIES = compiled_policies()
COMPILED = [pytest.param(p, id=name) for name, p, _ in POLICIES if p is not None]
SUIHUA = next((p for name, p, _ in POLICIES if name == "suihua" and p is not None), None)

PROPS = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CENT = Decimal("0.01")


def _json(results) -> list[dict]:
    return [r.to_json() for r in results]


def _paid(row: dict) -> dict:
    return {k: Decimal(v) for k, v in row["paid"].items()}


def test_every_shipped_policy_compiles():
    # The shipped policies are the ground the invariants stand on: a policy that does not compile
    # would drop out of every parametrized test below, so it fails here, saying why.
    # suihua.zh: Suihua in Chinese keywords; the invariants hold for it too
    assert {n for n, _, _ in POLICIES} == {"binzhou", "shaoxing", "suihua", "suihua.zh", "suizhou", "ziyang"}
    assert [f"{n}: {why}" for n, p, why in POLICIES if p is None] == []


# ---- one claim at a time -------------------------------------------------------------

@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_every_row_adds_up(policy, data):
    claims = data.draw(runs_for(policy))
    rows = _json(policy.settle_all(claims, params=data.draw(params_for(policy))))
    assert [r["id"] for r in rows] == [c["id"] for c in claims]
    by_id = {c["id"]: c for c in claims}
    with_prepay = {name for name, s in policy.compiled.schemes.items() if any(f.including_prepay for f in s.funds)}
    for row in rows:
        json.dumps(row, ensure_ascii=False)  # every row is JSON as it stands
        claim = by_id[row["id"]]
        if "error" in row:
            # Claims are drawn valid: the one error is a policy giving no terms for the claim.
            assert row["error"]["code"] == "no-clause", row
            assert row["error"]["message"].startswith(f"no clause gives a rate for this {claim['benefit']} claim"), row
            continue
        total, eligible, patient = Decimal(row["total"]), Decimal(row["eligible"]), Decimal(row["patient"])
        paid = _paid(row)
        for fund, amount in paid.items():
            assert amount >= 0, (fund, row)
            assert amount == amount.quantize(CENT), (fund, row)
        # The bill, from the claim itself: the total is the sum of its items, items outside the
        # catalogue go to the patient whole, and the patient pays at least those and the pre-payments.
        items = [Decimal(str(i["amount"])) for i in claim["items"]]
        outside = sum((Decimal(str(i["amount"])) for i in claim["items"] if i["class"] == "excluded"), Decimal(0))
        assert total == sum(items, Decimal(0)), row
        assert Decimal(row["excluded"]) >= outside, row
        assert 0 <= eligible <= total - outside, row
        # (a layer `including prepay` may pay back part of the pre-payments)
        assert patient >= outside + (0 if claim["scheme"] in with_prepay else Decimal(row["prepay"])), row
        assert patient >= 0 and patient <= total, row
        # No fund pays more than the eligible cost, nor all of them together. A layer on a burden
        # `including prepay` (Shaoxing 第三十五条) may also pay on the pre-payments.
        ceiling = eligible + (Decimal(row["prepay"]) if claim["scheme"] in with_prepay else 0)
        assert all(amount <= ceiling for amount in paid.values()), row
        assert sum(paid.values()) <= ceiling + CENT / 2 * len(paid), row  # each rounded once
        assert 0 <= Decimal(row["deductible"]) <= eligible, row


# ---- caps over a year, by the texts' numbers -------------------------------------------

@pytest.mark.parametrize("name", [n for n, p, _ in POLICIES if p is not None])
@PROPS
@given(data=st.data())
def test_no_yearly_total_passes_the_texts_limit(name, data):
    policy = dict((n, p) for n, p, _ in POLICIES)[name]
    claims = data.draw(runs_for(policy, max_persons=2, max_claims=10))
    # Big bills, so that caps are reached.
    for c in claims:
        c["items"].append({"class": "A", "amount": data.draw(st.sampled_from(["900.00", "50000.00", "150000.00",
                                                                               "400000.00"]))})
    params = data.draw(params_for(policy))
    rows = _json(policy.settle_all(claims, params=params))
    assert not over_caps(name, rows, claims, params)


def test_cap_none_lets_a_group_pass_the_others_limit():
    # Suihua 第二十九条（二）: residents' critical illness, 30万 a year; 特困 etc.: threshold 7,500,
    # +5 points, no cap. One stay at level 2 (500, 75%) of 1,000,500: basic min(750,000, 100,000) =
    # 100,000; burden 900,500.
    # group: 70% × (20,000 − 7,500) + 75% × 30,000 + 80% × 850,500 = 8,750 + 22,500 + 680,400 = 711,650.00
    # others: 65% × 5,000 + 70% × 30,000 + 75% × 850,500 = 3,250 + 21,000 + 637,875 → the cap: 300,000.00
    c = {"id": "g", "person": "p", "date": "2026-03-01", "scheme": "resident", "benefit": "inpatient",
         "place": "local", "facility": {"level": "level2"}, "items": [{"class": "A", "amount": "1000500.00"}]}
    assert SUIHUA.settle(dict(c, groups=["extreme-poverty"])).to_json()["paid"]["major"] == "711650.00"
    assert SUIHUA.settle(c).to_json()["paid"]["major"] == "300000.00"


# ---- raising a cost ------------------------------------------------------------------

@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_raising_a_cost_never_lowers_what_the_funds_pay(policy, data):
    claims = data.draw(runs_for(policy, max_persons=1, max_claims=4))
    claims.sort(key=lambda c: c["date"])
    last = claims[-1]
    raised = copy.deepcopy(last)
    i = data.draw(st.integers(0, len(raised["items"]) - 1))
    extra = Decimal(data.draw(st.sampled_from(["0.01", "1.00", "99.99", "1000.00", "25000.00", "300000.00"])))
    raised["items"][i]["amount"] = f"{Decimal(raised['items'][i]['amount']) + extra:.2f}"
    params = policy_params(policy)
    before = policy.settle_all(claims, params=params)[-1].to_json()
    after = policy.settle_all(claims[:-1] + [raised], params=params)[-1].to_json()
    if "error" in before or "error" in after:
        assert ("error" in before) == ("error" in after), (before, after)
        return
    assert sum(_paid(after).values()) >= sum(_paid(before).values()), (last, raised, before, after)


# ---- order and repetition ---------------------------------------------------------------

def _by_id(rows: list[dict]) -> dict:
    return {r["id"]: r for r in rows}


@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_interleaving_persons_changes_nothing(policy, data):
    claims = data.draw(runs_for(policy, max_persons=3, max_claims=9))
    # Another interleaving: each person's claims keep their order, persons are shuffled together.
    queues: dict = {}
    for c in claims:
        queues.setdefault(c["person"], []).append(c)
    picks = data.draw(st.permutations([c["person"] for c in claims]))
    other = [queues[p].pop(0) for p in picks]
    params = policy_params(policy)
    assert _by_id(_json(policy.settle_all(other, params=params))) == _by_id(_json(policy.settle_all(claims, params=params)))


@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_settling_twice_gives_the_same(policy, data):
    claims = data.draw(runs_for(policy))
    params = policy_params(policy)
    given = copy.deepcopy(claims)
    first = _json(policy.settle_all(claims, params=params))
    assert claims == given
    assert _json(policy.settle_all(claims, params=params)) == first
    assert claims == given  # the claims given were not altered (compared with a deep copy)
    fresh = type(policy)(policy.compiled, list(policy.warnings), policy.sources)
    assert _json(fresh.settle_all(claims, params=params)) == first


@pytest.mark.parametrize("policy", COMPILED)
@PROPS
@given(data=st.data())
def test_a_state_chain_matches_settle_all(policy, data):
    claims = data.draw(runs_for(policy, max_persons=1, max_claims=8))
    claims.sort(key=lambda c: c["date"])  # stable: ties keep input order, as settle_all does
    params = policy_params(policy)
    expected = _json(policy.settle_all(claims, params=params))
    state = None
    chained = []
    for c in claims:
        r = policy.settle(c, state=state, params=params)
        chained.append(r.to_json())
        state = r.state
    assert chained == expected


# ---- found by the properties --------------------------------------------------------------

def test_suihua_two_diseases_without_either_disease_is_capped():
    # Found by the cap property: suihua.med capped two-diseases care only per condition, so a
    # claim naming neither was paid 80% without a cap. 第二十三条（三） covers only members
    # diagnosed with hypertension or diabetes; the policy now says so.
    claim = {"id": "t1", "person": "p", "date": "2026-03-01", "scheme": "resident", "benefit": "two-diseases",
             "facility": {"level": "level1"}, "conditions": ["aids"], "items": [{"class": "A", "amount": "50000.00"}]}
    row = SUIHUA.settle(claim).to_json(trace=False)
    assert (row["paid"], row["patient"]) == ({"basic": "0.00", "major": "0.00"}, "50000.00")

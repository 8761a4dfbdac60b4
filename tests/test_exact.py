"""Exact money (issue 8 item 2): divisions kept exact, each fund's payment rounded once as the
increase of its exactly kept cumulative where a cap or band applies, and the library's own
decimal context. Each policy is written here; every amount is worked out by hand."""

import decimal
from decimal import Decimal

import pytest

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def policy(body: str):
    return medpolicy.compile(HEAD + body, "t.med")


def claim(cid="c1", amount="10000", benefit="inpatient", date="2026-03-01", **extra):
    c = {"id": cid, "person": "p1", "date": date, "scheme": "employee", "status": "employed",
         "benefit": benefit, "facility": {"level": "level3"}, "items": [{"class": "A", "amount": amount}]}
    c.update(extra)
    return c


CAP_POINT = ("scheme employee\n  fund basic cap {cap} yearly\n  fund major on eligible above cap\n    rate 90%\n"
             "  inpatient\n    primary level1 level2 level3 deductible 300 rate 90%\n")


def test_the_cap_point_is_exact_and_the_layer_above_it_rounds_once():
    # The issue's Suihua case: eligible 59,167.75, deductible 300, 42,654.65 left under the cap
    # at 90%. Cap point = 300 + 42,654.65 / 0.9 = 47,694.0555…; the major layer pays 90% of
    # 59,167.75 - 47,694.0555… = 11,473.69444… = 10,326.325 exactly -> 10,326.33 (a rounded
    # cap point gave 10,326.32).
    p = policy(CAP_POINT.format(cap="42654.65"))
    r = p.settle(claim(amount="59167.75"))
    assert r["paid"] == {"basic": "42654.65", "major": "10326.33"}
    assert r["patient"] == "6186.77"  # 59,167.75 - 42,654.65 - 10,326.33


def test_the_cap_point_after_an_earlier_claim_of_the_year():
    # Claim 1: (10,300 - 300) x 90% = 9,000 of a 51,654.65 cap; 42,654.65 is left: as above.
    p = policy(CAP_POINT.format(cap="51654.65"))
    a, b = p.settle_all([claim("a", amount="10300", date="2026-01-05"), claim("b", amount="59167.75")])
    assert a["paid"] == {"basic": "9000.00", "major": "0.00"}
    assert b["paid"] == {"basic": "42654.65", "major": "10326.33"}


BAND_LIMIT = "scheme employee\n  outpatient deductible none rate 50% to {limit}, 0% above\n"


def test_a_banded_limit_pays_the_increase_of_the_rounded_cumulative():
    # Binzhou's `50% to 400` over 3.65 + 90.39 + 6,992.00: the exact cumulative payment is
    # 1.825, 47.02, 200 (the band ends at 400 of cost); rounded 1.83, 47.02, 200.00; the claims
    # are paid the increases 1.83, 45.19, 152.98 = 200.00 (each claim rounded alone: 200.01).
    p = policy(BAND_LIMIT.format(limit=400))
    rs = p.settle_all([claim(f"c{i}", amount=a, benefit="outpatient", date=f"2026-0{i + 1}-01")
                       for i, a in enumerate(["3.65", "90.39", "6992.00"])])
    assert [r["paid"]["basic"] for r in rs] == ["1.83", "45.19", "152.98"]


def test_binzhou_outpatient_400_pays_at_most_200_over_the_issues_three_claims():
    # The shipped policy (第十三条（一）, `rate 50% to 400, 0% above`): as above, 200.00 in all.
    p = medpolicy.load("policies/binzhou.med")
    rs = p.settle_all([{"id": f"c{i}", "person": "p1", "date": f"2025-0{i + 1}-01", "scheme": "resident",
                        "benefit": "outpatient", "facility": {"level": "level1"},
                        "items": [{"class": "A", "amount": a}]} for i, a in enumerate(["3.65", "90.39", "6992.00"])])
    assert [r["paid"]["basic"] for r in rs] == ["1.83", "45.19", "152.98"]


def test_many_half_fen_payments_never_pass_the_band_limit():
    # 4,100 claims of 0.01 at 50% up to 40 of cost: each pays 0.005 exactly; the cumulative
    # after k claims is 0.005k, rounded q(0.005k): the claims are paid 0.01, 0.00, 0.01, 0.00, …
    # until the 4,000th (cost 40.00), 20.00 in all; the last 100 are above the band: 0.00.
    p = policy(BAND_LIMIT.format(limit=40))
    run = p.run()
    paid = [run.settle(claim(f"c{i}", amount="0.01", benefit="outpatient"))["paid"]["basic"] for i in range(4100)]
    assert paid[:4] == ["0.01", "0.00", "0.01", "0.00"]
    assert sum(Decimal(x) for x in paid[:4000]) == Decimal("20.00")
    assert set(paid[4000:]) == {"0.00"}


def test_a_yearly_cap_counts_exact_payments_and_pays_their_rounded_increase():
    # 50% up to a 1.00 cap: 0.005 exactly per 0.01 claim; 200 claims reach the cap (exact 1.00),
    # paid alternately 0.01 and 0.00 = 1.00; every later claim 0.00. (Rounding each claim
    # alone paid 0.01 each: the full cost for the first 100.)
    p = policy("scheme employee\n  outpatient deductible none rate 50%\n    cap 1 yearly\n")
    run = p.run()
    paid = [run.settle(claim(f"c{i}", amount="0.01", benefit="outpatient"))["paid"]["basic"] for i in range(220)]
    assert paid[:4] == ["0.01", "0.00", "0.01", "0.00"]
    assert sum(Decimal(x) for x in paid[:200]) == Decimal("1.00")
    assert set(paid[200:]) == {"0.00"}


def test_a_cap_inside_a_larger_cap_holds_with_claims_of_other_benefits_between():
    # Outpatient 50% within a 1.00 outpatient cap, inpatient 50%, both inside the fund's 100 cap;
    # claims alternate outpatient and inpatient, 0.01 each (0.005 exactly each). The outpatient
    # claims are paid 1.00 in all (its exact cumulative reaches the cap after 200 of them): the
    # outpatient pool keeps its own cumulative, whatever the inpatient claims round to.
    p = policy("scheme employee\n  fund basic cap 100 yearly\n  outpatient deductible none rate 50%\n    cap 1 yearly\n"
               "  inpatient\n    primary level1 level2 level3 deductible none rate 50%\n")
    run = p.run()
    out, inp = [], []
    for i in range(250):
        out.append(Decimal(run.settle(claim(f"o{i}", amount="0.01", benefit="outpatient"))["paid"]["basic"]))
        inp.append(Decimal(run.settle(claim(f"i{i}", amount="0.01"))["paid"]["basic"]))
    assert sum(out) == Decimal("1.00")
    assert sum(out[200:]) == 0
    # The fund's cumulative: 0.005 x 450 claims = 2.25 exactly; the rounded payments never pass it.
    assert sum(out) + sum(inp) <= Decimal("2.25")


def test_a_proportional_price_ceiling_is_exact():
    # A material of unit price 3 over a ceiling of 1: 100 x (3 - 1) / 3 = 66.666… is excluded,
    # 33.333… is eligible, at 30.015%: exactly 10.005 -> 10.01 (with the excluded part rounded
    # first, 33.33 x 30.015% = 10.0039… -> 10.00).
    p = policy("scheme employee\n  material ceiling 1\n  inpatient\n    primary level1 level2 level3 deductible none "
               "rate 30.015%\n")
    r = p.settle(claim(items=[{"class": "material", "amount": "100", "unit_price": "3"}]))
    assert (r["excluded"], r["eligible"], r["paid"]["basic"], r["patient"]) == ("66.67", "33.33", "10.01", "89.99")


def test_the_allowance_is_wage_times_days_over_thirty_rounded_once():
    # 10,000.01 x 98 / 30 = 32,666.6993… -> 32,666.70.
    p = policy("scheme employee\n  maternity paid-by maternity rate 100%\n    delivery allowance 98 days\n")
    c = dict(claim(benefit="maternity", amount="3000"), maternity="delivery", wage="10000.01")
    assert p.settle(c)["allowance"] == "32666.70"


def _suihua_claims():
    out = []
    for i, (amount, level, status) in enumerate([("59167.75", "level3", "employed"), ("1234.56", "level2", "retired"),
                                                  ("150000.01", "level1", "employed"), ("0.01", "primary", "retired"),
                                                  ("99999.99", "level2", "employed")]):
        out.append({"id": f"s{i}", "person": f"p{i % 2}", "date": f"2026-0{i + 1}-10", "scheme": "employee",
                    "status": status, "benefit": "inpatient", "facility": {"level": level},
                    "items": [{"class": "A", "amount": amount}, {"class": "excluded", "amount": "10.05"}]})
    return out


def test_results_do_not_depend_on_the_callers_decimal_context():
    policy = medpolicy.load("policies/suihua.med")
    claims = _suihua_claims()
    expected = [r.to_json() for r in policy.settle_all(claims)]
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_FLOOR
        ctx.prec = 6
        got = [r.to_json() for r in policy.settle_all(claims)]
        one = policy.settle(claims[0]).to_json()
        chained = policy.settle(claims[2], state=policy.settle(claims[0]).state).to_json()
        again = medpolicy.load("policies/suihua.med").settle(claims[0]).to_json()
    assert got == expected
    assert one == again == expected[0]
    assert chained == expected[2]
    assert not any("-0.00" in str(r) for r in got)
    assert expected[0]["paid"] == {"basic": "49527.59", "major": "0.00", "maternity": "0.00"}  # (59,167.75 - 900) x 85% = 49,527.5875


def test_a_bug_in_the_engine_is_that_claims_error_row_and_says_where(monkeypatch):
    from medpolicy import engine, straight

    p = policy(BAND_LIMIT.format(limit=400))

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "banded", broken)
    monkeypatch.setattr(straight, "banded", broken)  # the generated functions' too (they then leave it to the stages)
    rs = p.settle_all([claim("a", benefit="outpatient"), claim("b", benefit="inpatient")])
    assert rs[0]["error"]["code"] == "internal"
    assert "RuntimeError('boom')" in rs[0]["error"]["message"]
    # The stage and the clause it was applying: the outpatient rate on line 4 of the policy.
    assert rs[0]["error"]["message"] == "could not settle (paying_fund, the clause at line 4): RuntimeError('boom')"
    assert rs[1]["error"]["code"] == "not-covered"  # the next claim is settled on its own
    assert p.run().settle(claim(benefit="outpatient"))["error"]["code"] == "internal"
    assert p.settle(claim(benefit="outpatient"))["error"]["code"] == "internal"


def test_an_unexpected_failure_on_an_item_names_the_item(monkeypatch):
    from medpolicy import engine, straight

    p = policy("scheme employee\n  B prepay 10%\n  outpatient deductible none rate 50%\n")
    monkeypatch.setattr(engine, "pct", lambda x: 1 / 0)
    monkeypatch.setattr(straight, "pct", lambda x: 1 / 0)  # the generated variant with the trace leaves it to the stages
    r = p.settle(claim(benefit="outpatient", items=[{"class": "A", "amount": "1"}, {"class": "B", "amount": "2"}]))
    assert r["error"] == {"code": "internal", "field": "items[1]",
                          "message": "could not settle (costs, claim field items[1]): "
                                     "ZeroDivisionError('division by zero')"}


def test_a_bug_reading_a_claim_is_that_claims_error_row(monkeypatch):
    p = policy(BAND_LIMIT.format(limit=400))
    monkeypatch.setattr(p._reader, "read", lambda claim: (_ for _ in ()).throw(LookupError("odd")))
    r = p.settle(claim(benefit="outpatient"))
    assert r["error"]["code"] == "internal" and "LookupError('odd')" in r["error"]["message"]


def test_without_a_trace_no_step_is_built(monkeypatch):
    from medpolicy import engine, settle, straight

    p = medpolicy.load("policies/suihua.med")
    calls = []
    monkeypatch.setattr(engine, "trace_step", lambda *a: calls.append(a))
    monkeypatch.setattr(settle, "trace_step", lambda *a: calls.append(a))
    monkeypatch.setattr(engine.Work, "step", lambda *a: calls.append(a))
    monkeypatch.setattr(engine, "pct", lambda *a: calls.append(a))  # notes are not formatted either
    run = p.run(trace=False)
    rs = [run.settle(c) for c in _suihua_claims()]
    assert calls == []
    # The generated functions without the trace (straight.py) hold no step at all.
    plans = [plan for plan in p._engine._plans.values() if plan.straight.made]
    assert plans and all("steps" not in plan.straight.fn.source for plan in plans)
    assert all("steps.append" in straight.source(plan, trace=True) for plan in plans)
    stages = medpolicy.load("policies/suihua.med")
    stages._engine.settle = stages._engine.settle_stages
    stages.run(trace=True).settle(_suihua_claims()[0])
    assert calls  # the same claim with a trace: steps built (so the patches do see them)
    assert all(r.trace == [] and "trace" not in r.to_json(trace=False) for r in rs)
    assert rs[0]["paid"]["basic"] == "49527.59"


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])


# ---- against a reference in fractions.Fraction ------------------------------------------

from fractions import Fraction  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CENTS = st.integers(min_value=1, max_value=2_000_000).map(lambda c: Fraction(c, 100))


def _fen(x: Fraction) -> Fraction:
    """Half-up to the fen, in Fraction arithmetic (independent of money.q)."""
    return Fraction(int(x * 100 + Fraction(1, 2)), 100)


def _amount(x: Fraction) -> str:
    cents = int(x * 100)  # the costs are whole fen
    return f"{cents // 100}.{cents % 100:02d}"


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(CENTS, min_size=1, max_size=30), st.sampled_from(["50%", "87.5%", "33.33%"]),
       st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=3000))
def test_a_band_and_a_cap_pay_the_rounded_increase_of_the_exact_cumulative(costs, rate, band_limit, cap):
    # Reference: the band pays rate x (min(E1, L) - min(E0, L)) on the year's eligible cost E,
    # the cap keeps the exact cumulative P within C, and the claim is paid q(P1) - q(P0).
    r = Fraction(rate[:-1]) / 100
    p = policy(f"scheme employee\n  outpatient deductible none rate {rate} to {band_limit}, 0% above\n"
               f"    cap {cap} yearly\n")
    run = p.run(trace=False)
    e = paid_exact = Fraction(0)
    total = Fraction(0)
    for i, cost in enumerate(costs):
        pay = r * (min(e + cost, band_limit) - min(e, band_limit))
        pay = min(pay, cap - paid_exact)
        expected = _fen(paid_exact + pay) - _fen(paid_exact)
        e += cost
        paid_exact += pay
        row = run.settle(claim(f"c{i}", amount=_amount(cost), benefit="outpatient"))
        assert Fraction(row["paid"]["basic"]) == expected, (i, row)
        total += expected
    assert total == _fen(paid_exact) <= min(cap, r * band_limit + Fraction(1, 200))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(CENTS, min_size=1, max_size=12), st.sampled_from(["90%", "85%", "87.5%", "33.33%"]),
       st.sampled_from(["90%", "66.67%"]), st.integers(min_value=1, max_value=20_000))
def test_the_layer_above_the_cap_point_matches_an_exact_reference(costs, rate, layer_rate, cap):
    # Reference: the basic fund pays r x the eligible cost until its cap C; on the claim that
    # crosses it, the cap point is the cost where the payment reaches the room left, room / r
    # (a rational), and the layer pays r2 x the cost above it; later claims are all above.
    r, r2 = Fraction(rate[:-1]) / 100, Fraction(layer_rate[:-1]) / 100
    p = policy(f"scheme employee\n  fund basic cap {cap} yearly\n  fund major on eligible above cap\n"
               f"    rate {layer_rate}\n  inpatient\n    primary level1 level2 level3 deductible none rate {rate}\n")
    run = p.run(trace=False)
    basic = Fraction(0)
    for i, cost in enumerate(costs):
        room = cap - basic
        pay = min(r * cost, room)
        above = cost - room / r if r * cost > room else Fraction(0)
        row = run.settle(claim(f"c{i}", amount=_amount(cost)))
        assert Fraction(row["paid"]["basic"]) == _fen(basic + pay) - _fen(basic), (i, row)
        assert Fraction(row["paid"]["major"]) == _fen(r2 * above), (i, row)
        basic += pay


def test_div_of_an_exact_amount_by_a_decimal_stays_exact():
    from medpolicy.money import Exact, div
    assert div(Exact(1, 3), Decimal("2")) == Fraction(1, 6)
    assert isinstance(div(Exact(1, 3), Decimal("2")), Exact)
    assert div(Decimal("1"), Decimal("4")) == Decimal("0.25") and isinstance(div(Decimal(1), Decimal(4)), Decimal)
    assert div(Decimal("10"), 4) == Decimal("2.5")


def test_exact_negation_absolute_value_and_output_value():
    from medpolicy.money import Exact, as_decimal
    third = Exact(1, 3)
    assert -third == Fraction(-1, 3) and isinstance(-third, Exact)
    assert abs(-third) == third and isinstance(abs(-third), Exact)
    # An exact amount is shown rounded half-up to the fen; a Decimal is shown as it is.
    assert as_decimal(Exact(2, 3)) == Decimal("0.67") and as_decimal(Exact(1, 200)) == Decimal("0.01")
    assert str(as_decimal(Decimal("1.005"))) == "1.005"


def test_rounding_an_exact_negative_amount_is_half_up_away_from_zero():
    from medpolicy.money import Exact, q
    assert (q(Exact(-1, 3)), q(Exact(-1, 200)), q(Exact(-3, 200)), q(Exact(-1, 300))) == (
        Decimal("-0.33"), Decimal("-0.01"), Decimal("-0.02"), Decimal("0.00"))

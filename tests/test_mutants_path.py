"""The plans' generated functions are the ones that settle (issue 17: survivors of
`Engine._straight`): a mutant that leaves a claim to the engine's stages gives the same result,
so these tests switch the stages off and require the same amounts and trace."""

import decimal
from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy import engine
from medpolicy.plan import Plan
from medpolicy.settle import Year
from small_policies import policy as _policy

ONE_PATH = True  # about the generated path itself: not run once more through the stages (conftest)
ROOT = Path(__file__).resolve().parent.parent
SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")

EMPLOYEE = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
            "benefit": "inpatient", "facility": {"level": "level3"},
            "items": [{"class": "A", "amount": "8000.00"}, {"class": "B", "amount": "2000.00"},
                      {"class": "excluded", "amount": "500.00"}]}
RESIDENT = {**EMPLOYEE, "id": "c2", "person": "p2", "scheme": "resident", "status": None,
            "items": [{"class": "A", "amount": "60000.00"}]}


def _no_stages(self, *args, **kwargs):
    raise AssertionError("the stages were asked")


@pytest.mark.parametrize("claim", [EMPLOYEE, RESIDENT], ids=["employee", "resident"])
@pytest.mark.parametrize("trace", [False, True], ids=["no-trace", "trace"])
def test_a_common_claim_is_settled_by_its_plans_generated_function(claim, trace, monkeypatch):
    expected = SUIHUA.run({}, trace=trace).settle(claim)
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    policy._engine._plans.clear()
    monkeypatch.setattr(engine.Engine, "settle_stages", _no_stages)
    got = policy.run({}, trace=trace).settle(claim)
    assert got.to_json() == expected.to_json()
    assert repr(got.trace) == repr(expected.trace)
    assert bool(got.trace) == trace


# ---- which path settles a claim, and what the engine counts (survivors of `Engine._straight`,
# `Engine.settle` and `Engine.settle_stages`) -------------------------------------------------

def _claim(items, **changes) -> dict:
    c = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": items}
    c.update(changes)
    return c


def _plans(policy) -> list:
    return [p for p in policy._engine._plans.values() if isinstance(p, Plan)]


def _spy_on_the_stages(monkeypatch) -> list:
    """The claims the stages are asked to settle, by id."""
    asked, real = [], engine.Engine.settle_stages

    def spy(self, facts, *args, **kwargs):
        asked.append(facts.id)
        return real(self, facts, *args, **kwargs)

    monkeypatch.setattr(engine.Engine, "settle_stages", spy)
    return asked


def test_a_claim_with_items_at_rates_of_their_own_goes_to_the_stages_and_is_counted(monkeypatch):
    # One plan (the item classes are not part of the signature): its generated function settles
    # a claim of class A alone (80% of 1,000 = 800.00), and leaves each claim with a class-B item
    # to the stages (class B's own 50%: 800.00 + 500.00 = 1,300.00), counting each one it leaves.
    p = _policy("scheme employee\n  inpatient deductible none rate 80%\n  B rate 50%\n")
    asked = _spy_on_the_stages(monkeypatch)
    run = p.run({}, trace=False)
    a = run.settle(_claim([{"class": "A", "amount": "1000.00"}], id="a"))
    [plan] = _plans(p)
    assert (a["paid"], asked, plan.straight.fn is not None, plan.straight.left) == ({"basic": "800.00"}, [], True, 0)
    both = [{"class": "A", "amount": "1000.00"}, {"class": "B", "amount": "1000.00"}]
    b1 = run.settle(_claim(both, id="b1", person="p2"))
    b2 = run.settle(_claim(both, id="b2", person="p3"))
    assert (b1["paid"], b2["paid"]) == ({"basic": "1300.00"}, {"basic": "1300.00"})
    assert (asked, plan.straight.left) == (["b1", "b2"], 2)


def test_a_claim_the_generated_function_fails_on_is_worded_by_the_stages_and_leaves_the_year(monkeypatch):
    # A bed under a daily ceiling of 25 needs its days: the generated function gives up, the
    # stages word the error row, and the year is as before: the next claim pays the whole
    # deductible of 500 (1,000 + 100 of which 2 × 25 = 50 is within the ceiling: eligible 1,050,
    # (1,050 − 500) × 80% = 440.00).
    p = _policy("scheme employee\n  inpatient deductible 500 rate 80%\n  bed normal ceiling 25 daily\n")
    asked = _spy_on_the_stages(monkeypatch)
    run = p.run({}, trace=False)
    bad = run.settle(_claim([{"class": "bed", "amount": "100.00"}], id="bad"))
    assert bad.to_json()["error"] == {"code": "missing-field", "message": "a bed item needs days for its daily ceiling",
                                      "field": "items.days"}
    good = run.settle(_claim([{"class": "A", "amount": "1000.00"}, {"class": "bed", "amount": "100.00", "days": 2}],
                             id="good"))
    assert (good["excluded"], good["deductible"], good["paid"]) == ("50.00", "500.00", {"basic": "440.00"})
    [plan] = _plans(p)
    assert (asked, plan.straight.left) == (["bad"], 1)


def test_any_failure_of_a_generated_function_goes_to_the_stages(monkeypatch):
    # Suihua's level-3 employee claim of EMPLOYEE: the same amounts whichever path settles it.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    run = policy.run({}, trace=False)
    expected = run.settle(EMPLOYEE).to_json(trace=False)
    [plan] = _plans(policy)

    def broken(facts, year):
        raise RuntimeError("a bug in the generated function")

    plan.straight.fn = broken
    asked = _spy_on_the_stages(monkeypatch)
    again = policy.run({}, trace=False).settle(EMPLOYEE).to_json(trace=False)
    assert (again, asked, plan.straight.left) == (expected, ["c1"], 1)
    assert expected["paid"] == {"basic": "7735.00", "major": "0.00", "maternity": "0.00"}


def test_plans_that_differ_only_in_amounts_share_one_compiled_function():
    # Suihua's employee stays at levels 2 and 3 differ in deductible and rate only: one compiled
    # code per variant (without and with the trace), the amounts its keyword defaults.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    for trace in (False, True):
        run = policy.run({}, trace=trace)
        for level in ("level2", "level3"):
            run.settle(_claim([{"class": "A", "amount": "1000.00"}], facility={"level": level}, person=level))
    two, three = sorted(_plans(policy), key=lambda p: p.level)
    assert (two.level, three.level) == ("level2", "level3")
    assert two.straight.fn.__code__ is three.straight.fn.__code__
    assert two.straight.traced.__code__ is three.straight.traced.__code__
    assert two.straight.fn.__code__ is not two.straight.traced.__code__
    assert (two.straight.fn.__kwdefaults__["DEDUCTIBLE"], three.straight.fn.__kwdefaults__["DEDUCTIBLE"]) == \
        (Decimal("600"), Decimal("900"))
    assert len(policy._engine._codes) == 2


def test_the_engine_keeps_a_plan_per_parameters_given_as_a_plain_dict(monkeypatch):
    # Parameters not bound by the policy (no key made once) find their own plan, settled by its
    # generated function — not the plan of no parameters (built first, by `Policy.settle`), whose
    # class-B rule lacks pb. Class B pre-pays pb, then 80% of what is eligible:
    # pb 10%: (2,000 − 100) × 80% = 1,520.00; pb 20%: (2,000 − 200) × 80% = 1,440.00.
    p = _policy('parameter pb "class B\'s pre-payment"\nscheme employee\n  inpatient deductible none rate 80%\n'
                '  B prepay pb\n')
    assert p.settle(_claim([{"class": "A", "amount": "1000.00"}]))["paid"] == {"basic": "800.00"}
    facts = p._read(_claim([{"class": "A", "amount": "1000.00"}, {"class": "B", "amount": "1000.00"}]))
    asked = _spy_on_the_stages(monkeypatch)
    low = p._engine.settle(facts, Year(), {"pb": Decimal("0.1")}, False)
    high = p._engine.settle(facts, Year(), {"pb": Decimal("0.2")}, False)
    assert (low[0]["prepay"], low[0]["paid"]["basic"], low[1]) == (Decimal("100.00"), Decimal("1520.00"), None)
    assert (high[0]["prepay"], high[0]["paid"]["basic"], high[1]) == (Decimal("200.00"), Decimal("1440.00"), None)
    assert asked == []


def _in_the_callers_context(test):
    """Run `test(callers)` with a caller's decimal context the library must neither use nor keep:
    3 digits, rounding down, no trap."""
    before = decimal.getcontext()
    callers = decimal.Context(prec=3, rounding=decimal.ROUND_DOWN, traps=[])
    decimal.setcontext(callers)
    try:
        test(callers)
    finally:
        decimal.setcontext(before)


def test_an_interrupt_while_settling_gives_the_caller_its_context_back(monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.Engine, "_straight", interrupted)

    def test(callers):
        with pytest.raises(KeyboardInterrupt):
            SUIHUA.settle(EMPLOYEE)
        assert decimal.getcontext() is callers

    _in_the_callers_context(test)


def test_the_stages_called_as_the_reference_switch_to_the_librarys_context_and_back():
    # `settle_stages` is what tests compare the generated functions with, called alone (as
    # `Engine.settle` is called, trace on by default) on an engine that has settled nothing yet.
    # Suihua level 3: eligible 10,000 (500 excluded), deductible 900, 85% (employed) of 9,100 = 7,735.00.
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    facts = policy._read(EMPLOYEE)

    def test(callers):
        result, trace = policy._engine.settle_stages(facts, Year(), policy._no_params)
        assert decimal.getcontext() is callers
        assert (result["eligible"], result["deductible"], result["paid"]["basic"], result["patient"]) == \
            (Decimal("10000.00"), Decimal("900"), Decimal("7735.00"), Decimal("2765.00"))
        assert [s[0] for s in trace] == ["total", "excluded", "eligible", "deductible", "rate", "basic", "patient"]
        assert policy._engine.settle_stages(facts, Year(), policy._no_params, False) == (result, None)
        assert decimal.getcontext() is callers

    _in_the_callers_context(test)

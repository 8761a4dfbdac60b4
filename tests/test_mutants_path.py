"""The plans' generated functions are the ones that settle (issue 17: survivors of
`Engine._straight`): a mutant that leaves a claim to the engine's stages gives the same result,
so these tests switch the stages off and require the same amounts and trace."""

from pathlib import Path

import pytest

import medpolicy
from medpolicy import engine

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

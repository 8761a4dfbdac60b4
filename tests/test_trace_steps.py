"""The trace's steps for the stages a worked example rarely shows: the first personal share,
the maternity allowance's three cases, a daily ceiling's missing days, a layer's thresholds.
Each step is what `med explain` prints; line numbers are those of the test policy's text."""

from __future__ import annotations

from pathlib import Path

import medpolicy

ROOT = Path(__file__).resolve().parent.parent
POLICY = medpolicy.compile(
    'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'
    "scheme employee\n"
    "  inpatient\n"
    "    primary level1 level2 level3 deductible 100 rate 80%\n"   # line 5
    "    remote-self prepay 10%\n"                                 # line 6
    "  bed ceiling 20 daily\n"                                     # line 7
    "  maternity paid-by maternity rate 100%\n"
    "    delivery allowance 98 days\n"                             # line 9
    "    iud-insert allowance 0 days\n", "t.med")                  # line 10


def claim(**kw) -> dict:
    c = {"id": "c1", "person": "p", "date": "2026-03-01", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "place": "local", "facility": {"level": "level3"},
         "items": [{"class": "A", "amount": "1000.00"}]}
    c.update(kw)
    return c


def steps(c: dict, *names: str) -> list[dict]:
    out = POLICY.settle(c).to_json()
    return [s for s in out["trace"] if s["step"] in names]


def test_the_first_personal_share_is_a_prepay_step_at_its_line_then_the_eligible_cost():
    # remote-self 先行自付 10% of 1,000 = 100.00; eligible 900.00.
    assert steps(claim(place="remote-self"), "prepay", "eligible") == [
        {"step": "prepay", "amount": "100.00", "line": 6, "detail": "first personal share 10%"},
        {"step": "eligible", "amount": "900.00"}]
    assert steps(claim(), "prepay", "eligible") == [{"step": "eligible", "amount": "1000.00"}]


def test_the_allowance_is_computed_from_the_wage_or_says_why_not():
    delivery = claim(benefit="maternity", maternity=["delivery"])
    # 98 days × 9,000 / 30 = 29,400.00
    assert steps(dict(delivery, wage="9000.00"), "allowance") == [
        {"step": "allowance", "amount": "29400.00", "line": 9, "detail": "98 days × 9000.00 / 30"}]
    assert steps(delivery, "allowance") == [
        {"step": "allowance", "line": 9, "detail": "98 days, not computed: the claim gives no wage"}]
    assert steps(claim(benefit="maternity", maternity=["iud-insert"]), "allowance") == [
        {"step": "allowance", "amount": "0.00", "line": 10, "detail": "no allowance"}]


def test_a_bed_item_without_days_under_a_daily_ceiling_is_refused_naming_the_field():
    out = POLICY.settle(claim(items=[{"class": "bed", "amount": "100.00"}])).to_json()
    assert out["error"] == {"code": "missing-field", "message": "a bed item needs days for its daily ceiling",
                            "field": "items.days"}


def test_a_layer_with_several_thresholds_cites_the_first():
    # Shaoxing 第三十六条（一）: the major layer's thresholds are written on lines 119-121; the
    # layer's base step cites the first, 18,000 for stays.
    shaoxing = medpolicy.load(ROOT / "policies" / "shaoxing.med")
    lines = (ROOT / "policies" / "shaoxing.med").read_text(encoding="utf-8").splitlines()
    first = next(i for i, text in enumerate(lines, 1) if text.strip().startswith("threshold 18000 for inpatient"))
    out = shaoxing.settle(claim(items=[{"class": "A", "amount": "60000.00"}])).to_json()
    [base] = [s for s in out["trace"] if s["step"] == "major base"]
    assert (base["line"], base["cite"]) == (first, "第三十六条（一）")


STEPS = medpolicy.compile(
    'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'
    "scheme employee\n"
    "  inpatient\n"
    "    primary level1 level2 level3 deductible 100 rate 80% cap 500 yearly\n"   # line 5
    "  outpatient not-covered\n"                                                  # line 6
    "  maternity paid-by maternity rate 100%\n"                                   # line 7
    "    delivery limit 2500\n"                                                   # line 8
    "    antenatal fixed 400\n", "t.med")                                         # line 9


def _steps(c: dict) -> list[dict]:
    out = STEPS.settle(c).to_json()
    return [s for s in out["trace"] if s["step"] not in ("total", "eligible", "patient", "account", "cash")]


def test_a_cap_step_names_its_line_the_limit_and_the_room_left():
    # (1,000 − 100) × 80% = 720, capped at the yearly 500 with all 500 left.
    assert [s for s in _steps(claim()) if s["step"] == "basic cap"] == [
        {"step": "basic cap", "amount": "500.00", "line": 5, "detail": "yearly cap 500.00 leaves 500.00"}]


def test_a_claim_no_fund_pays_says_so_at_its_clause():
    assert _steps(claim(benefit="outpatient")) == [
        {"step": "not covered", "line": 6, "detail": "no fund pays this claim"}]


def test_limit_and_fixed_amounts_are_their_own_steps():
    # 限额: 3,000 billed, the limit 2,500; 定额: 400 whatever the bill.
    delivery = claim(benefit="maternity", maternity=["delivery"], items=[{"class": "A", "amount": "3000.00"}])
    assert [s for s in _steps(delivery) if s["step"] == "limit"] == [
        {"step": "limit", "amount": "2500.00", "line": 8, "detail": "限额: the actual cost up to the limit"}]
    assert [s for s in _steps(claim(benefit="maternity", maternity=["antenatal"])) if s["step"] == "fixed"] == [
        {"step": "fixed", "amount": "400.00", "line": 9, "detail": "定额: the fixed amount"}]

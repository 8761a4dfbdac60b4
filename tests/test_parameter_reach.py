"""Parameters wherever a number is; a run needs only the parameters its claims reach;
defaults with their source; claims missing a measure a table depends on."""

import pytest

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def claim(**kw):
    c = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "10000.00"}]}
    c.update(kw)
    return c


# ---- 1. parameters wherever a number is ----------------------------------------------

TABLES = HEAD + """parameter r1 "一级医院住院比例"
parameter r3 "三级医院住院比例"
parameter d1 "一级医院起付线"
parameter w "上年度职工平均工资"
scheme employee
  fund basic cap 6 × w yearly
  inpatient
    deductible primary level1 level2 d1 level3 50% of w rate primary level1 level2 r1 level3 r3
"""
TABLE_PARAMS = {"r1": "80%", "r3": "90%", "d1": "300", "w": "2000"}


def test_rates_and_deductibles_by_level_name_parameters():
    policy = medpolicy.compile(TABLES, "t.med")
    # level3: deductible 50% × 2000 = 1000; (10000 − 1000) × 90% = 8100 (cap 6 × 2000 = 12000 not reached)
    assert policy.settle(claim(), params=TABLE_PARAMS)["paid"] == {"basic": "8100.00"}
    # level1: deductible 300; (10000 − 300) × 80% = 7760
    assert policy.settle(claim(facility={"level": "level1"}), params=TABLE_PARAMS)["paid"] == {"basic": "7760.00"}


def test_a_cap_of_a_parameter_times_a_factor_binds():
    policy = medpolicy.compile(TABLES, "t.med")
    # w = 1000: cap 6000; deductible 500; (10000 − 500) × 90% = 8550, capped at 6000
    assert policy.settle(claim(), params={**TABLE_PARAMS, "w": "1000"})["paid"] == {"basic": "6000.00"}


def test_bands_with_a_parameter_bound_and_share():
    policy = medpolicy.compile(HEAD + """parameter t1 "第一段上限"
parameter top "最高段比例"
scheme employee
  fund basic
  inpatient deductible 0 rate 50% to t1, 70% to 8000, top above
""", "t.med")
    # 4000 × 50% + (8000 − 4000) × 70% + (10000 − 8000) × 90% = 2000 + 2800 + 1800 = 6600
    assert policy.settle(claim(), params={"t1": "4000", "top": "90%"})["paid"] == {"basic": "6600.00"}


def test_limits_and_fixed_amounts_by_level_name_parameters():
    policy = medpolicy.compile(HEAD + """parameter l1 "一级限额"
parameter f3 "三级定额"
scheme employee
  fund basic
  inpatient limit primary level1 level2 l1 level3 2 × f3
""", "t.med")
    # a limit pays the cost up to it: min(10000, 2 × 1500) = 3000 at level3, min(10000, 2500) at level1
    assert policy.settle(claim(), params={"l1": "2500", "f3": "1500"})["paid"] == {"basic": "3000.00"}
    assert policy.settle(claim(facility={"level": "level1"}), params={"l1": "2500", "f3": "1500"})["paid"] \
        == {"basic": "2500.00"}
    fixed = medpolicy.compile(HEAD + 'parameter f\nscheme employee\n  fund basic\n  inpatient fixed f\n', "t.med")
    assert fixed.settle(claim(), params={"f": "157"})["paid"] == {"basic": "157.00"}


def test_a_name_in_a_table_that_is_no_parameter_says_so():
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(HEAD + "scheme employee\n  fund basic\n  inpatient\n    rate primary level1 r1 level2 r2\n", "t.med")
    [d] = e.value.diagnostics
    assert (d.span.line, d.span.column, d.span.end_column) == (6, 10, 37)  # the selectors that have no value: the whole table
    assert d.message == "the table's last selectors have no value after them"
    assert d.hint == "declare `r2` as a parameter if it is one: `parameter r2`"


# ---- 2. a run needs only the parameters its claims reach --------------------------------

REACH = HEAD + """parameter w "上年度职工平均工资"
parameter aid_rate "救助比例, set by each county"
parameter aid_cap "年度救助限额"
parameter b_prepay "乙类先行自付比例"
scheme employee
  fund basic
  inpatient deductible 1000 rate 90% cap 6 × w yearly
  outpatient deductible 0 rate 50% cap 2000 yearly
  B prepay b_prepay
  fund aid on burden for inpatient rate aid_rate cap aid_cap yearly
"""


def test_a_claim_that_reaches_no_parameter_settles_without_any():
    policy = medpolicy.compile(REACH, "t.med")
    # Outpatient: its own cap 2000 (not inpatient's 6 × w), no aid layer, no class-B item.
    r = policy.settle(claim(benefit="outpatient", items=[{"class": "A", "amount": "1000.00"}]))
    assert r.ok and r["paid"]["basic"] == "500.00"  # 1000 × 50%


def test_a_claim_that_reaches_missing_parameters_names_every_one_with_its_description():
    policy = medpolicy.compile(REACH, "t.med")
    r = policy.settle(claim(), params={"aid_cap": "100000"})
    assert r["error"] == {"code": "missing-parameter", "field": None, "message":
                          "this claim's terms need parameters the run did not give: aid_rate (救助比例, set by "
                          "each county), w (上年度职工平均工资); give them with --param aid_rate=VALUE "
                          "(or params={'aid_rate': ...})"}
    # Given them, it settles: (10000 − 1000) × 90% = 8100 basic; burden 1900 × 50% aid = 950
    done = policy.settle(claim(), params={"aid_cap": "100000", "aid_rate": "50%", "w": "60000"})
    assert done["paid"] == {"basic": "8100.00", "aid": "950.00"}


def test_an_item_class_that_needs_a_parameter_is_reported_only_when_a_claim_has_it():
    policy = medpolicy.compile(REACH, "t.med")
    items = [{"class": "A", "amount": "400.00"}, {"class": "B", "amount": "600.00"}]
    r = policy.settle(claim(benefit="outpatient", items=items))
    assert r["error"]["code"] == "missing-parameter" and "b_prepay (乙类先行自付比例)" in r["error"]["message"]
    # b_prepay 10%: 60 prepaid; (1000 − 60) × 50% = 470
    assert policy.settle(claim(benefit="outpatient", items=items), params={"b_prepay": "10%"})["paid"]["basic"] \
        == "470.00"


def test_a_run_settles_the_claims_it_can_and_reports_the_rest():
    policy = medpolicy.compile(REACH, "t.med")
    run = policy.run({})
    out = [run.settle(claim(id="a", benefit="outpatient", items=[{"class": "A", "amount": "100.00"}])),
           run.settle(claim(id="b")),
           run.settle(claim(id="c", benefit="outpatient", items=[{"class": "A", "amount": "300.00"}]))]
    assert [r.ok for r in out] == [True, False, True]
    assert out[1]["error"]["code"] == "missing-parameter"
    assert out[2]["paid"]["basic"] == "150.00"


def test_given_values_are_still_checked():
    policy = medpolicy.compile(REACH, "t.med")
    with pytest.raises(medpolicy.MedError, match="aid_rate is a rate or share"):
        policy.run({"aid_rate": "120%"})
    with pytest.raises(medpolicy.MedError, match="w must be a number"):
        policy.run({"w": "lots"})


# ---- 3. defaults with their source ------------------------------------------------------

DEFAULTS = HEAD + """parameter avg_wage "全市上年度职工平均工资" default 60000 from "资阳市统计局2025年公报"
参数 aid_rate "救助比例" 默认 70% 依据 "县医保局通知"
scheme employee
  fund basic cap 10% of avg_wage yearly
  inpatient deductible 1000 rate 90%
  fund aid on burden rate aid_rate
"""


def test_a_run_that_gives_no_value_uses_the_default_and_the_trace_says_where_it_comes_from():
    policy = medpolicy.compile(DEFAULTS, "t.med")
    r = policy.settle(claim())
    # cap 10% × 60000 = 6000 < (10000 − 1000) × 90% = 8100; aid 70% of the burden 10000 − 6000 = 2800
    assert r["paid"] == {"basic": "6000.00", "aid": "2800.00"}
    notes = [s for s in r["trace"] if s["step"] == "parameter"]
    assert notes == [
        {"step": "parameter", "line": 4, "cite": "县医保局通知",
         "detail": "aid_rate = 70% (the policy's default; no value given for this run)"},
        {"step": "parameter", "line": 3, "cite": "资阳市统计局2025年公报",
         "detail": "avg_wage = 60000 (the policy's default; no value given for this run)"},
    ]
    assert r["trace"][0]["step"] == "total" and r["trace"][1]["step"] == "parameter"


def test_a_value_given_overrides_the_default_and_no_note_is_made():
    r = medpolicy.compile(DEFAULTS, "t.med").settle(claim(), params={"avg_wage": "100000", "aid_rate": "50%"})
    # cap 10000 > 8100; aid 50% of 1900 = 950
    assert r["paid"] == {"basic": "8100.00", "aid": "950.00"}
    assert not [s for s in r["trace"] if s["step"] == "parameter"]


def test_a_default_for_a_share_over_100_percent_is_refused_at_its_line():
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(DEFAULTS.replace("默认 70%", "默认 170"), "t.med")
    [d] = e.value.diagnostics
    assert (d.span.line, d.message) == (4, "parameter `aid_rate` is a rate or share: its default must be a "
                                           "percentage up to 100%, not 170")


def test_med_check_lists_the_parameters_with_their_defaults(tmp_path, capsys):
    from medpolicy.cli import main
    path = tmp_path / "d.med"
    path.write_text(DEFAULTS + 'parameter extra "县级限额"\n', encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f'{path}: parameter avg_wage "全市上年度职工平均工资": default 60000 from "资阳市统计局2025年公报"',
        f'{path}: parameter aid_rate "救助比例": default 70% from "县医保局通知"',
        f'{path}: parameter extra "县级限额": no default: a run gives it for the claims that need it (--param)',
        f"{path}: ok"]


# ---- 4. claims without a measure the terms depend on ----------------------------------

AGES = HEAD + """scheme employee
  fund basic
  inpatient deductible 0
    age < 60 rate 80%
    age >= 60 rate 85%
  outpatient rate 50%
    age < 70 deductible 200
    age >= 70 deductible 100
"""


def test_a_claim_without_the_age_its_rates_depend_on_is_told_so():
    policy = medpolicy.compile(AGES, "t.med")
    assert policy.settle(claim())["error"] == {
        "code": "missing-field", "field": "age",
        "message": "the policy's rates for this claim depend on `age` (lines 6–7), and the claim gives no age"}
    # With the age it settles: 10000 × 85%
    assert policy.settle(claim(age=66))["paid"] == {"basic": "8500.00"}


def test_a_claim_without_the_age_its_deductible_depends_on_is_told_so_not_charged_none():
    policy = medpolicy.compile(AGES, "t.med")
    r = policy.settle(claim(benefit="outpatient", items=[{"class": "A", "amount": "1000.00"}]))
    assert r["error"] == {"code": "missing-field", "field": "age", "message":
                          "the policy's deductibles for this claim depend on `age` (lines 9–10), and the claim gives no age"}
    # age 72: (1000 − 100) × 50% = 450
    assert policy.settle(claim(benefit="outpatient", age=72, items=[{"class": "A", "amount": "1000.00"}]))["paid"] \
        == {"basic": "450.00"}


@pytest.mark.parametrize("body, params, paid", [
    # (10000 − 1000) × 90%
    ("  inpatient deductible 1000 rate r\n", {"r": "90%"}, "8100.00"),
    # 10000 × 90% (level3's entry)
    ("  inpatient deductible 0 rate primary level1 level2 r level3 r3\n", {"r": "80%", "r3": "90%"}, "9000.00"),
    # cap 5000 + w = 6000 < 9000
    ("  inpatient deductible 0 rate 90% cap 5000 yearly\n    level3 cap + w\n", {"w": "1000"}, "6000.00"),
    # cap 5000 + 50% of 4000 = 7000 < 9000
    ("  inpatient deductible 0 rate 90% cap 5000 yearly\n    level3 cap + 50% of w\n", {"w": "4000"}, "7000.00"),
    # deductible 1000 − 400 = 600; (10000 − 600) × 90% = 8460
    ("  inpatient deductible 1000 rate 90%\n    level3 deductible - d\n", {"d": "400"}, "8460.00"),
])
def test_each_place_an_amount_or_share_is_written_takes_a_parameter(body, params, paid):
    decls = "".join(f"parameter {n}\n" for n in params)
    policy = medpolicy.compile(HEAD + decls + "scheme employee\n  fund basic\n" + body, "t.med")
    assert policy.settle(claim(), params=params)["paid"] == {"basic": paid}


def test_shaoxing_settles_without_its_seven_parameters_every_claim_that_does_not_reach_them():
    from medpolicy.tomlcompat import tomllib
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "policies"
    data = tomllib.loads((root / "shaoxing.test.toml").read_text(encoding="utf-8"))
    policy = medpolicy.load(root / "shaoxing.med")
    refused = {e["id"] for ex in data["example"] for e in ex.get("expect", []) if "error" in e}
    claims = [c for ex in data["example"] for c in ex["claim"] if c["id"] not in refused]  # examples of a refusal
    bare = [policy.settle(c) for c in claims]
    full = [policy.settle(c, params=data["params"]) for c in claims]
    missing = [(c, r, f) for c, r, f in zip(claims, bare, full) if not r.ok]
    assert {r["error"]["code"] for _, r, _ in missing} == {"missing-parameter"}
    assert 0 < len(missing) < len(claims) // 4  # the aid categories' and class-B claims only
    # Every claim that settles without the parameters settles exactly as with them ...
    assert [r.to_json() for r in bare if r.ok] == [f.to_json() for b, f in zip(bare, full) if b.ok]
    # ... and one that does not settles as with all seven given only the ones its row names.
    for c, r, f in missing:
        named = {n: v for n, v in data["params"].items() if f"{n} (" in r["error"]["message"]}
        assert named and policy.settle(c, params=named).to_json() == f.to_json()


def test_an_item_class_default_is_noted_when_a_claim_has_the_class():
    policy = medpolicy.compile(REACH.replace('parameter b_prepay "乙类先行自付比例"',
                                             'parameter b_prepay "乙类先行自付比例" default 10% from "市医保局通知"'), "t.med")
    items = [{"class": "A", "amount": "400.00"}, {"class": "B", "amount": "600.00"}]
    r = policy.settle(claim(benefit="outpatient", items=items))
    assert r["paid"]["basic"] == "470.00"  # 60 prepaid; (1000 − 60) × 50%
    assert r["trace"][1] == {"step": "parameter", "line": 6, "cite": "市医保局通知",
                             "detail": "b_prepay = 10% (the policy's default; no value given for this run)"}
    plain = policy.settle(claim(benefit="outpatient", items=items[:1]))
    assert not [s for s in plain["trace"] if s["step"] == "parameter"]


def test_the_row_names_the_plans_and_the_item_classes_missing_parameters_together():
    policy = medpolicy.compile(REACH, "t.med")
    items = [{"class": "A", "amount": "400.00"}, {"class": "B", "amount": "600.00"}]
    r = policy.settle(claim(items=items), params={"aid_cap": "100000"})
    assert r["error"]["message"] == (
        "this claim's terms need parameters the run did not give: aid_rate (救助比例, set by each county), "
        "b_prepay (乙类先行自付比例), w (上年度职工平均工资); give them with --param aid_rate=VALUE "
        "(or params={'aid_rate': ...})")


def test_the_strict_check_asks_for_the_parameters_its_claims_reach_instead_of_skipping_them():
    from medpolicy.strict import strict_findings
    policy = medpolicy.compile(REACH, "t.med")
    with pytest.raises(medpolicy.ParameterError, match=r"--strict settles a claim of every case: the inpatient "
                                                       r"claim's terms need parameters the run did not give: aid_cap"):
        strict_findings(policy, {})
    assert isinstance(strict_findings(policy, {"w": "60000", "aid_rate": "50%", "aid_cap": "10000",
                                               "b_prepay": "10%"}), list)


def test_med_diff_still_asks_for_every_parameter_without_a_default():
    from medpolicy.impact import diff
    policy = medpolicy.compile(REACH, "t.med")
    with pytest.raises(medpolicy.ParameterError, match=r"comparing settles claims of every case: give parameter "
                                                       r"w, aid_rate, aid_cap, b_prepay \(--param w=VALUE\)"):
        diff(policy, policy)
    with_defaults = medpolicy.compile(DEFAULTS, "t.med")
    assert diff(with_defaults, with_defaults).clauses == ()


def test_an_excluded_item_before_a_class_that_needs_a_parameter_does_not_hide_it():
    # 目录外 items need no rule; the B item after one still needs b_prepay.
    policy = medpolicy.compile(REACH, "t.med")
    items = [{"class": "excluded", "amount": "50.00"}, {"class": "B", "amount": "600.00"}]
    r = policy.settle(claim(benefit="outpatient", items=items))
    assert r["error"]["message"] == ("this claim's terms need parameter the run did not give: b_prepay (乙类先行自付比例); "
                                     "give it with --param b_prepay=VALUE (or params={'b_prepay': ...})")


def test_a_parameter_without_a_description_is_named_alone():
    policy = medpolicy.compile(HEAD + "parameter d\nscheme employee\n  inpatient\n    deductible d rate 90%\n", "t.med")
    assert policy.settle(claim())["error"] == {
        "code": "missing-parameter", "field": None,
        "message": "this claim's terms need parameter the run did not give: d; give it with --param d=VALUE "
                   "(or params={'d': ...})"}

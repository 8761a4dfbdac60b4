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

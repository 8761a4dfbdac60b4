"""The language: both keyword spellings, the AST with positions, every check with its exact place."""

from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy import ast
from medpolicy.keywords import KEYWORDS
from medpolicy.parser import parse

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def compile_(body: str):
    return medpolicy.compile(HEAD + body, "t.med")


def errors(body: str) -> list[tuple[int, int, str]]:
    with pytest.raises(medpolicy.MedError) as e:
        compile_(body)
    return [(d.span.line, d.span.column, d.message) for d in e.value.diagnostics]


CLAIM = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3"},
         "items": [{"class": "A", "amount": "10000.00"}]}

ENGLISH = """scheme employee
  fund basic cap 120000 yearly
  inpatient
    primary level1 level2 level3 deductible 900 rate employed 85% retired 87%   cite "第二十一条（一）3"
"""
CHINESE = """险种 职工
  基金 统筹基金 封顶线 120000 每年
  住院
    基层 一级 二级 三级 起付线 900 比例 在职 85% 退休 87%   依据 "第二十一条（一）3"
"""


def test_english_and_chinese_spellings_compile_to_the_same_policy():
    en, zh = parse(HEAD + ENGLISH, "en.med"), parse(HEAD + CHINESE, "zh.med")
    # Equality ignores spans; names differ only in spelling, so compare what they settle to.
    assert en.items[0] == zh.items[0]
    r_en = compile_(ENGLISH).settle(CLAIM).to_json(trace=False)
    r_zh = compile_(CHINESE).settle(CLAIM).to_json(trace=False)
    assert r_en == r_zh
    assert r_en["paid"] == {"basic": "7917.00"}  # (10000 - 900) x 87%


def test_mixed_languages_in_one_line():
    mixed = "scheme employee\n  住院\n    基层 level1 二级 level3 起付线 900 rate 在职 85% retired 87%\n"
    assert compile_(mixed).settle(CLAIM)["paid"]["basic"] == "7917.00"


@pytest.mark.parametrize("kw", KEYWORDS, ids=lambda k: k.terminal)
def test_every_keyword_has_both_spellings(kw):
    assert kw.english and kw.chinese
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s) for s in kw.chinese)


def test_ast_nodes_carry_spans_that_equality_ignores():
    m = parse(HEAD + ENGLISH, "t.med")
    scheme = m.items[2]
    line = scheme.items[1].children[0]
    assert (line.span.line, line.span.column) == (6, 5)
    rate = line.settings[1]
    assert isinstance(rate, ast.Rate) and (rate.span.line, rate.span.column) == (6, 49)
    assert rate.value[1].value == ast.Percent(Decimal("0.87"))
    moved = parse(HEAD + "\n\n" + ENGLISH, "t.med").items[2].items[1].children[0]
    assert moved == line and moved.span.line == 8


def test_every_setting_and_selector_of_the_language_has_its_method():
    """The compiler lowers each AST setting, and reads each selector, by the method its class
    names in a table: one added to the grammar without its method fails here, not at the first
    policy that uses it."""
    import typing

    from medpolicy.compiler import _LOWERING, _SELECTORS

    assert set(_LOWERING) == set(typing.get_args(ast.Setting))
    assert len(_LOWERING) == 27
    assert set(_SELECTORS) == set(typing.get_args(ast.Selector))
    assert len(_SELECTORS) == 5


def test_numbers_as_printed():
    m = parse(HEAD + "scheme resident\n  fund major on burden\n    threshold 1.2万\n", "t.med")
    threshold = m.items[2].items[0].children[0].settings[0]
    assert threshold.value == ast.Number(Decimal("12000"))


@pytest.mark.parametrize("body, expected", [
    ("scheme employee\n  inpatient\n    level3 deductible 900 rate 85\n",
     # A table reads any number; the compiler says a rate is a percentage, at the number.
     [(5, 32, "a rate is a percentage: write 85%")]),
    ("scheme employee\n  inpatient\n    level3 deductible 900 rate 85% cite “第一条”\n",
     [(5, 41, "quotes must be straight (\"), not '“'")]),
    ("scheme employee\n  inpatient\n    level3 deductible 900 rate 85%\n   level2 deductible 600\n",
     [(6, 4, "this line's indentation matches no enclosing block")]),
    ("scheme employee\n  inpatient\n    level3 deductible 900 rate 85%\n      level2 rate 80%\n",
     [(6, 7, "this line can never apply: its level contradicts the block it is in")]),
    ("    scheme employee\n",
     [(3, 1, "unexpected indentation: only a line that opens a block may be followed by indented lines")]),
    ("scheme employee\n  inpatient\n    primary level1 level2 level3 rate 80% limit -5\n",
     [(5, 49, "unexpected `-`; expected a name, a number, a percentage (e.g. 85%), a whole number, "
              "an amount in 万, the end of the line")]),
])
def test_syntax_errors_say_where_and_what(body, expected):
    got = errors(body)
    assert all(e in got for e in expected), got


def test_unknown_names_suggest_the_close_one():
    with pytest.raises(medpolicy.MedError) as e:
        compile_("scheme employee\n  inpatient\n    levl3 deductible 900 rate 85%\n")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column, d.message, d.hint) == (5, 5, "unknown name `levl3`", "did you mean `level3`?")


def test_all_problems_are_collected_in_order():
    got = errors("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 185%\n"
                 "    retired deductible - 200 rate + 5 pionts\n    level9 rate 50%\n")
    assert [(l, c) for l, c, _ in got] == [(6, 39)]  # a syntax error stops at the first: `pionts`
    got = errors("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible -5 rate 185%\n"
                 "    level9 rate 50%\n    retired cap 2000 yearly with outpatent\n")
    for expected in [(5, 53, "a rate of 185% is over 100%"), (6, 5, "unknown name `level9`"),
                     (7, 13, "unknown benefit name `outpatent`")]:
        assert expected in got


def test_negative_parameters_are_refused():
    # Literals cannot be negative (the grammar reads `- 200` as an adjustment); parameters could.
    p = medpolicy.compile(HEAD + "parameter avg_wage\nscheme employee\n  fund basic cap 6 × avg_wage yearly\n"
                          "  inpatient\n    primary level1 level2 level3 rate 80%\n", "t.med")
    with pytest.raises(medpolicy.ParameterError, match="non-negative"):
        p.settle(CLAIM, params={"avg_wage": "-1"})


def test_ambiguous_clauses_are_reported_with_both_lines():
    got = errors("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 85%\n"
                 "    exception veteran-worker deductible none\n    exception remote-self deductible 1200\n")
    assert got == [(7, 27, "ambiguous deductible: this clause and line 6 both apply to claims with inpatient, "
                           "veteran-worker, remote-self, and neither is more specific")]


def test_a_clause_for_the_overlap_resolves_the_ambiguity():
    p = compile_("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 85%\n"
                 "    exception veteran-worker deductible none\n    exception remote-self deductible 1200\n"
                 "    exception veteran-worker remote-self deductible 300\n")
    claim = dict(CLAIM, groups=["veteran-worker"], place="remote-self")
    assert p.settle(claim)["deductible"] == "300.00"


def test_missing_level_for_a_benefit_is_reported():
    got = errors("scheme resident\n  two-diseases\n    primary level1 rate 80%\n    level2 rate 70%\n")
    assert got == [(5, 5, "benefit `two-diseases` of scheme resident has no rate for local claims at level3")]


def test_the_most_specific_clause_wins_and_adjustments_stack():
    p = compile_("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 80%\n"
                 "    level3 retired rate 85%\n    retired rate + 5 points\n    age >= 70 rate + 5 points\n"
                 "    age >= 90 rate + 20 points\n")
    assert p.settle(CLAIM)["paid"]["basic"] == "8190.00"                      # 85 + 5 = 90%
    assert p.settle(dict(CLAIM, age=75))["paid"]["basic"] == "8645.00"        # 95%
    assert p.settle(dict(CLAIM, age=95))["paid"]["basic"] == "9100.00"        # capped at 100%


def test_exceptions_are_not_touched_by_general_adjustments():
    p = compile_("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 80%\n"
                 "    retired rate + 5 points\n    exception remote-self rate 40%\n")
    assert p.settle(dict(CLAIM, place="remote-self"))["paid"]["basic"] == "3640.00"  # 40% of 9100


def test_groups_that_disagree_resolve_to_the_most_favourable():
    p = compile_("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 80%\n"
                 "    exception low-income rate 85%\n    exception extreme-poverty rate 95%\n")
    r = p.settle(dict(CLAIM, groups=["low-income", "extreme-poverty"]))
    assert r["paid"]["basic"] == "8645.00"


def test_a_missing_parameter_is_the_claims_error():
    p = medpolicy.compile(HEAD + "parameter avg_wage\nscheme employee\n  fund basic cap 6 × avg_wage yearly\n"
                          "  inpatient\n    primary level1 level2 level3 rate 80%\n", "t.med")
    assert p.settle(CLAIM)["error"]["code"] == "missing-parameter"
    r = p.settle(dict(CLAIM, items=[{"class": "A", "amount": "900000"}]), params={"avg_wage": "50000"})
    assert r["paid"]["basic"] == "300000.00"


def test_an_undeclared_parameter_is_reported_at_its_use():
    got = errors("scheme employee\n  fund basic cap 6 × avg_wag yearly\n")
    assert got[0][2] == "unknown parameter `avg_wag`"


def test_a_clause_and_its_negation_are_not_ambiguous():
    p = compile_("scheme employee\n  inpatient\n    primary level1 level2 level3 deductible 900 rate 80%\n"
                 "    exception veteran-worker deductible none\n"
                 "    exception not veteran-worker from 2027-01-01 deductible 100\n")
    assert p.settle(dict(CLAIM, groups=["veteran-worker"], date="2027-03-01"))["deductible"] == "0.00"
    assert p.settle(dict(CLAIM, date="2027-03-01"))["deductible"] == "100.00"


def test_a_missing_rate_is_reported_at_the_benefits_own_clause():
    got = errors("scheme employee\n  fund basic cap 1000 yearly\n  inpatient\n    level3 rate 80%\n")
    assert got[0][:2] == (6, 5)


def test_parsing_is_safe_across_threads():
    import threading
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "policies"
    texts = [(root / n).read_text(encoding="utf-8") for n in ("suihua.med", "ziyang.med")]
    expected = [parse(t, "t.med") for t in texts]
    failures = []

    def work(i):
        for _ in range(5):
            if parse(texts[i % 2], "t.med") != expected[i % 2]:
                failures.append(i)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_a_compiled_policy_cannot_be_changed_in_place():
    """A compiled policy is shared between threads and cached on disk: its records are frozen."""
    import attrs

    compiled = medpolicy.load("policies/suihua.med").compiled
    employee = compiled.schemes["employee"]
    for record, field, value in ((compiled, "title", "x"), (employee, "funds", ()), (employee.funds[0], "clauses", ())):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(record, field, value)
    assert [f.name for f in employee.funds] == ["basic", "major", "maternity"]


def test_every_node_of_the_shipped_policies_has_the_span_of_its_text():
    """Spans are attached in one place (spanned.spans_from_meta): no node of any shipped policy,
    member sections included, is left without one, and a setting's span is its own words."""
    import glob

    import attrs

    def without(node) -> list:
        if isinstance(node, (tuple, list)):
            return [n for x in node for n in without(x)]
        if not attrs.has(type(node)):
            return []
        own = [type(node).__name__] if getattr(node, "span", None) is ast.NOSPAN else []
        return own + [n for f in attrs.fields(type(node)) if f.name != "span" for n in without(getattr(node, f.name))]

    root = Path(__file__).resolve().parent.parent / "policies"
    for path in sorted(glob.glob(str(root / "*.med"))):
        assert without(parse(Path(path).read_text(encoding="utf-8"), path)) == [], path
    m = parse(HEAD + ENGLISH, "t.med")
    rate = m.items[2].items[1].children[0].settings[1]
    text = (HEAD + ENGLISH).split("\n")[rate.span.line - 1][rate.span.column - 1:rate.span.end_column - 1]
    assert (rate.span.line, rate.span.column, text) == (6, 49, "rate employed 85% retired 87%")

"""`med fmt`: one canonical layout, idempotent, every comment kept, meaning never changed."""

import io
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

import medpolicy
from medpolicy.formatter import format_files, format_text
from medpolicy.scanner import scan

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "policies").glob("*.med")) + sorted((ROOT / "stdlib").glob("*.med"))

# Blank lines at the top, trailing spaces, a tab, a full-width space, cramped punctuation,
# deep and odd indentation, comments everywhere, both languages.
MESSY = (
    "\n\n# header comment   \n"
    'policy "示例办法"   region 某市 effective 2026-01-01 to 2030-12-31 cite "第一条"\n'
    "use standard\n"
    'parameter avg_wage "上年度平均工资"\n'
    'define group "本市人群"\n'
    '    elder 高龄老人   "people over 80"   # local\n'
    '    kids "children"\n'
    "# the employee scheme\n"
    "scheme employee    # 职工\n"
    '    fund basic cap 6×avg_wage yearly cite "第二条"\n'
    "    fund major on burden\n"
    '\t\t\tthreshold 15000 cite "第三条"\n'
    '            rate 65% to 20000,70% to 50000 ,75% above     cite "第三条"\n'
    "      # odd indent: rounds down to the fund's level\n"
    "\n\n\n"
    "    住院  # inpatient\n"
    '      三级 起付线 900 比例 在职 85% 退休 87% 依据 "第四条"\n'
    "\u3000\u3000\u3000retired rate +5 points\n"
    '      age>=70 deductible -200   cite "第五条"\n'
    "    outpatient deductible 500 yearly\n"
    "            # a comment after the last line\n"
    "\n\n"
)

EXPECTED = """\
# header comment
policy "示例办法" region 某市 effective 2026-01-01 to 2030-12-31   cite "第一条"
use standard
parameter avg_wage "上年度平均工资"

define group "本市人群"
  elder             高龄老人             "people over 80"  # local
  kids                                   "children"

# the employee scheme
scheme employee                                                 # 职工
  fund basic cap 6 × avg_wage yearly                            cite "第二条"
  fund major on burden
    threshold 15000                                             cite "第三条"
    rate 65% to 20000, 70% to 50000, 75% above                  cite "第三条"
  # odd indent: rounds down to the fund's level

  住院                                                          # inpatient
    三级 起付线 900 比例 在职 85% 退休 87%                      依据 "第四条"
    retired rate + 5 points
    age >= 70 deductible - 200                                  cite "第五条"
  outpatient deductible 500 yearly
  # a comment after the last line
"""


def test_a_messy_file_takes_the_canonical_layout():
    assert format_text(MESSY, "messy.med") == EXPECTED


def test_the_layout_is_a_fixed_point():
    assert format_text(EXPECTED, "messy.med") == EXPECTED


def test_windows_line_ends_and_a_byte_order_mark_are_dropped():
    assert format_text("\ufeff" + EXPECTED.replace("\n", "\r\n"), "messy.med") == EXPECTED


def test_long_adjacent_clauses_share_a_column_but_a_far_one_keeps_three_spaces():
    text = (
        "scheme employee\n"
        "  inpatient\n"
        '    exception remote-referred remote-emergency deductible 900 rate as level3 - 10 points cite "a"\n'
        '    exception remote-self deductible 900 rate as level3 - 20 points cite "b"\n'
        '    exception remote-self deductible 900 cite "c"\n'
        '    exception remote-self level1 level2 level3 primary deductible 900 rate as level3 - 20 points cite "d"\n'
        '    exception retired employed remote-self remote-referred remote-emergency level1 level2 level3 primary'
        ' deductible 900 rate as level3 - 20 points cite "e"\n'
    )
    assert format_text(text, "t.med").splitlines()[2:] == [
        '    exception remote-referred remote-emergency deductible 900 rate as level3 - 10 points   cite "a"',
        '    exception remote-self deductible 900 rate as level3 - 20 points                        cite "b"',
        '    exception remote-self deductible 900                        cite "c"',
        '    exception remote-self level1 level2 level3 primary deductible 900 rate as level3 - 20 points   cite "d"',
        '    exception retired employed remote-self remote-referred remote-emergency level1 level2 level3 primary'
        ' deductible 900 rate as level3 - 20 points   cite "e"',
    ]


def test_a_blank_line_goes_before_each_scheme_above_its_comments():
    text = 'policy "t"\nuse standard\n# employees\nscheme employee\n  inpatient rate 80%\nscheme resident\n  inpatient rate 70%\n'
    assert format_text(text, "t.med") == (
        'policy "t"\nuse standard\n\n# employees\nscheme employee\n  inpatient rate 80%\n\n'
        "scheme resident\n  inpatient rate 70%\n")


def test_a_syntax_error_is_reported_with_its_place_and_nothing_is_formatted():
    with pytest.raises(medpolicy.MedSyntaxError) as e:
        format_text("scheme employee\n  inpatient rate 80% 90%\n", "bad.med")
    d = e.value.diagnostics[0]
    assert (d.span.file, d.span.line, d.span.column, d.span.end_column) == ("bad.med", 2, 22, 25)
    assert d.message.startswith("unexpected ") and "`90%`" in d.message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_format_idempotently_and_keep_every_comment(path):
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    assert _comments(once) == _comments(text)
    assert len(_comments(text)) > 0


def _comments(text):
    return [t.text.rstrip() for line in text.splitlines() for t in scan(line) if t.kind == "comment"]


def _policies_with_examples():
    for test_file in sorted((ROOT / "policies").glob("*.test.toml")):
        policy = test_file.with_name(test_file.name.replace(".test.toml", ".med"))
        if policy.exists():
            yield pytest.param(policy, test_file, id=policy.stem)


@pytest.mark.parametrize("policy, test_file", list(_policies_with_examples()))
def test_formatting_never_changes_a_settlement(policy, test_file):
    text = policy.read_text(encoding="utf-8")
    original = medpolicy.compile(text, name=str(policy), base_dir=str(policy.parent))
    formatted = medpolicy.compile(format_text(text, str(policy)), name=str(policy), base_dir=str(policy.parent))
    examples = tomllib.loads(test_file.read_text(encoding="utf-8")).get("example", [])
    settled = 0
    for ex in examples:
        before, after = _settle(original, ex), _settle(formatted, ex)
        assert after == before, ex.get("name")
        settled += len(before)
    assert settled > 0


def _settle(policy, example):
    # Every parameter gets a value (an example may give only those it needs); the same for both.
    params = {name: "0.5" for name in policy.parameters} | (example.get("params") or {})
    results = policy.settle_all(example.get("claim", []), params=params)
    return [_without_lines(r.to_json()) for r in results]


def _without_lines(result: dict) -> dict:
    # A blank line the formatter adds moves later clauses down: the trace's line numbers may
    # change, nothing else may.
    out = dict(result)
    if "trace" in out:
        out["trace"] = [{k: v for k, v in step.items() if k != "line"} for step in out["trace"]]
    return out


# ---- med fmt ------------------------------------------------------------------------

def test_fmt_check_reports_a_file_that_would_change_and_leaves_it(tmp_path, capsys):
    f = tmp_path / "messy.med"
    f.write_text(MESSY, encoding="utf-8")
    assert format_files([str(f)], check=True) == 1
    assert f.read_text(encoding="utf-8") == MESSY
    assert capsys.readouterr().err == f"{f}: would reformat\n"


def test_fmt_rewrites_then_check_passes(tmp_path, capsys):
    f = tmp_path / "messy.med"
    f.write_text(MESSY, encoding="utf-8")
    assert format_files([str(f)], check=False) == 0
    assert f.read_text(encoding="utf-8") == EXPECTED
    assert format_files([str(f)], check=True) == 0
    assert capsys.readouterr().err == f"{f}: formatted\n"


def test_fmt_on_a_broken_file_prints_the_error_and_changes_nothing(tmp_path, capsys):
    f = tmp_path / "bad.med"
    broken = "scheme employee\n  inpatient rate 80% 90%\n"
    f.write_text(broken, encoding="utf-8")
    assert format_files([str(f)], check=False) == 1
    assert f.read_text(encoding="utf-8") == broken
    err = capsys.readouterr().err
    assert err.startswith(f"{f}:2:22: error: ")
    assert "  inpatient rate 80% 90%" in err


def test_fmt_on_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert format_files([str(tmp_path / "none.med")], check=False) == 2
    assert "cannot read" in capsys.readouterr().err


def test_fmt_dash_formats_standard_input_to_standard_output(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MESSY))
    assert format_files(["-"], check=False) == 0
    assert capsys.readouterr().out == EXPECTED


def test_shipped_files_are_in_the_canonical_layout():
    from medpolicy.formatter import format_text

    for path in [*sorted((ROOT / "policies").glob("*.med")), ROOT / "stdlib" / "standard.med"]:
        text = path.read_text(encoding="utf-8")
        assert format_text(text, str(path)) == text, f"{path.name}: run `med fmt {path}`"

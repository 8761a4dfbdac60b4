"""Chinese written as Chinese: runs without spaces are read longest known word first
(segment.py), Chinese punctuation separates, 元 and 万元 are units, and the parser, the
formatter and the language server all read a run the same way."""

from __future__ import annotations

from decimal import Decimal

import pytest

import medpolicy
from medpolicy import ast
from medpolicy.document import analyse, standard_library
from medpolicy.editing import semantic_tokens
from medpolicy.errors import MedError
from medpolicy.formatter import format_text
from medpolicy.parser import parse
from medpolicy.scanner import scan
from medpolicy.segment import defined_names, standard_words, words_for

HEAD = 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n\nscheme employee\n  fund basic\n'

SPACED = HEAD + (
    "  住院 比例 80%\n"
    "    三级医院 起付线 900 报销比例 在职 85% 退休 87%\n"
    "    退休人员 比例 + 5 个百分点\n"
    "    非 中医 二级 起付线 - 100 封顶线 + 10%\n"
)
UNSPACED = HEAD + (
    "  住院比例80%\n"
    "    三级医院起付线900元，报销比例在职85%、退休87%\n"
    "    退休人员比例提高5个百分点\n"
    "    非中医二级起付线降低100元；封顶线提高10%。\n"
)


def _line(module: ast.Module, n: int) -> ast.Line:
    scheme = next(i for i in module.items if isinstance(i, ast.Scheme))
    lines = [c for top in scheme.items if isinstance(top, ast.Line) for c in (top, *top.children)]
    return lines[n]


def test_unspaced_chinese_reads_as_the_same_clauses_as_spaced():
    assert parse(UNSPACED, "p.med") == parse(SPACED, "p.med")
    medpolicy.compile(UNSPACED, name="p.med")


def test_a_run_splits_into_words_at_exact_columns():
    line = _line(parse(UNSPACED, "p.med"), 1)
    s = line.selectors[0]
    assert (s.name, s.span.line, s.span.column, s.span.end_column) == ("三级医院", 7, 5, 9)
    deductible, rate = line.settings
    assert deductible.value.value == Decimal("900") and (deductible.span.column, deductible.span.end_column) == (9, 16)
    employed, retired = rate.value
    assert [(e.selectors[0].name, e.value.value) for e in rate.value] == [("在职", Decimal("0.85")), ("退休", Decimal("0.87"))]
    assert (employed.span.column, employed.span.end_column, retired.span.column, retired.span.end_column) == (21, 26, 27, 32)
    assert (line.span.column, line.span.end_column) == (5, 32)


def test_the_scanner_splits_runs_as_the_parser_does():
    assert [(t.kind, t.text, t.column) for t in scan("    退休人员比例提高5个百分点")] == [
        ("word", "退休人员", 4), ("word", "比例", 8), ("word", "提高", 10), ("number", "5", 12), ("word", "个百分点", 13)]
    # longest match: 三级医院 (an alias of level3), not 三级 then 医院 (a hospital type)
    assert [t.text for t in scan("三级医院起付线")] == ["三级医院", "起付线"]
    # a run no known words make up is one word
    assert [t.text for t in scan("比例 中人一档")] == ["比例", "中人一档"]


@pytest.mark.parametrize("written, yuan", [("900元", "900"), ("2万元", "20000"), ("0.05万元", "500"),
                                           ("1.5万", "15000"), ("12.34元", "12.34")])
def test_yuan_and_wan_yuan_are_units(written, yuan):
    line = _line(parse(HEAD + f"  住院起付线{written}比例80%\n", "p.med"), 0)
    assert line.settings[0].value.value == Decimal(yuan)


def test_bands_may_be_separated_by_chinese_commas():
    spaced = parse(HEAD + "  住院 比例 65% 至 2万, 70% 至 5万, 75% 以上\n", "p.med")
    assert parse(HEAD + "  住院比例65%至2万元，70%至5万元，75%以上\n", "p.med") == spaced


def test_a_run_touching_other_text_that_cannot_be_read_is_an_error_with_guesses():
    with pytest.raises(MedError) as e:
        parse(HEAD + "  住院比例80%\n    退休比例提咼5个百分点\n", "p.med")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column, d.span.end_column) == (7, 9, 11)
    assert d.message == "cannot read `提咼` in `退休比例提咼`: it is no keyword or name"
    assert d.hint.startswith("did you mean `提高`?")


def test_a_run_standing_alone_that_cannot_be_read_is_an_unknown_name():
    with pytest.raises(MedError) as e:
        medpolicy.compile(HEAD + "  住院 比例 80%\n    在值 比例 50%\n", name="p.med")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column, d.message, d.hint) == (7, 5, "unknown name `在值`", "did you mean `在职`?")


COHORT = HEAD.replace("\nscheme", '\ndefine group "人群"\n  中人一档          "born and working by 2000"\n\nscheme') + \
    "  住院比例80%\n    中人一档三级起付线600元\n"


def test_names_the_file_defines_are_read_in_runs():
    assert defined_names(COHORT) >= {"中人一档"}
    line = _line(parse(COHORT, "p.med"), 1)
    assert [s.name for s in line.selectors] == ["中人一档", "三级"]
    assert "中人一档" not in standard_words().known and "中人一档" in words_for(COHORT).known
    medpolicy.compile(COHORT, name="p.med")


def test_the_language_server_colours_runs_with_the_documents_own_names():
    a = analyse(COHORT, "/tmp/t.med", "/tmp", standard_library())
    assert [t for t in semantic_tokens(a) if t[0] == 9] == [
        (9, 4, 8, "enumMember", ("group",)), (9, 8, 10, "enumMember", ("level",)),
        (9, 10, 13, "keyword", ()), (9, 13, 17, "number", ())]


def test_med_fmt_keeps_the_authors_spacing():
    assert format_text(UNSPACED, "p.med") == UNSPACED
    assert format_text(SPACED, "p.med") == SPACED
    # extra spaces go, the style stays: unspaced stays unspaced, spaced gets one space
    messy = UNSPACED.replace("  住院比例80%", "  住院比例80%   ").replace("    退休人员比例", "    退休人员比例 ")
    assert format_text(messy, "p.med") == UNSPACED.replace("    退休人员比例提高", "    退休人员比例 提高")


def _keyword_table_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "keyword_table.py"
    spec = importlib.util.spec_from_file_location("keyword_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_keyword_tables_in_docs_language_md_are_up_to_date():
    script = _keyword_table_script()
    doc = script.DOC.read_text(encoding="utf-8")
    assert script.render(doc) == doc, "docs/language.md is stale: run python scripts/keyword_table.py"
    from medpolicy.keywords import KEYWORDS
    row = next(line for line in doc.splitlines() if line.startswith("| `plus` |"))
    assert row == "| `plus` | `提高`、`增加`、`上调` | " + next(k.meaning for k in KEYWORDS if k.terminal == "PLUS") + " |"


def test_the_chinese_suihua_says_what_the_english_one_says():
    # The same settlement terms clause for clause: every worked example of suihua.test.toml runs on both
    # (test_examples.py); here, the two compile to the same number of clauses and both pass `med check`.
    from pathlib import Path

    from medpolicy.examples import policies_for

    root = Path(__file__).resolve().parent.parent / "policies"
    assert [p.name for p in policies_for(root / "suihua.test.toml")] == ["suihua.med", "suihua.zh.med"]
    english, chinese = (parse(p.read_text(encoding="utf-8"), p.name) for p in policies_for(root / "suihua.test.toml"))
    count = lambda m: sum(1 for s in m.items if isinstance(s, ast.Scheme) for _ in _all_lines(s.items))  # noqa: E731
    assert count(english) == count(chinese) == 81
    # Parameter names are the run's interface (`--param avg_wage=...`): the same in both files, so the
    # same worked examples and commands apply; every other word is Chinese.
    params = ("avg_wage", "resident_premium")
    assert not any(ch.isascii() and ch.isalpha() for line in (root / "suihua.zh.med").read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.lstrip().startswith(("#", "不涉及", "引用"))
                   for ch in _without(line.split('"')[0], params))


def _without(text, words):
    for w in words:
        text = text.replace(w, "")
    return text


def _all_lines(items):
    for i in items:
        if isinstance(i, (ast.Line, ast.FundBlock)):
            yield i
            yield from _all_lines(i.children)


def test_med_test_finds_the_test_file_that_names_a_policy():
    from pathlib import Path

    from medpolicy.examples import discover

    root = Path(__file__).resolve().parent.parent / "policies"
    assert discover([str(root / "suihua.zh.med")]) == [root / "suihua.test.toml"]


def test_the_regulations_wei_reads_as_nothing():
    printed = parse(HEAD + "  住院起付标准为900元，报销比例为在职85%、退休87%，最高支付限额为20万元\n", "p.med")
    assert printed == parse(HEAD + "  住院 起付线 900 比例 在职 85% 退休 87% 封顶线 20万\n", "p.med")
    assert [t.text for t in scan("起付标准为900元")] == ["起付标准", "为", "900元"]


def test_the_incremental_reparse_reads_runs_with_the_whole_files_names():
    # A piece of a long scheme is parsed alone (reparse.py); its runs still see the file's `define`s.
    from medpolicy.reparse import Reparser

    text = COHORT + "".join(f"    中人一档二级起付线{500 + n}元，比例在职80%\n" for n in range(30))
    reparser = Reparser("long.med")
    assert reparser.parse(text) == parse(text, "long.med") and not reparser.whole
    edited = text.replace("起付线510元", "起付线511元")
    assert reparser.parse(edited) == parse(edited, "long.med") and reparser.reused > 0

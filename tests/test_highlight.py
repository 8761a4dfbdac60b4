"""The Pygments lexer: golden token files, every keyword spelling, whole words, and no
Error token on any real policy.

Golden files are tests/golden/tokens/NAME.med with the expected tokens in NAME.tokens.
After an intended change, refresh them (the refreshing run fails for each file it rewrote),
review the diff, and run again:

    MED_UPDATE_GOLDEN=1 python -m pytest tests/test_highlight.py
"""

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String, Whitespace

from medpolicy.highlight import DECLARATION_TERMINALS, MedLexer, lexicon
from medpolicy.keywords import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "tokens"
GOLDEN_INPUTS = sorted(GOLDEN.glob("*.med"))
POLICY_FILES = sorted((ROOT / "policies").glob("*.med")) + sorted((ROOT / "stdlib").glob("*.med"))


def tokens(text: str) -> list[tuple]:
    return [(ttype, value) for ttype, value in MedLexer().get_tokens(text) if ttype is not Whitespace]


def render(text: str) -> str:
    """One token a line, as Pygments' own golden tests print them: value, then type."""
    return "".join(f"{value!r:<24} {str(ttype)[len('Token.'):]}\n" for ttype, value in MedLexer().get_tokens(text))


# ---- golden token files -----------------------------------------------------------


@pytest.mark.parametrize("source", GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden_tokens(source):
    actual = render(source.read_text(encoding="utf-8"))
    expected_file = source.with_suffix(".tokens")
    expected = expected_file.read_text(encoding="utf-8") if expected_file.exists() else None
    if os.environ.get("MED_UPDATE_GOLDEN") == "1" and actual != expected:
        # Rewriting is never a pass: the run that rewrote the file fails, the next one compares.
        expected_file.write_text(actual, encoding="utf-8")
        pytest.fail(f"rewrote {expected_file.name}: review its diff, then run without MED_UPDATE_GOLDEN")
    assert expected is not None, f"{expected_file.name} is missing; run with MED_UPDATE_GOLDEN=1"
    assert actual == expected, "tokens differ (MED_UPDATE_GOLDEN=1 accepts them):\n" + "".join(
        difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                             f"{expected_file.name} (expected)", f"{expected_file.name} (actual)"))


def test_golden_inputs_cover_both_languages():
    assert {p.stem for p in GOLDEN_INPUTS} >= {"english", "chinese", "words", "errors"}


# ---- every keyword, every name ----------------------------------------------------


SPELLINGS = [(k.terminal, s) for k in KEYWORDS for s in k.spellings]


@pytest.mark.parametrize("terminal,spelling", SPELLINGS, ids=[f"{t}:{s}" for t, s in SPELLINGS])
def test_every_keyword_spelling_is_a_keyword(terminal, spelling):
    alone = tokens(spelling + "\n")
    assert len(alone) == 1 and alone[0][1] == spelling
    assert alone[0][0] in Keyword
    # and in the middle of a line, between other words
    inline = tokens(f"level3 {spelling} 三级\n")
    assert inline[1] == (alone[0][0], spelling)


def test_both_languages_are_covered():
    english = [s for k in KEYWORDS for s in k.english]
    chinese = [s for k in KEYWORDS for s in k.chinese]
    assert len(english) >= len(KEYWORDS) and len(chinese) >= len(KEYWORDS)
    assert all(ch.isascii() for s in english for ch in s)
    assert not any(ch.isascii() for s in chinese for ch in s)


def test_declaration_terminals_are_keyword_terminals():
    assert DECLARATION_TERMINALS <= {k.terminal for k in KEYWORDS}


def test_structure_keywords_are_declarations():
    assert tokens("scheme 险种 fund 基金 cite 依据\n") == [(Keyword.Declaration, w) for w in
                                                      ("scheme", "险种", "fund", "基金", "cite", "依据")]
    assert tokens("deductible 起付线\n") == [(Keyword, "deductible"), (Keyword, "起付线")]


def test_every_vocabulary_spelling_is_a_builtin_name():
    words = lexicon().vocabulary
    assert {"level3", "三级", "retired", "退休", "veteran-worker", "建国前老工人", "pregnancy-months"} <= set(words)
    assert tokens(" ".join(words) + "\n") == [(Name.Builtin, w) for w in words]


# ---- whole words ------------------------------------------------------------------


def test_chinese_runs_split_into_known_words_longest_first():
    # 三级医院 is an alias of level3 (longest match), 医院三级 two names, 中人一档 no known words: one name
    assert tokens("三级 三级医院 医院三级 中人一档\n") == [(Name.Builtin, "三级"), (Name.Builtin, "三级医院"),
                                                    (Name.Builtin, "医院"), (Name.Builtin, "三级"), (Name, "中人一档")]
    assert tokens("起付线标准 起付线\n") == [(Name, "起付线标准"), (Keyword, "起付线")]


def test_hyphen_joins_a_word():
    assert tokens("not not-covered notable\n") == [(Keyword, "not"), (Keyword, "not-covered"), (Name, "notable")]


def test_numbers_split_from_the_following_word_as_the_grammar_does():
    assert tokens("rate + 5个百分点\n") == [(Keyword, "rate"), (Operator, "+"), (Number.Integer, "5"), (Keyword, "个百分点")]
    assert tokens("level3 level30\n") == [(Name.Builtin, "level3"), (Name, "level30")]


def test_numbers_percentages_wan_and_dates():
    assert tokens("900 1.5 87% 87.5% 1.2万 2026-01-01\n") == [
        (Number.Integer, "900"), (Number.Float, "1.5"), (Number, "87%"), (Number, "87.5%"),
        (Number, "1.2万"), (Literal.Date, "2026-01-01")]


def test_citations_comments_and_strings():
    assert tokens('level3 rate 85% 依据 "第二十一条（一）3"  # 住院 "x"\n') == [
        (Name.Builtin, "level3"), (Keyword, "rate"), (Number, "85%"), (Keyword.Declaration, "依据"),
        (String.Doc, '"第二十一条（一）3"'), (Comment.Single, '# 住院 "x"')]
    assert tokens('parameter avg_wage "平均工资"\n') == [
        (Keyword.Declaration, "parameter"), (Name.Variable, "avg_wage"), (String.Double, '"平均工资"')]


def test_what_the_grammar_rejects_is_an_error():
    assert (Error, '"第二十一条') in tokens('cite "第二十一条\n')
    assert (Error, "【") in tokens("rate 85%【\n")
    assert (Punctuation, "；") in tokens("rate 85%；\n")  # Chinese punctuation separates, as a space


# ---- real files -------------------------------------------------------------------


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_error_token_in_real_files(path):
    text = path.read_text(encoding="utf-8")
    toks = list(MedLexer().get_tokens(text))
    errors = [value for ttype, value in toks if ttype in Error]
    assert errors == []
    # lossless: the tokens put back together are the file (Pygments strips outer newlines)
    assert "".join(v for _, v in toks) == text.strip("\n") + "\n"


def test_real_files_use_keywords_names_and_citations():
    toks = tokens((ROOT / "policies" / "suihua.med").read_text(encoding="utf-8"))
    assert (Keyword, "deductible") in toks and (Name.Builtin, "level3") in toks
    assert (String.Doc, '"第二十一条（一）3"') in toks
    assert (Name, "绥化") in toks  # the region is no vocabulary name


# ---- discovery --------------------------------------------------------------------


def test_pygments_finds_the_lexer_by_name_and_file_name():
    assert type(get_lexer_by_name("med")) is MedLexer
    assert type(get_lexer_for_filename("policies/suihua.med")) is MedLexer


def test_pygmentize_highlights_a_policy():
    out = subprocess.run([sys.executable, "-m", "pygments", "-l", "med", "-f", "html",
                          str(ROOT / "policies" / "suihua.med")],
                         capture_output=True, text=True, encoding="utf-8", check=True).stdout
    assert '<span class="k">deductible</span>' in out
    # Pygments 2.21 stopped escaping quotes in HTML text; either spelling is the citation token.
    assert ('<span class="sd">&quot;第四十三条&quot;</span>' in out) or ('<span class="sd">"第四十三条"</span>' in out)

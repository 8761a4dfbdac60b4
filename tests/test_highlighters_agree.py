"""Every highlighter agrees with the parser on the tricky lines: full-width spaces (U+3000)
as indentation and between words, full-width punctuation inside quotes and comments (fine)
and outside them (an error everywhere), `5个百分点` (a number, then the keyword), and the
language server offers the regulation's usual word first (起付线 before 起付标准).

The same text goes to the parser, the scanner (the language server's tokens), Pygments,
the TextMate grammar (vscode-textmate, the engine VS Code uses) and Vim (headless); each
highlighter's tokens are reduced to (line, text, category) and must equal the parser's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String

import medpolicy
from medpolicy.document import analyse, completions, standard_library
from medpolicy.highlight import MedLexer
from medpolicy.keywords import BY_SPELLING
from medpolicy.scanner import scan

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editor-support" / "vscode"
EDITORS = ROOT / "editor-support"

TRICKY = (
    'policy "x" effective 2026-01-01 to 2030-12-31\n'
    "use standard\n"
    "\n"
    "scheme employee\n"
    "  fund basic\n"
    "  住院 比例 80%                                                 # 全角标点（一）在注释里\n"
    "\u3000\u3000三级\u3000起付线 900 比例 在职 85% 退休 87%   依据 \"第二十一条（一）3\"\n"
    "    退休 比例 + 5个百分点\n"
    "    在职 比例 + 5 百分点\n"
)
BROKEN_LINE = 10  # 1-based: `【` outside quotes
BROKEN = TRICKY + "    三级【一】 起付线 100\n"

# Chinese as it is printed: no spaces, Chinese punctuation, 元 and 万元 (segment.py).
UNSPACED = (
    'policy "x" effective 2026-01-01 to 2030-12-31\n'
    "use standard\n"
    "\n"
    "scheme employee\n"
    "  fund basic\n"
    "  住院比例80%\n"
    "    三级医院起付线900元，报销比例在职85%、退休87%   依据\"第二十一条（一）3\"\n"
    "    退休人员比例提高5个百分点\n"
    "    非中医二级起付线0.05万元。\n"
    "    一级 起付线 300元 比例90%\n"
    "  门诊统筹不予支付依据\"第三十条\"\n"
)


def parser_truth(text: str, touching_merged: bool = False) -> list[tuple[int, str, str]]:
    """(line, text, category) of every token, as the parser and the vocabulary read it.
    `touching_merged`: touching tokens of one category as one (Vim's dump cannot tell
    `比例` `提高` from one run of the same colour)."""
    vocabulary = analyse(text, "/tmp/t.med", "/tmp", standard_library()).vocabulary
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        tokens = scan(line)
        for k, t in enumerate(tokens):
            if touching_merged and k and tokens[k - 1].end == t.column and out[-1][2] == _category(vocabulary, tokens, k):
                out[-1] = (n, out[-1][1] + t.text, out[-1][2])
                continue
            kind = _category(vocabulary, tokens, k)
            out.append((n, t.text.rstrip() if kind == "comment" else t.text, kind))
    return out


def _category(vocabulary, tokens, k) -> str:
    t = tokens[k]
    if t.kind == "word":
        return "keyword" if t.text in BY_SPELLING else "name" if _named(vocabulary, t.text) else "word"
    if t.kind == "string":
        cite = k and BY_SPELLING.get(tokens[k - 1].text) and BY_SPELLING[tokens[k - 1].text].terminal == "CITE"
        return "citation" if cite else "string"
    return {"number": "number", "punct": "operator", "separator": "separator", "comment": "comment",
            "other": "illegal"}[t.kind]


def _named(vocabulary, word: str) -> bool:
    return vocabulary.selector(word) is not None or any(vocabulary.lookup(k, word) for k in ("fund", "measure"))


def pygments_tokens(text: str) -> list[tuple[int, str, str]]:
    out, line = [], 1
    for ttype, value in MedLexer().get_tokens(text):
        if value.strip():
            kind = ("illegal" if ttype in Error else "comment" if ttype in Comment
                    else "citation" if ttype in String.Doc else "string" if ttype in String
                    else "number" if ttype in Number or ttype in Literal else "operator" if ttype in Operator
                    else "separator" if ttype in Punctuation
                    else "keyword" if ttype in Keyword else "name" if ttype in Name.Builtin else "word")
            out.append((line, value.rstrip() if kind == "comment" else value, kind))
        line += value.count("\n")
    return out


def textmate_tokens(node: str, path: Path) -> list[tuple[int, str, str]]:
    dump = subprocess.run([node, "test/grammar.test.js", "--dump", str(path)], cwd=VSCODE,
                          capture_output=True, text=True, check=True).stdout
    out = []
    for row in dump.splitlines():
        n, rest = row.split(": ", 1)
        value, _, scopes = rest.rpartition("  ")
        value = json.loads(value)
        if not value.strip():
            continue
        kind = ("illegal" if "invalid" in scopes else "comment" if "comment" in scopes
                else "citation" if "citation" in scopes else "string" if "string" in scopes
                else "number" if "constant.numeric" in scopes else "operator" if "keyword.operator" in scopes
                else "separator" if "punctuation.separator.chinese" in scopes
                else "keyword" if "keyword" in scopes else "name" if "support.type.vocabulary" in scopes
                else "word")
        out.append((int(n), value.rstrip() if kind == "comment" else value, kind))
    return _merge_comments(out)


def vim_tokens(path: Path, tmp_path: Path) -> list[tuple[int, str, str]]:
    vim = shutil.which("vim")
    assert vim, "vim is needed: apt-get install vim"
    out = tmp_path / "tokens"
    subprocess.run([vim, "-N", "-u", "NONE", "-i", "NONE", "-n", "-es", "--cmd", "set encoding=utf-8",
                    "--cmd", f"set rtp^={EDITORS / 'vim'}", "-c", "filetype on", "-c", "syntax on",
                    "-c", f"edit {path}", "-c", f"source {EDITORS / 'vim' / 'test' / 'dump-syntax.vim'}", "-c", "qa!"],
                   env={**os.environ, "MED_VIM_OUT": str(out)}, check=True, timeout=60)
    rows, touching = [], False
    for r in out.read_text(encoding="utf-8").splitlines()[1:]:
        n, group, value = r.split("\t", 2)
        if not value.strip() or group in ("medBlank",) or group.endswith("Blank"):
            touching = False
            continue
        group = group.replace("AfterNumber", "").replace("InRun", "")
        kind = ("illegal" if group in ("medIllegal", "medUnterminated") else "comment" if group == "medComment"
                else "citation" if group == "medCitation" else "string" if group == "medString"
                else "number" if group in ("medNumber", "medFloat", "medDate") else "operator" if group == "medOperator"
                else "separator" if group == "medDelimiter"
                else "keyword" if group in ("medDeclaration", "medSetting") or group.startswith("medHead")
                else "name" if group == "medVocabulary" else "word")
        if touching and rows[-1][0] == int(n) and rows[-1][2] == kind:  # `不予支付` `依据`: one colour, as in parser_truth
            rows[-1] = (int(n), rows[-1][1] + value, kind)
        else:
            rows.append((int(n), value.rstrip() if kind == "comment" else value, kind))
        touching = True
    return _merge_comments(rows)


def _merge_comments(rows):
    """A comment split into pieces (the `#` and the rest) becomes one token, as the parser has it."""
    out = []
    for n, value, kind in rows:
        if kind == "comment" and out and out[-1][0] == n and out[-1][2] == "comment":
            out[-1] = (n, out[-1][1] + value, kind)
        else:
            out.append((n, value, kind))
    return out


def test_the_parser_accepts_full_width_spaces_and_punctuation_in_quotes_and_comments():
    medpolicy.compile(TRICKY, name="tricky.med")
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(BROKEN, name="broken.med")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.span.column) == (BROKEN_LINE, 7) and "full-width" in d.message


def test_the_parser_reads_unspaced_chinese_as_the_scanner_splits_it():
    # The tokens the parser keeps (keywords, names, numbers, strings) are exactly the scanner's words, at its columns.
    from medpolicy.parser import _parser, _WORDS
    from medpolicy.segment import words_for

    medpolicy.compile(UNSPACED, name="unspaced.med")
    reset = _WORDS.set(words_for(UNSPACED))
    try:
        tree = _parser().parse(UNSPACED)
    finally:
        _WORDS.reset(reset)
    parsed = [(t.line, t.column - 1, str(t)) for t in tree.scan_values(lambda v: hasattr(v, "type"))]
    scanned = [(n, t.column, t.text) for n, line in enumerate(UNSPACED.splitlines(), 1)
               for t in scan(line) if t.kind in ("word", "number", "string")]
    assert parsed == scanned
    assert [t.text for t in scan(UNSPACED.splitlines()[6])][:12] == [
        "三级医院", "起付线", "900元", "，", "报销比例", "在职", "85%", "、", "退休", "87%", "依据", '"第二十一条（一）3"']


@pytest.mark.parametrize("text", [TRICKY, UNSPACED], ids=["spaced", "unspaced"])
def test_pygments_agrees_with_the_parser(text):
    assert pygments_tokens(text) == parser_truth(text)
    assert (BROKEN_LINE, "【", "illegal") in pygments_tokens(BROKEN)


@pytest.mark.parametrize("text", [TRICKY, UNSPACED], ids=["spaced", "unspaced"])
def test_the_textmate_grammar_agrees_with_the_parser(node, tmp_path, text):
    # `node` (conftest.py): node with the locked npm packages, `npm ci` run once if they are missing.
    path = tmp_path / "tricky.med"
    path.write_text(text, encoding="utf-8")
    assert textmate_tokens(node, path) == parser_truth(text)
    path.write_text(BROKEN, encoding="utf-8")
    assert any(n == BROKEN_LINE and k == "illegal" and "【" in v for n, v, k in textmate_tokens(node, path))


@pytest.mark.parametrize("text", [TRICKY, UNSPACED], ids=["spaced", "unspaced"])
def test_vim_agrees_with_the_parser(tmp_path, text):
    path = tmp_path / "tricky.med"
    path.write_text(text, encoding="utf-8")
    assert vim_tokens(path, tmp_path) == parser_truth(text, touching_merged=True)
    path.write_text(BROKEN, encoding="utf-8")
    assert any(n == BROKEN_LINE and k == "illegal" and "【" in v for n, v, k in vim_tokens(path, tmp_path))


def test_completion_offers_the_regulations_usual_word_first():
    a = analyse(TRICKY, "/tmp/t.med", "/tmp", standard_library())
    items, _ = completions(a, 6, len("\u3000\u3000三级\u3000起"))
    labels = [c.label for c in items]
    assert labels[:2] == ["起付线", "起付标准"]


def test_med_fmt_keeps_points_attached_to_their_number():
    from medpolicy.formatter import format_text

    out = format_text(TRICKY, "tricky.med")
    assert "    退休 比例 + 5个百分点\n" in out and "    在职 比例 + 5 百分点\n" in out

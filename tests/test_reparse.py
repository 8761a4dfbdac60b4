"""The incremental re-parse (interpreter/reparse.py) gives the tree the whole-file parser
gives — every node and every span — and so the same diagnostics at the same positions,
after each edit of a series: numbers changed, lines inserted and deleted (every block below
moves), clauses added, syntax errors made and mended, indentation broken, parameters added."""

import random
from pathlib import Path

import attrs
import pytest

from medpolicy import ast
from medpolicy.document import analyse, standard_library
from medpolicy.errors import MedError
from medpolicy.parser import parse
from medpolicy.reparse import Reparser

POLICIES = Path(__file__).resolve().parent.parent / "policies"
STD = standard_library()


def spans(node, out):
    """Every span in the tree, in order, with the kind of node it belongs to."""
    if isinstance(node, tuple):
        for n in node:
            spans(n, out)
    elif attrs.has(type(node)):
        for f in attrs.fields(type(node)):
            value = getattr(node, f.name)
            if isinstance(value, ast.Span):
                out.append((type(node).__name__, value))
            else:
                spans(value, out)
    return out


def outcome(parse_text, text):
    try:
        return parse_text(text)
    except MedError as e:
        return [(d.span, d.message, d.hint) for d in e.diagnostics]


def assert_same(reparser, text, name):
    whole = outcome(lambda t: parse(t, name), text)
    piecewise = outcome(reparser.parse, text)
    assert piecewise == whole
    if isinstance(whole, ast.Module):
        assert spans(piecewise, []) == spans(whole, [])


def long_block(extra: int) -> str:
    """suihua.med with `extra` dated level-3 clauses in its inpatient block (benchmarks/lsp.py's shape)."""
    text = (POLICIES / "suihua.med").read_text(encoding="utf-8")
    marker = '    level3 deductible 900 rate employed 85% retired 87%'
    lines = [f"    level3 from {2030 + i // 300}-{1 + i // 25 % 12:02d}-{1 + i % 25:02d} "
             f"until {2030 + i // 300}-{1 + i // 25 % 12:02d}-{1 + i % 25:02d} deductible {900 + i}" for i in range(extra)]
    at = text.index(marker)
    end = text.index("\n", at) + 1
    return text[:end] + "\n".join(lines) + "\n" + text[end:]


EDITS = [
    ("a number", lambda ls, r: _replace_in(ls, r, "900", "901")),
    ("a blank line", lambda ls, r: ls.insert(r.randrange(len(ls)), "")),
    ("a comment", lambda ls, r: ls.insert(r.randrange(len(ls)), "  # a note")),
    ("a line deleted", lambda ls, r: ls.pop(r.randrange(len(ls)))),
    ("a clause", lambda ls, r: _after(ls, r, "level3", "    level2 from 2031-01-01 deductible 700")),
    ("a typo", lambda ls, r: _replace_in(ls, r, "deductible", "deductable")),
    ("a half-typed line", lambda ls, r: _after(ls, r, "level3", "    level1 rate")),
    ("a bad indent", lambda ls, r: _after(ls, r, "level3", "   level2 rate 80%")),
    ("full-width parenthesis", lambda ls, r: _replace_in(ls, r, "rate", "rate（")),
    ("a parameter", lambda ls, r: ls.insert(_first(ls, "scheme"), 'parameter level2 "shadows a name in tables"')),
    ("a tab", lambda ls, r: _replace_in(ls, r, "    level", "\t level")),
    ("a line joined", lambda ls, r: _join(ls, r)),
]


def _first(ls, word):
    return next(i for i, line in enumerate(ls) if line.startswith(word))


def _replace_in(ls, r, old, new):
    hits = [i for i, line in enumerate(ls) if old in line]
    if hits:
        i = r.choice(hits)
        ls[i] = ls[i].replace(old, new, 1)


def _after(ls, r, word, line):
    hits = [i for i, text in enumerate(ls) if text.strip().startswith(word)]
    if hits:
        ls.insert(r.choice(hits) + 1, line)


def _join(ls, r):
    i = r.randrange(len(ls) - 1)
    ls[i:i + 2] = [ls[i] + " " + ls[i + 1].strip()]


def test_a_series_of_edits_on_a_long_block_gives_the_whole_files_tree():
    text = long_block(60)  # with SPLIT_LINES 24: the block is split, its clauses in groups
    reparser = Reparser("long.med")
    assert_same(reparser, text, "long.med")
    rnd = random.Random(13)
    valid = 0
    for step in range(24):
        name, edit = EDITS[step % len(EDITS)] if step < len(EDITS) else rnd.choice(EDITS)
        lines = text.split("\n")
        edit(lines, rnd)
        edited = "\n".join(lines)
        assert_same(reparser, edited, "long.med"), name
        if isinstance(outcome(lambda t: parse(t, "long.med"), edited), ast.Module):
            # a text that parses is always parsed piecewise; the next edit starts from it
            assert not reparser.whole, name
            text, valid = edited, valid + 1
        # else: the whole-file parser reported the error; the next edit starts from the text before (an undo)
    assert valid >= 10


@pytest.mark.parametrize("city", ["binzhou", "shaoxing", "suihua", "suizhou", "ziyang"])
def test_edits_of_each_shipped_policy(city):
    text = (POLICIES / f"{city}.med").read_text(encoding="utf-8")
    reparser = Reparser(f"{city}.med")
    rnd = random.Random(city)
    for _ in range(6):
        lines = text.split("\n")
        rnd.choice(EDITS)[1](lines, rnd)
        assert_same(reparser, "\n".join(lines), f"{city}.med")


def test_only_the_changed_piece_is_parsed_again_and_moved_pieces_are_reused():
    text = long_block(150)
    reparser = Reparser("long.med")
    reparser.parse(text)
    reparser.parse(text.replace("deductible 1000", "deductible 1001"))
    assert reparser.parsed == 1 and reparser.reused > 10
    with pytest.raises(MedError):  # half typed: the whole-file parser reports it
        reparser.parse(text.replace("deductible 1000", "deductible 1000 rat"))
    reparser.parse(text.replace("deductible 1000", "deductible 1002"))
    assert reparser.parsed == 1  # the pieces of the last version that parsed were kept
    moved = text.replace("\nscheme employee", "\n\nscheme employee")
    assert spans(reparser.parse(moved), []) == spans(parse(moved, "long.med"), [])
    assert reparser.parsed <= 3 and reparser.reused >= 30  # the pieces around the blank line


def test_diagnostics_of_incremental_and_whole_analysis_are_identical():
    text = long_block(60)
    reparser = Reparser("/p/long.med")
    rnd = random.Random(7)
    lines = text.split("\n")
    for name, edit in EDITS + EDITS[:4]:
        edit(lines, rnd)
        edited = "\n".join(lines)
        whole = analyse(edited, "/p/long.med", "/p", STD)
        piecewise = analyse(edited, "/p/long.med", "/p", STD, reparser=reparser)
        assert [(d.span, d.severity, d.message, d.hint) for d in piecewise.diagnostics] == \
            [(d.span, d.severity, d.message, d.hint) for d in whole.diagnostics], name


def test_an_ambiguity_made_by_an_edit_is_reported_at_its_line():
    text = long_block(50)
    reparser = Reparser("/p/long.med")
    analyse(text, "/p/long.med", "/p", STD, reparser=reparser)
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if "level3 from 2030-01-05" in line)
    lines.insert(at + 1, lines[at].replace("deductible 904", "deductible 999"))
    a = analyse("\n".join(lines), "/p/long.med", "/p", STD, reparser=reparser)
    assert [(d.span.line, d.span.column, d.message) for d in a.diagnostics if d.severity == "error"] == [
        (at + 2, 45, f"this sets deductible for the same claims as line {at + 1}, differently")]


def test_split_funds_nested_blocks_comments_crlf_and_a_missing_last_newline():
    clauses = "".join(f"      level{1 + i % 3} from 2031-01-{1 + i % 28:02d} deductible {100 + i}\n" for i in range(30))
    text = ("\ufeff# a policy\n\npolicy \"x\" effective 2026-01-01 to 2030-12-31\nuse standard\n"
            "parameter r2 \"a rate\"\n\nscheme employee   # 职工\n"
            "  fund major on burden                                  cite \"第一条\"\n"
            + "".join(f"    inpatient from 2031-02-{1 + i:02d} cap {1000 + i}\n" for i in range(28))
            + "  # between\n\n  inpatient rate 80%\n    exception level3\n" + clauses
            + "    level2 rate level1 r2 level2 70%\n  # a comment at the end of the block\n"
            + "\n\n# the end, no newline")
    for variant in (text, text.replace("\n", "\r\n"), text + "\n"):
        reparser = Reparser("f.med")
        assert_same(reparser, variant, "f.med")
        assert not reparser.whole and reparser.parsed > 3
        edited = variant.replace("deductible 105", "deductible 1050").replace("cap 1003", "cap 1004")
        assert_same(reparser, edited, "f.med")
        assert not reparser.whole and reparser.parsed == 2


CHARACTER_EDITS = ["rate", "deductible", "cap", " ", "%", "1", "level3", "（", '"', "#", "\n", "\n    ", "  ",
                   "exception", "from", "until", "起付线", "在职", "比例"]


@pytest.mark.parametrize("city", ["shaoxing", "long block"])
def test_random_character_edits_report_the_whole_files_first_error(city):
    """Typing anywhere — words, punctuation, quotes, line breaks — gives what the whole-file
    parser gives; a syntax error on one piece is reported by parsing that piece alone."""
    base = long_block(80) if city == "long block" else (POLICIES / f"{city}.med").read_text(encoding="utf-8")
    rnd = random.Random(city)
    alone = 0
    for _trial in range(20):
        reparser = Reparser("f.med")
        reparser.parse(base)
        lines = base.split("\n")
        for _ in range(3):
            i = rnd.randrange(len(lines))
            j = rnd.randrange(len(lines[i]) + 1)
            cut = rnd.randrange(1, 6) if rnd.random() < 0.3 else 0
            lines[i] = lines[i][:j] + ("" if cut else rnd.choice(CHARACTER_EDITS)) + lines[i][j + cut:]
            text = "\n".join(lines)
            whole = outcome(lambda t: parse(t, "f.med"), text)
            assert outcome(reparser.parse, text) == whole
            alone += not isinstance(whole, ast.Module) and not reparser.whole
    # Errors found by parsing one piece, not the whole file: most erring edits (on 2026-12-06,
    # 14 of 16 in shaoxing.med and 31 of 49 in the long block; the edits follow the file's text).
    assert alone >= 10

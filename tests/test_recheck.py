"""The incremental check (interpreter/recheck.py, with reparse.py) gives what the full check
gives — every diagnostic at its place, and the compiled policy clause for clause (spans and
order included) — after series of random edits: numbers, names misspelt, syntax errors made
and mended, lines moved, clauses added, and `define` entries renamed, aliased, added and
removed (every line asking about such a name is compiled again, the others are reused)."""

import random
from pathlib import Path

import pytest

from medpolicy.document import analyse, standard_library
from medpolicy.errors import MedError
from medpolicy.policy import compile as compile_policy
from medpolicy.recheck import Rechecker
from medpolicy.reparse import Reparser
from test_reparse import _after, _join, _replace_in  # the same edits as the re-parse's tests

POLICIES = Path(__file__).resolve().parent.parent / "policies"
STD = standard_library()
PATH, BASE = "/p/long.med", "/p"

DEFINES = ('define group "a local group"\n'
           '  local-aid   本地救助 "a group the edits rename"\n'
           '  other-aid   "another"\n')


def long_policy(extra: int) -> str:
    """suihua.med with a `define` of its own, `extra` dated level-3 clauses in its inpatient
    block, and clauses naming the defined group (benchmarks/lsp.py's shape, smaller)."""
    text = (POLICIES / "suihua.med").read_text(encoding="utf-8")
    marker = '    level3 deductible 900 rate employed 85% retired 87%'
    lines = [f"    level3 from {2030 + i // 300}-{1 + i // 25 % 12:02d}-{1 + i % 25:02d} "
             f"until {2030 + i // 300}-{1 + i // 25 % 12:02d}-{1 + i % 25:02d} deductible {900 + i}" for i in range(extra)]
    lines += ["    local-aid level1 deductible 100", "    other-aid level2 deductible 200"]
    at = text.index(marker)
    end = text.index("\n", at) + 1
    text = text[:end] + "\n".join(lines) + "\n" + text[end:]
    return text.replace("use standard\n", "use standard\n\n" + DEFINES, 1)


def _define(ls, r, old, new):
    """Change the `define` block's entry line that starts with `old`."""
    for i, line in enumerate(ls):
        if line.startswith("  " + old):
            ls[i] = "  " + new + line[2 + len(old):]
            return


EDITS = [
    ("a number", lambda ls, r: _replace_in(ls, r, "deductible 9", "deductible 8")),
    ("a name misspelt", lambda ls, r: _replace_in(ls, r, "level3 from", "levle3 from")),
    ("a syntax error", lambda ls, r: _replace_in(ls, r, "deductible 9", "deductible rate 9")),
    ("a syntax error mended", lambda ls, r: _replace_in(ls, r, "deductible rate 9", "deductible 9")),
    ("a blank line", lambda ls, r: ls.insert(r.randrange(len(ls)), "")),
    ("a line deleted", lambda ls, r: ls.pop(r.randrange(len(ls)))),
    ("a clause", lambda ls, r: _after(ls, r, "level3", "    level2 from 2031-01-01 deductible 700")),
    ("an ambiguous clause", lambda ls, r: _after(ls, r, "level3 from", "    level3 from 2030-01-03 deductible 1")),
    ("a define renamed", lambda ls, r: _define(ls, r, "local-aid", "local-aids")),
    ("a define renamed back", lambda ls, r: _define(ls, r, "local-aids", "local-aid")),
    ("an alias added", lambda ls, r: _define(ls, r, "other-aid", "other-aid  oa")),
    ("an alias used", lambda ls, r: _replace_in(ls, r, "other-aid level2", "oa level2")),
    ("an entry added", lambda ls, r: ls.insert(next(i for i, x in enumerate(ls) if x.startswith("  other-aid")),
                                             "  levle3  \"shadows a typo\"")),
    ("a parameter", lambda ls, r: ls.insert(next(i for i, x in enumerate(ls) if x.startswith("scheme")),
                                          'parameter p1 "a rate"')),
    ("a parameter used", lambda ls, r: _replace_in(ls, r, "level2 deductible 200", "level2 deductible 200 rate p1")),
    ("a full-width space", lambda ls, r: _replace_in(ls, r, "level3 from", "level3\u3000from")),
    ("a line joined", lambda ls, r: _join(ls, r)),
]


def compiled_as_data(policy):
    """Everything the compiler hands on, as comparable data (clauses compare with their spans)."""
    c = policy.compiled
    schemes = {name: (tuple((f.name, f.base, f.including_prepay, f.above_deductible, f.benefits, f.clauses, f.span,
                             f.cite, f.including_first_share, f.excluding_above_cap) for f in s.funds),
                      s.clauses, s.item_clauses, s.benefits, s.span, s.pools)
               for name, s in c.schemes.items()}
    return (c.title, c.region, c.effective, c.params, c.file, c.cite, c.measure_breaks, c.date_breaks,
            c.vocabulary, c.members, schemes, tuple(policy.warnings))


def full(text):
    try:
        return compiled_as_data(compile_policy(text, PATH, base_dir=BASE))
    except MedError as e:
        return [(d.span, d.severity, d.message, d.hint) for d in e.diagnostics]


def incremental(reparser, rechecker, text):
    try:
        return compiled_as_data(rechecker.compile(text, PATH, BASE, reparser.parse(text)))
    except MedError as e:
        return [(d.span, d.severity, d.message, d.hint) for d in e.diagnostics]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_give_the_full_checks_result(seed):
    text = long_policy(40)
    reparser, rechecker = Reparser(PATH), Rechecker()
    assert incremental(reparser, rechecker, text) == full(text)
    rnd = random.Random(seed)
    kinds, good = set(), text
    for step in range(24):
        name, edit = EDITS[step] if step < len(EDITS) and seed == 1 else rnd.choice(EDITS)
        lines = text.split("\n")
        edit(lines, rnd)
        edited = "\n".join(lines)
        expected = full(edited)
        assert incremental(reparser, rechecker, edited) == expected, (step, name)
        kinds.add("compiles" if isinstance(expected, tuple) else "errors")
        if isinstance(expected, tuple):
            text = good = edited
        else:  # sometimes the next edit starts from the broken text, at most one error deep
            text = edited if text is good and rnd.random() < 0.4 else good
    assert kinds == {"compiles", "errors"}


def test_a_number_edit_compiles_only_its_line_and_the_blocks_around_it():
    text = long_policy(300)
    reparser, rechecker = Reparser(PATH), Rechecker()
    incremental(reparser, rechecker, text)
    assert rechecker.compiled > 300
    edited = text.replace("deductible 1000", "deductible 1001", 1)
    assert incremental(reparser, rechecker, edited) == full(edited)
    # the clause, the benefit block it is in; every other line of the scheme reused
    assert rechecker.compiled == 2 and rechecker.reused > 20


def test_a_define_change_compiles_again_only_the_lines_that_ask_about_its_names():
    text = long_policy(300)
    reparser, rechecker = Reparser(PATH), Rechecker()
    incremental(reparser, rechecker, text)
    renamed = text.replace("  local-aid   本地救助", "  local-aids  本地救助", 1)
    result = incremental(reparser, rechecker, renamed)
    assert result == full(renamed)
    assert [m for _s, _k, m, _h in result] == ["unknown name `local-aid`"]
    # the line naming it and the blocks holding it; the 300 dated clauses are reused
    assert rechecker.compiled == 2 and rechecker.reused > 300


def test_the_language_server_analysis_with_both_helpers_equals_the_plain_one():
    text = long_policy(60)
    reparser, rechecker = Reparser(PATH), Rechecker()
    rnd = random.Random(5)
    lines = text.split("\n")
    for name, edit in EDITS:
        edit(lines, rnd)
        edited = "\n".join(lines)
        plain = analyse(edited, PATH, BASE, STD)
        quick = analyse(edited, PATH, BASE, STD, reparser=reparser, rechecker=rechecker)
        assert quick.diagnostics == plain.diagnostics, name
        assert quick.vocabulary == plain.vocabulary, name

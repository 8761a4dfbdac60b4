"""One indentation rule (interpreter/indentation.py) for the parser, the formatter, the
scanner and the language server: widths in display columns (space 1, full-width space 2,
tab 4), and an indentation error reported at its own line and column."""

from __future__ import annotations

import pytest

from medpolicy import indentation, scanner
from medpolicy.errors import MedSyntaxError
from medpolicy.formatter import format_text
from medpolicy.parser import parse

HEADER = 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def _error(text: str) -> MedSyntaxError:
    with pytest.raises(MedSyntaxError) as info:
        parse(HEADER + text, "x.med")
    return info.value


def test_an_indentation_error_made_with_full_width_spaces_is_reported_at_its_place():
    # Two full-width spaces are 4 columns, a block inside `inpatient` (2); 3 spaces then land
    # between the two blocks. A copy of the rule that counted characters put this at 1:1.
    e = _error("scheme employee\n  inpatient\n\u3000\u3000level3 rate 50%\n   level2 rate 40%\n")
    assert (e.line, e.column, e.message) == (6, 4, "this line's indentation matches no enclosing block")


@pytest.mark.parametrize("bad, column", [("   ", 4), ("\u3000 ", 3), ("\t ", 3), (" \u3000", 3)])
def test_an_indentation_error_is_at_the_first_character_after_the_indentation(bad, column):
    # Blocks at 4 and 6 columns; each `bad` is 3 or 5 columns, between two of them.
    e = _error("scheme employee\n    inpatient\n      level3 rate 50%\n" + bad + "level2 rate 40%\n")
    assert (e.line, e.column) == (6, column)


@pytest.mark.parametrize("indent, columns", [("", 0), (" ", 1), ("\u3000", 2), ("\t", 4), ("\u3000\u3000", 4),
                                             (" \t\u3000", 7)])
def test_widths_are_display_columns(indent, columns):
    assert indentation.width(indent + "x  y") == columns
    assert scanner.indent_width(indent + "x") == columns  # the scanner measures with the same rule


@pytest.mark.parametrize("second", ["\t", "\u3000\u3000", "  \u3000"])
def test_equal_widths_written_differently_are_one_block_everywhere(second):
    text = HEADER + "scheme employee\n  inpatient\n    level3 rate 50%\n" + f"{second}level2 rate 40%\n"
    module = parse(text, "x.med")  # the parser: siblings (else: an indentation error)
    assert module.items
    formatted = format_text(text, "x.med")  # the formatter: the same depth
    assert formatted.splitlines()[-2:] == ["    level3 rate 50%", "    level2 rate 40%"]


def test_blocks_open_close_and_refuse_a_misaligned_line():
    blocks = indentation.Blocks()
    assert [blocks.enter(w) for w in (0, 2, 4, 4, 2, 6)] == [0, 1, 1, 0, -1, 1]
    assert blocks.levels == [0, 2, 6]
    with pytest.raises(indentation.Misaligned) as info:
        blocks.enter(1)
    assert info.value.closed == 2 and blocks.levels == [0]


def test_the_strict_one_column_check_measures_with_the_same_rule():
    from medpolicy.strict import _indentation

    # A full-width space is two columns (a block, not a one-column slip); three spaces after
    # it are one column more.
    text = HEADER + "scheme employee\n\u3000inpatient rate 50%\n   level3 rate 60%\n"
    assert [(f.span.line, f.span.column, f.message.split(":")[0]) for f in _indentation("x.med", text)] == [
        (5, 1, "indented one column more than the line before")]

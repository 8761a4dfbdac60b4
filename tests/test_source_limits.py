"""What any policy text may cost: memory and work bounded by the size limits, whatever the
text holds (blank lines, comments, one huge table), with the limit's message at its place."""

from __future__ import annotations

import tracemalloc

from medpolicy.parser import parse

HEADER = 'policy "x" effective 2026-01-01 to 2026-12-31\nuse standard\n'
TAIL = "scheme employee\n  inpatient rate 50%\n"


def _peak_mb(text: str) -> float:
    tracemalloc.start()
    try:
        module = parse(text, "x.med")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert module.items  # it parsed
    return peak / 1e6


def test_two_megabytes_of_blank_lines_parse_in_bounded_memory():
    # The newline terminal was a repeated regex group: Python's engine kept a backtracking
    # frame per line, 940 MB for this text. Now a character class: a few copies of the text.
    text = HEADER + "\n" * (1_999_000 - len(HEADER) - len(TAIL)) + TAIL
    assert _peak_mb(text) < 60


def test_comment_lines_parse_in_bounded_memory():
    text = HEADER + "  # a comment\n" * 20_000 + "# another\n\n" * 20_000 + TAIL
    assert _peak_mb(text) < 60

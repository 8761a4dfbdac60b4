"""What any policy text may cost: memory and work bounded by the size limits, whatever the
text holds (blank lines, comments, one huge table), with the limit's message at its place."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import medpolicy
from medpolicy.clauses import Constraint, pairs_to_compare
from medpolicy.errors import MedSyntaxError
from medpolicy.parser import MAX_CLAUSES, parse

HEADER = 'policy "x" effective 2026-01-01 to 2026-12-31\nuse standard\n'
TAIL = "scheme employee\n  inpatient rate 50%\n"


def _peak_mb(text: str) -> float:
    parse(HEADER + TAIL)  # the parser is built once per process: not part of the measure
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
    # (600,000 lines here, to keep the suite quick: the old terminal took 250 MB for them.)
    text = HEADER + "\n" * 600_000 + TAIL
    assert _peak_mb(text) < 40


def test_comment_lines_parse_in_bounded_memory():
    text = HEADER + "  # a comment\n" * 20_000 + "# another\n\n" * 20_000 + TAIL
    assert _peak_mb(text) < 60


# ---- the clause limit counts a table's entries; the checks are near-linear in them ---------

def test_a_table_entry_counts_as_a_clause_against_the_limit():
    entries = [f"age >= {i} {i % 90}%" for i in range(MAX_CLAUSES + 5)]
    line = "  outpatient deductible 0 rate " + " ".join(entries)
    with pytest.raises(MedSyntaxError) as info:
        parse(HEADER + "scheme employee\n" + line + "\n", "x.med")
    e = info.value
    # The first clause over the limit: the line itself is clause 1, so entry number 2000 (0-based 1999).
    column = line.index(" " + entries[MAX_CLAUSES - 1] + " ") + 2
    assert (e.line, e.column) == (4, column)
    assert e.message == f"more than {MAX_CLAUSES} clauses in one file (each entry of a table counts as one)"


def test_a_table_of_as_many_entries_as_allowed_compiles():
    entries = " ".join(f"age >= {i} {i % 90}%" for i in range(MAX_CLAUSES - 2))  # + 2 lines
    policy = medpolicy.compile(HEADER + "scheme employee\n  inpatient deductible 0 rate 50%\n"
                               f"  outpatient deductible 0 rate {entries}\n", "x.med")
    assert policy.compiled is not None


def _brute_force_needs_check(a: Constraint, b: Constraint) -> bool:
    """The pairs the ambiguity check cannot dismiss without looking further (its first tests)."""
    if a.clearly_apart(b):
        return False
    if a.implies(b) or b.implies(a):
        return a == b
    return a.overlaps(b)


BOUND = st.one_of(st.none(), st.integers(0, 12))
CONSTRAINTS = st.builds(
    lambda level, measure, lo, hi, dates: Constraint(
        (("level", frozenset(level)),) if level else (),
        (),
        ((measure, (lo, hi)),) if measure else (),
        dates),
    st.sets(st.sampled_from(["level1", "level2", "level3"]), max_size=2),
    st.sampled_from([None, "age", "age", "babies"]),
    BOUND, BOUND,
    st.sampled_from([(None, None), (None, 100), (50, None)]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(CONSTRAINTS, st.integers(0, 1)), max_size=14))
def test_the_near_linear_pairing_misses_no_pair_the_check_needs(clauses):
    constraints = [c for c, _ in clauses]
    tiers = [t for _, t in clauses]
    paired = set(pairs_to_compare(constraints, tiers))
    for i in range(len(clauses)):
        for j in range(i + 1, len(clauses)):
            if tiers[i] == tiers[j] and _brute_force_needs_check(constraints[i], constraints[j]):
                assert (i, j) in paired, (constraints[i], constraints[j])

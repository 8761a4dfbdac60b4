"""A block of many clauses, one per period: the ambiguity check pairs only clauses whose
dates meet (a sweep, not every pair), and still finds the ones that do."""

import pytest

import medpolicy
from medpolicy.clauses import Constraint, pairs_to_compare

HEAD = 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n\nscheme employee\n  fund basic\n  inpatient rate 80%\n'


def dated(lo, hi):
    return Constraint(values=(("level", frozenset({"level3"})),), dates=(lo, hi))


def test_clauses_one_per_period_are_never_paired():
    constraints = [dated(2 * i, 2 * i + 1) for i in range(900)]
    assert pairs_to_compare(constraints, [0] * 900) == []


def test_clauses_whose_periods_meet_are_paired_and_open_ranges_meet_everything():
    constraints = [dated(0, 10), dated(20, 30), dated(5, 25), dated(None, None), dated(40, None)]
    assert pairs_to_compare(constraints, [0] * 5) == [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (3, 4)]


def test_overlapping_dated_clauses_are_still_reported_ambiguous():
    text = HEAD + ("    level3 from 2026-01-01 until 2026-06-30 deductible 900\n"
                   "    level3 from 2026-03-01 until 2026-12-31 deductible 800\n")
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(text, name="p.med")
    [d] = e.value.diagnostics
    assert d.span.line == 8 and d.message.startswith("ambiguous deductible: this clause and line 7 both apply")


def test_many_clauses_one_per_period_compile_cleanly():
    import datetime as dt
    start = dt.date(2026, 1, 1)
    lines = [f"    level3 from {start + dt.timedelta(days=2 * i)} until {start + dt.timedelta(days=2 * i + 1)} "
             f"deductible {900 + i}\n" for i in range(600)]
    medpolicy.compile(HEAD + "".join(lines), name="p.med")


def test_a_block_of_alike_clauses_is_paired_linearly_and_each_clash_said_once():
    # A pasted block of clauses for the same claims once made every pair (1,900 clauses: past a
    # minute and 800 MB) and an error for each pair (400 clauses: 79,800 of them).
    alike = [dated(None, None)] * 1000
    pairs = pairs_to_compare(alike, [0] * 1000)
    assert len(pairs) == 999 + 998 and pairs[:3] == [(0, 1), (0, 2), (0, 3)] and (998, 999) in pairs
    text = HEAD + "".join(f"    level3 deductible {900 + (i % 3)}\n" for i in range(400))
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(text, name="p.med")
    said = [(d.span.line, d.message) for d in e.value.diagnostics]
    # Lines 7.. hold 900, 901, 902, 900, ...: each clause but the first is said once, against the
    # first (line 7) where they differ, else against the one before it.
    assert said == [(7 + i, f"this sets deductible for the same claims as line {7 if i % 3 else 6 + i}, differently")
                    for i in range(1, 400)]

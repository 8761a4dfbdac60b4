"""`med check --strict`: what a compiling policy may still hide, each finding at its place."""

import json

from medpolicy.cli import main

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n\nscheme employee\n  inpatient\n'
ALL = "    primary level1 level2 level3 deductible 1000 rate 80%\n"


def strict(tmp_path, capsys, body: str) -> tuple[int, list[str]]:
    (tmp_path / "t.med").write_text(HEAD + body, encoding="utf-8")
    status = main(["check", "--strict", str(tmp_path / "t.med")])
    return status, [line.replace(str(tmp_path) + "/", "") for line in capsys.readouterr().err.splitlines()]


def counter_claim(lines: list[str], after: str) -> dict:
    i = next(i for i, line in enumerate(lines) if line.startswith(after))
    return json.loads(lines[i + 1].split("counter-claim: ", 1)[1])


def test_a_clean_policy_has_no_finding(tmp_path, capsys):
    assert strict(tmp_path, capsys, ALL) == (0, ["t.med: ok", "t.med: 0 strict findings"])


def test_the_same_setting_twice_in_one_clause(tmp_path, capsys):
    status, out = strict(tmp_path, capsys, "    primary level1 level2 level3 deductible 900 deductible 800 rate 80%\n")
    assert status == 1
    assert out[1] == "t.med:6:49: warning: the clause sets `deductible` twice: this one silently replaces the one at column 34"


def test_a_clause_dated_from_after_its_until(tmp_path, capsys):
    _, out = strict(tmp_path, capsys, ALL + "    retired from 2026-06-01 until 2026-03-01 rate 90%\n")
    assert "t.med:7:29: warning: the clause applies from 2026-06-01 until 2026-03-01: no day is in both, " \
           "so it never applies" in out


def test_a_gap_for_each_place_no_clause_settles(tmp_path, capsys):
    status, out = strict(tmp_path, capsys, "    local primary level1 level2 level3 deductible 1000 rate 80%\n")
    gaps = [line for line in out if "a gap" in line]
    assert status == 1 and len(gaps) == 4  # remote-emergency, -referred, -resident, -self
    assert gaps[0] == "t.med:6:5: warning: a gap: no clause gives a rate for this inpatient claim " \
                      "(level3, employed, remote-emergency)"
    assert counter_claim(out, gaps[0])["place"] == "remote-emergency"


def test_a_clause_an_exception_always_beats_never_wins(tmp_path, capsys):
    _, out = strict(tmp_path, capsys, ALL + "    exception level3 rate 85%\n    level3 rate 82%\n")
    assert out[1].startswith("t.med:8:5: warning: this clause never wins")
    claim = counter_claim(out, out[1])
    assert claim["facility"] == {"level": "level3"} and claim["status"] == "employed"


def test_adjustments_past_100_percent(tmp_path, capsys):
    _, out = strict(tmp_path, capsys, ALL + "    retired rate + 25 points\n")
    assert out[1] == "t.med:6:5: warning: adjustments take the rate past 100% (105%) for employee inpatient " \
                     "level3 retired local (and maybe others): it is settled at 100%"
    assert counter_claim(out, out[1])["status"] == "retired"


def test_one_column_or_a_tab_of_indentation(tmp_path, capsys):
    _, out = strict(tmp_path, capsys, ALL + "     retired rate 90%\n")
    assert out[1] == "t.med:7:1: warning: indented one column more than the line before: that nests this line " \
                     "in a block under it; indent blocks by two spaces"
    _, out = strict(tmp_path, capsys, ALL + "\tretired rate 90%\n")
    assert out[1:] == ["t.med:7:1: warning: a tab in the indentation: editors show it at different widths; "
                       "indent with two spaces", "t.med: 1 strict finding"]


def test_an_empty_policy(tmp_path, capsys):
    (tmp_path / "e.med").write_text('policy "e" effective 2026-01-01\nuse standard\n', encoding="utf-8")
    assert main(["check", "--strict", str(tmp_path / "e.med")]) == 1
    assert "e.med:1:1: warning: the policy has no `scheme` block: it settles no claim" in capsys.readouterr().err

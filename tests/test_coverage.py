"""`med test --coverage`: which clauses the worked examples exercise."""

from medpolicy.cli import main

POLICY = """policy "t" effective 2026-01-01 to 2030-12-31
use standard

scheme employee
  inpatient
    primary level1 level2 level3 deductible 1000 rate 80%      cite "第二条"
    retired rate + 5 points                                    cite "第三条"
    exception veteran-worker deductible none rate 90%          cite "第四条"
  outpatient
    primary level1 level2 level3 deductible 100 rate 50%       cite "第五条"
"""

TESTS = """
[[example]]
name = "a retired member's stay: 80% + 5 points"
[[example.claim]]
id = "a"
person = "p"
date = "2026-03-01"
scheme = "employee"
status = "retired"
benefit = "inpatient"
facility = { level = "level3" }
items = [{ class = "A", amount = "3000" }]
[[example.expect]]
id = "a"
paid = { basic = "1700.00" }   # (3000 - 1000) x 85%
"""


def write(tmp_path, tests):
    (tmp_path / "t.med").write_text(POLICY, encoding="utf-8")
    (tmp_path / "t.test.toml").write_text(tests, encoding="utf-8")
    return str(tmp_path / "t.test.toml")


def test_coverage_lists_each_clause_no_example_reaches(tmp_path, capsys):
    assert main(["test", "--coverage", write(tmp_path, TESTS)]) == 0
    out = capsys.readouterr().out.splitlines()
    # Lines 6 (the rate) and 7 (the adjustment applied on top of it) are exercised.
    assert out[1] == "coverage t.med: 2 of 4 clauses exercised (50.0%)"
    assert out[2].startswith("  not exercised t.med:8  exception veteran-worker")
    assert out[3].startswith("  not exercised t.med:10  primary level1 level2 level3 deductible 100")


def test_a_clause_left_out_with_a_reason_is_listed_with_it(tmp_path, capsys):
    excused = TESTS + '\n[[unexercised]]\nclause = "exception veteran-worker"\nreason = "no such member is left"\n'
    assert main(["test", "--coverage", write(tmp_path, excused)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "coverage t.med: 2 of 4 clauses exercised (50.0%), 1 left out with a reason: 75.0% accounted for"
    assert out[2].endswith("— left out: no such member is left")


def test_fail_under_fails_the_run(tmp_path, capsys):
    assert main(["test", "--coverage", "--fail-under", "60", write(tmp_path, TESTS)]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "coverage t.med: 50.0% is under --fail-under 60%"


def test_an_excuse_for_a_clause_that_is_exercised_is_reported_stale(tmp_path, capsys):
    excused = TESTS + '\n[[unexercised]]\nclause = "retired rate + 5 points"\nreason = "no retirees"\n'
    assert main(["test", "--coverage", write(tmp_path, excused)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "  stale [[unexercised]] entry: no unexercised clause of t.med contains 'retired rate + 5 points'"


def test_every_shipped_clause_is_exercised_or_left_out_with_its_reason():
    # The five cities' worked examples settle every clause of their policy, but the ones their test
    # file lists under [[unexercised]] with a reason; a new clause without an example fails here.
    from pathlib import Path
    from medpolicy.coverage import coverage
    from medpolicy.examples import load_examples
    found = {}
    for f in sorted((Path(__file__).parent.parent / "policies").glob("*.test.toml")):
        if f.name.endswith(".members.test.toml"):  # member rules: tests/test_members.py
            continue
        policy, data = load_examples(f)
        c = coverage(policy, data.get("example", []), data.get("params", {}), data.get("unexercised", []))
        assert c.untested == (), [f"{c.policy}:{m.line} {m.text}" for m in c.untested]
        assert c.stale == ()
        found[c.policy] = (c.exercised, c.clauses, [m.line for m in c.missing])
    assert found == {
        "binzhou.med": (23, 23, []),
        "shaoxing.med": (108, 108, []),  # the resident scheme's account clause (第二十二条（四）)
        "suihua.med": (70, 70, []),
        "suizhou.med": (66, 66, []),
        "ziyang.med": (109, 109, []),
    }

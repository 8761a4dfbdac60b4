"""scripts/mutation_equivalents.txt, read by `scripts/mutation.py --report-only`: one equivalent
mutant a line (`NAME<TAB>reason`), under the heading of its file, every core file headed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import mutation  # noqa: E402

NAME = re.compile(r"^medpolicy\.(?P<module>\w+)\.x[^.\s]+__mutmut_\d+$")


def test_every_line_is_a_mutant_with_a_reason_under_its_files_heading():
    heading, seen = None, []
    for n, line in enumerate(mutation.EQUIVALENTS.read_text(encoding="utf-8").splitlines(), 1):
        if m := re.match(r"^# (\w+\.py)$", line):
            heading = m[1]
            seen.append(heading)
        elif line.strip() and not line.startswith("#"):
            name, tab, reason = line.partition("\t")
            m = NAME.match(name)
            assert m and tab and reason.strip(), f"line {n}: expected NAME<TAB>reason: {line!r}"
            assert f"{m['module']}.py" == heading, f"line {n}: {name} is under the heading {heading}"
    assert sorted(seen) == sorted(mutation.CORE)
    assert len(mutation.equivalents(mutation.EQUIVALENTS)) > 0


def test_a_malformed_or_repeated_line_is_refused(tmp_path):
    bad = tmp_path / "eq.txt"
    bad.write_text("# money.py\nmedpolicy.money.x_q__mutmut_21 no tab here\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"eq.txt:2: expected NAME<TAB>reason"):
        mutation.equivalents(bad)
    bad.write_text("medpolicy.money.x_q__mutmut_21\ta\nmedpolicy.money.x_q__mutmut_21\tb\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"eq.txt:2: medpolicy.money.x_q__mutmut_21 is listed twice"):
        mutation.equivalents(bad)


def test_stamping_records_the_code_the_equivalents_were_judged_on(tmp_path):
    # A stage whose money.py has one mutated function, x_q, of hash abc123.
    meta = tmp_path / "stage" / "mutants" / "medpolicy" / "money.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text('{"hash_by_function_name": {"x_q": "abc123", "x_div": "def456"}}', encoding="utf-8")
    eq = tmp_path / "eq.txt"
    eq.write_text("# money.py\nmedpolicy.money.x_q__mutmut_21\tsame int\n\n# settle.py\n", encoding="utf-8")
    assert mutation.function_hashes(tmp_path / "stage") == {"medpolicy.money.x_q": "abc123",
                                                            "medpolicy.money.x_div": "def456"}
    assert mutation.stamp_equivalents(eq, tmp_path / "stage") == 1
    assert eq.read_text(encoding="utf-8") == ("# money.py\nmedpolicy.money.x_q__mutmut_21\tsame int\n"
                                              "# hash medpolicy.money.x_q abc123\n\n# settle.py\n")
    assert mutation.equivalent_hashes(eq) == {"medpolicy.money.x_q": "abc123"}
    assert mutation.equivalents(eq) == {"medpolicy.money.x_q__mutmut_21": "same int"}


def test_fresh_verdicts_from_several_files_the_later_replacing_the_earlier(tmp_path):
    # The run's own file, then a helper's: q 1 killed there replaces its survival here; div 2's
    # function has changed since (another hash): left out, counted as stale.
    import json
    run, helper = tmp_path / "run.json", tmp_path / "helper.json"
    run.write_text(json.dumps([{"name": "medpolicy.money.x_q__mutmut_1", "result": "survived", "function_hash": "a"},
                               {"name": "medpolicy.money.x_q__mutmut_2", "result": "killed", "function_hash": "a"}]))
    helper.write_text(json.dumps([{"name": "medpolicy.money.x_q__mutmut_1", "result": "killed", "function_hash": "a"},
                                  {"name": "medpolicy.money.x_div__mutmut_2", "result": "killed", "function_hash": "b"},
                                  {"name": "medpolicy.money.x_q__mutmut_3", "result": "not applied"}]))
    hashes = {"medpolicy.money.x_q": "a", "medpolicy.money.x_div": "c"}
    assert mutation.fresh_verdicts([run, helper], hashes) == (
        {"medpolicy.money.x_q__mutmut_1": "killed", "medpolicy.money.x_q__mutmut_2": "killed"}, 1)
    assert mutation.fresh_verdicts([helper, run], hashes)[0]["medpolicy.money.x_q__mutmut_1"] == "survived"
    assert mutation.fresh_verdicts([tmp_path / "none.json"], hashes) == ({}, 0)


def test_a_methods_diff_applies_at_the_methods_indentation():
    # mutmut shows a method dedented, as a function of its own: a hunk of two lines, and a line
    # found twice at different depths, apply where the method has them.
    import mutation_fresh
    source = ("class Reader:\n    def read(self, x):\n        direct = x\n        if x:\n            direct = x\n"
              "        return direct\n\n\ndef other():\n    direct = x\n")
    diff = ("# name: survived\n--- a.py\n+++ a.py\n@@ -1,4 +1,4 @@\n def read(self, x):\n-    direct = x\n"
            "+    direct = None\n     if x:\n")
    assert mutation_fresh.apply(source, "xǁReaderǁread", diff) == source.replace(
        "        direct = x\n        if", "        direct = None\n        if")


def test_a_differential_kill_counts_apart_and_its_survival_is_no_verdict(tmp_path):
    # scripts/mutation_differential.py's records say `"by": "differential"`: its kill is told apart
    # from a fresh process's; its "survived" means only that the pytest tier must still run.
    import json
    diff = tmp_path / "diff.json"
    diff.write_text(json.dumps([
        {"name": "medpolicy.straight.x_pct__mutmut_1", "result": "killed", "function_hash": "h", "by": "differential"},
        {"name": "medpolicy.straight.x_pct__mutmut_2", "result": "survived", "function_hash": "h", "by": "differential"}]))
    assert mutation.fresh_verdicts([diff], {"medpolicy.straight.x_pct": "h"}) == (
        {"medpolicy.straight.x_pct__mutmut_1": "differential killed",
         "medpolicy.straight.x_pct__mutmut_2": "differential survived"}, 0)


def test_the_in_process_check_expands_parameters_and_names_the_first_failure(tmp_path):
    # scripts/mutation_differential.py --tests: a module's tests called directly, each parameter
    # combination once, monkeypatch given and undone; the first failing call is the verdict.
    import mutation_differential
    (tmp_path / "t_inproc.py").write_text(
        "import os, pytest\n"
        "@pytest.mark.parametrize('b', [1, 2])\n"
        "@pytest.mark.parametrize('a, c', [(0, 'x'), (5, 'y')])\n"
        "def test_sum(a, c, b):\n    assert a + b < 7\n"
        "def test_patch(monkeypatch):\n    monkeypatch.setenv('MED_T_INPROC', '1')\n", encoding="utf-8")
    check = mutation_differential.TestModule(tmp_path / "t_inproc.py")
    assert [(name, params) for name, _, params in check.calls] == [
        ("test_sum", {"a": 0, "c": "x", "b": 1}), ("test_sum", {"a": 0, "c": "x", "b": 2}),
        ("test_sum", {"a": 5, "c": "y", "b": 1}), ("test_sum", {"a": 5, "c": "y", "b": 2}), ("test_patch", {})]
    assert check.failure() == "t_inproc.py::test_sum{'a': 5, 'c': 'y', 'b': 2}: AssertionError"
    assert "MED_T_INPROC" not in __import__("os").environ

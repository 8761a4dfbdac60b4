"""The `med` command as a user runs it: exit codes, formats, messages (contract.md)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = str(ROOT / "policies" / "suihua.med")

CLAIM = {"id": "c-001", "person": "p-17", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3", "grade": "A"},
         "items": [{"class": "A", "amount": "8000.00"}, {"class": "B", "amount": "2000.00"},
                   {"class": "excluded", "amount": "500.00"}]}


def med(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "medpolicy.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def test_check_ok_and_exit_0():
    r = med("check", SUIHUA)
    assert r.returncode == 0
    assert r.stderr.strip().endswith("suihua.med: ok")


def test_check_prints_file_line_col_the_source_line_and_a_caret(tmp_path):
    bad = tmp_path / "bad.med"
    bad.write_text('policy "x"\nuse standard\nscheme employee\n  inpatient\n'
                   '    primary level1 level2 level3 deductible 900 rate 85%\n    退休 比例 + 5 百分点\n'
                   '    levl3 rate 90%\n', encoding="utf-8")
    r = med("check", str(bad))
    assert r.returncode == 1
    assert r.stderr.splitlines()[:4] == [
        f"{bad}:7:5: error: unknown name `levl3`",
        "      levl3 rate 90%",
        "      ^^^^^",
        "  hint: did you mean `level3`?",
    ]


def test_check_warns_of_a_policy_that_settles_no_claim_but_not_of_a_module(tmp_path):
    # A header and nothing else was "ok", and every claim then an unknown-value row.
    bare, module = tmp_path / "bare.med", tmp_path / "words.med"
    bare.write_text('policy "绥化" region 绥化\nuse standard\n', encoding="utf-8")
    module.write_text('define group "人员类别"\n  veteran 复员军人 "veterans"\n', encoding="utf-8")
    r = med("check", str(bare), str(module), SUIHUA)
    assert r.returncode == 0
    assert r.stderr.splitlines()[:4] == [
        f"{bare}:1:1: warning: the policy has no `scheme` block: it settles no claim",
        '  policy "绥化" region 绥化',
        "  ^",
        f"{bare}: ok"]
    assert f"{module}: ok" in r.stderr and "warning" not in r.stderr.split(f"{bare}: ok")[1]


def test_check_reports_every_file(tmp_path):
    bad = tmp_path / "bad.med"
    bad.write_text("scheme\n", encoding="utf-8")
    r = med("check", SUIHUA, str(bad))
    assert r.returncode == 1
    assert "suihua.med: ok" in r.stderr and f"{bad}:1:7: error:" in r.stderr


def test_run_jsonl_from_stdin_with_trace():
    r = med("run", SUIHUA, "-", stdin=json.dumps(CLAIM) + "\n")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {k: out[k] for k in ("id", "person", "year", "benefit", "total", "excluded", "prepay", "eligible",
                                 "deductible", "paid", "patient")} == {
        "id": "c-001", "person": "p-17", "year": 2026, "benefit": "inpatient", "total": "10500.00",
        "excluded": "500.00", "prepay": "0.00", "eligible": "10000.00", "deductible": "900.00",
        "paid": {"basic": "7917.00", "major": "0.00", "maternity": "0.00"}, "patient": "2583.00"}
    ded = next(s for s in out["trace"] if s["step"] == "deductible")
    assert ded == {"step": "deductible", "amount": "900.00", "line": 53, "cite": "第二十一条（一）3"}


def test_a_bad_claim_gets_an_error_row_and_the_run_goes_on(tmp_path):
    claims = tmp_path / "c.jsonl"
    bad = dict(CLAIM, id="c-bad", facility={"level": "level9"})
    claims.write_text("\n".join(json.dumps(c) for c in (CLAIM, bad, dict(CLAIM, id="c-3"))) + "\n", encoding="utf-8")
    r = med("run", SUIHUA, str(claims), "--no-trace")
    assert r.returncode == 1
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["c-001", "c-bad", "c-3"]
    assert rows[1]["error"]["field"] == "facility.level"
    assert rows[1]["error"]["code"] == "unknown-value"
    assert rows[2]["paid"]["basic"] == "7917.00"
    assert "1 of 3 claims could not be settled" in r.stderr


def test_run_csv_in_and_out(tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("id,person,date,scheme,status,benefit,facility.level,items\n"
                   'c1,p1,2026-03-05,employee,employed,inpatient,level2,"[{""class"":""A"",""amount"":""5000""}]"\n',
                   encoding="utf-8")
    out = tmp_path / "out.csv"
    r = med("run", SUIHUA, str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,person,year,benefit,total,excluded,prepay,eligible,deductible,paid.basic")
    assert lines[1].startswith("c1,p1,2026,inpatient,5000.00,0.00,0.00,5000.00,600.00,3828.00,0.00,0.00,1172.00")


def test_run_table():
    r = med("run", SUIHUA, "-", "--format", "table", stdin=json.dumps(CLAIM) + "\n")
    head, rule, row = r.stdout.splitlines()
    assert head.split() == ["id", "person", "year", "benefit", "total", "excluded", "prepay", "eligible",
                            "deductible", "paid.basic", "paid.major", "paid.maternity", "patient", "account", "cash"]
    assert row.split() == ["c-001", "p-17", "2026", "inpatient", "10500.00", "500.00", "0.00", "10000.00",
                           "900.00", "7917.00", "0.00", "0.00", "2583.00", "0.00", "2583.00"]


def test_explain_shows_each_step_with_its_clause(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(CLAIM), encoding="utf-8")
    r = med("explain", SUIHUA, str(f))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "绥化市医疗保险管理办法 — claim c-001 (p-17, inpatient, 2026)"
    ded = next(l for l in lines if l.strip().startswith("deductible"))
    assert "900.00" in ded and "suihua.med:53" in ded and "第二十一条（一）3" in ded
    assert lines[-2] == "  paid: basic 7917.00, major 0.00, maternity 0.00; patient pays 2583.00"


def test_explain_of_a_claim_without_an_id_says_so_not_none(tmp_path):
    # (it printed "claim None", Python's word)
    r = med("explain", SUIHUA, "-", stdin='{"person": "p"}\n')
    assert (r.returncode, r.stdout.splitlines()[0]) == (1, "claim (no id): cannot be settled — the claim has no id (field id)")
    r = med("explain", SUIHUA, "-", "--lang", "zh", stdin='{"person": "p"}\n')
    assert r.stdout.splitlines()[0] == "结算单号 （无编号）: 无法结算 — the claim has no id (字段 id)"


def test_explain_of_a_line_that_is_json_but_no_claim_names_its_line(tmp_path):
    r = med("explain", SUIHUA, "-", stdin="5\n")
    assert (r.returncode, r.stdout, r.stderr.splitlines()) == (
        1, "", ["-:1: a claim must be a JSON object, not a number; skipped", "-: no claim found"])


def test_a_missing_parameter_is_the_error_row_of_the_claims_that_need_it(tmp_path):
    pol = tmp_path / "p.med"
    pol.write_text('policy "p"\nuse standard\nparameter avg_wage\nscheme employee\n  fund basic cap 6 × avg_wage yearly\n'
                   "  inpatient\n    primary level1 level2 level3 rate 80%\n", encoding="utf-8")
    r = med("run", str(pol), "-", stdin=json.dumps(CLAIM) + "\n")
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"] == {
        "code": "missing-parameter", "field": None,
        "message": "this claim's terms need parameter the run did not give: avg_wage; give it with "
                   "--param avg_wage=VALUE (or params={'avg_wage': ...})"}
    r = med("run", str(pol), "-", "--param", "avg_wage=50000", "--no-trace", stdin=json.dumps(CLAIM) + "\n")
    assert json.loads(r.stdout)["paid"]["basic"] == "8000.00"  # 80% of the eligible 10000, no deductible


def test_usage_errors_exit_2():
    assert med().returncode == 2
    assert med("run", SUIHUA).returncode == 2
    assert med("run", SUIHUA, "-", "--param", "oops", stdin="").returncode == 2


def test_med_test_runs_the_worked_examples():
    r = med("test", str(ROOT / "policies" / "suihua.test.toml"))
    assert r.returncode == 0, r.stdout
    # 64 examples, each run on suihua.med and on suihua.zh.med (the file names both)
    assert r.stdout.strip().splitlines()[-1] == "128 passed, 0 failed"

"""`med check --articles`: every article of the regulation cited or declared out of scope."""

from medpolicy.articles import article_number, articles_of
from medpolicy.cli import main

REGULATION = """某市医疗保险办法
第一章 总则
第一条 为了保障参保人员权益，制定本办法。
第二条 本办法适用于本市。第一条所称参保人员……
第一条规定的事项由市医保局负责。
第二章 待遇
**第三条** 住院费用起付线三级医院900元，报销比例85%。
第四条 生育保险待遇按第三条执行。
"""

POLICY = """policy "某市医疗保险办法" effective 2026-01-01                     cite "第四条"
use standard
out-of-scope "第一条" "第二条" "purpose and scope: nothing to settle"

scheme employee
  inpatient
    primary level1 level2 level3 deductible 900 rate 85%       cite "第三条"
"""


def test_chinese_article_numbers():
    assert [article_number(n) for n in ("一", "十", "十一", "二十一", "一百", "一百零三", "九十九")] == \
        [1, 10, 11, 21, 100, 103, 99]


def test_headings_continue_the_numbering_and_references_are_not_headings():
    # Line 5 begins with 第一条 but is a reference (the numbering is already at 2).
    assert [(a.number, a.line) for a in articles_of(REGULATION)] == [(1, 3), (2, 4), (3, 7), (4, 8)]


def test_every_article_accounted_for(tmp_path, capsys):
    (tmp_path / "city.txt").write_text(REGULATION, encoding="utf-8")
    (tmp_path / "city.med").write_text(POLICY, encoding="utf-8")
    assert main(["check", "--articles", str(tmp_path / "city.med")]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"{tmp_path / 'city.med'}: 4 articles: 2 encoded, 2 out of scope, 0 missing"


def test_a_missing_article_is_reported_at_its_line_in_the_regulation(tmp_path, capsys):
    (tmp_path / "city.txt").write_text(REGULATION, encoding="utf-8")
    (tmp_path / "city.med").write_text(POLICY.replace('"第二条" ', ""), encoding="utf-8")
    assert main(["check", "--articles", str(tmp_path / "city.med")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith(f"{tmp_path / 'city.txt'}:4:1: error: 第二条 is neither cited by a clause nor declared")
    assert err[1].endswith("本办法适用于本市。第一条所称参保人员……")


def test_out_of_scope_must_name_an_article_of_the_text(tmp_path, capsys):
    (tmp_path / "city.txt").write_text(REGULATION, encoding="utf-8")
    (tmp_path / "city.med").write_text(POLICY.replace('"第二条" "purpose', '"第二条" "第九条" "purpose'), encoding="utf-8")
    assert main(["check", "--articles", str(tmp_path / "city.med")]) == 1
    assert f"{tmp_path / 'city.med'}:3:1: error: `out-of-scope` names '第九条', which is not an article of" \
        in capsys.readouterr().err


def test_an_article_cited_and_declared_out_of_scope_is_a_warning_at_the_declaration(tmp_path, capsys):
    # 第三条 is cited by the inpatient clause (line 7) and declared out of scope on line 3: a
    # warning naming line 3; the run still passes (exit 0) and 第三条 counts as encoded.
    (tmp_path / "city.txt").write_text(REGULATION, encoding="utf-8")
    (tmp_path / "city.med").write_text(POLICY.replace('"第二条" "purpose', '"第二条" "第三条" "purpose'), encoding="utf-8")
    assert main(["check", "--articles", str(tmp_path / "city.med")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning" in line] == [
        f"{tmp_path / 'city.med'}:3:1: warning: 第三条 is declared `out-of-scope` here but a clause cites it: "
        "drop it from this line or say what is left out"]
    assert err[-1] == f"{tmp_path / 'city.med'}: 4 articles: 2 encoded, 2 out of scope, 0 missing"


def test_a_policy_without_its_regulation_beside_it(tmp_path, capsys):
    (tmp_path / "city.med").write_text(POLICY, encoding="utf-8")
    assert main(["check", "--articles", str(tmp_path / "city.med")]) == 1
    assert "city.txt: cannot read the regulation the policy encodes: No such file or directory" in capsys.readouterr().err


def test_the_shipped_policies_account_for_every_article(capsys):
    # Each of the five regulations, article by article: cited by a clause or declared out of scope.
    from pathlib import Path
    policies = sorted(Path(__file__).parent.parent.glob("policies/*.med"))
    # suihua.zh.med is Suihua written in Chinese keywords: it reads suihua.txt too.
    assert [p.stem for p in policies] == ["binzhou", "shaoxing", "suihua", "suihua.zh", "suizhou", "ziyang"]
    assert main(["check", "--articles", *map(str, policies)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "warning" in line] == []  # none both cites and declares out of scope
    summary = [line.split(": ", 1)[1] for line in err if "articles:" in line]
    assert summary == [
        "41 articles: 13 encoded, 28 out of scope, 0 missing",
        "95 articles: 38 encoded, 57 out of scope, 0 missing",
        "43 articles: 17 encoded, 26 out of scope, 0 missing",
        "43 articles: 17 encoded, 26 out of scope, 0 missing",  # suihua.zh.med: the same as suihua.med
        "79 articles: 42 encoded, 37 out of scope, 0 missing",
        "43 articles: 23 encoded, 20 out of scope, 0 missing",
    ]


def test_the_readme_table_is_what_the_articles_command_prints(capsys, monkeypatch):
    # README's per-city table is generated by `med check --articles --format md policies/*.med`.
    from pathlib import Path
    root = Path(__file__).parent.parent
    policies = [f"policies/{c}.med" for c in ("binzhou", "shaoxing", "suihua", "suizhou", "ziyang")]
    monkeypatch.chdir(root)
    assert main(["check", "--articles", "--format", "md", *policies]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[:3] == [
        "| policy | articles | encoded | out of scope: administration | out of scope: member rules "
        "| out of scope: no rule to settle | out of scope: terms elsewhere | out of scope: claim format | missing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        "| `policies/binzhou.med` | 41 | 13 | 16 | 5 | 4 | 3 | 0 | 0 |",
    ]
    assert table in (root / "README.md").read_text(encoding="utf-8")

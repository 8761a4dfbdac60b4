"""Messages people understand: misspelt keywords and names get a "did you mean" at the
misspelt word, in English and Chinese (by characters and by sound); every message has its
Chinese text, chosen by --lang, the locale or the policy's own keywords; carets count screen
columns."""

import subprocess
import sys
from pathlib import Path

import pytest

import medpolicy
from medpolicy.errors import Diagnostic
from medpolicy.text import display_width
from medpolicy.ast import Span
from medpolicy.messages import _CATALOGUE, choose, keyword_language, translate
from medpolicy.suggest import did_you_mean

HEAD = 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n\nscheme employee\n  fund basic\n'


def first_problem(text):
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(text, name="p.med")
    d = e.value.diagnostics[0]
    return d.span.line, d.span.column, d.span.end_column, d.message, d.hint


@pytest.mark.parametrize("line, word, meant", [
    ("  inpatient rate 80%\n    level3 deductable 900\n", "deductable", "deductible"),
    ("  住院 比例 80%\n    三级 起付限 900\n", "起付限", "起付线"),
    ("  inpatient rate 80%\n    level3 deductible 900 rat 85%\n", "rat", "rate"),
])
def test_a_misspelt_keyword_is_reported_at_the_word_with_the_keyword_meant(line, word, meant):
    text = HEAD + line
    n = text.count("\n")
    column = text.splitlines()[n - 1].index(word) + 1
    assert first_problem(text) == (n, column, column + len(word), f"unknown word `{word}`", f"did you mean `{meant}`?")


def test_a_chinese_name_typed_with_a_character_of_the_same_sound_gets_the_name_meant():
    text = HEAD + "  住院 比例 80%\n    三级 起付线 900 比例 在职 85% 退休 87%\n    在值 比例 50%\n"
    with pytest.raises(medpolicy.MedError) as e:
        medpolicy.compile(text, name="p.med")
    [d] = [d for d in e.value.diagnostics if "在值" in d.message]
    assert (d.span.line, d.span.column, d.message, d.hint) == (8, 5, "unknown name `在值`", "did you mean `在职`?")


def test_suggestions_by_sound_and_by_letters():
    assert did_you_mean("在值", ["退休", "在职", "employed"]) == "在职"
    assert did_you_mean("起付限", ["起付标准", "起付线", "比例"]) == "起付线"
    assert did_you_mean("三級", ["三级", "二级"]) == "三级"  # traditional form, same sound
    assert did_you_mean("deductable", ["deductible", "threshold"]) == "deductible"
    assert did_you_mean("保险", ["在职", "退休"]) is None


def test_every_catalogue_entry_translates_its_own_english():
    samples = {
        "unknown word `起付限`": "无法识别的词 `起付限`",
        "unknown level name `level9`": "未定义的级别名称 `level9`",
        "did you mean `level3`?": "是否应为 `level3`？",
        "a rate of 120% is over 100%": "报销比例 120% 超过 100%",
        "this sets rate for the same claims as line 6, differently": "本条与第 6 行对相同的就医情形规定了不同的报销比例",
    }
    for english, chinese in samples.items():
        assert translate(english, "zh") == chinese
        assert translate(english, "en") == english
    assert translate("a message nobody catalogued", "zh") == "a message nobody catalogued"
    assert len(_CATALOGUE) >= 25


def test_the_language_is_asked_for_else_the_locale_else_the_policys_keywords():
    chinese_policy = '办法 "某市办法" 施行 2026-01-01 至 2030-12-31\n引用 standard\n险种 职工\n  住院 比例 80%\n'
    assert keyword_language(chinese_policy) == "zh" and keyword_language(HEAD) == "en"
    assert choose("zh", HEAD, environ={}) == "zh"
    assert choose(None, HEAD, environ={"LANG": "zh_CN.UTF-8"}) == "zh"
    assert choose(None, chinese_policy, environ={"LANG": "en_GB.UTF-8"}) == "en"
    assert choose(None, chinese_policy, environ={"LANG": "C.UTF-8"}) == "zh"
    assert choose(None, chinese_policy, environ={}) == "zh"


def test_med_check_speaks_chinese_when_asked_and_counts_wide_characters_as_two_columns(tmp_path):
    policy = tmp_path / "p.med"
    policy.write_text(HEAD + "  住院 比例 80%\n    三级 起付限 900\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "medpolicy.cli", "check", "--lang", "zh", str(policy)],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        f"{policy}:7:10: error: 无法识别的词 `起付限`",
        "      三级 起付限 900",
        "           ^^^^^^",
        "  hint: 是否应为 `起付线`？",
    ]


def test_a_caret_under_chinese_text_is_as_wide_as_the_text_on_screen():
    d = Diagnostic(Span("p.med", 1, 3, 1, 7), "unknown name `三級醫院`")
    assert display_width("三級醫院") == 8
    assert d.format("x 三級醫院 y\n").splitlines()[1:] == ["  x 三級醫院 y", "    ^^^^^^^^"]


# ---- the command line's own words, from the same catalogue --------------------------------

ZH_POLICY = '办法 "某市办法" 施行 2026-01-01 至 2030-12-31\n引用 standard\n\n险种 职工\n  住院 比例 80%\n'
CLAIM = ('{"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired", '
         '"benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "8000.00"}]}')


def med(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "medpolicy.cli", *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", **(env or {})}, cwd=cwd)


def test_med_check_says_ok_in_the_language_of_the_policys_keywords_or_as_asked(tmp_path):
    zh = tmp_path / "zh.med"
    zh.write_text(ZH_POLICY, encoding="utf-8")
    assert med("check", str(zh)).stderr == f"{zh}：检查通过\n"
    assert med("check", "--lang", "en", str(zh)).stderr == f"{zh}: ok\n"
    assert med("check", str(zh), env={"LANG": "en_US.UTF-8"}).stderr == f"{zh}: ok\n"
    assert med("check", str(tmp_path / "none.med"), env={"LC_ALL": "zh_CN.UTF-8"}).stderr == \
        f"med：无法读取 {tmp_path / 'none.med'}：文件不存在\n"


def test_med_run_reports_skipped_lines_and_unsettled_claims_in_chinese(tmp_path):
    zh = tmp_path / "zh.med"
    zh.write_text(ZH_POLICY, encoding="utf-8")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(CLAIM + "\nnot json\n", encoding="utf-8")
    out = med("run", str(zh), str(claims))
    assert out.returncode == 1
    assert out.stderr.splitlines() == [f"{claims}:2：bad JSON: Expecting value (column 1)；已跳过",
                                       "med：2 条就医记录中有 1 条未能结算",
                                       "med：  1 条 bad-input，首条为 无编号记录：line 2: bad JSON: Expecting value (column 1)"]
    english = med("run", "--lang", "en", str(zh), str(claims))
    assert english.stderr.splitlines() == [f"{claims}:2: bad JSON: Expecting value (column 1); skipped",
                                           "med: 1 of 2 claims could not be settled",
                                           "med:   1 bad-input, first claim (no id): line 2: bad JSON: Expecting value "
                                           "(column 1)"]
    assert med("run", str(zh), str(tmp_path / "claims.txt"), env={"LANG": "zh_CN.UTF-8"}).stderr == \
        f"med：无法读取 {tmp_path / 'claims.txt'}：文件不存在\n"
    (tmp_path / "claims.txt").write_text(CLAIM, encoding="utf-8")
    assert med("run", str(zh), str(tmp_path / "claims.txt"), env={"LANG": "zh_CN.UTF-8"}).stderr == (
        f"med：{tmp_path / 'claims.txt'}：就医记录须为 .jsonl, .ndjson, .json, .csv, .parquet, .arrow, .feather 文件"
        "（或用 - 从标准输入读取 JSON 行），而非 .txt\n")


def test_med_test_prints_its_report_in_chinese(tmp_path):
    policies = Path(__file__).resolve().parent.parent / "policies"  # the repository's, installed or not
    (tmp_path / "binzhou.med").write_text((policies / "binzhou.med").read_text(encoding="utf-8"), encoding="utf-8")
    examples = (policies / "binzhou.test.toml").read_text(encoding="utf-8")
    first = examples[:examples.index("[[example]]", examples.index("[[example]]") + 1)]
    (tmp_path / "binzhou.test.toml").write_text(first.replace('paid = { basic = "60.00" }', 'paid = { basic = "61.00" }'),
                                                encoding="utf-8")
    out = med("test", "--lang", "zh", str(tmp_path))
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0] == "失败  binzhou.test.toml:49：outpatient at a level-1 clinic, no deductible, 50%  [第十三条（一）]"
    assert lines[1].startswith("      bz-01a paid.basic：应为 61.00，实为 60.00")
    assert lines[-1] == "0 个通过，1 个失败"
    assert med("test", str(tmp_path)).stdout.splitlines()[-1] == "0 passed, 1 failed"
    (tmp_path / "empty").mkdir()
    assert med("test", str(tmp_path / "empty"), env={"LANG": "zh_CN.UTF-8"}).stderr == \
        "med test：未找到算例（*.test.toml）\n"


def test_usage_errors_are_in_the_language_asked_or_of_the_locale():
    out = med("check", env={"LANG": "zh_CN.UTF-8"})
    assert out.returncode == 2
    assert out.stderr.splitlines()[0].startswith("用法：med check [-h]")
    assert out.stderr.splitlines()[-1] == "med check：错误：缺少以下参数：FILE"
    out = med("run", "--lang", "zh", "--format", "pdf", "p.med", "c.jsonl")
    assert out.stderr.splitlines()[-1] == ("med run：错误：参数 --format：无效的选项 'pdf'"
                                           "（可选：'jsonl', 'csv', 'table', 'xlsx', 'parquet', 'arrow'）")
    english = med("check")
    assert english.stderr.splitlines()[-1] == "med check: error: the following arguments are required: FILE"

"""`med explain --lang zh|en [--format html]`: the calculation sheet a member reads."""

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from medpolicy.cli import main
from medpolicy.sheet import sheet_language
from medpolicy.sheet_text import note_zh

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = str(ROOT / "policies" / "suihua.med")

# A retired member's level-3 stay in Suihua: 第二十一条（一）3, deductible 900, retired 87%.
# eligible 10000 (500 excluded); basic = (10000 - 900) x 87% = 7917.00; patient 10500 - 7917 = 2583.00.
CLAIM = {"id": "c-001", "person": "p-17", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3"},
         "items": [{"class": "A", "amount": "10000.00"}, {"class": "excluded", "amount": "500.00"}]}


def test_the_sheet_speaks_the_language_most_keywords_are_spelt_in():
    assert sheet_language('policy "x"\nscheme employee\n  inpatient\n    level3 deductible 900 rate 85%\n') == "en"
    assert sheet_language('办法 "x"\n险种 employee\n  inpatient\n    三级 起付线 900 比例 85% cite "第一条"\n') == "zh"
    # Names (三级) and comments do not count: the shipped policies use English keywords.
    assert sheet_language(Path(SUIHUA).read_text(encoding="utf-8")) == "en"


def test_engine_notes_are_translated_phrase_by_phrase_and_unknown_text_stays():
    name = {"level2": "二级", "outpatient": "门诊", "major": "大额"}.get
    assert note_zh("87% (85% + 5 points)", lambda w: name(w) or w) == "87% (85% 提高5个百分点)"
    assert note_zh("referred up from level2: the difference of the standard deductibles 800.00 - 400.00",
                   lambda w: name(w) or w) == "由二级向上转诊：补足起付线差额 800.00 − 400.00"
    assert note_zh("1 earlier stay(s) this year: - 200.00 each, not below 400.00", lambda w: w) == \
        "本年度此前住院1次，每次递减 200.00, 最低 400.00"
    assert note_zh("settled as inpatient, on the local terms of level3", {"inpatient": "住院", "level3": "三级"}.get) \
        == "视同住院结算, 参照本地三级结算"
    assert note_zh("class B: 10%", {"B": "乙类"}.get) == "乙类 10%"
    assert note_zh("a note the catalogue does not know", lambda w: w) == "a note the catalogue does not know"


def test_a_chinese_sheet_on_the_terminal(tmp_path, capsys):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(CLAIM), encoding="utf-8")
    assert main(["explain", "--lang", "zh", SUIHUA, str(f)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "绥化市医疗保险管理办法：医疗费用结算单 c-001（p-17，住院，2026年度）"
    assert lines[2].split() == ["项目", "金额", "说明", "条款位置", "依据条文"]
    assert lines[3].split() == ["医疗总费用", "10500.00"]
    assert lines[4].split() == ["不予支付费用", "500.00", "目录外或超过限价的费用"]
    assert lines[6].split() == ["起付线", "900.00", "suihua.med:53", "第二十一条（一）3"]
    assert lines[7].split() == ["支付比例", "87%", "suihua.med:53", "第二十一条（一）3"]
    assert lines[8].split() == ["统筹基金", "7917.00", "suihua.med:53", "第二十一条（一）3"]
    assert lines[-2] == "  基金支付：统筹基金 7917.00，大额 0.00，生育保险 0.00；个人支付 2583.00"


def test_the_english_sheet_is_the_default_for_the_shipped_policy(tmp_path, capsys):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(CLAIM), encoding="utf-8")
    assert main(["explain", SUIHUA, str(f)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "绥化市医疗保险管理办法 — claim c-001 (p-17, inpatient, 2026)"
    assert lines[2].split() == ["step", "amount", "note", "clause", "article"]
    assert lines[-2] == "  paid: basic 7917.00, major 0.00, maternity 0.00; patient pays 2583.00"


class _Rows(HTMLParser):
    """The text of every table row of a page, cell by cell."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.tags = [], None, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _chromium_dom(page: Path, profile: Path) -> str:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--no-first-run", "--disable-sync",
                        f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_the_html_sheet_in_a_real_browser_shows_each_step_beside_its_article(tmp_path):
    claim = tmp_path / "c.json"
    claim.write_text(json.dumps(CLAIM), encoding="utf-8")
    page = tmp_path / "sheet.html"
    assert main(["explain", "--lang", "zh", "--format", "html", "-o", str(page), SUIHUA, str(claim)]) == 0
    source = page.read_text(encoding="utf-8")
    # One self-contained page: inline CSS, nothing fetched.
    assert "<style>" in source and "src=" not in source and "href=" not in source and "<script" not in source

    parser = _Rows()
    parser.feed(_chromium_dom(page, tmp_path / "profile"))
    rows = {r[0]: r for r in parser.rows if r}
    assert rows["项目"] == ["项目", "金额", "说明", "条款位置", "依据条文"]
    step, amount, note, clause, article = rows["起付线"]
    assert (amount, clause) == ("900.00", "suihua.med:53 第二十一条（一）3")
    # The article's text, from policies/suihua.txt: its heading to the next article.
    assert article.startswith("第二十一条  职工基本医疗保险待遇\n一个自然年度内，职工医保统筹基金最高支付限额为12万元。")
    assert "3.市域内三级定点医疗机构每次起付线900元，政策范围内合规医疗费用报销比例在职85%，退休87%；" in article
    assert "第二十二条" not in article
    assert rows["支付比例"][1:4] == ["", "87%", "suihua.med:53 第二十一条（一）3"]
    assert rows["支付比例"][4] == "（同上）"
    assert rows["统筹基金"][1] == "7917.00"
    assert rows["个人支付"][1] == "2583.00"
    assert rows["医疗总费用"][1:] == ["10500.00", "", "", ""]

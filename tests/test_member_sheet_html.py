"""`med explain --member --format html`: the member sheet as one page, in the claim sheet's page
shell, each figure beside the text of the article it cites (from policies/suihua.txt)."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from medpolicy.cli import main

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "suihua.med"
# suihua.members.test.toml's first example: a base of 3000 under the lower limit 60% x 6000 = 3600
# (第七条); the account credit 2% x 3600 = 72.00 (第二十一条（三）); benefits from February (第十一条).
MEMBER = {"id": "h-low", "sex": "female", "birth": "1990-01-01", "scheme": "employee",
          "history": [{"from": "2026-01-01", "kind": "employed"}],
          "contributions": [{"month": "2026-01", "base": "3000", "paid_on": "2026-01-15"},
                            {"month": "2026-02", "base": "3000", "paid_on": "2026-02-15"}]}
ARGS = ["--as-of", "2026-02-28", "--param", "avg_wage=72000", "--param", "resident_premium=400"]


class Cells(HTMLParser):
    """The page's headings and table rows, as text."""

    def __init__(self):
        super().__init__()
        self.rows, self.headings, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "h1", "h2"):
            self._in = tag
            if tag in ("td", "th"):
                self.rows[-1].append("")
            else:
                self.headings.append("")

    def handle_endtag(self, tag):
        self._in = None if tag == self._in else self._in

    def handle_data(self, data):
        if self._in in ("td", "th"):
            self.rows[-1][-1] += data
        elif self._in in ("h1", "h2"):
            self.headings[-1] += data


def _page(tmp_path, *extra) -> str:
    member = tmp_path / "m.json"
    member.write_text(json.dumps(MEMBER), encoding="utf-8")
    out = tmp_path / "sheet.html"
    assert main(["explain", "--member", str(POLICY), str(member), "--format", "html", "-o", str(out), *ARGS, *extra]) == 0
    return out.read_text(encoding="utf-8")


def _line(startswith: str) -> int:
    return next(i for i, text in enumerate(POLICY.read_text(encoding="utf-8").splitlines(), 1)
                if text.strip().startswith(startswith))


def test_each_figure_stands_beside_its_article(tmp_path):
    page = Cells()
    page.feed(_page(tmp_path))
    assert page.headings == ["绥化市医疗保险管理办法", "绥化市医疗保险管理办法 — member h-low (employee), 2026-01 to 2026-02"]
    assert page.rows[0] == ["month", "figure", "amount", "clause", "article"]
    base = next(r for r in page.rows if r[1] == "base")
    assert base[:4] == ["2026-01", "base", "3600.00", f"suihua.med:{_line('base yearly lower')} 第七条"]
    assert base[4].startswith("第七条  职工基本医疗保险费由用人单位和职工共同缴纳。用人单位缴费费率为8.5%")
    credit = next(r for r in page.rows if r[1] == "credit")
    assert credit[2:4] == ["72.00", f"suihua.med:{_line('employed credit')} 第二十一条（三）"]
    assert credit[4].startswith("第二十一条")
    waiting = next(r for r in page.rows if r[1] == "benefits")
    assert waiting[:4] == ["", "benefits", "not-started", f"suihua.med:{_line('employed start after')} 第十一条"]
    assert "(as above)" in [r[4] for r in page.rows[1:]]  # an article cited twice in a row is printed once


def test_the_page_is_the_claim_sheets_page(tmp_path):
    member_page = _page(tmp_path)
    claim = tmp_path / "c.json"
    claim.write_text(json.dumps({"id": "c", "person": "p", "date": "2026-03-01", "scheme": "employee",
                                 "status": "employed", "benefit": "inpatient", "facility": {"level": "level2"},
                                 "items": [{"class": "A", "amount": "1000.00"}]}), encoding="utf-8")
    out = tmp_path / "claim.html"
    assert main(["explain", str(POLICY), str(claim), "--format", "html", "-o", str(out)]) == 0
    shell = lambda text: text[:text.index("<h2>")]  # noqa: E731  doctype, head, style, title, h1
    assert shell(member_page) == shell(out.read_text(encoding="utf-8"))
    assert member_page.endswith("</table>\n</body>\n</html>\n")


@pytest.mark.parametrize("lang, heads", [("zh", ["月份", "项目", "金额", "条款位置", "依据条文"])])
def test_a_chinese_member_page(tmp_path, lang, heads):
    text = _page(tmp_path, "--lang", lang)
    page = Cells()
    page.feed(text)
    assert text.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert page.rows[0] == heads
    assert ["2026-01", "缴费基数", "3600.00"] == next(r for r in page.rows if r[1] == "缴费基数")[:3]

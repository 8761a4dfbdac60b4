"""The member sheet of `med explain --member`: month by month, each figure beside the clause
(file:line) and the article that produced it."""

from __future__ import annotations

import html
from pathlib import Path

from ..money import q
from ..text import display_width

_ZH = {"base": "缴费基数", "credit": "个人账户划入", "balance": "个人账户余额", "payable": "享受待遇",
       "waiting": "待遇等待期", "lapsed": "中断缴费", "not-started": "待遇未开始", "not-paid": "未缴费",
       "not-enrolled": "未参保", "minimum years": "最低缴费年限", "local years": "本地缴费年限",
       "lump sum": "一次性趸缴", "due": "应缴", "employer": "单位", "individual": "个人", "subsidy": "资助",
       "basic": "统筹基金", "major": "大额", "maternity": "生育保险", "years counted": "累计缴费年限",
       "months short": "差缺月数", "benefits": "待遇", "not payable": "暂停/不享受",
       "short-years": "缴费年限不足", "previous-scheme": "原档次待遇", "from day": "待遇起始日"}


def _word(text: str, lang: str) -> str:
    if lang != "zh":
        return text
    return " ".join(_ZH.get(w, w) for w in text.split())


def member_sheet(policy, rows, lang: str = "en") -> str:
    """The sheet of one member's month rows as text."""
    if not rows:
        return ""
    head, cols, table = _sheet_table(policy, rows, lang)
    table = [cols, *table]
    widths = [max(display_width(str(row[i])) for row in table) for i in range(len(cols))]
    out = [head, ""]
    for row in table:
        out.append("  " + "  ".join(_pad(c, w, right=(i == 2)) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(out) + "\n"


def member_sheets_html(policy, members: list, lang: str = "en") -> str:
    """The sheets of members' month rows (a list of row lists) as one self-contained HTML page:
    the claim sheet's page, each figure beside the text of the article it cites."""
    from ..sheet import html_page, html_table, regulation_texts
    from ..sheet_text import WORDS

    texts, words, body = regulation_texts(policy), WORDS[lang], []
    for rows in members:
        if not rows:
            continue
        head, cols, table = _sheet_table(policy, rows, lang)
        body.append(f"<h2>{html.escape(head)}</h2>")
        cells = [((month, figure, amount, f"{clause} {cite}".strip()), cite) for month, figure, amount, clause, cite in table]
        body += html_table(cols[:4], ("month", "step", "amount", "clause"), cells, texts, words)
    return html_page(policy.title, lang, body)


def _sheet_table(policy, rows, lang: str) -> tuple:
    """(heading, column names, rows of (month, figure, amount, clause, article)) of one member."""
    first, last = rows[0].to_json()["month"], rows[-1].to_json()["month"]
    file = Path(policy.compiled.file).name
    head = (f"{policy.title} — member {rows[0].member} ({rows[0].scheme}), {first} to {last}" if lang != "zh" else
            f"{policy.title}：参保人 {rows[0].member}（{rows[0].scheme}）{first} 至 {last}")
    cols = ("month", "figure", "amount", "clause", "article") if lang != "zh" else ("月份", "项目", "金额", "条款位置", "依据条文")
    table = []
    for r in rows:
        j = r.to_json()
        month = j["month"]
        for f in r.trace:
            if f.figure in ("payable",) or f.figure in _REASONS:
                continue
            amount = f.amount if not hasattr(f.amount, "quantize") else str(q(f.amount))
            table.append((month, _word(f.figure, lang), str(amount), f"{file}:{f.line}" if f.line else "", f.cite or ""))
            month = ""
        if j["balance"] is not None:
            table.append((month, _word("balance", lang), j["balance"], "", ""))
            month = ""
        rule = next((f for f in r.trace if f.figure in _REASONS), None)
        status = _word("payable", lang) if r.payable else _word(r.reason or "not payable", lang)
        if r.waiting_left:
            status += f" ({r.waiting_left} left)" if lang != "zh" else f"（剩余{r.waiting_left}个月）"
        table.append((month, _word("benefits", lang), status,
                      f"{file}:{rule.line}" if rule and rule.line else "", rule.cite if rule and rule.cite else ""))
        if r.retirement:
            ret = j["retirement"]
            table.append(("", _word("years counted", lang), f"{ret['years']} / {ret['minimum']}", "", ret.get("article") or ""))
            table.append(("", _word("months short", lang), ret["short_months"], "", ""))
    return head, cols, table


_REASONS = ("waiting", "lapsed", "not-started", "not-paid", "not-enrolled", "short-years", "previous-scheme")


def _pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * (w - display_width(str(s)))
    return fill + s if right else s + fill

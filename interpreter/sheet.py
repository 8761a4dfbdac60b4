"""The calculation sheet of a claim (`med explain`): each step, its amount, the clause and article.

A member reads it, so it speaks the policy's language: `--lang zh|en`, by default the language
most of the policy's keywords are spelt in (`sheet_language`). As text it is a table for the
terminal; as HTML (`--format html`) one self-contained page, every step beside the text of the
article it cites, taken from the regulation the policy ships beside it (`CITY.txt`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

import attrs

from .articles import _ARTICLE, article_number, article_texts, regulation_for
from .keywords import BY_SPELLING
from .scanner import scan
from .sheet_text import WORDS, note_zh, step_zh
from .text import display_width, is_wide


def sheet_language(source: str) -> str:
    """`zh` when more of the policy's keywords are spelt in Chinese than in English, else `en`.
    Names (levels, groups …) do not count: the shipped policies use English keywords with
    Chinese comments and titles, so their sheets are English unless asked (`--lang zh`)."""
    english = chinese = 0
    for line in source.splitlines():
        for t in scan(line):
            kw = BY_SPELLING.get(t.text) if t.kind == "word" else None
            if kw is not None:
                chinese += t.text in kw.chinese
                english += t.text in kw.english
    return "zh" if chinese > english else "en"


@attrs.frozen
class Row:
    step: str
    amount: str
    note: str
    clause: str             # file:line of the clause, or ""
    cite: str               # the citation as written, or ""


@attrs.frozen
class Sheet:
    """One claim's sheet in one language, ready to print as text or HTML."""
    title: str
    heading: str
    rows: tuple[Row, ...]
    summary: str
    error: Optional[str]
    lang: str


def build_sheet(result, policy, lang: str) -> Sheet:
    """The sheet of a settled claim (`Result`) under `policy`, in `lang` (`en` or `zh`)."""
    words = WORDS[lang]
    data = result.to_json()
    name = _namer(policy, lang)
    if not result.ok:
        e = data["error"]
        field = f" ({words['field']} {e['field']})" if e.get("field") else ""
        cid = data.get("id")
        return Sheet(policy.title, f"{words['claim']} {words['no id'] if cid is None else cid}", (), "",
                     f"{words['cannot be settled']} — {e['message']}{field}", lang)
    if lang == "zh":
        heading = f"{words['sheet']} {data['id']}（{data['person']}，{name(data['benefit'])}，{data['year']}{words['year']}）"
    else:
        heading = f"{words['claim']} {data['id']} ({data['person']}, {data['benefit']}, {data['year']})"
    file = Path(policy.compiled.file).name
    rows = []
    for s in data["trace"]:
        step, note = s["step"], s.get("detail", "")
        if lang == "zh":
            step, note = step_zh(step, name), note_zh(note, name)
        rows.append(Row(step, s.get("amount", ""), note, f"{file}:{s['line']}" if "line" in s else "", s.get("cite", "")))
    sep = "，" if lang == "zh" else ", "
    paid = sep.join(f"{name(k)} {v}" for k, v in data["paid"].items())
    end = "；" if lang == "zh" else "; "
    colon = "：" if lang == "zh" else ": "
    summary = f"{words['paid']}{colon}{paid}{end}{words['patient pays']} {data['patient']}"
    if data.get("account", "0.00") != "0.00":  # 个人账户支付 / 现金支付
        summary += f"{end}{words['account']} {data['account']}{sep}{words['cash']} {data['cash']}"
    if "allowance" in data:
        summary += f"{end}{words['allowance']} {data['allowance']}"
    return Sheet(policy.title, heading, tuple(rows), summary, None, lang)


def _namer(policy, lang: str):
    """A vocabulary name as the sheet shows it: its first Chinese alias on a Chinese sheet."""
    vocab = policy.compiled.vocabulary

    def name(word: str) -> str:
        if lang != "zh":
            return word
        for kind in ("fund", "benefit", "level", "status", "place", "class", "event", "group", "scheme"):
            w = vocab.lookup(kind, word)
            if w is not None and w.name == word:
                zh = next((a for a in w.aliases if any(is_wide(ch) for ch in a)), None)
                if zh:
                    return zh
        return word
    return name


def _pad(s: str, width: int) -> str:
    return s + " " * (width - display_width(s))


# ---- text -------------------------------------------------------------------------------

def sheet_text(sheet: Sheet, with_title: bool = True) -> str:
    """The sheet as a table for the terminal (columns padded by display width)."""
    if sheet.error is not None:
        return f"{sheet.heading}: {sheet.error}\n"
    sep = "：" if sheet.lang == "zh" else " — "
    lines = [f"{sheet.title}{sep}{sheet.heading}" if with_title else sheet.heading, ""]
    words = WORDS[sheet.lang]
    head = Row(words["step"], words["amount"], words["note"], words["clause"], words["article"])
    rows = (head, *sheet.rows)
    w0 = max(display_width(r.step) for r in rows)
    w1 = max(display_width(r.amount) for r in rows)
    w2 = max(display_width(r.note) for r in rows)
    for r in rows:
        where = f"{r.clause}  {r.cite}" if r.cite else r.clause
        amount = " " * (w1 - display_width(r.amount)) + r.amount
        lines.append(f"  {_pad(r.step, w0)}  {amount}  {_pad(r.note, w2)}  {where}".rstrip())
    lines += ["", f"  {sheet.summary}"]
    return "\n".join(lines) + "\n\n"


# ---- html -------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: .3em .5em; vertical-align: top; text-align: left; }
th { background: #eee; }
td.amount { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.article { white-space: pre-wrap; font-size: .85em; color: #333; max-width: 40em; }
p.summary { font-weight: bold; }
p.error { color: #a00; }
"""


def sheet_html(sheets: list[Sheet], policy) -> str:
    """One self-contained page (inline CSS, no external assets) for the sheets of a policy's claims:
    each step beside the text of the article it cites, from the regulation shipped beside the policy."""
    texts = regulation_texts(policy)
    lang = sheets[0].lang if sheets else "en"
    words = WORDS[lang]
    body = []
    for sheet in sheets:
        body.append(f"<h2>{html.escape(sheet.heading)}</h2>")
        if sheet.error is not None:
            body.append(f'<p class="error">{html.escape(sheet.error)}</p>')
            continue
        heads = (words["step"], words["amount"], words["note"], words["clause"])
        rows = [((r.step, r.amount, r.note, f"{r.clause} {r.cite}".strip()), r.cite) for r in sheet.rows]
        body += html_table(heads, ("step", "amount", "note", "clause"), rows, texts, words)
        body.append(f'<p class="summary">{html.escape(sheet.summary)}</p>')
    return html_page(policy.title, lang, body)


def html_page(title: str, lang: str, body: list[str]) -> str:
    """The page every HTML sheet is (the claim's and the member's): one self-contained document,
    inline CSS, the policy's title, then `body` (lines of HTML)."""
    out = [f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">',
           f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>",
           f"<h1>{html.escape(title)}</h1>", *body, "</body>\n</html>\n"]
    return "\n".join(out)


def html_table(heads: tuple, classes: tuple, rows: list, texts: dict[int, str], words: dict[str, str]) -> list[str]:
    """A sheet's table as lines of HTML: `rows` are (cells, cite), one cell per head (classed by
    `classes`), then the text of the article `cite` names (\"as above\" when it repeats)."""
    out = ["<table>\n<tr>" + "".join(f"<th>{h}</th>" for h in (*heads, words["article"])) + "</tr>"]
    previous = None
    for cells, cite in rows:
        article = _article_cell(cite, texts, words) if cite else ""
        if cite and cite == previous:
            article = words["as above"]
        previous = cite or previous
        out.append("<tr>" + "".join(f'<td class="{c}">{html.escape(v)}</td>' for c, v in zip(classes, cells))
                   + f'<td class="article">{html.escape(article)}</td></tr>')
    out.append("</table>")
    return out


def regulation_texts(policy) -> dict[int, str]:
    """Article number -> its text, from `CITY.txt` beside the policy (empty if there is none)."""
    try:
        return article_texts(regulation_for(Path(policy.compiled.file)).read_text(encoding="utf-8"))
    except OSError:
        return {}


def _article_cell(cite: str, texts: dict[int, str], words: dict[str, str]) -> str:
    numbers = list(dict.fromkeys(article_number(m.group(1)) for m in _ARTICLE.finditer(cite)))
    parts = [texts.get(n, words["no text"]) for n in numbers]
    return "\n\n".join(parts)


def render_sheets(results, policy, lang: Optional[str] = None, fmt: str = "text") -> str:
    """The sheets of settled claims as `med explain` prints them: text or one HTML page, in `lang`
    (default: `sheet_language` of the policy's own file)."""
    lang = lang or sheet_language(policy.sources.get(policy.compiled.file, ""))
    sheets = [build_sheet(r, policy, lang) for r in results]
    if fmt == "html":
        return sheet_html(sheets, policy)
    return "".join(sheet_text(s) for s in sheets)


def explain_sheet(result, policy, lang: Optional[str] = None) -> str:
    """One claim's sheet as text (`med explain`, and the service's `/v1/explain`); `result` needs
    only `ok` and `to_json()`."""
    lang = lang or sheet_language(policy.sources.get(policy.compiled.file, ""))
    return sheet_text(build_sheet(result, policy, lang))

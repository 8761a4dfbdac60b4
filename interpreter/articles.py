"""Every article accounted for: `med check --articles POLICY`.

A policy ships the regulation it encodes beside it (`CITY.txt` next to `CITY.med`). Each article
of that text (第N条) must be cited by some clause (`cite`, on a clause, a fund, a scheme, the
policy header, or named in a parameter's description), or declared out of scope with a reason:

    out-of-scope "第三条" "第四条" "who administers the fund (经办机构职责)"
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Optional

import attrs

from . import ast
from .parser import parse

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ARTICLE = re.compile(r"第([零〇一二两三四五六七八九十百]+)条")
_CHAPTER = re.compile(r"^[\s*#]*第[零〇一二两三四五六七八九十百]+章")
_HEADING = re.compile(r"^[\s*#]*第([零〇一二两三四五六七八九十百]+)条")


def article_number(chinese: str) -> int:
    """第二十一条 -> 21: the Chinese numeral of an article."""
    total, current = 0, 0
    for ch in chinese:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _NUMERALS[ch]
    return total + current


@attrs.frozen
class Article:
    number: int
    name: str       # 第二十一条
    line: int       # where its heading is in the regulation text
    text: str       # the heading line, for the report


def articles_of(text: str) -> list[Article]:
    """The articles of a regulation, in order. A heading is a line starting 第N条 that continues the
    numbering (a line that merely begins with a reference to another article is not one)."""
    out: list[Article] = []
    for i, line in enumerate(text.splitlines(), 1):
        m = _HEADING.match(line)
        if m is None:
            continue
        n = article_number(m.group(1))
        if n == (out[-1].number + 1 if out else 1):
            out.append(Article(n, f"第{m.group(1)}条", i, line.strip().lstrip("*# ")))
    return out


def article_texts(text: str) -> dict[int, str]:
    """Article number -> the article's text: from its heading line up to the next heading (blank
    lines, chapter headings and Markdown marks dropped)."""
    lines = text.splitlines()
    articles = articles_of(text)
    out = {}
    for a, nxt in zip(articles, [*articles[1:], None]):
        body = lines[a.line - 1:(nxt.line - 1) if nxt else len(lines)]
        out[a.number] = "\n".join(l.strip().lstrip("*#- ").replace("**", "") for l in body
                                  if l.strip() and not _CHAPTER.match(l))
    return out


def cited(module: ast.Module) -> set[int]:
    """The articles a policy cites anywhere: clause, fund, scheme and header citations, and
    parameters whose description names the article their figure comes from."""
    numbers: set[int] = set()
    for text in _citations(module):
        numbers.update(article_number(m.group(1)) for m in _ARTICLE.finditer(text))
    return numbers


def _citations(node) -> Iterator[str]:
    if isinstance(node, ast.Parameter) and node.description:
        yield node.description
    if isinstance(node, ast.OutOfScope):
        return
    if attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            value = getattr(node, field.name)
            if field.name == "cite" and isinstance(value, str):
                yield value
            elif isinstance(value, (tuple, list)):
                for v in value:
                    yield from _citations(v)
            elif attrs.has(type(value)):
                yield from _citations(value)


@attrs.frozen
class ArticleReport:
    regulation: str
    articles: tuple[Article, ...]
    encoded: tuple[Article, ...]
    out_of_scope: tuple[tuple[Article, str], ...]    # with the reason
    missing: tuple[Article, ...]                      # neither cited nor declared out of scope
    unknown: tuple[tuple[str, ast.Span], ...]         # declared out of scope but not in the text
    # cited by a clause and declared out of scope too (a warning): the `out-of-scope` line's span
    both: tuple[tuple[Article, ast.Span], ...] = ()


def regulation_for(policy_path: Path) -> Path:
    """The regulation text a policy ships beside it: `CITY.txt` for `CITY.med`, and for a
    version of it in other keywords (`CITY.zh.med`) too, when there is no `CITY.zh.txt`."""
    own = policy_path.with_suffix(".txt")
    shared = policy_path.with_name(policy_path.name.split(".")[0] + ".txt")
    return own if own.exists() or not shared.exists() else shared


def check_articles(policy_path: Path, text: Optional[str] = None) -> ArticleReport:
    """Which articles of the regulation beside the policy are encoded, out of scope, or missing.
    Raises OSError when the policy or its regulation cannot be read, MedError when it does not parse."""
    source = text if text is not None else policy_path.read_text(encoding="utf-8")
    module = parse(source, str(policy_path))
    regulation = regulation_for(policy_path)
    articles = articles_of(regulation.read_text(encoding="utf-8"))
    by_number = {a.number: a for a in articles}
    cites = cited(module)
    declared: dict[int, str] = {}
    unknown, both = [], []
    for item in module.items:
        if isinstance(item, ast.OutOfScope):
            for name in item.articles:
                m = _ARTICLE.fullmatch(name.strip())
                number = article_number(m.group(1)) if m else None
                if number is None or number not in by_number:
                    unknown.append((name, item.span))
                else:
                    declared[number] = item.reason
                    if number in cites:
                        both.append((by_number[number], item.span))
    encoded = tuple(a for a in articles if a.number in cites)
    out = tuple((a, declared[a.number]) for a in articles if a.number not in cites and a.number in declared)
    missing = tuple(a for a in articles if a.number not in cites and a.number not in declared)
    return ArticleReport(str(regulation), tuple(articles), encoded, out, missing, tuple(unknown), tuple(both))



def reason_kind(reason: str) -> str:
    """The kind of an out-of-scope reason: its head before the first colon (`member rules`,
    `administration`, …); the shipped policies use a few kinds, so a table can count them."""
    return re.split(r"[:：]", reason, maxsplit=1)[0].strip()


def markdown_table(rows: list[tuple[str, ArticleReport]]) -> str:
    """A Markdown table, one row per policy: its articles, how many are encoded, missing, and out of
    scope by kind of reason (one column a kind, the commonest first)."""
    totals: dict[str, int] = {}
    for _, r in rows:
        for _, reason in r.out_of_scope:
            totals[reason_kind(reason)] = totals.get(reason_kind(reason), 0) + 1
    kinds = sorted(totals, key=lambda k: (-totals[k], k))
    head = ["policy", "articles", "encoded", *(f"out of scope: {k}" for k in kinds), "missing"]
    out = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, r in rows:
        by_kind = [sum(1 for _, reason in r.out_of_scope if reason_kind(reason) == k) for k in kinds]
        cells = [f"`{name}`", len(r.articles), len(r.encoded), *by_kind, len(r.missing)]
        out.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(out) + "\n"

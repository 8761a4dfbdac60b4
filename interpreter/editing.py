"""What the language server offers beyond reading: references, rename, quick fixes,
semantic tokens, folding and document links — pure functions of one document's analysis
(document.py), in 0-based lines and code-point columns like the rest of the server.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Iterator, Optional

import attrs

from .document import Analysis, citation, words_named, words_of
from .keywords import BY_SPELLING
from .scanner import Token, indent_width, scan, token_at
from .vocabulary import KINDS, Word

# Semantic token legend: types and modifiers, in the order the server announces them.
TOKEN_TYPES = ("keyword", "enumMember", "parameter", "number", "string", "comment", "namespace", "operator")
# A dated fact's word (`birth-date`, kind `date`) shares the `date` modifier with date literals.
TOKEN_MODIFIERS = tuple(dict.fromkeys(("percentage", "date", "citation", "definition") + KINDS))
_CITE = frozenset(s for k in BY_SPELLING.values() if k.terminal == "CITE" for s in k.spellings)
_USE = frozenset(s for k in BY_SPELLING.values() if k.terminal == "USE" for s in k.spellings)
_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`")


@attrs.frozen
class Range:
    line: int
    start: int
    end: int


def _words(a: Analysis) -> Iterator[tuple[int, list[Token], Token]]:
    for n, text in enumerate(a.lines):
        tokens = scan(text)
        for t in tokens:
            if t.kind == "word":
                yield n, tokens, t


def _context(tokens: list[Token], tok: Token) -> Optional[str]:
    before = [t for t in tokens if t.end <= tok.column and t.kind == "word"]
    return before[-1].text if before else None


# ---- what the cursor is on ----------------------------------------------------------

@attrs.frozen
class Target:
    """A name under the cursor: a vocabulary word, a parameter, or an article cited."""

    kind: str                 # "word" | "parameter" | "article"
    name: str                 # the canonical name, or the article's text
    word: Optional[Word] = None


def target_at(a: Analysis, line: int, column: int) -> Optional[Target]:
    if not 0 <= line < len(a.lines):
        return None
    tokens = scan(a.lines[line])
    tok = token_at(tokens, column)
    if tok is None:
        return None
    if tok.kind == "string":
        before = [t for t in tokens if t.end <= tok.column]
        if before and before[-1].text in _CITE:
            return Target("article", tok.text[1:-1])
        return None
    if tok.kind != "word":
        return None
    if tok.text in a.parameters:
        return Target("parameter", tok.text)
    found = words_named(a, tok.text, _context(tokens, tok))
    if found:
        return Target("word", found[0].name, found[0])
    return None


def _spells(a: Analysis, target: Target, tokens: list[Token], tok: Token) -> bool:
    if target.kind == "parameter":
        return tok.text == target.name
    found = words_named(a, tok.text, _context(tokens, tok))
    return bool(found) and found[0] == target.word


# ---- references ------------------------------------------------------------------------

def references(a: Analysis, target: Target, include_definition: bool = True) -> list[Range]:
    """Every place in this document that names the target (any spelling, English or Chinese);
    for an article, every clause line that cites it (its own `cite` or its block's)."""
    if target.kind == "article":
        out = []
        for n, text in enumerate(a.lines):
            tokens = scan(text)
            if not tokens or tokens[0].kind == "comment":
                continue
            cite = citation(a, n)
            if cite is not None and cite[0] == target.name:
                code = [t for t in tokens if t.kind != "comment"]
                out.append(Range(n, code[0].column, code[-1].end))
        return out
    out = [Range(n, t.column, t.end) for n, tokens, t in _words(a) if _spells(a, target, tokens, t)]
    if not include_definition:
        out = [r for r in out if not _is_definition(a, target, r)]
    return out


def _is_definition(a: Analysis, target: Target, r: Range) -> bool:
    span = target.word.span if target.word is not None else a.parameters[target.name].span
    return span.file == a.path and span.line - 1 == r.line


# ---- rename ---------------------------------------------------------------------------

def rename(a: Analysis, target: Target, new_name: str) -> list[Range]:
    """The places to rewrite when the target's name (this spelling, not its aliases) becomes
    `new_name`. Only names this document defines (a `define` entry or a `parameter`) rename."""
    if target.kind == "article" or not re.fullmatch(r"[^\W\d_][\w\-]*", new_name):
        return []
    if target.kind == "word" and (target.word is None or target.word.span.file != a.path):
        return []
    return [r for r in references(a, target) if a.lines[r.line][r.start:r.end] == target.name]


def renamable(a: Analysis, line: int, column: int) -> Optional[tuple[Target, Range]]:
    target = target_at(a, line, column)
    if target is None or target.kind == "article":
        return None
    if target.kind == "word" and target.word.span.file != a.path:
        return None
    tok = token_at(scan(a.lines[line]), column)
    if tok.text != target.name:
        return None
    return target, Range(line, tok.column, tok.end)


def uses_module(lines, module_name: str) -> bool:
    """Whether a document's lines have `use MODULE` (so a rename in MODULE reaches it)."""
    for text in lines:
        tokens = [t for t in scan(text) if t.kind == "word"]
        if len(tokens) >= 2 and tokens[0].text in _USE and tokens[1].text == module_name:
            return True
    return False


# ---- quick fixes ------------------------------------------------------------------------

def suggestion(message: str) -> Optional[str]:
    """The replacement a "did you mean `X`?" message proposes."""
    m = _DID_YOU_MEAN.search(message)
    return m.group(1) if m else None


def misspelt_word(a: Analysis, line: int, column: int) -> Optional[Range]:
    """The word at a diagnostic's start, which a quick fix replaces."""
    if not 0 <= line < len(a.lines):
        return None
    tok = token_at(scan(a.lines[line]), column)
    return Range(line, tok.column, tok.end) if tok is not None and tok.kind == "word" else None


# ---- folding, links, semantic tokens ------------------------------------------------------

def folding_ranges(a: Analysis) -> list[tuple[int, int]]:
    """(first, last) line of every block: a line and the more-indented lines under it."""
    code = [(n, indent_width(t)) for n, t in enumerate(a.lines) if t.strip() and not t.strip().startswith("#")]
    out, open_blocks = [], []  # stack of (line, width)
    for k, (n, width) in enumerate(code):
        while open_blocks and open_blocks[-1][1] >= width:
            start, _ = open_blocks.pop()
            last = code[k - 1][0]
            if last > start:
                out.append((start, last))
        open_blocks.append((n, width))
    while open_blocks:
        start, _ = open_blocks.pop()
        if code and code[-1][0] > start:
            out.append((start, code[-1][0]))
    return sorted(out)


def use_links(a: Analysis) -> list[tuple[Range, str]]:
    """Each `use NAME` line's module name and the file it opens (beside the policy, else the
    standard library's)."""
    out = []
    for n, text in enumerate(a.lines):
        tokens = [t for t in scan(text) if t.kind == "word"]
        if len(tokens) >= 2 and tokens[0].text in _USE and tokens[0].column == 0:
            name = tokens[1]
            beside = Path(a.path).parent / f"{name.text}.med"
            out.append((Range(n, name.column, name.end), str(beside) if beside.is_file() else f"stdlib/{name.text}.med"))
    return out


def semantic_tokens(a: Analysis) -> list[tuple[int, int, int, str, tuple[str, ...]]]:
    """(line, start, end, type, modifiers) for every token worth colouring, in order."""
    out = []
    words = words_of(a)  # the document's own Chinese names are read as the parser reads them
    for n, text in enumerate(a.lines):
        tokens = scan(text, words)
        for k, t in enumerate(tokens):
            kind = _token_kind(a, tokens, k, t)
            if kind is not None:
                out.append((n, t.column, t.end, kind[0], kind[1]))
    return out


def _token_kind(a: Analysis, tokens: list[Token], k: int, t: Token) -> Optional[tuple[str, tuple[str, ...]]]:
    if t.kind == "comment":
        return "comment", ()
    if t.kind == "string":
        return "string", ("citation",) if k and tokens[k - 1].text in _CITE else ()
    if t.kind == "number":
        mods = ("percentage",) if t.text.endswith("%") else ("date",) if "-" in t.text else ()
        return "number", mods
    if t.kind == "punct":
        return "operator", ()
    if t.kind != "word":
        return None
    context = tokens[k - 1].text if k else None
    if context in _USE:
        return "namespace", ()
    if t.text in a.parameters:
        declared = context is not None and context in BY_SPELLING and BY_SPELLING[context].terminal == "PARAMETER"
        return "parameter", ("definition",) if declared else ()
    if t.text in BY_SPELLING:
        return "keyword", ()
    found = words_named(a, t.text, context)
    return ("enumMember", (found[0].kind,)) if found else None


# ---- "add the missing clause" -------------------------------------------------------------

_GAP = re.compile(r"benefit `([^`]+)` of scheme (\S+) has no rate for local claims at (.+)$")


def missing_clauses(a: Analysis, line: int, message: str) -> Optional[tuple[int, str]]:
    """For a coverage gap reported at a benefit's first clause: where to insert (a line
    number) and the clauses to insert, one per level, each with `rate 0%` to fill in."""
    m = _GAP.search(message.split("\n")[0])
    if m is None or not 0 <= line < len(a.lines):
        return None
    by_level: dict[str, list[str]] = {}
    for item in m.group(3).split(", "):
        level, _, status = item.partition(" ")
        by_level.setdefault(level, []).extend([status] if status else [])
    head = a.lines[line]
    indent = head[:len(head) - len(head.lstrip())] + "  "
    last = next((end for start, end in folding_ranges(a) if start == line), line)
    lines = []
    for level, statuses in by_level.items():
        rates = " ".join(f"{s} 0%" for s in statuses) if statuses else "0%"
        lines.append(f"{indent}{level} rate {rates}   # TODO: the rate the article sets for {level}\n")
    return last + 1, "".join(lines)


# ---- inlay hints: what a relative rate resolves to --------------------------------------------

def _terminal(text: str) -> Optional[str]:
    kw = BY_SPELLING.get(text)
    return kw.terminal if kw is not None else None


def _rate_table(tokens: list[Token]) -> Optional[list[tuple[str, Decimal]]]:
    """A line's absolute rates, `rate employed 85% retired 87%` -> [("employed", 85), ("retired", 87)];
    None when the line sets no plain rate (none, a band, an adjustment)."""
    k = next((i for i, t in enumerate(tokens) if _terminal(t.text) == "RATE"), None)
    if k is None:
        return None
    table, selectors = [], []
    for t in tokens[k + 1:]:
        if t.kind == "number" and t.text.endswith("%"):
            table.append((" ".join(selectors), Decimal(t.text[:-1])))
            selectors = []
        elif t.kind == "word" and _terminal(t.text) is None:
            selectors.append(t.text)
        elif _terminal(t.text) == "TO" or t.kind == "punct":
            return None  # a band (`65% to 20000`) or an adjustment: no single figure
        else:
            break
    return table or None


def _adjustment(tokens: list[Token]) -> Optional[tuple[Optional[str], Decimal, Token]]:
    """`rate [as NAME] ± N points`: (NAME or None, signed N, the points token)."""
    k = next((i for i, t in enumerate(tokens) if _terminal(t.text) == "RATE"), None)
    if k is None:
        return None
    rest = tokens[k + 1:]
    name = None
    if len(rest) >= 2 and _terminal(rest[0].text) == "AS" and rest[1].kind == "word":
        name, rest = rest[1].text, rest[2:]
    if len(rest) >= 3 and rest[0].text in "+-" and rest[1].kind == "number" and _terminal(rest[2].text) == "POINTS":
        n = Decimal(rest[1].text)
        return name, n if rest[0].text == "+" else -n, rest[2]
    return None


def _block_lines(a: Analysis, head: int) -> range:
    width = indent_width(a.lines[head])
    end = head + 1
    while end < len(a.lines) and (not a.lines[end].strip() or indent_width(a.lines[end]) > width):
        end += 1
    return range(head + 1, end)


def _parent(a: Analysis, line: int) -> Optional[int]:
    width = indent_width(a.lines[line])
    for n in range(line - 1, -1, -1):
        if a.lines[n].strip() and not a.lines[n].lstrip().startswith("#") and indent_width(a.lines[n]) < width:
            return n
    return None


def _base_rates(a: Analysis, line: int, name: Optional[str]) -> Optional[list[tuple[str, Decimal]]]:
    """The rates an adjustment applies to: the line that selects NAME in the same block
    (`rate as level3 - 10 points`), else the enclosing line's own rate, when nothing else in
    that block sets one (otherwise which rate applies depends on the claim: no hint)."""
    parent = _parent(a, line)
    if name is not None:
        scope = _block_lines(a, parent) if parent is not None else range(len(a.lines))
        for n in scope:
            tokens = scan(a.lines[n])
            if tokens and tokens[0].text == name or any(t.text == name for t in tokens[:3] if t.kind == "word"):
                table = _rate_table(tokens)
                if table is not None and n != line:
                    return table
        return None
    if parent is None:
        return None
    siblings = [scan(a.lines[n]) for n in _block_lines(a, parent) if n != line]
    setting = [t for t in siblings if _rate_table(t) and _terminal(t[0].text) != "EXCEPTION"]
    if not setting:
        return _rate_table(scan(a.lines[parent]))
    if len(setting) == 1 and _terminal(setting[0][0].text) == "RATE":  # the block's own rate line
        return _rate_table(setting[0])
    return None


def inlay_hints(a: Analysis) -> list[tuple[int, int, str]]:
    """(line, column, label): after `± N points`, the rate it comes to (`= 77%`, or per status)."""
    out = []
    for n, text in enumerate(a.lines):
        tokens = [t for t in scan(text) if t.kind != "comment"]
        adjusted = _adjustment(tokens)
        if adjusted is None:
            continue
        name, delta, points = adjusted
        base = _base_rates(a, n, name)
        if not base:
            continue
        parts = [f"{sel} {_percent(rate + delta)}".strip() for sel, rate in base]
        out.append((n, points.end, "= " + " · ".join(parts)))
    return out


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"

"""A policy being edited: what the language server knows of it and answers about it.

`analyse` compiles one version of the text with the real compiler and keeps what the
editor needs: the diagnostics, and the syntax tree, vocabulary and parameters of the last
version that parsed, so hover, completion and go-to-definition keep working while the
author is halfway through a line. Everything here is plain data and pure functions;
positions are 0-based lines and code-point columns (lsp.py converts to the client's units).
"""

from __future__ import annotations

from decimal import localcontext
from importlib import resources
from pathlib import Path
from typing import Optional

import attrs

from . import ast
from .errors import Diagnostic, MedError
from .files import stdlib_text
from .keywords import BY_SPELLING, KEYWORDS, Keyword
from .money import CONVERTING
from .parser import parse
from .policy import compile as compile_policy
from .recheck import Rechecker
from .reparse import Reparser
from .scanner import Token, indent_width, scan, token_at
from .segment import Words, words_for
from .text import normal_newlines
from .vocabulary import KINDS, OTHER_KINDS, Vocabulary, Word, build

_CITE = frozenset(s for k in KEYWORDS if k.terminal == "CITE" for s in k.spellings)
_FUND_CONTEXT = frozenset(s for k in KEYWORDS if k.terminal in ("FUND", "PAID_BY") for s in k.spellings)
_TOP_LEVEL = frozenset(("POLICY", "REGION", "EFFECTIVE", "USE", "PARAMETER", "DEFAULT", "DEFINE", "SCHEME"))
_MEASURE_CONTEXT = frozenset(s for k in KEYWORDS if k.terminal == "EACH_EXTRA" for s in k.spellings)


@attrs.frozen
class Analysis:
    """One version of a document, compiled."""

    path: str                          # the name the compiler was given (spans carry it)
    lines: tuple[str, ...]             # this version's text
    diagnostics: tuple[Diagnostic, ...]
    module: Optional[ast.Module]       # this version's tree, else the last that parsed
    module_lines: tuple[str, ...]      # the text `module` was parsed from
    vocabulary: Vocabulary
    parameters: dict                   # name -> ast.Parameter


def standard_library() -> ast.Module:
    """The standard vocabulary, parsed (the fallback when a policy does not compile)."""
    return parse(stdlib_text(), "stdlib/standard.med")


def analyse(text: str, path: str, base_dir: Optional[str], stdlib: ast.Module,
            previous: Optional[Analysis] = None, reparser: Optional[Reparser] = None,
            rechecker: Optional[Rechecker] = None) -> Analysis:
    """Compile `text`; on failure keep the diagnostics and fall back on what still parses.
    `reparser`: the document's pieces from its earlier versions (reparse.py), so an edit
    re-parses only the blocks it touched; `rechecker`: its compiled lines (recheck.py), so
    only the lines it touched are compiled again. The result is the same either way."""
    lines = tuple(normal_newlines(text).split("\n"))
    try:
        with localcontext(CONVERTING):  # as compile() parses: numbers read exactly
            module = reparser.parse(text) if reparser is not None else parse(text, path)
    except MedError as e:
        if previous is not None:
            return attrs.evolve(previous, lines=lines, diagnostics=tuple(e.diagnostics))
        return Analysis(path, lines, tuple(e.diagnostics), None, lines, _fallback_vocabulary(stdlib, None), {})
    try:
        if rechecker is not None:
            policy = rechecker.compile(text, path, base_dir, module)
        else:
            policy = compile_policy(text, name=path, base_dir=base_dir, module=module)
    except MedError as e:
        return Analysis(path, lines, tuple(e.diagnostics), module, lines, _fallback_vocabulary(stdlib, module),
                        _parameters(module))
    return Analysis(path, lines, tuple(policy.warnings), module, lines, policy.compiled.vocabulary,
                    _parameters(module))


def unanalysed(path: str, lines: tuple[str, ...], stdlib: ast.Module) -> Analysis:
    """A document not compiled yet: its text and the standard vocabulary."""
    return Analysis(path, lines, (), None, lines, _fallback_vocabulary(stdlib, None), {})


def _fallback_vocabulary(stdlib: ast.Module, module: Optional[ast.Module]) -> Vocabulary:
    modules = [stdlib] + ([module] if module is not None else [])
    vocab, _problems = build([i for m in modules for i in m.items if isinstance(i, ast.Define)])
    return vocab


def _parameters(module: ast.Module) -> dict:
    return {i.name: i for i in module.items if isinstance(i, ast.Parameter)}


# ---- what is at a position -----------------------------------------------------------

def _tokens(a: Analysis, line: int) -> list[Token]:
    return scan(a.lines[line], words_of(a)) if 0 <= line < len(a.lines) else []


def words_of(a: Analysis) -> Words:
    """The words this document's Chinese runs are read against, as the parser reads them:
    the standard ones and the names the document defines (segment.py)."""
    return words_for("\n".join(a.lines))


def _previous_word(tokens: list[Token], tok: Token) -> Optional[str]:
    before = [t for t in tokens if t.end <= tok.column and t.kind == "word"]
    return before[-1].text if before else None


def words_named(a: Analysis, spelling: str, context: Optional[str]) -> list[Word]:
    """Every vocabulary word a spelling may mean, the one its context asks for first."""
    found = []
    selector = a.vocabulary.selector(spelling)
    if selector is not None:
        found.append(selector)
    for kind in OTHER_KINDS:
        w = a.vocabulary.lookup(kind, spelling)
        if w is not None:
            found.append(w)
    wanted = "fund" if context in _FUND_CONTEXT else "measure" if context in _MEASURE_CONTEXT else None
    return sorted(found, key=lambda w: w.kind != wanted)


# ---- hover -----------------------------------------------------------------------------

def hover(a: Analysis, line: int, column: int) -> Optional[tuple[str, tuple[int, int]]]:
    """Markdown for the word under the cursor and the columns it spans, or None."""
    tokens = _tokens(a, line)
    tok = token_at(tokens, column)
    if tok is None or tok.kind == "comment":
        return None
    parts = []
    if tok.kind == "word":
        parts += _describe_word(a, tok.text, _previous_word(tokens, tok))
    cite = citation(a, line)
    if cite is not None:
        parts.append(f"Cites **{cite[0]}**" + (f" (the block at line {cite[1] + 1})" if cite[1] != line else ""))
    if not parts:
        return None
    return "\n\n---\n\n".join(parts), (tok.column, tok.end)


def _describe_word(a: Analysis, spelling: str, context: Optional[str]) -> list[str]:
    parts = []
    kw = BY_SPELLING.get(spelling)
    if kw is not None:
        parts.append(describe_keyword(kw))
    for w in words_named(a, spelling, context):
        parts.append(describe_word(w))
    p = a.parameters.get(spelling)
    if p is not None:
        parts.append(f"**{p.name}** — parameter\n\n" + (f"{p.description}\n\n" if p.description else "")
                     + f"A run supplies it: `--param {p.name}=VALUE` (declared at line {p.span.line}).")
    return parts


def describe_keyword(kw: Keyword) -> str:
    return f"**{kw.english[0]}** · {' · '.join(kw.spellings[1:])} — keyword\n\n{kw.meaning}"


def describe_word(w: Word) -> str:
    aliases = f" · {' · '.join(w.aliases)}" if w.aliases else ""
    text = f"**{w.name}**{aliases} — {w.kind}"
    if w.description:
        text += f"\n\n{w.description}"
    return text + f"\n\n`define {w.kind}` at {w.span.file}:{w.span.line}"


def citation(a: Analysis, line: int) -> Optional[tuple[str, int]]:
    """The article a clause line cites: its own `cite`, else the nearest enclosing block's."""
    if not (0 <= line < len(a.lines)) or not _code(a.lines[line]):
        return None
    width = indent_width(a.lines[line])
    for n in range(line, -1, -1):
        text = a.lines[n]
        if n != line and (not _code(text) or indent_width(text) >= width):
            continue
        cite = _own_cite(scan(text))
        if cite is not None:
            return cite, n
        width = indent_width(text)
        if width == 0:
            return None
    return None


def _code(text: str) -> bool:
    tokens = scan(text)
    return bool(tokens) and tokens[0].kind != "comment"


def _own_cite(tokens: list[Token]) -> Optional[str]:
    for kw, value in zip(tokens, tokens[1:]):
        if kw.text in _CITE and value.kind == "string":
            return value.text[1:-1]
    return None


# ---- completion ------------------------------------------------------------------------

@attrs.frozen
class Completion:
    label: str
    kind: str          # "keyword" | "name" | "fund" | "measure" | "parameter" | "kind"
    detail: str
    documentation: str


def completions(a: Analysis, line: int, column: int) -> tuple[list[Completion], int]:
    """What may be written at the cursor, and the column where the word being typed starts."""
    text = a.lines[line] if 0 <= line < len(a.lines) else ""
    typed = scan(text[:column])
    if any(t.kind == "comment" or t.text == '"' for t in typed):  # in a comment, or in quotes
        return [], column
    word = typed[-1] if typed and typed[-1].kind == "word" and typed[-1].end == column else None
    start = word.column if word is not None else column
    prefix = text[start:column]
    before = [t for t in typed if t.end <= start and t.kind == "word"]
    context = before[-1].text if before else None
    items = _candidates(a, context)
    if text[:1].isspace():  # inside a block: no words that only start a file's line
        items = [c for c in items if not (c.kind == "keyword" and BY_SPELLING[c.label].terminal in _TOP_LEVEL)]
    return [c for c in items if c.label.startswith(prefix)], start


def _candidates(a: Analysis, context: Optional[str]) -> list[Completion]:
    words = list(a.vocabulary.words.values())
    if context in _FUND_CONTEXT:
        return [c for w in words if w.kind == "fund" for c in _word_items(w)]
    if context in BY_SPELLING and BY_SPELLING[context].terminal == "DEFINE":
        return [Completion(k, "kind", "kind of name", f"`define {k}`: names of this kind") for k in KINDS]
    if context in BY_SPELLING and BY_SPELLING[context].terminal == "USE":
        return [Completion("standard", "name", "module", "The standard vocabulary (stdlib/standard.med).")]
    out = [c for kw in KEYWORDS for c in _keyword_items(kw)]
    out += [c for w in words if w.kind != "fund" for c in _word_items(w)]
    out += [Completion(p.name, "parameter", "parameter", p.description or "") for p in a.parameters.values()]
    return out


def _keyword_items(kw: Keyword) -> list[Completion]:
    return [Completion(s, "keyword", "keyword" if s == kw.english[0] else f"keyword = {kw.english[0]}", kw.meaning)
            for s in kw.spellings]


def _word_items(w: Word) -> list[Completion]:
    kind = w.kind if w.kind in ("fund", "measure") else "name"
    return [Completion(s, kind, f"{w.kind} {w.name}" if s != w.name else w.kind, w.description or "")
            for s in (w.name, *w.aliases)]


# ---- go to definition -----------------------------------------------------------------

@attrs.frozen
class Place:
    file: str      # as the compiler names it: the policy's path, or stdlib/NAME.med
    line: int      # 0-based
    column: int
    end_column: int


def definition(a: Analysis, line: int, column: int) -> Optional[Place]:
    """Where the name under the cursor is defined: its `define` entry, its `parameter`, or
    (after `use`) the module's file."""
    tokens = _tokens(a, line)
    tok = token_at(tokens, column)
    if tok is None or tok.kind != "word":
        return None
    p = a.parameters.get(tok.text)
    if p is not None:
        return _name_place(p.span, p.name, a.module_lines)
    context = _previous_word(tokens, tok)
    if context in BY_SPELLING and BY_SPELLING[context].terminal == "USE":
        beside = Path(a.path).parent / f"{tok.text}.med"
        return Place(str(beside) if beside.is_file() else f"stdlib/{tok.text}.med", 0, 0, 0)
    found = words_named(a, tok.text, context)
    if found:
        w = found[0]
        return Place(w.span.file, w.span.line - 1, w.span.column - 1, w.span.column - 1 + len(w.name))
    return None


def _name_place(span: ast.Span, name: str, lines: tuple[str, ...]) -> Place:
    line = span.line - 1
    text = lines[line] if 0 <= line < len(lines) else ""
    tok = next((t for t in scan(text) if t.text == name), None)
    column = tok.column if tok is not None else span.column - 1
    return Place(span.file, line, column, column + len(name))


def file_path(file: str, base_dir: Optional[str]) -> Path:
    """The file on disk behind a name the compiler uses."""
    if file.startswith("stdlib/"):
        return Path(str(resources.files("medpolicy.stdlib").joinpath(file[len("stdlib/"):])))
    p = Path(file)
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


# ---- outline ---------------------------------------------------------------------------

@attrs.frozen
class Symbol:
    name: str
    kind: str                 # "policy" | "use" | "parameter" | "define" | "entry" | "scheme" | "fund" | "block" | "clause"
    detail: Optional[str]
    head: tuple[int, int, int]  # line, start column, end column of the line that names it (0-based)
    end_line: int             # the last line of the block it heads
    end_column: int
    children: tuple["Symbol", ...] = ()


def symbols(a: Analysis) -> list[Symbol]:
    """The outline: policy, parameters, vocabulary, schemes, funds, benefit blocks, clauses."""
    if a.module is None:
        return []
    lines = a.module_lines
    out = []
    for item in a.module.items:
        if isinstance(item, ast.PolicyHeader):
            out.append(_symbol(lines, item.span, "policy", item.cite, name=item.title))
        elif isinstance(item, ast.Use):
            out.append(_symbol(lines, item.span, "use", None))
        elif isinstance(item, ast.Parameter):
            out.append(_symbol(lines, item.span, "parameter", item.description, name=item.name))
        elif isinstance(item, ast.Define):
            entries = [_symbol(lines, e.span, "entry", e.description, name=e.name) for e in item.entries]
            out.append(_symbol(lines, item.span, "define", item.description, entries))
        elif isinstance(item, ast.Scheme):
            out.append(_symbol(lines, item.span, "scheme", item.cite, [_scheme_item(lines, i) for i in item.items]))
    return out


def _scheme_item(lines, node) -> Symbol:
    kind = "fund" if isinstance(node, ast.FundBlock) else "block" if node.children else "clause"
    return _symbol(lines, node.span, kind, node.cite, [_scheme_item(lines, c) for c in node.children])


def _symbol(lines, span: ast.Span, kind: str, detail: Optional[str], children=(), name: Optional[str] = None) -> Symbol:
    line = span.line - 1
    tokens = scan(lines[line]) if 0 <= line < len(lines) else []
    words = [t for t in tokens if t.kind != "comment"]
    if len(words) >= 2 and words[-2].text in _CITE and words[-1].kind == "string":
        words = words[:-2]
    text = " ".join(t.text for t in words) or kind
    start = words[0].column if words else 0
    end = words[-1].end if words else 0
    last_line, last_col = line, end
    for c in children:
        if (c.end_line, c.end_column) > (last_line, last_col):
            last_line, last_col = c.end_line, c.end_column
    return Symbol(name or text, kind, detail, (line, start, end), last_line, last_col, tuple(children))

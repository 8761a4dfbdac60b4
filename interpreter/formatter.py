"""`med fmt`: one canonical layout for .med files.

The layout:
- two spaces per block level; single spaces between words; `,` keeps to the word before it;
- `cite "…"` (or a trailing comment) starts at column 64 when the clause fits before it;
  adjacent clauses too long for that share a column three spaces past the longest (a
  clause that would need more than 24 spaces to reach it keeps three);
- `define` entries in three columns: name, Chinese aliases (column 20), meaning (column 41);
- every comment kept, at the depth of the block it sits in;
- the author's blank lines kept, at most one in a row, and one before each top-level
  `scheme` and `define`; no blank lines at either end; one newline at the end.

Widths count a CJK character as two columns, as editors draw them. Formatting never
changes meaning: the result is parsed again and must give the same syntax tree and the
same comments, or the file is left alone.
"""

from __future__ import annotations

import sys
from typing import Optional

import attrs

from . import ast, indentation
from .files import UnreadableFile, read_text
from .ast import Span
from .errors import Diagnostic, MedError
from .keywords import KEYWORDS
from .parser import parse
from .scanner import Token, scan
from .segment import SEPARATORS, Words, is_han, words_for
from .text import display_width, source_text

INDENT = "  "
CITE_COLUMN = 64          # where `cite` starts when the clause fits before it
OVERFLOW_GAP = 3          # spaces before `cite` on a clause too long for the column
MAX_RUN_PAD = 24          # ... unless aligning with its neighbours would need more
ALIAS_COLUMN = 20         # define entries: where the aliases start
MEANING_COLUMN = 41       # define entries: where the description starts


def _spellings(terminal: str) -> frozenset[str]:
    return frozenset(s for k in KEYWORDS if k.terminal == terminal for s in k.spellings)


_CITE = _spellings("CITE")
_TOP_BLOCKS = _spellings("SCHEME") | _spellings("DEFINE")
_DEFINE = _spellings("DEFINE")


@attrs.frozen
class _Line:
    kind: str                      # "blank" | "comment" | "code"
    depth: int = 0
    tokens: tuple[Token, ...] = ()  # code: the words, without the trailing comment
    comment: Optional[str] = None   # comment lines and trailing comments
    entry: bool = False             # a `define` entry


@attrs.define
class _Out:
    """One output line: its text before the tail, and the tail to align after it."""

    head: str
    tail: Optional[str] = None
    overflow: bool = False


def format_text(text: str, file: str = "<string>", tree: Optional[ast.Module] = None) -> str:
    """The canonical layout of .med source. Raises MedError if the text does not parse.
    `tree`, when the caller already parsed exactly this text (the language server), saves a parse."""
    text = source_text(text)
    before = tree if tree is not None else parse(text, file)
    result = _render(_read(text.split("\n"), words_for(text)))
    if result != text:  # an unchanged text needs no proof that its meaning is unchanged
        _check_same(before, text, result, file)
    return result


def _standard_input() -> str:
    if sys.stdin is None:  # (started with standard input closed: `<&-`)
        raise UnreadableFile("-", "standard input is closed")
    return sys.stdin.read()


def format_files(files: list[str], check: bool = False) -> int:
    """`med fmt [--check] FILE...`: rewrite files in place (or, with --check, only report).

    `-` reads standard input and writes the result to standard output. Exit code: 0 all
    formatted; 1 a file would change (--check), does not parse or is not UTF-8; 2 a file cannot be read.
    """
    status = 0
    for name in files:
        try:
            raw = _standard_input() if name == "-" else read_text(name)
        except UnreadableFile as e:  # missing, a folder, a FIFO or device: usage
            print(f"med: {e}", file=sys.stderr)
            status = 2
            continue
        except MedError as e:  # read, but not UTF-8: a problem with the file
            print(e.diagnostics[0].format(None), file=sys.stderr)
            status = max(status, 1)
            continue
        try:
            formatted = format_text(raw, "<stdin>" if name == "-" else name)
        except MedError as e:
            for d in e.diagnostics:
                print(d.format(raw if d.span.file in (name, "<stdin>") else None), file=sys.stderr)
            status = max(status, 1)
            continue
        if check:
            if formatted != raw:
                print(f"{name}: would reformat", file=sys.stderr)
                status = max(status, 1)
        elif name == "-":
            sys.stdout.write(formatted)
        elif formatted != raw:
            with open(name, "w", encoding="utf-8", newline="\n") as f:
                f.write(formatted)
            print(f"{name}: formatted", file=sys.stderr)
    return status


# ---- reading: each physical line, its depth and its tokens -------------------------

def _read(raw_lines: list[str], known: Words) -> list[_Line]:
    code_indents = {}  # line index -> the indentation stack after that code line
    blocks = indentation.Blocks()
    top_head = ""
    for i, raw in enumerate(raw_lines):
        tokens = scan(raw, known)
        if not tokens or tokens[0].kind == "comment":
            continue
        try:
            blocks.enter(indentation.width(raw))
        except indentation.Misaligned:
            pass  # the parser refuses such text before it is formatted
        code_indents[i] = list(blocks.levels)
    next_indent: list[Optional[int]] = [None] * len(raw_lines)  # indentation of the next code line
    following = None
    for i in range(len(raw_lines) - 1, -1, -1):
        next_indent[i] = following
        if i in code_indents:
            following = code_indents[i][-1]
    out: list[_Line] = []
    last_stack = [0]
    for i, raw in enumerate(raw_lines):
        tokens = scan(raw, known)
        if not tokens:
            out.append(_Line("blank"))
            continue
        if tokens[0].kind == "comment":
            out.append(_Line("comment", _comment_depth(indentation.width(raw), last_stack, next_indent[i]),
                             comment=tokens[0].text.rstrip()))
            continue
        last_stack = code_indents[i]
        depth = len(last_stack) - 1
        comment = tokens[-1].text.rstrip() if tokens[-1].kind == "comment" else None
        words = tuple(tokens[:-1] if comment else tokens)
        if depth == 0:
            top_head = words[0].text
        out.append(_Line("code", depth, words, comment, entry=depth == 1 and top_head in _DEFINE))
    return out


def _comment_depth(width: int, stack: list[int], next_indent: Optional[int]) -> int:
    # A comment line belongs to the deepest open block it is indented into; the block the
    # next line opens counts as open.
    levels = list(stack)
    if next_indent is not None and next_indent > levels[-1]:
        levels.append(next_indent)
    return max(sum(1 for level in levels if level <= width) - 1, 0)


# ---- writing ------------------------------------------------------------------------

def _render(lines: list[_Line]) -> str:
    outs: list[Optional[_Out]] = []  # None: a blank line
    for line in lines:
        if line.kind == "blank":
            if outs and outs[-1] is not None:
                outs.append(None)
            continue
        if line.kind == "code" and line.depth == 0 and line.tokens[0].text in _TOP_BLOCKS:
            _blank_before(outs)
        if line.kind == "comment":
            outs.append(_Out(INDENT * line.depth + line.comment))
        elif line.entry:
            outs.append(_Out(_entry(line)))
        else:
            outs.append(_clause(line))
    while outs and outs[-1] is None:
        outs.pop()
    _align(outs)
    return "".join("\n" if o is None else (o.head + (o.tail or "")).rstrip() + "\n" for o in outs)


def _blank_before(outs: list[Optional[_Out]]) -> None:
    # The blank line goes above the comments that lead into the block.
    k = len(outs)
    while k > 0 and outs[k - 1] is not None and outs[k - 1].tail is None and outs[k - 1].head.startswith("#"):
        k -= 1
    if k > 0 and outs[k - 1] is not None:
        outs.insert(k, None)


def _words(tokens) -> str:
    text = ""
    prev, glued = None, False
    for t in tokens:
        # `,` and Chinese punctuation keep to the word before them; Chinese written without
        # spaces stays so (`起付线900元，比例在职85%`, `孕月<3`), and Chinese written spaced stays spaced.
        attached = prev is not None and t.column == prev.end and (_chinese(prev, t) or glued)
        prev, glued = t, attached
        if t.text == "," or t.kind == "separator" or not text or attached:
            text += t.text
        else:
            text += " " + t.text
    return text


def _chinese(a: Token, b: Token) -> bool:
    """Two touching tokens that touch in Chinese: a Han character or Chinese punctuation at the seam."""
    return any(is_han(ch) or ch in SEPARATORS for ch in (a.text[-1], b.text[0]))


def _clause(line: _Line) -> _Out:
    words = list(line.tokens)
    cite = None
    if len(words) >= 2 and words[-2].text in _CITE and words[-1].kind == "string":
        cite = f"{words[-2].text} {words[-1].text}"
        words = words[:-2]
    tail = cite
    if line.comment is not None:
        tail = f"{cite}  {line.comment}" if cite else line.comment
    head = INDENT * line.depth + _words(words)
    if tail is None:
        return _Out(head)
    if not words:
        return _Out(head + tail)
    return _Out(head, tail, overflow=display_width(head) >= CITE_COLUMN)


def _entry(line: _Line) -> str:
    # name, aliases, "meaning", each starting at its column (at least one space apart)
    words = list(line.tokens)
    meaning = words.pop().text if words and words[-1].kind == "string" else None
    text = INDENT + words[0].text
    if len(words) > 1:
        text = _pad(text, ALIAS_COLUMN) + " ".join(w.text for w in words[1:])
    if meaning is not None:
        text = _pad(text, MEANING_COLUMN) + meaning
    if line.comment is not None:
        text += "  " + line.comment
    return text


def _pad(text: str, column: int) -> str:
    return text + " " * max(column - display_width(text), 1)


def _align(outs: list[Optional[_Out]]) -> None:
    i = 0
    while i < len(outs):
        o = outs[i]
        if o is None or o.tail is None:
            i += 1
            continue
        if not o.overflow:
            o.head = _pad(o.head, CITE_COLUMN)
            i += 1
            continue
        j = i
        while j < len(outs) and outs[j] is not None and outs[j].tail is not None and outs[j].overflow:
            j += 1
        column = max(display_width(x.head) for x in outs[i:j]) + OVERFLOW_GAP
        for x in outs[i:j]:
            width = display_width(x.head)
            x.head = _pad(x.head, column if column - width <= MAX_RUN_PAD else width + OVERFLOW_GAP)
        i = j


# ---- the guarantee ------------------------------------------------------------------

def _comments(text: str) -> list[str]:
    return [t.text.rstrip() for line in text.split("\n") for t in scan(line) if t.kind == "comment"]


def _check_same(before, text: str, result: str, file: str) -> None:
    try:
        after = parse(result, file)
    except MedError:
        after = None
    if after != before or _comments(result) != _comments(text):
        raise MedError(Diagnostic(Span(file, 1, 1, 1, 1),
                                  "internal: the formatter would change this file's meaning; it is left as it is"))

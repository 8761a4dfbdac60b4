"""Re-parsing a policy after an edit by reusing the unchanged blocks (the language server).

A policy is a tree of blocks drawn by indentation, so its text splits into pieces without
parsing: each top-level item, and inside a long block (a scheme, a benefit block of hundreds
of clauses, a fund) its child blocks, in groups. Each piece is parsed on its own, with the
lines of its enclosing block heads kept where they are and every other line blanked, so the
parser sees the same tokens at the same lines and columns as in the whole file; the trees
are kept by the piece's text. After an edit only the pieces whose text changed are parsed
again; a piece that only moved is reused with its spans moved. The result is the tree
`parser.parse` gives, spans and all (tests/test_reparse.py compares them after series of
edits). Anything unusual — a syntax error, a misaligned indentation, a file near the size or
clause limits — is handed to the whole-file parse, so its errors are the parser's own.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Optional

import attrs

from . import ast, indentation
from .keywords import BY_SPELLING
from .errors import MedSyntaxError
from .parser import MAX_CLAUSES, MAX_SOURCE_BYTES, parse, parse_fragment
from .scanner import scan
from .segment import _DEFINE, HAN_RUN, SEPARATORS, defined_names, standard_words
from .text import source_text

# A block with more code lines than this is split into its child blocks.
SPLIT_LINES = 24
# Child blocks are parsed in groups of at most this many code lines; a group also ends
# after a child whose head line hashes to 0 mod GROUP_HASH, so that an inserted line moves
# the boundaries of one group only (content-defined chunking).
GROUP_LINES = 32
GROUP_HASH = 8
# A line standing after a piece, at the indentation of the line that follows it in the
# file, so that the piece's last block ends where it ends in the whole file.
_TAIL = "zzmedpieceend"


class _Whole(Exception):
    """This text is for the whole-file parser."""


class _Damaged(Exception):
    """A piece does not parse, and says why within its own lines: the file's first error."""

    def __init__(self, error: MedSyntaxError):
        super().__init__(error)
        self.error = error


@attrs.frozen
class _Block:
    head: int       # line index of the block's head
    end: int        # line index of the next line of code after the block (or the end)
    code: int       # lines of code in it
    children: tuple["_Block", ...]


@attrs.frozen
class _Piece:
    nodes: tuple      # the piece's top nodes (or the block head, alone)
    start: int        # the line index it was parsed at
    clauses: int      # what the parser counted (with the heads around it: an upper bound)


def shifted(node, lines: int):
    """`node` with every span moved down by `lines` (an inserted line moves every block
    below it: this runs over thousands of nodes, so it builds them without attrs.evolve)."""
    if lines == 0:
        return node
    return _shift(node, lines)


_PLAIN = frozenset((str, int, bool, type(None), Decimal, frozenset))
_SHIFTERS: dict = {}  # node class -> a function that copies one node with its spans moved


def _shift(node, lines: int):
    cls = type(node)
    if cls is tuple:
        return tuple(n if type(n) in _PLAIN else _shift(n, lines) for n in node)
    if cls is ast.Span:
        return ast.Span(node.file, node.line + lines, node.column, node.end_line + lines, node.end_column)
    shifter = _SHIFTERS.get(cls)
    if shifter is None:
        shifter = _SHIFTERS[cls] = _shifter(cls)
    return shifter(node, lines)


def _shifter(cls):
    """A copier for one node class: its fields read once each, plain values kept, the rest
    moved (frozen: the slots are set directly, as attrs' own __init__ does)."""
    if not attrs.has(cls):
        return lambda node, lines: node
    names = [f.name for f in attrs.fields(cls)]

    def shift(node, lines):
        moved = object.__new__(cls)
        for name in names:
            value = getattr(node, name)
            object.__setattr__(moved, name, value if type(value) in _PLAIN else _shift(value, lines))
        return moved
    return shift


class Reparser:
    """One document's pieces, kept from one version to the next. Not thread-safe: one per
    document, used by one thread at a time."""

    def __init__(self, file: str):
        self.file = file
        self.pieces: dict = {}
        self.previous: dict = {}
        self.reused = self.parsed = 0  # pieces, in the last parse
        self.whole = False  # whether the last parse was handed to the whole-file parser
        self.names_read: tuple = ()  # the lines the names were last read from, and the names
        self.names_found: frozenset = frozenset()

    def parse(self, text: str) -> ast.Module:
        """The tree of `text`, as `parser.parse(text, file)` gives it (and its errors)."""
        self.reused = self.parsed = 0
        damaged = None
        try:
            module = self._parse(text)
        except _Whole:
            module = None
        except _Damaged as e:
            module, damaged = None, e.error
        # Keep the pieces this version used; after a version that did not parse (a line half
        # typed), also those of the last one that did, so the next good version finds them.
        self.previous = self.pieces if module is not None else {**self.previous, **self.pieces}
        self.pieces = {}
        self.whole = module is None and damaged is None
        if damaged is not None:
            raise damaged
        if module is None:
            return parse(text, self.file)
        return module

    def _defined_names(self, text: str, lines: list[str]) -> frozenset:
        """segment.defined_names(text), again only when a line it reads has changed: the
        top-level lines and those under a top-level line that may open a `define`."""
        read, inside = [], False
        for line in lines:
            if line[:1] in indentation.INDENT_CHARS:
                if inside:
                    read.append(line)
                continue
            read.append(line)
            if any(d in line for d in _DEFINE):
                inside = True
            elif line[:1].isalnum() or HAN_RUN.match(line[:1]):
                inside = False  # a top-level line of code ends a define block
        key = tuple(read)
        if key != self.names_read:
            self.names_read, self.names_found = key, frozenset(defined_names(text))
        return self.names_found

    # ---- the pieces --------------------------------------------------------------------

    def _parse(self, text: str) -> ast.Module:
        if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES // 2:
            raise _Whole
        text = source_text(text)
        if not text.endswith("\n"):
            text += "\n"
        self.lines = lines = text.split("\n")
        self.code = code = [i for i in range(len(lines) - 1) if _is_code(lines[i])]
        if not code or indentation.width(lines[code[0]]):
            raise _Whole
        self.width = {i: indentation.width(lines[i]) for i in code}
        self.params = _declared_parameters(lines, code)
        # Chinese runs in a piece are read against the whole file's names (segment.py).
        self.names = self._defined_names(text, lines)
        self.words = standard_words().with_names(self.names)
        # Only Chinese names change how a run is read (segment.py): a piece is read alike
        # whatever names the file defines that it does not contain.
        self.han_names = tuple(n for n in self.names if HAN_RUN.fullmatch(n))
        if any(lines[i].lstrip(indentation.INDENT_CHARS)[0] in SEPARATORS for i in code):
            raise _Whole  # a line opening with Chinese punctuation: where it starts is the parser's to say
        self.counted = 0
        self.damaged: Optional[MedSyntaxError] = None
        top = self._blocks(0, len(code), 0, len(lines) - 1)
        items = self._siblings(top, ())
        if self.counted > MAX_CLAUSES:
            raise _Whole
        if self.damaged is not None:
            raise _Damaged(self.damaged)
        first = lines[0]
        column = len(indentation.leading(first)) + 1 if _is_code(first) else len(first) + 1
        return ast.Module(self.file, tuple(items), span=ast.Span(self.file, 1, column, len(lines), 1))

    def _blocks(self, k0: int, k1: int, width: int, end: int) -> list[_Block]:
        """The blocks whose heads are the code lines code[k0:k1] at indentation `width`;
        `end`: the line index after the last of them."""
        code, widths = self.code, self.width
        heads = [k for k in range(k0, k1) if widths[code[k]] == width]
        if not heads or heads[0] != k0 or any(widths[code[k]] < width for k in range(k0, k1)):
            raise _Whole  # misaligned: the parser says where
        out = []
        for n, k in enumerate(heads):
            stop = heads[n + 1] if n + 1 < len(heads) else k1
            block_end = code[stop] if stop < len(code) and stop < k1 else end
            children: tuple = ()
            if stop - k > SPLIT_LINES and self._splittable(code[k]):
                inner = widths[code[k + 1]]
                children = tuple(self._blocks(k + 1, stop, inner, block_end))
            out.append(_Block(code[k], block_end, stop - k, children))
        return out

    def _splittable(self, line: int) -> bool:
        """A scheme, or any block inside one (a fund, a benefit block); not a `define`."""
        if self.width[line] > 0:
            return True
        tokens = scan(self.lines[line])
        kw = BY_SPELLING.get(tokens[0].text) if tokens and tokens[0].kind == "word" else None
        return kw is not None and kw.terminal == "SCHEME"

    def _siblings(self, blocks: list[_Block], heads: tuple[int, ...]) -> list:
        out, group = [], []
        for b in blocks:
            if b.children:
                out += self._group(group, heads)
                group = []
                out.append(self._block(b, heads))
                continue
            group.append(b)
            if sum(g.code for g in group) >= GROUP_LINES or zlib.crc32(self.lines[b.head].encode()) % GROUP_HASH == 0:
                out += self._group(group, heads)
                group = []
        return out + list(self._group(group, heads))

    def _block(self, b: _Block, heads: tuple[int, ...]):
        """A long block: its head parsed alone, its children piece by piece."""
        child_width = self.width[b.children[0].head]
        head = self._piece(heads, b.head, b.head + 1, " " * child_width, alone=True)[0]
        children = tuple(self._siblings(list(b.children), heads + (b.head,)))
        if isinstance(head, ast.Scheme):
            return attrs.evolve(head, items=children, span=self._until(head.span, b.end))
        if isinstance(head, ast.FundBlock):
            return attrs.evolve(head, children=children, span=self._until(head.span, b.end))
        return attrs.evolve(head, children=children)

    def _group(self, group: list[_Block], heads: tuple[int, ...]) -> tuple:
        if not group:
            return ()
        end = group[-1].end
        tail = indentation.leading(self.lines[end]) if end < len(self.lines) - 1 and self.width[end] else None
        return self._piece(heads, group[0].head, end, tail)

    def _piece(self, heads: tuple[int, ...], start: int, end: int, tail: Optional[str], alone: bool = False) -> tuple:
        """The nodes of lines[start:end] under the block heads `heads` (cached by text);
        `tail`: the indentation of the line after them, when it is indented. `alone`: the
        head at `start` with one made-up child at indentation `tail` (its own children are
        pieces of their own)."""
        lines = self.lines
        body = "\n".join(lines[start:end])
        around = tuple(lines[h] for h in heads)
        seen = body + "\n".join(around)
        # the names and parameters that may change how this piece parses: those it contains
        key = (around, body, tail, alone, frozenset(p for p in self.params if p in seen),
               frozenset(n for n in self.han_names if n in seen))
        piece = self.previous.get(key) or self.pieces.get(key)
        if piece is None:
            piece = self._parse_piece(heads, start, end, tail, alone)
            self.parsed += 1
            if piece is None:
                return ()
        else:
            self.reused += 1
            if piece.start != start:  # moved: keep it where it now is
                piece = _Piece(shifted(piece.nodes, start - piece.start), start, piece.clauses)
        self.pieces[key] = piece
        self.counted += piece.clauses
        return piece.nodes

    def _parse_piece(self, heads, start: int, end: int, tail: Optional[str], alone: bool) -> Optional[_Piece]:
        lines = self.lines
        parts, at = [], 0
        for h in heads:
            parts += ["\n" * (h - at), lines[h]]
            at = h
        parts += ["\n" * (start - at), "\n".join(lines[start:end]), "\n"]
        if tail is not None:
            parts.append(f"{tail}{_TAIL}\n")
        try:
            module, clauses = parse_fragment("".join(parts), self.file, self.params, self.words)
        except MedSyntaxError as e:
            # An error on the piece's own lines is the one the whole file gives (the pieces
            # before it parse, the heads around it are in place): only this piece is parsed.
            if self.damaged is None and not alone and \
                    all(start < d.span.line <= end and d.span.end_line <= end for d in e.diagnostics):
                self.damaged = e  # the rest of the file is parsed on: a second damaged piece is the parser's
                return None
            raise _Whole from None
        except Exception:  # noqa: BLE001 — any other trouble: the whole-file parser says what it is
            raise _Whole from None
        nodes = module.items
        for h in heads:
            parent = next(n for n in nodes if n.span.line == h + 1)
            nodes = parent.items if isinstance(parent, ast.Scheme) else parent.children
        first, last = start + 1, end  # 1-based lines of the piece
        if alone:
            last = start + 1
        mine = tuple(n for n in nodes if first <= n.span.line <= last)
        others = [n for n in nodes if not first <= n.span.line <= last]
        if not mine or alone and len(mine) != 1 or any(n.span.line != end + 1 for n in others):
            raise _Whole  # not the shape the whole file has
        return _Piece(mine, start, clauses)

    def _until(self, span: ast.Span, end: int) -> ast.Span:
        """A block's span runs to the first character of the line of code after it (or
        to the end of the file), as the parser's does."""
        if end < len(self.lines) - 1:
            line, column = end + 1, len(indentation.leading(self.lines[end])) + 1
        else:
            line, column = len(self.lines), 1
        return attrs.evolve(span, end_line=line, end_column=column)


def _is_code(line: str) -> bool:
    stripped = line.lstrip(indentation.INDENT_CHARS)
    return bool(stripped) and not stripped.startswith("#")


def _declared_parameters(lines: list[str], code: list[int]) -> frozenset:
    names = set()
    for i in code:
        if lines[i][:1] in indentation.INDENT_CHARS:
            continue
        tokens = scan(lines[i])
        kw = BY_SPELLING.get(tokens[0].text) if tokens else None
        if kw is not None and kw.terminal == "PARAMETER" and len(tokens) > 1:
            names.add(tokens[1].text)
    return frozenset(names)

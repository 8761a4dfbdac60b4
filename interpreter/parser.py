"""Text -> parse tree -> AST. The only module that knows lark.

`parse(text, file)` returns an `ast.Module` or raises `MedSyntaxError` whose message says,
in the author's words, what was expected at the line and column where the text went wrong.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib.util
import os
import sys
import threading
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator, Optional

import lark
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lark import PostLex

from . import ast, files, indentation
from .errors import Diagnostic, MedSyntaxError
from .spanned import spans_from_meta
from .text import source_text
from .keywords import BY_SPELLING, KEYWORDS, terminal_definitions
from .members.transform import MemberTransforms
from .scanner import scan
from .segment import Words, standard_words, words_for
from .suggest import did_you_mean

MAX_SOURCE_BYTES = 2_000_000
MAX_DEPTH = 32
# No regulation prints an amount, count or percentage this large; bigger numbers would only
# overflow the exact arithmetic of settlement (and int() refuses very long digit strings).
MAX_NUMBER = Decimal(10) ** 12
# A city's regulation is about a hundred clauses; the compiler's checks compare clauses in
# pairs, so this bounds the time any text can take to check.
MAX_CLAUSES = 2000


class _PostLexer(PostLex):
    """Turns keyword spellings into keyword tokens and indentation into _INDENT/_DEDENT.

    All state lives in the generator of one `process` call, so the one cached parser serves
    any number of threads (lark's own Indenter keeps its stack on the shared instance)."""

    always_accept = ("_NL", "NAME", "HAN")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        blocks = indentation.Blocks()
        token = None
        for token in _join_newlines(_split_han(stream, _WORDS.get())):
            kind = token.type
            if kind == "NAME":
                kw = BY_SPELLING.get(token.value)
                if kw is not None:
                    if kw.terminal == "IS":  # 为: the regulation's "is", which says nothing to the grammar
                        continue
                    token = Token.new_borrow_pos(kw.terminal, token.value, token)
                yield token
            elif kind == "_NL":
                yield token
                yield from self._indentation(token, blocks)
            else:
                yield token
        for _ in range(blocks.depth):
            yield Token.new_borrow_pos("_DEDENT", "", token) if token else Token("_DEDENT", "")

    @staticmethod
    def _indentation(token: Token, blocks: indentation.Blocks) -> Iterator[Token]:
        # The newline token swallows blank lines and those holding only a comment; its text
        # ends with the indentation of the next line of code.
        indent_str = indentation.leading(token.value.rsplit("\n", 1)[1])
        try:
            change = blocks.enter(indentation.width(indent_str))
        except indentation.Misaligned:
            raise _BadDedent(token, len(indent_str)) from None
        if change > 0:
            if blocks.depth > MAX_DEPTH:
                raise _TooDeep(token)
            yield Token.new_borrow_pos("_INDENT", indent_str, token)
        for _ in range(-change):
            yield Token.new_borrow_pos("_DEDENT", indent_str, token)


# The words the file being parsed is read against (segment.words_for): set by `parse` for the
# one call, so the cached parser, shared by threads, keeps no state of its own.
_WORDS: contextvars.ContextVar[Optional[Words]] = contextvars.ContextVar("medpolicy_words", default=None)


def _split_han(stream: Iterator[Token], words: Optional[Words]) -> Iterator[Token]:
    """Each HAN token (a run of Han characters) becomes the NAME tokens of its words, each
    with its exact position; a keyword's NAME becomes its keyword's token after this. A run
    that cannot be read through is one NAME where it stands alone (the compiler then names
    it an unknown name), and an error where it touches other text."""
    words = words or standard_words()
    previous = None
    pending = None  # a HAN run that cannot be read, waiting to see what follows it
    for token in stream:
        if pending is not None:
            if token.start_pos == pending.end_pos and token.type != "_NL":
                raise _Unreadable(pending, words)
            yield pending
            pending = None
        if token.type != "HAN":
            previous = token
            yield token
            continue
        pieces = words.split(token.value)
        if pieces is None:
            if previous is not None and previous.end_pos == token.start_pos and previous.type != "_NL":
                raise _Unreadable(token, words)
            pending = previous = Token.new_borrow_pos("NAME", token.value, token)
            continue
        for offset, word in pieces:
            previous = _piece(token, offset, word)
            yield previous
    if pending is not None:
        yield pending


def _piece(run: Token, offset: int, word: str) -> Token:
    # A Han run never spans lines: the piece's position is the run's, moved along the line.
    start = run.start_pos + offset
    column = run.column + offset
    return Token("NAME", word, start, run.line, column, run.line, column + len(word), start + len(word))


class _Unreadable(Exception):
    """A run of Han characters, touching other text, in which no known word starts at some point."""

    def __init__(self, token: Token, words: Words):
        self.token, self.words = token, words


def _join_newlines(stream: Iterator[Token]) -> Iterator[Token]:
    """Newlines separated only by ignored comments become one _NL, from the first newline to
    the end of the last: its text ends with the indentation of the next line of code."""
    first = last = None
    for token in stream:
        if token.type == "_NL":
            first, last = first or token, token
            continue
        if first is not None:
            yield _spanning(first, last)
            first = last = None
        yield token
    if first is not None:
        yield _spanning(first, last)


def _spanning(first: Token, last: Token) -> Token:
    if first is last:
        return first
    return Token("_NL", last.value, first.start_pos, first.line, first.column,
                 last.end_line, last.end_column, last.end_pos)


class _BadDedent(Exception):
    """At the first character after the indentation of the line that matches no block."""

    def __init__(self, token: Token, indent_chars: int):
        self.line, self.column = token.end_line, indent_chars + 1


class _TooDeep(Exception):
    def __init__(self, token: Token):
        self.token = token


def grammar_text() -> str:
    """The grammar as lark reads it: grammar/med.lark plus the generated keyword terminals."""
    base = resources.files("medpolicy.grammar").joinpath("med.lark").read_text(encoding="utf-8")
    return base + "\n// ---- keywords (generated from interpreter/keywords.py)\n" + terminal_definitions()


def _interegular_installed() -> bool:
    return importlib.util.find_spec("interegular") is not None


# How the parser is built; part of the cache key, so changing an option rebuilds it.
# Strict mode has lark check every pair of terminals for collisions with interegular: the
# test extra installs it, so a grammar edit that makes two terminals collide fails the suite.
# A user's install goes without: the check costs ~30 s of CPU on the first run (0.3 s without).
_LARK_OPTIONS = dict(parser="lalr", lexer="contextual", propagate_positions=True,
                     maybe_placeholders=False, strict=_interegular_installed())


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The one parser of the process (parsing never mutates it, so threads share it). Building
    the LALR tables takes ~0.3 s (~30 s with strict mode's collision check), so the built parser is kept in the user's cache directory
    under a name that hashes everything it depends on (see `parser_cache_file`)."""
    return load_parser(grammar_text())


def load_parser(text: str) -> Lark:
    """The parser of grammar `text`: from the cache when it holds this grammar's parser, else
    built (and cached)."""
    path = parser_cache_file(text)
    if path is None:
        return Lark(text, postlex=_PostLexer(), **_LARK_OPTIONS)
    if path.is_file():
        # lark checks the hash of grammar and options written in the file and rebuilds on a mismatch.
        return Lark(text, postlex=_PostLexer(), cache=str(path), **_LARK_OPTIONS)
    return _build_into_cache(text, path)


def parser_cache_file(text: str) -> Optional[Path]:
    """Where the parser built from grammar `text` is cached: `$MEDPOLICY_CACHE` (empty turns
    the cache off), else `$XDG_CACHE_HOME/medpolicy` or `~/.cache/medpolicy`. The name is a
    hash of the grammar text, the build options and the lark and Python versions, so any
    change to any of them uses a new file; the package directory is never written to."""
    root = files.cache_root()
    if root is None:
        return None
    key = "\0".join([text, repr(sorted(_LARK_OPTIONS.items())), lark.__version__, sys.version])
    return Path(root) / f"parser-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:40]}.lark"


def _build_into_cache(text: str, path: Path) -> Lark:
    """Build the parser, letting lark write its cache to a file private to this process and
    thread, then rename it into place: processes starting together never read half a file.
    Where the cache cannot be written (a read-only home), the parser is only built."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return Lark(text, postlex=_PostLexer(), **_LARK_OPTIONS)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    parser = Lark(text, postlex=_PostLexer(), cache=str(tmp), **_LARK_OPTIONS)
    try:
        os.replace(tmp, path)
    except OSError:  # lark could not write the file (it says nothing): the parser is built all the same
        with contextlib.suppress(OSError):
            tmp.unlink()
    return parser


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse .med source into an AST; raises MedSyntaxError."""
    return _parse(text, file, None)[0]


def parse_fragment(text: str, file: str, parameters: frozenset, words: Optional[Words] = None) -> tuple[ast.Module, int]:
    """`parse` of a piece of a file, the rest blanked out (the language server's incremental
    re-parse, reparse.py): a name in a table is read against `parameters`, the whole file's
    declared parameters, and Chinese runs against `words`, the whole file's (segment.words_for).
    Returns the tree and how many clauses it counts against MAX_CLAUSES (whose sum over the
    pieces is the caller's to check)."""
    return _parse(text, file, parameters, words)


def _parse(text: str, file: str, parameters: Optional[frozenset],
           words: Optional[Words] = None) -> tuple[ast.Module, int]:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        raise MedSyntaxError(Diagnostic(ast.Span(file, 1, 1, 1, 1), f"the file is larger than {MAX_SOURCE_BYTES} bytes"))
    text = source_text(text)
    if not text.endswith("\n"):
        text += "\n"
    reset = _WORDS.set(words or words_for(text))
    try:
        tree = _parser().parse(text)
    except _Unreadable as e:
        raise MedSyntaxError(_unreadable(e, file)) from None
    except UnexpectedInput as e:
        raise MedSyntaxError(_describe(e, text, file)) from None
    except _TooDeep as e:
        raise MedSyntaxError(Diagnostic(_tok_span(e.token, file, next_line=True), f"blocks are nested more than {MAX_DEPTH} deep")) from None
    except _BadDedent as e:
        line, col = e.line, e.column
        raise MedSyntaxError(Diagnostic(ast.Span(file, line, col, line, col + 1),
                                        "this line's indentation matches no enclosing block")) from None
    except RecursionError:
        raise MedSyntaxError(Diagnostic(ast.Span(file, 1, 1, 1, 1), "the file is nested too deeply to read")) from None
    finally:
        _WORDS.reset(reset)
    try:
        _check_numbers(tree, file)
        params = _declared_parameters(tree) if parameters is None else parameters
        clauses = _check_clauses(tree, file, params)
        return _ToAst(file, params, text).transform(tree), clauses
    except VisitError as e:
        if isinstance(e.orig_exc, MedSyntaxError):
            raise e.orig_exc from None
        raise


def _declared_parameters(tree) -> frozenset:
    return frozenset(str(next(t for t in d.children if isinstance(t, Token) and t.type == "NAME"))
                     for d in tree.find_data("parameter_decl"))


def _check_clauses(tree, file: str, params: frozenset) -> int:
    # Each entry of a table (`rate age >= 1 1% age >= 2 2% ...`) becomes a clause of its own:
    # the compiler's work grows with entries, not lines, so entries count against the limit.
    n = 0
    clauses = (c for t in tree.iter_subtrees_topdown() if t.data in ("line", "table")
               for c in ((t,) if t.data == "line" else _table_entries(t, params)))
    for n, clause in enumerate(clauses, 1):
        if n > MAX_CLAUSES:
            tok = next(clause.scan_values(lambda v: isinstance(v, Token)), None)
            span = _tok_span(tok, file) if tok is not None else ast.Span(file, 1, 1, 1, 1)
            raise MedSyntaxError(Diagnostic(span, f"more than {MAX_CLAUSES} clauses in one file "
                                                  f"(each entry of a table counts as one)"))
    return n


_TABLE_VALUES = frozenset(("table_percent", "literal", "times_param", "percent_of_param"))


def _table_entries(table, params: frozenset):
    """The first part of each entry of a flat table (the parts up to and including a value);
    a lone value (`rate 80%`) is no table."""
    if len(table.children) < 2:
        return
    start = None
    for part in table.children:
        if start is None:
            start = part
        is_param = part.data == "name_selector" and str(part.children[0]) in params
        if part.data in _TABLE_VALUES or is_param:
            yield start
            start = None


def _check_numbers(tree, file: str) -> None:
    for tok in tree.scan_values(lambda v: isinstance(v, Token) and v.type in ("INT", "DECIMAL", "WAN", "YUAN", "PERCENT")):
        text = str(tok)
        whole = text.rstrip("%万元").split(".")[0].lstrip("0")
        # Length first: a string of a million digits is refused before it is ever converted.
        if len(whole) > 13 or _dec(Token("X", text.rstrip("%"))) >= MAX_NUMBER:
            shown = text if len(text) <= 20 else text[:20] + "…"
            raise MedSyntaxError(Diagnostic(_tok_span(tok, file), f"the number {shown} is too large "
                                                                  f"(numbers stay below {MAX_NUMBER:,})"))


# ---- error messages in the author's words ----------------------------------------

_TOKEN_WORDS = {
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the block",
    "NAME": "a name",
    "STRING": 'a quoted text ("...")',
    "DATE": "a date (YYYY-MM-DD)",
    "PERCENT": "a percentage (e.g. 85%)",
    "INT": "a whole number",
    "DECIMAL": "a number",
    "WAN": "an amount in 万",
    "SIGN": "+ or -",
    "COMPARE": "a comparison (>=, <, ...)",
    "COMMA": '","',
    "$END": "the end of the file",
}
_FOUND_WORDS = {**_TOKEN_WORDS, "YUAN": "an amount in 元", "HAN": "Chinese words"}
_KEYWORD_WORDS = {k.terminal: f"`{k.english[0]}`" for k in KEYWORDS}


def _expected_words(names: set[str]) -> str:
    words = []
    for n in sorted(names):
        if n in _KEYWORD_WORDS:
            words.append(_KEYWORD_WORDS[n])
        elif n in _TOKEN_WORDS:
            words.append(_TOKEN_WORDS[n])
        elif n == "MULTIPLICATION" or n.startswith("__ANON"):
            continue
        # HAN is read as names and keywords; YUAN goes wherever a number does: neither adds a word.
    words = sorted(set(words), key=lambda w: (not w.startswith("`"), w))
    if not words:
        return ""
    if len(words) > 12:
        words = words[:12] + ["..."]
    return ", ".join(words)


def _describe(e: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line, col = getattr(e, "line", 1) or 1, getattr(e, "column", 1) or 1
    if isinstance(e, UnexpectedCharacters):
        ch = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        if ch in "“”「」":
            msg = f"quotes must be straight (\"), not {ch!r}"
        elif "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef":
            # ，、；：。（） separate words; other full-width punctuation has no meaning in a clause.
            msg = f"unexpected full-width {ch!r}: use it only inside quotes or comments"
        elif ch in "./\\~:" and _is_use_line(text, line):
            # A policy may bring in only named modules, never read a file from elsewhere.
            return Diagnostic(ast.Span(file, line, col, line, col + 1),
                              "`use` names a module (a .med file beside the policy, or the standard library), not a path",
                              hint="write `use NAME` for NAME.med beside the policy")
        else:
            msg = f"unexpected character {ch!r}"
        expected = _expected_words(set(e.allowed or ()))
        return Diagnostic(ast.Span(file, line, col, line, col + 1), msg, hint=f"expected {expected}" if expected else None)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            lines = text.splitlines() or [""]
            line, col = len(lines), len(lines[-1]) + 1
            return Diagnostic(ast.Span(file, line, col, line, col + 1), "the file ends in the middle of a clause")
        misspelt = _misspelt_keyword(text, tok, set(e.expected), file)
        if misspelt is not None:
            return misspelt
        expected = _expected_words(set(e.expected))
        found = _found(tok)
        span = _tok_span(tok, file, next_line=tok.type in ("_NL", "_INDENT", "_DEDENT"))
        msg = f"unexpected {found}"
        hint = None
        if tok.type in ("INT", "DECIMAL") and "PERCENT" in e.expected and "INT" not in e.expected:
            hint = f"a rate is a percentage: write {tok.value}%"
        if tok.type == "_INDENT":
            msg = "unexpected indentation: only a line that opens a block may be followed by indented lines"
            expected = ""
        return Diagnostic(span, msg + (f"; expected {expected}" if expected else ""), hint=hint)
    return Diagnostic(ast.Span(file, line, col, line, col + 1), str(e).splitlines()[0])


def _unreadable(e: _Unreadable, file: str) -> Diagnostic:
    """A Han run touching other text that no known words make up: at the first point no
    word starts, with the nearest known words."""
    tok, words = e.token, e.words
    offset, stretch = words.unknown_part(tok.value)
    col = tok.column + offset
    guesses = _guesses(stretch, words)
    hint = ("did you mean " + " or ".join(f"`{g}`" for g in guesses) + "? " if guesses else "") + \
        "Chinese runs are read as the longest known words; a word the file does not define must stand between spaces"
    shown = f"`{stretch}`" + (f" in `{tok.value}`" if stretch != tok.value else "")
    return Diagnostic(ast.Span(file, tok.line, col, tok.line, col + len(stretch)),
                      f"cannot read {shown}: it is no keyword or name", hint=hint)


def _guesses(stretch: str, words: Words, most: int = 3) -> list[str]:
    """Known words near the unread stretch, or near its beginning (`提咼5` -> `提高`)."""
    out: list[str] = []
    for end in range(len(stretch), min(len(stretch), 2) - 1, -1):  # one character alone guesses nothing
        guess = did_you_mean(stretch[:end], words.known)
        if guess is not None and guess not in out:
            out.append(guess)
        if len(out) >= most:
            break
    return out


def _misspelt_keyword(text: str, tok: Token, expected: set[str], file: str) -> Optional[Diagnostic]:
    """A word the parser took for a name, right before the token it stumbled on, that is one
    typo away from a keyword it expected (`deductable 900`, `起付限 900`): reported at that
    word, with the keyword, rather than at the token after it."""
    if not tok.line or not tok.column:
        return None
    lines = text.split("\n")
    line = lines[tok.line - 1] if tok.line <= len(lines) else ""
    # The word is the token itself (`rat 85%`), or the word read as a name just before it.
    words = [t for t in scan(line[:tok.end_column - 1 if tok.type == "NAME" else tok.column - 1]) if t.kind != "comment"]
    if not words or words[-1].kind != "word" or words[-1].text in BY_SPELLING:
        return None
    word = words[-1]
    spellings = [s for k in KEYWORDS if k.terminal in expected for s in k.spellings]
    guess = did_you_mean(word.text, spellings)
    if guess is None:
        return None
    return Diagnostic(ast.Span(file, tok.line, word.column + 1, tok.line, word.end + 1),
                      f"unknown word `{word.text}`", hint=f"did you mean `{guess}`?")


def _is_use_line(text: str, line: int) -> bool:
    lines = text.split("\n")
    words = lines[line - 1].split() if 0 < line <= len(lines) else []
    return bool(words) and BY_SPELLING.get(words[0]) is not None and BY_SPELLING[words[0]].terminal == "USE"


def _found(tok: Token) -> str:
    if tok.type == "_NL":
        return "end of line"
    if tok.type in ("_INDENT", "_DEDENT"):
        return "indentation"
    if tok.type in _KEYWORD_WORDS:
        return f"keyword `{tok.value}`"
    if tok.type in ("SIGN", "COMPARE"):
        return f"`{tok.value}`"
    what = _FOUND_WORDS.get(tok.type, tok.type.lower())
    for article in ("a ", "an "):
        if what.startswith(article):
            what = what[len(article):]
    return f"{what} `{tok.value}`"


def _tok_span(tok: Token, file: str, next_line: bool = False) -> ast.Span:
    if next_line and tok.type in ("_INDENT", "_DEDENT"):
        # Point at the start of the indented line itself.
        line, col = tok.end_line or tok.line or 1, 1
        return ast.Span(file, line, col, line, (tok.end_column or 1))
    if next_line and tok.type == "_NL":
        # Point at the end of the line the newline ends, not the next one.
        line, col = tok.line or 1, tok.column or 1
        return ast.Span(file, line, col, line, col + 1)
    end_line = tok.end_line or tok.line or 1
    end_col = tok.end_column or ((tok.column or 1) + len(str(tok)))
    return ast.Span(file, tok.line or 1, tok.column or 1, end_line, end_col)


# ---- parse tree -> AST --------------------------------------------------------

def _dec(tok: Token) -> Decimal:
    s = str(tok).removesuffix("元")
    if s.endswith("万"):
        return Decimal(s[:-1]) * 10000  # exact: Decimal multiplies without rounding here
    return Decimal(s)


def _pct(tok: Token) -> Decimal:
    return Decimal(str(tok)[:-1]) / 100


def _unquote(tok: Token) -> str:
    return str(tok)[1:-1]


def _sign(tok: Token) -> int:
    return -1 if str(tok) == "-" or tok.type == "MINUS" else 1


def _toks(children, *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


def _nodes(children, *classes) -> list:
    return [c for c in children if isinstance(c, classes)]


@v_args(meta=True)
@spans_from_meta
class _ToAst(MemberTransforms, Transformer):
    """Thin: one constructor per rule; meaning lives in the compiler."""

    def __init__(self, file: str, params: frozenset = frozenset(), text: str = ""):
        super().__init__()
        self.file = file
        self.lines = text.split("\n")
        self.params = params  # the names the file declares as parameters

    def _span(self, meta) -> ast.Span:
        if getattr(meta, "empty", True):
            return ast.Span(self.file, 1, 1, 1, 1)
        return ast.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _text(self, span: ast.Span) -> str:
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        return line[span.column - 1:span.end_column - 1 if span.end_line == span.line else None]

    def _misspelt_after_value(self, part) -> None:
        """`deductible 900 rat 85%`: a word after a value one typo away from a setting keyword."""
        if not isinstance(part, ast.NameSelector):
            return
        sp = part.span
        tok = Token("NAME", part.name, line=sp.line, column=sp.column, end_line=sp.end_line, end_column=sp.end_column)
        found = _misspelt_keyword("\n".join(self.lines), tok, _AFTER_VALUE_TERMINALS, self.file)
        if found is not None:
            raise MedSyntaxError(found)

    def _what(self, part) -> str:
        text = self._text(part.span)
        kind = ("percentage" if isinstance(part, ast.Percent) else
                "whole number" if isinstance(part, ast.Number) and text.isdigit() else
                "number" if isinstance(part, ast.Number) else "name")
        return f"{kind} `{text}`"

    def _tspan(self, tok: Token) -> ast.Span:
        return _tok_span(tok, self.file)

    # -- top level
    def start(self, meta, children):
        return ast.Module(self.file, tuple(children))

    def policy_decl(self, meta, ch):
        fields = {}
        for c in ch:
            if isinstance(c, tuple):
                fields.update(c[1])
        cite = next((c for c in ch if isinstance(c, _Cite)), None)
        return ast.PolicyHeader(_unquote(_toks(ch, "STRING")[0]), cite=cite.text if cite else None, **fields)

    def region(self, meta, ch):
        return ("region", {"region": str(_toks(ch, "NAME")[0])})

    def effective(self, meta, ch):
        dates = [str(t) for t in _toks(ch, "DATE")]
        return ("effective", {"effective_from": dates[0], "effective_to": dates[1] if len(dates) > 1 else None})

    def use_decl(self, meta, ch):
        return ast.Use(str(_toks(ch, "NAME")[0]))

    def parameter_decl(self, meta, ch):
        s = _toks(ch, "STRING")
        default, source, written = next((c for c in ch if isinstance(c, tuple)), (None, None, None))
        return ast.Parameter(str(_toks(ch, "NAME")[0]), _unquote(s[0]) if s else None, default, source, written)

    def param_default(self, meta, ch):
        value = ch[1]
        return (_pct(value) if value.type == "PERCENT" else _dec(value)), _unquote(_toks(ch, "STRING")[0]), str(value)

    def out_of_scope_decl(self, meta, ch):
        strings = [_unquote(t) for t in _toks(ch, "STRING")]
        return ast.OutOfScope(tuple(strings[:-1]), strings[-1])

    def define_block(self, meta, ch):
        s = _toks(ch, "STRING")
        return ast.Define(ch[1], _unquote(s[0]) if s else None, tuple(_nodes(ch, ast.DefineEntry)))

    def define_kind(self, meta, ch):
        return str(ch[0])

    def define_entry(self, meta, ch):
        names = [str(t) for t in _toks(ch, "NAME")]
        s = _toks(ch, "STRING")
        condition = next((c.selectors for c in ch if isinstance(c, _Condition)), ())
        return ast.DefineEntry(names[0], tuple(names[1:]), _unquote(s[0]) if s else None, condition=condition)

    def cohort_condition(self, meta, ch):
        return _Condition(tuple(_nodes(ch, *ast.SELECTOR_NODES)))

    def scheme_block(self, meta, ch):
        cite = next((c for c in ch if isinstance(c, _Cite)), None)
        return ast.Scheme(str(_toks(ch, "NAME")[0]), tuple(_nodes(ch, ast.FundBlock, ast.Line)),
                          cite.text if cite else None)

    def fund_block(self, meta, ch):
        ch = _flatten(ch)
        cite = next((c for c in ch if isinstance(c, _Cite)), None)
        base = next(iter(_nodes(ch, ast.FundBase)), None)
        return ast.FundBlock(str(_toks(ch, "NAME")[0]), base, tuple(_nodes(ch, *_SETTINGS)),
                             cite.text if cite else None, tuple(_nodes(ch, ast.Line)))

    def burden_base(self, meta, ch):
        excluding = next((c.names for c in ch if isinstance(c, _Excluding)), ())
        return ast.FundBase("burden", including_prepay="prepay" in ch, including_first_share="first-share" in ch,
                            excluding_above_cap=excluding, benefits=_benefits(ch))

    def excluding(self, meta, ch):
        return _Excluding(tuple(str(t) for t in _toks(ch, "NAME")))

    def above_cap_base(self, meta, ch):
        return ast.FundBase("above-cap", benefits=_benefits(ch))

    def remaining_base(self, meta, ch):
        return ast.FundBase("remaining", above_deductible=bool(_toks(ch, "DEDUCTIBLE")),
                            including_prepay="prepay" in ch, including_first_share="first-share" in ch,
                            benefits=_benefits(ch))

    def including(self, meta, ch):
        return "prepay" if _toks(ch, "PREPAY") else "first-share"

    def benefits_for(self, meta, ch):
        return _For(tuple(str(t) for t in _toks(ch, "NAME")))

    def line(self, meta, ch):
        ch = _flatten(ch)
        cite = next((c for c in ch if isinstance(c, _Cite)), None)
        return ast.Line(
            selectors=tuple(_nodes(ch, *ast.SELECTOR_NODES)),
            settings=tuple(_nodes(ch, *_SETTINGS)),
            cite=cite.text if cite else None,
            exception=bool(_toks(ch, "EXCEPTION")),
            children=tuple(_nodes(ch, ast.Line)),
            span=self._line_span(meta, ch),
        )

    def _line_span(self, meta, ch) -> ast.Span:
        # A clause's span is its own line, not the block it heads.
        toks = [c for c in ch if isinstance(c, Token) and c.type not in ("_NL",)]
        inner = [getattr(c, "span", None) for c in ch if not isinstance(c, (Token, ast.Line))]
        inner = [s for s in inner if s is not None]
        if not inner and not toks:
            return self._span(meta)
        starts = [(s.line, s.column) for s in inner] + [(t.line, t.column) for t in toks]
        ends = [(s.end_line, s.end_column) for s in inner] + [(t.end_line, t.end_column) for t in toks]
        (l0, c0), (l1, c1) = min(starts), max(ends)
        return ast.Span(self.file, l0, c0, l1, c1)

    # -- selectors
    def name_selector(self, meta, ch):
        return ast.NameSelector(str(ch[0]))

    def not_selector(self, meta, ch):
        return ast.NameSelector(str(_toks(ch, "NAME")[0]), negated=True)

    def measure_selector(self, meta, ch):
        name, op = _toks(ch, "NAME")[0], _toks(ch, "COMPARE")[0]
        op = {"≥": ">=", "≤": "<="}.get(str(op), str(op))
        return ast.MeasureSelector(str(name), op, _num(ch[-1]))

    def date_fact_selector(self, meta, ch):
        name, op = _toks(ch, "NAME")[0], _toks(ch, "COMPARE")[0]
        op = {"≥": ">=", "≤": "<="}.get(str(op), str(op))
        return ast.FactDateSelector(str(name), op, str(_toks(ch, "DATE")[0]))

    def all_selector(self, meta, ch):
        return ast.AllSelector(tuple(str(t) for t in _toks(ch, "NAME")))

    def from_selector(self, meta, ch):
        return ast.DateSelector("from", str(_toks(ch, "DATE")[0]))

    def until_selector(self, meta, ch):
        return ast.DateSelector("until", str(_toks(ch, "DATE")[0]))

    # -- values
    def literal(self, meta, ch):
        return ast.Number(_num(ch[0]))

    def times_param(self, meta, ch):
        return ast.ParamRef(str(_toks(ch, "NAME")[0]), _num(ch[0]))

    def percent_of_param(self, meta, ch):
        return ast.ParamRef(str(_toks(ch, "NAME")[0]), _pct(_toks(ch, "PERCENT")[0]))

    def param_ref(self, meta, ch):
        return ast.ParamRef(str(ch[0]))

    def table_percent(self, meta, ch):
        return ast.Percent(_pct(ch[0]), span=self._tspan(ch[0]))

    def table(self, meta, ch):
        """One value, or entries `selector+ value`: a name is a value where the policy declares
        it a parameter (`level1 r1 level2 r2`), else a selector."""
        parts = [ast.ParamRef(p.name, span=p.span) if isinstance(p, ast.NameSelector) and not p.negated
                 and p.name in self.params else p for p in ch]
        if len(parts) == 1 and isinstance(parts[0], ast.NameSelector) and not parts[0].negated:
            # A lone name is a value: the compiler names an undeclared parameter with a hint.
            return ast.ParamRef(parts[0].name, span=parts[0].span)
        if len(parts) == 1 and not isinstance(parts[0], _SELECTORS):
            return parts[0]
        if not isinstance(parts[0], _SELECTORS):  # a value, then more: the second part is wrong
            self._misspelt_after_value(parts[1])
            raise MedSyntaxError(Diagnostic(parts[1].span, f"unexpected {self._what(parts[1])}; expected {_AFTER_VALUE}",
                                            hint="a setting takes one value, or values each after its selectors "
                                                 "(`employed 85% retired 87%`)"))
        entries, selectors = [], []
        for p in parts:
            if isinstance(p, _SELECTORS):
                selectors.append(p)
                continue
            if not selectors:
                raise MedSyntaxError(Diagnostic(p.span, "a value in a table follows the selectors it is for",
                                                hint="write `employed 85% retired 87%`, or one value alone"))
            entries.append(ast.Entry(tuple(selectors), p, span=_join(selectors[0].span, p.span)))
            selectors = []
        if selectors:
            last = selectors[-1]
            hint = (f"declare `{last.name}` as a parameter if it is one: `parameter {last.name}`"
                    if isinstance(last, ast.NameSelector) else None)
            raise MedSyntaxError(Diagnostic(_join(selectors[0].span, last.span),
                                            "the table's last selectors have no value after them", hint=hint))
        return tuple(entries)

    def bands(self, meta, ch):
        return tuple(ch)

    def band(self, meta, ch):
        return ast.Band(_share(ch[0], self), ch[-1])

    def last_band(self, meta, ch):
        return ast.Band(_share(ch[0], self), None)

    def cite(self, meta, ch):
        return _Cite(_unquote(_toks(ch, "STRING")[0]))

    # -- settings
    def deductible_value(self, meta, ch):
        value = ch[1]
        mods = [c for c in ch[2:] if not isinstance(c, Token)]
        benefits = tuple(b for m in mods if isinstance(m, ast.DeductibleFor) for b in m.benefits)
        mods = [m for m in mods if not isinstance(m, ast.DeductibleFor)]
        return [ast.Deductible(_value(value, self), benefits, span=self._span(meta)), *mods]

    def ded_for(self, meta, ch):
        return ast.DeductibleFor(tuple(str(t) for t in _toks(ch, "NAME")))

    def deductible_none(self, meta, ch):
        mods = [c for c in ch[2:] if not isinstance(c, Token)]
        benefits = tuple(b for m in mods if isinstance(m, ast.DeductibleFor) for b in m.benefits)
        mods = [m for m in mods if not isinstance(m, ast.DeductibleFor)]
        return [ast.Deductible(None, benefits, span=self._span(meta)), *mods]

    def deductible_adjust(self, meta, ch):
        return ast.DeductibleAdjust(_signed_amount(ch[1], ch[2]))

    def deductible_halved(self, meta, ch):
        return ast.DeductibleAdjust(None, halved=True)

    def deductible_mods(self, meta, ch):
        return [c for c in ch[1:] if not isinstance(c, Token)]

    def ded_yearly(self, meta, ch):
        return ast.DeductibleYearly()

    def ded_repeat(self, meta, ch):
        amount = ch[-1]
        return ast.DeductibleRepeat(_abs_amount(amount))

    def ded_floor(self, meta, ch):
        return ast.DeductibleFloor(ch[-1])

    def ded_none_from(self, meta, ch):
        return ast.DeductibleNoneFrom(int(str(_toks(ch, "INT")[0])))

    def ded_referral(self, meta, ch):
        return ast.DeductibleReferral()

    def rate_value(self, meta, ch):
        return ast.Rate(_value(ch[1], self))

    def rate_points(self, meta, ch):
        return ast.RatePoints(_sign(ch[1]) * _num(ch[2]))

    def rate_halved(self, meta, ch):
        return ast.RateHalved()

    def rate_as(self, meta, ch):
        level = str(_toks(ch, "NAME")[0])
        signs = _toks(ch, "SIGN", "PLUS", "MINUS")
        points = _sign(signs[0]) * _num(ch[-2]) if signs else Decimal(0)
        return ast.RateAs(level, points)

    def cap_value(self, meta, ch):
        period = next((c for c in ch if c in ("year", "day")), "year")
        shared = next((c for c in ch if isinstance(c, _For)), _For(()))
        return ast.Cap(ch[1], period, shared.names)

    def yearly(self, meta, ch):
        return "year"

    def daily(self, meta, ch):
        return "day"

    def shared_with(self, meta, ch):
        return _For(tuple(str(t) for t in _toks(ch, "NAME")))

    def cap_adjust(self, meta, ch):
        sign = _sign(ch[1])
        delta = ch[2]
        if isinstance(delta, Token) and delta.type == "PERCENT":
            delta = ast.Percent(sign * _pct(delta), span=self._tspan(delta))
        else:
            delta = _signed_amount(ch[1], delta)
        extra = _toks(ch, "NAME")
        return ast.CapAdjust(delta, str(extra[-1]) if extra and _toks(ch, "EACH_EXTRA") else None)

    def cap_none(self, meta, ch):
        return ast.NoCap()

    def limit(self, meta, ch):
        return ast.Limit(_value(ch[1], self))

    def fixed(self, meta, ch):
        return ast.Fixed(_value(ch[1], self))

    def ceiling(self, meta, ch):
        return ast.Ceiling(ch[1], daily=bool(_toks(ch, "DAILY")))

    def prepay_share(self, meta, ch):
        return ast.Prepay(_share(ch[1], self))

    def prepay_tiers(self, meta, ch):
        return ast.Prepay(ch[1])

    def terms(self, meta, ch):
        return ast.Terms(str(_toks(ch, "NAME")[0]))

    def as_benefit(self, meta, ch):
        return ast.AsBenefit(str(_toks(ch, "NAME")[0]), stay=bool(_toks(ch, "STAY")))

    def paid_by(self, meta, ch):
        return ast.PaidBy(str(_toks(ch, "NAME")[0]))

    def allowance_days(self, meta, ch):
        return ast.AllowanceDays(int(str(_toks(ch, "INT")[0])))

    def allowance_adjust(self, meta, ch):
        extra = _toks(ch, "NAME")
        return ast.AllowanceAdjust(_sign(ch[1]) * int(str(_toks(ch, "INT")[0])),
                                   str(extra[0]) if extra else None)

    def not_covered(self, meta, ch):
        return ast.NotCovered()

    def account_pays(self, meta, ch):
        parts = tuple(dict.fromkeys(_ACCOUNT_PARTS[t.type] for t in ch if isinstance(t, Token) and t.type in _ACCOUNT_PARTS))
        return ast.AccountPays(_account_pot(ch), parts, tuple(str(t) for t in _toks(ch, "NAME")))

    def account_first(self, meta, ch):
        return ast.AccountFirst(_account_pot(ch))

    def account_none(self, meta, ch):
        return ast.AccountNone()

    def __default__(self, data, children, meta):  # pragma: no cover - every rule is named
        raise MedSyntaxError(Diagnostic(self._span(meta), f"internal: no AST for rule {data}"))


_ACCOUNT_PARTS = {"SELF_PAY": "self-pay", "OWN_EXPENSE": "own-expense"}


def _account_pot(ch) -> Optional[str]:
    """The account's pot a clause names (当年 / 历年), or None: the whole account."""
    return "current" if _toks(ch, "CURRENT") else "carried" if _toks(ch, "CARRIED") else None


class _Cite:
    def __init__(self, text: str):
        self.text = text


class _Excluding:
    def __init__(self, names: tuple[str, ...]):
        self.names = names


class _For:
    def __init__(self, names: tuple[str, ...]):
        self.names = names


class _Condition:
    def __init__(self, selectors: tuple):
        self.selectors = selectors


_SETTINGS = (
    ast.Deductible, ast.DeductibleAdjust, ast.DeductibleYearly, ast.DeductibleRepeat, ast.DeductibleFloor,
    ast.DeductibleNoneFrom, ast.DeductibleReferral, ast.Rate, ast.RatePoints, ast.RateHalved, ast.RateAs,
    ast.Cap, ast.CapAdjust, ast.NoCap, ast.Limit, ast.Fixed, ast.Ceiling, ast.Prepay, ast.Terms,
    ast.AsBenefit, ast.PaidBy, ast.AllowanceDays, ast.AllowanceAdjust, ast.NotCovered,
    ast.AccountPays, ast.AccountFirst, ast.AccountNone,
)


# What may follow a setting's value (a table's part after a lone value is none of these).
_AFTER_VALUE_TERMINALS = frozenset({"ACCOUNT", "ALLOWANCE", "AS", "CAP", "CEILING", "CITE", "DEDUCTIBLE", "FIXED", "LIMIT",
                                    "NOT_COVERED", "PAID_BY", "PREPAY", "RATE", "TERMS", "_NL"})
_AFTER_VALUE = _expected_words(set(_AFTER_VALUE_TERMINALS))
_SELECTORS = ast.SELECTOR_NODES


def _join(a: ast.Span, b: ast.Span) -> ast.Span:
    return ast.Span(a.file, a.line, a.column, b.end_line, b.end_column)


def _num(tok) -> Decimal:
    if isinstance(tok, ast.Number):
        return tok.value
    return _dec(tok)


def _benefits(ch) -> tuple[str, ...]:
    f = next((c for c in ch if isinstance(c, _For)), None)
    return f.names if f else ()


def _share(v, t: _ToAst):
    if isinstance(v, Token) and v.type == "PERCENT":
        return ast.Percent(_pct(v), span=t._tspan(v))
    return v  # ParamRef


def _value(v, t: _ToAst):
    if isinstance(v, Token):
        if v.type == "PERCENT":
            return ast.Percent(_pct(v), span=t._tspan(v))
        return ast.Number(_dec(v), span=t._tspan(v))
    return v


def _signed_amount(sign_tok: Token, amount):
    s = _sign(sign_tok)
    if isinstance(amount, ast.Number):
        return ast.Number(s * amount.value, span=amount.span)
    if isinstance(amount, ast.ParamRef):
        return ast.ParamRef(amount.name, s * amount.factor, span=amount.span)
    return amount


def _abs_amount(amount):
    if isinstance(amount, ast.Number):
        return ast.Number(abs(amount.value), span=amount.span)
    return amount


def _flatten(ch) -> list:
    """A deductible with its modifiers arrives as a list of settings; lines want them flat."""
    out = []
    for c in ch:
        if isinstance(c, list):
            out.extend(c)
        else:
            out.append(c)
    return out

"""Syntax highlighting: the Pygments lexer for .med files, and the word lists every editor grammar shares.

The lexer reads text the way the parser's lexer does (grammar/med.lark): a word is a whole
NAME (`[^\\W\\d_][\\w-]*`, Chinese characters included), and a word is a keyword when its
text is a spelling in `keywords.KEYWORDS`. So `三级` is a vocabulary name but `三级医院` is
one unknown word, and `not` never lights up inside `not-covered`. Numbers are lexed before
words, as in the grammar, so `5个百分点` is a number then the keyword `个百分点`.

`lexicon()` is the single list of words for Pygments, and for the TextMate and Vim grammars
that editor-support/generate.py writes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

import attrs
from pygments.lexer import RegexLexer, bygroups
from pygments.token import (Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation,
                            String, Whitespace)

from . import ast
from .files import stdlib_text
from .keywords import KEYWORDS
from .parser import parse
from .segment import HAN_CHARS, SEPARATORS, segments, standard_words

TokenType = type(Keyword)

# The words that give a file its structure; every other keyword is a setting or a modifier.
DECLARATION_TERMINALS = frozenset({"POLICY", "REGION", "EFFECTIVE", "USE", "PARAMETER", "DEFINE",
                                   "SCHEME", "FUND", "EXCEPTION", "CITE"})

# Lexical shapes, the same as grammar/med.lark's terminals.
WORD = rf"[^\W\d_{HAN_CHARS}](?:[^\W{HAN_CHARS}]|-)*"   # a name of letters: Han characters are not in it
HAN = f"[{HAN_CHARS}]+"                                  # a run of Han characters: words without spaces
SEPARATOR = f"[{SEPARATORS}]+"                           # Chinese punctuation: separates as a space does
WORD_END = r"(?![\w\-])"
BLANK = r"[\t \u3000]+"          # \u3000 is the ideographic space a Chinese keyboard types
STRING = r'"[^"\n]*"'
DATE = r"\d{4}-\d{2}-\d{2}"
PERCENT = r"\d+(?:\.\d+)?%"
WAN = r"\d+(?:\.\d+)?万元?"
YUAN = r"\d+(?:\.\d+)?元"
DECIMAL = r"\d+\.\d+"
INTEGER = r"\d+"
COMPARE = r">=|<=|≥|≤|>|<"
ARITHMETIC = r"[+\-×]"


@attrs.frozen
class Lexicon:
    """Every word a highlighter colours, sorted so generated grammars are deterministic."""

    declarations: tuple[str, ...]   # keyword spellings that structure a file: policy, scheme, 依据 ...
    settings: tuple[str, ...]       # every other keyword spelling: deductible, 比例, yearly ...
    vocabulary: tuple[str, ...]     # names and aliases defined in stdlib/standard.med


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The keyword table and the standard vocabulary, as word lists (read once per process)."""
    declarations = {s for k in KEYWORDS if k.terminal in DECLARATION_TERMINALS for s in k.spellings}
    settings = {s for k in KEYWORDS if k.terminal not in DECLARATION_TERMINALS for s in k.spellings}
    defines = [i for i in parse(stdlib_text(), "stdlib/standard.med").items if isinstance(i, ast.Define)]
    # A keyword spelling is always a keyword to the parser, so it never counts as a name here.
    vocabulary = {s for d in defines for e in d.entries for s in (e.name, *e.aliases)} - declarations - settings
    return Lexicon(_ordered(declarations), _ordered(settings), _ordered(vocabulary))


def _ordered(words: set[str]) -> tuple[str, ...]:
    # Longest first, so a regex alternation never stops at a shorter spelling.
    return tuple(sorted(words, key=lambda w: (-len(w), w)))


def _any(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(re.escape(w) for w in words) + ")"


@lru_cache(maxsize=1)
def _word_types() -> dict[str, TokenType]:
    lex = lexicon()
    types = {w: Name.Builtin for w in lex.vocabulary}
    types.update({w: Keyword for w in lex.settings})
    types.update({w: Keyword.Declaration for w in lex.declarations})
    return types


def _word(lexer: RegexLexer, match: re.Match) -> Iterator[tuple[int, TokenType, str]]:
    word = match.group()
    yield match.start(), _word_types().get(word, Name), word


def _han(lexer: RegexLexer, match: re.Match, ctx=None) -> Iterator[tuple[int, TokenType, str]]:
    # The parser's own segmentation (segment.py): longest known word first.
    for offset, word in segments(match.group(), standard_words()):
        yield match.start() + offset, _word_types().get(word, Name), word


def spellings(terminal: str) -> tuple[str, ...]:
    """The spellings of one keyword terminal, longest first: CITE -> ('cite', '依据')."""
    return _ordered({s for k in KEYWORDS if k.terminal == terminal for s in k.spellings})


def _after(terminal: str) -> str:
    """A keyword of `terminal` as a whole word, then blanks: the head of a construct."""
    return f"({_any(spellings(terminal))}){WORD_END}({BLANK})"


class MedLexer(RegexLexer):
    """Pygments lexer for .med policy files, in English, Chinese or both."""

    name = "med"
    aliases = ["med"]
    filenames = ["*.med"]
    mimetypes = ["text/x-med"]

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (BLANK, Whitespace),
            (r"#[^\n]*", Comment.Single),
            # A citation names the article a clause encodes: `cite "第二十一条（一）3"`.
            (f"({_any(spellings('CITE'))}){WORD_END}({BLANK}|)({STRING})", bygroups(Keyword.Declaration, Whitespace, String.Doc)),
            (_after("USE") + f"({WORD})", bygroups(Keyword.Declaration, Whitespace, Name.Namespace)),
            (_after("PARAMETER") + f"({WORD})", bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (_after("DEFINE") + f"({WORD})", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (STRING, String.Double),
            (r'"[^"\n]*', Error),  # an unterminated string: the parser rejects it too
            (DATE, Literal.Date),
            (PERCENT, Number),
            (WAN, Number),
            (YUAN, Number),
            (DECIMAL, Number.Float),
            (INTEGER, Number.Integer),
            # `不予支付依据"第十条"`: a run that ends in `依据`, then the article it cites.
            (f"([{HAN_CHARS}]+?)({_any(spellings('CITE'))})({BLANK}|)({STRING})",
             bygroups(_han, Keyword.Declaration, Whitespace, String.Doc)),
            (HAN, _han),
            (WORD, _word),
            (SEPARATOR, Punctuation),
            (COMPARE, Operator),
            (ARITHMETIC, Operator),
            (r",", Punctuation),
        ],
    }

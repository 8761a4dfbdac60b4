"""Source lines as tokens with their columns, comments included.

The parser drops comments and whitespace; the formatter and the language server need
both, and need them line by line. A .med clause never spans two lines, so each physical
line scans on its own. The token patterns follow the grammar's terminals in the same
priority order (grammar/med.lark), so a line splits where the parser splits it.
"""

from __future__ import annotations

import re
from typing import Optional

import attrs

from . import indentation
from .segment import HAN_CHARS, SEPARATORS, Words, segments, standard_words

# One alternative per kind, tried in order, as lark's lexer tries terminals by priority.
_TOKEN = re.compile(
    r"""
    (?P<space>[\t \u3000]+)
  | (?P<comment>\#.*)
  | (?P<string>"[^"\n]*")
  | (?P<number>\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?%|\d+(?:\.\d+)?万元?|\d+(?:\.\d+)?元|\d+\.\d+|\d+)
  | (?P<han>[HAN]+)
  | (?P<word>[^\W\d_HAN](?:[^\WHAN]|-)*)
  | (?P<punct>>=|<=|[≥≤<>+\-×,])
  | (?P<separator>[SEP]+)
    """.replace("HAN", HAN_CHARS).replace("SEP", SEPARATORS),
    re.VERBOSE,
)

# The indentation rule lives in indentation.py; the scanner and its users measure with it.
indent_width = indentation.width


@attrs.frozen
class Token:
    kind: str    # "comment" | "string" | "number" | "word" | "punct" | "separator" | "other"
    text: str
    column: int  # 0-based code-point offset in the line

    @property
    def end(self) -> int:
        return self.column + len(self.text)


def scan(line: str, words: Optional[Words] = None) -> list[Token]:
    """The tokens of one physical line (without its newline); spaces are dropped.

    A run of Han characters becomes its words, longest known word first, as the parser
    reads it (segment.py); `words` are the words known to the file (default: the keywords
    and the standard vocabulary). Chinese punctuation is a "separator" token: the parser
    skips it as a space, the formatter keeps it. A character no pattern accepts becomes an
    "other" token of its own, so a broken line still scans (the language server reads
    lines the parser rejects).
    """
    out: list[Token] = []
    pos = 0
    while pos < len(line):
        m = _TOKEN.match(line, pos)
        if m is None:
            out.append(Token("other", line[pos], pos))
            pos += 1
            continue
        if m.lastgroup == "han":
            out.extend(Token("word", w, pos + k) for k, w in segments(m.group(), words or standard_words()))
        elif m.lastgroup != "space":
            out.append(Token(m.lastgroup, m.group(), pos))
        pos = m.end()
    return out


def token_at(tokens: list[Token], column: int) -> Optional[Token]:
    """The token under a 0-based column; a cursor just after a token counts as on it."""
    for t in tokens:
        if t.column <= column < t.end:
            return t
    for t in tokens:
        if t.end == column:
            return t
    return None

"""Text as the language and its outputs read it: one kind of newline, and terminal cells.

A policy file may come with Windows or old Mac line ends and a byte-order mark; everything that
splits it into lines (the parser, the formatter, the incremental parser and checker, the
language server's documents) reads it through here, so a line number means the same line to
each. East Asian wide and full-width characters take two cells in a terminal: the carets
under a diagnostic, the formatter's citation column and the terminal tables all count so.
"""

from __future__ import annotations

import unicodedata


def normal_newlines(text: str) -> str:
    """`\\r\\n` and a lone `\\r` as `\\n`."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def source_text(text: str) -> str:
    """A policy file's text as the parser reads it: no byte-order mark, `\\n` newlines."""
    return normal_newlines(text.lstrip("\ufeff"))


def is_wide(ch: str) -> bool:
    """Whether a character takes two terminal cells (East Asian wide or full-width)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def display_width(text: str) -> int:
    """Terminal cells a text takes."""
    return sum(2 if is_wide(ch) else 1 for ch in text)

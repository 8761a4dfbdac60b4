"""The one indentation rule, used by the parser's post-lexer, the formatter, the scanner
and the language server's document model.

A line's indentation is measured in display columns: a space is one, a full-width space
(U+3000, what a Chinese keyboard types) two, a tab four. A line indented deeper than the
innermost open block opens a block; a shallower one closes blocks until it meets an open
block's indentation; landing between two open blocks matches no block, an error.
"""

from __future__ import annotations

INDENT_CHARS = "\t \u3000"
_COLUMNS = {" ": 1, "\u3000": 2, "\t": 4}


def leading(line: str) -> str:
    """The indentation characters at the start of a line."""
    return line[:len(line) - len(line.lstrip(INDENT_CHARS))]


def width(line: str) -> int:
    """The display columns of a line's indentation."""
    return sum(_COLUMNS[ch] for ch in leading(line))


class Misaligned(Exception):
    """A line's indentation matches no open block (the blocks deeper than it are closed)."""

    def __init__(self, closed: int):
        super().__init__(closed)
        self.closed = closed


class Blocks:
    """The indentations of the open blocks, outermost (0) first."""

    __slots__ = ("levels",)

    def __init__(self) -> None:
        self.levels = [0]

    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def enter(self, columns: int) -> int:
        """Move to a line indented `columns`: 1 if it opens a block, else minus the number
        of blocks it closes (0 for a sibling). Misaligned if it lands between two blocks."""
        if columns > self.levels[-1]:
            self.levels.append(columns)
            return 1
        closed = 0
        while columns < self.levels[-1]:
            self.levels.pop()
            closed += 1
        if columns != self.levels[-1]:
            raise Misaligned(closed)
        return -closed

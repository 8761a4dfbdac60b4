"""One error hierarchy for every stage; the same record feeds the CLI and the language server."""

from __future__ import annotations

from typing import Optional

import attrs

from .ast import Span
from .text import display_width, is_wide


@attrs.frozen
class Diagnostic:
    """A problem at a place in a file: what `med check` prints and the language server sends."""

    span: Span
    message: str
    severity: str = "error"  # "error" | "warning"
    hint: Optional[str] = None

    def format(self, source: Optional[str] = None) -> str:
        """`file:line:col: error: message`, then the source line and a caret.

        With the source at hand, the column and the carets count terminal cells, as the
        author sees the line: a wide (CJK) character is two (`三級醫院` is eight columns)."""
        text = None
        if source is not None and self.span.line >= 1:
            source_lines = source.splitlines()
            text = source_lines[self.span.line - 1] if self.span.line <= len(source_lines) else ""
        column = self.span.column if text is None else display_width(text[:self.span.column - 1]) + 1
        lines = [f"{self.span.file}:{self.span.line}:{column}: {self.severity}: {self.message}"]
        if text is not None:
            lines.append(f"  {text}")
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = max(display_width(text[self.span.column - 1:self.span.end_column - 1]), 1)
            lines.append("  " + _pad(text, self.span.column - 1) + "^" * width)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


def _pad(text: str, columns: int) -> str:
    # Wide (CJK) characters take two cells in a terminal; keep the caret under its column.
    out = []
    for ch in text[:columns]:
        out.append("\t" if ch == "\t" else ("  " if is_wide(ch) else " "))
    return "".join(out)


class MedError(Exception):
    """Base of every error medpolicy raises; carries file, line, column and a message."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        self.diagnostics = [diagnostics] if isinstance(diagnostics, Diagnostic) else list(diagnostics)
        first = self.diagnostics[0]
        self.file = first.span.file
        self.line = first.span.line
        self.column = first.span.column
        self.message = first.message
        super().__init__("\n".join(f"{d.span}: {d.message}" for d in self.diagnostics))


class MedSyntaxError(MedError):
    """The text does not follow the grammar."""


class MedCompileError(MedError):
    """The policy parses but does not make sense: unknown names, bad values, ambiguity."""


class MedLoadError(MedError):
    """A file could not be read or a `use` could not be found."""


class ClaimError(Exception):
    """A claim that cannot be settled; becomes an error result, never stops a run."""

    def __init__(self, code: str, message: str, field: Optional[str] = None):
        self.code = code
        self.message = message
        self.field = field
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


def duplicate_id(cid: str) -> ClaimError:
    """The error of a claim whose id an earlier claim of the run already holds (settle_all's,
    the columnar engine's and `med run`'s)."""
    return ClaimError("duplicate-id", f"claim id {cid!r} appears more than once in this run", "id")


class ParameterError(MedError):
    """A parameter the policy declares was not supplied, or is not a number."""

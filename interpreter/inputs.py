"""Claims files, read one claim at a time: JSON lines, a JSON array (read incrementally, never
whole), CSV, or stdin (JSON lines). Nothing here holds more than one claim and a read buffer.

A line that is not a claim (bad bytes, broken JSON, a CSV row that does not fit its header)
becomes an `InputProblem` with its line number; the lines after it are still read, except in
a JSON array, which cannot be resumed after a syntax error.
"""

from __future__ import annotations

import codecs
import csv
import errno
import io
import json
import os
import re
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Optional, TextIO

_BOM = b"\xef\xbb\xbf"
_READ_SIZE = 1 << 20
_MAX_ELEMENT = 64 << 20  # no claim is this long; a syntax error is not read past it


class InputProblem:
    """A line of the input that is not a claim: reported and given an error row of its own."""

    __slots__ = ("line", "message")

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message

    def as_result(self) -> dict:
        return {"id": None, "error": {"code": "bad-input", "message": f"line {self.line}: {self.message}", "field": None}}


class ClaimFile:
    """An opened claims file. `records()` yields `(line, claim or InputProblem, text)` in file
    order, where `text` is the claim's own JSON text when the format has it (JSON lines), so a
    claim parked on disk can be stored as read. Opening raises OSError when the file cannot be
    read at all (missing, a folder, a FIFO or device, no permission)."""

    def __init__(self, path: str):
        self.path = path
        if path == "-":
            if sys.stdin is None:  # (started with standard input closed: `<&-`)
                raise OSError(errno.EBADF, "standard input is closed", path)
            self.kind, self._f, self.size = "jsonl", sys.stdin.buffer, None
            return
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):  # a FIFO or a device would block or never end
            raise OSError(errno.EINVAL, "not a regular file", path)
        self.kind = {".csv": "csv", ".json": "json"}.get(Path(path).suffix.lower(), "jsonl")
        self._f = open(path, "rb")
        self.size = os.fstat(self._f.fileno()).st_size

    def position(self) -> Optional[int]:
        """How many bytes the reader has taken from the file so far (for a progress bar)."""
        try:
            return os.lseek(self._f.fileno(), 0, os.SEEK_CUR) if self.size is not None else None
        except (OSError, ValueError, io.UnsupportedOperation):
            return None

    def records(self) -> Iterator[tuple[int, Any, Optional[str]]]:
        """(line, claim or InputProblem, text) in file order: a JSON value that is not an object
        is no claim, and is an InputProblem naming its line as broken JSON is."""
        for line, value, text in self.values():
            if isinstance(value, (dict, InputProblem)):
                yield line, value, text
            else:
                yield line, InputProblem(line, f"a claim must be a JSON object, not {_json_kind(value)}"), None

    def values(self) -> Iterator[tuple[int, Any, Optional[str]]]:
        """(line, JSON value or InputProblem, text) in file order, whatever each value is (a
        members file reads its records from these)."""
        # A UTF-16 file, which its byte-order mark declares (Windows PowerShell's `>` writes JSON
        # lines so), is read as what it is rather than as a line of "not UTF-8" each.
        utf16 = _first_bytes(self._f, 2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if self.kind == "jsonl":
            return _jsonl(_utf8_lines(self._f) if utf16 else self._f)
        text = io.TextIOWrapper(self._f, encoding="utf-16" if utf16 else "utf-8-sig",
                                errors="surrogateescape" if self.kind == "csv" else "strict", newline="")
        if self.kind == "csv":
            return ((line, claim, None) for line, claim in _csv_claims(text))
        return ((line, claim, None) for line, claim in _JsonArray(text).records())

    def close(self) -> None:
        if self.path != "-":
            self._f.close()

    def __enter__(self) -> "ClaimFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else "a number"


def read_claims(path: str) -> list[Any]:
    """Every claim of a file, as a list (InputProblems in their places): for small inputs."""
    with ClaimFile(path) as f:
        return [claim for _, claim, _ in f.records()]


# One decoder for every claim: json.loads with parse_float= would build a new one each call.
_DECODER = json.JSONDecoder(parse_float=Decimal)
parse_json = _DECODER.decode  # JSON text -> value, numbers with a fraction as Decimal


def json_limit(e: Exception) -> str:
    """What Python's JSON reader refused beyond syntax: a huge number or very deep nesting."""
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return str(e).split(";")[0]


# ---- JSON lines ------------------------------------------------------------------

def _jsonl(f: BinaryIO) -> Iterator[tuple[int, Any, Optional[str]]]:
    for n, line in enumerate(_lines(f), 1):
        if line.endswith(b"\n"):
            line = line[:-1]  # so JSON's columns and messages are those of the line itself
        if n == 1 and line.startswith(_BOM):
            line = line[3:]
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8").lstrip("\ufeff")
        except UnicodeDecodeError as e:
            yield n, InputProblem(n, f"not UTF-8 ({e.reason})"), None
            continue
        try:
            yield n, parse_json(text), text
        except json.JSONDecodeError as e:
            yield n, InputProblem(n, f"bad JSON: {e.msg} (column {e.colno})"), None
        except (ValueError, RecursionError) as e:
            yield n, InputProblem(n, f"bad JSON: {json_limit(e)}"), None


# ---- a JSON array, element by element ------------------------------------------------

_SPACE = re.compile(r"[ \t\n\r]*")


class _Broken(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


class _JsonArray:
    """`[claim, claim, ...]` decoded one element at a time from a sliding window of text; the
    window always starts at the beginning of a line, so JSON's own line and column numbers
    only need the lines dropped before it added. A document that is not an array (one claim
    object) is read whole."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.buf = ""
        self.pos = 0
        self.line = 1  # the line of buf[0]
        self.eof = False

    def records(self) -> Iterator[tuple[int, Any]]:
        try:
            if self._next_char() != "[":
                yield from self._whole()
                return
            self.pos += 1
            if self._next_char() == "]":
                self.pos += 1
                self._end()
                return
            while True:
                line = self._line_at(self.pos)
                yield line, self._value()
                c = self._next_char()
                if c == ",":
                    self.pos += 1
                    self._next_char()
                    continue
                if c == "]":
                    self.pos += 1
                    self._end()
                    return
                self._fail("Expecting ',' delimiter")
        except _Broken as e:
            yield e.line, InputProblem(e.line, e.message)
        except UnicodeDecodeError as e:
            yield self.line, InputProblem(self.line, f"not UTF-8 ({e.reason})")

    def _whole(self) -> Iterator[tuple[int, Any]]:
        while self._more():
            pass
        try:
            data = json.loads(self.buf, parse_float=Decimal)
        except json.JSONDecodeError as e:
            raise _Broken(self.line + e.lineno - 1, f"bad JSON: {e.msg} (column {e.colno})") from None
        except (ValueError, RecursionError) as e:
            raise _Broken(self.line, f"bad JSON: {json_limit(e)}") from None
        yield self.line, data

    def _value(self) -> Any:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as e:
                if len(self.buf) - self.pos < _MAX_ELEMENT and self._more():
                    continue  # the element may only be cut by the window
                raise _Broken(self.line + e.lineno - 1, f"bad JSON: {e.msg} (column {e.colno})") from None
            except (ValueError, RecursionError) as e:
                raise _Broken(self._line_at(self.pos), f"bad JSON: {json_limit(e)}") from None
            if end == len(self.buf) and self._more():
                continue  # a number at the window's end may go on
            self.pos = end
            return value

    def _end(self) -> None:
        if self._next_char():
            self._fail("Extra data")

    def _fail(self, message: str) -> None:
        col = self.pos - self.buf.rfind("\n", 0, self.pos)
        raise _Broken(self._line_at(self.pos), f"bad JSON: {message} (column {col})")

    def _next_char(self) -> str:
        """The next character that is not white space ("" at the end), without consuming it."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_READ_SIZE)
        if not chunk:
            self.eof = True
            return False
        cut = self.buf.rfind("\n", 0, self.pos) + 1  # keep the current line whole
        self.line += self.buf.count("\n", 0, cut)
        self.buf = self.buf[cut:] + chunk
        self.pos -= cut
        return True

    def _line_at(self, pos: int) -> int:
        return self.line + self.buf.count("\n", 0, pos)


def _first_bytes(f: BinaryIO, n: int) -> bytes:
    """The stream's next n bytes, left unread (a buffered file peeks; an in-memory one, as a
    program may hand for standard input, seeks back)."""
    if hasattr(f, "peek"):
        return f.peek(n)[:n]
    if not f.seekable():
        return b""
    head = f.read(n)
    f.seek(-len(head), io.SEEK_CUR)
    return head


def _utf8_lines(f: BinaryIO) -> Iterator[bytes]:
    """A UTF-16 file's lines as UTF-8; bytes UTF-16 cannot decode are kept as they were, so
    their line alone is "not UTF-8"."""
    for line in io.TextIOWrapper(f, encoding="utf-16", errors="surrogateescape", newline=""):
        yield line.encode("utf-8", "surrogateescape")


def _lines(f: BinaryIO) -> Iterator[bytes]:
    """The file's lines, ended by LF, CRLF or a lone CR (old Mac files, whose claims were one
    line and one error row): JSON never holds a raw CR but as whitespace, so a CR inside a line
    ends it."""
    for line in f:
        if b"\r" not in line.rstrip(b"\r\n"):
            yield line
            continue
        parts = line.rstrip(b"\n").split(b"\r")
        if not parts[-1]:  # (a CRLF at the end)
            parts.pop()
        yield from (part + b"\n" for part in parts)


# ---- CSV -------------------------------------------------------------------------

_CSV_LISTS = ("groups", "conditions")


def _csv_claims(text: TextIO) -> Iterator[tuple[int, Any]]:
    """CSV: one claim a row; `facility.level`-style headers nest; `items` holds JSON; lists split on `;`.
    A row that cannot be read (bad bytes, bad JSON in a cell, more cells than columns) becomes an
    InputProblem with its line number; the other rows are still read."""
    # Undecodable bytes are kept as surrogates so that only the rows holding them are refused.
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as e:
        yield reader.line_num or 1, InputProblem(reader.line_num or 1, f"bad CSV header: {e}")
        return
    twice = sorted({h for h in header if h and header.count(h) > 1})
    clash = sorted({h for h in header for other in header if other.startswith(h + ".")})
    for start, row in csv_rows(reader):
        if isinstance(row, InputProblem):
            yield start, row
            continue
        if not any(cell.strip() for cell in row):
            continue
        if twice or clash:
            yield start, InputProblem(start, f"the header names column {(twice or clash)[0]!r} "
                                             + ("twice" if twice else "and columns inside it"))
            continue
        if any(cell.strip() for cell in row[len(header):]):
            yield start, InputProblem(start, f"{len(row)} cells, but the header names {len(header)} columns")
            continue
        unnamed = [k + 1 for k, (key, cell) in enumerate(zip(header, row)) if not key and cell.strip()]
        if unnamed:  # (a value no field would hold: refused, not dropped)
            yield start, InputProblem(start, f"column {unnamed[0]} has a value but no name in the header")
            continue
        try:
            yield start, _csv_claim(header, row)
        except UnicodeError:
            yield start, InputProblem(start, "not UTF-8")
        except _BadCell as e:
            yield start, InputProblem(start, f"bad JSON in column {e.column}: {e.why}")


class _BadCell(ValueError):
    def __init__(self, column: str, why: str):
        super().__init__(why)
        self.column, self.why = column, why


def csv_rows(reader) -> Iterator[tuple[int, Any]]:
    """(line, cells) of a csv reader's rows after the header; a row the csv module refuses (a cell
    over its size limit, a stray quote) an InputProblem at its first line, and the rows after
    it still read."""
    while True:
        start = reader.line_num + 1
        try:
            yield start, next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield start, InputProblem(start, f"bad CSV: {e}")


def _csv_claim(header: list[str], row: list[str]) -> dict:
    claim: dict = {}
    for key, value in zip(header, row):
        value = value.strip()
        if not key or value == "":  # (a cell of spaces is empty, as it looks)
            continue
        value.encode("utf-8")  # raises on bytes that were not UTF-8
        if key in ("items", "history", "enrolment", "maternity") and value[:1] in "[{":
            try:
                value = json.loads(value, parse_float=Decimal)
            except json.JSONDecodeError as e:
                raise _BadCell(key, e.msg) from e
            except (ValueError, RecursionError) as e:
                raise _BadCell(key, json_limit(e)) from e
        elif key in _CSV_LISTS:
            value = [v.strip() for v in value.split(";") if v.strip()]
        elif key in ("age", "babies", "pregnancy_months", "disease_class", "facility.beds") \
                and value.isascii() and value.isdigit():
            value = int(value)
        elif value in ("true", "false"):
            value = value == "true"
        target = claim
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return claim

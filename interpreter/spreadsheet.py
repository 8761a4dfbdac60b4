"""Results for Excel and WPS users: CSV they open safely, and .xlsx with money as numbers.

Self-contained writers over an iterator of result dicts (contract.md's result JSON). A text
cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return) would be read as a
formula by a spreadsheet (CSV injection): in CSV it gets a leading `'`; in .xlsx every text
cell is stored as text, never as a formula. Money in .xlsx is a number shown with two
decimals, written from the result's decimal string (exact, no binary float on the way).
"""

from __future__ import annotations

import csv
import io
import sys
from decimal import Decimal
from typing import Iterable, Optional, Sequence

BOM = "\ufeff"
TEXT_COLUMNS = ("id", "person", "benefit", "error")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def layers_of(rows: Iterable[dict]) -> list[str]:
    """The fund layers the results pay, in the order first seen."""
    seen: list[str] = []
    for r in rows:
        for k in r.get("paid", {}):
            if k not in seen:
                seen.append(k)
    return seen


def columns(layers: Sequence[str]) -> list[str]:
    """The streamed CSV's columns (output.py), so a workbook and a CSV of one run agree."""
    from .output import _FIXED, _TAIL

    return [*_FIXED, *(f"paid.{l}" for l in layers), *_TAIL]


def cells(r: dict, layers: Sequence[str]) -> dict:
    """One result as a flat row: `paid.basic`-style columns; an error as `code: message (field)`."""
    from .output import flatten  # the one flattening, shared with the streamed CSV and table

    return flatten(r, list(layers))


def neutralised(value):
    """A text cell a spreadsheet would run as a formula, made plain text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict], out, layers: Optional[Sequence[str]] = None, *, excel: bool = False) -> None:
    """CSV, one result a row; `excel` puts a UTF-8 BOM first so Excel and WPS read the Chinese text."""
    if layers is None:
        rows = list(rows)
        layers = layers_of(rows)
    cols = columns(layers)
    if excel:
        out.write(BOM)
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: neutralised(v) if k in TEXT_COLUMNS else v for k, v in cells(r, layers).items()})


def write_xlsx(rows: Iterable[dict], out, layers: Optional[Sequence[str]] = None) -> None:
    """An .xlsx workbook (binary `out`): one sheet of results; money as numbers formatted `0.00`."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if layers is None:
        rows = list(rows)
        layers = layers_of(rows)
    cols = columns(layers)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("results")
    sheet.append(cols)
    for r in rows:
        flat = cells(r, layers)
        row = []
        for c in cols:
            value = flat.get(c)
            cell = WriteOnlyCell(sheet, value)
            if _is_money(c, value):
                # The decimal string itself goes into the sheet as the number: no float on the way.
                cell.data_type, cell.number_format = "n", "0.00"
            elif isinstance(value, str):
                cell.data_type = "s"  # text, even when it begins with `=`
            row.append(cell)
        sheet.append(row)
    book.save(out)


def _is_money(column: str, value) -> bool:
    """A result's money: a decimal string in a column that is not text."""
    if column in TEXT_COLUMNS or not isinstance(value, str) or not value:
        return False
    try:
        return Decimal(value).is_finite()
    except ArithmeticError:
        return False


def write_table(rows: Iterable[dict], fmt: str, path: Optional[str], *, excel: bool = False) -> None:
    """`med run --format csv|xlsx`: to `path`, or stdout when it is None."""
    if fmt == "xlsx":
        if path is None:
            buf = io.BytesIO()
            write_xlsx(rows, buf)
            sys.stdout.buffer.write(buf.getvalue())
            return
        with open(path, "wb") as f:
            write_xlsx(rows, f)
        return
    if path is None:
        write_csv(rows, sys.stdout, excel=excel)
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        write_csv(rows, f, excel=excel)


def xlsx_available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True

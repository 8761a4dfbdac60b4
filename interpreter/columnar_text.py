"""Text claims (JSON lines, a JSON array, CSV, standard input) for the columnar engine within
the memory budget (`med run --engine batch`).

The claims are read a chunk at a time (CHUNK claims; never the whole file) and written, each
chunk one record batch of one fixed schema (CLAIM_COLUMNS: the common shape the columnar engine
vectorises, and ASIDE), to an Arrow IPC file in a temporary folder. partition.run_columnar then
settles that file as any Arrow claims file: buckets of whole persons within `--memory`, on
`--jobs` processes.

A claim that does not fit the columns (another field, a value of another type, not an object)
is kept whole as its JSON text in ASIDE, beside its id and person where they are text.
arrow.claims_from_table gives it back as it was read, and the columnar engine leaves a row with
any other field, and every claim of its person, to the scalar engine (batch.py): the claim gets
the scalar engine's result and its person's year is never split between the engines.

A line that is not a claim (inputs.InputProblem) is reported as it is read; its error row is put
at its place among the results (`in_place`).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Optional

import numpy as np
import pyarrow as pa

from .arrow import ASIDE, results_batch
from .batch_columns import normal_persons
from .claim_fields import CLAIM_FIELDS
from .claims import person_as_read
from .columnar_files import ROW_GROUP
from .inputs import InputProblem

CHUNK = 1 << 16              # claims read, made a record batch and written at a time

_TEXT = pa.string()
# The claim fields as columns of the common shape (batch._COMMON), and the whole-number and yes/no
# fields, which the columnar engine reads where the policy compares them (an age) or never reads
# them (batch_columns); anything else goes ASIDE.
CLAIM_COLUMNS = pa.struct([
    ("id", _TEXT), ("person", _TEXT), ("date", _TEXT), ("scheme", _TEXT), ("benefit", _TEXT),
    ("status", _TEXT), ("facility", pa.struct([("level", _TEXT), ("type", _TEXT), ("grade", _TEXT)])),
    ("place", _TEXT), ("groups", pa.list_(_TEXT)),
    ("items", pa.list_(pa.struct([("class", _TEXT), ("amount", _TEXT)]))),
    *[(f.name, pa.int64() if f.type == "whole" else pa.bool_()) for f in CLAIM_FIELDS if f.type in ("whole", "bool")],
])
FILE_COLUMNS = pa.struct([*CLAIM_COLUMNS, pa.field(ASIDE, _TEXT)])
_FIELDS = frozenset(f.name for f in CLAIM_COLUMNS)
FILE_SCHEMA = pa.schema(list(FILE_COLUMNS))

Problems = list  # [(good claims before it, InputProblem)], in input order


def claim_chunks(records: Iterable[tuple[int, Any, Optional[str]]], report: Callable[[int, InputProblem], None],
                 size: Optional[int] = None) -> Iterator[list]:
    """The claims of `records` (inputs.ClaimFile.records: line, claim or InputProblem, JSON
    text) as lists of at most `size` (CHUNK) (claim, text) pairs, in order: the most held at
    once. Each InputProblem goes to `report` as it is read, with how many claims came before it."""
    size = size or CHUNK
    chunk: list = []
    good = 0
    for _, claim, text in records:
        if isinstance(claim, InputProblem):
            report(good + len(chunk), claim)
            continue
        chunk.append((claim, text))
        if len(chunk) >= size:
            good += len(chunk)
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def write_claims_file(records: Iterable[tuple[int, Any, Optional[str]]], out: str,
                      report: Callable[[InputProblem], None], size: Optional[int] = None) -> Problems:
    """The claims of `records` written to the Arrow IPC file `out`, a record batch a chunk
    (claim_chunks); each InputProblem reported as read and returned with how many claims came
    before it."""
    problems: Problems = []

    def problem(before: int, it: InputProblem) -> None:
        report(it)
        problems.append((before, it))

    with pa.ipc.new_file(out, FILE_SCHEMA) as writer:
        for chunk in claim_chunks(records, problem, size):
            writer.write_batch(claim_batch(chunk))
            del chunk  # (dropped before the next chunk is read: one chunk held, not two)
    return problems


def claim_batch(claims: list[tuple[Any, Optional[str]]]) -> pa.RecordBatch:
    """(claim, its JSON text or None) as a record batch of FILE_SCHEMA, in order; a claim that
    does not fit the columns goes ASIDE. Arrow reads the chunk's types at once; where they do
    not all fit, the claims with another field (or no object) go aside at once and the rest are
    read at once again, and only where those do not fit either is each claim looked at."""
    for claim, _ in claims:
        _amounts_as_text(claim)
    whole = _as_columns([claim for claim, _ in claims])
    if whole is not None:
        return pa.RecordBatch.from_struct_array(whole)
    fit = [k for k, (claim, _) in enumerate(claims) if type(claim) is dict and claim.keys() <= _FIELDS]
    fitting = _as_columns([claims[k][0] for k in fit])
    if fitting is None:  # a value of another type in the columns themselves: claim by claim
        fit = [k for k in fit if _value_fits(claims[k][0], CLAIM_COLUMNS) and _person_as_read(claims[k][0].get("person"))]
        fitting = pa.array([claims[k][0] for k in fit], FILE_COLUMNS)
    kept = set(fit)
    aside = [k for k in range(len(claims)) if k not in kept]
    rows = pa.concat_arrays([fitting, pa.array([_aside(*claims[k]) for k in aside], FILE_COLUMNS)])
    return pa.RecordBatch.from_struct_array(rows.take(pa.array(np.argsort(np.asarray(fit + aside, np.int64)))))


def _amounts_as_text(claim: Any) -> None:
    """Item amounts given as JSON numbers (the contract allows them) written as the text the
    columns hold, where the columnar engine reads that text as the same amount: a whole number
    of up to 13 digits, or a decimal of at most 2 places, not negative. Read as text or as a
    number, such an amount is the same Decimal to the claim reader; any other number (negative,
    finer, huge, true or false) is left as it is, and its claim goes aside, to the scalar engine,
    whose message then names the value as given."""
    items = claim.get("items") if type(claim) is dict else None
    if type(items) is not list:
        return
    for item in items:
        if type(item) is not dict:
            continue
        amount = item.get("amount")
        if type(amount) is int and 0 <= amount < 10 ** 13:
            item["amount"] = str(amount)
        elif type(amount) is Decimal and amount.is_finite() and not amount.is_signed() \
                and amount.as_tuple().exponent >= -2 and amount.adjusted() < 13:
            item["amount"] = format(amount, "f")


def _as_columns(values: list) -> Optional[pa.StructArray]:
    """The claims as FILE_COLUMNS where Arrow reads them all at once into types that fit, with
    every person as the scalar engine reads it; else None."""
    try:
        whole = pa.array(values, pa.struct([])) if not values else pa.array(values)
    except (pa.ArrowException, ValueError, TypeError, OverflowError, RecursionError):
        return None  # (mixed types, a huge number, a lone surrogate: ValueError covers the last)
    # (a claim of null is no object: a null row would read back as the claim {})
    if not pa.types.is_struct(whole.type) or whole.null_count or not _type_fits(whole.type, CLAIM_COLUMNS):
        return None
    if whole.type.get_field_index("person") >= 0 and not _persons_as_read(whole.field("person")):
        return None
    return whole.cast(FILE_COLUMNS)


def _persons_as_read(person: pa.Array) -> bool:
    """Whether every person is written as the scalar engine reads it (claims.person_as_read:
    normal_persons gives back the very array when it rewrites none). Another spelling would be
    another person to the columnar engine: it goes ASIDE instead."""
    return normal_persons(person) is person  # (all null: no person to spell, the array as it is)


def _person_as_read(person: Any) -> bool:
    return type(person) is not str or person == person_as_read(person)


def _type_fits(given: pa.DataType, columns: pa.DataType) -> bool:
    """Whether values Arrow read as `given` hold as they are in `columns` (fields a subset, no
    conversion: a number is never made text)."""
    if pa.types.is_null(given):
        return True
    if pa.types.is_struct(given):
        return pa.types.is_struct(columns) and all(
            columns.get_field_index(f.name) >= 0 and _type_fits(f.type, columns.field(f.name).type) for f in given)
    if pa.types.is_list(given):
        return pa.types.is_list(columns) and _type_fits(given.value_type, columns.value_type)
    return given == columns


def _value_fits(value: Any, columns: pa.DataType) -> bool:
    """Whether a claim's value holds as it is in `columns` (_type_fits for one value)."""
    if value is None:
        return True
    if pa.types.is_string(columns):
        return type(value) is str and (value.isascii() or _utf8(value))
    if pa.types.is_int64(columns):
        return type(value) is int and -(1 << 63) <= value < 1 << 63
    if pa.types.is_boolean(columns):
        return type(value) is bool
    if pa.types.is_struct(columns):
        return type(value) is dict and all(
            columns.get_field_index(k) >= 0 and _value_fits(v, columns.field(k).type) for k, v in value.items())
    if pa.types.is_list(columns):
        return type(value) is list and all(_value_fits(v, columns.value_type) for v in value)
    return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: the scalar engine names it
        return False
    return True


def _aside(claim: Any, text: Optional[str]) -> dict:
    """A claim that does not fit the columns: its JSON text, its id, and its person as the scalar
    engine reads it (where they are text), for the deal into buckets by person, the persons the
    scalar engine takes whole, and the search for repeated ids."""
    row = {ASIDE: text if text is not None else json_text(claim)}
    if type(claim) is dict:
        cid, person = claim.get("id"), claim.get("person")
        if type(cid) is str and _value_fits(cid, _TEXT):
            row["id"] = cid
        if type(person) is str and _value_fits(person, _TEXT):
            row["person"] = person_as_read(person) or None
    return row


class _Token(str):
    """JSON text written as it is (a bracket, a comma, a key), not a string value."""


def json_text(value: Any) -> str:
    """JSON text that inputs.parse_json reads back as the same value: a Decimal keeps its digits
    and exponent (12.50 stays 12.50, 1.00E+2 stays 1.00E+2); ASCII (a lone surrogate escaped).
    With a stack, not recursion: a claim nested as deep as the reader allows is written too."""
    out, todo = [], [value]
    while todo:
        v = todo.pop()
        if type(v) is _Token:
            out.append(v)
        elif type(v) is dict:
            parts = [_Token("{")]
            for k, item in v.items():
                parts += [_Token(("," if len(parts) > 1 else "") + json.dumps(k) + ":"), item]
            todo += reversed(parts + [_Token("}")])
        elif type(v) is list:
            parts = [_Token("[")]
            for item in v:
                parts += [_Token(","), item] if len(parts) > 1 else [item]
            todo += reversed(parts + [_Token("]")])
        elif isinstance(v, Decimal):
            sign, digits, exponent = v.as_tuple()
            out.append(f"{'-' if sign else ''}{''.join(map(str, digits))}E{exponent}")
        else:
            out.append(json.dumps(v))
    return "".join(out)


# ---- results out ---------------------------------------------------------------------------

def in_place(windows: Iterable[pa.Table], problems: Problems, schema: pa.Schema) -> Iterator[pa.Table]:
    """The good claims' result windows (in input order) with each bad line's error row
    (`InputProblem.as_result`) at its place, cut again into windows of ROW_GROUP rows; the
    windows as they are where there is no bad line."""
    if not problems:
        yield from windows
        return
    yield from _windows(_interleaved(windows, problems, schema))


def _interleaved(windows: Iterable[pa.Table], problems: Problems, schema: pa.Schema) -> Iterator[pa.Table]:
    """Pieces of the results in input order: slices of the windows, and tables of error rows."""
    k, good = 0, 0  # the next problem; good rows handed on so far
    for window in windows:
        start = 0
        while k < len(problems) and problems[k][0] < good + window.num_rows:
            cut, end = problems[k][0] - good, _same_place(problems, k)
            if cut > start:
                yield window.slice(start, cut - start)
            yield _error_rows(problems[k:end], schema)
            start, k = cut, end
        if start < window.num_rows:
            yield window.slice(start)
        good += window.num_rows
    if k < len(problems):
        yield _error_rows(problems[k:], schema)


def _same_place(problems: Problems, k: int) -> int:
    """The end of the run of problems from k that stand at one place (bad lines side by side)."""
    end = k
    while end < len(problems) and problems[end][0] == problems[k][0]:
        end += 1
    return end


def _error_rows(problems: Problems, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_batches([results_batch([p.as_result() for _, p in problems], schema)], schema)


def _windows(pieces: Iterable[pa.Table]) -> Iterator[pa.Table]:
    """The pieces cut again into windows of ROW_GROUP rows (the last one shorter)."""
    held: list = []
    rows = 0
    for piece in pieces:
        held.append(piece)
        rows += piece.num_rows
        while rows >= ROW_GROUP:
            table = pa.concat_tables(held)
            yield table.slice(0, ROW_GROUP)
            held, rows = [table.slice(ROW_GROUP)], rows - ROW_GROUP
    if rows:
        yield pa.concat_tables(held)

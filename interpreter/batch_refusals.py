"""Claims the reader refuses, worded a field at a time over distinct values, not a claim at a time.

The claim reader (claims.ClaimReader) takes a claim's fields in CLAIM_FIELDS' order and refuses it
at the first it does not take, with an error that depends on that field's value alone; a claim it
takes whole is still refused when dated outside the policy's period, with an error that depends on
the date alone. So the rows the columns could not read are judged a field at a time, in that order:
a value the columns read is taken without a look (`Claims.certain`), and each other distinct value
is judged once, by the reader's own check. A year whose every date is written `2026/03/02` went
claim by claim through the scalar reader: 1M claims, 36 CPU s and 3 GB for its error rows.
A row whose every field the reader takes, yet the columns could not read, is left undecided (-1):
the scalar engine's to settle or refuse.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow import claims_from_table, json_value
from .claim_fields import CLAIM_FIELDS
from .errors import ClaimError

_UNSURE = object()  # a value the check could not judge (an unexpected exception): the scalar engine's
_TAKEN, _UNJUDGED = -1, -2  # `_judged`'s codes for a value the reader takes, and for _UNSURE


class Refusals(NamedTuple):
    """Per row asked about, the index of its error in `errors`, or -1 (undecided)."""
    which: np.ndarray
    errors: list


def word_refusals(policy, table: pa.Table, claims, rows: np.ndarray, undated: np.ndarray) -> Refusals:
    """The errors of `rows` (the columns could not read them) and of `undated` (rows the columns
    read, dated outside the period): each as the claim reader words it, or -1 where it takes them."""
    errors: list = []
    which = np.full(table.num_rows, -1, np.int64)
    live = np.zeros(table.num_rows, bool)
    live[rows] = True
    judge = _judge(policy)
    for f in CLAIM_FIELDS:
        check = live & ~claims.certain[f.name] if f.name in claims.certain else live
        at = np.flatnonzero(check)
        if not len(at):
            continue
        column = table.column(f.name) if f.name in table.column_names else None
        if column is not None and f.type in ("text", "person") and not _text_type(column.type):
            column = _given_or_not(column)  # (no value of it is text: one error for any, one for none)
        codes = _judged(column, at, lambda value, row, f=f: judge(f, value), errors)
        which[at] = np.maximum(codes, -1)
        live[at[codes != _TAKEN]] = False  # (refused, or the scalar reader's to word: no later field counts)
        if not live.any():
            break
    if len(undated):
        which[undated] = np.maximum(_judged(table.column("date"), undated, _outside(policy, table), errors), -1)
    return Refusals(which, errors)


def _judge(policy) -> Callable[[Any, Any], Any]:
    """The reader's check of one field's value: None where it takes the value, else its error."""
    check = policy._reader._value

    def judge(f, value):
        try:
            check(f, value, f.name)
        except ClaimError as e:
            return e.as_dict()
        except Exception:  # (the scalar reader words it, as `internal`)
            return _UNSURE
        return None
    return judge


def _outside(policy, table: pa.Table) -> Callable[[Any, int], Any]:
    """The period's error for a date: the reader's for one claim dated so, whose other fields the
    columns read (any row of them: the error names the date and the period only)."""
    def judge(date, row: int):
        claim = next(claims_from_table(table.slice(row, 1)))
        try:
            policy._read(claim)
        except ClaimError as e:
            return e.as_dict() if e.code == "outside-period" else _UNSURE
        return _UNSURE
    return judge


def _judged(column: Optional[pa.ChunkedArray], at: np.ndarray, judge: Callable[[Any, int], Any],
            errors: list) -> np.ndarray:
    """Per row of `at`, the index in `errors` (appended to) of its value's error, _TAKEN where the
    reader takes the value, _UNJUDGED where it cannot be judged here; each distinct value judged
    once, with its first row."""
    if column is None:
        values, codes = [None], np.zeros(len(at), np.int64)
    else:
        values, codes = _distinct(column.take(pa.array(at)))
    present, first = np.unique(codes, return_index=True)
    out = np.full(len(values), _TAKEN, np.int64)
    for k, i in zip(present.tolist(), first.tolist()):
        error = judge(values[k], int(at[i]))
        if error is _UNSURE:
            out[k] = _UNJUDGED
        elif error is not None:
            out[k] = len(errors)
            errors.append(error)
    return out[codes]


def _distinct(values: pa.ChunkedArray) -> tuple[list, np.ndarray]:
    """The distinct values of a column as the claim's JSON gives them (json_value; None for a
    null), and each row's index into them."""
    values = values.combine_chunks()
    kind = values.type
    if not (pa.types.is_struct(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_map(kind) or pa.types.is_dictionary(kind)):
        try:
            values = values.dictionary_encode()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    if pa.types.is_dictionary(values.type):
        words = [json_value(v) for v in values.dictionary.to_pylist()] + [None]
        index = values.indices.fill_null(len(words) - 1)
        return words, np.asarray(index, dtype=np.int64)
    seen: dict = {}
    codes = np.empty(len(values), np.int64)
    distinct: list = []
    for i, v in enumerate(values.to_pylist()):
        v = json_value(v)
        key = repr(v)
        k = seen.get(key)
        if k is None:
            k = seen[key] = len(distinct)
            distinct.append(v)
        codes[i] = k
    return distinct, codes


def _text_type(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _given_or_not(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column of no text as two values, its first given one and null: the reader's check of a
    text field (claims._text) says the same of every value that is not text."""
    given = column.drop_null()
    if not len(given):
        return column
    first = given.slice(0, 1).combine_chunks()
    return pa.chunked_array([pa.DictionaryArray.from_arrays(pc.if_else(pc.is_null(chunk), None, 0).cast(pa.int32()), first)
                             for chunk in column.chunks], pa.dictionary(pa.int32(), column.type))

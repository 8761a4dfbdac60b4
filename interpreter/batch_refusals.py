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
        if column is not None and f.type == "list" and _struct_list(column.type):
            codes = _items_judged(policy, judge, f, column, at, errors)
        else:
            codes = _judged(column, at, lambda value, row, f=f: judge(f, value), errors)
        which[at] = np.maximum(codes, -1)
        live[at[codes != _TAKEN]] = False  # (refused, or the scalar reader's to word: no later field counts)
        if not live.any():
            break
    if len(undated):
        which[undated] = np.maximum(_judged(table.column("date"), undated, _outside(policy, table), errors), -1)
    return Refusals(which, errors)


def reader_errors(policy, table: pa.Table, rows: np.ndarray) -> list:
    """The reader's error (a ClaimError) for the claim of each of `rows`, None where it takes it:
    rows the columns cannot decide, read one by one."""
    out = []
    for claim in claims_from_table(table.take(pa.array(rows))):
        try:
            policy._read(claim)
            out.append(None)
        except ClaimError as e:
            out.append(e)
    return out


def _judge(policy) -> Callable[..., Any]:
    """The reader's check of one field's value (`label`: where it is, `items[2].class`; else its
    name): None where it takes the value, else its error."""
    check = policy._reader._value

    def judge(f, value, label=None):
        try:
            check(f, value, label or f.name)
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


def _items_judged(policy, judge, f, column: pa.ChunkedArray, at: np.ndarray, errors: list) -> np.ndarray:
    """`_judged`'s codes for the rows `at` of a list of objects (the items): the reader reads them
    in order, each its fields in order, and refuses the claim at the first value it does not take,
    naming where (`items[2].class`); so each field's distinct value is judged once per position,
    not each claim's list of items (1M claims whose classes were written 甲类: 21 s)."""
    lists = column.take(pa.array(at)).combine_chunks()
    out = np.full(len(at), _TAKEN, np.int64)
    absent = np.asarray(lists.is_null(), dtype=bool)
    if absent.any():
        out[absent] = _judged(None, np.flatnonzero(absent), lambda value, row: judge(f, None), errors)
    lengths = np.asarray(pc.list_value_length(lists).fill_null(0), dtype=np.int64)
    items = lists.flatten()  # (the given lists' items, in order)
    row = np.repeat(np.arange(len(at)), lengths)
    place = np.arange(len(items)) - (np.cumsum(lengths) - lengths)[row]  # each item's index in its list
    status = np.full(len(items), _TAKEN, np.int64)
    odd = np.asarray(items.is_null(), dtype=bool)  # (an item that is no object)
    if odd.any():
        status[odd] = _by_place(place[odd], [None], np.zeros(int(odd.sum()), np.int64),
                                lambda value, i: _no_object(policy, f, i), errors)
    live = ~odd
    names = {g.name for g in items.type}
    for g in f.fields:
        where = np.flatnonzero(live)
        if not len(where):
            break
        values, codes = _distinct(items.field(g.name).take(pa.array(where))) if g.name in names \
            else ([None], np.zeros(len(where), np.int64))
        said = _by_place(place[where], values, codes,
                         lambda value, i, g=g: judge(g, value, f"{f.name}[{i}].{g.name}"), errors)
        status[where] = said
        live[where[said != _TAKEN]] = False
        live &= place < _first_bad(status, row, place, len(at))[row]  # (items after a refused one never count)
    bad = np.flatnonzero(status != _TAKEN)
    rows, first = np.unique(row[bad], return_index=True)
    out[rows] = status[bad[first]]
    return out


def _first_bad(status: np.ndarray, row: np.ndarray, place: np.ndarray, rows: int) -> np.ndarray:
    """Per row, the index in its list of its first item not taken (refused or unjudged), or the
    list's end (an index past any)."""
    first = np.full(rows, np.iinfo(np.int64).max, np.int64)
    bad = status != _TAKEN
    np.minimum.at(first, row[bad], place[bad])
    return first


def _by_place(place: np.ndarray, values: list, codes: np.ndarray, judge, errors: list) -> np.ndarray:
    """`_judged`'s codes for items, each distinct (value, index in its list) judged once."""
    width = int(place.max(initial=0)) + 1
    keys, inverse = np.unique(codes * width + place, return_inverse=True)
    said = np.full(len(keys), _TAKEN, np.int64)
    for k, key in enumerate(keys.tolist()):
        error = judge(values[key // width], key % width)
        if error is _UNSURE:
            said[k] = _UNJUDGED
        elif error is not None:
            said[k] = len(errors)
            errors.append(error)
    return said[inverse.reshape(-1)]


def _no_object(policy, f, i: int):
    """The reader's error for an item that is no object (`items[2]`, null), after `i` it takes."""
    try:
        policy._reader._item(None, i, f.fields, f.name)
    except ClaimError as e:
        return e.as_dict()
    return _UNSURE


def _struct_list(kind: pa.DataType) -> bool:
    return (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and pa.types.is_struct(kind.value_type)


def _distinct(values) -> tuple[list, np.ndarray]:
    """The distinct values of a column as the claim's JSON gives them (json_value; None for a
    null), and each row's index into them."""
    if isinstance(values, pa.ChunkedArray):
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
    index = [pc.if_else(pc.is_null(chunk), None, 0).cast(pa.int32()) for chunk in column.chunks]
    return pa.chunked_array([pa.DictionaryArray.from_arrays(i, first) for i in index],
                            pa.dictionary(pa.int32(), column.type))

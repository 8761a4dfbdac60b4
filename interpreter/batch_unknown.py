"""Fields no claim field is named, in a claims table: each claim that gives one refused in columns.

A bureau's export has more than the claim: a hospital's name beside it or in its `facility`, a
ward on each item. The reader refuses a claim that gives such a field, naming the first in its
reading order (claims.ClaimReader._object): a column of the claim's own before any field; else,
the claim's fields in order, where an object (`facility`, `enrolment`, `history`, `account`, each
item of `items`) says its unknown fields before its own. One by one through the scalar engine,
1M such claims took 40-142 CPU s and 3-4 GB for 1M identical error rows; here each gets its
error row in columns, and the other rows are settled without those fields (null there: absent).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import pyarrow as pa

from .arrow import ASIDE
from .batch_columns import Claims, arrow_bools
from .batch_refusals import reader_errors
from .claim_fields import CLAIM_FIELDS
from .claims import CLAIM_FIELD_NAMES, NAMES_OF, _unknown_field

_OBJECTS = {f.name: f for f in CLAIM_FIELDS if f.fields}  # facility, enrolment, history, account, items: in reading order


class Unknown(NamedTuple):
    """The fields of a claims table's schema that no claim field is named."""
    columns: list      # the table's own columns (`hospital`), in its order
    inside: dict       # an object's column -> its struct's unknown fields (`facility` -> [`name`]), reading order
    dotted: list       # every one of them, as the schema has them (`facility.name`, `items.ward`, `hospital`)


class SetApart(NamedTuple):
    """Rows refused for an unknown field, and the table the others are settled from."""
    rest: pa.Table        # the rows not refused, without the unknown fields
    refused: np.ndarray   # bool per row of the table
    ids: Optional[pa.Array]  # the refused rows' ids, in order
    errors: list          # error dicts
    which: np.ndarray     # per refused row, its error's index in `errors`


def unknown_fields(schema: pa.Schema) -> Unknown:
    """The columns, and the fields of the objects' structs (a struct, or a list of structs for
    `items`), that no claim field is named."""
    columns, inside, dotted = [], {}, []
    for column in schema:
        if column.name not in CLAIM_FIELD_NAMES:
            if column.name != ASIDE:
                columns.append(column.name)
                dotted.append(column.name)
            continue
        struct = _struct_of(column.type) if column.name in _OBJECTS else None
        if struct is not None:
            names = NAMES_OF[id(_OBJECTS[column.name].fields)]
            odd = [child.name for child in struct if child.name not in names]
            if odd:
                inside[column.name] = odd
                dotted += [f"{column.name}.{name}" for name in odd]
    inside = {name: inside[name] for name in _OBJECTS if name in inside}
    return Unknown(columns, inside, dotted)


def set_apart(policy, table: pa.Table) -> Optional[SetApart]:
    """The rows of `table` the reader refuses for an unknown field, with their errors, and the
    others without those fields; None where no row can give one, or where the rows are text
    claims (ASIDE) or their ids not text (the scalar engine words those)."""
    unknown = unknown_fields(table.schema)
    ids = table.column("id").type if "id" in table.column_names else pa.string()
    if not (unknown.columns or unknown.inside) or ASIDE in table.column_names \
            or not (pa.types.is_string(ids) or pa.types.is_large_string(ids)):
        return None
    first = _first_given([table.column(name) for name in unknown.columns], table.num_rows)
    errors = [_unknown_field(name, CLAIM_FIELD_NAMES, "").as_dict() for name in unknown.columns]
    known = table.drop_columns(unknown.columns)
    if unknown.inside:
        known = _objects_refused(policy, table, known, unknown.inside, first, errors)
    refused = first >= 0
    rest = known.filter(arrow_bools(~refused)) if refused.any() else known
    ids = table.column("id").filter(arrow_bools(refused)) if "id" in table.column_names else None
    return SetApart(rest, refused, ids, errors, first[refused])


def _objects_refused(policy, table: pa.Table, known: pa.Table, inside: dict, first: np.ndarray,
                     errors: list) -> pa.Table:
    """`known` with the objects' unknown fields left out, and `first` and `errors` told each row
    not yet refused that gives one: where the columns find the row whole without them, its error
    is the first object's first such field it gives (in reading order); any other row is worded
    by the scalar reader from the row as given."""
    given = np.full(table.num_rows, -1, np.int64)
    for name in reversed(list(inside)):  # (the first object in reading order wins)
        column = table.column(name).combine_chunks()
        where, stripped = _object_given(name, column, inside[name], errors)
        given = np.where(where >= 0, where, given)
        known = known.set_column(known.schema.get_field_index(name), name, stripped)
    rows = np.flatnonzero((given >= 0) & (first < 0))
    if not len(rows):
        return known
    ok = Claims(policy, known.take(pa.array(rows))).ok
    first[rows[ok]] = given[rows[ok]]
    for r, e in zip(rows[~ok].tolist(), reader_errors(policy, table, rows[~ok])):
        if e is not None:
            errors.append(e.as_dict())
            first[r] = len(errors) - 1
    return known


def _object_given(name: str, column: pa.Array, odd: list, errors: list) -> tuple:
    """Per row, the index in `errors` (appended to) of the error the reader gives for the first
    unknown field of the object `name` the row gives, or -1; and the column without those fields."""
    names = NAMES_OF[id(_OBJECTS[name].fields)]
    if pa.types.is_struct(column.type):
        at = _first_given([column.field(f) for f in odd], len(column))
        if column.null_count:  # (a null object gives none of its fields)
            at[np.asarray(column.is_null(), dtype=bool)] = -1
        base = len(errors)
        errors += [_unknown_field(f, names, f"{name}.").as_dict() for f in odd]
        return np.where(at >= 0, at + base, -1), _without(column, odd)
    items = column.values  # a list of structs: the first item that gives one, and its first
    at = _first_given([items.field(f) for f in odd], len(items))
    if items.null_count:
        at[np.asarray(items.is_null(), dtype=bool)] = -1
    offsets = np.asarray(column.offsets, dtype=np.int64)
    pos = np.flatnonzero(at >= 0)
    pos = pos[(pos >= offsets[0]) & (pos < offsets[-1])]
    row = np.searchsorted(offsets, pos, side="right") - 1
    if column.null_count:
        keep = ~np.asarray(column.is_null(), dtype=bool)[row]
        row, pos = row[keep], pos[keep]
    row, firsts = np.unique(row, return_index=True)  # (positions ascend: each row's first item)
    pos = pos[firsts]
    out = np.full(len(column), -1, np.int64)
    if len(row):  # (an error per item index and field: `items[2].ward`)
        pairs, which = np.unique(np.stack([pos - offsets[row], at[pos]], axis=1), axis=0, return_inverse=True)
        out[row] = len(errors) + which.reshape(-1)
        errors += [_unknown_field(odd[k], names, f"{name}[{i}].").as_dict() for i, k in pairs.tolist()]
    mask = column.is_null() if column.null_count else None
    return out, type(column).from_arrays(column.offsets, _without(items, odd), mask=mask)


def _without(struct: pa.StructArray, odd: list) -> pa.StructArray:
    """The struct array without the fields `odd`, null where it was."""
    kept = [f for f in struct.type if f.name not in odd]
    mask = struct.is_null() if struct.null_count else None
    if kept:
        return pa.StructArray.from_arrays([struct.field(f.name) for f in kept], fields=kept, mask=mask)
    # (no field left to take the length from: a struct of unknown fields only, each row refused)
    empty = [False] * len(struct) if mask is None else mask.to_pylist()
    return pa.array([None if null else {} for null in empty], pa.struct([]))


def _first_given(columns: list, n: int) -> np.ndarray:
    """Per row, the index of the first of `columns` not null there, or -1: the unknown field the
    reader names (the first a claim gives, in the table's order)."""
    first = np.full(n, -1, np.int64)
    for k in reversed(range(len(columns))):
        column = columns[k]
        first[np.asarray(column.is_valid(), dtype=bool) if column.null_count else slice(None)] = k
    return first


def _struct_of(kind: pa.DataType) -> Optional[pa.StructType]:
    """A struct type, or a list's (or large list's) struct of values; else None."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        kind = kind.value_type
    return kind if pa.types.is_struct(kind) else None


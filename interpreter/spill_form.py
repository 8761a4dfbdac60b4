"""A bucket's results as partition.py spills them between settling and merging: fewer bytes.

Every byte spilled costs twice on a year too large for one piece: lz4 compresses it as the
bucket is written, and decompresses it as the windows are merged (10M claims: 1.9 and 1.0 CPU s,
a fifth of the run; written uncompressed, the fresh pages of the page cache cost as much). Most
of a result's 160 bytes are money in int64 fen whose values fit 32 bits, or columns that are
zero or null on every row of a bucket (a city without accounts or allowances; the error of a
year that reads well). So a spilled table holds each struct as its leaves, each 64-bit leaf
whose values fit in 32 bits as int32, and no leaf at all that is all zero or all null; its
metadata says which, and `unpack` gives the columns back exactly (values and nulls; a value
under a null comes back 0).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from .takes import one_array

_FORMS = b"spill forms"
_AS_IS, _NARROW, _ZERO, _NULL = "as is", "int32", "zero", "null"
_LEAVES, _VALID = "leaves", "leaves and validity"   # a struct's forms
_LOW, _HIGH = np.iinfo(np.int32).min, np.iinfo(np.int32).max


def pack(table: pa.Table, kept: tuple = ()) -> pa.Table:
    """`table` in the spill's form: its leaves, each as it is, narrowed or left out; but the
    columns `kept` are never left out (a table with no column would have no rows either)."""
    names, arrays, forms = [], [], {}
    for field, column in zip(table.schema, table.columns):
        for name, form, arr in _packed(field.name, one_array(column), field.name in kept):
            forms[name] = form
            if arr is not None:
                names.append(name)
                arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata({_FORMS: json.dumps(forms)})


def unpack(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A packed table's columns of `schema` again (a table of one chunk)."""
    forms = json.loads(table.schema.metadata[_FORMS])
    columns = {name: one_array(table.column(name)) for name in table.schema.names}
    arrays = [_unpacked(f.name, f.type, forms, columns, table.num_rows) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _packed(name: str, arr: pa.Array, kept: bool = False):
    """(name, form, array or None) for each leaf of the column `name`."""
    if arr.null_count == len(arr) and not kept:
        yield name, _NULL, None
        return
    if pa.types.is_struct(arr.type):
        yield (name, _VALID, arr.is_valid()) if arr.null_count else (name, _LEAVES, None)
        for child, leaf in zip(arr.type, arr.flatten()):  # (flatten: the struct's slice and nulls)
            yield from _packed(f"{name}.{child.name}", leaf)
        return
    values = _int64_values(arr)
    if values is not None and arr.null_count:
        values = np.where(np.asarray(arr.is_valid()), values, 0)
    if values is None:
        yield name, _AS_IS, arr
    elif not (kept or arr.null_count or values.any()):
        yield name, _ZERO, None
    elif _fits(values):
        yield name, _NARROW, pa.Array.from_buffers(pa.int32(), len(arr), [_validity(arr), pa.py_buffer(values.astype(np.int32))])
    else:
        yield name, _AS_IS, arr


def _fits(values: np.ndarray) -> bool:
    return not len(values) or (values.min() >= _LOW and values.max() <= _HIGH)


def _unpacked(name: str, kind: pa.DataType, forms: dict, columns: dict, n: int) -> pa.Array:
    form = forms[name]
    if form == _NULL:
        return pa.nulls(n, kind)
    if pa.types.is_struct(kind):
        children = [_unpacked(f"{name}.{f.name}", f.type, forms, columns, n) for f in kind]
        mask = None
        if form == _VALID:
            mask = pa.array(~np.asarray(columns[name], dtype=bool))
        return pa.StructArray.from_arrays(children, fields=list(kind), mask=mask)
    if form == _AS_IS:
        return columns[name]
    if form == _ZERO:
        return pa.Array.from_buffers(kind, n, [None, pa.py_buffer(np.zeros(n, np.int64))])
    narrow = columns[name]
    values = np.frombuffer(narrow.buffers()[1], np.int32)[narrow.offset:narrow.offset + n]
    return pa.Array.from_buffers(kind, n, [_validity(narrow), pa.py_buffer(values.astype(np.int64))])


def _int64_values(arr: pa.Array):
    """The 64-bit integers of an int64 or decimal64 array, as numpy (None for other types)."""
    if not (pa.types.is_int64(arr.type) or (pa.types.is_decimal(arr.type) and arr.type.byte_width == 8)):
        return None
    return np.frombuffer(arr.buffers()[1], np.int64)[arr.offset:arr.offset + len(arr)]


def _validity(arr: pa.Array):
    """arr's validity bitmap starting at its first row (None without nulls)."""
    if not arr.null_count:
        return None
    return arr.is_valid().buffers()[1]

"""Rows of an Arrow table picked by position (`Table.take`), a nested column child by child.

Arrow's take of a list or a struct column is several times slower than the takes of its
children: on 262k claims, the items (a list of structs of a dictionary and a string) took
36 ms where their children take 9 ms, and a result's `paid` (a struct of three decimals) 4.8 ms
where each decimal takes 0.3. `med run` takes every claim once when it deals a year into
buckets and every result once when it merges them (partition.py), so this is most of the
cost of a year too large to settle in one piece. The values are the same as `Table.take`'s;
the buffers may differ where no value does (a struct's children carry the struct's nulls).
"""

from __future__ import annotations

from typing import Union

import numpy as np
import pyarrow as pa


def take_rows(table: Union[pa.Table, pa.RecordBatch], rows: np.ndarray) -> Union[pa.Table, pa.RecordBatch]:
    """The rows at the positions `rows` (int64, each in range), in that order: a table of one
    chunk, or a record batch for a record batch."""
    rows = np.asarray(rows, dtype=np.int64)
    columns = [take(one_array(column), rows) for column in table.columns]
    kind = pa.RecordBatch if isinstance(table, pa.RecordBatch) else pa.Table
    return kind.from_arrays(columns, schema=table.schema)


def take(arr: pa.Array, rows: np.ndarray) -> pa.Array:
    """arr's values at positions `rows`."""
    if arr.null_count == len(arr):  # (a result's error column, most of a year: no children taken)
        return pa.nulls(len(rows), arr.type)
    if pa.types.is_struct(arr.type):
        return _take_struct(arr, rows)
    if pa.types.is_list(arr.type):
        return _take_list(arr, rows)
    return arr.take(pa.array(rows))


def _take_struct(arr: pa.StructArray, rows: np.ndarray) -> pa.Array:
    children = [take(child, rows) for child in arr.flatten()]  # (flatten: the struct's slice and nulls)
    mask = np.asarray(arr.is_null(), dtype=bool)[rows] if arr.null_count else None
    return pa.StructArray.from_arrays(children, fields=list(arr.type), mask=None if mask is None else pa.array(mask))


def _take_list(arr: pa.ListArray, rows: np.ndarray) -> pa.Array:
    """A list's picked rows: their runs of the child, picked in one take of the child."""
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + len(arr) + 1]
    starts, lengths = offsets[:-1][rows], np.diff(offsets)[rows]
    new = np.zeros(len(rows) + 1, np.int32)
    np.cumsum(lengths, out=new[1:])
    # Child position of each new element: its run's start in the old child, plus its place in the run.
    picked = np.arange(new[-1], dtype=np.int64) + np.repeat(starts.astype(np.int64) - new[:-1], lengths)
    values = take(arr.values, picked)  # (values: the whole child; the offsets point into it)
    mask = np.asarray(arr.is_null(), dtype=bool)[rows] if arr.null_count else None
    return pa.ListArray.from_arrays(pa.array(new), values, type=arr.type,
                                    mask=None if mask is None else pa.array(mask))


def one_array(column) -> pa.Array:
    """A column as one array: a chunked column of one chunk is that chunk (combine_chunks would copy it)."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()

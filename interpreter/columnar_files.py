"""The files the columnar engine reads and writes (`med run` with the batch engine).

Claims: a Parquet file, read a row group at a time with the few-word columns as dictionaries,
or an Arrow IPC file (`.arrow`, `.feather`; also an IPC stream), read in place from a memory map,
its record batches playing the row groups. Either is a `ClaimsFile`: its row groups' sizes (how
partition.py deals runs of them to workers), the whole table, or batches of some row groups.

Results come as windows of ROW_GROUP rows in input order (partition.py); a *sink* writes them:
Parquet (money as INT64 decimals, read back as decimal128(18, 2)), an Arrow IPC file (money as
decimal128(18, 2), the contract's table type), or result rows (the contract's JSON) for the
text writers of output.py.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from .arrow import fields_once
from .files import ClaimsUnreadable, is_arrow

ROW_GROUP = 1 << 17          # output rows per row group, whatever the partitioning

# Money as the engine computes it, int64 fen, given to the writer as decimal64(18, 2): no
# conversion to decimal128's two words a row, and Parquet stores it as INT64 decimals either way;
# readers see decimal128(18, 2) (the file keeps no Arrow schema). Older pyarrow: decimal128.
_NEW_PARQUET = int(pa.__version__.split(".")[0]) >= 19
FILE_MONEY = pa.decimal64(18, 2) if _NEW_PARQUET and hasattr(pa, "decimal64") else pa.decimal128(18, 2)

Sink = Callable[[Iterator[pa.Table]], None]


def file_schema(policy) -> pa.Schema:
    """The columns of the results' file as the engine hands them to the writer (FILE_MONEY)."""
    from .arrow import all_funds, result_schema
    return result_schema(all_funds(policy), False, FILE_MONEY)


# ---- claims in ------------------------------------------------------------------------------

class ClaimsFile:
    """A Parquet or Arrow IPC file of claims. Opening reads the metadata only (OSError where
    the file is neither); `group_rows` gives each row group's rows (an IPC file's record
    batches), `read` the whole table, `batches` some row groups a few rows at a time."""

    def __init__(self, path: str):
        self.path = path
        if is_arrow(path):
            self._ipc = _open_ipc(path)
            self.group_rows = [self._ipc.batch(g).num_rows for g in range(self._ipc.count)]
            schema = self._ipc.schema
        else:
            self._ipc = None
            parquet = _parquet_file(path)
            meta, schema = parquet.metadata, parquet.schema_arrow
            self.group_rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        try:
            fields_once(schema)
        except ValueError as e:
            raise OSError(str(e)) from None
        self.rows = sum(self.group_rows)
        self.schema = schema

    def read(self) -> pa.Table:
        """Every claim, as one table."""
        if self._ipc is None:
            return read_claims(self.path)
        return pa.Table.from_batches([self._ipc.batch(g) for g in range(self._ipc.count)], self._ipc.schema)

    def batches(self, batch_size: int, groups: Optional[range] = None) -> Iterator[pa.RecordBatch]:
        """The row groups `groups` (default all) in batches of at most `batch_size` rows, none
        spanning two row groups."""
        if self._ipc is None:
            yield from claim_batches(self.path, batch_size, groups)
            return
        for g in groups if groups is not None else range(self._ipc.count):
            batch = self._ipc.batch(g)
            for start in range(0, batch.num_rows, batch_size):
                yield batch.slice(start, batch_size)


class ClaimRecords:
    """A Parquet or Arrow IPC claims file as the scalar engine's streaming run reads a text one
    (inputs.ClaimFile's interface, for runner.run_claims): `records()` yields (row number from
    1, claim as the contract's JSON, None), a batch of rows read at a time, so a columnar year
    settles with the trace in fixed memory. `size` is what the rows would be as JSON lines
    (the runner parks claims on disk from IN_MEMORY_BYTES of them; a Parquet claim is a tenth of
    its JSON). Opening raises OSError where the file is neither format."""

    JSON_BYTES = 320   # a claim's JSON text, about (a Suihua inpatient claim: 250-400 bytes)

    def __init__(self, path: str):
        self.path, self.file = path, ClaimsFile(path)
        self.rows = self.file.rows
        self.size = self.rows * self.JSON_BYTES
        self._done = 0

    def position(self) -> int:
        """How far the reading is, in `size`'s units (for the progress bar)."""
        return self._done * self.JSON_BYTES

    def records(self) -> Iterator[tuple[int, dict, None]]:
        from .arrow import claims_from_table

        for batch in self.file.batches(ROW_GROUP):
            for claim in claims_from_table(pa.Table.from_batches([batch])):
                self._done += 1
                yield self._done, claim, None

    def close(self) -> None:
        pass

    def __enter__(self) -> "ClaimRecords":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Ipc:
    """An Arrow IPC file's record batches by number (memory-mapped: read in place), or a
    stream's, read whole (a stream has no index to seek by)."""

    def __init__(self, path: str):
        try:
            self._file = pa.ipc.open_file(pa.memory_map(path))
        except pa.ArrowInvalid:  # not the file format: a stream
            self._file = None
            stream = pa.ipc.open_stream(pa.memory_map(path))
            self.schema, self._batches = stream.schema, list(stream)
        else:
            self.schema, self._batches = self._file.schema, None
        self.count = self._file.num_record_batches if self._file is not None else len(self._batches)

    def batch(self, g: int) -> pa.RecordBatch:
        try:
            return self._file.get_batch(g) if self._file is not None else self._batches[g]
        except (OSError, pa.ArrowInvalid) as e:
            raise ClaimsUnreadable(f"record batch {g}: {e}") from e


def _parquet_file(path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except pa.ArrowInvalid as e:  # (OSError passes as it is: no such file, a folder...)
        raise OSError(f"not a Parquet file, or a damaged one: {e}") from e


def _open_ipc(path: str) -> _Ipc:
    try:
        return _Ipc(path)
    except pa.ArrowInvalid as e:  # (OSError passes as it is: no such file, a folder...)
        raise OSError(f"not an Arrow IPC file or stream: {e}") from e


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The claim columns of few distinct words (dates, schemes, facilities' levels, types and
    grades, item classes) that are best read as Parquet stores them, as dictionaries: each word
    is then parsed once."""
    string = pa.types.is_string
    out = [name for name in ("date", "scheme", "status", "benefit", "place")
           if name in schema.names and string(schema.field(name).type)]
    kind = schema.field("facility").type if "facility" in schema.names else None
    if kind is not None and pa.types.is_struct(kind):
        out += [f"facility.{name}" for name in ("level", "type", "grade")
                if kind.get_field_index(name) >= 0 and string(kind.field(name).type)]
    kind = schema.field("items").type if "items" in schema.names else None
    if kind is not None and pa.types.is_list(kind) and pa.types.is_struct(kind.value_type) \
            and kind.value_type.get_field_index("class") >= 0 and string(kind.value_type.field("class").type):
        out.append("items.list.element.class")
    kind = schema.field("groups").type if "groups" in schema.names else None
    if kind is not None and pa.types.is_list(kind) and string(kind.value_type):
        out.append("groups.list.element")
    return out


def read_claims(path: str) -> pa.Table:
    """A claims Parquet file as one table, the few-word columns as dictionaries, a row group at
    a time: pyarrow cannot give a nested column (the items' classes) as one dictionary across row
    groups whose dictionaries differ ("Nested data conversions not implemented for chunked array
    outputs"); the engine unifies the row groups' dictionaries when it combines the chunks."""
    plain = pq.ParquetFile(path)
    words = pq.ParquetFile(path, read_dictionary=dictionary_columns(plain.schema_arrow))
    tables = []
    for g in range(plain.num_row_groups):
        try:
            tables.append(words.read_row_group(g))
        except pa.ArrowNotImplementedError:  # words changing within the row group: read plain, then cast
            tables.append(plain.read_row_group(g).cast(words.schema_arrow))
        except (OSError, pa.ArrowInvalid) as e:
            raise ClaimsUnreadable(f"row group {g}: {e}") from e
    return pa.concat_tables(tables) if tables else words.schema_arrow.empty_table()


def claim_batches(path: str, batch_size: int, groups: Optional[range] = None) -> Iterator[pa.RecordBatch]:
    """A claims Parquet file (its row groups `groups`, default all) in batches of at most
    `batch_size` rows, as read_claims reads it (no batch spans two row groups, so none holds two
    dictionaries of a nested column)."""
    plain = pq.ParquetFile(path)
    words = pq.ParquetFile(path, read_dictionary=dictionary_columns(plain.schema_arrow))
    for g in groups if groups is not None else range(plain.num_row_groups):
        try:
            yield from _row_group_batches(plain, words, g, batch_size)
        except (OSError, pa.ArrowInvalid) as e:
            raise ClaimsUnreadable(f"row group {g}: {e}") from e


def _row_group_batches(plain: pq.ParquetFile, words: pq.ParquetFile, g: int, batch_size: int) -> Iterator[pa.RecordBatch]:
    done = 0
    try:
        for batch in words.iter_batches(batch_size=batch_size, row_groups=[g]):
            yield batch
            done += 1
    except pa.ArrowNotImplementedError:  # the rest of the row group read plain, then cast
        for k, batch in enumerate(plain.iter_batches(batch_size=batch_size, row_groups=[g])):
            if k >= done:
                yield batch.cast(words.schema_arrow)


# ---- results out ----------------------------------------------------------------------------

def write_results(table_windows: Iterator[pa.Table], out: str, schema: pa.Schema) -> None:
    """Parquet written in windows of ROW_GROUP rows, each one chunk: the same bytes however
    the rows were computed."""
    with pq.ParquetWriter(out, schema, **writer_options(schema)) as w:
        for window in table_windows:
            w.write_table(window.combine_chunks(), row_group_size=ROW_GROUP)


def writer_options(schema: pa.Schema) -> dict:
    """Dictionary pages only for the few-valued columns (year, benefit, the error's fields);
    no statistics for id and person. A dictionary for the money columns or the unique strings
    is built and then abandoned, and the strings' min/max is no use to a reader: writing took
    2.3x the time for a file a fifth larger (docs/scale.md). Decimals of 18 digits are stored as
    Parquet's INT64 decimals, delta-encoded (read back as decimal128(18, 2) by Arrow, pandas and
    DuckDB)."""
    few = [name for name in ("year", "benefit") if name in schema.names]
    if "error" in schema.names:
        few += [f"error.{f.name}" for f in schema.field("error").type]
    leaves = []
    for f in schema:
        leaves += [f"{f.name}.{c.name}" for c in f.type] if pa.types.is_struct(f.type) else [f.name]
    options = {"use_dictionary": few, "write_statistics": [n for n in leaves if n not in ("id", "person")]}
    if _NEW_PARQUET:  # money as Parquet's INT64 decimals: smaller, quicker
        options["store_decimal_as_integer"] = True
        # ... delta-encoded (bit-packed differences): a third smaller again and quicker to write
        options["column_encoding"] = {n: "DELTA_BINARY_PACKED" for n in _money_leaves(schema)}
    if any(pa.types.is_decimal(t) and t.byte_width == 8 for t in _leaf_types(schema)):
        # No Arrow schema in the file: readers then take the INT64 decimals as decimal128(18, 2),
        # as they did when the writer was given decimal128 (every other column reads back the same).
        options["store_schema"] = False
    return options


def _leaf_types(schema: pa.Schema) -> list:
    return [c.type for f in schema for c in (f.type if pa.types.is_struct(f.type) else [f])]


def _money_leaves(schema: pa.Schema) -> list[str]:
    leaves = []
    for f in schema:
        if pa.types.is_struct(f.type):
            leaves += [f"{f.name}.{c.name}" for c in f.type if pa.types.is_decimal(c.type) and c.type.precision <= 18]
        elif pa.types.is_decimal(f.type) and f.type.precision <= 18:
            leaves.append(f.name)
    return leaves


def parquet_sink(out: str, schema: pa.Schema) -> Sink:
    """Windows written to a Parquet file `out` (write_results)."""
    return lambda windows: write_results(windows, out, schema)


def arrow_sink(out: str, schema: pa.Schema) -> Sink:
    """Windows written to an Arrow IPC file `out`, cast to `schema` (the contract's result
    table: money as decimal128(18, 2)), a record batch a window, in buffers laid out the same
    however the rows were computed (_canonical): the same bytes for any --jobs."""
    def write(windows: Iterator[pa.Table]) -> None:
        with pa.ipc.new_file(out, schema) as w:
            for window in windows:
                w.write_table(_canonical(window.cast(schema)))
    return write


def _canonical(table: pa.Table) -> pa.Table:
    """The table's values in one layout of buffers, whether its rows were sliced from one result
    or taken from buckets' results: a struct's children carry the struct's nulls, no column
    keeps a validity bitmap without a null in it, and a number under a null is 0. (Parquet stores no bitmaps: it needs none of
    this.) Arrow IPC writes buffers as they are, and a take gives the error struct's children
    bitmaps that a slice does not."""
    return pa.Table.from_arrays([_canonical_array(c.combine_chunks()) for c in table.columns], schema=table.schema)


def _canonical_array(arr: pa.Array) -> pa.Array:
    if pa.types.is_struct(arr.type):
        children = [_canonical_array(child) for child in arr.flatten()]
        return pa.StructArray.from_arrays(children, fields=list(arr.type),
                                          mask=arr.is_null() if arr.null_count else None)
    if arr.null_count == 0 and arr.buffers()[0] is not None and arr.type.num_fields == 0:
        return pa.Array.from_buffers(arr.type, len(arr), [None, *arr.buffers()[1:]], offset=arr.offset)
    if arr.null_count and (pa.types.is_integer(arr.type) or pa.types.is_decimal(arr.type)):
        # (zeros under the nulls: a row the scalar engine gave has no year under its null, one of
        # the engine's may; the bitmap made afresh, its padding zero)
        values = arr.fill_null(pa.scalar(0, arr.type)).buffers()[1]
        return pa.Array.from_buffers(arr.type, len(arr), [arr.is_valid().buffers()[1], values])
    return arr


def rows_sink(write_row: Callable[[dict], None]) -> Sink:
    """Windows handed on as result rows (the contract's JSON, arrow.result_rows), one by one."""
    from .arrow import result_rows

    def write(windows: Iterable[pa.Table]) -> None:
        for window in windows:
            for row in result_rows(window):
                write_row(row)
    return write

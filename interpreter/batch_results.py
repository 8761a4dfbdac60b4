"""The columnar engine's last stage: the result columns (batch.py, step 5).

Money from int64 fen as decimal64 (the values as they are) or decimal128(18, 2) (two words a row),
and the rows the scalar engine settled written over the engine's own at their places (`Patch`),
so no column of the whole table is gathered again.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow import MONEY
from .batch_columns import arrow_bools, bitmap_of, fen_of_decimals, is_given


class Patch:
    """Rows of another engine (`theirs`, at input positions `where`) written over columns."""

    def __init__(self, theirs: pa.Table, where: np.ndarray, money: pa.DataType = MONEY):
        self.theirs, self.where, self.money_type = theirs, where, money
        self.n_theirs = len(where)
        # Money columns of the same amounts (cash and patient; account, its balance and the
        # allowance, all 0) share one values buffer, each its own validity: a 16 MB buffer per
        # million rows written, and its memory faulted in, once, not per column.
        self.words: dict = {}
        self.patched: set = set()   # ids of amounts patched in place
        self.validity: dict = {}    # (id of ours, theirs) -> patched validity, shared like the words

    def flags(self, ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
        if not self.n_theirs:
            return ours
        ours = ours.copy()
        ours[self.where] = theirs
        return ours

    def money(self, column, fen: np.ndarray, valid: np.ndarray) -> pa.Array:
        theirs = None
        if self.n_theirs:
            column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            theirs = fen_of_decimals(column)
            given = is_given(column)
            shared = (id(valid), given.tobytes())
            if shared not in self.validity:  # (valid kept with it: its id is not reused meanwhile)
                self.validity[shared] = (valid, self.flags(valid, given))
            valid = self.validity[shared][1]
        key = (id(fen), None if theirs is None else theirs.tobytes())
        if key not in self.words:  # (fen kept with its words: its id is not reused while the key is)
            if theirs is None:
                values = fen
            elif id(fen) not in self.patched and fen.flags.writeable:
                # The first column over these amounts takes theirs in place (nothing reads the
                # engine's amounts after this: no 8 MB copy a million rows); a later column over
                # them with other rows of theirs patches a copy at the same rows.
                fen[self.where] = theirs
                self.patched.add(id(fen))
                values = fen
            else:
                values = self.flags(fen, theirs)
            # decimal64's values are the fen themselves; decimal128's two words a row.
            self.words[key] = (fen, values if self.money_type.byte_width == 8 else _words(values))
        return with_validity(self.money_type, self.words[key][1], valid)

    def text(self, arr: pa.Array, name: str) -> pa.Array:
        """A column of strings or structs: ours and theirs side by side, then one take."""
        if not self.n_theirs:
            return arr
        theirs = self.theirs.column(name).combine_chunks().cast(arr.type)
        if theirs.equals(arr.take(pa.array(self.where))):  # (ids and persons: the claims' own, as a rule)
            return arr
        index = np.arange(len(arr))
        index[self.where] = len(arr) + np.arange(self.n_theirs)
        return pa.concat_arrays([arr, theirs]).take(pa.array(index))


def null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(arrow_bools(mask), pa.nulls(len(arr), arr.type), arr) if mask.any() else arr


def _words(fen: np.ndarray) -> np.ndarray:
    """int64 fen as decimal128's two's-complement words (low, high), row by row."""
    words = np.empty((len(fen), 2), np.int64)
    words[:, 0] = fen
    np.right_shift(fen, 63, out=words[:, 1])
    return words


def with_validity(kind: pa.DataType, values: np.ndarray, valid: Optional[np.ndarray]) -> pa.Array:
    """A fixed-width Arrow array over `values`' bytes, null where `valid` is False."""
    nulls = 0 if valid is None else int(len(valid) - np.count_nonzero(valid))
    return pa.Array.from_buffers(kind, len(values), [bitmap_of(valid) if nulls else None, pa.py_buffer(values)],
                                 null_count=nulls)


def with_rows_refused(settled: pa.Table, refused: np.ndarray, ids: Optional[pa.Array], errors: list[dict],
                      which: np.ndarray) -> pa.Table:
    """The run's rows in input order: `settled` where `refused` is False, and where it is True an
    error row of `errors[which]`, its id from `ids` (the refused rows' own, in order), every other
    field null (as the scalar engine's error row). The metadata is `settled`'s. One gather of
    the rows (a file whose every claim is refused: 1M rows of 13 null money columns gathered
    three times took 1.9 GB)."""
    schema = settled.schema
    error = pa.array(errors, schema.field("error").type)  # (the other fields null: no row of dicts)
    proto = pa.table([error if f.name == "error" else pa.nulls(len(errors), f.type) for f in schema],
                     schema=schema.remove_metadata())
    both = pa.concat_tables([settled.replace_schema_metadata(None), proto]).combine_chunks()
    at = np.empty(len(refused), np.int64)
    at[~refused] = np.arange(settled.num_rows)
    at[refused] = settled.num_rows + which
    rows = both.take(pa.array(at))
    if ids is not None:
        at[refused] = settled.num_rows + np.arange(len(ids))
        kind = schema.field("id").type
        own = pa.chunked_array(settled.column("id").chunks + pa.chunked_array([ids]).cast(kind).chunks, kind)
        rows = rows.set_column(schema.get_field_index("id"), schema.field("id"), own.take(pa.array(at)))
    return rows.replace_schema_metadata(schema.metadata)


# An id Python's repr quotes as it is: printable ASCII, no quote, no backslash (errors.duplicate_id).
_QUOTED_AS_IS = r"^[ -&(-\[\]-~]*$"


def duplicate_id_rows(ids: pa.Array, schema: pa.Schema) -> pa.Table:
    """The `duplicate-id` error rows of claims with these ids, as settle_all makes them
    (errors.duplicate_id): every field null but the id and the error; the messages joined in
    columns where the id's repr is the id in quotes, else from the error itself."""
    from .errors import duplicate_id

    k = len(ids)
    message = pc.binary_join_element_wise("claim id '", ids, "' appears more than once in this run", "")
    plain = np.asarray(pc.match_substring_regex(ids, _QUOTED_AS_IS), dtype=bool)
    if not plain.all():
        other = [duplicate_id(v).message for v in ids.filter(arrow_bools(~plain)).to_pylist()]
        message = pc.replace_with_mask(message, arrow_bools(~plain), pa.array(other, pa.string()))
    error = pa.StructArray.from_arrays([pa.repeat(pa.scalar("duplicate-id"), k), message, pa.repeat(pa.scalar("id"), k)],
                                       fields=list(schema.field("error").type))
    columns = {"id": ids, "error": error}
    return pa.table([columns.get(f.name, pa.nulls(k, f.type)) for f in schema], schema=schema)

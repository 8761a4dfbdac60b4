"""The columnar engine's first stage: a claims table's columns read into numpy (batch.py, step 1).

Each field of the common shape (scheme, status, benefit, the facility's level, type and grade,
place, groups, items of class and amount) becomes integer codes into the policy's vocabulary, dates
day ordinals, amounts int64 fen, whole numbers the clauses compare (an age) their values, and
`Claims.ok` says which rows have the shape; every other row is the scalar engine's.
A field outside the shape that the policy never reads (`batch_plans.unread_fields`) is checked
in vector form and keeps the row.
Strings are read from Arrow's buffers (dictionary pages as Parquet gives them: each word once), and
nothing here is a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batch_kernels import kernels, string_parts
from .batch_plans import unread_fields
from .claim_fields import CLAIM_FIELDS, FACILITY_FIELDS, ITEM_FIELDS
from .claims import person_as_read
from .takes import one_array

EPOCH = 719163                # date(1970, 1, 1).toordinal()
_COMMON = ("id", "person", "date", "scheme", "benefit", "status", "facility", "place", "groups", "maternity", "items")
_FIELDS = {**{f.name: f for f in CLAIM_FIELDS}, **{f"facility.{f.name}": f for f in FACILITY_FIELDS}}
_ITEM_DAYS = next(f for f in ITEM_FIELDS if f.name == "days")
GRADES = _FIELDS["facility.grade"].values  # (A, B: the claim's words; the vocabulary's grade-A, grade-B)
_AMOUNT = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _measure_of(field) -> Optional[str]:
    """The measure a top-level whole-number field feeds (age -> "age"), or None."""
    if field is None or field.type != "whole":
        return None
    return next((word[len("measure "):] for word in field.feeds if word.startswith("measure ")), None)


def _column(table: pa.Table, name: str):
    return one_array(table.column(name)) if name in table.column_names else None


def _whole_values(arr, field) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """A whole-number column's values (a null as the field's lowest) and which the claim reader
    takes as they are: an integer column's within the field's range, or a float column's whole
    numbers within it (pandas makes a column with a gap float: its 85.0 is the reader's 85, and
    its NaN a null); None for a column of any other type."""
    if pa.types.is_integer(arr.type) and arr.type != pa.uint64():
        values = np.asarray(arr.fill_null(field.low), dtype=np.int64)
        return values, (values >= field.low) & (values <= field.high)
    if not pa.types.is_floating(arr.type):
        return None
    x = np.asarray(arr.cast(pa.float64()).fill_null(float(field.low)), dtype=np.float64)
    with np.errstate(invalid="ignore"):  # (a NaN that is not a null: not within, the reader refuses it)
        within = (x >= field.low) & (x <= field.high) & (x == np.floor(x))
    return np.where(within, x, field.low).astype(np.int64), within


def is_given(arr) -> np.ndarray:
    """Whether each value is given: the validity bitmap unpacked (pyarrow's conversion to numpy
    is slower and, on first use, imports pandas)."""
    if arr is None:
        return None
    n, nulls = len(arr), arr.null_count
    if nulls == 0:
        return np.ones(n, bool)
    if nulls == n:
        return np.zeros(n, bool)
    bitmap = arr.buffers()[0]
    if bitmap is None or pa.types.is_union(arr.type) or pa.types.is_dictionary(arr.type):
        return np.asarray(pc.is_valid(arr), dtype=bool)
    return _unpack(bitmap, arr.offset, n)


def _unpack(bitmap: pa.Buffer, offset: int, n: int) -> np.ndarray:
    """An Arrow bitmap's bits offset..offset+n as a bool array."""
    first, last = offset // 8, (offset + n + 7) // 8
    bits = np.unpackbits(np.frombuffer(bitmap, np.uint8, last - first, first), bitorder="little")
    return bits[offset % 8:offset % 8 + n].view(bool)


def _codes(arr, names: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each string in `names` (-1: null or another value) and whether it is one of them.
    The codes in the smallest integer type that holds them (int8 for a vocabulary's few words: a
    million rows' codes 1 MB, not 8; the arithmetic on them widens to int64 where it mixes them)."""
    kind = np.int8 if len(names) < 127 else np.int32
    if arr is None:
        return np.full(n, -1, kind), np.zeros(n, bool)
    if pa.types.is_dictionary(arr.type):  # as Parquet's dictionary pages are read: look up each word once
        return _by_word(arr, lambda words: _codes(words, names, len(words))[0], -1)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return np.full(n, -1, kind), np.zeros(n, bool)
    idx = pc.index_in(arr, value_set=pa.array(names, pa.string()))
    codes = np.asarray(idx.fill_null(-1)).astype(kind)
    return codes, codes >= 0


def _by_word(arr, of_words, missing) -> tuple[np.ndarray, np.ndarray]:
    """A dictionary array's values through `of_words` (numpy, one per dictionary word) per row."""
    words = of_words(arr.dictionary)
    per_word = np.append(words, np.asarray(missing, words.dtype))  # (in the words' own type)
    indices = arr.indices
    kind = np.dtype(f"int{indices.type.bit_width}")
    index = np.frombuffer(indices.buffers()[1], kind, len(indices), indices.offset * kind.itemsize)
    if indices.null_count:
        index = np.where(is_given(indices), index, -1)  # -1: the `missing` value appended
    # (the indices as Parquet gave them, int32: no int64 copy; indexing, not `take`, which with
    # int32 indices into a small table took 20x the time: 65 ms for 3M item classes, numpy 2.4)
    values = per_word[index]
    return values, values != missing


def small_offsets(table: pa.Table) -> pa.Table:
    """The table with its 64-bit-offset types (large_string, large_binary, large_list, as pandas 3
    and Polars write text and lists) and its string views (Polars' own) as plain strings and
    lists, wherever they are (a struct's field, a list's values), so a claim's fields have the
    types the engine reads: before, such a table went whole to the scalar engine. A large
    string's text is not copied, only its offsets; a column too big for 32-bit offsets (2 GB of
    text in one chunk) is left as it is, and is the scalar engine's."""
    fields = [f.with_type(_small(f.type)) for f in table.schema]
    if all(f.type == g.type for f, g in zip(fields, table.schema)):
        return table
    columns = []
    for column, field in zip(table.columns, fields):
        try:
            columns.append(column.cast(field.type) if column.type != field.type else column)
        except (pa.ArrowInvalid, pa.ArrowCapacityError):
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _small(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        value = t.value_field
        return pa.list_(value.with_type(_small(value.type)))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_small(f.type)) for f in t])
    if pa.types.is_dictionary(t):
        return pa.dictionary(t.index_type, _small(t.value_type), t.ordered)
    return t


def _plain_strings(arr):
    """id and person as plain strings (a dictionary-encoded column decoded)."""
    if arr is not None and pa.types.is_dictionary(arr.type) and pa.types.is_string(arr.type.value_type):
        return arr.cast(pa.string())
    return arr


# What str.strip() takes off an ASCII string's ends (str.isspace).
_ASCII_SPACE = np.zeros(256, bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True


def normal_persons(arr):
    """Each person as the claim reader reads it (claims.person_as_read: NFC, no white space around), so
    that two spellings of one person are one person here as there, and the results show it as
    the scalar engine does. Most persons are so already: ASCII with no space at either end,
    checked from the bytes (a string's first and last); the others by the reader's own rule."""
    if arr is not None and pa.types.is_dictionary(arr.type) and pa.types.is_string(arr.type.value_type):
        arr = arr.cast(pa.string())
    if arr is None or not pa.types.is_string(arr.type) or not len(arr) or arr.buffers()[2] is None:
        return arr
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0]:offsets[-1]]
    if not len(data):
        return arr
    at = offsets - offsets[0]
    # (an empty string reads a neighbour's byte: at worst a row checked by the rule for nothing)
    check = _ASCII_SPACE[np.take(data, at[:-1], mode="clip")] | _ASCII_SPACE[np.take(data, at[1:] - 1, mode="clip")]
    if (data >= 0x80).any():
        check |= ~np.asarray(pc.string_is_ascii(arr).fill_null(True), dtype=bool)
    if not check.any():
        return arr
    rows = np.flatnonzero(check & is_given(arr))
    values = arr.take(pa.array(rows)).to_pylist()
    normal = [person_as_read(v) for v in values]
    changed = [k for k, (v, w) in enumerate(zip(values, normal)) if v != w]
    if not changed:
        return arr
    index = np.arange(n)
    index[rows[changed]] = n + np.arange(len(changed))
    return pa.concat_arrays([arr, pa.array([normal[k] for k in changed], pa.string())]).take(pa.array(index))


def fen_of_decimals(arr) -> np.ndarray:
    """A decimal128(18, 2) (or decimal64(18, 2)) array's values as int64 fen (its low 64 bits:
    the values are small)."""
    if arr.type.byte_width == 8:
        return np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr)].copy()
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64).reshape(-1, 2)
    return words[arr.offset:arr.offset + len(arr), 0].copy()


def _amounts(arr) -> tuple[np.ndarray, np.ndarray]:
    """Item amounts as fen, and which are a plain amount the fast path of claims.py accepts."""
    n = len(arr)
    if pa.types.is_string(arr.type):
        loops = kernels(n)
        parsed = loops.two_decimals(*string_parts(arr)) if loops is not None else _two_decimals(arr)
        if parsed is not None:
            return parsed
        ok = np.asarray(pc.match_substring_regex(arr, _AMOUNT).fill_null(False), dtype=bool)
        text = arr if ok.all() else pc.if_else(arrow_bools(ok), arr, pa.scalar("0", pa.string()))
        return fen_of_decimals(pc.cast(text, pa.decimal128(18, 2))), ok
    if pa.types.is_decimal(arr.type):
        return _decimal_fen(arr)
    if pa.types.is_floating(arr.type):
        return _float_fen(arr)
    if pa.types.is_integer(arr.type):
        return _whole_yuan_fen(arr)
    if pa.types.is_dictionary(arr.type) and len(arr.dictionary):  # (amounts as a categorical: each word once)
        fen, ok = _amounts(arr.dictionary)
        index = np.asarray(arr.indices.fill_null(0), dtype=np.int64)
        given = is_given(arr)
        return np.where(given, fen[index], 0), given & ok[index]
    return np.zeros(n, np.int64), np.zeros(n, bool)


# The largest amount in columns: 13 whole digits, as the strings the engine reads (_AMOUNT); a
# larger one is the scalar engine's to read or refuse.
_FEN_LIMIT = 10 ** 15


def _decimal_fen(arr) -> tuple[np.ndarray, np.ndarray]:
    """A decimal column's amounts as fen, and which the engine takes: given, whole fen, not
    negative, within _FEN_LIMIT. Judged value by value, whatever the column's type: DuckDB's and
    the contract's DECIMAL(18, 2) or Spark's default (38, 18) hold small amounts too (the type
    alone once sent every claim of such a file to the scalar engine, 60x slower)."""
    n, kind = len(arr), arr.type
    given = is_given(arr)
    try:
        if kind.byte_width < 16:  # decimal32 and decimal64: widened as they are (round takes neither)
            arr = pc.cast(arr, pa.decimal128(38, kind.scale))
            kind = arr.type
        if kind.scale > 2:  # whole fen only (8000.000000000000000000 is; 0.001 is the reader's to refuse)
            whole = pc.equal(pc.round(arr, 2, round_mode="towards_zero"), arr).fill_null(False)
            given &= np.asarray(whole, dtype=bool)
            arr = pc.if_else(whole, arr, pa.scalar(Decimal(0), kind))
        # (the words under a null are read and not used: `given` masks them)
        wide = arr if kind.scale == 2 and kind.byte_width == 16 else pc.cast(arr, pa.decimal128(38, 2))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a decimal256 value too wide for 38 digits
        return np.zeros(n, np.int64), np.zeros(n, bool)
    words = np.frombuffer(wide.buffers()[1], dtype=np.int64).reshape(-1, 2)[wide.offset:wide.offset + n]
    fen, high = words[:, 0], words[:, 1]
    ok = given & (high == 0) & (fen >= 0) & (fen < _FEN_LIMIT)
    return np.where(ok, fen, 0), ok


def _float_fen(arr) -> tuple[np.ndarray, np.ndarray]:
    """A float column's amounts (pandas keeps money so) as the claim reader reads a float: the
    decimal its shortest repr writes. That has at most two decimals exactly when the nearest
    whole number of fen, divided by 100, is the float again (below 10^13 yuan a float's spacing is
    under a fen, so no other two-decimal value shares it); any other amount, a NaN, an infinity,
    a negative (or -0.0) or one of 14 whole digits is the scalar engine's to read or refuse."""
    x = np.asarray(arr.cast(pa.float64()).fill_null(0.0), dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        fen = np.rint(x * 100)
        ok = is_given(arr) & np.isfinite(x) & ~np.signbit(x) & (fen < _FEN_LIMIT) & (fen / 100 == x)
    return np.where(ok, fen, 0).astype(np.int64), ok


def _whole_yuan_fen(arr) -> tuple[np.ndarray, np.ndarray]:
    """An integer column's amounts (whole yuan, as JSON's 5000 is) as fen; a negative one, or one
    of 14 whole digits, is the scalar engine's to refuse (a uint64 beyond int64 too)."""
    x = np.asarray(arr.fill_null(0), dtype=np.uint64 if pa.types.is_uint64(arr.type) else np.int64)
    ok = is_given(arr) & (x >= 0) & (x < _FEN_LIMIT // 100)
    return np.where(ok, x, 0).astype(np.int64) * 100, ok


_DIGITS = np.uint64(0x3333333333333333)


def _two_decimals(arr) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Strings of the shape _AMOUNT (1-13 digits, then . and 1 or 2 digits, or not) as fen, and
    which have it; exactly the regex and the decimal cast, a quarter of their time. Each string
    right-aligned in 16 bytes of '0's (Arrow's ascii_lpad), the '.' taken out by shifting the two
    8-byte words, the 16 digits checked and read 8 at a time by integer arithmetic on the words
    (SWAR). None (the caller's regex then) if the padded strings are not all 16 bytes."""
    n = len(arr)
    lengths = np.diff(np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + n + 1]).astype(np.int64)
    ok = is_given(arr) & (lengths <= 16)
    if not ok.all():
        arr = pc.if_else(arrow_bools(ok), arr, pa.scalar("", pa.string()))
        lengths = np.where(ok, lengths, 0)
    padded = pc.ascii_lpad(arr, 16, "0")
    offsets = np.frombuffer(padded.buffers()[1], np.int32)[padded.offset:padded.offset + n + 1]
    if len(offsets) != n + 1 or (n and (offsets[-1] - offsets[0] != 16 * n or (np.diff(offsets) != 16).any())):
        return None
    words = np.frombuffer(padded.buffers()[2], np.uint64, 2 * n, int(offsets[0])).reshape(n, 2) if n \
        else np.zeros((0, 2), np.uint64)
    w0, w1 = words[:, 0], words[:, 1]   # bytes 0-7, 8-15 (little-endian: byte 0 lowest)
    byte = lambda w, i: (w >> np.uint64(8 * i)) & np.uint64(0xFF)  # noqa: E731
    dot = ord(".")
    two, one = byte(w1, 5) == dot, byte(w1, 6) == dot            # "...d.dd", "...d.d"
    u = np.uint64
    # The 16 digits of the amount in fen: two decimals: '0' + the 13 before the dot + the 2 after;
    # one: the 14 before + the 1 after + '0'; none: the last 14 + '00'.
    hi = np.where(two, (w0 << u(8)) | u(0x30),
                  np.where(one, w0, (w0 >> u(16)) | (w1 << u(48))))
    lo = np.where(two, (w0 >> u(56)) | ((w1 & u(0xFFFFFFFFFF)) << u(8)) | (w1 & u(0xFFFF000000000000)),
                  np.where(one, (w1 & u(0xFFFFFFFFFFFF)) | ((w1 >> u(8)) & u(0xFF000000000000)) | u(0x30 << 56),
                           (w1 >> u(16)) | u(0x3030 << 48)))
    ok &= _eight_digits(hi) & _eight_digits(lo)
    ok &= np.where(two, (lengths >= 4), np.where(one, (lengths >= 3) & (lengths <= 15), (lengths >= 1) & (lengths <= 13)))
    fen = (_read_eight(hi) * u(100_000_000) + _read_eight(lo)).astype(np.int64)
    return np.where(ok, fen, 0), ok


def _eight_digits(w: np.ndarray) -> np.ndarray:
    """Whether each of a word's 8 bytes is an ASCII digit."""
    f0 = np.uint64(0xF0F0F0F0F0F0F0F0)
    return ((w & f0) | (((w + np.uint64(0x0606060606060606)) & f0) >> np.uint64(4))) == _DIGITS


def _read_eight(w: np.ndarray) -> np.ndarray:
    """The number 8 ASCII digits spell (the first at the lowest byte), by three multiply-shifts."""
    u = np.uint64
    w = ((w & u(0x0F0F0F0F0F0F0F0F)) * u(2561)) >> u(8)
    w = ((w & u(0x00FF00FF00FF00FF)) * u(6553601)) >> u(16)
    return ((w & u(0x0000FFFF0000FFFF)) * u(42949672960001)) >> u(32)


class Claims:
    """The columns of the common shape, and which rows have it."""

    def __init__(self, policy, table: pa.Table):
        n = self.n = table.num_rows
        vocab = policy.compiled.vocabulary
        self.names = {k: sorted(vocab.names_of(k)) for k in ("scheme", "benefit", "level", "status", "place", "group",
                                                              "class", "type", "bed-kind", "event")}
        # The item rules' (class, bed kind) pairs, which item_class codes: every class as it is
        # (its kind is normal: claims.Item), then a bed of each other kind.
        beds = [("bed", k) for k in self.names["bed-kind"] if k != "normal"] if "bed" in self.names["class"] else []
        self.item_kinds = [(c, "normal") for c in self.names["class"]] + beds
        ok = np.ones(n, bool)
        self._policy, self._unread = policy, None
        self.measures: dict = {}  # field -> (measure, values, given): whole numbers the clauses compare
        compared = policy.compiled.measure_breaks
        for name in (name for name in table.column_names if name not in _COMMON):
            measure = _measure_of(_FIELDS.get(name))
            if measure in compared:  # (an age: a plan's signature takes its interval between the bounds)
                ok &= self._measure(_column(table, name), _FIELDS[name], measure)
            else:  # any other field, where given, is the scalar engine's, but one that cannot
                ok &= self._unread_field(_column(table, name), name)  # change the settlement
        # Per field, rows whose value the claim reader certainly takes (batch_refusals.py words the others).
        certain = self.certain = {}
        self.id = _plain_strings(_column(table, "id"))
        self.person = normal_persons(_plain_strings(_column(table, "person")))
        for name, arr in (("id", self.id), ("person", self.person)):
            if arr is None or not pa.types.is_string(arr.type):
                certain[name] = np.zeros(n, bool)
            else:
                # not empty: its bytes (utf8_length decoded every character: 16 ms a million ids)
                certain[name] = np.asarray(pc.greater(pc.binary_length(arr), 0).fill_null(False), dtype=bool)
        self.ordinal = self._dates(_column(table, "date"))
        certain["date"] = self.ordinal > 0
        self.scheme, certain["scheme"] = _codes(_column(table, "scheme"), self.names["scheme"], n)
        self.benefit, certain["benefit"] = _codes(_column(table, "benefit"), self.names["benefit"], n)
        ok &= self._status(_column(table, "status"))
        certain["facility"] = self._facility(_column(table, "facility"))
        place = _column(table, "place")
        self.place, good = _codes(place, self.names["place"], n)
        if "local" in self.names["place"]:  # no place: local
            missing = ~is_given(place) if place is not None else np.ones(n, bool)
            self.place[missing] = self.names["place"].index("local")
            good |= missing
        certain["place"] = good
        certain["groups"] = self._groups(_column(table, "groups"))
        self.events, certain["maternity"] = self._names_mask(_column(table, "maternity"), self.names["event"])
        certain["items"] = self._items(_column(table, "items"))
        for good in certain.values():
            ok &= good
        self.ok = ok

    def _dates(self, arr) -> np.ndarray:
        if arr is None:
            return np.zeros(self.n, np.int64)
        n = len(arr)
        if pa.types.is_dictionary(arr.type):  # each distinct date read once
            return _by_word(arr, self._dates, 0)[0]
        if pa.types.is_date32(arr.type):
            days = np.asarray(pc.cast(arr, pa.int32()).fill_null(-EPOCH), dtype=np.int64)
            return days + EPOCH
        if pa.types.is_timestamp(arr.type) and arr.type.tz is None:  # pandas' dates: midnights (arrow.json_value)
            per_day = 86_400 * {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[arr.type.unit]
            stamps = np.asarray(pc.cast(arr, pa.int64()).fill_null(1), dtype=np.int64)
            return np.where(stamps % per_day == 0, stamps // per_day + EPOCH, 0)
        if not pa.types.is_string(arr.type):
            return np.zeros(n, np.int64)
        shaped = pc.match_substring_regex(arr, _DATE).fill_null(False)
        text = pc.if_else(shaped, arr, pa.scalar("1970-01-01"))
        try:  # Arrow's cast is strict (no 2026-02-30) but fails the whole column on one bad date
            days = np.asarray(pc.cast(pc.cast(text, pa.date32()), pa.int32()), dtype=np.int64)
            return np.where(np.asarray(shaped, dtype=bool), days + EPOCH, 0)
        except pa.ArrowInvalid:
            pass
        stamp = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2026-02-30 over to March: a date is good only if it prints back the same.
        same = pc.equal(pc.strftime(stamp, format="%Y-%m-%d"), text).fill_null(False)
        good = np.asarray(pc.and_(shaped, same), dtype=bool)
        days = np.asarray(pc.cast(pc.cast(stamp.fill_null(0), pa.int64()), pa.int64()), dtype=np.int64) // 86400
        return np.where(good, days + EPOCH, 0)

    def _status(self, arr) -> np.ndarray:
        """Employees: the status (employed if none); residents have none (any known one accepted)."""
        names = self.names["status"]
        codes, known = _codes(arr, names, self.n)
        given = is_given(arr) if arr is not None else np.zeros(self.n, bool)
        employee = self.scheme == (self.names["scheme"].index("employee") if "employee" in self.names["scheme"] else -2)
        default = names.index("employed") if "employed" in names else -1
        self.status = np.where(employee, np.where(given, codes, default), -1)
        resident_ok = ~given | known | _codes(arr, ["employed", "retired"], self.n)[1]
        return np.where(employee, self.status >= 0, resident_ok)

    def _facility(self, arr) -> np.ndarray:
        """The facility's level, type (医疗机构类型: a clinic's daily cap) and grade (甲等/乙等) as
        codes; the type where not given is the reader's default, a hospital; no grade is -1."""
        n = self.n
        self.level = np.full(n, -1, np.int64)
        self.type = np.full(n, -1, np.int8)
        self.grade = np.full(n, -1, np.int8)
        if arr is None or not pa.types.is_struct(arr.type):
            return np.zeros(n, bool)
        ok = is_given(arr)
        fields = {f.name for f in arr.type}
        for name in fields - {"level", "type", "grade"}:
            ok &= self._unread_field(pc.struct_field(arr, name), f"facility.{name}")
        hospital = self.names["type"].index("hospital") if "hospital" in self.names["type"] else -1
        self.type[:] = hospital
        ok &= hospital >= 0
        if "type" in fields:
            kind = pc.struct_field(arr, "type")
            given = is_given(kind)
            codes, good = _codes(kind, self.names["type"], n)
            self.type = np.where(given, codes, self.type)
            ok &= ~given | good
        if "grade" in fields:
            grade = pc.struct_field(arr, "grade")
            given = is_given(grade)
            self.grade, good = _codes(grade, list(GRADES), n)
            ok &= ~given | good
        if "level" not in fields:
            return np.zeros(n, bool)
        self.level, good = _codes(pc.struct_field(arr, "level"), self.names["level"], n)
        return ok & good

    def _measure(self, arr, field, measure: str) -> np.ndarray:
        """A whole-number field feeding a measure some clause compares (资阳's age): its values,
        where given and taken by the reader as they are (_whole_values); any other value, or a
        column of another type, is the scalar engine's to read, or refuse."""
        absent = ~is_given(arr)
        if absent.all():
            return absent
        whole = _whole_values(arr, field)
        if whole is None:
            return absent
        values, within = whole
        self.measures[field.name] = (measure, values, ~absent)
        return absent | within

    def _unread_field(self, arr, path: str) -> np.ndarray:
        """Rows where a field outside the common shape does not keep the row from the engine: not
        given, or one the policy never reads (`unread_fields`) with a value the claim reader
        takes as it is (a whole number in its range, _whole_values; a yes or no; one of its
        choices; any other value, or a column of another type, is the scalar engine's to read,
        or refuse)."""
        absent = ~is_given(arr)
        if absent.all():
            return absent
        if self._unread is None:  # (only a table with such a field looks)
            self._unread = unread_fields(self._policy.compiled)
        field = _FIELDS.get(path) if path in self._unread else None
        if field is None:
            return absent
        whole = _whole_values(arr, field) if field.type == "whole" else None
        if whole is not None:
            return absent | whole[1]
        if field.type == "bool" and pa.types.is_boolean(arr.type):
            return np.ones(len(arr), bool)
        if pa.types.is_dictionary(arr.type) and pa.types.is_string(arr.type.value_type):
            arr = arr.cast(pa.string())  # (a categorical column: its words as text)
        if field.type == "choice" and pa.types.is_string(arr.type):
            return absent | np.asarray(pc.is_in(arr, pa.array(field.values)).fill_null(False), dtype=bool)
        return absent

    def _groups(self, arr) -> np.ndarray:
        self.groups, ok = self._names_mask(arr, self.names["group"])
        return ok

    def _names_mask(self, arr, names: list) -> tuple[np.ndarray, np.ndarray]:
        """A list-of-names field (the groups, the maternity events) as a bit per name of `names`,
        and which rows are read so: a list of strings naming only them, where they fit 60 bits."""
        n = self.n
        mask = np.zeros(n, np.int64)
        if arr is None:
            return mask, np.ones(n, bool)
        words = arr.type.value_type if pa.types.is_list(arr.type) else None
        if words is None or not (pa.types.is_string(words) or (pa.types.is_dictionary(words)
                                                                and pa.types.is_string(words.value_type))):
            return mask, ~is_given(arr)
        if len(names) > 60:
            return mask, ~is_given(arr)
        values = pc.list_flatten(arr)
        parent = np.asarray(pc.list_parent_indices(arr), dtype=np.int64)
        codes, good = _codes(values, names, len(values))
        ok = np.ones(n, bool)
        ok[parent[~good]] = False
        bits = np.left_shift(np.int64(1), np.where(good, codes, 0))
        np.bitwise_or.at(mask, parent[good], bits[good])
        return mask, ok

    def _items(self, arr) -> np.ndarray:
        n = self.n
        self.offsets = np.zeros(n + 1, np.int64)
        self.item_class = self.item_fen = np.zeros(0, np.int64)
        self._parent = self.item_priced = self.item_days = None
        if arr is None or not pa.types.is_list(arr.type) or not pa.types.is_struct(arr.type.value_type):
            return np.zeros(n, bool)
        fields = {f.name for f in arr.type.value_type}
        if "class" not in fields or "amount" not in fields:
            return np.zeros(n, bool)
        ok = is_given(arr)
        lengths = np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)
        self.offsets[1:] = np.cumsum(lengths)
        items = pc.list_flatten(arr)
        good = is_given(items)
        for name in fields - {"class", "amount", "unit_price", "days", "kind"}:
            good &= ~is_given(pc.struct_field(items, name))
        self.item_priced = None  # items with a unit price: a plan whose class rule reads it is not taken
        if "unit_price" in fields:
            price = pc.struct_field(items, "unit_price")
            priced = is_given(price)
            if priced.any():
                good &= ~priced | _amounts(price)[1]  # (a plain amount; any other is the reader's to judge)
                self.item_priced = priced
        classes = [c for c in self.names["class"]]
        self.item_class, known = _codes(pc.struct_field(items, "class"), classes, len(items))
        good &= known
        if "days" in fields:
            good &= self._item_days(pc.struct_field(items, "days"))
        if "kind" in fields:
            good &= self._bed_kinds(pc.struct_field(items, "kind"))
        self.item_fen, plain = _amounts(pc.struct_field(items, "amount"))
        good &= plain
        ok[self._claim_of(np.flatnonzero(~good))] = False
        return ok

    def _item_days(self, arr) -> np.ndarray:
        """Bed days (床位费: a daily ceiling's days), -1 where not given; which items' days the
        claim reader takes as they are (whole numbers within the field's range)."""
        given = is_given(arr)
        if not given.any():
            return np.ones(len(arr), bool)
        whole = _whole_values(arr, _ITEM_DAYS)
        if whole is None:
            return ~given
        values, within = whole
        self.item_days = np.where(given & within, values, -1)
        return ~given | within

    def _bed_kinds(self, arr) -> np.ndarray:
        """A bed's kind (normal where not given) as its own item code (item_kinds); a kind given
        on another item is read and not used (claims.Item), but must be a known one."""
        given = is_given(arr)
        if not given.any():
            return np.ones(len(arr), bool)
        kinds = self.names["bed-kind"]
        codes, known = _codes(arr, kinds, len(arr))
        if "bed" in self.names["class"]:
            bed = self.item_class == self.names["class"].index("bed")
            item_class = self.item_class.astype(np.int8 if len(self.item_kinds) < 127 else np.int32)
            for j in range(len(self.names["class"]), len(self.item_kinds)):  # (a bed of another kind than normal)
                item_class[bed & (codes == kinds.index(self.item_kinds[j][1]))] = j
            self.item_class = item_class
        return ~given | known

    def _claim_of(self, items: np.ndarray) -> np.ndarray:
        """The claim each of these items (positions in the flattened items) belongs to."""
        return np.searchsorted(self.offsets, items, side="right") - 1

    def parent(self) -> np.ndarray:
        """Each item's claim, made when a stage needs it (a plan with item pre-payments or an
        item class it does not take): most runs never do, and it is 8 bytes an item."""
        if self._parent is None:
            self._parent = np.repeat(np.arange(self.n), np.diff(self.offsets))
        return self._parent

    def forget_items(self) -> None:
        """Drop the items' columns once the costs are summed (memory for the waves)."""
        self.offsets = self.item_class = self.item_fen = self._parent = self.item_priced = self.item_days = None


def bitmap_of(mask: np.ndarray) -> pa.Buffer:
    """A numpy bool array as an Arrow bitmap (pa.array on a bool array is ~50x slower)."""
    return pa.py_buffer(np.packbits(mask, bitorder="little"))


def arrow_bools(mask: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, bitmap_of(mask)], null_count=0)

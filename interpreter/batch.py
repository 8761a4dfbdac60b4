"""The columnar engine: a table of claims settled over numpy columns, exactly (`medpolicy.batch`).

The same settlement plans as the scalar engine (plan.py), executed over arrays. Money is integer
fen (int64); an exact payment (a rate times a cost) is an integer in units of 1/S fen, S = 10^k
the finest decimal any share of the run's plans has, so every product is exact; rounding to the
fen is half-up by integer arithmetic; nothing is ever a float.

How a run goes:
1. *columns*: the claim fields are read with pyarrow; a row of the common shape (scheme, status,
   benefit, facility.level, place, groups, items of class and amount) is validated in vector form.
2. *routing*: each row's signature gets its plan (`Engine.plan` on one representative claim per
   signature); a plan with a feature this module does not vectorise, a row of any other shape, an
   id given twice, or a person whose year could overflow int64 sends the whole person to the
   scalar engine (`settle_all`), so a person's year is never split between the engines.
3. *costs*: total, excluded, item pre-payments, first share and eligible cost, per claim (they do
   not depend on the year).
4. *waves*: each person-year's claims in date order (ties in input order). With the compiled
   loops (batch_kernels), one kernel (`_batch_loops.settle_rows`) settles every claim, a
   person-year at a time, reading its plan from int64 numbers (`_describe`); without them, the
   k-th claim of every person is settled in one vectorised step per plan shape (`_Step`), the
   year's accumulators (stays, deductibles, eligible cost, pools, burdens) held as arrays per
   person-year and carried from wave to wave. Both give the same values.
A cap point that is not a whole number of 1/S fen (the eligible cost above the point where the
basic cap stopped, for a layer above it) sends that person to the scalar engine too.

`settle_batch` returns the table `settle_table` would; its schema metadata says how many claims
the scalar engine settled (`fallback_count`). Which plan features are vectorised: docs/scale.md.
"""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from fractions import Fraction
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow import MONEY, all_funds, claims_from_table, result_schema, results_batch
from .batch_kernels import encode, kernels, string_parts
from .errors import ClaimError
from .money import Exact
from .policy import Result, _error

MAX_PERSON_FEN = 10 ** 12      # a person's claims above this in a run: scalar engine (int64 headroom)
MAX_DIGITS = 6                 # shares finer than 10^-6 (a parameter's odd percentage): scalar engine
_EPOCH = 719163                # date(1970, 1, 1).toordinal()
_COMMON = ("id", "person", "date", "scheme", "benefit", "status", "facility", "place", "groups", "items")
_AMOUNT = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
FALLBACK = b"medpolicy.fallback"


def settle_batch(policy, table, params: Optional[dict] = None, plans: Optional["Plans"] = None,
                 money: pa.DataType = MONEY) -> pa.Table:
    """Settle the claims of an Arrow table (or a pandas DataFrame) as one run, over columns;
    every field of every row equal to `policy.settle_table(table, params=params)`. The
    schema's metadata holds how many claims went to the scalar engine (`fallback_count`).
    `plans`: the vector plans of earlier tables settled with the same policy and parameters
    (chunks of one year), reused rather than made again for each. `money`: decimal128(18, 2)
    (the contract), or decimal64(18, 2), whose values are the engine's int64 fen as they are
    (no copy): `med run` writes those, and Parquet readers see decimal128(18, 2) (partition.py)."""
    is_pandas = not isinstance(table, pa.Table)
    if is_pandas:
        table = pa.Table.from_pandas(table, preserve_index=False)
    out = _Run(policy, table, params, plans, money).settle()
    return out.to_pandas() if is_pandas else out


def fallback_count(result: pa.Table) -> int:
    """How many claims of a `settle_batch` result the scalar engine settled."""
    return int((result.schema.metadata or {}).get(FALLBACK, b"0"))


# ---- reading the columns ---------------------------------------------------------------

def _column(table: pa.Table, name: str):
    if name not in table.column_names:
        return None
    column = table.column(name)
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()  # (one chunk: no copy)


def _valid(arr) -> np.ndarray:
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
    """Index of each string in `names` (-1: null or another value) and whether it is one of them."""
    if arr is None:
        return np.full(n, -1, np.int64), np.zeros(n, bool)
    if pa.types.is_dictionary(arr.type):  # as Parquet's dictionary pages are read: look up each word once
        return _by_word(arr, lambda words: _codes(words, names, len(words))[0], -1)
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        return np.full(n, -1, np.int64), np.zeros(n, bool)
    idx = pc.index_in(arr, value_set=pa.array(names, pa.string()))
    codes = np.asarray(idx.fill_null(-1), dtype=np.int64)
    return codes, codes >= 0


def _by_word(arr, of_words, missing) -> tuple[np.ndarray, np.ndarray]:
    """A dictionary array's values through `of_words` (numpy, one per dictionary word) per row."""
    per_word = np.append(of_words(arr.dictionary), missing)
    indices = arr.indices
    kind = np.dtype(f"int{indices.type.bit_width}")
    index = np.frombuffer(indices.buffers()[1], kind, len(indices), indices.offset * kind.itemsize)
    if indices.null_count:
        index = np.where(_valid(indices), index, -1)  # -1: the `missing` value appended
    # (the indices as Parquet gave them, int32: no int64 copy; indexing, not `take`, which with
    # int32 indices into a small table took 20x the time: 65 ms for 3M item classes, numpy 2.4)
    values = per_word[index]
    return values, values != missing


def _plain_strings(arr):
    """id and person as plain strings (a dictionary-encoded column decoded)."""
    if arr is not None and pa.types.is_dictionary(arr.type) and pa.types.is_string(arr.type.value_type):
        return arr.cast(pa.string())
    return arr


def _fen(arr) -> np.ndarray:
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
        text = arr if ok.all() else pc.if_else(_bools(ok), arr, pa.scalar("0", pa.string()))
        return _fen(pc.cast(text, pa.decimal128(18, 2))), ok
    if pa.types.is_decimal(arr.type) and arr.type.scale <= 2 and arr.type.precision - arr.type.scale <= 13:
        dec = pc.cast(arr, pa.decimal128(18, 2)).fill_null(0)
        fen = _fen(dec)
        return fen, _valid(arr) & (fen >= 0)
    return np.zeros(n, np.int64), np.zeros(n, bool)


_DIGITS = np.uint64(0x3333333333333333)


def _two_decimals(arr) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Strings of the shape _AMOUNT (1-13 digits, then . and 1 or 2 digits, or not) as fen, and
    which have it; exactly the regex and the decimal cast, a quarter of their time. Each string
    right-aligned in 16 bytes of '0's (Arrow's ascii_lpad), the '.' taken out by shifting the two
    8-byte words, the 16 digits checked and read 8 at a time by integer arithmetic on the words
    (SWAR). None (the caller's regex then) if the padded strings are not all 16 bytes."""
    n = len(arr)
    lengths = np.diff(np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + n + 1]).astype(np.int64)
    ok = _valid(arr) & (lengths <= 16)
    if not ok.all():
        arr = pc.if_else(_bools(ok), arr, pa.scalar("", pa.string()))
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


class _Claims:
    """The columns of the common shape, and which rows have it."""

    def __init__(self, policy, table: pa.Table):
        n = self.n = table.num_rows
        vocab = policy.compiled.vocabulary
        self.names = {k: sorted(vocab.names_of(k)) for k in ("scheme", "benefit", "level", "status", "place", "group",
                                                              "class", "type")}
        ok = np.ones(n, bool)
        for name in table.column_names:
            if name not in _COMMON:  # any other field, where given, is the scalar engine's
                ok &= ~_valid(_column(table, name))
        self.id = _plain_strings(_column(table, "id"))
        self.person = _plain_strings(_column(table, "person"))
        for arr in (self.id, self.person):
            if arr is None or not pa.types.is_string(arr.type):
                ok[:] = False
            else:
                # not empty: its bytes (utf8_length decoded every character: 16 ms a million ids)
                ok &= np.asarray(pc.greater(pc.binary_length(arr), 0).fill_null(False), dtype=bool)
        self.ordinal = self._dates(_column(table, "date"))
        ok &= self.ordinal > 0
        self.scheme, good = _codes(_column(table, "scheme"), self.names["scheme"], n)
        ok &= good
        self.benefit, good = _codes(_column(table, "benefit"), self.names["benefit"], n)
        ok &= good
        ok &= self._status(_column(table, "status"))
        ok &= self._facility(_column(table, "facility"))
        place = _column(table, "place")
        self.place, good = _codes(place, self.names["place"], n)
        if "local" in self.names["place"]:  # no place: local
            missing = ~_valid(place) if place is not None else np.ones(n, bool)
            self.place[missing] = self.names["place"].index("local")
            good |= missing
        ok &= good
        ok &= self._groups(_column(table, "groups"))
        ok &= self._items(_column(table, "items"))
        self.ok = ok

    def _dates(self, arr) -> np.ndarray:
        if arr is None:
            return np.zeros(self.n, np.int64)
        n = len(arr)
        if pa.types.is_dictionary(arr.type):  # each distinct date read once
            return _by_word(arr, self._dates, 0)[0]
        if pa.types.is_date32(arr.type):
            days = np.asarray(pc.cast(arr, pa.int32()).fill_null(-_EPOCH), dtype=np.int64)
            return days + _EPOCH
        if not pa.types.is_string(arr.type):
            return np.zeros(n, np.int64)
        shaped = pc.match_substring_regex(arr, _DATE).fill_null(False)
        text = pc.if_else(shaped, arr, pa.scalar("1970-01-01"))
        try:  # Arrow's cast is strict (no 2026-02-30) but fails the whole column on one bad date
            days = np.asarray(pc.cast(pc.cast(text, pa.date32()), pa.int32()), dtype=np.int64)
            return np.where(np.asarray(shaped, dtype=bool), days + _EPOCH, 0)
        except pa.ArrowInvalid:
            pass
        stamp = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2026-02-30 over to March: a date is good only if it prints back the same.
        same = pc.equal(pc.strftime(stamp, format="%Y-%m-%d"), text).fill_null(False)
        good = np.asarray(pc.and_(shaped, same), dtype=bool)
        days = np.asarray(pc.cast(pc.cast(stamp.fill_null(0), pa.int64()), pa.int64()), dtype=np.int64) // 86400
        return np.where(good, days + _EPOCH, 0)

    def _status(self, arr) -> np.ndarray:
        """Employees: the status (employed if none); residents have none (any known one accepted)."""
        names = self.names["status"]
        codes, known = _codes(arr, names, self.n)
        given = _valid(arr) if arr is not None else np.zeros(self.n, bool)
        employee = self.scheme == (self.names["scheme"].index("employee") if "employee" in self.names["scheme"] else -2)
        default = names.index("employed") if "employed" in names else -1
        self.status = np.where(employee, np.where(given, codes, default), -1)
        resident_ok = ~given | known | _codes(arr, ["employed", "retired"], self.n)[1]
        return np.where(employee, self.status >= 0, resident_ok)

    def _facility(self, arr) -> np.ndarray:
        n = self.n
        self.level = np.full(n, -1, np.int64)
        if arr is None or not pa.types.is_struct(arr.type):
            return np.zeros(n, bool)
        ok = _valid(arr)
        fields = {f.name for f in arr.type}
        for name in fields - {"level", "type"}:
            ok &= ~_valid(pc.struct_field(arr, name))
        if "type" in fields:  # the default type only
            kind = pc.struct_field(arr, "type")
            ok &= ~_valid(kind) | _codes(kind, ["hospital"], n)[1]
        ok &= "hospital" in self.names["type"]
        if "level" not in fields:
            return np.zeros(n, bool)
        self.level, good = _codes(pc.struct_field(arr, "level"), self.names["level"], n)
        return ok & good

    def _groups(self, arr) -> np.ndarray:
        n = self.n
        self.groups = np.zeros(n, np.int64)
        if arr is None:
            return np.ones(n, bool)
        words = arr.type.value_type if pa.types.is_list(arr.type) else None
        if words is None or not (pa.types.is_string(words) or (pa.types.is_dictionary(words)
                                                                and pa.types.is_string(words.value_type))):
            return ~_valid(arr)
        names = self.names["group"]
        if len(names) > 60:
            return ~_valid(arr)
        values = pc.list_flatten(arr)
        parent = np.asarray(pc.list_parent_indices(arr), dtype=np.int64)
        codes, good = _codes(values, names, len(values))
        ok = np.ones(n, bool)
        ok[parent[~good]] = False
        bits = np.left_shift(np.int64(1), np.where(good, codes, 0))
        np.bitwise_or.at(self.groups, parent[good], bits[good])
        return ok

    def _items(self, arr) -> np.ndarray:
        n = self.n
        self.offsets = np.zeros(n + 1, np.int64)
        self.item_class = self.item_fen = self.parent = np.zeros(0, np.int64)
        if arr is None or not pa.types.is_list(arr.type) or not pa.types.is_struct(arr.type.value_type):
            return np.zeros(n, bool)
        fields = {f.name for f in arr.type.value_type}
        if "class" not in fields or "amount" not in fields:
            return np.zeros(n, bool)
        ok = _valid(arr)
        lengths = np.asarray(pc.list_value_length(arr).fill_null(0), dtype=np.int64)
        self.offsets[1:] = np.cumsum(lengths)
        items = pc.list_flatten(arr)
        parent = self.parent = np.repeat(np.arange(n), lengths)  # each item's claim
        good = _valid(items)
        for name in fields - {"class", "amount"}:
            good &= ~_valid(pc.struct_field(items, name))
        classes = [c for c in self.names["class"]]
        self.item_class, known = _codes(pc.struct_field(items, "class"), classes, len(items))
        good &= known
        if "bed" in classes:
            good &= self.item_class != classes.index("bed")
        self.item_fen, plain = _amounts(pc.struct_field(items, "amount"))
        good &= plain
        ok[parent[~good]] = False
        return ok


# ---- a plan in vector form --------------------------------------------------------------

class Unsupported(Exception):
    """A plan feature the columnar engine leaves to the scalar engine (its message says which)."""


def _fen_of(amount, what: str) -> int:
    """An amount (Decimal, Fraction or int) as whole fen, exactly (its integer ratio: no decimal
    context, and a tenth of Fraction(Decimal)'s time, which a few hundred plans' amounts felt)."""
    num, den = amount.as_integer_ratio()
    fen, rest = divmod(num * 100, den)
    if rest:
        raise Unsupported(f"{what} is not a whole number of fen")
    if abs(fen) >= MAX_PERSON_FEN * 1000:
        raise Unsupported(f"{what} is too large for int64")
    return fen


def _digits(share) -> int:
    """How many decimals a share has (its denominator 2^a 5^b needs max(a, b))."""
    den, twos, fives = Fraction(share).denominator, 0, 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        raise Unsupported("a share that is not a decimal")
    return max(twos, fives)


class _Rate:
    def __init__(self, rate, fen_bands: bool = True):
        self.bands = [(None if b.upper is None else _fen_of(b.upper, "a band's bound"), Fraction(b.share))
                      for b in rate.bands]
        self.banded = rate.banded
        self.share = Fraction(rate.share)
        self.digits = max(_digits(s) for _, s in self.bands)

    def scaled(self, scale: int) -> None:
        self.scaled_bands = [(u, int(s * scale)) for u, s in self.bands]
        self.scaled_share = int(self.share * scale)


class _Layer:
    def __init__(self, layer, plan, keys: "_Keys"):
        self.fund, self.base = layer.fund, layer.base
        if layer.pools.daily or any(c.daily or c.per_extra for c in layer.caps):
            raise Unsupported("a daily cap, or a cap per measure, in a layer")
        self.rate = _Rate(layer.rate) if layer.rate is not None else None
        self.not_covered = layer.not_covered
        self.caps = [(keys.pool((layer.fund, c.key, None)), _fen_of(c.amount, "a cap")) for c in layer.caps]
        self.keys = [keys.pool(k) for k in layer.pools.keys(0)]
        self.counts_prepay, self.includes_first_share = layer.counts_prepay, layer.includes_first_share
        self.above_deductible, self.above_any_cap = layer.above_deductible, layer.above_any_cap
        if self.base == "burden":
            if layer.excludes_above_cap and plan.own_caps:
                raise Unsupported("a burden that leaves out the cost above a benefit's own cap")
            # (amount in fen, the burdens it is measured on, whether this claim's burden counts)
            self.thresholds = [(_fen_of(th.amount, "a threshold"), None if th.benefits is None else frozenset(th.benefits),
                                th.benefits is None or plan.benefit in th.benefits) for th in layer.thresholds]
            self.groups = layer.threshold_groups
            self.burden = keys.burden((layer.fund, plan.benefit))


class _Keys:
    """The accumulators' columns: benefits, pools (fund, key, None), burdens (layer, benefit)."""

    def __init__(self):
        self.benefits: dict = {}
        self.pools: dict = {}
        self.burdens: dict = {}
        self.stays: dict = {}

    def stay(self, k) -> int:
        return self.stays.setdefault(k, len(self.stays))

    def benefit(self, b) -> int:
        return self.benefits.setdefault(b, len(self.benefits))

    def pool(self, k) -> int:
        return self.pools.setdefault(k, len(self.pools))

    def burden(self, k) -> int:
        return self.burdens.setdefault(k, len(self.burdens))


class _VPlan:
    """A settlement plan as the vector step needs it; raises Unsupported for what it does not do."""

    def __init__(self, plan, classes: list, keys: _Keys, facts=None, error: Optional[ClaimError] = None):
        self.error = error.as_dict() if error is not None else None  # every claim of the plan is this error row
        self.rate = None
        self.layers: list = []
        self.not_covered = False
        self.allowance_zero = False
        if error is not None:
            self.item_prepay, self.item_ok, self.first_share, self.funds = [None] * len(classes), [True] * len(classes), None, ()
            return
        self.funds, self.payer = plan.funds, plan.payer
        if plan.allowance is not None:
            # Without a wage (not a field of the common shape) the allowance is not computed, unless
            # its days come to nothing: then it is 0.
            a = plan.allowance
            days = a.days + sum(d * max((facts.measures.get(m) or 1) - 1, 0) for d, m in a.per_extra)
            self.allowance_zero = days <= 0
        self.item_prepay, self.item_ok = self._items(plan, classes)
        self.first_share = Fraction(plan.first_share[0]) if plan.first_share is not None else None
        self.not_covered = plan.not_covered is not None
        if self.not_covered:
            return
        if plan.fixed_settles or plan.fixed is not None or plan.limit is not None:
            raise Unsupported("a limit or a fixed amount (限额, 定额)")
        if plan.no_rate is not None:
            self.error = plan.no_rate.as_dict()
            self.allowance_zero = False  # an error row has no allowance, as the scalar engine's
            return
        if plan.rate is None:
            raise Unsupported("no rate")
        d = plan.deductible
        if d.source is not None:
            raise Unsupported("a referral's deductible")
        self._deductible(d)
        self.benefit = keys.benefit(plan.benefit)
        self.benefit_name, self.level_name = plan.benefit, plan.level
        self.stay = keys.stay((plan.benefit, plan.level))
        self.counts_stay = plan.counts_stay
        self.rate = _Rate(plan.rate)
        self.scope = [keys.benefit(b) for b in plan.rate.scope] if plan.rate.banded else [self.benefit]
        caps = list(plan.caps) + list(plan.cap_reached_caps)
        if plan.pools.daily or any(c.daily or c.per_extra for c in caps):
            raise Unsupported("a daily cap, or a cap per measure")
        self.caps = [(keys.pool((plan.payer, c.key, None)), _fen_of(c.amount, "a cap"), c.fund_wide) for c in plan.caps]
        self.cap_reached = [(keys.pool((plan.payer, c.key, None)), _fen_of(c.amount, "a cap"))
                            for c in plan.cap_reached_caps]
        self.keys = [keys.pool(k) for k in plan.pools.keys(0, True)]
        if plan.payer == "basic" and not plan.fixed_settles:
            try:
                layers = plan.layers()
            except ClaimError as e:  # raised by the layers stage: the claim's error row
                self.error, self.rate = e.as_dict(), None
                return
            self.layers = [_Layer(layer, plan, keys) for layer in layers]
        self.burden_sums = {}  # filled by `scaled`, when every burden key is known

    def _items(self, plan, classes: list):
        """Per item class: its flat pre-payment share (None: none), and whether it is vectorised."""
        prepay, ok = [None] * len(classes), [True] * len(classes)
        if plan.item_rule is None:
            return prepay, ok
        for i, cls in enumerate(classes):
            if cls in ("excluded", "bed"):
                continue
            try:
                rule = plan.item_rule(cls, "normal")
            except ClaimError:
                ok[i] = False
                continue
            if rule.rate is not None or (rule.ceiling is not None and rule.ceiling.daily):
                ok[i] = False  # a class rate or a daily ceiling
            elif rule.prepay is not None:
                # (upper bound in fen or None, share): a tier by the item's price, which without a
                # unit price is its amount (engine._prepay_share); flat: one unbounded tier.
                try:
                    prepay[i] = [(None if b.upper is None or not rule.prepay_tiered else _fen_of(b.upper, "a tier"),
                                  Fraction(b.share)) for b in (rule.prepay if rule.prepay_tiered else rule.prepay[:1])]
                except Unsupported:
                    ok[i] = False
        return prepay, ok

    def _deductible(self, d) -> None:
        rule = d.rule
        self.yearly = d.yearly
        self.ded_amount = _fen_of(rule.amount, "a deductible")
        self.reducible = bool(rule.steps or rule.halvings or rule.repeat)
        base = Fraction(rule.amount) + sum(Fraction(s) for s, _ in rule.steps)
        base /= 2 ** len(rule.halvings)
        self.ded_base = _fen_of(base, "a reduced deductible")
        self.ded_static_ref = bool(rule.steps or rule.halvings)
        self.repeat = _fen_of(rule.repeat[0], "a repeat-stay step") if rule.repeat is not None else None
        self.floor = min(_fen_of(rule.floor[0], "a floor"), self.ded_amount) if rule.floor is not None else None
        # No deductible from the N-th stay of the year (at these levels): (N, levels or None).
        self.none_from = (d.none_from[0], d.none_from[1]) if d.none_from is not None else None

    def digits(self) -> int:
        rates = ([self.rate] if self.rate else []) + [layer.rate for layer in self.layers if layer.rate is not None]
        return max([r.digits for r in rates] or [0])

    def scaled(self, scale: int, keys: _Keys) -> None:
        """Amounts in 1/scale fen, once the run's scale is known."""
        for r in ([self.rate] if self.rate else []) + [lay.rate for lay in self.layers if lay.rate is not None]:
            r.scaled(scale)
        if self.rate is None:
            return
        self.caps_s = [(k, limit * scale, fund_wide) for k, limit, fund_wide in self.caps]
        if self.none_from is not None:
            stay_no, levels = self.none_from
            self.none_from_applies = levels is None or self.level_name in levels
            self.stays_counted = [j for (b, lv), j in keys.stays.items()
                                  if b == self.benefit_name and (levels is None or lv in levels)]
        self.cap_reached_s = [(k, limit * scale) for k, limit in self.cap_reached]
        for layer in self.layers:
            layer.caps_s = [(k, limit * scale) for k, limit in layer.caps]
            if layer.base == "burden":
                layer.summed = [[j for (fund, b), j in keys.burdens.items()
                                 if fund == layer.fund and (within is None or b in within)]
                                for _, within, _ in layer.thresholds]


# ---- the run ----------------------------------------------------------------------------------

class Plans:
    """The vector plans made for a policy and its parameters, by signature: kept across the
    tables (chunks, buckets) of one year so each signature's plan is made once. Not shared
    between threads."""

    def __init__(self):
        self.keys = _Keys()
        self.vplans: list = []
        self.identities: dict = {}
        self.by_signature: dict = {}   # signature -> (plan index or -1, why not vectorised)


class _Run:
    def __init__(self, policy, table: pa.Table, params: Optional[dict], plans: Optional[Plans] = None,
                 money: pa.DataType = MONEY):
        self.policy, self.table, self.money_type = policy, table, money
        self.given = params
        self.params = policy.bind(params)
        self.funds = all_funds(policy)
        self.cache = plans if plans is not None else Plans()

    def settle(self) -> pa.Table:
        clock = _Clock()
        c = self.claims = _Claims(self.policy, self.table)
        clock("columns")
        person = self._person_codes()
        plan_of = self._plans(c)
        row_ok = c.ok & (plan_of >= 0)
        row_ok &= self._items_supported(plan_of, row_ok)
        row_ok &= ~self._duplicate_ids()
        lo, hi = self.policy.compiled.effective
        if lo is not None:
            row_ok &= c.ordinal >= lo
        if hi is not None:
            row_ok &= c.ordinal <= hi
        batch = self._whole_persons(person, row_ok)
        c.level = c.status = c.place = c.groups = None  # (read by the plans only: memory for the waves)
        clock("plans and routing")
        self._costs(plan_of, batch)
        c.offsets = c.item_class = c.item_fen = c.parent = None  # (each item read by the costs only)
        batch = self._whole_persons(person, batch & (self._person_total(person, batch) < MAX_PERSON_FEN))
        clock("costs")
        out, handed = self._waves(person, plan_of, batch)
        clock("waves")
        table = self._assemble(batch & ~handed, out, plan_of, clock, handed)
        self.timings = clock.times
        return table

    # -- routing --
    def _person_codes(self) -> np.ndarray:
        p = self.claims.person
        if p is None or not pa.types.is_string(p.type):
            return np.full(self.claims.n, -1, np.int64)
        codes = encode(p)
        if codes is not None:
            return codes
        return np.asarray(pc.dictionary_encode(p).indices.fill_null(-1), dtype=np.int64)

    def _whole_persons(self, person: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Rows whose person's every row is ok (a person's year never split between the engines)."""
        good = ok & (person >= 0)
        if not len(person):
            return good
        bad = np.zeros(person.max() + 2, bool)
        bad[person[~good] + 1] = True
        return good & ~bad[person + 1]

    def _duplicate_ids(self) -> np.ndarray:
        ids = self.claims.id
        if ids is None or not pa.types.is_string(ids.type):
            return np.zeros(self.claims.n, bool)
        codes = encode(ids, repeats=False)
        if codes is None:
            codes = np.asarray(pc.dictionary_encode(ids).indices.fill_null(-1), dtype=np.int64)
        counts = np.bincount(codes[codes >= 0], minlength=1)
        return (codes >= 0) & (counts[np.maximum(codes, 0)] > 1)

    def _signatures(self, c: _Claims) -> np.ndarray:
        """One integer per row for the facts the plan depends on (Facts.key of the common shape)."""
        breaks = np.asarray(self.policy.compiled.date_breaks, dtype=np.int64)
        bucket = np.searchsorted(breaks, c.ordinal, side="right")
        key = np.zeros(c.n, np.int64)
        for codes, size in ((c.scheme, len(c.names["scheme"])), (c.benefit, len(c.names["benefit"])),
                            (c.level, len(c.names["level"])), (c.status + 1, len(c.names["status"]) + 1),
                            (c.place, len(c.names["place"])), (bucket, len(breaks) + 1)):
            key = key * (size + 1) + np.maximum(codes, 0)
        self._radix = key.max(initial=0)
        return key

    def _plans(self, c: _Claims) -> np.ndarray:
        """Each row's plan (an index into self.vplans), -1 where the scalar engine settles it."""
        sig = self._signatures(c)
        # The groups mask goes beside the key (no overflow however many groups the vocabulary has).
        rows = np.flatnonzero(c.ok)
        width = len(c.names["group"])
        if (int(sig.max(initial=0)) + 1) << width < 2 ** 62:  # one int64 key: a fast sort
            uniq, first, inverse = _unique((sig[rows] << width) | c.groups[rows])
        else:
            pairs = np.stack([sig[rows], c.groups[rows]], axis=1) if len(rows) else np.zeros((0, 2), np.int64)
            uniq, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
        cache = self.cache
        self.keys, self.vplans, self._identities, self.reasons = cache.keys, cache.vplans, cache.identities, {}
        index = []
        for j in range(len(uniq)):
            signature = uniq[j] if uniq.ndim == 1 else tuple(uniq[j])
            known = cache.by_signature.get(signature)
            if known is None:
                known = cache.by_signature[signature] = self._vplan(c, rows[first[j]])
            if known[0] < 0:
                self.reasons[known[1]] = self.reasons.get(known[1], 0) + 1
            index.append(known[0])
        scale_digits = max([v.digits() for v in self.vplans] or [0])
        self.scale = 10 ** scale_digits
        for v in self.vplans:
            v.scaled(self.scale, self.keys)
        plan_of = np.full(c.n, -1, np.int64)
        if len(rows):
            plan_of[rows] = np.asarray(index, dtype=np.int64)[inverse.reshape(-1)]
        return plan_of

    def _vplan(self, c: _Claims, r: int) -> tuple[int, Optional[str]]:
        names = c.names
        claim = {"id": "-", "person": "-", "date": _iso(int(c.ordinal[r])),
                 "scheme": names["scheme"][c.scheme[r]], "benefit": names["benefit"][c.benefit[r]],
                 "facility": {"level": names["level"][c.level[r]]}, "place": names["place"][c.place[r]],
                 "groups": [g for i, g in enumerate(names["group"]) if c.groups[r] >> i & 1], "items": []}
        if c.status[r] >= 0:
            claim["status"] = names["status"][c.status[r]]
        try:
            facts = self.policy._read(claim)
            try:
                plan = self.policy._engine.plan(facts, self.params)
            except ClaimError as e:  # the terms fail for this signature: each claim's error row
                v = _VPlan(None, names["class"], self.keys, error=e)
            else:
                v = _VPlan(plan, names["class"], self.keys, facts)
            if v.digits() > MAX_DIGITS:
                raise Unsupported("a share finer than 10^-6")
        except (ClaimError, Unsupported) as e:
            return -1, str(e)
        # Signatures whose plans come to the same numbers settle in one step (places, groups and
        # statuses often resolve to the same terms): fewer, larger steps.
        identity = _identity(v)
        same = self._identities.get(identity)
        if same is not None:
            return same, None
        self.vplans.append(v)
        self._identities[identity] = len(self.vplans) - 1
        return len(self.vplans) - 1, None

    def _items_supported(self, plan_of, row_ok) -> np.ndarray:
        c = self.claims
        ok = np.ones(c.n, bool)
        parent = c.parent
        for j, v in enumerate(self.vplans):
            if all(v.item_ok):
                continue
            bad_class = ~np.asarray(v.item_ok)[np.maximum(c.item_class, 0)]
            ok[parent[bad_class & (plan_of[parent] == j)]] = False
        return ok

    # -- costs (independent of the year) --
    def _costs(self, plan_of, batch) -> None:
        c = self.claims
        n = c.n
        fen = c.item_fen if c.item_fen.max(initial=0) <= MAX_PERSON_FEN else np.minimum(c.item_fen, MAX_PERSON_FEN)
        parent = c.parent
        classes = c.names["class"]
        excluded_code = classes.index("excluded") if "excluded" in classes else -2
        pre = np.zeros(len(fen), np.int64)
        prepaid = [j for j, v in enumerate(self.vplans) if any(t is not None for t in v.item_prepay)]
        item_plan = plan_of.take(parent) if prepaid else None
        for j in prepaid:
            v = self.vplans[j]
            for code, tiers in enumerate(v.item_prepay):
                if tiers is None:
                    continue
                m = (item_plan == j) & (c.item_class == code)
                for upper, share in tiers:  # the first tier the price is within
                    t = m if upper is None else m & (fen <= upper)
                    pre[t] = _round_div(fen[t] * share.numerator, share.denominator)
                    m = m & ~t
        self.total = _segment_sum(fen, c.offsets)
        self.excluded = _segment_sum(np.where(c.item_class == excluded_code, fen, 0), c.offsets)
        self.prepay = _segment_sum(pre, c.offsets) if prepaid else np.zeros(n, np.int64)
        eligible = self.total - self.excluded - self.prepay
        first = np.zeros(n, np.int64)
        for j, v in enumerate(self.vplans):
            if v.first_share is not None:
                m = plan_of == j
                first[m] = _round_div(eligible[m] * v.first_share.numerator, v.first_share.denominator)
        self.first_share = first
        self.prepay = self.prepay + first
        self.eligible = eligible - first

    def _person_total(self, person, batch) -> np.ndarray:
        sums = np.zeros(max(person.max(initial=-1) + 1, 1), np.int64)
        np.add.at(sums, person[batch], self.total[batch])
        return sums[np.maximum(person, 0)]

    # -- waves --
    def _waves(self, person, plan_of, batch):
        c = self.claims
        rows = np.flatnonzero(batch)
        out = _Out(c.n, self.funds)
        handed = np.zeros(c.n, bool)
        self.snapshots: dict = {}  # person-year -> its Year where the scalar engine takes it over
        if not len(rows):
            return out, handed
        self.year = np.zeros(c.n, np.int64)
        self.year[rows] = _years(c.ordinal[rows])
        self.loops = kernels(len(rows))  # (the commits' adds: decided once for the run's size)
        described = _describe(self.vplans, self.funds) if self.loops is not None else None
        settled = None if described is None else self._waves_compiled(person, plan_of, rows, out, handed, *described)
        if settled is not None:
            return settled
        # A person's year per scheme (domain.md) is a row of the accumulators; its claims are
        # settled in date order (ties in input order), the k-th of every year in wave k.
        person_scheme = person[rows] * len(c.names["scheme"]) + c.scheme[rows]
        shapes = _Shapes(self.vplans)
        rows, pyear, rank, years = _wave_order(rows, person_scheme, c.ordinal[rows], self.year[rows],
                                               shapes.of[plan_of[rows]])
        acc = _Accumulators(years, self.keys)
        self.pyear_of = np.full(c.n, -1, np.int64)
        self.pyear_of[rows] = pyear
        dead = np.zeros(years, bool)
        steps = shapes.of[plan_of[rows]]
        cut = np.flatnonzero((rank[1:] != rank[:-1]) | (steps[1:] != steps[:-1])) + 1
        for a, b in zip(np.r_[0, cut], np.r_[cut, len(rows)]):
            seg, y = rows[a:b], pyear[a:b]
            gone = dead[y]
            if gone.any():  # a year the scalar engine has taken over: its later claims too
                handed[seg[gone]] = True
                seg, y = seg[~gone], y[~gone]
            step = _Step(self, shapes.plan(steps[a], plan_of[seg]), seg, y, acc, out)
            lost = step.run()
            if lost.any():
                handed[seg[lost]] = True
                dead[y[lost]] = True
        return out, handed

    def _waves_compiled(self, person, plan_of, rows, out, handed, desc, starts):
        """The waves as one compiled kernel (_batch_loops.settle_rows) over every row, a
        person-year at a time, each row's plan read from its description: the steps' values.
        None where the rows' keys would not fit in int64 (the steps then settle them)."""
        c, k = self.claims, self.keys
        person_scheme = person[rows] * len(c.names["scheme"]) + c.scheme[rows]
        year = self.year[rows]
        y0, bits = int(year.min()), max(len(self.vplans) - 1, 1).bit_length()
        span = int(year.max()) - y0 + 1
        if (int(person_scheme.max()) + 1) * span << bits >= 1 << 62:
            return None
        order = _sort_order(person_scheme, c.ordinal[rows])  # by person and scheme, then date
        keys = ((person_scheme * span + (year - y0)) << bits | plan_of[rows])[order]
        rows = rows[order]
        # (a claim's four costs side by side, then one gather of their rows: a quarter of the
        # reads from memory four gathers would wait on)
        costs = np.empty((c.n, 4), np.int64)
        for j, cost in enumerate((self.total, self.eligible, self.prepay, self.first_share)):
            costs[:, j] = cost
        costs = costs.take(rows, axis=0)
        widths = np.asarray([max(len(k.benefits), 1), max(len(k.stays), 1), max(len(k.pools), 1),
                             max(len(k.burdens), 1)], np.int64)
        room = _SNAPSHOT_ROOM
        while True:
            settled = np.zeros((2 + len(self.funds), len(rows)), np.int64)
            snaps = np.zeros((room, 4 * widths[0] + widths[1] + 4 * widths[2] + widths[3] + 1), np.int64)
            state, pyear, lost = self.loops.settle_rows(keys, bits, costs, desc, starts, self.scale,
                                                        _EXACT_LIMIT // 4, widths, settled, snaps)
            if lost <= room:
                break
            room = lost  # (rare: years handed over at a cap point) once more, with room for every one
        for column, values in zip([out.deductible, out.patient, *out.paid.values()], settled):
            column[rows] = values  # (scatters from contiguous rows: a fifth of a gather's time)
        handed[rows[state > 0]] = True
        self.pyear_of = np.full(c.n, -1, np.int64)
        self.pyear_of[rows] = pyear
        if lost:  # taken over by the scalar engine from that claim on, as the year was before it
            self.snapshot(_Accumulators.of_snapshots(snaps[:lost], k, widths), snaps[:lost, -1], range(lost))
        return out, handed

    def snapshot(self, acc: "_Accumulators", years, rows=None) -> None:
        """Person-years as settle.Year values, to carry on in the scalar engine (`rows`: where each
        is in `acc`, if not at its number)."""
        from decimal import Decimal
        from .settle import Year
        k, digits = self.keys, len(str(self.scale)) - 1
        for a, y in zip(years.tolist() if rows is None else rows, years.tolist()):
            yr = Year()
            for (b, lv), j in k.stays.items():
                yr.stays[(b, lv)] = int(acc.level_stays[a, j])
            for b, j in k.benefits.items():
                yr.benefit_stays[b] = int(acc.stays[a, j])
                yr.deductibles[b] = Decimal(int(acc.deductibles[a, j])).scaleb(-2)
                if acc.levels[a, j]:
                    yr.deductible_levels[b] = Decimal(int(acc.levels[a, j])).scaleb(-2)
                yr.eligible[b] = Decimal(int(acc.eligible[a, j])).scaleb(-2)
            for key, j in k.pools.items():
                yr.pools[key] = Decimal(int(acc.pools[a, j])).scaleb(-2 - digits)
                if (a, j) in acc.fractions:
                    yr.pools[key] = Exact(Fraction(yr.pools[key]) + acc.fractions[(a, j)] / (100 * self.scale))
                yr.rounded[key] = Decimal(int(acc.rounded[a, j])).scaleb(-2)
            for key, j in k.burdens.items():
                yr.burden[key] = Decimal(int(acc.burden[a, j])).scaleb(-2)
            self.snapshots[y] = yr

    def _carry_on(self, handed: np.ndarray, schema) -> pa.Table:
        """The claims of the years handed over, settled by the scalar engine from their snapshots,
        each year's claims in date order; one row each, in the order of `handed`'s rows."""
        c = self.claims
        rows = np.flatnonzero(handed)
        order = np.lexsort((rows, c.ordinal[rows], self.pyear_of[rows]))
        claims = list(claims_from_table(self.table.take(pa.array(rows))))
        out: list = [None] * len(rows)
        engine = self.policy._engine
        for i in order.tolist():
            try:
                facts = self.policy._read(claims[i])
                data, _ = engine.settle(facts, self.snapshots[self.pyear_of[rows[i]]], self.params, False)
                out[i] = Result(data, [], None).to_json(trace=False)
            except ClaimError as e:
                out[i] = Result(_error(claims[i], e), [], None).to_json(trace=False)
        return pa.Table.from_batches([results_batch(out, schema)], schema=schema)

    # -- output --
    def _assemble(self, batch, out: "_Out", plan_of, clock, handed) -> pa.Table:
        c = self.claims
        schema = result_schema(self.funds, False)  # (the scalar engine's rows, as settle_table's)
        scalar_rows = np.flatnonzero(~batch & ~handed)
        parts, positions = [], []
        if len(scalar_rows):
            sub = self.table.take(pa.array(scalar_rows))
            # (a table of no columns loses its rows in a take: each is an empty claim)
            claims = claims_from_table(sub) if self.table.num_columns else [{}] * len(scalar_rows)
            results = self.policy.settle_all(claims, params=self.given)
            parts.append(pa.Table.from_batches([results_batch([r.to_json(trace=False) for r in results], schema)],
                                               schema=schema))
            positions.append(scalar_rows)
        if handed.any():
            parts.append(self._carry_on(handed, schema))
            positions.append(np.flatnonzero(handed))
        theirs, where = schema.empty_table(), np.zeros(0, np.int64)
        if parts:  # the other engines' rows, in input order
            where = np.concatenate(positions)
            order = np.argsort(where)
            theirs, where = pa.concat_tables(parts).take(pa.array(order)).combine_chunks(), where[order]
        clock("scalar fallback")
        table = self._batch_table(out, plan_of, result_schema(self.funds, False, self.money_type), batch, theirs, where) \
            if batch.any() else theirs.cast(result_schema(self.funds, False, self.money_type))
        clock("result columns")
        meta = {FALLBACK: str(len(scalar_rows) + int(handed.sum())).encode()}
        return table.replace_schema_metadata(meta)

    def _batch_table(self, out: "_Out", plan_of, schema, batch, theirs: pa.Table, where: np.ndarray) -> pa.Table:
        """Every row's result columns: the columnar engine's, and at `where` the rows `theirs`
        (the scalar engine's), written into the same arrays (no take of the whole table)."""
        c = self.claims
        plans = np.where(batch, plan_of, -1)  # -1: the last entry of each per-plan table
        per_plan = lambda values, last: np.asarray([*values, last])[plans]  # noqa: E731
        failed = per_plan([v.error is not None for v in self.vplans], False)
        ok = ~failed
        patch = _Patch(theirs, where, self.money_type)

        def money(name, fen, valid, column=None):
            return patch.money(column if column is not None else theirs.column(name), fen, valid)

        errors = pa.array([None] + [v.error for v in self.vplans], schema.field("error").type)
        benefit = pa.array(c.names["benefit"], pa.string()).take(pa.array(np.maximum(c.benefit, 0)))
        their_paid = theirs.column("paid").combine_chunks()
        paid_failed = patch.flags(failed, ~np.asarray(pc.is_valid(their_paid), dtype=bool))
        paid = pa.StructArray.from_arrays(
            [money(f, out.paid[f], per_plan([f in v.funds for v in self.vplans], False), their_paid.field(f))
             for f in self.funds], fields=list(schema.field("paid").type), mask=_bools(paid_failed))
        year = patch.flags(self.year.astype(np.int64), np.asarray(theirs.column("year").fill_null(0), dtype=np.int64))
        year_valid = patch.flags(ok, np.asarray(pc.is_valid(theirs.column("year")), dtype=bool))
        zero = np.zeros(c.n, np.int64)  # (one array: the columns of zeros share their words)
        columns = {
            "id": patch.text(c.id, "id"), "person": patch.text(_null_where(c.person, failed), "person"),
            "year": _with_validity(pa.int32(), year.astype(np.int32), year_valid),
            "benefit": patch.text(_null_where(benefit, failed), "benefit"),
            "total": money("total", self.total, ok), "excluded": money("excluded", self.excluded, ok),
            "prepay": money("prepay", self.prepay, ok), "eligible": money("eligible", self.eligible, ok),
            "deductible": money("deductible", out.deductible, ok), "paid": paid,
            "patient": money("patient", out.patient, ok),
            # A claim with an `account` field is the scalar engine's (not a common-shape field), and so
            # is its person's every claim: no row here has a balance, so the patient pays in cash.
            "account": money("account", zero, ok), "cash": money("cash", out.patient, ok),
            "account_balance": money("account_balance", zero, np.zeros(c.n, bool)),  # none known
            "allowance": money("allowance", zero, per_plan([v.allowance_zero for v in self.vplans], False)),
            "error": self._errors(errors, plans, failed, patch, theirs),
        }
        return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)

    @staticmethod
    def _errors(errors: pa.Array, plans: np.ndarray, failed: np.ndarray, patch: "_Patch", theirs: pa.Table) -> pa.Array:
        """The error column: each row's plan's error (a take of a struct: 20-150 ms a million rows),
        or, where no row has one (the usual year), nulls."""
        if not failed.any() and theirs.column("error").null_count == theirs.num_rows:
            return pa.nulls(len(plans), errors.type)
        return patch.text(errors.take(pa.array(plans + 1)), "error")


class _Patch:
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
            theirs = _fen(column)
            given = _valid(column)
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
        return _with_validity(self.money_type, self.words[key][1], valid)

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


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(_bools(mask), pa.nulls(len(arr), arr.type), arr) if mask.any() else arr


_LEAVES = frozenset({int, bool, str, type(None), Fraction, Exact, Decimal})


def _identity(value):
    """A vector plan's numbers as a hashable value (two signatures with equal ones share a step).
    Attributes and a dict's items in the order they were set: plans are built by one path, and
    two equal plans built in another order would only not share a step (sorting them, and the
    dicts' items by repr, was half the time of making a plan)."""
    if type(value) in _LEAVES:
        return value
    if isinstance(value, (_VPlan, _Layer, _Rate)):
        return tuple((k, _identity(x)) for k, x in vars(value).items())
    if isinstance(value, dict):
        return tuple((k, _identity(x)) for k, x in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_identity(x) for x in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value, key=repr))
    return value


def _with_amounts(v: "_VPlan", amount, free=None) -> "_VPlan":
    """A copy of a vector plan with each amount and share the waves read (deductibles, band
    bounds and shares, caps, thresholds) replaced by `amount(value)`, None kept; the numbers
    only the rest of the run reads (item pre-payments, first share, unscaled values, names)
    left out. `free` (default `amount`) replaces the values whose sign no branch reads: the
    (benefit, level) stay counted, a deductible neither yearly nor reduced (0 is then just 0)."""
    free = free or amount
    def rate(r):
        if r is None:
            return None
        r = copy.copy(r)
        r.scaled_bands = [(None if u is None else amount(u), amount(s)) for u, s in r.scaled_bands]
        r.scaled_share, r.bands, r.share, r.digits = amount(r.scaled_share), None, None, None
        return r

    w = copy.copy(v)
    w.item_prepay = w.item_ok = w.first_share = w.allowance_zero = None
    if v.rate is None:  # an error row or not covered: nothing the waves read
        return w
    w.benefit_name = w.level_name = None
    w.stay = free(v.stay)
    w.ded_amount = (amount if v.yearly or v.reducible else free)(v.ded_amount)
    for name in ("ded_base", "repeat", "floor"):
        if getattr(v, name) is not None:
            setattr(w, name, amount(getattr(v, name)))
    w.rate = rate(v.rate)
    w.caps_s = [(k, amount(limit), fund_wide) for k, limit, fund_wide in v.caps_s]
    w.cap_reached_s = [(k, amount(limit)) for k, limit in v.cap_reached_s]
    w.caps = w.cap_reached = None
    w.layers = []
    for layer in v.layers:
        lay = copy.copy(layer)
        lay.rate = rate(layer.rate)
        lay.caps_s, lay.caps = [(k, amount(limit)) for k, limit in layer.caps_s], None
        if layer.base == "burden":
            lay.thresholds = [(amount(a), within, counts) for a, within, counts in layer.thresholds]
        w.layers.append(lay)
    return w


class _Shapes:
    """Plans that differ only in their amounts and shares (levels' deductibles and rates, places'
    rates, groups' caps) settle in one vectorised step per wave: fewer, larger steps. A step's plan
    is then a copy with each amount an array over its rows, gathered by the rows' plan; whether an
    amount is None, negative, 0 or positive is part of the shape, so the step's branches are the same."""

    def __init__(self, vplans: list):
        sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
        index: dict = {}
        self.of = np.zeros(max(len(vplans), 1), np.int64)
        self.members: list = []
        for j, v in enumerate(vplans):
            shape = _identity(_with_amounts(v, sign, lambda _: "free"))
            self.of[j] = index.setdefault(shape, len(index))
            if self.of[j] == len(self.members):
                self.members.append([])
            self.members[self.of[j]].append(j)
        self.vplans = vplans
        self.tables: dict = {}  # shape -> each amount's values by plan index

    def plan(self, shape: int, plan_of_rows: np.ndarray) -> "_VPlan":
        """The step's plan for rows whose plans (`plan_of_rows`) have this shape."""
        members = self.members[shape]
        if len(members) == 1:
            return self.vplans[members[0]]
        tables = self.tables.get(shape)
        if tables is None:
            columns = [[] for _ in members]
            for col, j in zip(columns, members):
                _with_amounts(self.vplans[j], lambda x, col=col: col.append(x) or x)
            tables = self.tables[shape] = []
            for values in zip(*columns):
                if len(set(values)) == 1:  # the same in every plan of the shape: the number itself
                    tables.append(values[0])
                    continue
                table = np.zeros(len(self.vplans), np.int64)
                table[members] = values
                tables.append(table)
        gathered = iter([t[plan_of_rows] if isinstance(t, np.ndarray) else t for t in tables])
        return _with_amounts(self.vplans[members[0]], lambda _: next(gathered))


_LAYER_KINDS = {"burden": 0, "above-cap": 1}  # anything else: on what remains


def _describe(vplans: list, funds: list) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Each vector plan as int64 numbers for the compiled kernel (_batch_loops.settle_rows reads
    them in this order), and where each plan's start: (numbers, starts). A list is its count, then
    its entries; a band's upper bound None is int64's largest. None where a plan has more layers
    or thresholds than the kernel holds, or a number past int64: the steps then settle the run."""
    fund = {f: i for i, f in enumerate(funds)}
    flat: list = []
    starts = []

    def listed(values, width=1):
        flat.append(len(values) // width)
        flat.extend(values)

    def bands(rate):
        listed([x for upper, share in rate.scaled_bands for x in (_NONE if upper is None else upper, share)], 2)

    for v in vplans:
        starts.append(len(flat))
        if v.error is not None or v.not_covered:
            flat.append(0 if v.error is not None else 1)
            continue
        if len(v.layers) > 16 or any(v.payer not in fund or lay.fund not in fund for lay in v.layers) \
                or v.payer not in fund:
            return None
        none_active = v.none_from is not None and v.none_from_applies
        flat.extend([2, v.benefit, int(bool(v.counts_stay)), v.stay, v.ded_amount, int(v.reducible), v.ded_base,
                     int(v.ded_static_ref), int(v.repeat is not None), v.repeat or 0, int(v.floor is not None),
                     v.floor or 0, int(bool(v.yearly)), int(none_active), v.none_from[0] if none_active else 0,
                     fund[v.payer]])
        listed(v.stays_counted if none_active else [])
        listed([x for k, limit in v.cap_reached_s for x in (k, limit)], 2)
        listed(v.scope)
        bands(v.rate)
        listed([x for k, limit, wide in v.caps_s for x in (k, limit, int(bool(wide)))], 3)
        listed(v.keys)
        listed([fund[f] for f in v.funds if f in fund])
        flat.append(len(v.layers))
        for lay in v.layers:
            burden = lay.base == "burden"
            if burden and (len(lay.thresholds) > 64 or not lay.thresholds):
                return None
            flat.extend([_LAYER_KINDS.get(lay.base, 2), fund[lay.fund], int(lay.rate is not None),
                         int(bool(lay.not_covered)), lay.rate.scaled_share if lay.rate is not None else 0,
                         int(bool(lay.counts_prepay)), int(bool(lay.includes_first_share)),
                         int(bool(lay.above_deductible)), int(bool(lay.above_any_cap)), lay.burden if burden else -1])
            if lay.rate is not None:
                bands(lay.rate)
            else:
                listed([])
            listed([x for k, limit in lay.caps_s for x in (k, limit)], 2)
            listed(lay.keys)
            if burden:
                flat.append(len(lay.thresholds))
                for (amount, _, counts), summed in zip(lay.thresholds, lay.summed):
                    flat.extend([amount, int(bool(counts)), len(summed), *summed])
                flat.append(len(lay.groups))
                for group in lay.groups:
                    listed(list(group))
            else:
                flat.extend([0, 0])
    if any(not -_NONE <= x <= _NONE for x in flat):
        return None
    return np.asarray(flat, dtype=np.int64), np.asarray(starts, dtype=np.int64)


def _at(amount, i: int) -> int:
    """Row i's value of an amount that is a number or an array over a step's rows."""
    return int(amount[i]) if isinstance(amount, np.ndarray) else amount


def _positive(share) -> bool:
    """Whether a share is above 0 (for every row: the sign is part of a step's shape)."""
    return bool(np.all(share > 0))


class _Clock:
    """Where a run's time goes (benchmarks/batch.py prints it)."""

    def __init__(self):
        import time
        self._now = time.process_time  # CPU time of the process: fair on a shared machine
        self._last = self._now()
        self.times: dict = {}

    def __call__(self, stage: str) -> None:
        now = self._now()
        self.times[stage] = self.times.get(stage, 0.0) + now - self._last
        self._last = now


def _years(ordinal: np.ndarray) -> np.ndarray:
    """Each date's calendar year: each day of the dates' span converted once, then looked up."""
    lo, hi = int(ordinal.min()), int(ordinal.max())
    if hi - lo > 4 * len(ordinal):  # a few dates far apart: each converted
        days = ordinal - _EPOCH
    else:
        days = np.arange(lo - _EPOCH, hi - _EPOCH + 1)
    years = (np.datetime64("1970-01-01") + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64)
    return (years if hi - lo > 4 * len(ordinal) else years[ordinal - lo]) + 1970


def _iso(ordinal: int) -> str:
    import datetime as dt
    return dt.date.fromordinal(ordinal).isoformat()


def _words(fen: np.ndarray) -> np.ndarray:
    """int64 fen as decimal128's two's-complement words (low, high), row by row."""
    words = np.empty((len(fen), 2), np.int64)
    words[:, 0] = fen
    np.right_shift(fen, 63, out=words[:, 1])
    return words


def _bits(mask: np.ndarray) -> pa.Buffer:
    """A numpy bool array as an Arrow bitmap (pa.array on a bool array is ~50x slower)."""
    return pa.py_buffer(np.packbits(mask, bitorder="little"))


def _bools(mask: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, _bits(mask)], null_count=0)


def _with_validity(kind: pa.DataType, values: np.ndarray, valid: Optional[np.ndarray]) -> pa.Array:
    """A fixed-width Arrow array over `values`' bytes, null where `valid` is False."""
    nulls = 0 if valid is None else int(len(valid) - np.count_nonzero(valid))
    return pa.Array.from_buffers(kind, len(values), [_bits(valid) if nulls else None, pa.py_buffer(values)],
                                 null_count=nulls)


def _segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of each row's items (exact int64), by np.add.reduceat over the rows' first items (no
    cumulative array of every item); a row of no items sums to 0."""
    n = len(offsets) - 1
    sums = np.zeros(n, np.int64)
    starts = offsets[:-1]
    k = int(np.searchsorted(starts, len(values)))  # rows from k on start past the last item: empty
    if k:
        sums[:k] = np.add.reduceat(values, starts[:k])
        empty = offsets[1:k + 1] == starts[:k]
        if empty.any():  # (reduceat gives an empty row the next row's first item)
            sums[:k][empty] = 0
    return sums


def _round_div(num: np.ndarray, den: int) -> np.ndarray:
    """num / den rounded half-up, for num >= 0 (money's only rounding, money.q)."""
    return (2 * num + den) // (2 * den)


class _Accumulators:
    """Each person-year's accumulators (settle.Year), as columns: a row per person-year, a
    column per key, stored column by column (a step gathers one key for many years)."""

    def __init__(self, n: int, keys: _Keys, order: str = "F"):
        """`order`: F for the steps (a column per key), C for the kernel (a person-year's together)."""
        nb, npool, nburden = max(len(keys.benefits), 1), max(len(keys.pools), 1), max(len(keys.burdens), 1)
        self.stays = np.zeros((n, nb), np.int64, order=order)          # benefit -> stays (Year.benefit_stays)
        self.level_stays = np.zeros((n, max(len(keys.stays), 1)), np.int64, order=order)  # (benefit, level) -> Year.stays
        self.deductibles = np.zeros((n, nb), np.int64, order=order)
        self.levels = np.zeros((n, nb), np.int64, order=order)         # Year.deductible_levels
        self.eligible = np.zeros((n, nb), np.int64, order=order)
        self.pools = np.zeros((n, npool), np.int64, order=order)       # exact, in 1/scale fen
        self.rounded = np.zeros((n, npool), np.int64, order=order)     # fen
        self.burden = np.zeros((n, nburden), np.int64, order=order)
        # A pool past a cap point off the grid: its exact value is pools + fractions[(y, k)] (< 1 unit).
        # Whole payments round the same with or without it (2x + S is even, S = 10^k, k >= 1).
        self.fractions: dict = {}
        self.has_fraction = np.zeros((n, npool), bool, order="F")

    @classmethod
    def of_snapshots(cls, snaps: np.ndarray, keys: _Keys, widths: np.ndarray) -> "_Accumulators":
        """The years the compiled kernel handed over, as it left them (a row each, its columns side
        by side in _batch_loops.settle_rows' order, the pools' fractions last)."""
        acc = cls(len(snaps), keys, order="C")
        nb, nstay, npool, nburden = widths.tolist()
        at = 0
        for name, width in (("stays", nb), ("deductibles", nb), ("levels", nb), ("eligible", nb),
                            ("level_stays", nstay), ("pools", npool), ("rounded", npool), ("burden", nburden),
                            ("frac_num", npool), ("frac_den", npool)):
            setattr(acc, name, snaps[:, at:at + width])
            at += width
        for y, k in zip(*np.nonzero(acc.frac_num)):
            acc.fractions[(int(y), int(k))] = Fraction(int(acc.frac_num[y, k]), int(acc.frac_den[y, k]))
        return acc


class _Exact:
    """The rows of a step whose cost above a cap point is a fraction: (hi - a) - left / share,
    kept as numerator over denominator (share)."""

    def __init__(self):
        self.parts: list = []

    def add(self, off: np.ndarray, span: np.ndarray, left: np.ndarray, share) -> None:
        rows = np.flatnonzero(off)
        den = share[rows] if isinstance(share, np.ndarray) else np.full(len(rows), share, np.int64)
        self.parts.append((rows, span[rows] * den - left[rows], den))

    def done(self) -> "_Exact":
        rows, num, den = (np.concatenate(x) for x in zip(*self.parts)) if self.parts else \
            (np.zeros(0, np.int64),) * 3
        self.rows, self.num, self.den = rows, num, den
        return self


class _Out:
    def __init__(self, n: int, funds: list):
        self.deductible = np.zeros(n, np.int64)
        self.patient = np.zeros(n, np.int64)
        self.paid = {f: np.zeros(n, np.int64) for f in funds}


# ---- one vectorised step: the k-th claim of many persons, under one plan --------------------

_NONE = np.iinfo(np.int64).max
_EXACT_LIMIT = 1 << 62  # a cap point's fraction in int64 while 4x its largest product stays below this
_SNAPSHOT_ROOM = 16     # years the compiled kernel hands over that a call has room for (more: called again)


class _Step:
    """engine.py's stages over arrays: `rows` (claims) of person-years `y`, all under plan `v`.
    `run()` settles them into `out`, updates the accumulators, and returns the rows whose exact
    amounts left the 1/scale-fen grid (their persons go to the scalar engine)."""

    def __init__(self, run: _Run, v: _VPlan, rows: np.ndarray, y: np.ndarray, acc: _Accumulators, out: _Out):
        self.r, self.v, self.rows, self.y, self.acc, self.out = run, v, rows, y, acc, out
        self.scale = run.scale
        self.lost = np.zeros(len(rows), bool)
        self.fractions: list = []   # (person-year, pool, fraction of a unit) to add at commit

    def run(self) -> np.ndarray:
        v, rows, out = self.v, self.rows, self.out
        total = self.r.total[rows]
        if v.error is not None:  # the claim's error row; the year does not move
            return self.lost
        if v.not_covered:  # the patient pays it all; the year does not move
            out.patient[rows] = total
            return self.lost
        eligible = self.r.eligible[rows]
        due, target = self._deductible_due()
        charged = np.minimum(due, eligible)
        paid, exact, lo, hi, uncapped, rooms = self._paying_fund(charged, eligible)
        funds = {v.payer: paid}
        updates = []
        paid_so_far = paid.copy()
        burden_claim = eligible - paid
        for layer in v.layers:
            p, update = self._layer(layer, eligible, charged, paid_so_far, burden_claim, lo, hi, uncapped, rooms)
            funds[layer.fund] = funds.get(layer.fund, 0) + p
            paid_so_far += p
            updates.append(update)
        out.deductible[rows] = charged
        for f in v.funds:
            out.paid[f][rows] = funds.get(f, 0)
        out.patient[rows] = total - paid_so_far
        if self.lost.any():  # taken over by the scalar engine from this claim on, as the year was
            self.r.snapshot(self.acc, np.unique(self.y[self.lost]))
        self._commit(charged, target, eligible, exact, paid, updates)
        return self.lost

    def _deductible_due(self):
        """settle.deductible_due and reduced, for deductibles without referral or none-from."""
        v, acc, y = self.v, self.acc, self.y
        n = len(y)
        if np.all(v.ded_amount == 0):  # (all or none of a step's rows: the sign is its shape's)
            return np.zeros(n, np.int64), None
        b = v.benefit
        if not v.reducible:
            base = np.full(n, v.ded_amount, np.int64)
        else:
            earlier = acc.stays[:, b].take(y)
            base = np.full(n, v.ded_base, np.int64)
            changed = np.full(n, v.ded_static_ref)
            if v.repeat is not None:
                base = base - v.repeat * earlier
                changed |= earlier > 0
            if v.floor is not None:
                base = np.where(changed & (base < v.floor), v.floor, base)
            base = np.maximum(base, 0)
        target = None
        if v.yearly:
            target = np.maximum(base, acc.levels[:, b].take(y))
            due = np.maximum(target - acc.deductibles[:, b].take(y), 0)
        else:
            due = base
        if v.none_from is not None and v.none_from_applies:
            counted = _columns_sum(acc.level_stays, y, v.stays_counted)
            none = counted + 1 >= v.none_from[0]
            due = np.where(none, 0, due)
            if target is not None:  # settle.deductible_due returns before the yearly amount
                target = np.where(none, acc.levels[:, b].take(y), target)
        if v.cap_reached_s:
            # Past the basic fund's yearly cap the layer above it settles alone: no deductible.
            reached = np.zeros(n, bool)
            for k, limit in v.cap_reached_s:
                reached |= acc.pools[:, k].take(y) >= limit
            due = np.where(reached, 0, due)
        return due, target

    def _paying_fund(self, charged, eligible):
        v, acc, y = self.v, self.acc, self.y
        e0 = _columns_sum(acc.eligible, y, v.scope)
        lo, hi = e0 + charged, e0 + eligible
        pay = _banded(lo, hi, v.rate.scaled_bands)
        uncapped = pay
        rooms_fund = np.full(len(y), _NONE, np.int64)
        rooms_any = rooms_fund.copy()
        for k, limit, fund_wide in v.caps_s:
            room = np.maximum(limit - acc.pools[:, k].take(y), 0)
            bound = pay > room
            pay = np.where(bound, room, pay)
            rooms_any = np.where(bound, np.minimum(rooms_any, room), rooms_any)
            if fund_wide:
                rooms_fund = np.where(bound, np.minimum(rooms_fund, room), rooms_fund)
        return self._paid(pay, v.keys), pay, lo, hi, uncapped, (rooms_fund, rooms_any)

    def _paid(self, pay, keys):
        """settle.paid: the increase of the rounded exact cumulative, the least over its pools."""
        s = self.scale
        if not keys:
            return _round_div(pay, s)
        acc, y = self.acc, self.y
        return np.min([_round_div(acc.pools[:, k].take(y) + pay, s) - acc.rounded[:, k].take(y) for k in keys],
                      axis=0)

    def _layer(self, layer, eligible, charged, paid_so_far, burden_claim, lo, hi, uncapped, rooms):
        n = len(eligible)
        zero = np.zeros(n, np.int64)
        if layer.base == "burden":
            counted = burden_claim + (self.r.prepay[self.rows] if layer.counts_prepay
                                      else self.r.first_share[self.rows] if layer.includes_first_share else 0)
            acc, y = self.acc, self.y
            burden = (layer.burden, acc.burden[:, layer.burden].take(y) + counted)
            if layer.rate is None or layer.not_covered:
                return zero, (burden, [], zero, zero)
            lo, hi = self._burden_positions(layer, counted)
            pay = _banded(lo, hi, layer.rate.scaled_bands)
            return self._layer_paid(layer, pay, burden)
        if layer.rate is None:
            return zero, (None, [], zero, zero)
        if layer.base == "above-cap":
            self.exact = _Exact()
            above = self._above(rooms[1] if layer.above_any_cap else rooms[0], eligible, lo, hi, uncapped)
            pay = above * layer.rate.scaled_share
            ex = self.exact.done()
            p, update = self._layer_paid(layer, pay, None, exclude=ex.rows)
            pay, p = update[2], p.copy()
            if len(ex.rows):
                share = layer.rate.scaled_share
                share = share[ex.rows] if isinstance(share, np.ndarray) else np.full(len(ex.rows), share, np.int64)
                p[ex.rows], pay[ex.rows] = self._exact_layer_paid(layer, ex.rows, ex.num, share, ex.den)
            # No payment, no layer update (engine._above_cap returns before _layer_paid).
            skip = above <= 0
            skip[ex.rows] = False
            return np.where(skip, 0, p), (None, layer.keys, np.where(skip, 0, pay), np.where(skip, 0, p))
        if layer.not_covered:
            return zero, (None, [], zero, zero)
        remaining = eligible - paid_so_far - (charged if layer.above_deductible else 0) \
            + (self.r.first_share[self.rows] if layer.includes_first_share else 0)
        pay = np.maximum(remaining, 0) * layer.rate.scaled_share
        return self._layer_paid(layer, pay, None)

    def _burden_positions(self, layer, counted):
        """engine._burden_positions: the excess over each group of thresholds (the larger one in
        a group), placed above the first threshold."""
        acc, y = self.acc, self.y
        before, after = [], []
        for (amount, _, counts), summed in zip(layer.thresholds, layer.summed):
            b0 = _columns_sum(acc.burden, y, summed)
            before.append(b0 - amount)
            after.append(b0 + counted - amount if counts else b0 - amount)
        first = layer.thresholds[0][0]
        lo, hi = np.full(len(y), first, np.int64), np.full(len(y), first, np.int64)
        for group in layer.groups:
            lo += np.maximum(np.max([before[i] for i in group], axis=0), 0)
            hi += np.maximum(np.max([after[i] for i in group], axis=0), 0)
        return lo, hi

    def _layer_paid(self, layer, pay, burden, exclude=()):
        acc, y = self.acc, self.y
        for k, limit in layer.caps_s:
            room = np.maximum(limit - acc.pools[:, k].take(y), 0)
            if acc.fractions:
                # A pool holding a fraction (an earlier cap point) that this payment would fill:
                # the capped payment is a fraction too; the year goes on in the scalar engine.
                frac = acc.has_fraction[:, k].take(y) & (pay > 0) & (pay >= room)
                frac[list(exclude)] = False
                self.lost |= frac
            pay = np.minimum(pay, room)
        p = self._paid(pay, layer.keys)
        return p, (burden, layer.keys, pay, p)

    def _above(self, rooms, eligible, lo, hi, uncapped):
        """engine._above: the eligible cost (fen) above the basic fund's cap point. A cap point
        off the 1/scale-fen grid marks the row lost (its person goes to the scalar engine)."""
        bound = rooms != _NONE
        above = np.zeros(len(rooms), np.int64)
        used_up = bound & (rooms <= 0)
        above[used_up] = eligible[used_up]
        crossing = bound & (rooms > 0) & (uncapped > rooms)
        if crossing.any():
            pos = hi.copy()
            found = np.zeros(len(rooms), bool)
            paid = np.zeros(len(rooms), np.int64)
            start = 0
            for upper, share in self.v.rate.scaled_bands:
                top = _NONE if upper is None else upper
                a, b = np.maximum(lo, start), np.minimum(hi, top)
                seg = np.where(b > a, (b - a) * share, 0)
                hit = crossing & ~found & (b > a) & (share > 0) & (paid + seg >= rooms)
                if _positive(share):
                    left = rooms - paid
                    off = hit & (left % share != 0)
                    if off.any():  # off the grid: the cost above it is (hi - a) - left / share
                        self.exact.add(off, hi - a, left, share)
                    pos = np.where(hit, a + left // share, pos)
                found |= hit
                paid += seg
                start = top
            above = np.where(crossing, hi - pos, above)
        return above

    def _exact_layer_paid(self, layer, rows: np.ndarray, cost: np.ndarray, share: np.ndarray, den: np.ndarray):
        """_layer_paid for rows whose payment (1/scale fen) is a fraction, cost * share / den: the layer's
        pools keep the part below one unit in `acc.fractions`, added to them at commit. Integer
        arithmetic over the rows' common form; in Python (`Fraction`) where a pool already holds a
        fraction or the products could pass int64. Returns (payments in fen, whole units)."""
        acc, s = self.acc, self.scale
        y = self.y[rows]
        caps = [(k, limit[rows] if isinstance(limit, np.ndarray) else limit) for k, limit in layer.caps_s]
        pooled = [k for k, _ in caps] + list(layer.keys)
        slow = np.zeros(len(rows), bool)
        for k in pooled:
            slow |= acc.has_fraction[:, k].take(y)
        widest = int(den.max(initial=0))
        most = max([int(cost.max(initial=0)) * int(share.max(initial=0))]
                   + [int(np.max(limit)) * widest for _, limit in caps]
                   + [(int(acc.pools[:, k].take(y).max(initial=0)) + s) * widest for k in pooled])
        if 4 * most >= _EXACT_LIMIT:
            slow[:] = True
        else:
            num = cost * share
        p, whole = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
        fast = ~slow
        if fast.any():
            yf, nf, df = y[fast], num[fast], den[fast]
            for k, limit in caps:
                nf = np.minimum(nf, np.maximum((limit[fast] if isinstance(limit, np.ndarray) else limit)
                                               - acc.pools[:, k].take(yf), 0) * df)
            if layer.keys:
                p[fast] = np.min([(2 * (acc.pools[:, k].take(yf) * df + nf) + s * df) // (2 * s * df)
                                  - acc.rounded[:, k].take(yf) for k in layer.keys], axis=0)
            else:
                p[fast] = (2 * nf + s * df) // (2 * s * df)
            whole[fast] = nf // df
            part = nf % df
            for j in np.flatnonzero(part).tolist():
                self.fractions.extend((int(yf[j]), k, Fraction(int(part[j]), int(df[j]))) for k in layer.keys)
        for j in np.flatnonzero(slow).tolist():
            p[j], whole[j] = self._exact_one(layer, int(y[j]), Fraction(int(cost[j]) * int(share[j]), int(den[j])),
                                             [(k, int(limit[j]) if isinstance(limit, np.ndarray) else limit)
                                              for k, limit in caps])
        return p, whole

    def _exact_one(self, layer, y: int, pay: Fraction, caps) -> tuple[int, int]:
        acc, s = self.acc, self.scale
        exact = lambda k: int(acc.pools[y, k]) + acc.fractions.get((y, k), 0)  # noqa: E731
        for k, limit in caps:
            pay = min(pay, max(limit - exact(k), 0))
        if layer.keys:
            p = min(math.floor((2 * (exact(k) + pay) + s) / (2 * s)) - int(acc.rounded[y, k]) for k in layer.keys)
        else:
            p = math.floor((2 * pay + s) / (2 * s))
        whole = math.floor(pay)
        self.fractions.extend((y, k, pay - whole) for k in layer.keys)
        return p, whole

    def _commit(self, charged, target, eligible, exact, paid, updates) -> None:
        """engine._commit: the year's changes, in one place."""
        v, acc, y = self.v, self.acc, self.y
        b = v.benefit
        # (a step's years are distinct, so a column's y-th entries can be added to in place)
        if v.counts_stay:
            acc.stays[:, b][y] += 1
            acc.level_stays[y, v.stay] += 1  # (the stay may differ by row: plans of one shape)
        loops = self.r.loops
        _add(loops, acc.deductibles[:, b], y, charged)
        if target is not None:
            acc.levels[:, b][y] = target
        _add(loops, acc.eligible[:, b], y, eligible)
        _record(loops, acc, y, v.keys, exact, paid)
        for burden, keys, pay, p in updates:
            if burden is not None:
                acc.burden[:, burden[0]][y] = burden[1]
            _record(loops, acc, y, keys, pay, p)
        for year, k, part in self.fractions:
            part += acc.fractions.pop((year, k), 0)
            if part >= 1:
                acc.pools[year, k] += 1
                part -= 1
            if part:
                acc.fractions[(year, k)] = part
            acc.has_fraction[year, k] = bool(part)


def _columns_sum(table: np.ndarray, y: np.ndarray, columns: list) -> np.ndarray:
    """table[y][:, columns].sum(axis=1), a column at a time (5x quicker than taking whole rows)."""
    total = np.zeros(len(y), np.int64)
    for j in columns:
        total += table[:, j].take(y)
    return total


def _record(loops, acc: _Accumulators, y, keys, exact, rounded) -> None:
    for k in keys:
        _add(loops, acc.pools[:, k], y, exact)
        _add(loops, acc.rounded[:, k], y, rounded)


def _add(loops, column: np.ndarray, y: np.ndarray, values) -> None:
    """column[y] += values, the y distinct: with the loops one pass, not a gather, a sum and a scatter."""
    if loops is not None and isinstance(values, np.ndarray) and values.dtype == y.dtype == np.int64 \
            and column.flags.c_contiguous:
        loops.add_at(column, y, values)
    else:
        column[y] += values


def _sort_order(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """np.lexsort((positions, second, first)) for non-negative keys, as one sort of one integer
    key when it fits in 63 bits (a quarter of the time); a small key sorts by radix."""
    n = len(first)
    lo = int(second.min()) if n else 0  # (not min(initial=0): dates are ordinals ~739,000, the counts' span)
    span_f, span_s = int(first.max(initial=0)) + 1, int(second.max(initial=0)) - lo + 1
    loops = kernels(n)
    if loops is not None and span_f + span_s <= 4 * n + 4096:  # two counting sorts, O(n + spans)
        return loops.sort_order(first.astype(np.int64, copy=False), second.astype(np.int64, copy=False),
                                lo, span_f, span_s)
    if span_f * span_s < 1 << 16:
        return np.argsort((first * span_s + (second - lo)).astype(np.uint16), kind="stable")
    if span_f * span_s * max(n, 1) >= 1 << 62:
        return np.lexsort((np.arange(n), second, first))
    return np.argsort((first * span_s + (second - lo)) * n + np.arange(n))


def _wave_order(rows, person_scheme, ordinal, year, shape) -> tuple:
    """The rows of the waves in their order: each person-year's claims by date (ties in input
    order), numbered into person-years and ranks, then by (rank, shape): the k-th claims of every
    year, a step's rows together. Returns (rows, person-year, rank) in that order and the number
    of person-years. With the loops, one compiled pass (the same values)."""
    n = len(rows)
    lo = int(ordinal.min()) if n else 0
    span_f, span_s = int(person_scheme.max(initial=0)) + 1, int(ordinal.max(initial=0)) - lo + 1
    loops = kernels(n)
    if loops is not None and span_f + span_s <= 4 * n + 4096:
        int64 = lambda a: a.astype(np.int64, copy=False)  # noqa: E731 (one signature, compiled once)
        order, pyear, rank, years = loops.wave_order(int64(person_scheme), int64(ordinal), int64(year), int64(shape),
                                                     lo, span_f, span_s, int(shape.max(initial=0)) + 1)
        return rows[order], pyear, rank, years
    order = _sort_order(person_scheme, ordinal)  # the year follows the date
    rows, person_scheme, year, shape = rows[order], person_scheme[order], year[order], shape[order]
    new = np.r_[True, (person_scheme[1:] != person_scheme[:-1]) | (year[1:] != year[:-1])]
    pyear = np.cumsum(new) - 1
    rank = np.arange(len(rows)) - np.flatnonzero(new)[pyear]
    wave_order = _sort_order(rank, shape)
    return rows[wave_order], pyear[wave_order], rank[wave_order], int(pyear[-1]) + 1


def _unique(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(keys, return_index=True, return_inverse=True) for non-negative keys of few
    distinct values: with the loops, one pass through a small table, then the few keys sorted."""
    loops = kernels(len(keys))
    if loops is None:
        return np.unique(keys, return_index=True, return_inverse=True)
    codes, firsts = loops.first_codes(keys)
    order = np.argsort(keys[firsts])
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return keys[firsts][order], firsts[order], rank[codes]


def _banded(lo, hi, bands) -> np.ndarray:
    """settle.banded in 1/scale fen: each band's part of lo..hi (fen) times its scaled share."""
    if len(bands) == 1 and bands[0][0] is None:
        return np.maximum(hi - lo, 0) * bands[0][1]
    pay = np.zeros(len(lo), np.int64)
    start = 0
    for upper, share in bands:
        top = _NONE if upper is None else upper
        a, b = np.maximum(lo, start), np.minimum(hi, top)
        pay += np.maximum(b - a, 0) * share
        start = top
    return pay

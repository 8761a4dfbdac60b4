"""spill_form: a bucket's results packed for their spill file, and given back exactly."""

from decimal import Decimal

import numpy as np
import pyarrow as pa

from medpolicy.partition import _input_order
from medpolicy.spill_form import pack, unpack

MONEY = pa.decimal64(18, 2) if hasattr(pa, "decimal64") else pa.decimal128(18, 2)
PAID = pa.struct([("basic", MONEY), ("major", MONEY)])
ERROR = pa.struct([("code", pa.string()), ("message", pa.string())])
SCHEMA = pa.schema([("id", pa.string()), ("total", MONEY), ("prepay", MONEY), ("big", MONEY),
                    ("paid", PAID), ("error", ERROR), ("row", pa.int64())])


def results(rows):
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def row(n, total="12.34", big="0.01", paid=None, error=None):
    return {"id": f"c{n}", "total": Decimal(total), "prepay": Decimal("0.00"), "big": Decimal(big),
            "paid": paid if paid is not None else {"basic": Decimal("1.00"), "major": Decimal("-2.50")},
            "error": error, "row": n}


def test_money_that_fits_32_bits_is_narrowed_zero_and_null_leaves_left_out_and_all_comes_back():
    table = results([row(0, big="21474836.47"), row(1, total="-21474836.48"), row(2)])
    packed = pack(table, kept=("row",))
    # prepay is zero on every row, error null on every row: neither is spilled
    assert packed.schema.names == ["id", "total", "big", "paid.basic", "paid.major", "row"]
    assert [packed.schema.field(n).type for n in ("total", "big", "paid.basic", "row")] == [pa.int32()] * 4
    assert unpack(packed, SCHEMA).to_pylist() == table.to_pylist()


def test_money_past_32_bits_and_nulls_keep_their_values():
    table = results([row(0, big="21474836.48"), {**row(1), "total": None, "prepay": None, "paid": None,
                                                  "error": {"code": "bad-date", "message": "no"}}])
    packed = pack(table, kept=("row",))
    assert packed.schema.field("big").type == MONEY  # 2^31 fen: as it is
    assert packed.schema.field("total").type == pa.int32()
    assert packed.schema.field("prepay").type == pa.int32()  # zero or null: not all zero
    assert "paid" in packed.schema.names and "error.code" in packed.schema.names  # validities
    back = unpack(packed, SCHEMA).to_pylist()
    assert back == table.to_pylist()
    assert back[1]["total"] is None and back[1]["paid"] is None and back[0]["big"] == Decimal("21474836.48")


def test_a_kept_column_is_spilled_even_when_zero_so_a_batch_keeps_its_rows():
    table = results([row(0)]).select(["prepay", "row"])
    packed = pack(table, kept=("row",))
    assert packed.schema.names == ["row"] and packed.num_rows == 1
    assert unpack(packed, table.schema).to_pylist() == [{"prepay": Decimal("0.00"), "row": 0}]


def test_slices_of_a_packed_table_come_back_as_their_rows():
    table = results([row(n, total=f"{n}.00", paid={"basic": Decimal(n), "major": None}) for n in range(6)])
    batch = pack(table, kept=("row",)).to_batches()[0]
    piece = pa.Table.from_batches([batch.slice(2, 3)])
    assert unpack(piece, SCHEMA).to_pylist() == table.slice(2, 3).to_pylist()


def test_a_window_is_put_in_input_order_by_place_or_by_sorting_where_rows_repeat():
    assert _input_order(np.array([12, 10, 13, 11]), 10).tolist() == [1, 3, 0, 2]
    assert _input_order(np.array([11, 10, 11]), 10).tolist() == [1, 0, 2]   # 11 twice: sorted, stable
    assert _input_order(np.array([15, 10]), 10).tolist() == [1, 0]          # not 10..11: sorted
    assert _input_order(np.zeros(0, np.int64), 0).tolist() == []


def test_a_value_under_a_null_does_not_keep_a_column_wide():
    values = pa.py_buffer(np.array([5, 1 << 40], np.int64))
    valid = pa.array([True, False]).buffers()[1]
    table = pa.table({"row": pa.array([0, 1]), "total": pa.Array.from_buffers(MONEY, 2, [valid, values])})
    packed = pack(table, kept=("row",))
    assert packed.schema.field("total").type == pa.int32()
    assert unpack(packed, table.schema).column("total").to_pylist() == [Decimal("0.05"), None]

"""takes.take_rows: the rows Arrow's take gives, nested columns taken child by child."""

import numpy as np
import pyarrow as pa

from medpolicy.takes import take_rows

ITEM = pa.struct([("class", pa.dictionary(pa.int32(), pa.string())), ("amount", pa.string())])


def _claims() -> pa.Table:
    items = [[{"class": "A", "amount": "1.00"}, {"class": "B", "amount": "2.50"}], [], None,
             [{"class": None, "amount": "3.00"}], [{"class": "excluded", "amount": None}, None]]
    return pa.table({
        "id": pa.array(["c0", "c1", None, "c3", "c4"]),
        "facility": pa.array([{"level": "level1"}, None, {"level": None}, {"level": "level3"}, {"level": "level2"}],
                             pa.struct([("level", pa.string())])),
        "items": pa.array(items, pa.list_(ITEM)),
        "paid": pa.array([{"basic": 1, "major": None}, None, {"basic": 3, "major": 4}, {"basic": None, "major": 5},
                          {"basic": 6, "major": 7}], pa.struct([("basic", pa.int64()), ("major", pa.int64())])),
    })


def _same(table, rows):
    got = take_rows(table, np.array(rows, np.int64))
    want = table.take(pa.array(rows, pa.int64()))
    assert got.schema == want.schema and got.to_pylist() == want.to_pylist()
    return got


def test_nested_rows_with_nulls_at_each_level_come_out_as_arrow_takes_them():
    got = _same(_claims(), [4, 0, 2, 2, 1, 3])
    assert got.column("items").to_pylist()[0] == [{"class": "excluded", "amount": None}, None]
    assert got.column("paid").to_pylist()[4] is None and got.column("items").to_pylist()[3] is None


def test_a_sliced_table_a_record_batch_and_chunks():
    table = _claims()
    _same(table.slice(1, 4), [3, 0, 1])  # offsets into the parent's buffers
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2)])
    assert chunked.column("items").num_chunks == 2
    _same(chunked, [4, 1, 0])
    batch = table.to_batches()[0].slice(2)
    got = take_rows(batch, np.array([2, 0], np.int64))
    assert isinstance(got, pa.RecordBatch) and got.to_pylist() == batch.take(pa.array([2, 0])).to_pylist()


def test_no_rows_and_every_row_twice():
    table = _claims()
    assert take_rows(table, np.zeros(0, np.int64)).num_rows == 0
    _same(table, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])


def test_a_column_of_nulls_only():
    table = pa.table({"error": pa.nulls(4, pa.struct([("code", pa.string())])), "n": pa.array([1, 2, 3, 4])})
    got = _same(table, [3, 3, 0])
    assert got.column("error").null_count == 3

"""Claims and results as Arrow tables and Parquet files (pyarrow, the `data` extra).

Input: the contract's claim fields as columns, `facility` a struct, `items` a list of structs,
money as two-decimal strings or decimal columns, dates as `YYYY-MM-DD` strings or date
columns — what `pyarrow.Table.from_pylist(claims)` writes from the contract's JSON — or
timestamps at midnight with no time zone (pandas' datetime64; a time of day is refused). A
null is an absent field.

Output: one row per claim, in input order. Money is `decimal128(18, 2)`: exact (never a float),
and read as a decimal by pandas (Python `Decimal`), DuckDB (`DECIMAL(18,2)`) and Spark alike;
18 digits hold any amount the language allows (below 10¹²). `paid` is a struct with one field
per fund of the policy (null where the claim's scheme has no such fund); an error row has null money and an `error` struct (code, message, field);
`trace`, when asked for, is a list of structs (step, amount, line, cite, detail).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq

MONEY = pa.decimal128(18, 2)
BATCH = 65536
_FIELDS = ("total", "excluded", "prepay", "eligible", "deductible")
_ERROR = pa.struct([("code", pa.string()), ("message", pa.string()), ("field", pa.string())])
# A text claim that does not fit the columnar engine's columns, kept whole as its JSON text
# (columnar_text.py): claims_from_table gives it back as it was read.
ASIDE = "medpolicy:claim"
_STEP = pa.struct([("step", pa.string()), ("amount", MONEY), ("line", pa.int32()), ("cite", pa.string()),
                   ("detail", pa.string())])


def claims_table(claims: Iterable[dict]) -> pa.Table:
    """Claims (the contract's JSON objects) as a table whose columns are every field any claim
    has. (`pyarrow.Table.from_pylist` takes its columns from the first claim alone, so a field
    only later claims carry, such as `groups`, would be dropped.) A field that is a list in some
    claims and one value in others (`maternity`: an event, or events done together) becomes a
    list column, one value a list of one."""
    claims = list(claims)
    listed = {k for c in claims for k, v in c.items() if isinstance(v, list)}
    mixed = {k for k in listed if any(k in c and not isinstance(c[k], list) for c in claims)}
    if mixed:
        claims = [{k: ([v] if k in mixed and v is not None and not isinstance(v, list) else v) for k, v in c.items()}
                  for c in claims]
    return pa.Table.from_struct_array(pa.array(claims))


def claims_from_table(table: pa.Table) -> Iterator[dict]:
    """The claims of a table, as the contract's JSON objects (nulls dropped); a row with JSON
    text in ASIDE is the claim that text holds."""
    aside = ASIDE in table.column_names
    for batch in table.to_batches(BATCH):
        for row in batch.to_pylist():
            text = row.pop(ASIDE, None) if aside else None
            yield json_value(row) if text is None else _kept(text, row)


def _kept(text: str, row: dict) -> Any:
    from .inputs import parse_json

    try:
        return parse_json(text)
    except (ValueError, RecursionError):  # not ours (a table that named a column so): a field like any
        return json_value({**row, ASIDE: text})


def read_parquet(path: str) -> Iterator[dict]:
    """The claims of a Parquet file, batch by batch (memory: one batch, not the file)."""
    f = pq.ParquetFile(path)
    for batch in f.iter_batches(batch_size=BATCH):
        for row in batch.to_pylist():
            yield json_value(row)


def json_value(value: Any) -> Any:
    """A cell as the contract's JSON would give it: no nulls, dates as text, decimals kept exact. A timestamp
    at midnight with no time zone is its date (pandas keeps dates so, as datetime64); any other
    timestamp keeps its time, which the claim reader refuses for a date."""
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dt.datetime):
        midnight = value.tzinfo is None and value.time() == dt.time() and not getattr(value, "nanosecond", 0)
        return value.date().isoformat() if midnight else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_KNOWN = {"id", "person", "year", "benefit", *_FIELDS, "paid", "patient", "account", "cash", "account_balance",
          "allowance", "error", "trace"}


def result_schema(funds: Iterable[str], trace: bool, money: pa.DataType = MONEY) -> pa.Schema:
    """The result table's columns; `money` the type of its amounts (decimal128(18, 2), or
    decimal64(18, 2) for the Parquet file `med run` writes: partition.py)."""
    fields = [("id", pa.string()), ("person", pa.string()), ("year", pa.int32()), ("benefit", pa.string()),
              *((name, money) for name in _FIELDS),
              ("paid", pa.struct([(f, money) for f in funds])), ("patient", money),
              ("account", money), ("cash", money), ("account_balance", money), ("allowance", money),
              ("error", _ERROR)]
    if trace:
        fields.append(("trace", pa.list_(_STEP)))
    return pa.schema(fields)


def results_batch(rows: list[dict], schema: pa.Schema) -> pa.RecordBatch:
    """Result rows (the contract's JSON, money as strings) as one record batch."""
    funds = [f.name for f in schema.field("paid").type]
    trace = "trace" in schema.names
    columns: dict[str, list] = {name: [] for name in schema.names}
    for r in rows:
        ok = "error" not in r
        for name in ("id", "person", "year", "benefit"):
            columns[name].append(r.get(name))
        for name in (*_FIELDS, "patient", "account", "cash", "account_balance", "allowance"):
            columns[name].append(_money(r.get(name)) if ok else None)
        # A fund the claim's scheme does not have is null, not a payment of 0.
        columns["paid"].append({f: _money(r["paid"].get(f)) for f in funds} if ok else None)
        columns["error"].append(None if ok else {"code": r["error"].get("code"), "message": r["error"].get("message"),
                                                 "field": r["error"].get("field")})
        if trace:
            columns["trace"].append([{**s, "amount": _money(s.get("amount"))} for s in r.get("trace", ())] if ok else None)
        for name in columns.keys() - _KNOWN:
            columns[name].append(r.get(name))
    return pa.record_batch([pa.array(columns[f.name], type=f.type) for f in schema], schema=schema)


def result_rows(table: pa.Table) -> Iterator[dict]:
    """The rows of a result table as the contract's JSON, as `Result.to_json(trace=False)` gives
    them: money as two-decimal strings; a fund the claim's scheme does not have, and a field the
    result does not have (account_balance, allowance), left out; an error row its id and error.
    (Money is made text by Arrow's cast, column by column: a Python Decimal a value was 5x slower.)"""
    names = [n for n in table.schema.names if n != "trace"]
    table = table.select(names)
    table = table.cast(pa.schema([pa.field(f.name, _money_as_text(f.type)) for f in table.schema]))
    error, paid = names.index("error"), names.index("paid")
    for batch in table.to_batches(BATCH):
        for values in zip(*(column.to_pylist() for column in batch.columns)):
            if values[error] is not None:
                yield {"id": values[0], "error": values[error]}
                continue
            row = {}
            for k, (name, v) in enumerate(zip(names, values)):
                if v is None or k == error:
                    continue
                row[name] = {fund: a for fund, a in v.items() if a is not None} if k == paid else v
            yield row


def _money_as_text(t: pa.DataType) -> pa.DataType:
    if pa.types.is_decimal(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _money_as_text(f.type)) for f in t])
    return t


def _money(text: Optional[str]) -> Optional[Decimal]:
    return None if text is None else Decimal(text)


class ParquetResults:
    """Writes result rows to a Parquet file (or with `arrow`, an Arrow IPC file) as they come, a
    batch at a time. `extra` names integer columns the rows carry besides the result (the
    distributed job's input position)."""

    def __init__(self, path: str, funds: Iterable[str], trace: bool, extra: tuple[str, ...] = (),
                 arrow: bool = False):
        self.schema = result_schema(funds, trace)
        for name in extra:
            self.schema = self.schema.append(pa.field(name, pa.int64()))
        self._writer = pa.ipc.new_file(path, self.schema) if arrow else pq.ParquetWriter(path, self.schema)
        self._rows: list[dict] = []

    def write(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._writer.write_batch(results_batch(self._rows, self.schema))
            self._rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


def all_funds(policy) -> list[str]:
    """Every fund of every scheme of the policy, in the order the policy declares them."""
    return list(dict.fromkeys(f for s in policy.compiled.schemes for f in policy.funds(s)))


def claims_arrow(table) -> tuple[pa.Table, bool]:
    """The claims of an Arrow table or a pandas DataFrame as an Arrow table, and whether it was a
    DataFrame; ValueError for a column named twice (fields_once)."""
    is_pandas = not isinstance(table, pa.Table)
    if is_pandas:
        table = pa.Table.from_pandas(table, preserve_index=False)
    fields_once(table.schema)
    return table, is_pandas


def fields_once(fields: Iterable[pa.Field], within: str = "") -> None:
    """ValueError for a column (or a struct's field) named twice: no claim has a field twice, and
    a table's rows would keep one of them without a word (the columns could look up neither)."""
    names = [f.name for f in fields]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ValueError(f"the column {within}{twice} appears {names.count(twice)} times: a claim has each field once")
    for f in fields:
        kind = f.type.value_type if pa.types.is_list(f.type) or pa.types.is_large_list(f.type) else f.type
        if pa.types.is_struct(kind):
            fields_once(list(kind), f"{within}{f.name}.")


def settle_table(policy, table, *, params: Optional[dict] = None, trace: bool = False):
    """Settle the claims of an Arrow table (or a pandas DataFrame) as one run; results in input
    order as a table of the same kind. ValueError for a column named twice."""
    table, is_pandas = claims_arrow(table)
    results = policy.settle_all(claims_from_table(table), params=params)
    schema = result_schema(all_funds(policy), trace)
    out = pa.Table.from_batches([results_batch([r.to_json(trace=trace) for r in results], schema)], schema=schema)
    return out.to_pandas() if is_pandas else out

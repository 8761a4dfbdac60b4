"""Claims and results as Arrow tables and Parquet files: exactly the results of `settle_all`."""

import json
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import medpolicy
from medpolicy.arrow import MONEY, ParquetResults, all_funds, claims_from_table, claims_table, read_parquet, settle_table

CITIES = {"suihua": {}, "suizhou": {}, "binzhou": {}, "ziyang": {"avg_wage": "60000"},
          "shaoxing": {"b_prepay": "10%", "aid_rate_cat2": "80%", "aid_cap_cat2": "100000", "aid_rate_cat3": "70%",
                       "aid_cap_cat3": "100000", "aid_rate_cat4": "65%", "aid_cap_cat4": "100000"}}


def examples(city):
    with open(f"examples/{city}-claims.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def as_json_money(row: dict) -> dict:
    """A table row written the contract's way (money as two-decimal strings, no nulls)."""
    if row["error"] is not None:
        return {"id": row["id"], "error": {k: v for k, v in row["error"].items() if v is not None}}
    out = {k: (f"{v:.2f}" if isinstance(v, Decimal) else v) for k, v in row.items()
           if k not in ("paid", "error") and v is not None}
    out["paid"] = {f: f"{v:.2f}" for f, v in row["paid"].items() if v is not None}
    return out


@pytest.mark.parametrize("city", sorted(CITIES))
def test_a_table_settles_exactly_as_settle_all(city):
    policy = medpolicy.load(f"policies/{city}.med")
    claims = examples(city)
    expected = [r.to_json(trace=False) for r in policy.settle_all(claims, params=CITIES[city])]
    got = settle_table(policy, claims_table(claims), params=CITIES[city])
    assert got.schema.field("patient").type == MONEY
    rows = [as_json_money(r) for r in got.to_pylist()]
    for e, g in zip(expected, rows):
        if "error" in e:
            assert g["error"]["code"] == e["error"]["code"]
        else:
            assert {k: g.get(k) for k in e} == e


def test_the_table_keeps_every_field_any_claim_has():
    claims = examples("suihua")
    assert list(claims_from_table(claims_table(claims))) == claims
    # One event or several: a list column, one event a list of one (the claim reader takes both).
    suizhou = claims_table(examples("suizhou"))
    assert suizhou.schema.field("maternity").type == pa.list_(pa.string())
    # from_pylist takes its columns from the first claim only: `groups` would be lost.
    assert "groups" not in pa.Table.from_pylist(claims).schema.names


def test_parquet_in_and_out_read_by_duckdb_and_pandas(tmp_path):
    policy = medpolicy.load("policies/suihua.med")
    claims = examples("suihua")
    pq.write_table(claims_table(claims), tmp_path / "claims.parquet")
    out = ParquetResults(str(tmp_path / "results.parquet"), all_funds(policy), trace=True)
    run = policy.run()
    for claim in read_parquet(str(tmp_path / "claims.parquet")):
        out.write(run.settle(claim).to_json())
    out.close()
    total = sum(Decimal(r.to_json()["paid"]["basic"]) for r in policy.settle_all(claims) if r.ok)
    [(basic, steps)] = duckdb.sql(f"select sum(paid.basic), sum(len(trace)) from '{tmp_path / 'results.parquet'}'").fetchall()
    assert basic == total and steps > 0
    df = pq.read_table(tmp_path / "results.parquet").to_pandas()
    assert df["patient"].map(type).eq(Decimal).all()


def test_a_pandas_frame_in_gives_a_pandas_frame_out():
    policy = medpolicy.load("policies/suihua.med")
    frame = claims_table(examples("suihua")[:3]).to_pandas()
    out = policy.settle_table(frame)
    assert list(out["patient"]) == [Decimal(r["patient"]) for r in
                                    (x.to_json() for x in policy.settle_all(examples("suihua")[:3]))]

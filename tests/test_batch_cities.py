"""benchmarks/batch_cities.py, the five-city differential benchmark, kept honest: on a small
generated year it finds no difference, and a result altered by one fen is reported as one row
naming its claim and field, with exit status 1."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

import medpolicy
from medpolicy.arrow import claims_table

from city_years import generated_claims, generated_year, policy_params

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import batch_cities  # noqa: E402

SUIHUA = ROOT / "policies" / "suihua.med"


def test_generated_claims_are_whole_persons_of_the_tests_year():
    """The benchmark's claims are the differential test's generator's: whole persons, the
    fewest that reach the count."""
    policy = medpolicy.load(SUIHUA)
    claims = generated_claims(policy, 500, seed=3)
    persons = len({c["person"] for c in claims})
    assert claims == generated_year(policy, persons, seed=3)
    assert len(claims) >= 500 > len(generated_year(policy, persons - 1, seed=3))


def test_a_small_year_from_parquet_settles_the_same_in_both_engines(tmp_path):
    run = batch_cities.run_city("suihua", 400, 2, tmp_path)
    assert run.differences == []
    assert run.claims >= 400 and run.persons == len({c["person"] for c in generated_claims(
        medpolicy.load(SUIHUA), 400, 2)})
    assert 0 < run.fallback < run.claims  # both engines did some of the work
    assert (tmp_path / "suihua.parquet").exists()


def _settled(n_claims=60, seed=4):
    policy = medpolicy.load(SUIHUA)
    table = claims_table(generated_claims(policy, n_claims, seed))
    return policy.settle_table(table, params=policy_params(policy))


def _one_fen_more(result: pa.Table) -> tuple[pa.Table, str, str, Decimal]:
    """The result with the first paid amount that is not None raised by 0.01: (table, claim id, field, old value)."""
    rows = result.to_pylist()
    for row in rows:
        fund = next((f for f, v in (row["paid"] or {}).items() if v is not None), None)
        if fund is not None:
            old = row["paid"][fund]
            row["paid"][fund] = old + Decimal("0.01")
            return pa.Table.from_pylist(rows, schema=result.schema), row["id"], f"paid.{fund}", old
    raise AssertionError("no paid amount in the settled year")


def test_a_paid_amount_one_fen_off_is_one_differing_row_naming_the_field():
    scalar = _settled()
    assert batch_cities.differences(scalar, scalar) == []
    altered, claim, field, old = _one_fen_more(scalar)
    found = batch_cities.differences(altered, scalar)
    assert len(found) == 1
    assert found[0].claim == claim
    assert found[0].fields == [(field, old, old + Decimal("0.01"))]


def test_a_missing_row_and_another_schema_are_differences():
    scalar = _settled()
    missing = batch_cities.differences(scalar.slice(0, scalar.num_rows - 1), scalar)
    assert [(d.row, d.claim) for d in missing] == [(scalar.num_rows - 1, scalar.column("id")[-1].as_py())]
    assert ("id", scalar.column("id")[-1].as_py(), batch_cities.ABSENT) in missing[0].fields
    renamed = batch_cities.differences(scalar.rename_columns([*scalar.column_names[:-1], "fault"]), scalar)
    assert renamed[0].claim == "(schema)" and len(renamed) == 1 + scalar.num_rows  # every row: `fault`, not `error`


def _total(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("total"))


def test_the_benchmark_exits_1_and_prints_the_row_when_the_engines_differ(monkeypatch, capsys):
    """main() on one small city: 0 when the engines agree; with the columnar engine's result
    altered by one fen, 1, and the claim, field and both values printed."""
    assert batch_cities.main(["--claims", "40", "--cities", "suihua"]) == 0
    out = capsys.readouterr().out
    assert _total(out).split()[-1] == "0"  # no row differs
    altered = {}

    def settle_batch(policy, table, params=None):
        altered["table"], altered["claim"], altered["field"], altered["old"] = _one_fen_more(
            policy.settle_table(table, params=params))
        return altered["table"]

    monkeypatch.setattr(batch_cities, "settle_batch", settle_batch)
    assert batch_cities.main(["--claims", "40", "--cities", "suihua"]) == 1
    out = capsys.readouterr().out
    assert _total(out).split()[-1] == "1"
    assert f"claim {altered['claim']}:" in out
    assert f"{altered['field']}: scalar {altered['old']}, columnar {altered['old'] + Decimal('0.01')}" in out

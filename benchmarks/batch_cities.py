"""Both engines on a generated year of each of the five cities, from Parquet: every field of every row compared.

    python benchmarks/batch_cities.py [--claims 100000] [--seed 1] [--cities suihua ziyang ...]
    MEDPOLICY_LOOPS=0 python benchmarks/batch_cities.py --cities suihua ziyang   # the numpy path

The differential test (`tests/test_batch.py::test_both_engines_agree_on_every_field`, 250
persons a city) at scale. For each city (`policies/<city>.med`), whole persons of the test's
generator (`tests/city_years.py`: every benefit, level, status, group and place, persons with up
to eight claims, some in both schemes, amounts past the caps, a few claims of other shapes)
until there are at least --claims claims; written as Parquet with pyarrow (row groups of
25,000 claims, so a person's claims and the words' dictionaries are spread over several), read
back as `med run` reads it (`columnar_files.read_claims`: the few-word columns as dictionaries), and
that table settled by the columnar engine (`settle_batch`) and by the scalar engine
(`settle_table`), both with the test's parameters (`policy_params`).

One line per city, side by side: claims, persons, claims the columnar engine handed to the
scalar engine, error rows, each engine's CPU seconds (process time: on this shared machine the
rate per CPU second is the per-core figure) and claims per CPU second, their ratio, and the rows
that differ in any field; then a total line. Any row that differs is printed (its claim id and
each differing field with both values, the first few) and the exit status is 1: the benchmark
is a check too. Arrow's compute kernels are held to one thread.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the generator shared with the differential test

from medpolicy.cli import native_libraries_for_a_run  # noqa: E402

native_libraries_for_a_run()  # as `med run` does, before numpy and pyarrow load

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import medpolicy  # noqa: E402
from medpolicy.arrow import claims_table  # noqa: E402
from medpolicy.batch import fallback_count, settle_batch  # noqa: E402
from medpolicy.columnar_files import read_claims  # noqa: E402

from city_years import CITIES, generated_claims, policy_params  # noqa: E402

ROW_GROUP = 25_000
SHOWN = 5  # differing rows printed a city
ABSENT = "(absent)"  # a field or row one engine's result lacks


@dataclass
class Difference:
    """A row whose fields differ between the engines: (field, scalar's value, columnar's value) each."""
    row: int
    claim: str
    fields: list


@dataclass
class CityRun:
    city: str
    claims: int
    persons: int
    fallback: int
    errors: int
    batch_cpu: float
    scalar_cpu: float
    differences: list


def flat(row: dict, prefix: str = "") -> dict:
    """A result row's fields by dotted name (`paid.basic`, `error.code`)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def differences(batch: pa.Table, scalar: pa.Table) -> list[Difference]:
    """Every row of the columnar engine's result that is not the scalar engine's, field by field
    (rows in input order, both); a missing row, or a different schema, is a difference too."""
    found = []
    if batch.schema.remove_metadata() != scalar.schema.remove_metadata():
        found.append(Difference(-1, "(schema)", [("schema", str(scalar.schema), str(batch.schema))]))
    got, expected = batch.to_pylist(), scalar.to_pylist()
    for i in range(max(len(got), len(expected))):
        g = flat(got[i]) if i < len(got) else {}
        e = flat(expected[i]) if i < len(expected) else {}
        if g != e:
            names = list(e) + [k for k in g if k not in e]
            fields = [(k, e.get(k, ABSENT), g.get(k, ABSENT)) for k in names if e.get(k, ABSENT) != g.get(k, ABSENT)]
            found.append(Difference(i, str(e.get("id", g.get("id"))), fields))
    return found


def parquet_round_trip(table: pa.Table, path: Path) -> pa.Table:
    """The table written as a Parquet file and read back as `med run` reads it."""
    pq.write_table(table, path, row_group_size=ROW_GROUP)
    return read_claims(str(path))


def timed(settle):
    """(settle(), its CPU seconds), from a collected heap: a full collection left to chance, as
    the last city's rows are freed, would be charged to whichever engine runs next (Suihua's
    columnar run after Shaoxing: 13.4 CPU s, not 4.9). Neither engine leaves cyclic garbage of
    its own (docs/scale.md)."""
    gc.collect()
    c0 = time.process_time()
    out = settle()
    return out, time.process_time() - c0


def run_city(city: str, n_claims: int, seed: int, tmp: Path) -> CityRun:
    """A city's generated year from Parquet, settled by both engines and compared."""
    # Each engine its own freshly loaded policy: the plans a policy makes and keeps for a
    # signature (the columnar engine's cost 1.4 CPU s for Suihua's year) are paid by each, as
    # by a fresh `med run`, not by whichever engine runs first.
    policy, scalar_policy = (medpolicy.load(ROOT / "policies" / f"{city}.med") for _ in range(2))
    params = policy_params(policy)
    table = parquet_round_trip(claims_table(generated_claims(policy, n_claims, seed)), tmp / f"{city}.parquet")
    # (The claims' dicts are not kept while the engines run: a million live objects would make
    # each of Python's full collections, and so both engines, slower.)
    persons = pc.count_distinct(table.column("person")).as_py()
    batch, batch_cpu = timed(lambda: settle_batch(policy, table, params=params))
    scalar, scalar_cpu = timed(lambda: scalar_policy.settle_table(table, params=params))
    errors = scalar.num_rows - scalar.column("error").null_count
    return CityRun(city, table.num_rows, persons, fallback_count(batch), errors,
                   batch_cpu, scalar_cpu, differences(batch, scalar))


HEADER = (f"{'city':<10}{'claims':>9}{'persons':>9}{'fallback':>10}{'errors':>8}"
          f"{'columnar CPU s':>16}{'per CPU s':>12}{'scalar CPU s':>14}{'per CPU s':>11}{'ratio':>8}{'differ':>8}")


def line(r: CityRun) -> str:
    return (f"{r.city:<10}{r.claims:>9,}{r.persons:>9,}{r.fallback:>10,}{r.errors:>8,}"
            f"{r.batch_cpu:>16.2f}{r.claims / r.batch_cpu:>12,.0f}{r.scalar_cpu:>14.2f}{r.claims / r.scalar_cpu:>11,.0f}"
            f"{r.scalar_cpu / r.batch_cpu:>7.1f}x{len(r.differences):>8,}")


def total(runs: list[CityRun]) -> CityRun:
    return CityRun("total", *(sum(getattr(r, f) for r in runs) for f in ("claims", "persons", "fallback", "errors",
                                                                         "batch_cpu", "scalar_cpu")),
                   [d for r in runs for d in r.differences])


def show(r: CityRun) -> None:
    """The first differing rows of a city: claim id, then each field, the scalar's value and the columnar's."""
    for d in r.differences[:SHOWN]:
        print(f"  {r.city} row {d.row}, claim {d.claim}:")
        for field, expected, got in d.fields:
            print(f"    {field}: scalar {expected!s}, columnar {got!s}")
    if len(r.differences) > SHOWN:
        print(f"  ... and {len(r.differences) - SHOWN:,} more rows of {r.city}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000, help="at least this many claims a city (whole persons)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cities", nargs="+", choices=CITIES, default=CITIES)
    args = ap.parse_args(argv)
    pa.set_cpu_count(1)
    loops = os.environ.get("MEDPOLICY_LOOPS", "as the engine chooses")
    print(f"{args.claims:,} claims a city, seed {args.seed}; MEDPOLICY_LOOPS {loops}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(HEADER)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for city in args.cities:
            runs.append(run_city(city, args.claims, args.seed, Path(tmp)))
            print(line(runs[-1]), flush=True)
    print(line(total(runs)))
    for r in runs:
        show(r)
    return 1 if any(r.differences for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

"""The columnar engine against the scalar engine, side by side, on Suihua inpatient claims from Parquet.

    python benchmarks/batch.py [--claims 1000000] [--scalar-sample 50000] [--seed 7]

Generates N inpatient claims (both schemes, so both second layers: the employees' major fund
above the basic cap, the residents' on the year's burden), writes them as Parquet, and times:
reading the file, `medpolicy.batch.settle_batch` (the columnar engine), and `settle_all` (the
scalar engine) on the persons of a sample of the claims when N is larger than the sample (said
so in the output). Both engines' rows are compared field by field on the sample. Rates are per
core: everything here runs in one process on one core; on a shared machine the rate per CPU
second (process time) is the fairer figure, and both are printed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import medpolicy  # noqa: E402
from medpolicy.batch import _Run, fallback_count  # noqa: E402

LEVELS = ["primary", "level1", "level2", "level3"]
PLACES = ["local"] * 8 + ["remote-referred", "remote-self", "remote-resident"]
GROUPS = [None] * 30 + [["veteran-worker"], ["low-income"], ["extreme-poverty"]]


def generate(n: int, seed: int) -> pa.Table:
    """n Suihua inpatient claims, about 3 a person, built column by column (numpy, seeded)."""
    rng = np.random.default_rng(seed)
    persons = max(n // 3, 1)
    person = rng.integers(0, persons, n)
    scheme = np.where(person % 3 == 0, "resident", "employee")  # a person keeps one scheme
    day = rng.integers(0, 365, n)
    date = (np.datetime64("2026-01-01") + day.astype("timedelta64[D]")).astype(str)
    # Stays cost a few thousand yuan, some far more: a few persons a year pass the caps.
    a_fen = (rng.lognormal(9.0, 1.0, n) * 100).astype(np.int64) % 3_000_000_00
    b_fen = rng.integers(0, 500_000, n)
    x_fen = rng.integers(0, 80_000, n)
    status = np.where(scheme == "employee", np.where(rng.random(n) < 0.3, "retired", "employed"), None)
    rnd = random.Random(seed)
    money = lambda f: pa.array([f"{v // 100}.{v % 100:02d}" for v in f.tolist()])  # noqa: E731
    items = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 3 * n + 1, 3, dtype=np.int32)),
        pa.StructArray.from_arrays(
            [pa.array(np.tile(["A", "B", "excluded"], n)),
             money(np.stack([a_fen, b_fen, x_fen], axis=1).reshape(-1))], names=["class", "amount"]))
    return pa.table({
        "id": pa.array([f"c{i}" for i in range(n)]),
        "person": pa.array([f"p{p}" for p in person.tolist()]),
        "date": pa.array(date.tolist()),
        "scheme": pa.array(scheme.tolist()),
        "status": pa.array(status.tolist(), pa.string()),
        "benefit": pa.array(["inpatient"] * n),
        "facility": pa.StructArray.from_arrays([pa.array(rng.choice(LEVELS, n).tolist())], names=["level"]),
        "place": pa.array([rnd.choice(PLACES) for _ in range(n)]),
        "groups": pa.array([rnd.choice(GROUPS) for _ in range(n)], pa.list_(pa.string())),
        "items": items,
    })


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--scalar-sample", type=int, default=50_000, help="claims the scalar engine settles (whole persons)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    pa.set_cpu_count(1)  # one core: Arrow's compute kernels would otherwise use a thread pool
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claims.parquet"
        t0 = time.perf_counter()
        pq.write_table(generate(args.claims, args.seed), path)
        print(f"generated {args.claims:,} Suihua inpatient claims as Parquet in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        table = pq.read_table(path)
        read_s = time.perf_counter() - t0

    run = _Run(policy, table, None)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run.settle()
    batch_s, batch_cpu = time.perf_counter() - t0, time.process_time() - c0
    fell = fallback_count(result)
    n = table.num_rows
    print(f"read Parquet          {read_s:7.2f} s")
    print(f"batch engine          {batch_s:7.2f} s  {n / batch_s:12,.0f} claims/s wall, {n / batch_cpu:12,.0f} per CPU second"
          f"  ({fell:,} claims, {fell / n:.2%}, settled by the scalar engine inside it)")
    print(f"    not vectorised: {run.reasons or '-'}; years handed over at a cap point: {len(run.snapshots):,}")
    for stage, seconds in run.timings.items():
        print(f"    {stage:<18}{seconds:7.2f} s")

    # The scalar engine on whole persons of a sample (a person's year must not be cut).
    persons = pc.unique(table.column("person")).to_pylist()
    keep = set(random.Random(args.seed).sample(persons, min(len(persons), max(args.scalar_sample // 3, 1))))
    mask = pc.is_in(table.column("person"), pa.array(sorted(keep)))
    sample = table.filter(mask)
    t0, c0 = time.perf_counter(), time.process_time()
    scalar = policy.settle_table(sample)
    scalar_s, scalar_cpu = time.perf_counter() - t0, time.process_time() - c0
    m = sample.num_rows
    sampled = "" if m == n else f" (on a sample of {m:,} claims: {len(keep):,} whole persons)"
    print(f"scalar engine         {scalar_s:7.2f} s  {m / scalar_s:12,.0f} claims/s wall, {m / scalar_cpu:12,.0f} per CPU second"
          f"{sampled}")
    print(f"ratio                 {(n / batch_cpu) / (m / scalar_cpu):7.1f} x (per CPU second)")
    print(f"load average          {os.getloadavg()[0]:7.1f} (wall rates on a busy machine are a share of a core)")
    expected = scalar.to_pylist()
    got = result.filter(mask).to_pylist()
    differ = sum(g != e for g, e in zip(got, expected))
    print(f"compared {m:,} claims field by field: {differ} differ")
    if differ:
        sys.exit(1)


if __name__ == "__main__":
    main()

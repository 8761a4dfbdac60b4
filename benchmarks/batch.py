"""The columnar engine against the scalar engine, side by side, on Suihua inpatient claims from Parquet.

    python benchmarks/batch.py [--claims 1000000 | --input FILE] [--jobs 1 2] [--scalar-sample 50000] [--fresh-memory]
    python benchmarks/batch.py --claims 10000000 --fresh-only      # the whole command only (memory)

Generates N inpatient claims (both schemes, so both second layers: the employees' major fund
above the basic cap, the residents' on the year's burden; A, B and excluded items, money as
two-decimal strings as `Table.from_pylist` writes the contract's JSON) as Parquet, and times:

0. the whole of `med run x.parquet -o y.parquet --no-trace --jobs 1` as a fresh process, as a
   user runs it: Python's start, the imports, compiling the policy, reading,
   settling, writing (its CPU seconds and wall, best of --fresh-runs; the bytecode compiled first,
   as an installed package has it); then the same claims with the amounts as DECIMAL(18, 2), as
   DuckDB, Spark and a warehouse keep money, and whether the results are the same bytes;
1. the same in this process (partition.run_columnar, one job), twice: the second without the
   imports and the first table's costs;
2. its parts: reading, the engine alone (an Arrow table in memory to an Arrow table), writing;
3. with --jobs: `med run --jobs N` as its own process, the Ns in turn --fresh-runs times (wall:
   the workers' CPU is not counted), and whether its output is the same bytes as one job's
   (with --fresh-only too: `--fresh-only --jobs 1 2` on 10M claims);
4. the scalar engine (`settle_table`) on whole persons of a sample of the claims, and the ratio.

This process keeps freed memory for reuse as `med run` does (`partition.keep_freed_memory`);
`--fresh-memory` leaves malloc and Arrow's pool as they come, for the figures without it.
Both engines' rows are compared field by field on the sample. "One core" is the rate per CPU
second (process time): on a shared machine wall-clock rates are a share of a core; both are
printed. Arrow's compute kernels are held to one thread.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from medpolicy.cli import native_libraries_for_a_run  # noqa: E402

native_libraries_for_a_run()  # as `med run` does, before numpy and pyarrow load

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import medpolicy  # noqa: E402
from medpolicy.batch import _Run, fallback_count  # noqa: E402
from medpolicy.batch_kernels import kernels  # noqa: E402
from medpolicy.columnar_files import file_schema, parquet_sink, read_claims, write_results  # noqa: E402
from medpolicy.partition import keep_freed_memory, run_columnar  # noqa: E402

LEVELS = ["primary", "level1", "level2", "level3"]
PLACES = ["local"] * 8 + ["remote-referred", "remote-self", "remote-resident"]
GROUPS = [None] * 30 + [["veteran-worker"], ["low-income"], ["extreme-poverty"]]


def generate(n: int, seed: int, persons: int = 0, first: int = 0) -> pa.Table:
    """n Suihua inpatient claims, about 3 a person (of `persons`, default n / 3), built column by
    column (numpy, seeded); ids from c{first}."""
    rng = np.random.default_rng(seed)
    persons = persons or max(n // 3, 1)
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
        "id": pa.array([f"c{i}" for i in range(first, first + n)]),
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


def write_claims(path, n: int, seed: int, chunk: int = 1_000_000) -> None:
    """n claims as Parquet, generated a million at a time (10M would not fit otherwise); persons
    are drawn from the whole file's, so a person's claims are spread over its row groups."""
    with pq.ParquetWriter(path, generate(1, seed).schema) as w:
        for k, start in enumerate(range(0, n, chunk)):
            w.write_table(generate(min(chunk, n - start), seed + k, persons=max(n // 3, 1), first=start))


def decimal_amounts(table: pa.Table) -> pa.Table:
    """The claims with the items' amounts as decimal128(18, 2) rather than two-decimal strings."""
    items = table.column("items").combine_chunks()
    flat = items.flatten()
    amounts = pc.cast(flat.field("amount"), pa.decimal128(18, 2))
    struct = pa.StructArray.from_arrays([flat.field("class"), amounts], names=["class", "amount"])
    return table.set_column(table.schema.get_field_index("items"), "items", pa.ListArray.from_arrays(items.offsets, struct))


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def med_run(src: Path, out: Path, jobs: int) -> tuple[float, float]:
    """`med run SRC -o OUT --no-trace --jobs N` as its own process: (wall, CPU of it; not of its workers)."""
    c0, t0 = cpu_children(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(src),
                    "-o", str(out), "--no-trace", "--jobs", str(jobs)], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, cpu_children() - c0


def fresh_run(src: Path, out: Path, runs: int) -> tuple[float, float, float]:
    """`med run SRC -o OUT --no-trace --jobs 1` as a fresh process, `runs` times: the best
    (CPU s, its wall s) and the largest resident memory (MiB)."""
    import compileall
    compileall.compile_dir(str(Path(medpolicy.__file__).parent), quiet=1)  # as installed: .pyc written
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    best, peak = None, 0.0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(src),
                        "-o", str(out), "--no-trace", "--jobs", "1"], check=False, stderr=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        peak = max(peak, after.ru_maxrss / 1024)
        if best is None or cpu < best[0]:
            best = (cpu, wall)
    return best[0], best[1], peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=1_000_000)
    ap.add_argument("--input", type=Path, help="a claims Parquet file from an earlier run (else generated)")
    ap.add_argument("--scalar-sample", type=int, default=50_000, help="claims the scalar engine settles (whole persons)")
    ap.add_argument("--jobs", type=int, nargs="*", default=[], help="also time `med run --jobs N` for each N given")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fresh-runs", type=int, default=2, help="fresh `med run` processes timed (the best printed)")
    ap.add_argument("--fresh-only", action="store_true", help="only the fresh `med run` process (for 10M claims)")
    ap.add_argument("--fresh-memory", action="store_true",
                    help="leave malloc as it is (freed arrays go back to the kernel): the figures before keep_freed_memory")
    args = ap.parse_args()
    pa.set_cpu_count(1)  # one core: Arrow's compute kernels would otherwise use a thread pool
    if not args.fresh_memory:
        keep_freed_memory()  # as `med run` does
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.input or Path(tmp) / "claims.parquet"
        if not args.input:
            t0 = time.perf_counter()
            write_claims(path, args.claims, args.seed)
            print(f"generated {args.claims:,} Suihua inpatient claims as Parquet in {time.perf_counter() - t0:.1f} s")
        n = pq.ParquetFile(path).metadata.num_rows
        print(f"{n:,} claims, {path.stat().st_size / 2**20:.0f} MB of Parquet; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores (wall rates on a busy machine are a share of a core: see per CPU second)")

        # 0. The whole command as a user runs it: a fresh process.
        cpu, wall, peak = fresh_run(path, Path(tmp) / "fresh.parquet", args.fresh_runs)
        rate(f"med run, a fresh process (best of {args.fresh_runs})", n, wall, cpu, f"  (peak {peak:,.0f} MiB; "
             f"1M/s per core: {'PASSES' if n / cpu >= 1_000_000 else 'not reached'})")
        if args.fresh_only:
            jobs_series(path, Path(tmp), n, args.jobs, args.fresh_runs)
            return
        # ... and the same claims with their amounts as DECIMAL(18, 2), as DuckDB, Spark and a
        # bureau's warehouse keep money (such a file once went whole to the scalar engine).
        decimal = Path(tmp) / "decimal.parquet"
        pq.write_table(decimal_amounts(pq.read_table(path)), decimal)
        cpu, wall, _ = fresh_run(decimal, Path(tmp) / "fresh-decimal.parquet", args.fresh_runs)
        same = (Path(tmp) / "fresh-decimal.parquet").read_bytes() == (Path(tmp) / "fresh.parquet").read_bytes()
        rate("med run, the amounts as DECIMAL(18, 2), a fresh process", n, wall, cpu,
             f"  (results {'the same bytes' if same else 'DIFFER'})")
        decimal.unlink()

        # 1. The whole of `med run x.parquet -o y.parquet --no-trace`, in this process, one job.
        # Twice: the first pays for the imports and the policy's plans (once per process).
        out = Path(tmp) / "results.parquet"
        for label in ("med run, Parquet file to Parquet file (1st)", "med run, Parquet file to Parquet file (2nd)"):
            t0, c0 = time.perf_counter(), time.process_time()
            done = run_columnar(policy, str(ROOT / "policies" / "suihua.med"), None, str(path),
                                parquet_sink(str(out), file_schema(policy)), jobs=1)
            whole_s, whole_cpu = time.perf_counter() - t0, time.process_time() - c0
            rate(label, n, whole_s, whole_cpu, f"  ({done.buckets} bucket{'s' if done.buckets > 1 else ''}, "
                                               f"{done.fallback:,} claims by the scalar engine"
                                               + (f"; 1M/s per core: {'PASSES' if n / whole_cpu >= 1_000_000 else 'not reached'})"
                                                  if label.endswith("(2nd)") else ")"))

        # 2. The engine alone: an Arrow table in memory to an Arrow table (read as med run reads it).
        t0, c0 = time.perf_counter(), time.process_time()
        table = read_claims(str(path))
        read_s, read_cpu = time.perf_counter() - t0, time.process_time() - c0
        run = _Run(policy, table, None)
        t0, c0 = time.perf_counter(), time.process_time()
        result = run.settle()
        batch_s, batch_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        write_results(iter([result.replace_schema_metadata(None)]), str(Path(tmp) / "alone.parquet"), result.schema.remove_metadata())
        write_s, write_cpu = time.perf_counter() - t0, time.process_time() - c0
        rate("  reading the Parquet file", n, read_s, read_cpu)
        rate("  the columnar engine alone (table to table)", n, batch_s, batch_cpu,
             f"  ({fallback_count(result):,} claims by the scalar engine inside it)")
        rate("  writing the results' Parquet file", n, write_s, write_cpu)
        print(f"    not vectorised: {run.reasons or '-'}; years handed over at a cap point: {len(run.snapshots):,}")
        print("    engine stages (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in run.timings.items()))
        if kernels(n) is not None:  # the same without the compiled loops (the numpy path), for the ratio
            os.environ["MEDPOLICY_LOOPS"] = "0"
            same = _Run(policy, table, None).settle().equals(result)  # (and its memory faulted in, as above)
            plain = _Run(policy, table, None)
            t0, c0 = time.perf_counter(), time.process_time()
            plain.settle()
            plain_s, plain_cpu = time.perf_counter() - t0, time.process_time() - c0
            del os.environ["MEDPOLICY_LOOPS"]
            rate("  the engine alone without the loops (numpy path)", n, plain_s, plain_cpu,
                 f"  (loops {plain_cpu / batch_cpu:.2f} x quicker; results {'equal' if same else 'DIFFER'})")
            print("    engine stages without the loops (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in plain.timings.items()))
        else:
            print("    (the compiled loops were not built, no C compiler: the engine ran its numpy path)")

        # 3. --jobs N: the whole command as its own process.
        jobs_series(path, Path(tmp), n, args.jobs, args.fresh_runs, out)

    # 4. The scalar engine on whole persons of a sample (a person's year must not be cut).
    persons = pc.unique(table.column("person")).to_pylist()
    keep = set(random.Random(args.seed).sample(persons, min(len(persons), max(args.scalar_sample // 3, 1))))
    mask = pc.is_in(table.column("person"), pa.array(sorted(keep)))
    sample = table.filter(mask)
    t0, c0 = time.perf_counter(), time.process_time()
    scalar = policy.settle_table(sample)
    scalar_s, scalar_cpu = time.perf_counter() - t0, time.process_time() - c0
    m = sample.num_rows
    rate("scalar engine (settle_table)", m, scalar_s, scalar_cpu,
         "" if m == n else f"  (a sample of {m:,} claims: {len(keep):,} whole persons)")
    print(f"ratio, per CPU second: med run {(n / whole_cpu) / (m / scalar_cpu):.1f} x the scalar engine, "
          f"the columnar engine alone {(n / batch_cpu) / (m / scalar_cpu):.1f} x")
    differ = sum(g != e for g, e in zip(result.filter(mask).to_pylist(), scalar.to_pylist()))
    print(f"compared {m:,} claims field by field: {differ} differ")
    if differ:
        sys.exit(1)


def jobs_series(path: Path, tmp: Path, n: int, jobs: list, runs: int, reference: Path = None) -> None:
    """`med run --jobs N` for each N, as its own process, the Ns in turn `runs` times (noise
    falls on all alike): the best wall of each, its ratio to the first N's, and whether every
    output is the same bytes. Wall only: the workers are the forkserver's children, which no one
    waits for, so their CPU is not in this process's account."""
    if not jobs:
        return
    best: dict = {}
    for _ in range(runs):
        for j in jobs:
            wall, _cpu = med_run(path, tmp / f"jobs-{j}.parquet", j)
            best[j] = min(best.get(j, wall), wall)
    reference = reference or tmp / f"jobs-{jobs[0]}.parquet"
    for j in jobs:
        same = (tmp / f"jobs-{j}.parquet").read_bytes() == reference.read_bytes()
        print(f"{f'med run --jobs {j} (a process, best of {runs})':<48}{best[j]:7.2f} s {n / best[j]:11,.0f} claims/s wall"
              f"  {best[jobs[0]] / best[j]:.2f} x --jobs {jobs[0]}; output {'the same bytes' if same else 'DIFFERS'}")


def rate(label: str, n: int, wall: float, cpu: float, note: str = "") -> None:
    print(f"{label:<48}{wall:7.2f} s {n / wall:11,.0f} claims/s wall {cpu:7.2f} CPU s {n / cpu:11,.0f} per CPU second{note}")


if __name__ == "__main__":
    main()

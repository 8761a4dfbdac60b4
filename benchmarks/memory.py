"""Peak memory of `med run` on a city's year of claims, in file order that is no order at all.

    python benchmarks/memory.py [--sizes 100000 1000000 10000000] [--trace] [--keep DIR]

For each size: generates shuffled Suihua inpatient claims (benchmarks/suihua_claims.py), runs
`med run --no-trace` (or with the trace) as its own process writing to a file, and prints
the process's peak resident memory (getrusage of that child), its time and rate, and the
disk the file and the output take. The issue's goal: at most 1 GB for 10 million claims,
and flat from 1 million to 10 million.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import suihua_claims  # noqa: E402


def peak(argv: list[str]) -> tuple[float, int, int]:
    """Run argv: (seconds, peak RSS in bytes, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{err}")
    return elapsed, usage.ru_maxrss * 1024, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--trace", action="store_true", help="keep the trace in the results")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    ap.add_argument("--parquet", action="store_true",
                    help="Parquet in and out (the columnar engine, one job, in buckets within --memory)")
    ap.add_argument("--memory", help="med run --memory SIZE (Parquet only)")
    args = ap.parse_args()
    if args.parquet:
        return parquet(args)
    print(f"med run{'' if args.trace else ' --no-trace'} on shuffled Suihua inpatient claims, each run its own process")
    print(f"  {'claims':>12} {'input':>9} {'output':>9} {'seconds':>8} {'claims/s':>9} {'peak RSS':>10}")
    with tempfile.TemporaryDirectory(prefix="med-memory-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            claims, results = folder / f"claims-{n}.jsonl", folder / f"results-{n}.jsonl"
            if not claims.exists():
                with open(claims, "w", encoding="utf-8") as f:
                    suihua_claims.write(n, f, args.seed)
            argv = [sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(claims),
                    "-o", str(results)] + ([] if args.trace else ["--no-trace"])
            seconds, rss, _ = peak(argv)
            print(f"  {n:>12,} {claims.stat().st_size / 2**20:>7,.0f} MB {results.stat().st_size / 2**20:>7,.0f} MB "
                  f"{seconds:>8.1f} {n / seconds:>9,.0f} {rss / 2**20:>7,.0f} MiB", flush=True)
            results.unlink()


def parquet(args) -> None:
    """Peak memory of `med run x.parquet -o y.parquet --no-trace --jobs 1`: bounded by --memory."""
    import batch  # benchmarks/batch.py: the generator, a million claims at a time

    budget = f" --memory {args.memory}" if args.memory else " (default --memory)"
    print(f"med run x.parquet -o y.parquet --no-trace --jobs 1{budget}, each run its own process")
    print(f"  {'claims':>12} {'input':>9} {'output':>9} {'seconds':>8} {'claims/s':>9} {'peak RSS':>10}")
    with tempfile.TemporaryDirectory(prefix="med-memory-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in args.sizes:
            claims, results = folder / f"claims-{n}.parquet", folder / f"results-{n}.parquet"
            if not claims.exists():
                batch.write_claims(claims, n, args.seed)
            argv = [sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(claims),
                    "-o", str(results), "--no-trace", "--jobs", "1"] + (["--memory", args.memory] if args.memory else [])
            seconds, rss, _ = peak(argv)
            print(f"  {n:>12,} {claims.stat().st_size / 2**20:>7,.0f} MB {results.stat().st_size / 2**20:>7,.0f} MB "
                  f"{seconds:>8.1f} {n / seconds:>9,.0f} {rss / 2**20:>7,.0f} MiB", flush=True)
            results.unlink()


if __name__ == "__main__":
    main()

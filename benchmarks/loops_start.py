"""What the compiled loops cost a fresh process, and from what size of run and pass they pay.

    python benchmarks/loops_start.py [--runs 3] [--input FILE --sizes 20000 200000 1000000]

1. Start: fresh Python processes (as `med run` is) timing, in CPU seconds, importing numpy,
   pyarrow and medpolicy (paid anyway), importing the loops' module (`medpolicy._batch_loops`, compiled ahead of
   time) and calling the loops a run calls (with the waves' kernel, settle_rows: six calls), the
   first one alone, then the others. numba, which they replace, took ~0.3 CPU s to import and
   ~0.3 more to load its cached loops (docs/scale.md).
2. `--input` (a Parquet file of Suihua claims): its first N claims for each of `--sizes`,
   settled by `med run x.parquet -o y.parquet --no-trace --jobs 1` as a fresh process with the
   loops (the default) and with MEDPOLICY_LOOPS=0 (the numpy path), alternating, best of --runs:
   CPU s, the ratio, and whether both wrote the same bytes.
3. The columnar engine alone in this process (an Arrow table to an Arrow table) on the first
   100 to 100,000 claims, loops and numpy alternating, best of --runs: where the loops pay for
   small passes (batch_kernels.MIN_ROWS).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import sys, time
cpu = time.process_time
c = cpu(); import numpy as np, pyarrow, medpolicy; base = cpu() - c
c = cpu(); from medpolicy import _batch_loops as L; mod = cpu() - c
i64 = np.arange(8, dtype=np.int64)
offsets, data, valid = np.arange(0, 25, 3, dtype=np.int32), np.frombuffer(b"p12" * 8, np.uint8).copy(), np.ones(8, bool)
# The loops a run of the columnar engine calls: with the waves' kernel (settle_rows) these;
# the numpy steps, kept for plans the kernel's description cannot hold, would add wave_order, add_at.
costs, desc = np.zeros((8, 4), np.int64), np.zeros(1, np.int64)  # (each row an error row: nothing to settle)
calls = [lambda: L.first_codes(i64), lambda: L.encode(offsets, data, valid, True), lambda: L.encode(offsets, data, valid, False),
         lambda: L.two_decimals(offsets, data, valid), lambda: L.sort_order(i64, i64, 0, 8, 8),
         lambda: L.settle_rows(i64, 1, costs, desc, i64[:1] * 0, 100, 1 << 60, i64[:5] * 0 + 1, i64, i64[:0],
                               i64[:1], i64[:1], i64[:1] * 0, 0, np.zeros((4, 8), np.int64), np.zeros((1, 15), np.int64))]
c = cpu(); calls[0](); first = cpu() - c
c = cpu(); [f() for f in calls[1:]]; rest = cpu() - c
print(f"{base:.4f} {mod:.4f} {first:.4f} {rest:.4f} {L.__file__}")
"""


def start(runs: int) -> None:
    print(f"{'run':>4} {'numpy, pyarrow, medpolicy':>26} {'loops module':>13} {'1st loop':>9} {'others':>9} {'loops total':>12}  (CPU s)")
    for run in range(1, runs + 1):
        done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
        base, mod, first, rest, where = done.stdout.split()
        base, mod, first, rest = map(float, (base, mod, first, rest))
        print(f"{run:>4} {base:26.4f} {mod:13.4f} {first:9.4f} {rest:9.4f} {mod + first + rest:12.4f}")
    print(f"     (the loops: {where})")


def fresh(src: Path, out: Path, loops: bool) -> float:
    """`med run` as a fresh process: its CPU seconds."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "MEDPOLICY_NUMBA")}
    env["MEDPOLICY_LOOPS"] = "" if loops else "0"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(src),
                    "-o", str(out), "--no-trace", "--jobs", "1"], check=True, stderr=subprocess.DEVNULL, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def runs_by_size(table, sizes: list[int], runs: int, tmp: Path) -> None:
    import pyarrow.parquet as pq
    print(f"\n{'claims':>10} {'loops CPU s':>12} {'numpy CPU s':>12} {'numpy/loops':>12}  output   (fresh med run, best of {runs})")
    for n in sizes:
        src = tmp / f"claims{n}.parquet"
        pq.write_table(table.slice(0, n), src)
        best = {True: float("inf"), False: float("inf")}
        for _ in range(runs):
            for loops in (True, False):
                best[loops] = min(best[loops], fresh(src, tmp / f"out-{loops}.parquet", loops))
        same = filecmp.cmp(tmp / "out-True.parquet", tmp / "out-False.parquet", shallow=False)
        print(f"{n:>10,} {best[True]:12.3f} {best[False]:12.3f} {best[False] / best[True]:12.2f}  "
              f"{'same bytes' if same else 'DIFFER'}")


def engine_by_size(policy, table, runs: int) -> None:
    from medpolicy.batch import _Run
    print(f"\n{'claims':>10} {'loops ms':>10} {'numpy ms':>10} {'numpy/loops':>12}   (the engine alone, CPU, best of {runs})")
    for n in (100, 1_000, 10_000, 100_000):
        part = table.slice(0, n)
        best = {"": float("inf"), "0": float("inf")}
        for _ in range(runs):
            for switch in best:
                os.environ["MEDPOLICY_LOOPS"] = switch
                run = _Run(policy, part, None)
                c0 = time.process_time()
                run.settle()
                best[switch] = min(best[switch], time.process_time() - c0)
        os.environ.pop("MEDPOLICY_LOOPS")
        print(f"{n:>10,} {best[''] * 1e3:10.2f} {best['0'] * 1e3:10.2f} {best['0'] / best['']:12.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--input", type=Path, help="a Parquet file of Suihua claims (benchmarks/batch.py writes one)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[20_000, 200_000, 1_000_000])
    args = ap.parse_args()
    os.environ.pop("MEDPOLICY_NUMBA", None)
    start(args.runs)
    if args.input is None:
        return
    import pyarrow.parquet as pq
    import medpolicy
    table = pq.read_table(args.input)
    with tempfile.TemporaryDirectory() as tmp:
        runs_by_size(table, [n for n in args.sizes if n <= table.num_rows], args.runs, Path(tmp))
    engine_by_size(medpolicy.load(ROOT / "policies" / "suihua.med"), table, args.runs)


if __name__ == "__main__":
    main()

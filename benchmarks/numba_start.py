"""What numba's start costs a fresh process, part by part, and whether the loops come from the cache.

    python benchmarks/numba_start.py [--runs 3]

Each run is a fresh Python process (as `med run` is) that times, in CPU seconds: importing numpy
and pyarrow (paid anyway), importing numba, importing the loops' module (its dispatchers), the
first loop called (loaded from numba's cache: its typing machinery's first use) and the others a
run calls (with the waves' kernel: five loops in all; `--steps`: the numpy steps' six instead).
With NUMBA_DEBUG_CACHE=1 it counts the loops numba loaded from its cache and those it compiled
and saved: a second run must save none (the loops' signatures are fixed; nothing recompiles).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

PROBE = r"""
import sys, time
cpu = time.process_time
c = cpu(); import numpy as np, pyarrow; base = cpu() - c
c = cpu(); import numba; imp = cpu() - c
c = cpu(); from medpolicy import _batch_loops as L; mod = cpu() - c
i64 = np.arange(8, dtype=np.int64)
offsets, data, valid = np.arange(0, 25, 3, dtype=np.int32), np.frombuffer(b"p12" * 8, np.uint8).copy(), np.ones(8, bool)
# The loops a run of the columnar engine calls: with the waves' kernel (settle_rows) these five;
# the numpy steps, kept for plans the kernel's description cannot hold, would add wave_order, add_at.
costs, desc = np.zeros((8, 4), np.int64), np.zeros(1, np.int64)  # (each row an error row: nothing to settle)
calls = [lambda: L.first_codes(i64), lambda: L.encode(offsets, data, valid, True), lambda: L.encode(offsets, data, valid, False),
         lambda: L.two_decimals(offsets, data, valid), lambda: L.sort_order(i64, i64, 0, 8, 8),
         lambda: L.settle_rows(i64, 1, costs, desc, i64[:1] * 0, 100, 1 << 60, i64[:4] * 0 + 1,
                               np.zeros((4, 8), np.int64), np.zeros((1, 13), np.int64))]
if "--steps" in sys.argv:
    calls[5:] = [lambda: L.wave_order(i64, i64, i64, i64 % 2, 0, 8, 8, 2), lambda: L.add_at(i64.copy(), i64, i64)]
c = cpu(); calls[0](); first = cpu() - c
c = cpu(); [f() for f in calls[1:]]; rest = cpu() - c
print(f"{base:.3f} {imp:.3f} {mod:.3f} {first:.3f} {rest:.3f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", action="store_true", help="the loops of the numpy steps (wave_order, add_at), not the kernel")
    args = ap.parse_args()
    env = dict(os.environ, NUMBA_DEBUG_CACHE="1")
    print(f"{'run':>4} {'numpy+pyarrow':>14} {'import numba':>13} {'loops module':>13} {'1st loop':>9} "
          f"{'others':>9} {'numba total':>12}  cache")
    for run in range(1, args.runs + 1):
        done = subprocess.run([sys.executable, "-c", PROBE] + (["--steps"] if args.steps else []), env=env, capture_output=True, text=True, check=True)
        base, imp, mod, first, rest = map(float, done.stdout.split()[-5:])
        log = done.stdout + done.stderr
        loaded, saved = log.count("data loaded from"), log.count("data saved to")
        print(f"{run:>4} {base:14.3f} {imp:13.3f} {mod:13.3f} {first:9.3f} {rest:9.3f} {imp + mod + first + rest:12.3f}"
              f"  {loaded} loaded, {saved} compiled and saved")


if __name__ == "__main__":
    main()

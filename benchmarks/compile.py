"""How long a policy with one big table takes to compile, with the ambiguity check's pairing
near-linear (now) and all-pairs (as before), side by side.

    python benchmarks/compile.py [--sizes 250 500 1000 1998] [--old-up-to 1000]

Each policy is one outpatient line `rate age >= 0 0% age >= 1 1% ...` of N entries (the
shape an outside tester used: 5,000 entries took 46 s of CPU, 20,000 over 150 s, before the
clause limit counted entries), plus one plain inpatient line. Prints CPU seconds for parse
and compile, and the ratio of the all-pairs check to the near-linear one. The all-pairs
run is skipped above --old-up-to (it grows with N²).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medpolicy  # noqa: E402
from medpolicy import compiler  # noqa: E402
from medpolicy.parser import parse  # noqa: E402

HEADER = 'policy "bench" effective 2026-01-01 to 2026-12-31\nuse standard\nscheme employee\n' \
         "  inpatient deductible 0 rate 50%\n"


def table_policy(n: int) -> str:
    return HEADER + "  outpatient deductible 0 rate " + " ".join(f"age >= {i} {i % 90}%" for i in range(n)) + "\n"


def all_pairs(constraints, tiers):
    """The pairing before: every pair of clauses setting one quantity."""
    return [(i, j) for i in range(len(constraints)) for j in range(i + 1, len(constraints))]


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 1998])
    ap.add_argument("--old-up-to", type=int, default=1000)
    args = ap.parse_args()
    parse(HEADER)  # build the parser once, outside the figures
    print(f"{'entries':>8} {'parse s':>8} {'compile s':>10} {'all-pairs s':>12} {'ratio':>7}")
    for n in args.sizes:
        text = table_policy(n)
        parse_s = cpu(lambda: parse(text))
        new_s = cpu(lambda: medpolicy.compile(text))
        old = "-"
        ratio = "-"
        if n <= args.old_up_to:
            near_linear = compiler.pairs_to_compare
            compiler.pairs_to_compare = all_pairs
            try:
                old_s = cpu(lambda: medpolicy.compile(text))
            finally:
                compiler.pairs_to_compare = near_linear
            old, ratio = f"{old_s:.2f}", f"{old_s / max(new_s, 1e-9):.0f}x"
        print(f"{n:>8} {parse_s:>8.2f} {new_s:>10.2f} {old:>12} {ratio:>7}")
    over = table_policy(5000)
    try:
        medpolicy.compile(over)
    except medpolicy.MedError as e:
        print(f"5000 entries: refused in {cpu(lambda: _refuse(over)):.2f} s: {e.message}")


def _refuse(text: str) -> None:
    try:
        medpolicy.compile(text)
    except medpolicy.MedError:
        pass


if __name__ == "__main__":
    main()

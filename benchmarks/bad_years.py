"""A year of claims with one slip in every claim (or most), columnar engine beside scalar engine.

    python benchmarks/bad_years.py [--claims 200000] [--only dates-slashed ids-twice ...]

A bureau's first run meets its export's slips: dates written 2026/03/02, a year the policy does
not cover, ids as numbers or starting again each month, item classes in Chinese, amounts with a
third decimal, fields no claim field is named. Each is made from the same generated Suihua year
(benchmarks/batch.py's) and settled by a fresh `med run FILE -o out.jsonl --no-trace --jobs 1`
twice, `--engine auto` (the columnar engine, which words such refusals in columns) and
`--engine scalar` (each claim through the reader, as the columnar engine also did before);
printed side by side: CPU seconds (user + system), peak memory, the ratio, how many claims were
refused, and whether the two outputs are the same bytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import generate  # noqa: E402  (the generated Suihua year of benchmarks/batch.py)


def _items(table: pa.Table, change) -> pa.Table:
    """The table with each item struct replaced by `change(struct)`."""
    items = table.column("items").combine_chunks()
    at = table.schema.get_field_index("items")
    return table.set_column(at, "items", pa.ListArray.from_arrays(items.offsets, change(items.flatten())))


def _column(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


VARIANTS = {
    "clean": lambda t: t,
    "dates-slashed": lambda t: _column(t, "date", pc.replace_substring(t.column("date"), "-", "/")),
    "dates-2019": lambda t: _column(t, "date", pc.replace_substring(t.column("date"), "2026-", "2019-")),
    "ids-numbers": lambda t: _column(t, "id", pa.array(np.arange(t.num_rows, dtype=np.int64))),
    "ids-twice": lambda t: _column(t, "id", pa.array([f"c{i // 2}" for i in range(t.num_rows)])),
    "classes-chinese": lambda t: _items(t, lambda s: pa.StructArray.from_arrays(
        [pc.replace_substring(s.field("class"), "A", "甲类"), s.field("amount")], names=["class", "amount"])),
    "amounts-3-decimals": lambda t: _items(t, lambda s: pa.StructArray.from_arrays(
        [s.field("class"), pc.binary_join_element_wise(s.field("amount"), "1", "")], names=["class", "amount"])),
    "items-ward": lambda t: _items(t, lambda s: pa.StructArray.from_arrays(
        [s.field("class"), s.field("amount"), pa.array(np.where(np.arange(len(s)) % 7 == 0, "东", None).tolist())],
        names=["class", "amount", "ward"])),
    "hospital-column": lambda t: t.append_column("hospital_name", pa.array(["某医院"] * t.num_rows)),
}


# A fresh process's CPU and peak memory, told by a small parent: a child forked from this process
# (which holds the generated year) would count this process's pages as its own peak.
_MEASURE = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], stderr=subprocess.DEVNULL)\n"
            "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print(u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)")


def med_run(src: Path, out: Path, engine: str) -> tuple[float, float]:
    """A fresh `med run`: (CPU s, peak MiB of that process)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    told = subprocess.run([sys.executable, "-c", _MEASURE, sys.executable, "-m", "medpolicy.cli", "run",
                           str(ROOT / "policies" / "suihua.med"), str(src), "-o", str(out), "--no-trace", "--jobs", "1",
                           "--engine", engine], capture_output=True, text=True, env=env, check=True)
    cpu, peak = told.stdout.split()
    return float(cpu), float(peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="these variants only")
    args = ap.parse_args()
    import compileall
    import medpolicy
    compileall.compile_dir(str(Path(medpolicy.__file__).parent), quiet=1)  # as installed: .pyc written
    clean = generate(args.claims, args.seed)
    print(f"{args.claims:,} Suihua inpatient claims, a fresh `med run -o out.jsonl --no-trace --jobs 1` each "
          f"(load {os.getloadavg()[0]:.1f})")
    print(f"{'variant':<20} {'refused':>9} {'columnar CPU s':>15} {'MiB':>6} {'scalar CPU s':>13} {'MiB':>6} "
          f"{'ratio':>7}  same bytes")
    with tempfile.TemporaryDirectory(prefix="med-bad-") as tmp:
        for name in args.only or VARIANTS:
            src = Path(tmp) / f"{name}.parquet"
            pq.write_table(VARIANTS[name](clean), src)
            outs = {engine: Path(tmp) / f"{name}.{engine}.jsonl" for engine in ("auto", "scalar")}
            figures = {engine: med_run(src, out, engine) for engine, out in outs.items()}
            same = outs["auto"].read_bytes() == outs["scalar"].read_bytes()
            refused = sum(1 for line in outs["auto"].open(encoding="utf-8") if '"error": {' in line)
            (a, am), (s, sm) = figures["auto"], figures["scalar"]
            print(f"{name:<20} {refused:>9,} {a:>15.2f} {am:>6.0f} {s:>13.2f} {sm:>6.0f} {s / a:>6.1f}x  "
                  f"{'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()

"""Where `med run`'s time goes, stage by stage, in microseconds a claim.

    python benchmarks/profile_run.py [--claims 50000] [--seed 7] [--trace]

On generated shuffled Suihua inpatient claims (benchmarks/suihua_claims.py), in one
process: each stage alone (JSON text -> dict, the claim reader, settling through
`Policy.run`, the result as JSON data, JSON data -> text), then the whole of
`runner.run_claims` (sorting in memory, and forced out of core with small chunks), so the
difference is the streaming machinery's own cost. The collector is off, as in `med run`.
"""

from __future__ import annotations

import argparse
import gc
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import suihua_claims  # noqa: E402

import medpolicy  # noqa: E402
from medpolicy import runner  # noqa: E402
from medpolicy.inputs import ClaimFile, parse_json  # noqa: E402
from medpolicy.output import JsonLines, writer_for  # noqa: E402


def per_claim(n: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    n, trace = args.claims, args.trace
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    lines = list(suihua_claims.claims(n, args.seed))
    gc.disable()
    claims = [parse_json(line) for line in lines]
    policy.run().settle(claims[0])  # warm the terms cache a little, as a run does

    stages = []
    stages.append(("JSON text -> dict", per_claim(n, lambda: [parse_json(line) for line in lines])))
    stages.append(("claim reader (Facts)", per_claim(n, lambda: [policy._read(c) for c in claims])))
    results = []
    run = policy.run(trace=trace)
    stages.append(("Run.settle (reader included)", per_claim(n, lambda: results.extend(run.settle(c) for c in claims))))
    rows = []
    stages.append(("Result.to_json", per_claim(n, lambda: rows.extend(r.to_json(trace=trace) for r in results))))
    encode = JsonLines(io.StringIO(), policy).encode
    stages.append(("dict -> JSON text", per_claim(n, lambda: [encode(r) for r in rows])))
    parts = stages[0][1] + stages[2][1] + stages[3][1] + stages[4][1]

    with tempfile.TemporaryDirectory(prefix="med-profile-") as tmp:
        path = Path(tmp) / "claims.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

        def whole(**knobs):
            with ClaimFile(str(path)) as source:
                runner.run_claims(policy, {}, source, writer_for("jsonl", io.StringIO(), policy), trace=trace, **knobs)

        in_memory = per_claim(n, whole)
        grouped = Path(tmp) / "grouped.jsonl"  # the same claims by person and date: no sort
        grouped.write_text("\n".join(sorted(lines, key=lambda l: (parse_json(l)["person"], parse_json(l)["date"])))
                           + "\n", encoding="utf-8")

        def whole_grouped():
            with ClaimFile(str(grouped)) as source:
                runner.run_claims(policy, {}, source, writer_for("jsonl", io.StringIO(), policy), trace=trace)

        in_order = per_claim(n, whole_grouped)
        as_text = per_claim(n, lambda: whole(in_memory_bytes=0))
        out_of_core = per_claim(n, lambda: whole(chunk=max(1, n // 8), in_memory_bytes=0))

    print(f"{n:,} shuffled Suihua inpatient claims, trace {'on' if trace else 'off'}: µs a claim")
    for name, us in stages:
        print(f"  {name:<34} {us:7.1f}")
    print(f"  {'sum of the stages':<34} {parts:7.1f}")
    print(f"  {'run_claims, sorted in memory':<34} {in_memory:7.1f}   (streaming's own: {in_memory - parts:+.1f})")
    print(f"  {'run_claims, input already in order':<34} {in_order:7.1f}   (no sort, rows out as settled)")
    print(f"  {'run_claims, claims kept as text':<34} {as_text:7.1f}   (parsed twice)")
    print(f"  {'run_claims, 8 sorted runs on disk':<34} {out_of_core:7.1f}")


if __name__ == "__main__":
    main()

"""Embedding latency: `Policy.settle` on one claim, and chaining `state=` as the state grows.

    python benchmarks/latency.py [--repeat 20000] [--against REF]

Prints the median and 90th percentile of `policy.settle(claim)` on one Suihua inpatient claim
in a fresh year (the issue's goal: 10 µs median), the same through `Run.settle`, and the cost
of `settle(claim, state=...)` with states of 10, 10,000 and --big persons held (the goal:
the same for each). `--against main` first prints the fresh-year median of this tree and of
that commit (benchmarks/checkout.py), measured in turns (three processes each, the fastest
kept), side by side. Timings only; nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("MED_LATENCY_OTHER"):
    sys.path.insert(0, str(ROOT))

import medpolicy  # noqa: E402

CLAIM = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "facility": {"level": "level3"},
         "items": [{"class": "A", "amount": "8000.00"}, {"class": "B", "amount": "2000.00"},
                   {"class": "excluded", "amount": "500.00"}]}


def timings(fn, repeat: int) -> list[float]:
    out = []
    clock = time.perf_counter_ns
    for _ in range(repeat):
        t0 = clock()
        fn()
        out.append((clock() - t0) / 1000)
    return out


def show(label: str, us: list[float]) -> float:
    us = sorted(us)
    median, p90 = statistics.median(us), us[int(len(us) * 0.9)]
    print(f"{label:<52} median {median:7.2f} µs   p90 {p90:7.2f} µs")
    return median


def state_of(policy, persons: int):
    """A State holding `persons` person-years (built by settling one claim each)."""
    state = None
    run_claim = dict(CLAIM)
    for i in range(persons):
        run_claim["person"] = f"p{i}"
        run_claim["id"] = f"s{i}"
        state = policy.settle(run_claim, state=state).state
    return state


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20000)
    ap.add_argument("--big", type=int, default=200_000,
                    help="persons in the largest state (built claim by claim: 1,000,000 takes about a minute)")
    ap.add_argument("--against", metavar="REF", help="also the fresh-year median at this git commit, in turns")
    ap.add_argument("--fresh-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.against:
        side_by_side(args.against, args.repeat)
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    policy.settle(CLAIM)  # the plan of the claim's signature is built once
    fresh = show("settle(claim), fresh year", timings(lambda: policy.settle(CLAIM), args.repeat))
    if args.fresh_only:
        return 0
    run = policy.run(trace=False)
    show("Run.settle(claim), no trace", timings(lambda: (run.settle(CLAIM), run.forget("p1")), args.repeat))
    print(f"goal 10 µs: {fresh / 10:.1f}× the goal")
    chained = {}
    for persons in (10, 10_000, args.big):
        t0 = time.perf_counter()
        state = state_of(policy, persons)
        built = time.perf_counter() - t0
        chained[persons] = show(f"settle(claim, state=) with {persons:>9,} persons",
                                timings(lambda: policy.settle(CLAIM, state=state), args.repeat // 4))
        print(f"{'':<52} (state built in {built:.1f} s)")
    small, big = chained[10], chained[args.big]
    print(f"state chaining, {args.big:,} persons vs 10: {big / small:.2f}×")
    return 0


def side_by_side(ref: str, repeat: int) -> None:
    """The fresh-year median here and at `ref`, three processes each in turns, the fastest kept."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from checkout import export

    with tempfile.TemporaryDirectory(prefix="med-latency-") as tmp:
        other = export(ref, Path(tmp))
        envs = {"this tree": dict(os.environ),
                ref: dict(os.environ, PYTHONPATH=str(other), MED_LATENCY_OTHER="1")}
        best: dict = {}
        for _ in range(3):
            for name, env in envs.items():
                out = subprocess.run([sys.executable, __file__, "--fresh-only", "--repeat", str(repeat)], env=env,
                                     capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()).stdout
                median = float(out.split("median")[1].split("µs")[0])
                best[name] = min(best.get(name, median), median)
    print("settle(claim), fresh year, median (fastest of 3 processes each, in turns): "
          + ", ".join(f"{name} {us:.2f} µs" for name, us in best.items()))


if __name__ == "__main__":
    raise SystemExit(main())

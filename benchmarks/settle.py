"""How fast medpolicy settles claims, and how long policies take to load.

    python benchmarks/settle.py [--claims 100000] [--seed 7]

Prints claims settled per second on a generated set of Suihua claims, end to end (JSON text
in, JSON text out, trace included) and through the API alone, the time to load and compile
every shipped policy, and the ratios to the reference figures of the brief: a hand-written
Python settlement of Suihua's inpatient rules (about 50,000 claims/s here) and OpenFisca
called per claim (about 0.3 ms a claim).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import medpolicy  # noqa: E402
from medpolicy.cli import _batch_gc  # noqa: E402

HAND_WRITTEN_PER_SECOND = 50_000
OPENFISCA_SECONDS_PER_CLAIM = 0.0003

LEVELS = ["primary", "level1", "level2", "level3"]
PLACES = ["local"] * 8 + ["remote-referred", "remote-self", "remote-resident"]


def generate(n: int, seed: int) -> list[str]:
    """n Suihua claims as JSON lines: inpatient and outpatient, both schemes, 20,000 people."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        scheme = rng.choice(["employee", "employee", "resident"])
        benefit = rng.choice(["inpatient", "inpatient", "inpatient", "outpatient"])
        claim = {
            "id": f"b-{i}",
            "person": f"p-{rng.randrange(20_000)}",
            "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "scheme": scheme,
            "benefit": benefit,
            "facility": {"level": rng.choice(LEVELS)},
            "place": rng.choice(PLACES),
            "items": [
                {"class": "A", "amount": f"{rng.randint(100, 60_000)}.{rng.randint(0, 99):02d}"},
                {"class": "B", "amount": f"{rng.randint(0, 5_000)}.00"},
                {"class": "excluded", "amount": f"{rng.randint(0, 800)}.00"},
            ],
        }
        if scheme == "employee":
            claim["status"] = rng.choice(["employed", "employed", "retired"])
        if rng.random() < 0.03:
            claim["groups"] = [rng.choice(["extreme-poverty", "low-income", "veteran-worker"])]
        lines.append(json.dumps(claim, ensure_ascii=False))
    return lines


def end_to_end(policy: medpolicy.Policy, lines: list[str]) -> float:
    """JSON text in, JSON text out, as `med run` does (with its collector policy): seconds."""
    start = time.perf_counter()
    with _batch_gc():
        claims = [json.loads(line, parse_float=Decimal) for line in lines]
        results = policy.settle_all(claims)
        out = [json.dumps(r.to_json(), ensure_ascii=False) for r in results]
    elapsed = time.perf_counter() - start
    assert len(out) == len(lines)
    return elapsed


def api_only(policy: medpolicy.Policy, claims: list[dict]) -> float:
    """settle_all as a library call, the host's garbage collector left as it is."""
    start = time.perf_counter()
    policy.settle_all(claims)
    return time.perf_counter() - start


def per_claim(policy: medpolicy.Policy, claims: list[dict]) -> float:
    """`settle` called once per claim, as an embedding tool would: seconds per claim."""
    sample = claims[:5_000]
    start = time.perf_counter()
    for c in sample:
        policy.settle(c)
    return (time.perf_counter() - start) / len(sample)


def load_all() -> list[tuple[str, float]]:
    out = []
    for path in sorted((ROOT / "policies").glob("*.med")):
        start = time.perf_counter()
        try:
            medpolicy.load(path)
            out.append((path.name, time.perf_counter() - start))
        except medpolicy.MedError as e:
            out.append((f"{path.name} (does not compile: {e.message})", time.perf_counter() - start))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    start = time.perf_counter()
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    first_load = time.perf_counter() - start
    lines = generate(args.claims, args.seed)
    claims = [json.loads(line, parse_float=Decimal) for line in lines]

    policy.settle_all(claims[:2_000])  # warm the caches of resolved terms, as a long run would
    e2e = end_to_end(policy, lines)
    api = api_only(policy, claims)
    one = per_claim(policy, claims)

    rate = args.claims / e2e
    print(f"claims settled: {args.claims:,} Suihua claims (seed {args.seed})")
    print(f"  end to end (JSON in and out, trace on): {rate:,.0f} claims/s  ({e2e:.2f} s)")
    print(f"  settle_all alone:                       {args.claims / api:,.0f} claims/s")
    print(f"  settle() per claim:                     {one * 1e6:,.1f} µs a claim")
    print(f"  vs hand-written Python (~{HAND_WRITTEN_PER_SECOND:,}/s):   {rate / HAND_WRITTEN_PER_SECOND:.2f}×")
    print(f"  vs OpenFisca per claim (~{OPENFISCA_SECONDS_PER_CLAIM * 1e3:.1f} ms):      "
          f"{OPENFISCA_SECONDS_PER_CLAIM / one:.1f}× faster")
    print("load and compile (first load includes building the parser: "
          f"{first_load * 1e3:.0f} ms):")
    for name, seconds in load_all():
        print(f"  {name:<40} {seconds * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()

"""How long `med` takes as a whole process, start to exit.

    python benchmarks/startup.py [--repeat 10]

Times `med check policies/suihua.med` and `med run policies/suihua.med ONE_CLAIM.jsonl`
(the least and the median of several runs; the machine is shared, so the least is the
figure to compare), the first run after the parser cache is cleared, and the module import
time alone. The issue's goal: `med check` ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIM = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


def whole(argv: list[str], env: dict, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr.decode()}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    med = [sys.executable, "-m", "medpolicy.cli"]
    policy = str(ROOT / "policies" / "suihua.med")
    with tempfile.TemporaryDirectory(prefix="med-startup-") as tmp:
        claim = Path(tmp) / "one.jsonl"
        claim.write_text(json.dumps(CLAIM) + "\n")
        env = dict(os.environ, MEDPOLICY_CACHE=str(Path(tmp) / "cache"))
        cold = whole(med + ["check", policy], env, 1)[0]  # builds the parser and fills the cache
        rows = [
            ("python -c pass", whole([sys.executable, "-c", "pass"], env, args.repeat)),
            ("import medpolicy.cli", whole([sys.executable, "-c", "import medpolicy.cli"], env, args.repeat)),
            ("med check suihua.med", whole(med + ["check", policy], env, args.repeat)),
            ("med run, one claim", whole(med + ["run", policy, str(claim)], env, args.repeat)),
            ("med check, no cache", whole(med + ["check", policy], dict(env, MEDPOLICY_CACHE=""), 3)),
        ]
    print(f"whole processes, {args.repeat} runs each (least / median, ms); goal: med check ≤ 200 ms")
    for name, times in rows:
        print(f"  {name:<24} {min(times) * 1e3:7.0f} {statistics.median(times) * 1e3:7.0f}")
    print(f"  {'first med check (builds the cache)':<24} {cold * 1e3:7.0f}")


if __name__ == "__main__":
    main()

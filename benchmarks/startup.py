"""How long `med` takes as a whole process, start to exit.

    python benchmarks/startup.py [--repeat 10]

Times `med check policies/suihua.med` and `med run policies/suihua.med ONE_CLAIM.jsonl`
(the least and the median of several runs, wall and CPU time; on a shared machine the
least CPU time is the figure to compare), the first run after the parser cache is cleared, and the module import
time alone. The issue's goal: `med check` ≤ 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLAIM = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
         "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


def whole(argv: list[str], env: dict, repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run: on a shared machine the CPU time is the steadier figure."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
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
        # As installed: Python's compiled bytecode is kept (here in a folder of its own, so the
        # source tree stays clean), whatever PYTHONDONTWRITEBYTECODE the shell has set.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(MEDPOLICY_CACHE=str(Path(tmp) / "cache"), PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"))
        whole([sys.executable, "-c", "import medpolicy.cli"], env, 1)  # compiles the bytecode once
        cold = whole(med + ["check", policy], env, 1)[0][0]  # builds the parser and fills the cache
        rows = [
            ("python -c pass", whole([sys.executable, "-c", "pass"], env, args.repeat)),
            ("import medpolicy.cli", whole([sys.executable, "-c", "import medpolicy.cli"], env, args.repeat)),
            ("med check suihua.med", whole(med + ["check", policy], env, args.repeat)),
            ("med run, one claim", whole(med + ["run", policy, str(claim)], env, args.repeat)),
            ("med check, no cache", whole(med + ["check", policy], dict(env, MEDPOLICY_CACHE=""), 3)),
        ]
    print(f"whole processes, {args.repeat} runs each, ms; goal: med check ≤ 200 ms")
    print(f"  {'':<24} {'wall least':>10} {'median':>7} {'CPU least':>10} {'median':>7}")
    for name, times in rows:
        wall, cpu = [t[0] for t in times], [t[1] for t in times]
        print(f"  {name:<24} {min(wall) * 1e3:10.0f} {statistics.median(wall) * 1e3:7.0f}"
              f" {min(cpu) * 1e3:10.0f} {statistics.median(cpu) * 1e3:7.0f}")
    print(f"  first med check, building the cache: {cold * 1e3:.0f} ms wall")


if __name__ == "__main__":
    main()

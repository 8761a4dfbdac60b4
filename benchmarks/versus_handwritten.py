"""`med run` side by side with a hand-written settlement of the same rules, on the same file.

    python benchmarks/versus_handwritten.py [--claims 100000] [--seed 7] [--keep DIR] [--against REF]

Generates shuffled Suihua inpatient claims (benchmarks/suihua_claims.py), then runs, each as
a whole process reading the file and writing JSON lines: the hand-written settlement
(benchmarks/handwritten_suihua.py), `med run --no-trace` and `med run` (trace on). Checks
that every claim's amounts agree to the fen (printing the disagreements), and prints each
rate (claims per second of wall time and of CPU time) and its ratio to the hand-written one.
The issue's goals: --no-trace ≥ 0.7×, with the trace ≥ 0.5×. `--against main` also runs
`med run` as it is at that commit (checkout.py), in the same run: before and after side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import suihua_claims  # noqa: E402
from checkout import export  # noqa: E402

FIELDS = ("id", "person", "year", "benefit", "total", "excluded", "prepay", "eligible", "deductible", "paid", "patient")


def timed(argv: list[str], out: Path, env: dict) -> tuple[float, float]:
    """Run a process writing to `out`: (wall seconds, CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(out, "w") as f:
        proc = subprocess.run(argv, stdout=f, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def disagreements(expected: Path, actual: Path) -> list[str]:
    """Claims whose amounts differ (by line), as `id: field expected ≠ actual`."""
    out = []
    with open(expected) as e, open(actual) as a:
        for n, (x, y) in enumerate(zip(e, a), 1):
            x, y = json.loads(x), json.loads(y)
            if "error" in y:
                out.append(f"line {n} {x['id']}: med gives an error: {y['error']['message']}")
                continue
            for field in FIELDS:
                if x.get(field) != y.get(field):
                    out.append(f"line {n} {x['id']}: {field} {x.get(field)} ≠ {y.get(field)}")
    with open(expected) as e, open(actual) as a:
        ne, na = sum(1 for _ in e), sum(1 for _ in a)
    if ne != na:
        out.append(f"{ne} rows from the hand-written settlement, {na} from med")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", metavar="DIR", help="write the files here and keep them")
    ap.add_argument("--against", metavar="REF", help="also run med as it is at this git commit (e.g. main)")
    ap.add_argument("--repeat", type=int, default=1, help="run each N times, in turns; keep each one's fastest")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="med-versus-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        claims = folder / "claims.jsonl"
        with open(claims, "w", encoding="utf-8") as f:
            suihua_claims.write(args.claims, f, args.seed)
        med = [sys.executable, "-m", "medpolicy.cli", "run", str(ROOT / "policies" / "suihua.med"), str(claims)]
        runs = [
            ("hand-written", [sys.executable, str(Path(__file__).parent / "handwritten_suihua.py"), str(claims)], "hand.jsonl",
             None),
            ("med run --no-trace", med + ["--no-trace"], "med-no-trace.jsonl", None),
            ("med run (trace)", med, "med-trace.jsonl", None),
        ]
        if args.against:
            other = str(export(args.against, Path(tmp) / "against"))
            runs += [(f"{args.against}: --no-trace", med + ["--no-trace"], "against-no-trace.jsonl", other),
                     (f"{args.against}: trace", med, "against-trace.jsonl", other)]
        # As installed: the package's compiled bytecode is kept (in a folder of its own, so the
        # source tree stays clean), whatever PYTHONDONTWRITEBYTECODE the shell has set; without
        # it every `med` process would compile its modules from source.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        envs = [env if path is None else {**env, "PYTHONPATH": path} for _, _, _, path in runs]
        for e in envs[1:]:  # the bytecode of each medpolicy compiled before any timing
            subprocess.run([sys.executable, "-c", "import medpolicy.cli, medpolicy.engine, medpolicy.runner"], env=e,
                           check=True)
        best: dict = {}
        for _ in range(max(args.repeat, 1)):  # in turns, so a busy spell of the machine hits every run alike
            for (name, argv, out, _), e in zip(runs, envs):
                wall, cpu = timed(argv, folder / out, e)
                w0, c0 = best.get(name, (wall, cpu))
                best[name] = (min(w0, wall), min(c0, cpu))
        figures = [(name, *best[name], folder / out) for name, _, out, _ in runs]
        print(f"{args.claims:,} shuffled Suihua inpatient claims (seed {args.seed}), whole processes, JSON lines in and out")
        base_wall, base_cpu = figures[0][1], figures[0][2]
        print(f"  {'':<20} {'claims/s (wall)':>16} {'ratio':>6}   {'claims/s (CPU)':>15} {'ratio':>6}")
        for name, wall, cpu, _ in figures:
            print(f"  {name:<20} {args.claims / wall:>16,.0f} {base_wall / wall:>5.2f}×   "
                  f"{args.claims / cpu:>15,.0f} {base_cpu / cpu:>5.2f}×")
        print("  goals: --no-trace ≥ 0.70×, trace ≥ 0.50× the hand-written rate")
        for name, _, _, out in figures[1:]:
            bad = disagreements(figures[0][3], out)
            print(f"{name}: {'every claim agrees to the fen' if not bad else f'{len(bad)} disagreements'}")
            for line in bad[:20]:
                print(f"  {line}")


if __name__ == "__main__":
    main()

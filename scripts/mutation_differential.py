#!/usr/bin/env python3
"""A quick first pass over straight.py's mutants: each against the engine's stages, in one process.

straight.py writes a plan's settlement as generated Python; the engine's stages are the
reference it must equal on every claim. tests/test_straight.py checks exactly that on
generated years of the five cities, and it is what kills most of straight.py's mutants — but
under mutmut each mutant pays a forked pytest run of the whole first tier (about 27 s of
tests a survivor, ~2,100 mutants: hours on this 2-core machine). This script switches
mutmut's mutants on one after another inside ONE process (mutmut's trampolines read the
mutant's name at call time), drops the policies' plans and compiled functions, and settles
test_straight's generated years through the generated functions, without and with the trace,
against the stages' results computed once: a mutant is killed when a result field, a trace
step, a year's accumulator or the plans left to the stages differ, or when it raises or
exceeds the time limit — the checks test_straight.py makes, so a kill here is a kill there.

It only kills: a mutant that passes goes on to the whole first tier (scripts/mutation_fresh.py
or a named mutmut run), which has the hand-worked claims on small policies. Verdicts are kept
in the JSON of scripts/mutation_fresh.py (`--json`), which scripts/mutation.py --fresh reads.

    python scripts/mutation_differential.py --stage /tmp/mut-straight-full --json /tmp/x.json
    python scripts/mutation_differential.py --stage S --json J medpolicy.straight.x__caps
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutation  # noqa: E402  (the stage's statuses and function hashes, the environment)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


def _load(stage: Path):
    """Import the stage's trampolined package and test_straight's years (from inside the stage)."""
    here = stage / "mutants"
    os.chdir(here)
    sys.path[:0] = [str(here), str(here / "tests")]
    os.environ.update(mutation.ENV)
    os.environ["MUTANT_UNDER_TEST"] = ""
    import test_straight  # noqa: F401  (loads the five policies twice: generated and stages)
    return test_straight


class Oracle:
    """The stages' results on each city's generated year, and a mutant's check against them."""

    def __init__(self, ts, persons: int):
        from med_strategies import policy_params
        from test_batch import generated_year
        self.ts, self.cities = ts, {}
        for city, policy in ts.POLICIES.items():
            params = policy_params(policy)
            seed = 17 + len(city)
            claims = ts._enriched(policy, generated_year(policy, persons, seed), seed)
            claims.sort(key=lambda c: (c["person"], c["date"]))
            run = ts.STAGES[city].run(params, trace=True)
            expected = [(repr(r.data), repr(r.trace), r.ok) for r in map(run.settle, claims)]
            self.cities[city] = (policy, params, claims, expected, ts._years(run))

    def check(self, city: str) -> str | None:
        """What the mutant changes in this city's year (None: nothing)."""
        from medpolicy.plan import Plan
        policy, params, claims, expected, years = self.cities[city]
        for trace in (False, True):
            engine = policy._engine
            engine._plans.clear()
            engine._codes.clear()
            run = policy.run(params, trace=trace)
            for claim, (data, steps, ok) in zip(claims, expected):
                r = run.settle(claim)
                if repr(r.data) != data:
                    return f"{city}: claim {claim['id']}: result differs{' (traced)' if trace else ''}"
                if trace and repr(r.trace) != steps:
                    return f"{city}: claim {claim['id']}: trace differs"
            if self.ts._years(run) != years:
                return f"{city}: a year's accumulators differ{' (traced)' if trace else ''}"
            plans = [p for p in engine._plans.values() if isinstance(p, Plan)]
            left = sum(p.straight.left for p in plans)
            if left > self.ts.LEFT[city] * (2 if trace else 1):
                return f"{city}: {left} claims left to the stages"
            made = [p.straight.traced if trace else p.straight.fn for p in plans]
            if any(fn is None and not (p.straight.why or "").startswith("no rate") for fn, p in zip(made, plans)):
                return f"{city}: a plan not taken: {sorted({p.straight.why for p in plans if p.straight.why})}"
        return None

    def verdict(self, name: str, limit: int) -> tuple[str, str]:
        os.environ["MUTANT_UNDER_TEST"] = name
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(limit)
        try:
            for city in self.cities:
                why = self.check(city)
                if why:
                    return "killed", why
            return "survived", ""
        except _Timeout:
            return "killed", f"timeout ({limit} s)"
        except Exception as e:  # the mutant broke the engine: what a test sees as an error
            return "killed", f"{type(e).__name__}: {str(e)[:80]}"
        finally:
            signal.alarm(0)
            os.environ["MUTANT_UNDER_TEST"] = ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", type=Path, required=True)
    ap.add_argument("--json", type=Path, required=True, help="verdicts, in scripts/mutation_fresh.py's format")
    ap.add_argument("--persons", type=int, default=180, help="persons a city's year (test_straight: 180)")
    ap.add_argument("--limit", type=int, default=60, help="seconds a mutant may take")
    ap.add_argument("--shard", default="1/1", help="K/N: every N-th mutant from the K-th (N processes side by side)")
    ap.add_argument("names", nargs="*", help="mutants or prefixes (default: straight.py's, not killed by mutmut)")
    args = ap.parse_args(argv)
    stage = args.stage.resolve()
    statuses = dict(mutation._statuses(stage))
    hashes = mutation.function_hashes(stage)
    out = args.json.resolve()
    names = [n for n, s in statuses.items() if n.startswith("medpolicy.straight.")
             and (any(n == p or n.startswith(p + "__mutmut_") for p in args.names) if args.names
                  else s not in mutation._KILLED)]
    k, n = map(int, args.shard.split("/"))
    names = names[k - 1::n]
    ts = _load(stage)
    start = time.perf_counter()
    oracle = Oracle(ts, args.persons)
    for city in oracle.cities:  # the unmutated code passes its own oracle, or nothing here means anything
        assert oracle.check(city) is None, city
    print(f"reference built in {time.perf_counter() - start:.1f} s; {len(names)} mutants", flush=True)
    records = {r["name"]: r for r in json.loads(out.read_text(encoding="utf-8"))} if out.exists() else {}
    killed = 0
    for i, name in enumerate(names, 1):
        t = time.perf_counter()
        result, detail = oracle.verdict(name, args.limit)
        killed += result == "killed"
        records[name] = {"name": name, "result": result, "detail": detail, "seconds": round(time.perf_counter() - t, 1),
                         "run_status": statuses[name], "function_hash": hashes.get(name.rsplit("__mutmut_", 1)[0]),
                         "by": "differential"}
        print(f"{i}/{len(names)} {result:8} {name} {detail}", flush=True)
        if i % 20 == 0 or i == len(names):
            out.write_text(json.dumps(list(records.values()), indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"killed {killed} of {len(names)} in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
or a named mutmut run), which has the hand-worked claims on small policies. `--tests MODULE`
first calls that module's tests in the same process (tests/test_mutants_straight.py: the
generated source of chosen plans, their claims settled with the stages switched off), so a
verdict says which check killed it. Verdicts are kept in the JSON of scripts/mutation_fresh.py
(`--json`, marked `"by": "differential"`), which scripts/mutation.py --fresh reads.

    python scripts/mutation_differential.py --stage /tmp/mut-straight-full --json /tmp/x.json
    python scripts/mutation_differential.py --stage S --json J medpolicy.straight.x__caps
    python scripts/mutation_differential.py --stage S --json J --tests tests/test_mutants_straight.py
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutation  # noqa: E402  (the stage's statuses and function hashes, the environment)


class _Timeout(BaseException):  # not an Exception: the generator catches those
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
        from city_years import generated_year
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

    def failure(self) -> str | None:
        for city in self.cities:
            why = self.check(city)
            if why:
                return why
        return None


class TestModule:
    """A test module's tests called directly in this process, each with its parameters (its
    `parametrize` marks expanded; `monkeypatch` the one fixture given): the first that fails."""

    def __init__(self, path: Path):
        sys.path.append(str(path.parent))
        module = importlib.import_module(path.stem)
        self.calls = []
        for name, fn in vars(module).items():
            if name.startswith("test_") and callable(fn):
                self.calls += [(name, fn, p) for p in self._params(fn)]
        self.name = path.name

    @staticmethod
    def _params(fn) -> list[dict]:
        params = [{}]
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "parametrize":
                names = [a.strip() for a in mark.args[0].split(",")] if isinstance(mark.args[0], str) else mark.args[0]
                rows = [getattr(v, "values", v) for v in mark.args[1]]
                rows = [v if len(names) > 1 else (v,) for v in rows]
                params = [{**p, **dict(zip(names, v))} for p in params for v in rows]
        wanted = set(inspect.signature(fn).parameters) - set(params[0]) - {"monkeypatch"}
        if wanted:
            raise SystemExit(f"{fn.__name__}: fixtures {sorted(wanted)} are not given in-process")
        return params

    def failure(self) -> str | None:
        from _pytest.monkeypatch import MonkeyPatch
        for name, fn, params in self.calls:
            patch = MonkeyPatch()
            try:
                fn(**params, **({"monkeypatch": patch} if "monkeypatch" in inspect.signature(fn).parameters else {}))
            except (_Timeout, KeyboardInterrupt):
                raise
            except BaseException as e:  # an assertion, an error, a pytest.fail: the test fails
                return f"{self.name}::{name}{params or ''}: {type(e).__name__}"
            finally:
                patch.undo()
        return None


def verdict(checks: list, name: str, limit: int) -> tuple[str, str]:
    """Killed by the first check that fails with the mutant switched on, or survived."""
    os.environ["MUTANT_UNDER_TEST"] = name
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    try:
        for check in checks:
            why = check.failure()
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
    ap.add_argument("--limit", type=int, default=300, help="seconds a mutant may take")
    ap.add_argument("--tests", type=Path, help="a test module run in-process first (e.g. tests/test_mutants_straight.py)")
    ap.add_argument("--resume", action="store_true", help="skip the mutants the JSON already has a verdict for")
    ap.add_argument("--shard", default="1/1", help="K/N: every N-th mutant from the K-th (N processes side by side)")
    ap.add_argument("names", nargs="*", help="mutants or prefixes (default: straight.py's, not killed by mutmut)")
    args = ap.parse_args(argv)
    stage, tests = args.stage.resolve(), args.tests.resolve() if args.tests else None
    statuses = dict(mutation._statuses(stage))
    hashes = mutation.function_hashes(stage)
    out = args.json.resolve()
    names = [n for n, s in statuses.items() if n.startswith("medpolicy.straight.")
             and (any(n == p or n.startswith(p + "__mutmut_") for p in args.names) if args.names
                  else s not in mutation._KILLED)]
    if args.resume and out.exists():
        done = {r["name"] for r in json.loads(out.read_text(encoding="utf-8"))}
        names = [n for n in names if n not in done]
    k, n = map(int, args.shard.split("/"))
    names = names[k - 1::n]
    ts = _load(stage)
    start = time.perf_counter()
    oracle = Oracle(ts, args.persons)
    checks = ([TestModule(tests)] if tests else []) + [oracle]
    for check in checks:  # the unmutated code passes every check, or nothing here means anything
        assert check.failure() is None, check
    print(f"reference built in {time.perf_counter() - start:.1f} s; {len(names)} mutants", flush=True)
    records = {r["name"]: r for r in json.loads(out.read_text(encoding="utf-8"))} if out.exists() else {}
    killed = 0
    for i, name in enumerate(names, 1):
        t = time.perf_counter()
        result, detail = verdict(checks, name, args.limit)
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

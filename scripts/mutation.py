#!/usr/bin/env python3
"""Mutation run over the settlement core, with mutmut (a developer's tool, not CI: it is slow).

    pip install -e '.[mutation]'
    python scripts/mutation.py                  # every file of CORE, the fast test subset
    python scripts/mutation.py --files settle.py --max-children 2

The package lives in `interpreter/` but is imported as `medpolicy`; mutmut names a mutant by
its file's module path, so the run happens in a staging folder (default
/tmp/medpolicy-mutation) where the package is laid out as `medpolicy/` (with its grammar and
standard library inside, as an install has them) beside copies of `tests/` and `policies/`.
mutmut puts its `mutants/` copy first on sys.path, ahead of the editable install.

Prints the score (killed / all mutants) and the surviving mutants; `--diffs` also prints
each survivor's diff. The CORE list below is the one place that names the files: when the
engine is split into new modules, add them here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The settlement core (interpreter/NAME): claims in, money out. `plan.py` and the engine's
# stages join the list when they exist; a missing name is skipped with a note.
CORE = ["claims.py", "claim_fields.py", "terms.py", "settle.py", "engine.py", "plan.py", "money.py"]

# The tests that can kill a settlement mutant, in two tiers. mutmut 3 runs, for each mutant,
# only the tests that executed its function, fastest first, and stops at the first failure;
# a survivor runs them all, so the first tier is what is quick and asserts amounts or error
# rows: hand-worked examples, the independent reference, boundary and tie cases, exact
# arithmetic, the claim reader's and the plan's errors, state chaining.
FAST_TESTS = ["tests/test_examples.py", "tests/test_boundaries.py", "tests/test_claim_edges.py",
              "tests/test_settlement.py", "tests/test_claims.py", "tests/test_reference.py",
              "tests/test_exact.py", "tests/test_parameters.py", "tests/test_parameter_reach.py",
              "tests/test_claim_fields.py", "tests/test_claim_input.py", "tests/test_state.py",
              "tests/test_trace_steps.py", "tests/test_facts.py", "tests/test_accounts.py"]
# The second tier (`--wide`) re-runs the first tier's survivors against everything else that
# settles claims: properties, the CLI and streaming runner, the platform's identities, the
# columnar engine compared with the scalar one.
WIDE_TESTS = FAST_TESTS + ["tests/test_language.py", "tests/test_monotonic.py", "tests/test_properties.py",
                           "tests/test_cli_input.py", "tests/test_runner.py", "tests/test_nhsa.py",
                           "tests/test_batch.py"]
# The hostile-claims fuzz of test_claims takes seconds and asserts no amounts.
DESELECT = ["-k", "not hostile"]
ENV = {"MED_REFERENCE_EXAMPLES": "6", "PYTHONDONTWRITEBYTECODE": "1", "MED_FRESH_PLANS": "1"}


def stage(target: Path, files: list[str], test_list: list[str] = FAST_TESTS) -> list[str]:
    """Lay the package out as `medpolicy/` in `target`; returns the files to mutate."""
    if target.exists():
        shutil.rmtree(target)
    pkg = target / "medpolicy"
    shutil.copytree(ROOT / "interpreter", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "grammar", pkg / "grammar", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "stdlib", pkg / "stdlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "policies", target / "policies")
    shutil.copytree(ROOT / "stdlib", target / "stdlib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", target / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("docs", "examples"):  # tests compare the docs and shipped examples with the code
        shutil.copytree(ROOT / data, target / data)
    mutate = []
    for name in files:
        if (pkg / name).exists():
            mutate.append(f"medpolicy/{name}")
        else:
            print(f"mutation: interpreter/{name} does not exist here; skipped", file=sys.stderr)
    _configure(target, mutate, test_list)
    return mutate


def _configure(target: Path, mutate: list[str], test_list: list[str]) -> None:
    """Write the staging folder's mutmut and pytest settings."""
    tests = [t for t in test_list if (target / t).exists()]
    toml_list = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    (target / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        f"only_mutate = {toml_list(mutate)}\n"
        'source_paths = ["medpolicy"]\n'
        'also_copy = ["policies", "stdlib", "tests", "docs", "examples"]\n'
        f"pytest_add_cli_args_test_selection = {toml_list(tests + DESELECT)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        "\n[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n', encoding="utf-8")


def _statuses(target: Path) -> list[tuple[str, str]]:
    """Every mutant's name and status, as `mutmut results --all true` prints them."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=target,
                         capture_output=True, text=True)
    return [(m.group(1), m.group(2).strip()) for line in out.stdout.splitlines()
            if (m := re.match(r"\s*(\S+): (.+)$", line))]


def results(target: Path) -> tuple[dict, list[str]]:
    """Count mutants by status, and the names of the survivors."""
    statuses = _statuses(target)
    counts: dict = {}
    for _, status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts, [name for name, status in statuses if status == "survived"]


def all_mutants(target: Path) -> list[str]:
    return [name for name, _ in _statuses(target)]


def sample(names: list[str], n: int, seed: int) -> list[str]:
    """A seeded random sample of the mutants, each file in proportion to its mutants."""
    import random
    rng = random.Random(seed)
    by_file: dict = {}
    for name in sorted(names):
        by_file.setdefault(name.split(".")[1], []).append(name)
    picked = []
    for file_names in by_file.values():
        k = max(1, round(n * len(file_names) / len(names)))
        picked += rng.sample(file_names, min(k, len(file_names)))
    return sorted(picked)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", type=Path, default=Path("/tmp/medpolicy-mutation"))
    ap.add_argument("--files", nargs="*", default=CORE, help="files of interpreter/ to mutate (default: CORE)")
    ap.add_argument("--max-children", default="1", help="parallel test processes (default 1)")
    ap.add_argument("--report-only", action="store_true", help="only print the results of the last run")
    ap.add_argument("--diffs", action="store_true", help="print each survivor's diff")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="run a seeded random sample of N mutants (stratified by file) instead of all of them")
    ap.add_argument("--seed", type=int, default=20261206, help="the sample's seed")
    ap.add_argument("--wide", action="store_true",
                    help="re-run the last run's survivors against the second tier of tests (WIDE_TESTS)")
    args = ap.parse_args(argv)
    if args.wide:
        _, survivors = results(args.stage)
        _configure(args.stage, [f"medpolicy/{n}" for n in args.files], WIDE_TESTS)
        print(f"re-running {len(survivors)} survivors against the second tier", flush=True)
        for i in range(0, len(survivors), 200):  # a command line of bounded length
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children,
                            *survivors[i:i + 200]], cwd=args.stage, env={**os.environ, **ENV})
    elif args.sample:
        mutate = stage(args.stage, args.files)
        print("mutating:", " ".join(mutate), flush=True)
        # A first run on a handful of mutants generates them all and maps tests to functions.
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children,
                        "medpolicy.money.*__mutmut_1"], cwd=args.stage, env={**os.environ, **ENV})
        names = sample(all_mutants(args.stage), args.sample, args.seed)
        print(f"running a sample of {len(names)} mutants", flush=True)
        for i in range(0, len(names), 200):
            subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children,
                            *names[i:i + 200]], cwd=args.stage, env={**os.environ, **ENV})
    elif not args.report_only:
        mutate = stage(args.stage, args.files)
        print("mutating:", " ".join(mutate), flush=True)
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children],
                       cwd=args.stage, env={**os.environ, **ENV})
    counts, survivors = results(args.stage)
    total = sum(v for k, v in counts.items() if k != "not checked")  # a sample leaves the rest unchecked
    killed = counts.get("killed", 0)
    print(f"\nmutants checked: {total}  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if total:
        print(f"score: {killed}/{total} killed = {100 * killed / total:.1f}%")
    for name in survivors:
        print("survived:", name)
        if args.diffs:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=args.stage,
                                  capture_output=True, text=True).stdout
            print(diff)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check mutmut's mutants one by one in a fresh process: the honest test of code run at import.

mutmut 3 switches a mutant on inside a process forked after the package was imported, so a
mutant of code that runs at import (the claim field table built by `claim_fields._field`,
`Exact`'s operators built by `money._operators`) is never switched on and "survives" untested.
This script takes the mutants' diffs from a mutmut run (`mutmut show NAME`), applies each to a
fresh copy of the package (laid out as `medpolicy/` like scripts/mutation.py does) and runs
the test tier in a NEW process (`pytest -x`, fresh import); killed or survived is what that
process says.

    python scripts/mutation_fresh.py --stage /tmp/mut-full medpolicy.money.x__operators
    python scripts/mutation_fresh.py --stage /tmp/mut-full --files claims.py money.py
    python scripts/mutation_fresh.py --stage /tmp/mut-full --files money.py --status survived killed

Names are mutant names or prefixes of them (a function: `medpolicy.claim_fields.x__field`);
`--files` takes every mutant of those files. Only mutants whose status in the run is one of
`--status` (default: survived, no tests) are checked. The diff is applied to the code as it
is now (this checkout); a diff that no longer applies is reported, not guessed at.
Prints one line per mutant and the figures; `--json FILE` keeps them: a file that exists is
updated (the mutants checked now replace their earlier verdicts, the others are kept), so one
file beside the stage (`STAGE.fresh.json`, what `scripts/mutation.py --report-only` reads)
gathers every fresh-process verdict of a run. Each verdict keeps mutmut's hash of the mutated
function's code: once the function changes (and its mutants are numbered afresh) the report
leaves the verdict out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutation  # noqa: E402  (the staging layout, the test tiers, the environment)

_NAME = re.compile(r"^medpolicy\.(?P<module>[\w.]+)\.(?P<func>x[^.]+)__mutmut_(?P<n>\d+)$")


def mutant_diff(stage: Path, name: str) -> str:
    """The mutant's diff as `mutmut show` prints it (the mutated function only)."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=stage, capture_output=True,
                         text=True, check=True)
    return out.stdout


def _blocks(diff: str, context: bool = True) -> tuple[str, str]:
    """The old and new text of the diff's hunks; with `context` False, only the lines from the
    first changed line to the last (the context around them may have changed since the run)."""
    lines = [l for l in diff.splitlines()[1:] if not l.startswith(("---", "+++", "@@", "# "))]
    if not context:
        changed = [i for i, l in enumerate(lines) if l.startswith(("-", "+"))]
        lines = lines[changed[0]:changed[-1] + 1]
    old, new = [], []
    for line in lines:
        if not line.startswith("+"):
            old.append(line[1:])
        if not line.startswith("-"):
            new.append(line[1:])
    return "\n".join(old) + "\n", "\n".join(new) + "\n"


def _def_line(source: str, func: str) -> int:
    """Where the mutated function starts in the source: `x_money` is `def money(`, and
    `xǁClaimReaderǁ_item` is `def _item(` inside `class ClaimReader`."""
    if func.startswith("xǁ"):
        cls, method = func.split("ǁ")[1:3]
        start = source.index(f"class {cls}")
        return source.index(f"def {method}(", start)
    return source.index(f"def {func[2:]}(")


def _indented(text: str, indent: str) -> str:
    return "\n".join(indent + line if line.strip() else line for line in text.split("\n"))


def apply(source: str, func: str, diff: str) -> str:
    """The source with the mutant applied: the diff's old text replaced, searched for from the
    mutated function's `def` (the hunks are numbered from the function, not the file); when
    the lines around the change have changed since the run, the changed lines alone."""
    start = _def_line(source, func)
    ends = [i for i in (source.find("\ndef ", start + 1), source.find("\nclass ", start + 1)) if i >= 0]
    body = source[start:min(ends, default=len(source))]
    # mutmut shows a method as a function of its own, dedented: its lines are put back at the
    # method's indentation (else a hunk of several lines never matches, and a line that occurs
    # twice at different depths is refused as ambiguous).
    indent = source[source.rfind("\n", 0, start) + 1:start]
    for context in (True, False):
        old, new = (_indented(text, indent) for text in _blocks(diff, context))
        at = source.find(old, start - len(indent))
        if at < 0:
            continue
        if not context and body.count(old) > 1:  # the changed lines alone could be another place's
            raise ValueError("the diff's lines occur more than once in the function as it is now")
        return source[:at] + new + source[at + len(old):]
    raise ValueError("the diff does not apply to the code as it is now")


def select(stage: Path, patterns: list[str], files: list[str], statuses: list[str]) -> list[tuple[str, str]]:
    """(name, status) of the run's mutants that match a pattern or a file and have a status asked for."""
    exact = {p for p in patterns if "__mutmut_" in p}  # one mutant: its name, not a prefix of others
    prefixes = [p for p in patterns if p not in exact] + [f"medpolicy.{f.removesuffix('.py')}.x" for f in files]
    return [(n, s) for n, s in mutation._statuses(stage)
            if s in statuses and (n in exact or any(n.startswith(p) for p in prefixes))]


def _failure(output: str) -> str:
    """The first failing test (or collection error) pytest reported, shortened."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:160]
    lines = [l for l in output.splitlines() if l.strip()]
    return lines[-1][:160] if lines else "no output"


def check(copy: Path, name: str, diff: str, tests: list[str], timeout: float) -> dict:
    """Apply one mutant in the copy, run the tests in a new process, put the file back."""
    m = _NAME.match(name)
    path = copy / "medpolicy" / (m["module"].replace(".", "/") + ".py")
    original = path.read_text(encoding="utf-8")
    try:
        mutated = apply(original, m["func"], diff)
    except ValueError as e:
        return {"name": name, "result": "not applied", "detail": str(e), "seconds": 0.0}
    path.write_text(mutated, encoding="utf-8")
    env = {**os.environ, **mutation.ENV, "PYTHONPATH": str(copy)}
    began = time.monotonic()
    # The tests written to kill survivors first, alone: most mutants fail there, without
    # collecting the whole tier (which loads every policy); then the rest of the tier.
    mine = [t for t in tests if Path(t).name.startswith("test_mutants_")]
    result, detail = "survived", ""
    try:
        for part in (mine, [t for t in tests if t not in mine]):
            if not part:
                continue
            done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider",
                                   *part, *mutation.DESELECT], cwd=copy, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            if done.returncode not in (0, 5):  # 5: every test of the part deselected
                result, detail = "killed", _failure(done.stdout + done.stderr)
                break
    except subprocess.TimeoutExpired:
        result, detail = "killed", f"timeout after {timeout:.0f} s"
    finally:
        path.write_text(original, encoding="utf-8")
    return {"name": name, "result": result, "detail": detail, "seconds": round(time.monotonic() - began, 1)}


def fresh_copy(target: Path, tests: list[str]) -> Path:
    """The package laid out as `medpolicy/` beside tests and policies, and proof that a new
    process imports it from there (not from the editable install)."""
    mutation.stage(target, [], tests)
    where = subprocess.run([sys.executable, "-c", "import medpolicy; print(medpolicy.__file__)"], cwd=target,
                           env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True)
    if not where.stdout.strip().startswith(str(target)):
        sys.exit(f"mutation_fresh: a new process imports medpolicy from {where.stdout.strip() or where.stderr}, "
                 f"not from {target}")
    return target


def load_json(path: Path) -> dict:
    """The verdicts a `--json` file holds, by mutant name (none when it does not exist yet)."""
    if not path.is_file():
        return {}
    return {r["name"]: r for r in json.loads(path.read_text(encoding="utf-8"))}


def first_tier() -> list[str]:
    """The first tier as a mutmut run has it: every tests/test_mutants_*.py (written to kill
    survivors; tests/conftest.py adds them to a stage's selection), first since they fail
    fastest, then FAST_TESTS."""
    mine = sorted(f"tests/{p.name}" for p in (mutation.ROOT / "tests").glob("test_mutants_*.py"))
    return mine + [t for t in mutation.FAST_TESTS if t not in mine]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="mutant names or prefixes (a function's mutants)")
    ap.add_argument("--stage", type=Path, required=True, help="the mutmut run's staging folder")
    ap.add_argument("--files", nargs="*", default=[], help="every mutant of these files of interpreter/")
    ap.add_argument("--status", nargs="*", default=["survived", "no tests"],
                    help="the run's statuses to re-check (default: survived, no tests)")
    ap.add_argument("--tests", nargs="*", default=first_tier(),
                    help="the tests to run (default: tests/test_mutants_*.py and FAST_TESTS)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/medpolicy-mutation-fresh"), help="the fresh copy")
    ap.add_argument("--timeout", type=float, default=1800,
                    help="seconds before a mutant counts as killed (one that loops); default 1800, "
                         "as a loaded machine is slow")
    ap.add_argument("--json", type=Path, help="write every result to this file")
    args = ap.parse_args(argv)
    chosen = select(args.stage, args.names, args.files, args.status)
    if not chosen:
        print("mutation_fresh: no mutant matches", file=sys.stderr)
        return 2
    copy = fresh_copy(args.work, args.tests)
    tests = [t for t in args.tests if (copy / t).exists()]
    print(f"checking {len(chosen)} mutants in fresh processes ({len(tests)} test files)", flush=True)
    kept = load_json(args.json) if args.json else {}
    hashes = mutation.function_hashes(args.stage)  # the report leaves out a verdict on since-changed code
    results = []
    for name, status in chosen:
        r = check(copy, name, mutant_diff(args.stage, name), tests, args.timeout)
        r["run_status"] = status
        r["function_hash"] = hashes.get(name.rsplit("__mutmut_", 1)[0])
        results.append(r)
        print(f"{r['result']:<12} {name}  ({r['seconds']} s) {r['detail']}", flush=True)
        if args.json:  # kept as it goes: a long check stopped halfway loses nothing
            kept[name] = r
            args.json.write_text(json.dumps(list(kept.values()), indent=1, ensure_ascii=False), encoding="utf-8")
    counts: dict = {}
    for r in results:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    print("\nfresh-process check: " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
          + f"  (of {len(results)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

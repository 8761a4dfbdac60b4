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
each survivor's diff.

    python scripts/mutation.py --stage /tmp/mut-full --update --max-children 2

`--update` brings a stage up to the repo as it is now without losing a run's results: files
are rewritten only where their content changed, so mutmut (which compares modification
times and, per function, hashes) re-tests the mutants of changed functions only; then every
mutant that was not killed is run again against the current tests (mutmut never re-tests a
survivor by itself). The stage's test selection is kept: mutmut 3.8 resets every verdict
when `pytest_add_cli_args_test_selection` changes, so new tests go into files already in it. The CORE list below is the one place that names the files: when the
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
CORE = ["claims.py", "claim_fields.py", "terms.py", "settle.py", "engine.py", "plan.py", "money.py", "straight.py"]

# The tests that can kill a settlement mutant, in two tiers. mutmut 3 runs, for each mutant,
# only the tests that executed its function, fastest first, and stops at the first failure;
# a survivor runs them all, so the first tier is what is quick and asserts amounts or error
# rows: hand-worked examples, the independent reference, boundary and tie cases, exact
# arithmetic, the claim reader's and the plan's errors, state chaining.
FAST_TESTS = ["tests/test_examples.py", "tests/test_boundaries.py", "tests/test_claim_edges.py",
              "tests/test_settlement.py", "tests/test_claims.py", "tests/test_reference.py",
              "tests/test_exact.py", "tests/test_parameters.py", "tests/test_parameter_reach.py",
              "tests/test_claim_fields.py", "tests/test_claim_input.py", "tests/test_state.py",
              "tests/test_trace_steps.py", "tests/test_facts.py", "tests/test_accounts.py",
              "tests/test_straight.py"]
# Every tests/test_mutants_*.py (tests written to kill survivors) joins the first tier through
# tests/conftest.py, also in a stage already running, whose selection cannot change.
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


def _mirror(src: Path, dst: Path, skip=()) -> int:
    """Make `dst` hold `src`'s files, writing only those whose bytes differ and removing those
    `src` no longer has (`skip`: top-level names left alone). Returns the files written."""
    written = 0
    dst.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if rel.parts[0] in skip or "__pycache__" in rel.parts or not path.is_file():
            continue
        wanted.add(rel)
        out = dst / rel
        data = path.read_bytes()
        if not out.is_file() or out.read_bytes() != data:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)  # a new modification time: mutmut sees the change
            written += 1
    for path in list(dst.rglob("*")):
        rel = path.relative_to(dst)
        if rel.parts[0] in skip or not path.is_file() or rel in wanted:
            continue
        if path.suffix in (".meta", ".spans") or "__pycache__" in rel.parts:
            continue  # mutmut's own records beside a mutated file
        path.unlink()
    return written


_DATA = ("policies", "stdlib", "tests", "docs", "examples")


def update(target: Path) -> None:
    """Bring the stage's package, tests and data up to the repo, keeping mutmut's mutants/
    and its results. mutmut copies the package's non-Python files and the data folders into
    mutants/ only when missing (or adds without removing), so those are mirrored there too."""
    if not (target / "mutants").is_dir():
        raise SystemExit(f"mutation: {target} holds no run to update; run without --update first")
    written = _mirror(ROOT / "interpreter", target / "medpolicy", skip=("grammar", "stdlib"))
    for name in ("grammar", "stdlib"):
        written += _mirror(ROOT / name, target / "medpolicy" / name)
        _mirror(ROOT / name, target / "mutants" / "medpolicy" / name)
    for name in _DATA:
        written += _mirror(ROOT / name, target / name)
        _mirror(ROOT / name, target / "mutants" / name)
    for path in (target / "medpolicy").rglob("*"):  # the package's data files (schemas, tables)
        rel = path.relative_to(target / "medpolicy")
        out = target / "mutants" / "medpolicy" / rel
        if path.is_file() and path.suffix != ".py" and (not out.is_file() or out.read_bytes() != path.read_bytes()):
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, out)
    for path in (target / "mutants" / "medpolicy").rglob("*.py"):  # modules the repo no longer has
        if not (target / "medpolicy" / path.relative_to(target / "mutants" / "medpolicy")).exists():
            path.unlink()
    print(f"update: {written} files changed in {target}", flush=True)
    kept = _selection(target)
    missing = [t for t in FAST_TESTS if (target / t).exists() and t not in kept
               and not Path(t).name.startswith("test_mutants_")]  # tests/conftest.py adds those
    if missing:
        print("update: not in the stage's test selection (kept: changing it resets every verdict): "
              + " ".join(missing), file=sys.stderr)
    (target / "wide-killed.txt").unlink(missing_ok=True)  # the second tier's verdicts are stale now


def _selection(target: Path) -> list[str]:
    """The test files of a stage's `pytest_add_cli_args_test_selection`."""
    text = (target / "pyproject.toml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("pytest_add_cli_args_test_selection"))
    return re.findall(r'"([^"]+\.py)"', line)


def _run_named(target: Path, names: list[str], max_children: str) -> None:
    for i in range(0, len(names), 200):  # a command line of bounded length
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", max_children,
                        *names[i:i + 200]], cwd=target, env={**os.environ, **ENV})


_NOT_KILLED = ("survived", "no tests", "timeout", "suspicious", "segfault")


def wide(target: Path, max_children: str) -> None:
    """Run the survivors against the second tier in a copy of the stage (`STAGE-wide`): a new
    test selection makes mutmut 3.8 reset every verdict, so the stage itself keeps its own.
    The survivors the copy kills are listed in STAGE/wide-killed.txt."""
    _, survivors = results(target)
    copy = target.with_name(target.name + "-wide")
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(target, copy, symlinks=True)
    text = (copy / "pyproject.toml").read_text(encoding="utf-8")
    tests = [t for t in WIDE_TESTS if (copy / t).exists()]
    toml_list = "[" + ", ".join(f'"{x}"' for x in tests + DESELECT) + "]"
    text = re.sub(r"(?m)^pytest_add_cli_args_test_selection = .*$",
                  lambda _: f"pytest_add_cli_args_test_selection = {toml_list}", text)
    (copy / "pyproject.toml").write_text(text, encoding="utf-8")
    print(f"re-running {len(survivors)} survivors against the second tier in {copy}", flush=True)
    _run_named(copy, survivors, max_children)
    status = dict(_statuses(copy))
    killed = [n for n in survivors if status.get(n) == "killed"]
    (target / "wide-killed.txt").write_text("".join(n + "\n" for n in killed), encoding="utf-8")
    print(f"the second tier killed {len(killed)} of {len(survivors)}", flush=True)


EQUIVALENTS = ROOT / "scripts" / "mutation_equivalents.txt"
_KILLED = ("killed", "timeout")  # a mutant that makes the tests hang is caught: mutmut counts it so


def equivalents(path: Path) -> dict:
    """The mutants no test can kill, by name, with why: `NAME<TAB>reason` a line, `#` comments."""
    found: dict = {}
    if not path.is_file():
        return found
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, tab, reason = line.partition("\t")
        if not tab or not reason.strip() or " " in name:
            raise SystemExit(f"{path}:{n}: expected NAME<TAB>reason, got {line[:80]!r}")
        if name in found:
            raise SystemExit(f"{path}:{n}: {name} is listed twice")
        found[name] = reason.strip()
    return found


_HASH = re.compile(r"^# hash (\S+) ([0-9a-f]+)$")


def equivalent_hashes(path: Path) -> dict:
    """The code each function's equivalents were judged on: `# hash FUNCTION HASH` lines (mutmut's
    hash of the function, written by --stamp-equivalents)."""
    if not path.is_file():
        return {}
    return {m[1]: m[2] for line in path.read_text(encoding="utf-8").splitlines() if (m := _HASH.match(line))}


def stamp_equivalents(path: Path, target: Path) -> int:
    """Record, under each file's heading, the current hash of every function with an equivalent
    listed (after checking them against the code as it is now). Returns the functions stamped."""
    hashes = function_hashes(target)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not _HASH.match(line)]
    out, group = [], []

    def flush():
        funcs = sorted({name.rsplit("__mutmut_", 1)[0] for name in group})
        out.extend(f"# hash {f} {hashes[f]}" for f in funcs if f in hashes)
        group.clear()

    for line in lines:
        if line.startswith("# ") and line.endswith(".py") and " " not in line[2:]:
            flush()
        elif line and not line.startswith("#"):
            group.append(line.partition("\t")[0])
        if not line.strip() and group:
            flush()
        out.append(line)
    flush()
    path.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
    return sum(1 for x in out if _HASH.match(x))


def function_hashes(target: Path) -> dict:
    """mutmut's hash of every mutated function's code (`medpolicy.money.x_q` -> hash), from the
    stage's `mutants/**/*.meta`: a function whose hash changed has new mutants."""
    import json
    hashes = {}
    for meta in (target / "mutants").rglob("*.py.meta"):
        module = ".".join(meta.relative_to(target / "mutants").with_suffix("").with_suffix("").parts)
        for func, h in json.loads(meta.read_text(encoding="utf-8")).get("hash_by_function_name", {}).items():
            hashes[f"{module}.{func}"] = h
    return hashes


def fresh_verdicts(paths: list[Path], hashes: dict) -> tuple[dict, int]:
    """`killed` or `survived` by mutant name, as scripts/mutation_fresh.py --json kept them in
    `paths` (a later file's verdict replaces an earlier one's: the run's own file first, then a
    helper's, without writing into the run's), a diff that no longer applied saying nothing; and
    how many are stale: checked on a function whose code has changed since (its mutants are
    new, numbered afresh)."""
    import json
    records: dict = {}
    for path in paths:
        if path.is_file():
            records.update((r["name"], r) for r in json.loads(path.read_text(encoding="utf-8")))
    verdicts, stale = {}, 0
    for r in records.values():
        if r["result"] not in ("killed", "survived"):
            continue
        then = r.get("function_hash")
        if then is not None and hashes.get(r["name"].rsplit("__mutmut_", 1)[0]) != then:
            stale += 1
            continue
        # scripts/mutation_differential.py's in-process kills are told apart from a fresh process's
        verdicts[r["name"]] = ("differential " if r.get("by") == "differential" else "") + r["result"]
    return verdicts, stale


def score(target: Path, fresh_files: list[Path], equivalents_file: Path) -> dict:
    """Every mutant's final verdict: mutmut's, unless the second tier (`--wide`) or a fresh
    process (the honest check of code run at import) killed it; a survivor listed as
    equivalent is `equivalent`. Returns the verdicts by name and what did not fit."""
    wide_file = target / "wide-killed.txt"
    second = set(wide_file.read_text(encoding="utf-8").split()) if wide_file.exists() else set()
    fresh, fresh_stale = fresh_verdicts(fresh_files, function_hashes(target))
    judged, now = equivalent_hashes(equivalents_file), function_hashes(target)
    staged = {f.rsplit(".", 1)[0] for f in now}  # the modules this stage mutates: the others' lines are not its business
    same = {n: r for n, r in equivalents(equivalents_file).items() if n.rsplit(".", 1)[0] in staged}
    # An equivalent judged on code that has changed since no longer names the same mutant (a
    # changed function's mutants are numbered afresh): counted as a survivor until re-checked.
    changed = sorted(n for n in same if judged.get(n.rsplit("__mutmut_", 1)[0], now.get(n.rsplit("__mutmut_", 1)[0]))
                     != now.get(n.rsplit("__mutmut_", 1)[0]))
    unstamped = sorted({n.rsplit("__mutmut_", 1)[0] for n in same} - set(judged))
    same = {n: r for n, r in same.items() if n not in changed}
    verdicts, stale = {}, []
    for name, status in _statuses(target):
        if status in _KILLED:
            verdict = "killed"
        elif fresh.get(name) == "killed":
            verdict = "killed (fresh process)"
        elif fresh.get(name) == "differential killed":  # (scripts/mutation_differential.py)
            verdict = "killed (differential)"
        elif status == "not checked" and fresh.get(name) != "differential survived":
            verdict = "not checked"  # (one that survived the in-process checks is a survivor to explain)
        elif name in second:
            verdict = "killed (second tier)"
        elif name in same:
            verdict = "equivalent"
        else:
            verdict = "survived"
        if name in same and verdict.startswith("killed"):
            stale.append(name)  # listed as equivalent, yet a test kills it: the reason is wrong
        verdicts[name] = verdict
    unknown = sorted(n for n in same if n not in verdicts)
    return {"verdicts": verdicts, "stale": stale, "unknown": unknown, "fresh_files": fresh_files,
            "fresh": len(fresh), "fresh_stale": fresh_stale, "equivalents_file": equivalents_file,
            "changed": changed, "unstamped": unstamped}


_COLUMNS = ("killed", "killed (fresh process)", "killed (differential)", "killed (second tier)", "equivalent",
            "survived", "not checked")


def print_report(s: dict, target: Path, diffs: bool = False) -> None:
    """The score in one table by file, then the survivors nobody has explained."""
    verdicts = s["verdicts"]
    by_file: dict = {}
    for name, verdict in verdicts.items():
        row = by_file.setdefault(name.split(".")[1] + ".py", dict.fromkeys(_COLUMNS, 0))
        row[verdict] += 1
    total_row = {c: sum(r[c] for r in by_file.values()) for c in _COLUMNS}
    stale = f" ({s['fresh_stale']} more left out: their function changed since)" if s["fresh_stale"] else ""
    files = ", ".join(f"{f}{'' if f.is_file() else ' (no such file)'}" for f in s["fresh_files"])
    print(f"\nfresh-process verdicts: {s['fresh']} in {files}{stale}; "
          f"equivalents: {s['equivalents_file']}")
    head = ["file", "mutants", "killed", "fresh", "differential", "wide", "equivalent", "survived", "not checked"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for file, row in sorted(by_file.items()) + [("all", total_row)]:
        print("| " + " | ".join([file, f"{sum(row.values()):,}"] + [f"{row[c]:,}" for c in _COLUMNS]) + " |")
    checked = sum(total_row.values()) - total_row["not checked"]
    killed = sum(v for c, v in total_row.items() if c.startswith("killed"))
    if checked:
        killable = checked - total_row["equivalent"]
        print(f"score: {killed:,}/{checked:,} killed = {100 * killed / checked:.1f}% "
              f"(equivalents counted as survivors); {killed:,}/{killable:,} = "
              f"{100 * killed / max(killable, 1):.1f}% of the mutants that can be killed; "
              f"{total_row['survived']:,} survivors not explained")
    for name in s["stale"]:
        print(f"stale equivalent (killed now; remove its line): {name}")
    for name in s["unknown"]:
        print(f"equivalent not in this run (renumbered or gone?): {name}")
    for name in s["changed"]:
        print(f"equivalent judged on code changed since (counted as a survivor; re-check, then "
              f"--stamp-equivalents): {name}")
    if s["unstamped"]:
        print(f"equivalents of {len(s['unstamped'])} functions have no `# hash` line (counted; "
              f"--stamp-equivalents records the code they were judged on): " + ", ".join(s["unstamped"]))
    open_ = [n for n, v in verdicts.items() if v == "survived"]
    per_function: dict = {}
    for name in open_:
        per_function[name.rsplit("__mutmut_", 1)[0]] = per_function.get(name.rsplit("__mutmut_", 1)[0], 0) + 1
    if per_function:
        print("survivors not explained, by function: " + ", ".join(
            f"{f.removeprefix('medpolicy.')} {k}" for f, k in sorted(per_function.items(), key=lambda x: -x[1])))
    for name in open_:
        print("survived:", name)
        if diffs:
            print(subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=target,
                                 capture_output=True, text=True).stdout)


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
    ap.add_argument("--fresh", type=Path, nargs="+",
                    help="fresh-process verdicts (scripts/mutation_fresh.py --json), a later file's replacing an "
                         "earlier's; default STAGE.fresh.json")
    ap.add_argument("--equivalents", type=Path, default=EQUIVALENTS,
                    help="the equivalent mutants, NAME<TAB>reason a line (default scripts/mutation_equivalents.txt)")
    ap.add_argument("--stamp-equivalents", action="store_true",
                    help="record in the equivalents file the stage's hash of each function with equivalents "
                         "(after checking them against the code as it is now), then report")
    ap.add_argument("--update", action="store_true",
                    help="bring the stage up to the repo keeping its results; re-test changed functions and every survivor")
    args = ap.parse_args(argv)
    if args.stamp_equivalents:
        print(f"stamped {stamp_equivalents(args.equivalents, args.stage)} functions in {args.equivalents}")
    elif args.update:
        update(args.stage)
        # Mutants of changed functions and new ones (mutmut resets them), and any never reached.
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children],
                       cwd=args.stage, env={**os.environ, **ENV})
        again = [n for n, status in _statuses(args.stage) if status in _NOT_KILLED]
        print(f"re-running {len(again)} mutants not killed against the current tests", flush=True)
        _run_named(args.stage, again, args.max_children)
    elif args.wide:
        wide(args.stage, args.max_children)
    elif args.sample:
        mutate = stage(args.stage, args.files)
        print("mutating:", " ".join(mutate), flush=True)
        # A first run on a handful of mutants generates them all and maps tests to functions.
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children,
                        "medpolicy.money.*__mutmut_1"], cwd=args.stage, env={**os.environ, **ENV})
        names = sample(all_mutants(args.stage), args.sample, args.seed)
        print(f"running a sample of {len(names)} mutants", flush=True)
        _run_named(args.stage, names, args.max_children)
    elif not args.report_only:
        mutate = stage(args.stage, args.files)
        print("mutating:", " ".join(mutate), flush=True)
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", args.max_children],
                       cwd=args.stage, env={**os.environ, **ENV})
    fresh = args.fresh or [args.stage.with_name(args.stage.name + ".fresh.json")]
    print_report(score(args.stage, fresh, args.equivalents), args.stage, args.diffs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

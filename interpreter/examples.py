"""Worked examples beside a policy (`policies/CITY.test.toml`), run by `med test` and pytest.

Each example's claims are settled as one run; each expected field is compared to the fen.
The format is in docs/worked-examples.md. A test file that is not TOML, not UTF-8 or not of
that shape is one `TestFileError` at its line; a test file may name only a policy beside it
or in a folder under it.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import attrs

from . import files
from .errors import MedError
from .policy import Policy, load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with tomli, the same parser
    import tomli as tomllib


@attrs.frozen
class Mismatch:
    claim: str
    field: str
    expected: Any
    actual: Any
    clause: Optional[str] = None  # `city.med:33 第二十一条（一）3`: the clause behind the amount


@attrs.frozen
class Outcome:
    file: str
    name: str
    cite: Optional[str]
    mismatches: tuple[Mismatch, ...]
    error: Optional[str] = None
    line: Optional[int] = None  # the example's `[[example]]` line

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


class TestFileError(Exception):
    """A test file that cannot be used: bad TOML or UTF-8, the wrong shape, a policy outside."""

    __test__ = False  # not a pytest class

    def __init__(self, file: str, line: int, message: str, column: Optional[int] = None):
        self.file, self.line, self.column, self.message = file, line, column, message
        super().__init__(f"{file}:{line}:{column}: {message}" if column else f"{file}:{line}: {message}")


@attrs.frozen
class TestFile:
    """A test file read and checked: its data, and the line of each `[[example]]`."""

    __test__ = False

    path: Path
    data: dict
    example_lines: tuple[int, ...]

    def policy(self) -> Path:
        return policy_for(self.path, self)

    def policies(self) -> list[Path]:
        """Every policy the examples apply to: `policies = ["suihua.med", "suihua.zh.med"]`
        (one regulation encoded twice, in English and in Chinese keywords), else the one."""
        return policies_for(self.path, self)


EXAMPLE_KEYS = {"name": str, "cite": str, "note": str, "params": dict, "claim": list, "expect": list,
                "members": list}  # members: member records the claims are settled against (docs/accounts.md)
TOP_KEYS = {"policy": str, "policies": list, "params": dict, "example": list, "unexercised": list}  # coverage.py reads the last
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def read_test_file(path: Path) -> TestFile:
    """Read and check a test file; `files.UnreadableFile` if it cannot be read at all."""
    name = str(path)
    try:
        text = files.read_text(path)
    except MedError as e:  # a byte that is not UTF-8, at its line and column
        raise TestFileError(name, e.line, e.message, e.column) from None
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))  # (a byte-order mark, as Windows editors write, as .med files allow)
    except tomllib.TOMLDecodeError as e:
        where = _TOML_POSITION.search(str(e))
        message = _TOML_POSITION.sub("", str(e))
        line, column = (int(where[1]), int(where[2])) if where else (1, None)
        raise TestFileError(name, line, f"not TOML: {message}", column) from None
    except RecursionError:
        raise TestFileError(name, 1, "not TOML this reader can take: nested too deeply") from None
    lines = tuple(n for n, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*example\s*\]\]", line))
    test = TestFile(path, data, lines)
    _check_shape(test, text)
    return test


def _check_shape(test: TestFile, text: str) -> None:
    name = str(test.path)
    _check_keys(test.data, TOP_KEYS, name, 1, "the file")
    examples = test.data.get("example", [])
    for i, ex in enumerate(examples):
        line = test.example_lines[i] if i < len(test.example_lines) else 1
        if not isinstance(ex, dict):
            raise TestFileError(name, line, "each example must be a table: write [[example]]")
        _check_keys(ex, EXAMPLE_KEYS, name, line, f"example {ex.get('name', i + 1)!r}")
        for part in ("claim", "expect"):
            if not all(isinstance(c, dict) for c in ex.get(part, [])):
                raise TestFileError(name, line, f"each {part} must be a table: write [[example.{part}]]")
        if not ex.get("expect"):
            raise TestFileError(name, line, "the example has no [[example.expect]]: it would check nothing")
        for exp in ex["expect"]:
            if not isinstance(exp.get("id"), str):
                raise TestFileError(name, line, "each [[example.expect]] names its claim: id = \"...\"")
    policy_for(test.path, test, text)


def _check_keys(table: Any, kinds: dict, file: str, line: int, what: str) -> None:
    if not isinstance(table, dict):
        raise TestFileError(file, line, f"{what} must be a table")
    for key, value in table.items():
        if key not in kinds:
            close = difflib.get_close_matches(key, list(kinds), n=1)
            hint = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(kinds)}"
            raise TestFileError(file, line, f"{what} has an unknown key {key!r} ({hint})")
        if not isinstance(value, kinds[key]):
            wanted = {str: "a string", dict: "a table", list: "an array of tables"}[kinds[key]]
            raise TestFileError(file, line, f"{what}: {key} must be {wanted}, not {type(value).__name__}")


def policy_for(test_file: Path, test: Optional[TestFile] = None, text: Optional[str] = None) -> Path:
    """`suihua.test.toml` tests `suihua.med` beside it, unless the file names another `.med`
    beside it or in a folder under it. Anything else is refused before it is opened."""
    data = test.data if test is not None else read_test_file(test_file).data
    name = data.get("policy")
    if name is None:
        return test_file.parent / test_file.name.replace(".test.toml", ".med")
    folder = test_file.parent.resolve()
    target = (folder / name).resolve()
    if not name.endswith(".med") or Path(name).is_absolute() or not target.is_relative_to(folder):
        line = _line_of(text, r"\s*policy\s*=") if text else 1
        raise TestFileError(str(test_file), line, "policy must name a .med file beside the test file or in a "
                                                  "folder under it")
    return folder / name


def policies_for(test_file: Path, test: Optional[TestFile] = None) -> list[Path]:
    """The policies a test file's examples apply to: those its `policies` names (each beside
    it or in a folder under it), else `policy_for`'s one."""
    test = test if test is not None else read_test_file(test_file)
    names = test.data.get("policies")
    if names is None:
        return [policy_for(test_file, test)]
    if not names or not all(isinstance(n, str) for n in names):
        raise TestFileError(str(test_file), 1, "policies must be a list of .med file names")
    return [policy_for(test_file, attrs.evolve(test, data={**test.data, "policy": n})) for n in names]


def _line_of(text: str, pattern: str) -> int:
    return next((n for n, line in enumerate(text.splitlines(), 1) if re.match(pattern, line)), 1)


def discover(paths: list[str]) -> list[Path]:
    """Test files under the given files or folders (default: policies/)."""
    out: list[Path] = []
    for p in map(Path, paths or ["policies"]):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.test.toml")))
        elif p.suffix == ".med":
            t = p.with_name(p.name[:-4] + ".test.toml")
            if not t.exists():
                t = _naming(p) or t  # suihua.zh.med: the suihua.test.toml that names it
            if t.exists() or not _readable(p):
                out.append(t if t.exists() else p)  # an unreadable policy is reported as such
        else:
            out.append(p)
    return out


def _naming(policy: Path) -> Optional[Path]:
    """The test file beside a policy that lists it under `policies` (`CITY.test.toml` for `CITY.zh.med`)."""
    t = policy.with_name(policy.name.split(".")[0] + ".test.toml")
    try:
        return t if t.exists() and policy.name in (read_test_file(t).data.get("policies") or ()) else None
    except (TestFileError, files.UnreadableFile):
        return None


def _readable(path: Path) -> bool:
    try:
        files.check_readable(path)
    except files.UnreadableFile:
        return False
    return True


def load_examples(test_file: Path) -> Optional[tuple[Policy, dict]]:
    """The policy a test file tests and the file's data; None if either cannot be read."""
    try:
        test = read_test_file(test_file)
        return load(test.policy()), test.data
    except (files.UnreadableFile, TestFileError, MedError):
        return None


def run_file(test_file: Path, policy: Optional[Policy] = None) -> Iterator[Outcome]:
    """Every example's outcome. A test file that cannot be used is one failed outcome at its
    line; one that cannot be read at all raises `files.UnreadableFile`."""
    if test_file.name.endswith(".members.test.toml"):  # member examples: members/examples.py
        from .members.examples import run_file as run_members
        yield from run_members(test_file, policy)
        return
    try:
        test = read_test_file(test_file)
        paths = [None] if policy is not None else test.policies()
    except TestFileError as e:
        yield Outcome(str(test_file), "(test file)", None, (), str(e))  # file:line:col: message
        return
    for path in paths:
        try:
            applied = policy if path is None else load(path)
        except MedError as e:
            yield Outcome(str(test_file), "(policy)", None, (), f"the policy does not compile: {e}", 1)
            continue
        # With several policies, each outcome says which one it settled on.
        suffix = f" [{path.name}]" if len(paths) > 1 else ""
        shared = test.data.get("params", {})
        for i, ex in enumerate(test.data.get("example", [])):
            line = test.example_lines[i] if i < len(test.example_lines) else None
            outcome = run_example(str(test_file), ex, applied, shared)
            yield attrs.evolve(outcome, name=outcome.name + suffix, line=line)


def run_example(file: str, ex: dict, policy: Policy, shared_params: Optional[dict] = None) -> Outcome:
    """Settle one example's claims as a run; its `params` add to (and override) the file's."""
    name = ex.get("name", "?")
    params = {**(shared_params or {}), **ex.get("params", {})}
    try:
        results = policy.settle_all(ex.get("claim", []), params=params, members=ex.get("members"))
    except MedError as e:
        return Outcome(file, name, ex.get("cite"), (), e.message)
    by_id = {}
    for claim, r in zip(ex.get("claim", []), results):
        by_id[claim.get("id")] = r.to_json(trace=True)
    mismatches = []
    for exp in ex.get("expect", []):
        cid = exp.get("id")
        actual = by_id.get(cid)
        if actual is None:
            mismatches.append(Mismatch(cid, "id", cid, "no such claim"))
        elif "error" in actual and "error" not in exp:
            # The claim was not settled: its error, once, instead of `None` for every field.
            e = actual["error"]
            mismatches.append(Mismatch(cid, "result", "a settlement", f"{e['code']}: {e['message']}"
                                       + (f" (field {e['field']})" if e.get("field") else "")))
        else:
            mismatches.extend(_compare(cid, exp, actual, "", _clauses(actual, policy)))
    return Outcome(file, name, ex.get("cite"), tuple(mismatches))


def _clauses(actual: dict, policy: Policy) -> dict:
    """Each traced step's clause, `city.med:33 第二十一条（一）3`, by the field it produced."""
    out = {}
    for step in actual.get("trace", ()):
        if "line" in step:
            out[step["step"]] = f"{Path(policy.compiled.file).name}:{step['line']}" + \
                (f" {step['cite']}" if step.get("cite") else "")
    return out


def _compare(cid: str, expected: dict, actual: dict, prefix: str, clauses: dict) -> list[Mismatch]:
    out = []
    for key, want in expected.items():
        if key == "id" and not prefix:
            continue
        got = actual.get(key) if isinstance(actual, dict) else None
        path = f"{prefix}{key}"
        if isinstance(want, dict):
            out.extend(_compare(cid, want, got or {}, path + ".", clauses))
        elif _norm(want) != _norm(got):
            out.append(Mismatch(cid, path, want, got, clauses.get(key)))
    return out


def _norm(v: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = str(v)
    if isinstance(v, str):
        try:
            return Decimal(v).quantize(Decimal("0.01"))
        except InvalidOperation:
            return v
    return v

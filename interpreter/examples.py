"""Worked examples beside a policy (`policies/CITY.test.toml`), run by `med test` and pytest.

Each example's claims are settled as one run; each expected field is compared to the fen.
The format is in docs/worked-examples.md.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Iterator, Optional

import attrs

from .errors import MedError
from .policy import Policy, load


@attrs.frozen
class Mismatch:
    claim: str
    field: str
    expected: Any
    actual: Any


@attrs.frozen
class Outcome:
    file: str
    name: str
    cite: Optional[str]
    mismatches: tuple[Mismatch, ...]
    error: Optional[str] = None

    @property
    def passed(self) -> bool:
        return not self.mismatches and self.error is None


def policy_for(test_file: Path) -> Path:
    """`suihua.test.toml` tests `suihua.med` beside it, unless the file names another."""
    data = tomllib.loads(test_file.read_text(encoding="utf-8"))
    name = data.get("policy") or test_file.name.replace(".test.toml", ".med")
    return test_file.parent / name


def discover(paths: list[str]) -> list[Path]:
    """Test files under the given files or folders (default: policies/)."""
    out: list[Path] = []
    for p in map(Path, paths or ["policies"]):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.test.toml")))
        elif p.suffix == ".med":
            t = p.with_name(p.name[:-4] + ".test.toml")
            if t.exists():
                out.append(t)
        else:
            out.append(p)
    return out


def load_examples(test_file: Path) -> Optional[tuple[Policy, dict]]:
    """The policy a test file tests and the file's data; None if either cannot be read."""
    try:
        data = tomllib.loads(test_file.read_text(encoding="utf-8"))
        return load(policy_for(test_file)), data
    except (OSError, ValueError, MedError):
        return None


def run_file(test_file: Path, policy: Optional[Policy] = None) -> Iterator[Outcome]:
    data = tomllib.loads(test_file.read_text(encoding="utf-8"))
    if policy is None:
        try:
            policy = load(policy_for(test_file))
        except MedError as e:
            yield Outcome(str(test_file), "(policy)", None, (), f"the policy does not compile: {e}")
            return
    shared = data.get("params", {})
    for ex in data.get("example", []):
        yield run_example(str(test_file), ex, policy, shared)


def run_example(file: str, ex: dict, policy: Policy, shared_params: Optional[dict] = None) -> Outcome:
    """Settle one example's claims as a run; its `params` add to (and override) the file's."""
    name = ex.get("name", "?")
    params = {**(shared_params or {}), **ex.get("params", {})}
    try:
        results = policy.settle_all(ex.get("claim", []), params=params)
    except MedError as e:
        return Outcome(file, name, ex.get("cite"), (), str(e))
    by_id = {}
    for claim, r in zip(ex.get("claim", []), results):
        by_id[claim.get("id")] = r.to_json(trace=False)
    mismatches = []
    for exp in ex.get("expect", []):
        cid = exp.get("id")
        actual = by_id.get(cid)
        if actual is None:
            mismatches.append(Mismatch(cid, "id", cid, "no such claim"))
            continue
        mismatches.extend(_compare(cid, exp, actual, ""))
    return Outcome(file, name, ex.get("cite"), tuple(mismatches))


def _compare(cid: str, expected: dict, actual: dict, prefix: str) -> list[Mismatch]:
    out = []
    for key, want in expected.items():
        if key == "id" and not prefix:
            continue
        got = actual.get(key) if isinstance(actual, dict) else None
        path = f"{prefix}{key}"
        if isinstance(want, dict):
            out.extend(_compare(cid, want, got or {}, path + "."))
        elif _norm(want) != _norm(got):
            out.append(Mismatch(cid, path, want, got))
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

"""Worked member examples (`policies/CITY.members.test.toml`), run by `med test` and pytest.

Each example is one member record, the month to compute to (`until`, optionally `as_of`)
and the expected month rows: every field written is compared (money to the fen, nested
tables field by field); fields not written are not checked. The format is in docs/members.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Iterator, Optional

from ..errors import MedError
from .records import MemberError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def policy_of(test_file: Path) -> Path:
    return test_file.parent / test_file.name.replace(".members.test.toml", ".med")


def run_file(test_file: Path, policy=None) -> Iterator:
    """Every member example's outcome (`examples.Outcome`)."""
    from .. import files
    from ..examples import Outcome
    from ..policy import load
    try:
        text = files.read_bytes(str(test_file)).decode("utf-8")
        data = tomllib.loads(text)
        if policy is None:
            policy = load(policy_of(test_file))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        yield Outcome(str(test_file), "(test file)", None, (), f"{test_file}: {e}")
        return
    except MedError as e:
        yield Outcome(str(test_file), "(policy)", None, (), f"the policy does not compile: {e}", 1)
        return
    lines = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip() == "[[example]]"]
    shared = data.get("params", {})
    for i, ex in enumerate(data.get("example", [])):
        yield run_example(str(test_file), ex, policy, shared, lines[i] if i < len(lines) else None)


def run_example(file: str, ex: dict, policy, shared: Optional[dict] = None, line: Optional[int] = None):
    """One member example: its member's months computed, each expected field compared."""
    from ..examples import Mismatch, Outcome
    name = ex.get("name", "?")
    try:
        rows = policy.member_months(ex["member"], until=dt.date.fromisoformat(ex["until"]),
                                    as_of=dt.date.fromisoformat(ex["as_of"]) if "as_of" in ex else None,
                                    params={**(shared or {}), **ex.get("params", {})})
    except (MemberError, MedError, KeyError, ValueError) as e:
        return Outcome(file, name, ex.get("cite"), (), f"{type(e).__name__}: {e}", line)
    by_month = {j["month"]: j for j in (r.to_json() for r in rows)}
    mismatches = []
    for exp in ex.get("expect", []):
        actual = by_month.get(exp.get("month"))
        if actual is None:
            mismatches.append(Mismatch(exp.get("month"), "month", exp.get("month"), "no such month"))
            continue
        mismatches.extend(_compare(exp["month"], exp, actual, ""))
    return Outcome(file, name, ex.get("cite"), tuple(mismatches), None, line)


def _compare(month: str, expected: dict, actual: Optional[dict], prefix: str) -> list:
    from ..examples import Mismatch
    out = []
    for key, want in expected.items():
        if key == "month" and not prefix:
            continue
        got = actual.get(key) if isinstance(actual, dict) else None
        if want == {} and got != {}:  # an empty table expects nothing there
            out.append(Mismatch(month, prefix + key, want, got))
        elif isinstance(want, dict):
            out.extend(_compare(month, want, got if isinstance(got, dict) else {}, f"{prefix}{key}."))
        elif _norm(want) != _norm(got):
            out.append(Mismatch(month, prefix + key, want, got))
    return out


def _norm(v):
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float, str)):
        from decimal import Decimal, InvalidOperation
        try:
            return Decimal(str(v))
        except InvalidOperation:
            return v
    return v

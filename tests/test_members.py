"""Member rules (issue 14): the worked member examples beside the policies, computed by hand
from each regulation, and the language's checks on `members` blocks."""

import datetime as dt
import functools
import sys
from pathlib import Path

import pytest

import medpolicy
from medpolicy.members.examples import policy_of, run_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MEMBER_FILES = sorted((ROOT / "policies").glob("*.members.test.toml"))


@functools.lru_cache(maxsize=None)
def _policy(test_file: Path):
    return medpolicy.load(policy_of(test_file))


@functools.lru_cache(maxsize=None)
def _examples(test_file: Path) -> dict:
    return tomllib.loads(test_file.read_text(encoding="utf-8"))


def _cases():
    for f in MEMBER_FILES:
        for i, ex in enumerate(_examples(f).get("example", [])):
            yield pytest.param(f, i, id=f"{f.name.split('.')[0]}: {ex.get('name', i)}")


@pytest.mark.parametrize("test_file, index", list(_cases()))
def test_member_example(test_file, index):
    data = _examples(test_file)
    outcome = run_example(str(test_file), data["example"][index], _policy(test_file), data.get("params", {}))
    assert outcome.error is None, outcome.error
    assert not outcome.mismatches, "\n".join(
        f"{m.claim} {m.field}: expected {m.expected}, got {m.actual}" for m in outcome.mismatches)

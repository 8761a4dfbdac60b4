"""Every worked example beside the policies (policies/*.test.toml), computed by hand from the
regulation, settles to the fen.

Each example is settled inside its own test (not while collecting), so that a mutation run
(`scripts/mutation.py`) sees which examples exercise which code."""

import functools
import sys
from pathlib import Path

import pytest

import medpolicy
from medpolicy.examples import policies_for, run_example

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# Member examples (CITY.members.test.toml) are run by tests/test_members.py.
TEST_FILES = sorted(f for f in (ROOT / "policies").glob("*.test.toml") if not f.name.endswith(".members.test.toml"))


@functools.lru_cache(maxsize=None)
def _policy(path: Path):
    return medpolicy.load(path)


_EXAMPLES: dict = {}


def _examples(test_file: Path) -> dict:
    # Plain data, read once: kept through the mutation run's per-module reset (conftest.py),
    # which empties only cached loaders (`cache_clear`), since those hold policies.
    if test_file not in _EXAMPLES:
        _EXAMPLES[test_file] = tomllib.loads(test_file.read_text(encoding="utf-8"))
    return _EXAMPLES[test_file]


def _cases():
    # A test file naming several policies (suihua.med and suihua.zh.med) checks each of them.
    for f in TEST_FILES:
        data = _examples(f)
        for path in policies_for(f):
            tag = "" if path.name == f.name.replace(".test.toml", ".med") else f" [{path.name}]"
            for i, ex in enumerate(data.get("example", [])):
                yield pytest.param(f, path, i, id=f"{f.stem.split('.')[0]}: {ex.get('name', i)}{tag}")


def test_every_policy_has_worked_examples():
    assert {f.stem.split(".")[0] for f in TEST_FILES} == {"binzhou", "shaoxing", "suihua", "suizhou", "ziyang"}


@pytest.mark.parametrize("test_file, policy, index", list(_cases()))
def test_worked_example(test_file, policy, index):
    data = _examples(test_file)
    outcome = run_example(str(test_file), data["example"][index], _policy(policy), data.get("params", {}))
    assert outcome.error is None, outcome.error
    assert not outcome.mismatches, "\n".join(
        f"{m.claim} {m.field}: expected {m.expected}, got {m.actual}" for m in outcome.mismatches)

"""Every worked example beside the policies (policies/*.test.toml), computed by hand from the
regulation, settles to the fen."""

from pathlib import Path

import pytest

from medpolicy.examples import run_file

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = sorted((ROOT / "policies").glob("*.test.toml"))


def _cases():
    for f in TEST_FILES:
        if not f.with_name(f.name.replace(".test.toml", ".med")).exists():
            continue
        for outcome in run_file(f):
            yield pytest.param(outcome, id=f"{f.stem.split('.')[0]}: {outcome.name}")


@pytest.mark.parametrize("outcome", list(_cases()))
def test_worked_example(outcome):
    assert outcome.error is None, outcome.error
    assert not outcome.mismatches, "\n".join(
        f"{m.claim} {m.field}: expected {m.expected}, got {m.actual}" for m in outcome.mismatches)

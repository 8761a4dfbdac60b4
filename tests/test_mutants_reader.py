"""The compiled claim readers are the ones that read (issue 17: survivors of
`claims.ClaimReader._compile`): a claim naming only the fields `Facts` takes is read by the
generated direct reader, one with other fields by the generated values reader; the table-driven
reader is only the fallback that words an error. A reader broken so that every claim falls back
gives the same facts, so these tests switch the fallbacks off and compare with them."""

from pathlib import Path

import pytest

import medpolicy
from medpolicy import claims

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = medpolicy.load(ROOT / "policies" / "suihua.med")

COMMON = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
          "benefit": "inpatient", "facility": {"level": "level3"},
          "items": [{"class": "A", "amount": "8000.00"}, {"class": "bed", "amount": "300.00", "days": 3}]}
# An account is not one of DIRECT_FIELDS: the claim goes through the values reader.
WITH_ACCOUNT = {**COMMON, "account": {"balance": "10.00"}}


def _plain(value):
    """Facts and items as plain data, to compare two readers' results."""
    slots = getattr(type(value), "__slots__", None)
    if slots:
        return {s: _plain(getattr(value, s)) for s in slots if s != "_key"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _reader():
    return claims.ClaimReader(SUIHUA._c.vocabulary)


def _detailed(claim):
    """The table-driven reader alone."""
    reader = _reader()
    reader._direct = lambda c: None
    return _plain(reader.read(claim))


def _no_table(self, *args):
    raise AssertionError("the table-driven reader was asked")


def _no_values(*args):
    raise AssertionError("the values reader was asked")


def test_a_common_claim_is_read_by_the_generated_direct_reader(monkeypatch):
    expected = _detailed(COMMON)
    reader = _reader()
    reader._compile()  # (compiling reads the absent fields' defaults through the table)
    monkeypatch.setattr(claims.ClaimReader, "_object", _no_table)
    monkeypatch.setattr(claims, "fast_or_none", _no_values)
    facts = reader.read(COMMON)
    assert _plain(facts) == expected
    assert [(i.cls, str(i.amount), i.days, i.kind) for i in facts.items] == [
        ("A", "8000.00", None, "normal"), ("bed", "300.00", 3, "normal")]
    assert (facts.scheme, facts.benefit, facts.level, facts.status) == ("employee", "inpatient", "level3", "employed")


def test_a_claim_with_other_fields_is_read_by_the_generated_values_reader(monkeypatch):
    expected = _detailed(WITH_ACCOUNT)
    reader = _reader()
    reader._compile()
    monkeypatch.setattr(claims.ClaimReader, "_object", _no_table)
    facts = reader.read(WITH_ACCOUNT)
    assert _plain(facts) == expected
    assert facts.account is not None and _plain(facts.account) == expected["account"]


@pytest.mark.parametrize("claim", [COMMON, WITH_ACCOUNT])
def test_the_compiled_readers_and_the_table_agree(claim):
    assert _plain(_reader().read(claim)) == _detailed(claim)

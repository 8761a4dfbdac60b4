"""The claim's field table (`claim_fields.py`) is the one description of a claim: it agrees
with the standard library's vocabulary, with the contract's field table and with the fields
documented beyond the contract, and it is plain data a schema can be generated from."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest

from medpolicy import claim_fields
from medpolicy.claim_fields import CLAIM_FIELDS, TYPES, walk
from medpolicy.parser import parse
from medpolicy.vocabulary import KINDS, build
from med_strategies import ROOT

# A copy of the team's contract (shared/docs/contract.md), so a clean clone can run this test;
# test_the_copy_of_the_contract_is_current keeps it current where the shared docs exist.
CONTRACT = ROOT / "tests" / "golden" / "contract.md"
SHARED_CONTRACT = ROOT.parent / "shared" / "docs" / "contract.md"
if not SHARED_CONTRACT.exists():
    SHARED_CONTRACT = Path("/work/shared/docs/contract.md")
from medpolicy import ast
STANDARD = build([i for i in parse((ROOT / "stdlib" / "standard.med").read_text(encoding="utf-8"), "standard.med").items
                  if isinstance(i, ast.Define)])[0]
FIELDS = dict(walk())


def _words(kind: str) -> set[str]:
    return set(STANDARD.names_of(kind))


def test_every_word_a_field_feeds_is_in_the_standard_library():
    for path, f in FIELDS.items():
        if f.kind:
            assert f.kind in KINDS and _words(f.kind), path
        for word in f.feeds:
            kind, _, name = word.partition(" ")
            assert kind in KINDS, (path, word)
            if name:
                assert name in _words(kind), (path, word)


def test_every_flag_measure_and_claim_dimension_of_the_standard_library_is_fed_by_a_field():
    fed = {w for f in FIELDS.values() for w in f.feeds}
    for kind in ("flag", "measure"):
        for name in _words(kind):
            assert f"{kind} {name}" in fed, f"no claim field gives the {kind} `{name}`"
    for kind in ("scheme", "benefit", "level", "grade", "type", "status", "place", "disease-class", "group",
                 "event", "condition", "class", "bed-kind"):
        assert kind in fed, f"no claim field selects on {kind}"


def test_fixed_values_are_the_standard_library_names():
    # A `choice` feeding a dimension: its values become that dimension's names.
    assert {f"grade-{v}" for v in FIELDS["facility.grade"].values} == _words("grade")
    assert {f"class-{v}" for v in FIELDS["disease_class"].values} == _words("disease-class")
    for path, f in FIELDS.items():
        if f.type == "name" and f.default:
            assert f.default in _words(f.kind), path


def test_the_copy_of_the_contract_is_current():
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"the shared contract is not on this machine ({SHARED_CONTRACT})")
    assert CONTRACT.read_text(encoding="utf-8") == SHARED_CONTRACT.read_text(encoding="utf-8"), \
        "copy shared/docs/contract.md to tests/golden/contract.md"


def _contract_rows() -> list[tuple[list[str], str, str]]:
    text = CONTRACT.read_text(encoding="utf-8")
    table = text[text.index("| field | required | values |"):text.index("## A result")]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3:
            rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1], "|".join(cells[2:])))
    return rows


def test_the_table_has_every_field_of_the_contract_with_its_requiredness():
    rows = _contract_rows()
    assert len(rows) >= 20
    for names, required, values in rows:
        for name in names:
            assert name in FIELDS, f"the contract's `{name}` is not in the field table"
            f = FIELDS[name]
            if required == "yes":
                assert f.required, name
            elif required == "no":
                assert not f.required, name
            else:  # "employee scheme": status, required there but with a default
                assert name == "status" and f.default == "employed"


def test_the_contract_values_are_allowed_by_the_table():
    for names, _, values in _contract_rows():
        f = FIELDS[names[0]]
        allowed = set(f.values) | (_words(f.kind) if f.kind else set())
        if f.type in ("name", "names", "choice"):
            for value in re.findall(r"(?<!for )`([a-z0-9-]+|[A-Z])`", values.split("; with")[0]):
                assert value in allowed, (names[0], value)
    items = next(v for n, _, v in _contract_rows() if n == ["items"])
    for sub in ("class", "amount", "unit_price", "days", "kind"):
        assert f"`{sub}`" in items and f"items[].{sub}" in FIELDS
    enrolment = next(v for n, _, v in _contract_rows() if n == ["enrolment"])
    for sub in re.findall(r'"([a-z_]+)":', enrolment):
        assert f"enrolment.{sub}" in FIELDS, sub


def test_every_field_outside_the_contract_is_documented_in_worked_examples():
    rows = _contract_rows()
    contract = {name for names, _, _ in rows for name in names}
    described = {names[0]: values for names, _, values in rows}  # objects whose fields the row lists
    beyond = (ROOT / "docs" / "worked-examples.md").read_text(encoding="utf-8")
    beyond = beyond[beyond.index("## Claim fields beyond the contract"):]
    documented = set(re.findall(r"^\| `([^`]+)`", beyond, re.M))
    for path in FIELDS:
        parent, _, sub = path.replace("[]", "").rpartition(".")
        if path in contract or any(c.startswith(path + ".") for c in contract) \
                or (parent in described and sub in described[parent]):
            continue
        assert path in documented, f"{path} is neither in the contract nor in docs/worked-examples.md"


def test_the_table_is_plain_data():
    for path, f in FIELDS.items():
        assert f.type in TYPES
        assert attrs.has(type(f)) and type(f).__attrs_attrs__  # introspectable field by field
        d = attrs.asdict(f, recurse=True)
        for key, value in d.items():
            assert isinstance(value, (str, bool, int, tuple, list, dict, type(None))), (path, key)
        assert f.doc, f"{path} has no description"
        if f.type == "whole":
            assert f.low is not None and f.high is not None, path
        if f.type in ("name", "names"):
            assert f.kind, path
        if f.type == "choice":
            assert f.values, path
        if f.type in ("object", "list"):
            assert f.fields, path
    assert [f.name for f in CLAIM_FIELDS][:3] == ["id", "person", "date"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        CLAIM_FIELDS[0].required = False  # type: ignore[misc]
    assert claim_fields.__doc__

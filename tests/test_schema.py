"""The JSON Schemas of a claim and a result: generated from the reader's and the builder's
tables, shipped in the package, met by every example, and rejecting exactly what the claim
reader rejects."""

import json
import subprocess
import sys
from medpolicy.tomlcompat import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from medpolicy import nhsa, schema
from medpolicy.claims import ClaimReader
from medpolicy.errors import ClaimError
from med_strategies import claim_for, hostile_claims

ROOT = Path(__file__).resolve().parent.parent
CITIES = ("suihua", "suizhou", "shaoxing", "binzhou", "ziyang")
PARAMS = {"avg_wage": "60000", "b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000",
          "aid_rate_cat3": "75%", "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"}
_CACHE: dict = {}


def params_of(policy) -> dict:
    """The example figures of the parameters the policy declares."""
    return {k: v for k, v in PARAMS.items() if k in policy.parameters}


def city(name):
    """(policy, claim validator, result validator) for a city, built once."""
    if name not in _CACHE:
        policy = medpolicy.load(ROOT / "policies" / f"{name}.med")
        vocab = policy.compiled.vocabulary
        _CACHE[name] = (policy, schema.validator("claim", vocab), schema.validator("result", vocab))
    return _CACHE[name]


def reader_accepts(policy, claim) -> bool:
    try:
        ClaimReader(policy.compiled.vocabulary).read(claim)
    except ClaimError:
        return False
    return True


def test_shipped_schemas_are_the_generated_ones():
    for kind in schema.KINDS:
        text = (ROOT / "interpreter" / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8")
        assert text == schema.dumps(schema.schema_for(kind)), f"run python -m medpolicy.schema --write ({kind})"
        assert schema.shipped(kind)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schemas_are_valid_2020_12_schemas():
    import jsonschema

    for kind in schema.KINDS:
        jsonschema.Draft202012Validator.check_schema(schema.shipped(kind))


def test_med_schema_prints_them_and_lists_the_policys_names():
    r = subprocess.run([sys.executable, "-m", "medpolicy.cli", "schema", "claim"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 0 and r.stdout == (ROOT / "interpreter" / "schemas" / "claim.schema.json").read_text(encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "medpolicy.cli", "schema", "claim", "--policy", "policies/ziyang.med"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    benefits = json.loads(r.stdout)["properties"]["benefit"]["enum"]
    assert "high-value-drug" in benefits and "high-value-drug" not in json.loads(
        (ROOT / "interpreter" / "schemas" / "claim.schema.json").read_text(encoding="utf-8"))["properties"]["benefit"]["enum"]


def test_a_misspelt_field_is_refused_by_both():
    policy, claims, _ = city("suihua")
    claim = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "stauts": "retired",
             "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "100.00"}]}
    assert not claims.is_valid(claim)
    assert [e.validator for e in claims.iter_errors(claim)] == ["additionalProperties"]
    result = policy.settle(claim).to_json()
    assert result["error"] == {"code": "unknown-field", "field": "stauts",
                               "message": "unknown field stauts (did you mean status?)"}


# ---- every example -------------------------------------------------------------------------

def _example_claims(name):
    for line in (ROOT / "examples" / f"{name}-claims.jsonl").open(encoding="utf-8"):
        if line.strip():
            yield json.loads(line, parse_float=Decimal)
    data = tomllib.loads((ROOT / "policies" / f"{name}.test.toml").read_text(encoding="utf-8"))
    for example in data.get("example", []):
        yield from example.get("claim", [])


@pytest.mark.parametrize("name", CITIES)
def test_every_example_claim_and_result_meets_the_schemas(name):
    policy, claims, results = city(name)
    examples = list(_example_claims(name))
    valid = 0
    for claim in examples:
        verdict = claims.is_valid(claim)
        assert verdict == reader_accepts(policy, claim), claim.get("id")
        valid += verdict
    assert valid >= len(examples) - 3  # a few worked examples are bad claims on purpose
    for r in policy.settle_all([c for c in examples if claims.is_valid(c)][:40], params=params_of(policy)):
        out = r.to_json()
        assert results.is_valid(out), list(results.iter_errors(out))[:1]


@pytest.mark.parametrize("name", CITIES)
def test_the_platform_examples_become_claims_and_results_that_meet_the_schemas(name):
    policy, claims, results = city(name)
    cm = nhsa.load_mapping(str(ROOT / "policies" / f"{name}.med"), policy)
    requests = [json.loads(line, parse_float=Decimal) for line in (ROOT / "examples" / "nhsa" / f"{name}.jsonl").open(encoding="utf-8")]
    for req in requests:
        try:
            claim, _ = nhsa.to_claim(req, cm)
        except ClaimError:
            continue
        assert claims.is_valid(claim), list(claims.iter_errors(claim))[:1]
    rows = nhsa.settle_requests(policy, cm, requests, params_of(policy), to_nhsa=False, trace=True)
    assert all(results.is_valid(r) for r in rows)


def test_an_error_row_meets_the_result_schema():
    _, _, results = city("suihua")
    assert results.is_valid({"id": None, "error": {"code": "bad-input", "message": "line 3: bad JSON", "field": None}})
    assert not results.is_valid({"id": "c", "error": {"code": "x"}})


# ---- exactly what the reader refuses -----------------------------------------------------------

def _misspelt(draw, claim):
    """A claim with one field's name misspelt (a letter dropped, doubled or swapped), at the top or inside."""
    target = claim
    if draw(st.booleans()) and isinstance(claim.get("facility"), dict):
        target = claim["facility"]
    keys = [k for k in target if len(k) > 2]
    if not keys:
        return claim
    key = draw(st.sampled_from(keys))
    i = draw(st.integers(0, len(key) - 2))
    wrong = draw(st.sampled_from([key[:i] + key[i + 1:], key[:i] + key[i] + key[i:], key[:i] + key[i + 1] + key[i] + key[i + 2:]]))
    target[wrong] = target.pop(key)
    return claim


@st.composite
def claims_valid_or_mutated(draw, policy):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(hostile_claims(policy))
    import datetime as dt

    lo, _ = policy.compiled.effective
    claim = draw(claim_for(policy, scheme=draw(st.sampled_from(sorted(policy.compiled.schemes))), person="p",
                           date=dt.date.fromordinal(lo) if lo else dt.date(2025, 6, 1), cid="c1"))
    return _misspelt(draw, claim) if kind == 2 else claim


@pytest.mark.parametrize("name", CITIES)
@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_claim_schema_rejects_exactly_what_the_reader_rejects(name, data):
    policy, claims, _ = city(name)
    claim = data.draw(claims_valid_or_mutated(policy))
    valid = schema.accepts(claims, claim)
    assert valid == reader_accepts(policy, claim), claim
    if not valid:  # and med run gives the claim an error row of the reader's
        error = policy.settle(claim, params=params_of(policy)).to_json()["error"]
        assert error["code"] in ("bad-claim", "missing-field", "unknown-field", "unknown-value", "bad-value",
                                 "bad-amount", "bad-date"), error

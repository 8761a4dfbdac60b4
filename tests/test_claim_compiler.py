"""The compiled claim reader (claim_compiler.py) agrees with the table-driven one: on every
claim it accepts, the same values; on every claim the detailed reader refuses, it gives up
(so the detailed reader words the error). Valid and hostile claims over every shipped policy,
and the edges of each fast check by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from med_strategies import claim_for, compiled_policies, hostile_claims

import medpolicy
from medpolicy.claim_compiler import compile_direct, fast_or_none
from medpolicy.claim_fields import CLAIM_FIELDS, Field, walk
from medpolicy.claims import ClaimReader, Item, item_of, _date
from medpolicy.errors import ClaimError

POLICIES = [p for _, p, _ in compiled_policies() if p is not None]
SUIHUA = medpolicy.load(__import__("med_strategies").ROOT / "policies" / "suihua.med")

BASE = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "employed",
        "benefit": "inpatient", "facility": {"level": "level3"},
        "items": [{"class": "A", "amount": "8000.00"}, {"class": "B", "amount": "2000.5"}]}


def plain(value):
    """Values with items as tuples, so two readings compare by content."""
    if isinstance(value, Item):
        return ("item", value.cls, value.amount, str(value.amount), value.unit_price, value.days, value.kind)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, Decimal):
        return ("decimal", str(value))  # 2000.5 and 2000.50 are different texts
    return value


def compare(reader: ClaimReader, claim) -> str:
    """'fast' when the compiled reader accepted (and agreed), 'slow' when it gave up."""
    if reader._fast is None:
        try:
            reader.read(BASE)
        except ClaimError:
            pass
    fast = fast_or_none(reader._fast, claim)
    try:
        slow = reader._object(claim, CLAIM_FIELDS, "") if isinstance(claim, dict) else ClaimError("bad-claim", "", None)
    except Exception as e:  # noqa: BLE001 - any refusal
        slow = e
    if fast is None:
        return "slow"
    assert not isinstance(slow, Exception), f"the compiled reader accepted what the detailed one refuses: {slow!r}"
    assert plain(fast) == plain(slow)
    return "fast"


def test_the_common_claim_takes_the_fast_path_and_reads_as_the_table_says():
    reader = SUIHUA._reader
    assert compare(reader, BASE) == "fast"
    facts = reader.read(BASE)
    assert (facts.person, facts.date, facts.level, [str(i.amount) for i in facts.items]) == \
        ("p1", dt.date(2026, 3, 5), "level3", ["8000.00", "2000.5"])


@pytest.mark.parametrize("change, path", [
    ({"person": "  p1 "}, "fast"), ({"person": "张三"}, "fast"), ({"person": " "}, "slow"),
    ({"id": ""}, "slow"), ({"id": "\ud83d"}, "slow"), ({"id": "编号"}, "fast"), ({"id": 7}, "slow"),
    ({"date": "2026-3-5"}, "slow"), ({"date": "2026-W10-4"}, "slow"), ({"date": "2026-02-30"}, "slow"),
    ({"status": ""}, "fast"), ({"status": None}, "fast"), ({"status": "boss"}, "slow"),
    ({"age": 150}, "fast"), ({"age": 151}, "slow"), ({"age": True}, "slow"), ({"age": "40"}, "slow"),
    ({"groups": "veteran-worker"}, "fast"), ({"groups": ["veteran-worker", "veteran-worker"]}, "fast"),
    ({"groups": [["x"]]}, "slow"), ({"groups": {"a": 1}}, "slow"), ({"conditions": []}, "fast"),
    ({"disease_class": 2}, "slow"), ({"disease_class": "2"}, "fast"), ({"contracted": 1}, "slow"),
    ({"facility": {"level": "level3", "beds": 10, "private": False}}, "fast"), ({"facility": []}, "slow"),
    ({"facility": {"level": "level3", "levle": 1}}, "slow"), ({"stauts": "x"}, "slow"),
    ({"enrolment": {"since": "2025-01-01", "late": True}}, "fast"), ({"enrolment": {"since": ""}}, "slow"),
    ({"wage": "9000"}, "fast"), ({"wage": Decimal("-1")}, "slow"), ({"items": []}, "fast"), ({"items": {}}, "slow"),
])
def test_each_fast_check_accepts_what_the_table_accepts_and_gives_up_on_the_rest(change, path):
    claim = {**BASE, **change}
    assert compare(SUIHUA._reader, claim) == path


@pytest.mark.parametrize("amount, path", [
    ("8000", "fast"), ("8000.", "fast"), ("0", "fast"), ("0.00", "fast"), ("1" * 16, "fast"), ("1" * 16 + ".25", "fast"),
    # not plain digits: the detailed check, inside the compiled reader, accepts or refuses
    ("8000.000", "fast"), (".5", "fast"), ("1e3", "fast"), ("+1", "fast"), (" 12", "fast"), (8000, "fast"),
    (Decimal("8000.10"), "fast"),
    ("0.001", "slow"), ("-1", "slow"), ("8_000", "slow"), ("８０００", "slow"), ("1" * 17, "slow"), ("1.2.3", "slow"),
    (None, "slow"), ("", "slow"), ("NaN", "slow"), (True, "slow"), (1.5, "fast"),
])
def test_an_item_amount_is_read_as_the_table_says_whichever_check_reads_it(amount, path):
    claim = {**BASE, "items": [{"class": "A", "amount": amount}]}
    assert compare(SUIHUA._reader, claim) == path


def test_a_bad_claim_keeps_its_detailed_error():
    for claim, message in [({**BASE, "date": "2026-02-30"}, "date is not a date YYYY-MM-DD: '2026-02-30'"),
                           ({**BASE, "items": [{"class": "A", "amount": "1.001"}]},
                            "items[0].amount has a part smaller than a fen (1.001)")]:
        with pytest.raises(ClaimError) as e:
            SUIHUA._reader.read(claim)
        assert e.value.message == message


def test_a_field_added_to_the_table_goes_through_the_compiled_reader(monkeypatch):
    import medpolicy.claim_compiler as cc

    extra = Field("ward", "choice", values=("east", "west"))
    fields = CLAIM_FIELDS + (extra,)
    reader = ClaimReader(SUIHUA.compiled.vocabulary)
    fast = cc.compile_reader(reader, item_of, _date, fields)
    assert fast(BASE)["ward"] is None
    assert fast({**BASE, "ward": "east"})["ward"] == "east"
    assert fast_or_none(fast, {**BASE, "ward": "north"}) is None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_valid_claims_of_every_policy_read_the_same_both_ways(data):
    compare(*valid_claim(data))


def valid_claim(data) -> tuple:
    """(a policy's reader, a valid claim for it)."""
    policy = data.draw(st.sampled_from(POLICIES))
    scheme = data.draw(st.sampled_from(sorted(policy.compiled.schemes)))
    lo, _ = policy.compiled.effective
    start = dt.date.fromordinal(lo) if lo else dt.date(2026, 1, 1)
    return policy._reader, data.draw(claim_for(policy, scheme=scheme, person="p", date=start, cid="c"))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_claims_read_the_same_both_ways(data):
    policy = data.draw(st.sampled_from(POLICIES))
    compare(policy._reader, data.draw(hostile_claims(policy)))


def test_every_field_of_the_table_is_read_by_the_compiled_reader():
    SUIHUA._reader.read(BASE)
    values = SUIHUA._reader._fast(BASE)
    for path, f in walk():
        if "[]" in path:
            continue
        *parents, name = path.split(".")
        assert name in _at(values, parents), path
    [item] = SUIHUA._reader._fast({**BASE, "items": [{"class": "A", "amount": "1.00", "days": 2}]})["items"]
    assert (item.cls, item.amount, item.days) == ("A", Decimal("1.00"), 2)


def _at(values: dict, keys: list) -> dict:
    for k in keys:
        values = values[k]
    return values


# ---- the direct reader: the common claim straight to its facts -------------------------

def facts_plain(facts) -> dict:
    return {name: plain(getattr(facts, name)) for name in facts.__slots__ if name not in ("raw", "_key")}


def compare_facts(reader: ClaimReader, claim) -> str:
    """'direct' when the compiled readers gave facts (equal to the detailed reader's), 'error'
    when both refused with the same error, 'slow' when the compiled readers gave up."""
    reader.read(BASE)
    try:
        direct = reader._direct(claim)
    except ClaimError as e:
        direct = e
    try:
        if not isinstance(claim, dict):
            raise ClaimError("bad-claim", "", None)
        slow = reader._facts(claim, reader._object(claim, CLAIM_FIELDS, ""))
    except Exception as e:  # noqa: BLE001 - any refusal
        slow = e
    if direct is None:
        return "slow"
    if isinstance(direct, ClaimError):
        assert isinstance(slow, ClaimError) and (slow.field, slow.message) == (direct.field, direct.message)
        return "error"
    assert not isinstance(slow, Exception), f"the compiled readers accepted what the detailed one refuses: {slow!r}"
    assert facts_plain(direct) == facts_plain(slow)
    assert direct.raw is claim
    return "direct"


@pytest.mark.parametrize("change, path", [
    ({}, "direct"), ({"status": ""}, "direct"), ({"place": "remote-referred", "area": "in-province"}, "direct"),
    ({"place": "local", "area": "in-province"}, "error"), ({"groups": ["veteran-worker"]}, "direct"),
    ({"conditions": []}, "direct"), ({"region_code": "231200"}, "direct"), ({"region_code": ""}, "slow"),
    ({"age": 40}, "direct"), ({"birth_date": "1950-01-01", "age": 3}, "error"),
    ({"facility": {"level": "level3", "beds": 10}}, "direct"), ({"facility": {"level": "level3", "type": ""}}, "direct"),
    ({"facility": {"level": "level9"}}, "slow"), ({"items": []}, "direct"), ({"items": {}}, "slow"),
    ({"items": [{"class": "A", "amount": "1.00", "days": 2}]}, "direct"), ({"items": [{"class": "A"}]}, "slow"),
    ({"items": [{"class": "A", "amuont": "1"}]}, "slow"), ({"status": None}, "direct"), ({"stauts": "x"}, "slow"),
    ({"account": {"owner": "p2"}}, "error"), ({"account": {"balance": "10.00"}}, "direct"),
])
def test_the_direct_reader_gives_the_detailed_readers_facts(change, path):
    assert compare_facts(SUIHUA._reader, {**BASE, **change}) == path


def test_only_a_claim_naming_direct_fields_skips_the_values():
    from medpolicy import claims

    reader = SUIHUA._reader
    reader.read(BASE)
    direct = compile_direct(
        reader, claims.DIRECT_FIELDS, claims.UNREAD_FIELDS, claims.facts_of, claims.Item,
        frozenset({"standard-enrolment"}), lambda claim: "values", _date)
    assert direct(BASE).items[0].amount == Decimal("8000.00")
    assert direct({**BASE, "region_code": "231200", "groups": ["veteran-worker"]}).groups == {"veteran-worker"}
    for change in ({"age": 40}, {"facility": {"level": "level3", "private": True}}, {"account": {}}, {"x": 1}):
        assert direct({**BASE, **change}) == "values", change
    assert direct({**BASE, "items": [{"class": "A", "amount": "1.001"}]}) is None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_valid_claims_of_every_policy_give_the_same_facts_both_ways(data):
    compare_facts(*valid_claim(data))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_claims_give_the_same_facts_both_ways(data):
    policy = data.draw(st.sampled_from(POLICIES))
    compare_facts(policy._reader, data.draw(hostile_claims(policy)))


def test_a_vocabulary_refusing_a_default_keeps_the_detailed_error():
    """An empty policy knows no bed kind, place or status: a claim without them is refused by
    the detailed reader, and the compiled readers give up on it rather than fill the default."""
    policy = medpolicy.compile("\n")
    row = policy.settle(BASE).to_json()
    assert row["error"]["code"] != "internal", row
    with pytest.raises(ClaimError):
        policy._reader.read(BASE)
    assert policy._reader._direct(BASE) is None

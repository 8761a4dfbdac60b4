"""Hostile values inside a claim's fields: each is that claim's error row naming the field,
the message itself never raises, the row can always be written out (every format), and the
rest of the batch is settled. Lenient spellings are refused; a person is one person however
their id is normalised."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import unicodedata

import pytest

import medpolicy
from med_strategies import ROOT

POLICY_PATH = ROOT / "policies" / "suihua.med"
SUIHUA = medpolicy.load(POLICY_PATH)
GOOD = {"id": "c1", "person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired",
        "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}
HUGE = 10 ** 5000  # more digits than Python will print (4,300)


def _claim(path: tuple, value, **changes) -> dict:
    claim = copy.deepcopy(dict(GOOD, **changes))
    target = claim
    for p in path[:-1]:
        target = target.setdefault(p, {}) if isinstance(p, str) else target[p]
    target[path[-1]] = value
    return claim


NUMERIC_FIELDS = [
    (("items", 0, "amount"), "items[0].amount", {}),
    (("items", 0, "unit_price"), "items[0].unit_price", {}),
    (("items", 0, "days"), "items[0].days", {}),
    (("age",), "age", {}),
    (("wage",), "wage", {}),
    (("babies",), "babies", {"benefit": "maternity", "maternity": "delivery"}),
    (("pregnancy_months",), "pregnancy_months", {}),
    (("birth_order",), "birth_order", {}),
    (("facility", "beds"), "facility.beds", {}),
    (("disease_class",), "disease_class", {}),
    (("history", "chronic_diseases"), "history.chronic_diseases", {}),
]


@pytest.mark.parametrize("path, field, changes", NUMERIC_FIELDS, ids=[f for _, f, _ in NUMERIC_FIELDS])
def test_a_huge_int_in_any_numeric_field_is_an_error_row_and_never_loses_the_batch(path, field, changes):
    bad = _claim(path, HUGE, id="huge", **changes)
    row = SUIHUA.settle(bad).to_json()
    assert row["id"] == "huge" and row["error"]["field"] == field
    assert "a number of about 5001 digits" in row["error"]["message"]
    assert row["error"]["code"] in ("bad-amount", "bad-value", "unknown-value")
    rows = [r.to_json() for r in SUIHUA.settle_all([GOOD, bad, dict(GOOD, id="c3")])]
    assert [r["id"] for r in rows] == ["c1", "huge", "c3"]
    assert rows[1]["error"] == row["error"] and rows[2]["paid"]["basic"] == "87.00"
    json.dumps(rows, ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_a_huge_int_as_the_id_is_an_error_row():
    row = SUIHUA.settle(dict(GOOD, id=HUGE)).to_json()
    assert row == {"id": None, "error": {"code": "bad-value", "message": "id must be a string", "field": "id"}}


SURROGATE = "\ud83d"
SURROGATE_FIELDS = [
    (("id",), "id", "id is not valid Unicode: a lone surrogate U+D83D at character 2"),
    (("person",), "person", "person is not valid Unicode: a lone surrogate U+D83D at character 2"),
    (("place",), "place", "place 'x\\ud83d' is not one of: local, remote-emergency, remote-referred, "
                          "remote-resident, remote-self"),
    (("facility", "level"), "facility.level", "facility.level 'x\\ud83d' is not one of: level1, level2, level3, primary"),
    (("items", 0, "amount"), "items[0].amount", "items[0].amount must be a decimal amount, not 'x\\ud83d'"),
    (("date",), "date", "date is not a date YYYY-MM-DD: 'x\\ud83d'"),
]


@pytest.mark.parametrize("path, field, message", SURROGATE_FIELDS, ids=[f for _, f, _ in SURROGATE_FIELDS])
def test_a_lone_surrogate_in_any_string_is_an_error_row_naming_the_field(path, field, message):
    row = SUIHUA.settle(_claim(path, "x" + SURROGATE)).to_json()
    assert row["error"] == {"code": row["error"]["code"], "message": message, "field": field}
    json.dumps(row, ensure_ascii=False).encode("utf-8")  # the row can be written out


def test_a_lone_surrogate_as_a_field_name_is_an_unknown_field_row():
    row = SUIHUA.settle(dict(GOOD, **{"stat" + SURROGATE: 1})).to_json()
    assert row["error"] == {"code": "unknown-field", "field": "stat\\ud83d",
                            "message": "unknown field stat\\ud83d (did you mean status?)"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_lone_surrogates_never_stop_the_output_in_any_format(tmp_path, fmt):
    lines = [json.dumps(GOOD),
             json.dumps(dict(GOOD, id="a" + SURROGATE)),
             json.dumps(dict(GOOD, id="c3", person=SURROGATE)),
             json.dumps(dict(GOOD, id="c4", groups=[SURROGATE])),
             json.dumps(dict(GOOD, id="c5", **{SURROGATE: 1})),
             json.dumps(dict(GOOD, id="c6"))]
    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join(lines) + "\n", encoding="ascii")  # json.dumps wrote \ud83d escapes
    proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(POLICY_PATH), str(claims),
                           "--no-trace", "--format", fmt], capture_output=True, timeout=60)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    assert "Traceback" not in err and proc.returncode == 1, err
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
        assert [r["id"] for r in rows] == ["c1", "a\\ud83d", "c3", "c4", "c5", "c6"]
        assert [r["error"]["field"] for r in rows[1:5]] == ["id", "person", "groups[0]", "\\ud83d"]
        return
    for text in ("c1", "a\\ud83d", "c3", "c4", "c5", "c6", "person is not valid Unicode", "groups[0]"):
        assert text in out, (fmt, text, out)


@pytest.mark.parametrize("amount", ["８０００", "٨٠٠٠", "8_000", "８０００.00"])
def test_amounts_are_written_with_ascii_digits_only(amount):
    row = SUIHUA.settle(_claim(("items", 0, "amount"), amount)).to_json()
    assert row["error"] == {"code": "bad-amount", "field": "items[0].amount",
                            "message": f"items[0].amount must be written with the digits 0-9 (and a point), "
                                       f"not {amount!r}"}
    wage = SUIHUA.settle(dict(GOOD, wage=amount)).to_json()
    assert wage["error"]["field"] == "wage" and "digits 0-9" in wage["error"]["message"]


@pytest.mark.parametrize("age", ["７０", "٧٠", "7_0"])
def test_whole_numbers_are_written_with_ascii_digits_only(age):
    row = SUIHUA.settle(dict(GOOD, age=age)).to_json()
    assert row["error"] == {"code": "bad-value", "field": "age",
                            "message": f"age must be a whole number from 0 to 150, not {age!r}"}


@pytest.mark.parametrize("date", ["2026-W10-4", "20260305", "2026-3-5", "２０２６-03-05", "2026-065"])
def test_dates_are_yyyy_mm_dd_only(date):
    row = SUIHUA.settle(dict(GOOD, date=date)).to_json()
    assert row["error"] == {"code": "bad-date", "field": "date",
                            "message": f"date is not a date YYYY-MM-DD: {date!r}"}


def test_a_person_is_one_person_across_unicode_forms_and_surrounding_spaces():
    composed = "Zoë"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    run = SUIHUA.run()
    rows = [run.settle(dict(GOOD, id=f"c{i}", person=p)).to_json()
            for i, p in enumerate([composed, decomposed + " ", "\t" + composed])]
    assert [r["person"] for r in rows] == [composed] * 3
    assert run.persons == 1
    # 第二十一条（一）3: the level-3 deductible is charged on each stay; the year is shared, so
    # the same claims under one spelling give the same rows.
    same = SUIHUA.run()
    assert [same.settle(dict(GOOD, id=f"c{i}", person=composed)).to_json() for i in range(3)] == rows


def test_a_person_of_only_spaces_is_refused():
    row = SUIHUA.settle(dict(GOOD, person="  ")).to_json()
    assert row["error"] == {"code": "bad-value", "field": "person", "message": "person must be a non-empty string"}

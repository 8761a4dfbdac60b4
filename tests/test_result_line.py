"""`med run` writes JSON lines straight from the engine's result (result_line.py): the same
text, byte for byte, as the contract's dict (`Result.to_json`) through the JSON encoder."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

import medpolicy
from medpolicy.money import Exact
from medpolicy.policy import to_json
from medpolicy.result_line import json_line

if True:  # the same reader as tests/test_examples.py
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
ENCODE = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
TEST_FILES = sorted(f for f in (ROOT / "policies").glob("*.test.toml") if not f.name.endswith(".members.test.toml"))


def _line(result, trace: bool, memo=None) -> str:
    return json_line(result.data, result.trace if trace else None, to_json, memo)


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda f: f.name)
def test_every_worked_example_is_written_as_the_encoder_writes_it(test_file):
    data = tomllib.loads(test_file.read_text(encoding="utf-8"))
    policy = medpolicy.load(ROOT / "policies" / data.get("policy", test_file.name.replace(".test.toml", ".med")))
    shared = data.get("params", {})
    lines = 0
    memo: dict = {}  # one writer's: each step's fixed parts written once, then reused
    for ex in data["example"]:
        results = policy.settle_all(ex.get("claim", []), params={**shared, **ex.get("params", {})},
                                    members=ex.get("members"))
        for r in results:
            for trace in (False, True):
                assert _line(r, trace) == _line(r, trace, memo) == ENCODE(r.to_json(trace=trace))
                lines += 1
    assert lines >= 20


def test_an_error_row_an_exact_amount_and_escapes():
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    bad = policy.settle({"id": "x\"1", "person": "p"})
    assert _line(bad, True) == ENCODE(bad.to_json())
    assert json.loads(_line(bad, True))["error"]["code"] == "missing-field"
    claim = {"id": "引号\"\\\n", "person": "张三", "date": "2026-03-05", "scheme": "employee", "status": "employed",
             "benefit": "inpatient", "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}
    r = policy.settle(claim)
    r.data["patient"] = Exact(1, 3)  # a non-terminating amount: shown rounded to the fen
    r.data["paid"]["major"] = Decimal("0.005")
    line = _line(r, True)
    assert line == ENCODE(r.to_json())
    assert '"id": "引号\\"\\\\\\n", "person": "张三", ' in line
    assert '"patient": "0.33"' in line and '"major": "0.01"' in line


def test_each_shape_and_each_steps_text_are_made_once_per_writer_and_hold_for_any_values():
    """One writer's memo: a result of another shape (other funds, a field fewer), a step whose
    note is not a string, and the values changed under a shape already seen."""
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    claim = {"id": "c1", "person": "p", "date": "2026-03-05", "scheme": "resident", "benefit": "inpatient",
             "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "50000.00"}]}
    memo: dict = {}
    first = policy.settle(claim)
    assert _line(first, True, memo) == ENCODE(first.to_json())
    again = policy.settle({**claim, "id": "c2", "items": [{"class": "A", "amount": "123.45"}]})
    again.data["id"], again.data["year"] = 7.5, True  # not a string, not an int: the encoder's own text
    again.data["paid"] = {"major": Decimal("1.005"), "basic": Exact(2, 3)}
    del again.data["account"]
    again.trace.append(("rate", None, 3, "", ["a", 1]))
    for r in (again, first, again):
        assert _line(r, True, memo) == _line(r, True) == ENCODE(r.to_json()), r.data
        assert _line(r, False, memo) == ENCODE(r.to_json(trace=False))
    assert sum(1 for k in memo if len(k) == 2) == 2  # two shapes


def test_a_field_outside_the_table_is_named_as_to_json_names_it():
    policy = medpolicy.load(ROOT / "policies" / "suihua.med")
    r = policy.settle({"id": "c1", "person": "p", "date": "2026-03-05", "scheme": "resident", "benefit": "inpatient",
                       "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1.00"}]})
    r.data["bonus"] = Decimal(1)
    with pytest.raises(KeyError, match="bonus"):
        _line(r, False, {})


def test_the_generated_writers_hold_only_the_result_tables_names():
    """No value from a policy or a result is written into a shape's generated source (its funds'
    names are passed in): every string literal is a field of the result table or a fixed piece."""
    import ast as pyast

    from medpolicy.result_fields import RESULT_FIELDS

    policy = medpolicy.load(ROOT / "policies" / "ziyang.med")
    memo: dict = {}
    for claim in (policy.settle({"id": "c", "person": "p", "date": "2025-03-05", "scheme": s, "benefit": "inpatient",
                                 "status": "employed", "facility": {"level": "level3"},
                                 "items": [{"class": "A", "amount": "1.00"}]}, params={"avg_wage": "60000"})
                  for s in ("employee", "resident")):
        _line(claim, True, memo)
    sources = [w.source for k, w in memo.items() if len(k) == 2 and w]
    assert sources
    literals = {n.value for src in sources for n in pyast.walk(pyast.parse(src))
                if isinstance(n, pyast.Constant) and isinstance(n.value, str)}
    assert literals <= {f.name for f in RESULT_FIELDS} | {'"0.00"', '"', "{", "}", ""}, literals

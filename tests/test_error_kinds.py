"""`med run`'s last words on the claims it could not settle: how many of each kind (error code and
field), most first, and the first of each in input order, whichever engine or job settled it."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from medpolicy.arrow import claims_table
from medpolicy.cli import main
from medpolicy.error_kinds import ErrorKinds

ROOT = Path(__file__).resolve().parent.parent
ERROR = pa.struct([("code", pa.string()), ("message", pa.string()), ("field", pa.string())])


def _error(code, field, message):
    return {"code": code, "message": message, "field": field}


def test_kinds_are_ranked_by_claims_and_each_keeps_its_first_in_input_order():
    kinds = ErrorKinds()
    kinds.add(7, _error("bad-date", "date", "late one"), "c7")
    kinds.add(2, _error("bad-date", "date", "early one"), "c2")  # (settled later, but earlier in the file)
    kinds.add(3, None, "c3")  # settled
    kinds.add(4, _error("bad-input", None, "line 5: bad JSON"), None)
    kinds.add(5, _error("unknown-value", "scheme", "scheme 'x'"), "c5")
    kinds.add(6, _error("unknown-value", "scheme", "scheme 'y'"), "c6")
    kinds.add(8, _error("bad-value", "age", "age"), "c8")
    kinds.add(9, _error("bad-value", "wage", "wage"), "c9")
    kinds.add(10, _error("unknown-field", "items[2].ward", "unknown field items[2].ward"), "c10")
    kinds.add(11, _error("unknown-field", "items[0].ward", "unknown field items[0].ward"), "c11")
    assert kinds.lines() == [
        "med:   2 bad-date (date), first claim c2: early one",
        "med:   2 unknown-value (scheme), first claim c5: scheme 'x'",  # (a tie: the kind seen first in the file)
        "med:   2 unknown-field (items[].ward), first claim c10: unknown field items[2].ward",  # (any item's)
        "med:   and 3 more, for 3 other reasons"]


def test_rows_of_a_columnar_run_are_counted_window_by_window_in_columns():
    window = pa.table({"id": ["a", "b", "c", None],
                       "error": pa.array([None, _error("bad-date", "date", "b's"), _error("bad-input", None, "line 4"),
                                          _error("bad-date", "date", "d's")], ERROR)})
    kinds = ErrorKinds()
    kinds.add_rows(window)
    kinds.add_rows(window.slice(0, 2))  # (the next window: its rows come after the first's)
    assert kinds.kinds == {("bad-date", "date"): [3, 1, "b", "b's"], ("bad-input", None): [1, 2, "c", "line 4"]}
    kinds.add_rows(pa.table({"id": ["e", "f"], "error": pa.array(
        [None, _error("unknown-field", "items[12].ward", "w")], ERROR)}))  # (positions 6, 7)
    assert kinds.lines() == ["med:   3 bad-date (date), first claim b: b's", "med:   1 bad-input, first claim c: line 4",
                             "med:   1 unknown-field (items[].ward), first claim f: w"]
    assert kinds.kinds[("unknown-field", "items[].ward")][1] == 7
    # a long message (an unknown field's lists every field of a claim) is cut in the last words
    kinds = ErrorKinds()
    message = "unknown field hospital (the fields here are: " + "x, " * 80 + ")"
    kinds.add(0, _error("unknown-field", "hospital", message), "c")
    head = "med:   1 unknown-field (hospital), first claim c: "
    shown = kinds.lines()[0].removeprefix(head)
    assert len(shown) == 160 and shown[:-1] == message[:159] and shown[-1] == "…"


def test_med_run_says_why_the_same_on_either_engine_and_any_number_of_jobs(tmp_path, capsys):
    # Ziyang's claims without the average wage they need: each is refused while it settles, persons
    # in sorted order; the first in the file is named, as for the dates written with slashes.
    with open(ROOT / "examples" / "ziyang-claims.jsonl", encoding="utf-8") as f:
        claims = [json.loads(line) for line in f if line.strip()][::-1]
    for c in claims[::4]:
        c["date"] = c["date"].replace("-", "/")
    src = tmp_path / "claims.jsonl"
    src.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in claims), encoding="utf-8")
    pq.write_table(claims_table(claims), tmp_path / "claims.parquet")
    said = {}
    for name, path, options in (("scalar", src, ["--jobs", "1"]), ("workers", src, ["--jobs", "2"]),
                                ("columns", src, ["--engine", "batch"]), ("parquet", tmp_path / "claims.parquet", []),
                                ("held", tmp_path / "claims.parquet", ["--engine", "scalar"])):  # (in memory)
        code = main(["run", str(ROOT / "policies" / "ziyang.med"), str(path), "--no-trace", *options,
                     "-o", str(tmp_path / f"{name}.jsonl")])
        lines = capsys.readouterr().err.splitlines()
        assert code == 1
        said[name] = [line for line in lines if line.startswith("med:   ")]
    rows = [json.loads(line) for line in (tmp_path / "scalar.jsonl").open(encoding="utf-8")]
    wage = [r["id"] for r in rows if r.get("error") and r["error"]["code"] == "missing-parameter"]
    assert len(wage) == len(claims) - len(claims[::4]) - 2  # (two of Ziyang's claims need no wage)
    assert said["scalar"] == said["workers"] == said["columns"] == said["parquet"] == said["held"] == [
        f"med:   {len(wage)} missing-parameter, first claim {wage[0]}: this claim's terms need parameter the run did "
        "not give: avg_wage (全市上年度城镇全部单位就业人员平均工资); give it with --param avg_wage=VALUE (or "
        "params={'avg_wage': ...})",
        f"med:   {len(claims[::4])} bad-date (date), first claim {claims[0]['id']}: date is not a date YYYY-MM-DD: "
        f"'{claims[0]['date']}'"]
    assert wage[0] == next(c["id"] for c in claims if "/" not in c["date"])  # the file's first, not the first settled

"""`med run` on broken input files, as a subprocess: every claim line gets exactly one output
row, in input order; a line that is not a claim is reported with its line number and skipped;
the process never ends in a traceback."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys

import pytest

from med_strategies import ROOT

POLICY = str(ROOT / "policies" / "suihua.med")
CLAIM = {"person": "p1", "date": "2026-03-05", "scheme": "employee", "status": "retired", "benefit": "inpatient",
         "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}
ITEMS_CELL = '"[{""class"":""A"",""amount"":""1000.00""}]"'
CSV_HEADER = "id,person,date,scheme,status,benefit,facility.level,items\n"


def _line(cid: str, **changes) -> bytes:
    return json.dumps(dict(CLAIM, id=cid, **changes), ensure_ascii=False).encode("utf-8")


def _csv_row(cid: str) -> str:
    return f"{cid},p1,2026-03-05,employee,retired,inpatient,level3,{ITEMS_CELL}\n"


def _run(tmp_path, name: str, data: bytes, *args: str, stdin: bytes | None = None):
    path = tmp_path / name
    path.write_bytes(data)
    target = "-" if stdin is not None else str(path)
    proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", POLICY, target, "--no-trace", *args],
                          input=stdin, capture_output=True, timeout=60)
    err = proc.stderr.decode("utf-8")
    assert "Traceback" not in err, err
    return proc.returncode, proc.stdout.decode("utf-8"), err


def _rows(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def _shape(rows: list[dict]) -> list[str]:
    """Each row as its id, or the line an input problem names."""
    return [r["error"]["message"].split(":")[0] if r["id"] is None and "error" in r else r["id"] for r in rows]


def test_jsonl_broken_lines_are_reported_and_skipped(tmp_path):
    data = b"\n".join([
        b"\xef\xbb\xbf" + _line("c1"),           # 1: a byte-order mark before the first claim
        b"",                                     # 2: empty
        b"{\"id\": \"c3\", ",                     # 3: cut short
        b"   ",                                  # 4: blank
        _line("c5").replace(b"p1", b"p\xff"),      # 5: not UTF-8
        b"[" * 100_000,                          # 6: nested too deeply for any JSON reader
        b"{\"id\": \"c7\", \"age\": 1" + b"0" * 5000 + b"}",  # 7: a number too long to read
        _line("c8") + b"\r",                     # 8: a Windows line end
        b"\xef\xbb\xbf" + _line("c9"),           # 9: a stray byte-order mark mid-file
        b"NaN",                                  # 10: JSON, but not a claim
        _line("c11", items=[{"class": "A", "amount": float("nan")}]),  # 11: NaN amount
    ]) + b"\n"
    code, out, err = _run(tmp_path, "claims.jsonl", data)
    rows = _rows(out)
    assert _shape(rows) == ["c1", "line 3", "line 5", "line 6", "line 7", "c8", "c9", "line 10", "c11"]
    assert rows[1]["error"] == {"code": "bad-input", "field": None,
                                "message": "line 3: bad JSON: Expecting property name enclosed in double quotes (column 14)"}
    assert rows[2]["error"]["message"] == "line 5: not UTF-8 (invalid start byte)"
    assert rows[3]["error"]["message"] == "line 6: bad JSON: nested too deeply"
    # Python words it "(4300 digits)" (3.11) or "(4300) for integer string conversion" (3.10)
    assert rows[4]["error"]["message"].startswith("line 7: bad JSON: Exceeds the limit (4300")
    assert rows[7]["error"] == {"code": "bad-input", "message": "line 10: a claim must be a JSON object, not a number", "field": None}
    assert rows[8]["error"]["field"] == "items[0].amount"
    assert rows[0]["paid"]["basic"] == rows[5]["paid"]["basic"] == "87.00"
    assert "claims.jsonl:10: a claim must be a JSON object, not a number; skipped" in err
    assert f"claims.jsonl:3: bad JSON" in err and f"claims.jsonl:6: bad JSON: nested too deeply; skipped" in err
    assert err.strip().endswith(  # (and why, by kind: the first of each in input order)
        "med: 6 of 9 claims could not be settled\n"
        "med:   5 bad-input, first claim (no id): line 3: bad JSON: Expecting property name enclosed in double quotes "
        "(column 14)\n"
        "med:   1 bad-amount (items[].amount), first claim c11: items[0].amount must be a finite amount, not nan")
    assert code == 1


def test_a_clean_file_exits_0_and_keeps_order(tmp_path):
    data = b"\n".join(_line(f"c{i}", person=f"p{i % 2}", date=f"2026-0{9 - i}-01") for i in range(1, 8))
    code, out, err = _run(tmp_path, "claims.jsonl", data)
    assert code == 0, err
    assert [r["id"] for r in _rows(out)] == [f"c{i}" for i in range(1, 8)]


def test_stdin_is_read_as_jsonl(tmp_path):
    code, out, _ = _run(tmp_path, "unused", b"", stdin=_line("s1") + b"\n{oops\n" + _line("s2") + b"\n")
    assert _shape(_rows(out)) == ["s1", "line 2", "s2"]
    assert code == 1


def test_json_array(tmp_path):
    data = json.dumps([dict(CLAIM, id="a1"), "junk", dict(CLAIM, id="a3", date="2026-02-30")]).encode()
    code, out, _ = _run(tmp_path, "claims.json", data)
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["a1", None, "a3"]
    assert rows[2]["error"]["code"] == "bad-date"


def test_broken_json_array_names_its_line(tmp_path):
    # The array is read element by element: the elements before the break are claims (this
    # one lacks a person); nothing after a syntax error can be read.
    code, out, err = _run(tmp_path, "claims.json", b'[\n{"id": "a1"},\n{"id": \n]\n')
    assert _rows(out) == [{"id": "a1", "error": {"code": "missing-field", "field": "person",
                                                  "message": "the claim has no person"}},
                          {"id": None, "error": {"code": "bad-input", "field": None,
                                                  "message": "line 4: bad JSON: Expecting value (column 1)"}}]
    assert "claims.json:4: bad JSON" in err and code == 1


def test_csv_broken_rows_are_reported_and_skipped(tmp_path):
    data = ("\ufeff" + CSV_HEADER + _csv_row("r1") + "\n"
            + "r3,p1,2026-03-05,employee,retired,inpatient,level3,[{bad}\n"
            + _csv_row("r4").replace("p1", "p\udcff")
            + "r5,p1,2026-03-05,employee,retired,inpatient,level3,[],extra\n"
            + f'r6,"two\nlines",2026-03-05,employee,retired,inpatient,level3,{ITEMS_CELL}\n'
            + "r8,p1,2026-03-05,employee,retired,inpatient,level3,\"" + "x" * 200_000 + "\"\n"
            + _csv_row("r9")).encode("utf-8", "surrogateescape")
    code, out, err = _run(tmp_path, "claims.csv", data)
    rows = _rows(out)
    assert _shape(rows) == ["r1", "line 4", "line 5", "line 6", "r6", "line 9", "r9"]
    assert rows[1]["error"]["message"] == "line 4: bad JSON in column items: Expecting property name enclosed in double quotes"
    assert rows[2]["error"]["message"] == "line 5: not UTF-8"
    assert rows[3]["error"]["message"] == "line 6: 9 cells, but the header names 8 columns"
    assert rows[5]["error"]["message"] == "line 9: bad CSV: field larger than field limit (131072)"
    assert rows[4]["person"] == "two\nlines"
    assert code == 1 and "claims.csv:6: 9 cells" in err


def test_csv_header_problems_refuse_every_row(tmp_path):
    header = CSV_HEADER.replace("person", "id")
    code, out, _ = _run(tmp_path, "claims.csv", (header + _csv_row("r1") + _csv_row("r2")).encode())
    assert [r["error"]["message"] for r in _rows(out)] == ["line 2: the header names column 'id' twice",
                                                           "line 3: the header names column 'id' twice"]
    header = CSV_HEADER.replace("status", "facility")
    code, out, _ = _run(tmp_path, "claims.csv", (header + _csv_row("r1")).encode())
    assert _rows(out)[0]["error"]["message"] == "line 2: the header names column 'facility' and columns inside it"


def test_a_csv_value_under_no_column_name_is_refused_and_a_cell_of_spaces_is_empty(tmp_path):
    # A value under an empty header cell was dropped without a word; an items cell of spaces was
    # "bad JSON in a cell: Expecting value", naming no column.
    header = CSV_HEADER.replace("\n", ",\n")
    rows = (_csv_row("r1").replace("\n", ",\n") + _csv_row("r2").replace("\n", ",IMPORTANT\n")
            + _csv_row("r3").replace(ITEMS_CELL, "   ").replace("\n", ",\n"))
    code, out, err = _run(tmp_path, "claims.csv", (header + rows).encode())
    got = _rows(out)
    assert _shape(got) == ["r1", "line 3", "r3"]
    assert got[1]["error"]["message"] == "line 3: column 9 has a value but no name in the header"
    assert got[2]["error"]["code"] == "missing-field" and got[2]["error"]["field"] == "items"
    assert code == 1 and err.splitlines()[0] == f"{tmp_path / 'claims.csv'}:3: column 9 has a value but no name in the header; skipped"


@pytest.mark.parametrize("name, encoding", [("claims.jsonl", "utf-16"), ("claims.jsonl", "utf-16-be"),
                                            ("claims.csv", "utf-16")])
def test_a_utf16_file_its_byte_order_mark_declares_is_read_as_utf8_is(tmp_path, name, encoding):
    # Windows PowerShell's `>` writes UTF-16: each line was "not UTF-8", 41 error rows for 40 claims.
    text = (b"\n".join([_line("c1"), _line("c2", person="张三")]) if name.endswith(".jsonl")
            else (CSV_HEADER + _csv_row("r1") + _csv_row("r2")).encode()).decode("utf-8")
    utf8 = _run(tmp_path, name, text.encode("utf-8"))
    data = (codecs.BOM_UTF16_BE if encoding == "utf-16-be" else b"") + text.replace("\n", "\r\n").encode(encoding)
    assert data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    assert _run(tmp_path, name, data) == utf8 and utf8[0] == 0 and len(_rows(utf8[1])) == 2


def test_claims_on_old_mac_line_ends_are_each_a_line(tmp_path):
    # Lines ended by a lone CR were one line: one error row for a whole file of claims.
    data = b"\r".join([_line("c1"), _line("c2"), b"{broken", _line("c4")]) + b"\r"
    code, out, err = _run(tmp_path, "claims.jsonl", data)
    assert _shape(_rows(out)) == ["c1", "c2", "line 3", "c4"]
    assert code == 1 and f"{tmp_path / 'claims.jsonl'}:3: bad JSON" in err


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_other_output_formats_carry_errors(tmp_path, fmt):
    data = _line("c1") + b"\n{oops\n" + _line("c3", place="moon") + b"\n"
    code, out, _ = _run(tmp_path, "claims.jsonl", data, "--format", fmt)
    lines = out.splitlines()
    body = lines[1:] if fmt == "csv" else lines[2:]
    assert len(body) == 3
    assert "c1" in body[0] and "line 2: bad JSON" in body[1] and "place 'moon' is not one of" in body[2]


def test_empty_and_missing_files(tmp_path):
    code, out, err = _run(tmp_path, "claims.jsonl", b"\n\n")
    assert (code, out) == (0, "")
    proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", POLICY, str(tmp_path / "nope.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr


def test_a_parameter_no_version_declares_is_a_wrong_command_line_on_every_command(tmp_path, capsys):
    # `med run` said exit 2 for a name the policy does not declare; diff and check --strict said
    # 1, and check without --strict took --param and ignored it.
    from medpolicy.cli import main

    said = "med: the policy declares no parameter 'nosuch' (it declares avg_wage, resident_premium)"
    for args in (["run", POLICY, "c.jsonl"], ["diff", POLICY, POLICY], ["check", "--strict", POLICY]):
        assert main([*args, "--param", "nosuch=1"]) == 2, args
        assert said in capsys.readouterr().err.splitlines(), args
    assert main(["check", POLICY, "--param", "avg_wage=60000"]) == 2
    assert capsys.readouterr().err == "med: --param is for --strict's settlements: add --strict\n"
    assert main(["check", "--strict", POLICY, "--param", "avg_wage=abc"]) == 1
    assert "med: parameter avg_wage must be a number or a percentage, not 'abc'" in capsys.readouterr().err


def test_bad_params_are_refused_before_any_claim(tmp_path):
    policy = tmp_path / "p.med"
    policy.write_text('policy "x" effective 2026-01-01 to 2026-12-31\nuse standard\nparameter share\n'
                      "scheme employee\n  inpatient deductible 0 rate share\n", encoding="utf-8")
    claims = tmp_path / "c.jsonl"
    claims.write_bytes(_line("c1"))
    for value, message in (("abc", "parameter share must be a number or a percentage, not 'abc'"),
                           ("150", "parameter share is a rate or share: give a percentage up to 100% (e.g. share=10%), not '150'"),
                           ("-5%", "parameter share must be a finite, non-negative number, not '-5%'")):
        proc = subprocess.run([sys.executable, "-m", "medpolicy.cli", "run", str(policy), str(claims),
                               "--param", f"share={value}"], capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr

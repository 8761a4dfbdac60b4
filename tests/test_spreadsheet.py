"""CSV and .xlsx for Excel and WPS users: the BOM, formula neutralisation, money as exact numbers."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl

from medpolicy.spreadsheet import write_csv

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = str(ROOT / "policies" / "suihua.med")
CLAIM = {"id": "=HYPERLINK(\"http://x\")", "person": "+86-1", "date": "2026-03-05", "scheme": "employee",
         "status": "retired", "benefit": "inpatient", "facility": {"level": "level3", "grade": "A"},
         "items": [{"class": "A", "amount": "8000.00"}, {"class": "B", "amount": "2000.00"},
                   {"class": "excluded", "amount": "500.00"}]}
CLAIMS = json.dumps(CLAIM) + "\n" + json.dumps({**CLAIM, "id": "@SUM(A1)", "person": "-p", "benefit": "dental"}) + "\n"


def med(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "medpolicy.cli", *args], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=60)


def test_csv_for_excel_starts_with_a_bom_and_neutralises_formulas(tmp_path):
    out = tmp_path / "r.csv"
    r = med("run", SUIHUA, "-", "-o", str(out), "--excel", stdin=CLAIMS.encode())
    assert r.returncode == 1  # the second claim's benefit is unknown
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,person,year,benefit,total,")
    rows = raw.decode("utf-8-sig").splitlines()
    assert rows[1] == ("\"'=HYPERLINK(\"\"http://x\"\")\",'+86-1,2026,inpatient,10500.00,500.00,0.00,10000.00,"
                       "900.00,7917.00,0.00,0.00,2583.00,0.00,2583.00,,,")  # no account_balance known
    assert rows[2].startswith("'@SUM(A1),,,,,,,,,,,,,,,,,\"unknown-value: benefit 'dental' is not one of")


def test_csv_without_excel_has_no_bom():
    r = med("run", SUIHUA, "-", "--format", "csv", stdin=(json.dumps({**CLAIM, "id": "c1", "person": "p1"}) + "\n").encode())
    assert r.stdout.startswith(b"id,person,") and b"\nc1,p1,2026,inpatient,10500.00," in r.stdout


def test_csv_leaves_numbers_and_plain_text_alone():
    import io

    buf = io.StringIO()
    write_csv([{"id": "a-1", "person": "p", "year": 2026, "benefit": "outpatient", "total": "1.00",
                "paid": {"basic": "0.50"}, "patient": "0.50"}], buf)
    assert buf.getvalue().splitlines()[1] == "a-1,p,2026,outpatient,1.00,,,,,0.50,0.50,,,,,"  # no account, cash, balance given


def test_xlsx_money_is_numbers_with_two_decimals_and_text_is_never_a_formula(tmp_path):
    out = tmp_path / "r.xlsx"
    r = med("run", SUIHUA, "-", "-o", str(out), stdin=CLAIMS.encode())
    assert r.returncode == 1, r.stderr
    sheet = openpyxl.load_workbook(out).active
    head = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(head, sheet[2])}
    assert row["id"].value == '=HYPERLINK("http://x")' and row["id"].data_type == "s"
    assert row["paid.basic"].value == 7917 and row["paid.basic"].number_format == "0.00"
    assert row["year"].value == 2026
    # Written from the decimal strings: the sheet's XML holds the exact figures.
    xml = zipfile.ZipFile(out).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>7917.00</v>" in xml and "<v>2583.00</v>" in xml and "<f>" not in xml


def test_streamed_csv_neutralises_formulas_too():
    # Without --excel the run streams (output.py's writer): the same neutralising applies.
    claim = {**CLAIM, "id": "=HYPERLINK(1)", "person": "+86"}
    r = med("run", SUIHUA, "-", "--format", "csv", stdin=(json.dumps(claim) + "\n").encode())
    assert r.stdout.splitlines()[1].startswith(b"'=HYPERLINK(1),'+86,2026,inpatient,")

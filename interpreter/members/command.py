"""`med members POLICY MEMBERS`: every member's months, one row per member and month.

Members come as JSON lines, a JSON array or CSV (docs/members.md); a record that cannot be
read becomes an error row naming the member and the field, and the run goes on. Rows are
written as JSON lines, one JSON array, or CSV with one column per payer and fund.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterator, Optional, TextIO

from ..inputs import ClaimFile, InputProblem, csv_rows
from .records import MemberError, member_id, read_member
from .syntax import Contribution

# The CSV shape of a member: one row per contribution (or per enrolment period), grouped by id.
CSV_COLUMNS = ("id", "sex", "birth", "scheme", "kind", "mode", "from", "to", "month", "year", "base", "paid_on",
               "retirement", "pension", "balance_on", "balance", "prior_months", "prior_local_months",
               "prior_resident_years", "prior_early_months", "prior_pooled_only_months", "groups", "deducts_major",
               "before_scheme", "before_region", "before_from", "before_to", "before_terminated", "lump_sum_paid_on")


def read_members(path: str) -> Iterator[tuple[int, Any]]:
    """(line, member object or InputProblem) in file order; a line that is no member's record
    (not a JSON object, no `id`) is an InputProblem, its line the only name it has. Opening
    raises OSError when the file cannot be read at all."""
    for line, obj in _objects(path):
        yield line, obj if isinstance(obj, InputProblem) else _as_record(line, obj)


def _as_record(line: int, obj: Any) -> Any:
    try:
        member_id(obj)
    except MemberError as e:
        return InputProblem(line, f"{e.field}: {e.message}" if e.field else e.message)
    return obj


def _objects(path: str) -> Iterator[tuple[int, Any]]:
    f = ClaimFile(path)
    try:
        if f.kind == "csv":
            f.close()
            # Bytes that are not UTF-8 are kept as surrogates, so that only their rows are refused
            # (as inputs.ClaimFile reads a claims CSV).
            with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
                yield from _csv_members(text)
            return
        for line, obj, _ in f.values():
            yield line, obj
    finally:
        f.close()


def _csv_members(text: TextIO) -> Iterator[tuple[int, Any]]:
    rows = csv.reader(text)
    try:
        header = next(rows, None)
    except csv.Error as e:
        yield 1, InputProblem(1, f"bad CSV header: {e}")
        return
    if header is None:
        return
    header = [h.strip() for h in header]
    problem = _header_problem(header)
    if problem:
        yield 1, InputProblem(1, problem)
        return
    members: dict[str, tuple[int, dict]] = {}
    for n, row in csv_rows(rows):
        problem = row if isinstance(row, InputProblem) else _row_problem(n, row, header)
        if problem:
            yield n, problem
            continue
        cells = {h: v.strip() for h, v in zip(header, row) if v.strip() != ""}
        mid = cells.get("id", "")
        first, obj = members.setdefault(mid, (n, {"id": mid}))
        _csv_cells(obj, cells)
    for mid, (n, obj) in members.items():
        yield n, obj


def _header_problem(header: list[str]) -> Optional[str]:
    if not _utf8(header):
        return "CSV header: not UTF-8"
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        return f"CSV header: unknown column {unknown[0]!r}"
    return None if "id" in header else "CSV header needs `id`"


def _row_problem(n: int, row: list[str], header: list[str]) -> Optional[InputProblem]:
    if len(row) != len(header):
        return InputProblem(n, f"the row has {len(row)} cells, the header {len(header)}")
    return None if _utf8(row) else InputProblem(n, "not UTF-8")


def _utf8(cells: list[str]) -> bool:
    """Whether the cells were UTF-8 in the file (bytes that were not are surrogates here)."""
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _csv_cells(obj: dict, c: dict) -> None:
    for k in ("sex", "birth", "scheme", "retirement", "pension"):
        if k in c:
            obj[k] = c[k]
    if "kind" in c or "from" in c:
        period = {k: c[k] for k in ("from", "to", "kind", "mode") if k in c}
        if period not in obj.setdefault("history", []):
            obj["history"].append(period)
    if "month" in c or "year" in c:
        # every cell of the payment goes on, so that the reader refuses a `year` beside a `month`
        pay = {k: c[k] for k in ("month", "base", "paid_on") if k in c}
        if "year" in c:
            pay["year"] = _whole(c["year"])
        obj.setdefault("contributions", []).append(pay)
    if "balance" in c:
        obj["balance"] = {"on": c.get("balance_on"), "amount": c["balance"]}
    if "before_scheme" in c or "before_to" in c:
        left = {k: c[f"before_{k}"] for k in ("scheme", "region", "from", "to") if f"before_{k}" in c}
        if "before_terminated" in c:
            left["terminated"] = c["before_terminated"].lower() in ("true", "1", "yes")
        if left not in obj.setdefault("before", []):
            obj["before"].append(left)
    if "lump_sum_paid_on" in c:
        obj["lump_sum"] = {"paid_on": c["lump_sum_paid_on"]}
    for k in ("months", "local_months", "resident_years", "early_months", "pooled_only_months"):
        if f"prior_{k}" in c:
            obj.setdefault("prior", {})[k] = _whole(c[f"prior_{k}"])
    if "groups" in c:
        obj["groups"] = c["groups"].split()
    if "deducts_major" in c:
        obj["deducts_major"] = c["deducts_major"].lower() in ("true", "1", "yes")


def _whole(cell: str):
    """A cell of the digits 0-9 as a whole number; anything else as written, for the reader to
    refuse (full-width or other scripts' digits, which int() would read, "²", or more digits
    than int() reads)."""
    try:
        return int(cell) if cell.isascii() and cell.isdecimal() else cell
    except ValueError:
        return cell


def member_rows(policy, path: str, *, as_of: dt.date, params: dict) -> Iterator[dict]:
    """Every member's month rows as JSON objects; a bad member one error row."""
    for line, obj in read_members(path):
        if isinstance(obj, InputProblem):
            yield {"id": None, "error": {"code": "bad-input", "field": f"line {line}", "message": obj.message}}
            continue
        try:
            rec = read_member(_plain(obj))
            for row in policy.member_months(rec, until=as_of, as_of=as_of, params=params):
                yield row.to_json()
        except MemberError as e:
            yield e.to_json()
        except KeyError as e:  # a parameter the rules need and the run did not give
            yield {"id": str(obj.get("id")) if isinstance(obj, dict) else None,
                   "error": {"code": "missing-parameter", "field": str(e.args[0]),
                             "message": f"the run gives no value for parameter {e.args[0]} (--param)"}}


def _plain(obj):
    """JSON numbers read as Decimal are amounts as written."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


def csv_columns(policy) -> list[str]:
    """The CSV header: one `due_PAYER_FUND` column per payer and fund the policy's rules name."""
    pairs = set()
    for rules in policy.compiled.members.schemes.values():
        for r in rules:
            if isinstance(r.setting, Contribution):
                pairs.update((s.payer, r.setting.fund or "basic") for s in r.setting.shares)
                if any(s.payer == "subsidy" for s in r.setting.shares):
                    pairs.add(("individual", r.setting.fund or "basic"))
    due = [f"due_{p}_{f}" for p, f in sorted(pairs)]
    return (["member", "month", "scheme", "kind", "base", *due, "credit", "balance", "payable", "reason",
             "article", "waiting_left", "from_day", "retirement_months", "retirement_minimum", "retirement_local_months",
             "retirement_local_minimum", "retirement_short_months", "retirement_lump_sum", "retirement_retiree_from",
             "error_field", "error"])


def csv_row(row: dict, columns: list[str]) -> list:
    if "error" in row:
        out = {"member": row.get("id"), "error_field": row["error"]["field"], "error": row["error"]["message"]}
    else:
        out = {k: v for k, v in row.items() if not isinstance(v, dict)}
        for payer, funds in row["due"].items():
            for fund, amount in funds.items():
                out[f"due_{payer}_{fund}"] = amount
        for k, v in (row.get("retirement") or {}).items():
            out[f"retirement_{k}"] = v
    return ["" if out.get(c) is None else str(out[c]).lower() if isinstance(out.get(c), bool) else out[c]
            for c in columns]


def write_rows(rows, out: TextIO, fmt: str, policy) -> int:
    """Write the rows; returns how many were error rows."""
    errors = 0
    if fmt == "csv":
        columns = csv_columns(policy)
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            errors += "error" in row
            w.writerow(csv_row(row, columns))
        return errors
    if fmt == "json":
        out.write("[")
        for i, row in enumerate(rows):
            errors += "error" in row
            out.write(("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False))
        out.write("\n]\n")
        return errors
    for row in rows:
        errors += "error" in row
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return errors


def run(policy, members: str, *, as_of: dt.date, params: dict, fmt: str, out: TextIO) -> int:
    """The command: exit 1 when a member gave an error row, else 0 (usage errors are the CLI's)."""
    return 1 if write_rows(member_rows(policy, members, as_of=as_of, params=params), out, fmt, policy) else 0



def explain(policy, path: str, *, as_of: dt.date, params: dict, lang: str, fmt: str = "text") -> tuple[str, list[str]]:
    """The member sheet of every member in the file (text, or one HTML page: `fmt`), and the
    error messages of bad ones."""
    from .sheet import member_sheet, member_sheets_html
    pages, problems = [], []
    for line, obj in read_members(path):
        if isinstance(obj, InputProblem):
            problems.append(f"{path}:{line}: {obj.message}")
            continue
        try:
            rows = policy.member_months(read_member(_plain(obj)), until=as_of, as_of=as_of, params=params)
        except MemberError as e:
            problems.append(f"{path}: {e}")
            continue
        except KeyError as e:
            problems.append(f"{path}: member {obj.get('id')}: the run gives no value for parameter {e.args[0]} (--param)")
            continue
        pages.append(rows)
    if fmt == "html":
        return member_sheets_html(policy, pages, lang), problems
    return "\n".join(member_sheet(policy, rows, lang) for rows in pages), problems

"""Result rows written out: JSON lines, CSV, or a table for people.

A writer turns each result dict into text with `encode` (the text may wait on disk while
`med run` puts rows back in input order), `write`s texts in order, and `finish`es. JSON lines
and CSV are written as they come; a table needs every row for its column widths, so it holds
them (it is for reading, not for a city's year).

    write_results(rows, "csv", sys.stdout, policy)   # rows: any iterable of result dicts
"""

from __future__ import annotations

import csv
import io
import json
from typing import Iterable, Optional, TextIO

from .policy import to_json
from .result_line import json_line
from .text import display_width

FORMATS = ("jsonl", "csv", "table")
_FIXED = ["id", "person", "year", "benefit", "total", "excluded", "prepay", "eligible", "deductible"]
_TAIL = ["patient", "account", "cash", "account_balance", "allowance", "error"]
_TEXT_COLUMNS = ("id", "person", "benefit", "error")


def format_for(output: Optional[str]) -> str:
    """The format an output file's name asks for; JSON lines by default."""
    if output and output.endswith(".csv"):
        return "csv"
    if output and output.endswith((".txt", ".table")):
        return "table"
    return "jsonl"


def writer_for(fmt: str, out: TextIO, policy) -> "Writer":
    return {"jsonl": JsonLines, "csv": Csv, "table": Table}[fmt](out, policy)


def write_results(rows: Iterable[dict], fmt: str, out: TextIO, policy) -> None:
    """Write result dicts (`Result.to_json()`) in the given format."""
    w = writer_for(fmt, out, policy)
    w.start()
    for row in rows:
        w.write(w.encode(row))
    w.finish()


class Writer:
    def __init__(self, out: TextIO, policy):
        self.out = out
        self.policy = policy

    def start(self) -> None:
        pass

    def encode(self, row: dict) -> str:
        raise NotImplementedError

    def encode_result(self, result, trace: bool) -> str:
        """A `policy.Result` as text (its trace too when `trace`): `encode` of its JSON data."""
        return self.encode(result.to_json(trace=trace))

    def write(self, text: str) -> None:
        self.out.write(text)

    def finish(self) -> None:
        pass


class JsonLines(Writer):
    # No circular check: a result is plain nested data.
    _encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode

    def __init__(self, out: TextIO, policy):
        super().__init__(out, policy)
        self._memo: dict = {}  # the trace steps' fixed parts, written once (result_line.py)

    def encode(self, row: dict) -> str:
        return self._encode(row) + "\n"

    def encode_result(self, result, trace: bool) -> str:
        # Straight from the engine's result to the line: the same text, no dict in between.
        return json_line(result.data, result.trace if trace else None, to_json, self._memo) + "\n"


class Csv(Writer):
    """One column per fund the policy has (`paid.basic`, ...), known before the first row."""

    def __init__(self, out: TextIO, policy):
        super().__init__(out, policy)
        self.layers = policy_layers(policy)
        self.columns = _FIXED + [f"paid.{l}" for l in self.layers] + _TAIL
        self._buf = io.StringIO()
        self._csv = csv.DictWriter(self._buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")

    def start(self) -> None:
        self._csv.writeheader()
        self.out.write(self._take())

    def encode(self, row: dict) -> str:
        from .spreadsheet import TEXT_COLUMNS, neutralised  # a cell a spreadsheet would run: plain text

        self._csv.writerow({k: neutralised(v) if k in TEXT_COLUMNS else v for k, v in flatten(row, self.layers).items()})
        return self._take()

    def _take(self) -> str:
        text = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return text


class Table(Writer):
    """Aligned columns (wide characters count two); only the columns some row fills."""

    def __init__(self, out: TextIO, policy):
        super().__init__(out, policy)
        self.layers = policy_layers(policy)
        self.rows: list[dict] = []

    def encode(self, row: dict) -> str:
        return json.dumps(flatten(row, self.layers), ensure_ascii=False)

    def write(self, text: str) -> None:
        self.rows.append(json.loads(text))

    def finish(self) -> None:
        flat = self.rows
        cols = _FIXED + [f"paid.{l}" for l in self.layers] + _TAIL
        cols = [c for c in cols if any(f.get(c) not in (None, "") for f in flat)]
        widths = {c: max(len(c), *(display_width(str(f.get(c, ""))) for f in flat)) for c in cols}
        numeric = {c for c in cols if c not in _TEXT_COLUMNS}
        out = self.out
        out.write("  ".join(c.rjust(widths[c]) if c in numeric else c.ljust(widths[c]) for c in cols).rstrip() + "\n")
        out.write("  ".join("-" * widths[c] for c in cols) + "\n")
        for f in flat:
            cells = []
            for c in cols:
                v = "" if f.get(c) is None else str(f[c])
                pad = widths[c] - display_width(v) + len(v)
                cells.append(v.rjust(pad) if c in numeric else v.ljust(pad))
            out.write("  ".join(cells).rstrip() + "\n")


def policy_layers(policy) -> list[str]:
    """Every fund of every scheme of the policy, in the policy's order: the `paid.*` columns."""
    seen: list[str] = []
    for scheme in policy.compiled.schemes:
        for fund in policy.funds(scheme):
            if fund not in seen:
                seen.append(fund)
    return seen


def flatten(r: dict, layers: list[str]) -> dict:
    """A result as one flat row: `paid.<fund>` columns; an error as one `error` cell."""
    if "error" in r:
        e = r["error"]
        where = f" ({e['field']})" if e.get("field") else ""
        return {"id": r.get("id"), "error": f"{e['code']}: {e['message']}{where}"}
    f = {k: v for k, v in r.items() if not isinstance(v, (dict, list))}
    paid = r.get("paid", {})
    for l in layers:
        f[f"paid.{l}"] = paid.get(l, "")
    return f

"""Why a run's claims could not be settled, counted by kind, for its last words on stderr.

A year whose every date is written 2026/03/02 ends `1000000 of 1000000 claims could not be
settled`; the kinds say why without opening the output: each error code and field (an item's
at any index: `items[].ward`) with how many claims, and the first of them (its id and message),
most claims first.
"""

from __future__ import annotations

import re
from typing import Any, Optional

SHOWN = 3  # kinds named; the others are counted together
LONGEST = 160  # characters of a first claim's message shown (its row has it whole)
_AT_INDEX = re.compile(r"\[\d+\]")  # items[2].ward: one kind with items[0].ward, items[].ward


class ErrorKinds:
    """Claims that could not be settled, by (error code, field): how many, and the first one in
    input order (its id and message), whichever order the rows are added in."""

    __slots__ = ("kinds", "_rows")

    def __init__(self) -> None:
        self.kinds: dict = {}  # (code, field) -> [count, first's input position, its id, its message]
        self._rows = 0  # rows of tables added so far (`add_rows`: windows in input order)

    @property
    def claims(self) -> int:
        """How many claims were counted."""
        return sum(kind[0] for kind in self.kinds.values())

    def add(self, position: int, error: Optional[dict], cid: Any = None) -> None:
        """The result row at input `position`: its error (None: the claim settled) and id."""
        if error:
            field = error.get("field")
            where = _AT_INDEX.sub("[]", field) if isinstance(field, str) else field
            self._count((error.get("code"), where), 1, position, cid, error.get("message"))

    def add_rows(self, rows) -> None:
        """The next rows of results in input order (a pyarrow table), their errors counted in columns."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        start, self._rows = self._rows, self._rows + rows.num_rows
        error = rows.column("error")
        if error.null_count == len(error):
            return
        given = pc.is_valid(error)
        errors = pc.filter(error, given).combine_chunks()
        where = pc.replace_substring_regex(errors.field("field"), _AT_INDEX.pattern, "[]")
        table = pa.table({"code": errors.field("code"), "field": where,
                          "message": errors.field("message"), "id": pc.filter(rows.column("id"), given),
                          "row": pc.filter(pa.array(np.arange(start, self._rows)), given)})
        counted = table.group_by(["code", "field"], use_threads=False).aggregate(
            [("row", "count"), ("row", "first"), ("id", "first"), ("message", "first")])
        for kind in counted.to_pylist():
            self._count((kind["code"], kind["field"]), kind["row_count"], kind["row_first"], kind["id_first"],
                        kind["message_first"])

    def _count(self, key: tuple, n: int, position: int, cid: Any, message: Optional[str]) -> None:
        kind = self.kinds.get(key)
        if kind is None:
            self.kinds[key] = [n, position, cid, message]
        else:
            kind[0] += n
            if position < kind[1]:
                kind[1:] = [position, cid, message]

    def lines(self) -> list[str]:
        """The run's last words on its errors: a line for each of the commonest kinds, and one
        for the rest."""
        ranked = sorted(self.kinds.items(), key=lambda kv: (-kv[1][0], kv[1][1]))  # (ties: the earlier first)
        out = []
        for (code, field), (n, _, cid, message) in ranked[:SHOWN]:
            where = f" ({field})" if field else ""
            out.append(f"med:   {n} {code}{where}, first claim {'(no id)' if cid is None else cid}: {_short(message)}")
        rest = ranked[SHOWN:]
        if rest:
            claims = sum(kind[0] for _, kind in rest)
            out.append(f"med:   and {claims} more, for {len(rest)} other reason{'s' if len(rest) > 1 else ''}")
        return out


def _short(message: Optional[str]) -> str:
    """A message cut to LONGEST characters (an unknown field's lists every field of a claim)."""
    message = message or ""
    return message if len(message) <= LONGEST else message[:LONGEST - 1] + "…"

"""A result written straight to its JSON line, without the `to_json` dict in between.

`med run` writes most results as JSON lines; building the contract's dict (`policy.to_json`)
and then encoding it costs as much as settling the claim's arithmetic. `json_line` writes the
same text, byte for byte, as `json.JSONEncoder(ensure_ascii=False).encode(to_json(...))`:
the same field order (the result table's), the same separators, strings through the
encoder's own escaping function. A result it does not know how to write (an error row, a
field outside the table) goes through `to_json` and the encoder.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Optional

from .money import CENT, ZERO, q, to_fen
from .result_fields import RESULT_FIELDS

_string = json.encoder.encode_basestring  # what the encoder uses with ensure_ascii=False (C when built)
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_ABSENT = object()


def fen_text(v) -> str:
    """A money amount as the result shows it: two decimals, rounded half-up to the fen."""
    if v is ZERO:  # the engine's own zero: many amounts of a claim are
        return "0.00"
    return str(to_fen(v, CENT) if v.__class__ is Decimal else q(v))


def _value(v) -> str:
    cls = v.__class__
    if cls is str:
        return _string(v)
    if cls is int:
        return int.__repr__(v)
    return _encode(v)


# (name, the key's text, its type), in the table's order
_FIELDS = tuple((f.name, _string(f.name) + ": ", f.type) for f in RESULT_FIELDS if f.name != "trace")


def json_line(data: dict, trace: Optional[list], to_json, memo: Optional[dict] = None) -> str:
    """The JSON text of a result (`data`, the engine's result dict, and its trace steps or None),
    without a newline; `to_json(data, trace)` is the contract's dict, used for what this does not
    write itself. `memo`: the writer's own dict of the steps' fixed parts (name, clause line
    and article), written once each."""
    if "error" in data:
        return _encode(to_json(data, trace))
    parts = []
    get = data.get
    for name, key, kind in _FIELDS:
        v = get(name, _ABSENT)
        if v is _ABSENT:
            continue
        if kind == "money":  # fen_text inline: most of a line's values are money
            parts.append(key + ('"0.00"' if v is ZERO else '"' + str(to_fen(v, CENT)) + '"' if v.__class__ is Decimal
                                else '"' + str(q(v)) + '"'))
        elif kind == "funds":
            parts.append(key + "{" + ", ".join([_string(f) + ': "' + fen_text(a) + '"' for f, a in v.items()]) + "}")
        else:
            parts.append(key + _value(v))
    if len(parts) != len(data):
        return _encode(to_json(data, trace))  # to_json names the field the table lacks
    if trace is not None:
        if memo is None:
            memo = {}
        parts.append('"trace": [' + ", ".join([_step(s, memo) for s in trace]) + "]")
    return "{" + ", ".join(parts) + "}"


_MEMO_SIZE = 4096  # a policy has a few hundred (step, line, article) triples


def _step(s: tuple, memo: dict) -> str:
    """A trace step as `settle.step_dict` shows it, written out; the step's name, line and
    article (a clause's: few per policy) are written once per writer."""
    step, amount, line, cite, detail = s
    key = (step, line, cite)
    fixed = memo.get(key)
    if fixed is None:
        fixed = ('{"step": ' + _value(step), "" if line is None else ', "line": ' + _value(line)
                 + (', "cite": ' + _value(cite) if cite else ""))
        if len(memo) < _MEMO_SIZE:
            memo[key] = fixed
    out = fixed[0]
    if amount is not None:
        out += ', "amount": "' + ("0.00" if amount is ZERO else str(to_fen(amount, CENT)) if amount.__class__ is Decimal
                                  else str(q(amount))) + '"'
    out += fixed[1]
    if detail:
        out += ', "detail": ' + (_string(detail) if detail.__class__ is str else _value(detail))
    return out + "}"

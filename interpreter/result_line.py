"""A result written straight to its JSON line, without the `to_json` dict in between.

`med run` writes most results as JSON lines; building the contract's dict (`policy.to_json`)
and then encoding it costs as much as settling the claim's arithmetic. `json_line` writes the
same text, byte for byte, as `json.JSONEncoder(ensure_ascii=False).encode(to_json(...))`:
the same field order (the result table's), the same separators, strings through the
encoder's own escaping function. A result it does not know how to write (an error row, a
field outside the table) goes through `to_json` and the encoder.

A run's results come in a few shapes (which fields, which funds): each shape's line is
written by a function generated once per writer (`_formatter`: the keys' text fixed, each
value formatted inline, names from the table and the policy passed in, never written into
the source), and each trace step's fixed text (its name, clause line, article, note) is
made once per writer, the amount put in its place.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Callable, Optional

from .money import CENT, ZERO, q, to_fen
from .result_fields import RESULT_FIELDS

_string = json.encoder.encode_basestring  # what the encoder uses with ensure_ascii=False (C when built)
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


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
_MEMO_SIZE = 4096  # shapes and (step, line, article, note) per writer: a policy has a few hundred


def json_line(data: dict, trace: Optional[list], to_json, memo: Optional[dict] = None) -> str:
    """The JSON text of a result (`data`, the engine's result dict, and its trace steps or None),
    without a newline; `to_json(data, trace)` is the contract's dict, used for what this does not
    write itself. `memo`: the writer's own dict of the shapes' functions and the steps' fixed
    text (keys: a shape is a pair, a step four items), made once each."""
    if "error" in data:
        return _encode(to_json(data, trace))
    if memo is None:
        memo = {}
    paid = data.get("paid")
    shape = (tuple(data), tuple(paid) if paid.__class__ is dict else None)
    write = memo.get(shape)
    if write is None:
        write = _formatter(shape)
        if len(memo) < _MEMO_SIZE:
            memo[shape] = write
    if write is False:
        return _encode(to_json(data, trace))  # to_json names the field the table lacks
    if trace is None:
        return "{" + write(data) + "}"
    steps = []
    for s in trace:
        step, amount, line, cite, detail = s
        try:
            fixed = memo[(step, line, cite, detail)]
        except (KeyError, TypeError):  # a step not seen yet, or a note that is not a string
            fixed = _fixed(s, memo)
        steps.append(fixed[2] if amount is None else fixed[0] + (
            "0.00" if amount is ZERO else str(to_fen(amount, CENT)) if amount.__class__ is Decimal
            else str(q(amount))) + fixed[1])
    return "{" + write(data) + ', "trace": [' + ", ".join(steps) + "]}"


def _money(at: str) -> str:
    """The source of a money value's JSON text (`at`: where the value is): fen_text, inline."""
    return (f"""('"0.00"' if (v := {at}) is ZERO else '"' + str(fen(v, CENT)) + '"' if v.__class__ is Decimal """
            f"""else '"' + str(q(v)) + '"')""")


def _formatter(shape: tuple) -> Callable[[dict], str] | bool:
    """The function writing a result of this shape (its keys, its funds' keys) between the braces,
    without the trace; False when a key is not in the table (the encoder writes the row)."""
    keys, funds = shape
    present = set(keys)
    known = [(name, key, kind) for name, key, kind in _FIELDS if name in present]
    if len(known) != len(present) or not known:
        return False
    env = {"s": _string, "value": _value, "fen": to_fen, "CENT": CENT, "q": q, "ZERO": ZERO, "Decimal": Decimal}
    lines, parts = ["def write(data):"], []
    for i, (name, key, kind) in enumerate(known):
        env[f"k{i}"] = ("" if i == 0 else ", ") + key
        parts.append(f"k{i}")
        at = f"data[{name!r}]"
        if kind == "money":
            parts.append(_money(at))
        elif kind == "funds" and funds is not None:
            lines.append(f"    p{i} = {at}")
            parts.append("'{'")
            for j, fund in enumerate(funds):
                env[f"f{i}_{j}"], env[f"fk{i}_{j}"] = fund, ("" if j == 0 else ", ") + _string(fund) + ": "
                parts += [f"fk{i}_{j}", _money(f"p{i}[f{i}_{j}]")]
            parts.append("'}'")
        elif kind == "funds":
            return False
        else:
            parts.append(f"(s(v) if (v := {at}).__class__ is str else value(v))")
    lines.append("    return ''.join((" + ",\n                    ".join(parts) + "))")
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<result line>", "exec"), env)  # noqa: S102 - our own source
    write = env["write"]
    write.source = text
    return write


def _fixed(s: tuple, memo: dict) -> tuple[str, str, str]:
    """A trace step's text as `settle.step_dict` shows it, around its amount: (before the
    amount, after it, the whole step without one); kept in `memo` by the step's name, line,
    article and note (few per policy), unless the note is not a string."""
    step, _, line, cite, detail = s
    head = '{"step": ' + _value(step)
    tail = ("" if line is None else ', "line": ' + _value(line) + (', "cite": ' + _value(cite) if cite else "")) \
        + ("" if not detail else ', "detail": ' + _value(detail)) + "}"
    fixed = (head + ', "amount": "', '"' + tail, head + tail)
    if (detail is None or detail.__class__ is str) and len(memo) < _MEMO_SIZE:
        memo[(step, line, cite, detail)] = fixed
    return fixed

"""Fuzz settlement for minutes, on every shipped policy that compiles:

- generated runs of valid claims (random parameters too) must keep the invariants of
  tests/test_properties.py: payments >= 0, funds + patient = total, no fund above the
  eligible cost, no yearly total above the limit its regulation prints (tests/text_caps.py);
- hostile claims (fields replaced by any JSON, lone surrogates, ints of thousands of digits,
  full-width or Arabic-Indic digits, ISO week dates, unknown or misspelt fields) must end in
  a result or an error row with a code, a message and a field, never an exception or an
  `internal` error, and every row must be writable as JSONL, CSV and a table;
- JSONL files with corrupted bytes must give exactly one row per non-empty line.

    python fuzz/fuzz_claims.py --minutes 5
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from driver import run
from hypothesis import strategies as st

from med_strategies import compiled_policies, hostile_claims, params_for, policy_params, runs_for
from text_caps import over_caps

from medpolicy import inputs, output

POLICIES = [(name, p) for name, p, _ in compiled_policies() if p is not None]
CENT = Decimal("0.01")


@st.composite
def cases(draw):
    name, policy = draw(st.sampled_from(POLICIES))
    kind = draw(st.sampled_from(["valid", "valid", "hostile", "jsonl"]))
    if kind == "valid":
        return kind, name, draw(runs_for(policy, max_persons=3, max_claims=10)), draw(params_for(policy))
    if kind == "hostile":
        return kind, name, [draw(hostile_claims(policy)) for _ in range(3)], policy_params(policy)
    claims = draw(runs_for(policy, max_persons=2, max_claims=4))
    data = bytearray(b"\n".join(json.dumps(c, ensure_ascii=False).encode() for c in claims))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(data)))
        data[i:i + draw(st.integers(0, 3))] = draw(st.binary(max_size=3))
    return kind, name, bytes(data), policy_params(policy)


def check(case) -> None:
    kind, name, payload, params = case
    policy = dict(POLICIES)[name]
    if kind == "jsonl":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "claims.jsonl"
            path.write_bytes(payload)
            items = inputs.read_claims(str(path))
        lines = [line for line in re.split(rb"\r\n|\r|\n", payload) if line.strip()]  # (a lone CR ends a line too)
        assert len(items) == len(lines), (len(items), len(lines))
        claims = [c for c in items if not isinstance(c, inputs.InputProblem)]
        rows = [r.to_json() for r in policy.settle_all(claims, params=params)]
        assert len(rows) == len(claims)
        _rows_are_clear(rows)
        return
    rows = [r.to_json() for r in policy.settle_all(payload, params=params)]
    assert len(rows) == len(payload)
    _rows_are_clear(rows, policy)
    if kind == "hostile":
        for claim in payload:
            _rows_are_clear([policy.settle(claim, params=params).to_json()])
        return
    with_prepay = {s for s, rules in policy.compiled.schemes.items() if any(f.including_prepay for f in rules.funds)}
    by_id = {c["id"]: c for c in payload}
    for row in rows:
        if "error" in row:
            continue
        paid = {k: Decimal(v) for k, v in row["paid"].items()}
        total, eligible = Decimal(row["total"]), Decimal(row["eligible"])
        assert all(v >= 0 for v in paid.values()), row
        assert sum(paid.values()) + Decimal(row["patient"]) == total, row
        ceiling = eligible + (Decimal(row["prepay"]) if by_id[row["id"]]["scheme"] in with_prepay else 0)
        assert sum(paid.values()) <= ceiling + CENT / 2 * (len(paid) + 1), row
    over = over_caps(name, rows, payload, params)  # the limits as the regulations print them
    assert not over, over


def _rows_are_clear(rows, policy=None) -> None:
    for row in rows:
        json.dumps(row, ensure_ascii=False, allow_nan=False).encode("utf-8")  # writable: no lone surrogate
        if "error" in row:
            e = row["error"]
            assert e["code"] != "internal" and e["message"], row
    if policy is not None:  # every output format writes every row
        for fmt in ("jsonl", "csv", "table"):
            out = io.StringIO()
            output.write_results(rows, fmt, out, policy)
            out.getvalue().encode("utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    print("policies:", ", ".join(name for name, _ in POLICIES), file=sys.stderr)
    return run(cases(), check, args.minutes, "claims", batch=200)


if __name__ == "__main__":
    sys.exit(main())

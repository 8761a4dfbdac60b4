"""Fuzz the front end for minutes: grammar-shaped texts and mutated shipped policies go to
`medpolicy.compile`; anything but a policy or a MedError with file, line, column and message
is a failure. A policy that compiles also settles a claim of each scheme.

    python fuzz/fuzz_policies.py --minutes 5
"""

from __future__ import annotations

import argparse
import sys

from driver import run
from hypothesis import strategies as st

from med_strategies import check_compile, mutated_policies, policy_texts

import medpolicy

CLAIM = {"id": "c1", "person": "p", "date": "2026-03-05", "status": "retired", "benefit": "inpatient",
         "facility": {"level": "level3"}, "items": [{"class": "A", "amount": "1000.00"}]}


def check(text: str) -> None:
    outcome = check_compile(text)
    if isinstance(outcome, medpolicy.Policy):
        params = {name: "10%" for name in outcome.parameters}
        for scheme in ("employee", "resident"):
            row = outcome.settle(dict(CLAIM, scheme=scheme), params=params).to_json()
            if row.get("error", {}).get("code") == "internal":
                raise AssertionError(f"internal error: {row}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    return run(st.one_of(policy_texts(), mutated_policies()), check, args.minutes, "policies")


if __name__ == "__main__":
    sys.exit(main())

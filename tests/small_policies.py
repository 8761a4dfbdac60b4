"""What the tests/test_mutants_*.py files build their cases from: a small policy's two-line
head (a body starts at line 3), the policy compiled as `t.med`, and the claim they settle
unless a test says otherwise."""

from __future__ import annotations

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'   # lines 1-2: a body starts at line 3


def policy(body: str):
    """The policy HEAD + `body`, compiled as `t.med`."""
    return medpolicy.compile(HEAD + body, "t.med")


def claim(items=None, **extra) -> dict:
    """An employed employee's local inpatient claim at a level-3 hospital: 10,000.00 of class A
    unless `items` says otherwise; `extra` adds or replaces fields."""
    c = {"id": "c1", "person": "p", "date": "2026-03-01", "scheme": "employee", "status": "employed",
         "benefit": "inpatient", "place": "local", "facility": {"level": "level3"},
         "items": items or [{"class": "A", "amount": "10000.00"}]}
    c.update(extra)
    return c


def items(*pairs) -> list:
    """Items from (class, amount) pairs."""
    return [{"class": c, "amount": a} for c, a in pairs]

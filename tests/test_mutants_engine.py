"""Tests that kill the mutation run's survivors in engine.py, plan.py, settle.py and terms.py
(docs/reliability.md, "Mutation testing"): each asserts an exact amount, line or message
worked out by hand from the policy text."""

from __future__ import annotations

import medpolicy

HEAD = 'policy "t" effective 2026-01-01 to 2030-12-31\nuse standard\n'


def policy(body: str):
    return medpolicy.compile(HEAD + body, "t.med")

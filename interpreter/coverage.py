"""Which clauses the worked examples exercise: `med test --coverage`.

A clause is exercised when some example's claim is settled with it: it wins a quantity the
claim's terms need (its benefit's, its items' classes', or a layer's), it is an adjustment that
applies on top of a winner, or the claim's trace names its line. A clause no example reaches is
either untested or deliberately left out: a test file lists the latter, each with its reason:

    [[unexercised]]
    clause = "exception veteran-worker"     # text that appears on the clause's line
    reason = "no veteran worker is left alive to claim (第二十一条（一）4)"
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import attrs

from .errors import ClaimError, MedError
from .policy import Policy
from .terms import benefit_terms, resolve


@attrs.frozen
class Unexercised:
    line: int
    text: str
    reason: Optional[str]  # why the examples leave it out, from the test file; None: untested


@attrs.frozen
class Coverage:
    policy: str
    clauses: int                # clause lines of the policy file
    exercised: int
    missing: tuple[Unexercised, ...]
    stale: tuple[str, ...] = ()   # `[[unexercised]]` clause texts that name no unexercised clause

    @property
    def percent(self) -> float:
        return 100.0 * self.exercised / self.clauses if self.clauses else 100.0

    @property
    def untested(self) -> tuple[Unexercised, ...]:
        return tuple(m for m in self.missing if m.reason is None)

    @property
    def accounted(self) -> float:
        """The share of clauses exercised or left out with a reason."""
        done = self.clauses - len(self.untested)
        return 100.0 * done / self.clauses if self.clauses else 100.0


def clause_lines(policy: Policy) -> set[int]:
    """The lines of the policy's own file that hold clauses (not the standard library's)."""
    c = policy.compiled
    lines = set()
    for rules in c.schemes.values():
        for clause in (*rules.clauses, *rules.item_clauses, *(cl for f in rules.funds for cl in f.clauses)):
            if clause.span.file == c.file:
                lines.add(clause.span.line)
    return lines


def exercised_lines(policy: Policy, claims: Iterable[dict], params: dict, members=None) -> set[int]:
    """The clause lines these claims are settled with (see the module's docstring)."""
    claims = list(claims)
    lines: set[int] = set()
    for r in policy.settle_all(claims, params=params, members=members):
        lines.update(step[2] for step in r.trace if step[2] is not None)
    for claim in claims:
        lines.update(_used_by(policy, claim))
    return lines


def _used_by(policy: Policy, claim: dict) -> set[int]:
    try:
        facts = policy._read(claim)
    except ClaimError:
        return set()
    rules = policy.compiled.schemes.get(facts.scheme)
    if rules is None:
        return set()
    used: set[int] = set()
    try:
        terms = benefit_terms(rules, facts)
        # `as inpatient`, `terms level3`: the redirecting clauses are used
        used.update(c.span.line for c in terms.redirected_by)
        picks = [terms.picks]
        if len(facts.events) > 1:  # several events: each one's own limit or fixed amount adds up (plan._per_event)
            for e in sorted(facts.events):
                own = benefit_terms(rules, facts.replace(events=frozenset((e,)))).picks
                picks.append({q: own[q] for q in ("limit", "fixed") if q in own})
        picks += [resolve(f.clauses, facts) for f in rules.funds if f.clauses]
        picks += [resolve(rules.item_clauses, facts, it.cls, it.kind) for it in facts.items]
    except (ClaimError, MedError):
        return used
    for by_quantity in picks:
        for pick in by_quantity.values():
            if pick.clause is not None:
                used.add(pick.clause.span.line)
            used.update(c.span.line for c, _ in pick.adjust)
    return used


def coverage(policy: Policy, examples: list[dict], shared_params: dict, excused: list[dict]) -> Coverage:
    """How much of the policy the examples exercise; `excused` are the test file's
    `[[unexercised]]` entries (clause text and reason)."""
    lines = clause_lines(policy)
    hit: set[int] = set()
    for ex in examples:
        params = {**shared_params, **ex.get("params", {})}
        try:
            hit |= exercised_lines(policy, ex.get("claim", []), params, ex.get("members"))
        except MedError:
            continue  # a missing parameter: `med test` reports the example itself
    text = policy.sources.get(policy.compiled.file, "").splitlines()
    missing = []
    for line in sorted(lines - hit):
        source = text[line - 1].strip() if line <= len(text) else ""
        reason = next((e.get("reason") for e in excused if e.get("clause") and e["clause"] in source), None)
        missing.append(Unexercised(line, source, reason))
    stale = tuple(e.get("clause", "") for e in excused
                  if not any(e.get("clause") and e["clause"] in m.text for m in missing))
    return Coverage(Path(policy.compiled.file).name, len(lines), len(lines & hit), tuple(missing), stale)

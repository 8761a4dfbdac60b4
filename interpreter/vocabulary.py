"""Names a policy may use, gathered from `define` blocks (the standard library and the policy).

A selector name resolves to a (dimension, value) pair: `三级` -> ("level", "level3").
"""

from __future__ import annotations

from typing import Optional

import attrs

from . import ast
from .suggest import did_you_mean

# Dimensions a claim has exactly one value of, and those it may have several of.
SINGLE_DIMS = ("scheme", "benefit", "level", "grade", "type", "status", "place", "disease-class", "area")
MULTI_DIMS = ("group", "event", "condition", "flag")
ITEM_DIMS = ("class", "bed-kind")
SELECTOR_DIMS = SINGLE_DIMS + MULTI_DIMS + ITEM_DIMS
# A cohort (中人一档) is a selector name for a condition on the claim's facts, computed from
# them, never given by a claim. Dated facts (birth-date) are compared with dates.
COMPUTED_KINDS = ("cohort",)
OTHER_KINDS = ("measure", "date", "fund")
KINDS = SELECTOR_DIMS + COMPUTED_KINDS + OTHER_KINDS


@attrs.frozen
class Word:
    kind: str
    name: str           # canonical name
    aliases: tuple[str, ...]
    description: Optional[str]
    span: ast.Span
    condition: tuple = ()  # a cohort's selectors


@attrs.frozen
class Vocabulary:
    """Every defined name, by kind; and every spelling (name or alias) to its word."""

    words: dict  # (kind, canonical) -> Word
    selectors: dict  # spelling -> Word, for selector kinds
    others: dict  # (kind, spelling) -> Word, for measures and funds

    def selector(self, spelling: str) -> Optional[Word]:
        return self.selectors.get(spelling)

    def lookup(self, kind: str, spelling: str) -> Optional[Word]:
        if kind in OTHER_KINDS:
            return self.others.get((kind, spelling))
        w = self.selectors.get(spelling)
        return w if w is not None and w.kind == kind else None

    def names_of(self, kind: str) -> list[str]:
        return [w.name for (k, _), w in self.words.items() if k == kind]

    def suggest(self, spelling: str, kind: Optional[str] = None) -> Optional[str]:
        """A 'did you mean' for an unknown name."""
        if kind in OTHER_KINDS:
            pool = [s for (k, s) in self.others if k == kind]
        elif kind:
            pool = [s for s, w in self.selectors.items() if w.kind == kind]
        else:
            pool = list(self.selectors)
        return did_you_mean(spelling, pool)


def build(defines: list[ast.Define]) -> tuple[Vocabulary, list[tuple[ast.Span, str]]]:
    """Gather the vocabulary; returns it and the problems found (unknown kinds, clashes)."""
    words: dict = {}
    selectors: dict = {}
    others: dict = {}
    problems: list[tuple[ast.Span, str]] = []
    for d in defines:
        if d.kind not in KINDS:
            problems.append((d.span, f"unknown kind of name `{d.kind}`; the kinds are {', '.join(KINDS)}"))
            continue
        for e in d.entries:
            if bool(e.condition) != (d.kind in COMPUTED_KINDS):
                problems.append((e.span, f"a cohort is defined by a condition: `{e.name} when birth-date <= 1955-12-31`"
                                 if d.kind in COMPUTED_KINDS else
                                 f"only a cohort takes a condition (`when`); a {d.kind} is given by the claim"))
            word = Word(d.kind, e.name, e.aliases, e.description, e.span, e.condition)
            words[(d.kind, e.name)] = word
            for spelling in (e.name, *e.aliases):
                if d.kind in OTHER_KINDS:
                    twin = others.get(("date" if d.kind == "measure" else "measure", spelling))
                    if d.kind != "fund" and twin is not None:
                        # Measures and dated facts are one namespace of the claim's facts.
                        problems.append((e.span, f"`{spelling}` already names the {twin.kind} `{twin.name}` "
                                                 f"({twin.span.file}:{twin.span.line})"))
                        continue
                    others[(d.kind, spelling)] = word
                    continue
                clash = selectors.get(spelling)
                if clash is not None and (clash.kind, clash.name) != (d.kind, e.name):
                    problems.append((e.span, f"`{spelling}` already names the {clash.kind} `{clash.name}` "
                                             f"({clash.span.file}:{clash.span.line})"))
                    continue
                selectors[spelling] = word
    return Vocabulary(words, selectors, others), problems

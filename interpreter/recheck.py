"""Checking a policy again after an edit by reusing what the unchanged blocks gave (the
language server).

The compiler turns each line of a scheme, with the block around it, into clauses and
problems; a long benefit block is hundreds of such lines, and an edit changes one. The
`Rechecker` keeps, for every line and block it compiled, what came out: the clauses, the
problems, the pools, the break points of dates and measures, and every question it asked
the vocabulary with the answer it got. Another version asks again only for a line whose
text, tree, surroundings (the block's selectors, fund, citation, the parameters declared)
or vocabulary answers differ: a changed `define` makes exactly the lines that asked about
the names it defines be compiled again. A line that only moved is reused with its spans
moved; its clauses keep their order among the others. The checks over a whole scheme
(ambiguity, coverage) then run on the clauses as the compiler runs them, the ambiguity
check with each pair's verdict kept (`_Verdicts`). The result is the full compile's,
diagnostics and positions included (tests/test_recheck.py compares them after series of
random edits).
"""

from __future__ import annotations

from decimal import localcontext
from pathlib import Path
from typing import Optional

import attrs

from . import ast, indentation
from .clauses import Clause, Constraint, pairs_to_compare
from .compiler import Problems, _Compiler, compile_modules
from .errors import MedCompileError
from .money import CONVERTING
from .policy import Policy, _gather
from .reparse import shifted
from .text import source_text
from .vocabulary import Vocabulary, Word


_MISSING = object()


@attrs.frozen
class _Kept:
    """What compiling one line (and the block under it) gave, at the place it was compiled."""

    node: ast.Line
    line: int                # the line's first line (1-based) when compiled
    order: int               # the compiler's clause counter before it
    used: int                # clause numbers it took
    answers: tuple           # (question, arguments, answer): what it asked the vocabulary
    clauses: tuple
    problems: tuple
    pools: tuple             # (fund, pool key)
    measure_breaks: tuple    # (measure, frozenset of break points)
    date_breaks: frozenset
    params: frozenset        # the parameters it (and the lines under it) read
    inner: tuple             # (key, _Kept) of the lines under it, kept with it


def _answer(value):
    """A vocabulary answer as far as the compiler reads it: a word's span only matters for a
    cohort (its condition's problems point into the `define`)."""
    if isinstance(value, Word):
        return (value.kind, value.name, value.aliases, value.condition,
                (value.span.file, value.span.line, value.span.column) if value.condition else None)
    if isinstance(value, list):
        return tuple(value)
    return value


class _Asked:
    """The vocabulary, noting each question and answer in `log` (when there is one)."""

    def __init__(self, vocab: Vocabulary):
        self.real = vocab
        self.log: Optional[list] = None

    def _ask(self, question: str, *args):
        value = getattr(self.real, question)(*args)
        if self.log is not None:
            self.log.append((question, args, _answer(value)))
        return value

    def selector(self, spelling):
        return self._ask("selector", spelling)

    def lookup(self, kind, spelling):
        return self._ask("lookup", kind, spelling)

    def names_of(self, kind):
        return self._ask("names_of", kind)

    def suggest(self, spelling, kind=None):
        return self._ask("suggest", spelling, kind)


class Rechecker:
    """One document's compiled lines, kept from one version to the next. Not thread-safe: one
    per document, used by one thread at a time (the language server's worker)."""

    def __init__(self):
        self.kept: dict = {}       # key -> _Kept, used by this version
        self.previous: dict = {}   # those of the last version
        self.kept_pairs: dict = {}
        self.previous_pairs: dict = {}
        self.kept_overlaps: dict = {}
        self.previous_overlaps: dict = {}
        self.reused = self.compiled = 0  # lines, in the last check (outermost reuses count once)

    def compile(self, text: str, name: str, base_dir: Optional[str], module: ast.Module):
        """`policy.compile(text, name, base_dir=..., module=module)`, reusing the lines of
        the versions before: the same Policy, or the same MedError."""
        self.reused = self.compiled = 0
        lines = source_text(text).split("\n")
        sources = {name: text}
        with localcontext(CONVERTING):
            used = _gather(module, Path(base_dir) if base_dir else None, sources)
            try:
                compiled, diags = compile_modules(
                    module, used, lambda vocab, problems: _Recompiler(vocab, problems, self, lines))
            finally:
                # the lines of this version are the ones the next will find
                self.previous, self.kept = self.kept or self.previous, {}
                self.previous_pairs, self.kept_pairs = self.kept_pairs or self.previous_pairs, {}
                self.previous_overlaps, self.kept_overlaps = self.kept_overlaps or self.previous_overlaps, {}
        if compiled is None:
            raise MedCompileError([d for d in diags if d.severity == "error"])
        return Policy(compiled, [d for d in diags if d.severity == "warning"], sources)

    def find(self, key, node: ast.Line, ask) -> Optional[_Kept]:
        """The kept line for `key`, if its tree is `node` and the vocabulary answers its
        questions as before (`ask(question, args)`: this version's answer)."""
        kept = self.kept.get(key) or self.previous.get(key)
        if kept is None or kept.node != node:
            return None
        for question, args, answer in kept.answers:
            if ask(question, args) != answer:
                return None
        return kept

    def keep(self, key, kept: _Kept) -> None:
        """Keep a line for the next version, and the lines under it (the next version may
        change one of them)."""
        self.kept[key] = kept
        for inner_key, inner in kept.inner:
            if inner_key not in self.kept:
                self.keep(inner_key, inner)

    def overlap(self, key, work):
        """`work()`, the verdict on a pair of clauses, kept by what it reads of them."""
        found = self.kept_overlaps.get(key, _MISSING)
        if found is _MISSING:
            found = self.previous_overlaps.get(key, _MISSING)
            if found is _MISSING:
                found = work()
        self.kept_overlaps[key] = found
        return found

    def pairs(self, constraints: list, tiers: list) -> list:
        """`clauses.pairs_to_compare`, kept: an edit of a number leaves them as they were."""
        key = (tuple(constraints), tuple(tiers))
        found = self.kept_pairs.get(key, self.previous_pairs.get(key))
        if found is None:
            found = pairs_to_compare(constraints, tiers)
        self.kept_pairs[key] = found
        return found


class _Recompiler(_Compiler):
    """The compiler, each line's result kept by the Rechecker and reused when nothing it
    depends on changed."""

    def __init__(self, vocab: Vocabulary, problems: Problems, keeper: Rechecker, lines: list[str]):
        super().__init__(_Asked(vocab), problems)
        self.keeper = keeper
        self.source = lines
        self.every_answer: dict = {}
        self.answers: dict = {}  # (question, arguments) -> this version's answer
        self.params_read: set = set()  # by the lines compiled or replayed so far (within a line: its own)
        self.inner: list = []  # (key, _Kept) of the lines compiled or replayed so far within a line

    def policy(self, module: ast.Module):
        compiled = attrs.evolve(super().policy(module), vocabulary=self.vocab.real)
        self.vocab = self.vocab.real  # the member rules' checks ask it directly
        return compiled

    def _every(self, kind: str) -> set:
        every = super()._every(kind)
        if self.vocab.log is not None:  # cached across lines: each line still notes it asked
            if kind not in self.every_answer:
                self.every_answer[kind] = _answer(self.vocab.real.names_of(kind))
            self.vocab.log.append(("names_of", (kind,), self.every_answer[kind]))
        return every

    def _text(self, line: ast.Line) -> str:
        """The source of a line and the block under it (a block's own span is its head's),
        from the start of its first line: the same text is the same layout."""
        last = line
        while last.children:
            last = last.children[-1]
        first, end = line.span.line - 1, last.span.end_line - 1
        if end > last.span.line - 1 and end < len(self.source) and \
                last.span.end_column - 1 <= len(indentation.leading(self.source[end])):
            end -= 1  # a span running to the next line of code ends before it
        return "\n".join(self.source[first:end + 1])  # whole lines: a clause's span ends before its `cite`

    def lines(self, line: ast.Line, outer: Constraint, fund: str, exception: bool, outer_cite: tuple) -> list[Clause]:
        key = (self._text(line), outer, fund, exception, outer_cite, tuple(self.params))
        kept = self.keeper.find(key, line, self._ask)
        if kept is None:
            kept = self._compile(line, outer, fund, exception, outer_cite)
            self.keeper.compiled += 1
        else:
            self.keeper.reused += 1
        self.keeper.keep(key, kept)
        self.inner.append((key, kept))
        return self._replay(kept, line.span.line)

    def _compile(self, line, outer, fund, exception, outer_cite) -> _Kept:
        """Compile a line with fresh collectors, so that what it gave can be kept apart."""
        saved = (self.p, self.pools, self.measure_breaks, self.date_breaks, self.vocab.log, self.params_read,
                 self.inner, self.order)
        log: list = []
        self.p, self.pools, self.measure_breaks, self.date_breaks = Problems(), {}, {}, set()
        self.vocab.log, self.params_read, self.inner = log, _param_names(line, set()), []
        try:
            clauses = super().lines(line, outer, fund, exception, outer_cite)
            kept = _Kept(line, line.span.line, saved[-1], self.order - saved[-1], tuple(log), tuple(clauses),
                         tuple(self.p.items), tuple((f, k) for f, keys in self.pools.items() for k in keys),
                         tuple((m, frozenset(v)) for m, v in self.measure_breaks.items()),
                         frozenset(self.date_breaks), frozenset(self.params_read), tuple(self.inner))
        finally:
            (self.p, self.pools, self.measure_breaks, self.date_breaks, self.vocab.log, self.params_read,
             self.inner, self.order) = saved
        return kept

    def _ask(self, question: str, args: tuple):
        key = (question, args)
        if key not in self.answers:
            self.answers[key] = _answer(getattr(self.vocab.real, question)(*args))
        return self.answers[key]

    def _replay(self, kept: _Kept, line: int) -> list[Clause]:
        """Add what a kept line gave to this compile, moved to where the line now is."""
        moved = line - kept.line
        if self.vocab.log is not None:
            self.vocab.log.extend(kept.answers)
        self.p.items.extend(kept.problems if not moved else (shifted(d, moved) for d in kept.problems))
        for f, k in kept.pools:
            self.pools.setdefault(f, set()).add(k)
        for m, points in kept.measure_breaks:
            self.measure_breaks.setdefault(m, set()).update(points)
        self.date_breaks |= kept.date_breaks
        self.params_read |= kept.params
        renumber = self.order - kept.order
        self.order += kept.used
        if not moved and not renumber:
            return list(kept.clauses)
        return [_moved(c, moved, renumber) for c in kept.clauses]

    def pairs_to_compare(self, constraints: list, tiers: list) -> list:
        return self.keeper.pairs(constraints, tiers)

    def overlap(self, a: Clause, sa, b: Clause, sb):
        key = (a.constraint, b.constraint, a.tier, b.tier, sa.value, sb.value, a is b)
        try:
            hash(key)
        except TypeError:  # a value that cannot be a key: judged afresh
            return super().overlap(a, sa, b, sb)
        return self.keeper.overlap(key, lambda: super(_Recompiler, self).overlap(a, sa, b, sb))

    def claim_params(self, module: ast.Module) -> set:
        """The parameters the lines read (noted as they were compiled), and any a scheme or
        fund head reads outside its lines."""
        found = set(self.params_read)
        for item in module.items:
            if isinstance(item, ast.Scheme):
                _param_names(item, found)
        return found


def _moved(c: Clause, lines: int, renumber: int) -> Clause:
    return Clause(c.constraint, shifted(c.settings, lines), c.exception, c.order + renumber,
                  shifted(c.span, lines), c.cite, c.fund, c.item)


def _param_names(node, found: set, top: bool = True) -> set:
    """The parameters `node` names, not counting the lines under it (each notes its own)."""
    if isinstance(node, tuple):
        for v in node:
            _param_names(v, found, False)
    elif isinstance(node, ast.ParamRef):
        found.add(node.name)
    elif attrs.has(type(node)) and (top or not isinstance(node, ast.Line)):
        for f in attrs.fields(type(node)):
            value = getattr(node, f.name)
            if not isinstance(value, ast.Span):
                _param_names(value, found, False)
    return found

"""AST -> checked, compiled policy.

Resolves every name against the vocabulary, turns lines into clauses (a block's
selectors and settings flow into the clauses inside it), collects every problem with its
span, and checks what can be checked before any claim is seen: unknown names, rates over
100%, negative amounts, clauses that overlap with nothing to decide between them, and
benefits that leave a level or status without a rate.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Callable, Iterable, Optional

import attrs

from . import accounts, ast
from .claim_fields import CHOICE_PREFIX, fed_words, feeders
from .claim_fields import walk as walk_fields
from .clauses import (AllowanceAdjustSpec, Amt, BandSpec, CapAdjustSpec, CapSpec, CeilingSpec, Clause, Clauses,
                      Constraint, PoolKey, RateAsSpec, Setting, ThresholdSpec, pairs_to_compare)
from .errors import Diagnostic
from .members.rules import compile_members
from .members.syntax import MembersBlock
from .vocabulary import ITEM_DIMS, MULTI_DIMS, Vocabulary, build

# A setting lowered: (an inline table entry's (constraint, span), or None: the whole line; the setting)
Lowered = list[tuple[Optional[tuple], Setting]]
_ONE = Decimal(1)


# Ambiguities reported per quantity of a scheme: each costs a search for a clause that settles
# it, and a table whose entries all cross one another would otherwise report N² of them.
MAX_AMBIGUITIES = 20


class Problems:
    """Collects diagnostics instead of stopping at the first."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, span: ast.Span, message: str, hint: Optional[str] = None) -> None:
        self.items.append(Diagnostic(span, message, "error", hint))

    def warning(self, span: ast.Span, message: str, hint: Optional[str] = None) -> None:
        self.items.append(Diagnostic(span, message, "warning", hint))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]


@attrs.frozen(eq=False)
class FundRules:
    """One fund of a scheme: how it pays (its base) and its clauses."""

    name: str
    span: ast.Span
    cite: Optional[str] = None
    base: Optional[str] = None               # None for basic and maternity, else "burden", "above-cap" or "remaining"
    benefits: Optional[frozenset] = None     # the benefits a layer `for` some pays on; None: every one
    clauses: tuple[Clause, ...] = ()
    including_prepay: bool = False
    above_deductible: bool = False
    including_first_share: bool = False
    excluding_above_cap: frozenset = frozenset()  # benefits whose cost above their own caps is no burden


@attrs.frozen(eq=False)
class SchemeRules:
    """One scheme's compiled rules."""

    name: str
    span: ast.Span
    funds: tuple[FundRules, ...]   # basic first, then in declared order
    clauses: Clauses               # benefit clauses (the basic fund, or `paid-by`)
    item_clauses: Clauses          # clauses about item classes
    benefits: frozenset            # benefits the scheme has clauses for
    pools: dict                    # fund -> every capped pool (PoolKey) it has


@attrs.frozen(eq=False)
class Compiled:
    """What the compiler hands the engine: plain, immutable data."""

    title: str
    region: Optional[str]
    effective: tuple[Optional[int], Optional[int]]   # day ordinals, None: open
    params: tuple[str, ...]
    parameters: dict                 # name -> ast.Parameter: description, default and its source
    param_descriptions: dict
    schemes: dict[str, SchemeRules]
    vocabulary: Vocabulary
    file: str
    cite: Optional[str]
    measure_breaks: dict[str, tuple[int, ...]]
    date_breaks: tuple[int, ...]
    members: object = None           # members.rules.MemberRules


def compile_modules(main: ast.Module, used: list[ast.Module],
                    compiler: Optional[Callable] = None) -> tuple[Optional[Compiled], list[Diagnostic]]:
    """Compile a parsed policy and the modules it uses; returns it (or None) and every problem.
    `compiler`: makes the compiler from (vocabulary, problems) — the language server's keeps
    each block's clauses from the last version (recheck.py); the default compiles everything."""
    problems = Problems()
    defines = [i for m in [*used, main] for i in m.items if isinstance(i, ast.Define)]
    vocab, vocab_problems = build(defines)
    for span, msg in vocab_problems:
        problems.error(span, msg)
    for span, msg in unfed_names(vocab):
        problems.error(span, msg[0], hint=msg[1])
    c = (compiler or _Compiler)(vocab, problems)
    compiled = c.policy(main)
    compiled = attrs.evolve(compiled, members=compile_members(main, vocab, c.params, problems, c.claim_params(main)))
    _warn_without_schemes(main, problems)
    problems.items.sort(key=lambda d: (d.span.file, d.span.line, d.span.column))
    if problems.errors:
        return None, problems.items
    return compiled, problems.items


def _warn_without_schemes(main: ast.Module, problems: Problems) -> None:
    """A warning for a policy no claim can be settled by, of which `med check` said only "ok".
    (A file with no `policy` header is a module: its definitions are for others to use.)"""
    header = next((i for i in main.items if isinstance(i, ast.PolicyHeader)), None)
    if header is not None and not any(isinstance(i, (ast.Scheme, MembersBlock)) for i in main.items):
        problems.warning(header.span, "the policy has no `scheme` block: it settles no claim")


class _Compiler:
    def __init__(self, vocab: Vocabulary, problems: Problems):
        self.vocab = vocab
        self.p = problems
        self.params: dict[str, ast.Parameter] = {}
        self.order = 0
        self.measure_breaks: dict[str, set[int]] = {}
        self.date_breaks: set[int] = set()
        self.open_cohorts: set[str] = set()
        self.pools: dict[str, set] = {}  # fund -> capped pools, for the scheme being compiled
        self.every: dict[str, set] = {}  # kind -> its names (_every)

    # ---- top level -------------------------------------------------------------
    def policy(self, module: ast.Module) -> Compiled:
        header = None
        schemes: dict[str, SchemeRules] = {}
        for item in module.items:
            if isinstance(item, ast.PolicyHeader):
                if header is not None:
                    self.p.error(item.span, "a file has one `policy` header")
                header = item
            elif isinstance(item, ast.Parameter):
                if item.name in self.params:
                    self.p.error(item.span, f"parameter `{item.name}` is declared twice")
                self.params[item.name] = item
        effective = (None, None)
        if header is not None:
            effective = (self._date(header.effective_from, header.span), self._date(header.effective_to, header.span))
            if effective[0] and effective[1] and effective[0] > effective[1]:
                self.p.error(header.span, "the effective period ends before it starts")
        for item in module.items:
            if isinstance(item, ast.Scheme):
                word = self.vocab.lookup("scheme", item.name)
                if word is None:
                    self._unknown(item.span, item.name, "scheme")
                    continue
                if word.name in schemes:
                    self.p.error(item.span, f"scheme `{word.name}` is written twice; put its clauses in one block")
                    continue
                schemes[word.name] = self.scheme(word.name, item)
        return Compiled(
            title=header.title if header else module.file,
            region=header.region if header else None,
            effective=effective,
            params=tuple(self.params),
            parameters=dict(self.params),  # name -> ast.Parameter: description, default and its source
            param_descriptions={name: p.description for name, p in self.params.items()},
            schemes=schemes,
            vocabulary=self.vocab,
            file=module.file,
            cite=header.cite if header else None,
            measure_breaks={m: tuple(sorted(v)) for m, v in self.measure_breaks.items()},
            date_breaks=tuple(sorted(self.date_breaks)),
        )

    def _date(self, text: Optional[str], span: ast.Span) -> Optional[int]:
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text).toordinal()
        except ValueError:
            self.p.error(span, f"`{text}` is not a date")
            return None

    # ---- schemes ---------------------------------------------------------------
    def scheme(self, name: str, node: ast.Scheme) -> SchemeRules:
        self.pools = {}
        funds: list[FundRules] = []
        benefit_clauses: list[Clause] = []
        item_clauses: list[Clause] = []
        basic_extra: list[Clause] = []
        for it in node.items:
            if isinstance(it, ast.FundBlock):
                f = self.fund(it)
                if f is None:
                    continue
                twin = next((g for g in funds if g.name == f.name), None)
                if twin is not None and (f.benefits is None or twin.benefits is None or f.benefits & twin.benefits):
                    self.p.error(it.span, f"fund `{f.name}` is declared twice in scheme {name} for the same benefits",
                                 hint="a layer may be declared again only `for` other benefits")
                    continue
                funds.append(f)
            else:
                for cl in self.lines(it, Constraint(), "basic", False, ()):
                    (item_clauses if cl.item else benefit_clauses).append(cl)
        names = [f.name for f in funds]
        if "basic" not in names:
            funds.insert(0, FundRules("basic", node.span))
        else:
            basic = funds.pop(names.index("basic"))
            if basic.base is not None:
                self.p.error(basic.span, "the basic fund pays on the benefits' own terms; it takes no `on ...` base")
            basic_extra = list(basic.clauses)
            funds.insert(0, basic)
        # Clauses on the basic fund's line (its annual cap) count with the benefit clauses.
        benefit_clauses = basic_extra + benefit_clauses
        payers = {s.value for c in benefit_clauses for s in c.settings if s.quantity == "paid_by"}
        for payer in payers:
            if payer not in [f.name for f in funds]:
                funds.append(FundRules(payer, node.span))
        benefits = set()
        for c in benefit_clauses:
            b = c.constraint.get("benefit")
            if b:
                benefits |= b
        pools = {f: tuple(sorted(keys, key=repr)) for f, keys in self.pools.items()}
        rules = SchemeRules(name, node.span, tuple(funds), Clauses(benefit_clauses), Clauses(item_clauses),
                            frozenset(benefits), pools)
        self.check_scheme(rules)
        return rules

    def fund(self, node: ast.FundBlock) -> Optional[FundRules]:
        word = self.vocab.lookup("fund", node.name)
        if word is None:
            self._unknown(node.span, node.name, "fund")
            return None
        base = node.base
        benefits = None
        if base is not None and base.benefits:
            benefits = frozenset(self._names(base.benefits, "benefit", base.span))
        clauses = []
        if node.settings or node.children:
            head = ast.Line((), node.settings, node.cite, False, node.children, span=node.span)
            # A layer `for` some benefits speaks only of them; so do its caps.
            scope = Constraint((("benefit", benefits),)) if benefits else Constraint()
            clauses = self.lines(head, scope, word.name, False, ())
        for c in clauses:
            if c.item:
                self.p.error(c.span, "a fund's clauses are about claims, not item classes; write item rules in the scheme")
        if base is None and word.name not in ("basic", "maternity") and clauses:
            self.p.error(node.span, f"fund `{word.name}` needs a base: `on burden`, `on eligible above cap` or `on remaining`")
        if base is None and word.name == "maternity" and clauses:
            # Only the basic fund's line carries clauses; the maternity fund pays on its benefits' terms.
            self.p.error(node.span, "the maternity fund pays on the terms of the benefits it pays: write its caps "
                                    "there (`maternity paid-by maternity cap 5000 yearly`)")
        clauses = tuple(c for c in clauses if not c.item)
        if base is None:
            return FundRules(word.name, node.span, node.cite, clauses=clauses)
        return FundRules(word.name, node.span, node.cite, base.kind, benefits, clauses,
                         including_prepay=base.including_prepay, above_deductible=base.above_deductible,
                         including_first_share=base.including_first_share,
                         excluding_above_cap=frozenset(self._names(base.excluding_above_cap, "benefit", base.span)))

    # ---- lines -> clauses --------------------------------------------------------
    def lines(self, line: ast.Line, outer: Constraint, fund: str, exception: bool,
              outer_cite: tuple) -> list[Clause]:
        own = self.constraint(line.selectors)
        constraint = outer.meet(own)
        for dim, values in constraint.values:
            if not values and dim not in MULTI_DIMS:
                self.p.error(line.span, f"this line can never apply: its {dim} contradicts the block it is in")
                return []
        exception = exception or line.exception
        cite = line.cite or (outer_cite[0] if outer_cite else None)
        out: list[Clause] = []
        if line.settings:
            out.extend(self.clauses_of(line, constraint, fund, exception, cite))
        elif not line.children:
            self.p.error(line.span, "this line selects claims but sets nothing; add a setting or an indented block")
        for child in line.children:
            out.extend(self.lines(child, constraint, fund, exception, (cite,) if cite else ()))
        return out

    def clauses_of(self, line: ast.Line, constraint: Constraint, fund: str, exception: bool,
                   cite: Optional[str]) -> list[Clause]:
        plain: list[Setting] = []
        expanded: list[tuple[Constraint, Setting, ast.Span]] = []
        for s in line.settings:
            for sub, setting in self.setting(s, fund):
                if sub is None:
                    plain.append(setting)
                else:
                    expanded.append((constraint.meet(sub[0]), setting, sub[1]))
        # A class or bed kind named, or only excluded (`not herbal prepay 10%`: every other class),
        # makes a clause about items; a claim has no class, so `not herbal` would hold for all.
        item = bool(_item_dims(constraint))
        clauses = []
        if plain:
            clauses.append(self._clause(constraint, plain, exception, line.span, cite, fund, item))
        for c, setting, span in expanded:
            clauses.append(self._clause(c, [setting], exception, span, cite, fund, item or bool(_item_dims(c))))
        return clauses

    def _clause(self, constraint, settings, exception, span, cite, fund, item) -> Clause:
        self.order += 1
        settings = [self._pool(s, constraint, fund) for s in settings]
        shared = frozenset(b for s in settings if s.quantity.startswith("cap:") and s.mode == "abs" and s.value
                           for b in s.value.shared)
        if shared:
            # A cap shared with other benefits also constrains their claims.
            mine = constraint.get("benefit")
            if mine is not None:
                constraint = constraint.without("benefit").meet(Constraint((("benefit", mine | shared),)))
        clause = Clause(constraint, tuple(settings), exception, self.order, span, cite, fund, item)
        if item:
            for s in settings:
                if s.quantity not in ("prepay", "ceiling", "rate"):
                    self.p.error(s.span, f"a clause about item classes sets prepay, ceiling or rate, not {s.quantity.split(':')[0]}")
        else:
            for s in settings:
                if s.quantity == "prepay" and isinstance(s.value, BandSpec):
                    self.p.error(s.span, "tiers by unit price belong to an item class (`material prepay 10% to 500, ...`); "
                                         "a claim's first personal share is one percentage")
        return clause

    def _pool(self, s: Setting, constraint: Constraint, fund: str) -> Setting:
        """Caps pool the payments of the benefits (and maternity events) they are written for."""
        if s.quantity not in ("cap", "cap.adjust", "cap.none"):
            return s
        benefits = constraint.get("benefit")
        shared = s.value.shared if s.quantity == "cap" else ()
        if benefits is not None:
            benefits = benefits | frozenset(shared)
        events = constraint.get("event")
        # `cap none` and `cap + N` speak of the yearly cap.
        period = s.value.period if s.quantity == "cap" else "year"
        key = PoolKey(tuple(sorted(benefits)) if benefits else None, tuple(sorted(events)) if events else None, period)
        self.pools.setdefault(fund, set()).add(key)
        suffix = f"cap:{key}"
        if s.quantity == "cap":
            return Setting(suffix, "abs", attrs.evolve(s.value, pool=key), s.span)
        if s.quantity == "cap.none":
            return Setting(suffix, "abs", None, s.span)
        return Setting(suffix + ".adjust", "adjust", s.value, s.span)

    # ---- selectors -------------------------------------------------------------
    # Each selector adds to what the line's selectors say (_Selected), by the method its class
    # names in _SELECTORS; then they are one Constraint.
    def constraint(self, selectors: Iterable[ast.Selector]) -> Constraint:
        said = _Selected()
        for s in selectors:
            _SELECTORS[type(s)](self, s, said)
        values, excluded = said.values, said.excluded
        if "area" in values and "within-region" not in values["area"]:
            # Care in another area is never local care: the two dimensions agree (claims.py).
            excluded.setdefault("place", set()).add("local")
        for dim in list(values):
            # Every level (say) at once constrains nothing; written out, it must not look specific.
            if dim not in MULTI_DIMS and values[dim] == self._every(dim):
                del values[dim]
        con = Constraint(tuple(sorted((k, frozenset(v)) for k, v in values.items())),
                         tuple(sorted((k, frozenset(v)) for k, v in excluded.items())),
                         tuple(sorted(said.measures.items())), said.dates,
                         tuple(sorted((k, frozenset(v)) for k, v in said.required.items())))
        for cohort in said.cohorts:
            con = con.meet(cohort)
        return con

    def _name_selector(self, s: ast.NameSelector, said: "_Selected") -> None:
        word = self.vocab.selector(s.name)
        if word is None:
            self._unknown(s.span, s.name, None)
        elif word.kind == "scheme":
            self.p.error(s.span, f"`{s.name}` is a scheme: write its clauses in a `scheme {word.name}` block")
        elif word.kind == "cohort":
            cohort = self._cohort(word, s)
            if cohort is not None:
                said.cohorts.append(cohort)
        else:
            (said.excluded if s.negated else said.values).setdefault(word.kind, set()).add(word.name)

    def _all_selector(self, s: ast.AllSelector, said: "_Selected") -> None:
        kind, names = self._all_of(s)
        if kind is not None:
            said.required.setdefault(kind, set()).update(names)

    def _measure_selector(self, s: ast.MeasureSelector, said: "_Selected") -> None:
        word = self.vocab.lookup("measure", s.measure)
        if word is not None:
            self._interval(said.measures, word.name, _measure_interval(s.op, s.bound))
        elif self.vocab.lookup("date", s.measure) is not None:
            self.p.error(s.span, f"`{s.measure}` is a date: compare it with a date (`{s.measure} <= 1955-12-31`)")
        else:
            self._unknown(s.span, s.measure, "measure")

    def _fact_date_selector(self, s: ast.FactDateSelector, said: "_Selected") -> None:
        word = self.vocab.lookup("date", s.fact)
        day = self._date(s.date, s.span)
        if word is None:
            if self.vocab.lookup("measure", s.fact) is not None:
                self.p.error(s.span, f"`{s.fact}` is a measure: compare it with a number, not a date")
            else:
                self._unknown(s.span, s.fact, "date")
        elif day is not None:
            # A dated fact is kept as its day number: the same intervals as a measure.
            self._interval(said.measures, word.name, _measure_interval(s.op, Decimal(day)))

    def _date_selector(self, s: ast.DateSelector, said: "_Selected") -> None:
        d = self._date(s.date, s.span)
        if d is None:
            return
        if s.kind == "from":
            said.dates = (d, said.dates[1])
            self.date_breaks.add(d)
        else:
            said.dates = (said.dates[0], d)
            self.date_breaks.add(d + 1)

    def _interval(self, measures: dict, name: str, iv: tuple) -> None:
        old = measures.get(name)
        measures[name] = iv if old is None else (
            max(x for x in (old[0], iv[0]) if x is not None) if (old[0] is not None or iv[0] is not None) else None,
            min(x for x in (old[1], iv[1]) if x is not None) if (old[1] is not None or iv[1] is not None) else None)
        bps = self.measure_breaks.setdefault(name, set())
        if iv[0] is not None:
            bps.add(iv[0])
        if iv[1] is not None:
            bps.add(iv[1] + 1)

    def _cohort(self, word, s: ast.NameSelector) -> Optional[Constraint]:
        """A cohort's condition, as the clause's own selectors (a cohort may name another)."""
        if s.negated:
            self.p.error(s.span, f"`not {s.name}`: a cohort cannot be negated (its condition is several facts); "
                                 f"define the other cohort and name it")
            return None
        if word.name in self.open_cohorts:
            self.p.error(s.span, f"cohort `{word.name}` is defined by itself")
            return None
        self.open_cohorts.add(word.name)
        try:
            return self.constraint(word.condition)
        finally:
            self.open_cohorts.discard(word.name)

    def _all_of(self, s: ast.AllSelector) -> tuple[Optional[str], list[str]]:
        """`hypertension and diabetes`: names of one kind a claim may have several of, all held."""
        words = []
        for name in s.names:
            word = self.vocab.selector(name)
            if word is None:
                self._unknown(s.span, name, None)
                return None, []
            words.append(word)
        kinds = {w.kind for w in words}
        if len(kinds) > 1 or next(iter(kinds)) not in MULTI_DIMS:
            self.p.error(s.span, f"`and` joins names of one kind a claim may have several of "
                                 f"({', '.join(MULTI_DIMS)}), not {' and '.join(sorted(kinds))}",
                         hint="names of different kinds must all hold already: write them side by side")
            return None, []
        return words[0].kind, [w.name for w in words]

    def _every(self, kind: str) -> set:
        """Every name of a kind (asked once per selector: a thousand-clause block asked 1,000 times)."""
        every = self.every.get(kind)
        if every is None:
            every = self.every[kind] = set(self.vocab.names_of(kind))
        return every

    # ---- settings --------------------------------------------------------------
    # Each AST setting is lowered by the method its class names in _LOWERING (sqlglot's
    # TRANSFORMS, jinja's visit_<Class>) into settings, each with the (constraint, span) of the
    # inline table entry it came from, or None where it holds for the whole line.
    def setting(self, s, fund: str) -> Lowered:
        """One AST setting -> settings; inline tables expand to one per entry (with its constraint)."""
        return _LOWERING[type(s)](self, s, fund)

    @staticmethod
    def _one(quantity: str, mode: str, value, s) -> Lowered:
        return [(None, Setting(quantity, mode, value, s.span))]

    def _constant(self, s, fund: str) -> Lowered:
        """A setting that is its keyword alone (`yearly`, `rate halved`, `cap none`, ...)."""
        return self._one(*_CONSTANT[type(s)], s)

    def _deductible(self, s: ast.Deductible, fund: str) -> Lowered:
        if s.benefits:
            return self._threshold(s, fund)
        if s.value is None:
            return self._one("deductible", "abs", Amt(Decimal(0)), s)
        if isinstance(s.value, tuple):
            return self._entries(s.value, "deductible", lambda v: self._money(v, v.span, "a deductible"))
        return self._one("deductible", "abs", self._amount(s.value, "a deductible"), s)

    def _threshold(self, s: ast.Deductible, fund: str) -> Lowered:
        """A layer's threshold over the burden of some benefits: one of several (Shaoxing 第三十六条)."""
        if fund == "basic":
            self.p.error(s.span, "`for` benefits belongs to a layer's threshold, not a benefit's deductible")
        benefits = tuple(sorted(self._names(s.benefits, "benefit", s.span)))
        given = s.value is not None and not isinstance(s.value, tuple)
        amount = self._amount(s.value, "a threshold") if given else Amt(Decimal(0))
        return self._one(f"threshold:{','.join(benefits)}", "abs", ThresholdSpec(amount, frozenset(benefits)), s)

    def _deductible_adjust(self, s: ast.DeductibleAdjust, fund: str) -> Lowered:
        if s.halved:
            return self._one("deductible.halved", "adjust", True, s)
        return self._one("deductible.adjust", "adjust", self._amount(s.delta, None), s)

    def _deductible_repeat(self, s: ast.DeductibleRepeat, fund: str) -> Lowered:
        return self._one("deductible.repeat", "flag", self._amount(s.step, "a repeat-stay step"), s)

    def _deductible_floor(self, s: ast.DeductibleFloor, fund: str) -> Lowered:
        return self._one("deductible.floor", "flag", self._amount(s.floor, "a floor"), s)

    def _deductible_none_from(self, s: ast.DeductibleNoneFrom, fund: str) -> Lowered:
        if s.stay < 2:
            self.p.error(s.span, "`none from stay N` needs N of 2 or more; write `deductible none` for every stay")
        return self._one("deductible.none_from", "flag", s.stay, s)

    def _rate(self, s: ast.Rate, fund: str) -> Lowered:
        v = s.value
        if isinstance(v, tuple) and v and isinstance(v[0], ast.Entry):
            return self._entries(v, "rate", lambda x: self._share(x, x.span))
        return self._one("rate", "abs", self._bands(v) if isinstance(v, tuple) else self._share(v, s.span), s)

    def _rate_points(self, s: ast.RatePoints, fund: str) -> Lowered:
        return self._one("rate.points", "adjust", s.points / 100, s)

    def _rate_as(self, s: ast.RateAs, fund: str) -> Lowered:
        return self._one("rate", "abs", RateAsSpec(self._name(s.level, "level", s.span), s.points / 100), s)

    def _cap(self, s: ast.Cap, fund: str) -> Lowered:
        shared = tuple(self._names(s.shared_with, "benefit", s.span))
        return self._one("cap", "abs", CapSpec(self._amount(s.amount, "a cap"), s.period, shared), s)

    def _cap_adjust(self, s: ast.CapAdjust, fund: str) -> Lowered:
        each = self._name(s.each_extra, "measure", s.span) if s.each_extra else None
        if isinstance(s.delta, ast.Percent):
            return self._one("cap.adjust", "adjust", CapAdjustSpec(s.delta.value, True, each), s)
        return self._one("cap.adjust", "adjust", CapAdjustSpec(self._amount(s.delta, None), False, each), s)

    def _limit_or_fixed(self, s, fund: str) -> Lowered:
        q = "limit" if isinstance(s, ast.Limit) else "fixed"
        if isinstance(s.value, tuple):
            return self._entries(s.value, q, lambda v: self._money(v, v.span, f"a {q} amount"))
        return self._one(q, "abs", self._amount(s.value, f"a {q} amount"), s)

    def _ceiling(self, s: ast.Ceiling, fund: str) -> Lowered:
        return self._one("ceiling", "abs", CeilingSpec(self._amount(s.amount, "a ceiling"), s.daily), s)

    def _prepay(self, s: ast.Prepay, fund: str) -> Lowered:
        tiers = isinstance(s.value, tuple)
        return self._one("prepay", "abs", self._bands(s.value) if tiers else self._share(s.value, s.span), s)

    def _terms(self, s: ast.Terms, fund: str) -> Lowered:
        word = self.vocab.selector(s.level)
        if word is not None and (word.kind, word.name) == ("place", "local"):
            # `remote-resident terms local`: the local terms of the claim's own level (同市域内政策).
            return self._one("terms", "abs", "local", s)
        return self._one("terms", "abs", self._name(s.level, "level", s.span), s)

    def _as_benefit(self, s: ast.AsBenefit, fund: str) -> Lowered:
        out = self._one("as", "abs", self._name(s.benefit, "benefit", s.span), s)
        return out + self._one("as.stay", "flag", True, s) if s.stay else out

    def _paid_by(self, s: ast.PaidBy, fund: str) -> Lowered:
        if fund != "basic":
            self.p.error(s.span, "`paid-by` belongs to a benefit's clauses, not a fund's")
        return self._one("paid_by", "abs", self._name(s.fund, "fund", s.span), s)

    def _allowance_days(self, s: ast.AllowanceDays, fund: str) -> Lowered:
        return self._one("allowance", "abs", s.days, s)

    def _allowance_adjust(self, s: ast.AllowanceAdjust, fund: str) -> Lowered:
        each = self._name(s.each_extra, "measure", s.span) if s.each_extra else None
        return self._one("allowance.adjust", "adjust", AllowanceAdjustSpec(s.days, each), s)

    def _account(self, s, fund: str) -> Lowered:
        if fund != "basic":
            self.p.error(s.span, "the personal account's clauses belong to a benefit's clauses, not a fund's")
        relations = self._names(s.family, "relation", s.span) if isinstance(s, ast.AccountPays) else ()
        return [(None, Setting(q, mode, v, s.span)) for q, mode, v in accounts.settings_of(s, relations)]

    def _entries(self, entries, quantity: str, convert: Callable) -> list:
        out = []
        for e in entries:
            sub = self.constraint(e.selectors)
            out.append(((sub, e.span), Setting(quantity, "abs", convert(e.value), e.span)))
        return out

    def _share(self, v, span: ast.Span) -> Amt:
        if isinstance(v, ast.Percent):
            if v.value > 1:
                self.p.error(v.span, f"a rate of {_pct(v.value)} is over 100%")
            if v.value < 0:
                self.p.error(v.span, "a rate cannot be negative")
            return Amt(v.value)
        if isinstance(v, ast.ParamRef):
            self._param(v)
            return Amt(None, v.name, v.factor)
        if isinstance(v, ast.Number):
            self.p.error(v.span, f"a rate is a percentage: write {v.value}%")
            return Amt(Decimal(0))
        raise AssertionError(v)

    def _bands(self, bands: tuple) -> BandSpec:
        out = []
        last = None
        for b in bands:
            share = self._share(b.share, b.span)
            upper = self._amount(b.upper, "a band's bound") if b.upper is not None else None
            if upper is not None and upper.param is None and last is not None and last.param is None and upper.const <= last.const:
                self.p.error(b.span, f"bands must rise: {upper.const} does not come after {last.const}")
            last = upper
            out.append((share, upper))
        return BandSpec(tuple(out))

    def _money(self, v, span: ast.Span, what: str) -> Amt:
        if isinstance(v, ast.Percent):
            self.p.error(span, f"{what} is an amount of yuan, not a percentage")
            return Amt(Decimal(0))
        return self._amount(v, what)

    def _amount(self, v, what: Optional[str]) -> Amt:
        if isinstance(v, ast.Number):
            if what is not None and v.value < 0:
                self.p.error(v.span, f"{what} cannot be negative")
            return Amt(v.value)
        if isinstance(v, ast.ParamRef):
            self._param(v)
            return Amt(None, v.name, v.factor)
        if isinstance(v, ast.Percent):
            self.p.error(v.span, f"{what or 'an amount'} is yuan, not a percentage")
            return Amt(Decimal(0))
        raise AssertionError(v)

    def _param(self, ref: ast.ParamRef) -> None:
        if ref.name not in self.params:
            import difflib

            close = difflib.get_close_matches(ref.name, list(self.params), n=1)
            self.p.error(ref.span, f"unknown parameter `{ref.name}`",
                         hint=f"did you mean `{close[0]}`?" if close else f"declare it: `parameter {ref.name}`")

    def _name(self, spelling: str, kind: str, span: ast.Span) -> str:
        word = self.vocab.lookup(kind, spelling)
        if word is None:
            self._unknown(span, spelling, kind)
            return spelling
        return word.name

    def _names(self, spellings, kind: str, span: ast.Span) -> list[str]:
        return [self._name(s, kind, span) for s in spellings]

    def _unknown(self, span: ast.Span, name: str, kind: Optional[str]) -> None:
        guess = self.vocab.suggest(name, kind)
        what = f"{kind} " if kind else ""
        hint = f"did you mean `{guess}`?" if guess else None
        self.p.error(span, f"unknown {what}name `{name}`", hint=hint)

    # ---- checks ----------------------------------------------------------------
    def check_scheme(self, rules: SchemeRules) -> None:
        for clauses in [rules.clauses, rules.item_clauses] + [f.clauses for f in rules.funds]:
            self.check_ambiguity(clauses)
        self.check_coverage(rules)

    def check_ambiguity(self, clauses: tuple) -> None:
        """Two clauses that may both apply, set one thing differently, and neither is more specific."""
        by_quantity: dict[str, list[tuple[Clause, Setting]]] = {}
        for c in clauses:
            for s in c.settings:
                if s.mode == "abs":
                    by_quantity.setdefault(s.quantity, []).append((c, s))
        for q, pairs in by_quantity.items():
            reported, clashed = set(), set()
            # The clauses of each exact constraint, for the usual resolution: a clause for the overlap.
            by_constraint: dict[Constraint, int] = {}
            for c, _ in pairs:
                by_constraint[c.constraint] = max(by_constraint.get(c.constraint, -1), c.tier)
            for i, j in self.pairs_to_compare([c.constraint for c, _ in pairs], [c.tier for c, _ in pairs]):
                (a, sa), (b, sb) = pairs[i], pairs[j]
                meet = self.overlap(a, sa, b, sb)
                if meet is None:
                    continue
                if meet == "same":
                    if b.order not in clashed:  # (once a clause, against the first it clashes with)
                        clashed.add(b.order)
                        self.p.error(sb.span, f"this sets {_quantity(q)} for the same claims as line {a.span.line}, differently")
                    continue
                if by_constraint.get(meet, -1) >= a.tier or any(
                        meet.implies(c.constraint) and c.constraint.implies(a.constraint)
                        and c.constraint.implies(b.constraint) and c.tier >= a.tier for c, _ in pairs):
                    continue
                key = (a.order, b.order)
                if key in reported:
                    continue
                reported.add(key)
                if len(reported) > MAX_AMBIGUITIES:
                    break  # enough to act on; a table of crossing entries would give N² of them
                self.p.error(
                    sb.span,
                    f"ambiguous {_quantity(q)}: this clause and line {a.span.line} both apply to claims with "
                    f"{meet.describe()}, and neither is more specific",
                    hint="add a clause for the overlap, or mark the one that wins as `exception`",
                )

    def overlap(self, a: Clause, sa: Setting, b: Clause, sb: Setting):
        """Two clauses setting one quantity differently, as far as the pair alone tells: None
        (no conflict), "same" (the same claims), or the claims both apply to (a conflict
        unless another clause settles it)."""
        if a.tier != b.tier or sa.value == sb.value or a is b:
            return None
        if a.constraint.clearly_apart(b.constraint):
            return None
        if a.constraint.implies(b.constraint) or b.constraint.implies(a.constraint):
            return "same" if a.constraint == b.constraint else None
        if not a.constraint.overlaps(b.constraint) or _multi_only_overlap(a.constraint, b.constraint):
            return None
        return a.constraint.meet(b.constraint)

    def pairs_to_compare(self, constraints: list[Constraint], tiers: list[int]) -> list[tuple[int, int]]:
        return pairs_to_compare(constraints, tiers)  # the language server's compiler keeps them (recheck.py)

    def claim_params(self, module: ast.Module) -> Optional[set]:
        """The parameters the schemes' clauses read, when known without walking the tree
        again (the language server's compiler notes them per line); None: the member rules walk it."""
        return None

    def check_coverage(self, rules: SchemeRules) -> None:
        """A benefit whose rate varies by level must give one for every level and status."""
        levels = self.vocab.names_of("level")
        statuses = self.vocab.names_of("status") if rules.name == "employee" else [None]
        for benefit in sorted(rules.benefits):
            rated = [c for c in rules.clauses if _has(c, "rate") and _admits(c.constraint, "benefit", benefit)]
            if not any(c.constraint.get("level") for c in rated):
                continue
            if any(c.constraint.get("event") for c in rated):
                continue
            missing = []
            for level in levels:
                for status in statuses:
                    if not any(_plain_match(c.constraint, benefit, level, status) for c in rated):
                        missing.append(level + (f" {status}" if status else ""))
            if missing:
                named = [c for c in rules.clauses if benefit in (c.constraint.get("benefit") or ())]
                first = min(named or rated, key=lambda c: c.order)
                self.p.error(first.span, f"benefit `{benefit}` of scheme {rules.name} has no rate for local claims at "
                                         f"{', '.join(missing)}",
                             hint="add the clause, or `rate 0%` with the article that leaves it out")


@attrs.define
class _Selected:
    """What a line's selectors say, gathered before it is one Constraint."""

    values: dict = attrs.Factory(dict)     # dimension -> the names it may be
    excluded: dict = attrs.Factory(dict)   # dimension -> the names it may not be (`not ...`)
    required: dict = attrs.Factory(dict)   # dimension -> the names it must all have (`all of ...`)
    measures: dict = attrs.Factory(dict)   # measure or dated fact -> its closed interval
    cohorts: list = attrs.Factory(list)    # the constraints of the cohorts named
    dates: tuple = (None, None)            # the clause's own period, day ordinals


# Each selector class (ast.Selector) and the method that adds it to what a line says.
_SELECTORS: dict[type, Callable[[_Compiler, object, _Selected], None]] = {
    ast.NameSelector: _Compiler._name_selector,
    ast.AllSelector: _Compiler._all_selector,
    ast.MeasureSelector: _Compiler._measure_selector,
    ast.FactDateSelector: _Compiler._fact_date_selector,
    ast.DateSelector: _Compiler._date_selector,
}


# The settings that are their keyword alone: (quantity, mode, value).
_CONSTANT: dict[type, tuple[str, str, object]] = {
    ast.DeductibleYearly: ("deductible.yearly", "flag", True),
    ast.DeductibleReferral: ("deductible.referral", "flag", True),
    ast.RateHalved: ("rate.halved", "adjust", True),
    ast.NoCap: ("cap.none", "abs", None),
    ast.NotCovered: ("not_covered", "flag", True),
}

# Each AST setting class (ast.Setting) and the method that lowers it.
_LOWERING: dict[type, Callable[[_Compiler, object, str], Lowered]] = {
    **{kind: _Compiler._constant for kind in _CONSTANT},
    ast.Deductible: _Compiler._deductible,
    ast.DeductibleAdjust: _Compiler._deductible_adjust,
    ast.DeductibleRepeat: _Compiler._deductible_repeat,
    ast.DeductibleFloor: _Compiler._deductible_floor,
    ast.DeductibleNoneFrom: _Compiler._deductible_none_from,
    ast.Rate: _Compiler._rate,
    ast.RatePoints: _Compiler._rate_points,
    ast.RateAs: _Compiler._rate_as,
    ast.Cap: _Compiler._cap,
    ast.CapAdjust: _Compiler._cap_adjust,
    ast.Limit: _Compiler._limit_or_fixed,
    ast.Fixed: _Compiler._limit_or_fixed,
    ast.Ceiling: _Compiler._ceiling,
    ast.Prepay: _Compiler._prepay,
    ast.Terms: _Compiler._terms,
    ast.AsBenefit: _Compiler._as_benefit,
    ast.PaidBy: _Compiler._paid_by,
    ast.AllowanceDays: _Compiler._allowance_days,
    ast.AllowanceAdjust: _Compiler._allowance_adjust,
    ast.AccountPays: _Compiler._account,
    ast.AccountFirst: _Compiler._account,
    ast.AccountNone: _Compiler._account,
}


def unfed_names(vocab: Vocabulary) -> list[tuple[ast.Span, tuple[str, Optional[str]]]]:
    """Every defined name no claim field can give: a clause selecting on it would never match.
    Measures, flags and dated facts must be fed by a field of claim_fields; a name of a kind a
    field's value names (level, group, ...) is fed by that field, a choice field only with its values."""
    fed = fed_words()
    choices = {f.feeds[0]: {CHOICE_PREFIX.get(f.feeds[0], "") + v for v in f.values}
               for _, f in walk_fields() if f.type == "choice" and f.feeds and " " not in f.feeds[0]}
    out = []
    for (kind, name), word in vocab.words.items():
        if kind in ("measure", "flag", "date"):
            if f"{kind} {name}" in fed:
                continue
            given = sorted(w.split(" ", 1)[1] for w in fed if w.startswith(kind + " "))
            fields = ", ".join(f"{g} ({', '.join(feeders(f'{kind} {g}'))})" for g in given)
            out.append((word.span, (f"nothing feeds {kind} `{name}`: no claim field gives it, so a clause on it "
                                    f"would never match", f"the {kind}s a claim gives: {fields}")))
        elif kind in choices and name not in choices[kind]:
            out.append((word.span, (f"nothing feeds {kind} `{name}`: the claim's field gives only "
                                    f"{', '.join(sorted(choices[kind]))}", None)))
    return out


def _has(c: Clause, quantity: str) -> bool:
    return any(s.quantity == quantity and s.mode == "abs" for s in c.settings)


def _admits(con: Constraint, dim: str, value: str) -> bool:
    allowed = con.get(dim)
    return allowed is None or value in allowed


def _plain_match(con: Constraint, benefit: str, level: str, status: Optional[str]) -> bool:
    """Would a plain local claim (no groups, no flags, any age) at this level and status match?"""
    for d, allowed in con.values:
        if d == "benefit" and benefit not in allowed:
            return False
        if d == "level" and level not in allowed:
            return False
        if d == "status" and status is not None and status not in allowed:
            return False
        if d == "place" and "local" not in allowed:
            return False
        if d in MULTI_DIMS or d in ("grade", "disease-class", "type"):
            return False
    if con.required or con.measures or con.dates != (None, None):
        return False
    return True


def _multi_only_overlap(a: Constraint, b: Constraint) -> bool:
    """Clauses apart only by different groups/conditions/events: left to the claim (several may hold)."""
    for d in MULTI_DIMS:
        va, vb = a.get(d), b.get(d)
        if va is not None and vb is not None and not (va & vb):
            return True
    return False


def _item_dims(constraint: Constraint) -> set[str]:
    """The item dimensions (class, bed kind) a constraint names or excludes."""
    return (constraint.dims() | {d for d, _ in constraint.excluded}) & set(ITEM_DIMS)


def _measure_interval(op: str, bound: Decimal) -> tuple:
    import math

    if op == ">=":
        return (math.ceil(bound), None)
    if op == ">":
        return (math.floor(bound) + 1, None)
    if op == "<=":
        return (None, math.floor(bound))
    return (None, math.ceil(bound) - 1)


def _pct(v: Decimal) -> str:
    return f"{(v * 100).normalize():f}%"


def _quantity(q: str) -> str:
    if q.startswith("cap:"):
        return "cap"
    return q.replace("_", " ")

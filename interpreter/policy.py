"""The public face: load or compile a policy, then settle claims on it.

    policy = medpolicy.load("policies/suihua.med")
    result = policy.settle(claim, params={"avg_wage": "80000"})
    results = policy.settle_all(claims, params=...)
    later = policy.settle(next_claim, state=result.state)

A `Policy` is immutable and may be shared between threads; each run's accumulators live in
`State` values that the caller holds.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import operator
import os
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import immutables

from . import ast
from . import files, policy_cache
from .clauses import Amt, BandSpec
from .compiler import Compiled, compile_modules
from .errors import ClaimError, Diagnostic, MedCompileError, MedError, MedLoadError, ParameterError, duplicate_id
from .money import CENT, CONVERTING, ZERO, q, to_fen
from .result_fields import RESULT_FIELDS
from .accounts import next_year
from .member_claims import book_of, spent_key
from .settle import Year, step_dict

MAX_USES = 16
CARRY_YEARS = 10  # how far back a new year looks for an account's balance, without an effective start


class State:
    """Each person's accumulators per year, as left by the claims settled so far. Immutable:
    settling returns a new State, and an older State stays valid (settle from it again).

    Cost model: a persistent map (`immutables.Map`, a hash array mapped trie) from
    (person, scheme, year) to that year's accumulators. Settling with `state=` copies only
    the claim's own person-year (a few small dicts) and adds one path to the trie: O(log n)
    for n person-years held, in practice the same for 10 persons or a million; the States
    share everything else."""

    __slots__ = ("_years",)

    def __init__(self, years: Optional[Mapping] = None):
        self._years = years if isinstance(years, immutables.Map) else immutables.Map(years or {})

    def year(self, key: tuple) -> Year:
        """A copy of the year of `key` = (person, scheme, year), to settle on: a year is kept
        per scheme (domain.md)."""
        y = self._years.get(key)
        return y.copy() if y is not None else Year()

    def with_year(self, key: tuple, y: Year) -> "State":
        s = State.__new__(State)  # the map is already one: no check, no copy
        s._years = self._years.set(key, y)
        return s

    def __len__(self) -> int:
        """How many person-years the state holds."""
        return len(self._years)


_NO_STATE = State()  # a fresh year's: immutable, so one serves every call


class BoundParams(dict):
    """Checked run parameters (name -> Decimal), with `key`: the engine caches settlement plans
    per claim signature and parameters, and reads the key instead of sorting them per claim."""

    __slots__ = ("key", "defaulted")  # defaulted: the names that took the policy's default


class Result(Mapping):
    """One claim's settlement (or error), readable as the contract's JSON object."""

    __slots__ = ("data", "_trace", "_state", "_replay", "_year")

    def __init__(self, data: dict, trace: Optional[list], state: Optional[State], replay: Optional[tuple] = None,
                 year: Optional[tuple] = None):
        self.data = data
        self._trace = trace  # None: built on first use by `replay` (Policy.settle's results)
        self._state = state
        self._replay = replay
        self._year = year  # (state before, key, year): `state` made from it when first read

    @property
    def state(self) -> Optional[State]:
        """The state after this claim, to settle the person's next claim on (`Policy.settle`'s
        results make it when it is first read: a caller that never chains pays nothing for it)."""
        s = self._state
        if s is None and self._year is not None:  # (`_year` stays: two threads reading at once make equal states)
            before, key, year = self._year
            s = self._state = before.with_year(key, year)
        return s

    @state.setter
    def state(self, value: Optional[State]) -> None:
        self._state, self._year = value, None

    @property
    def trace(self) -> list:
        """The trace steps. `Policy.settle` settles without one and builds it here when first
        asked for, settling the claim again with the trace on (the plan's generated variant
        that records it, else the engine's stages) on the state it was settled on (the same
        amounts: tests/test_straight.py; should that fail where the function without the trace
        did not, the result becomes its error row, as with the trace on)."""
        t = self._trace
        if t is None:
            policy, claim, facts, state, params = self._replay
            try:
                t = policy._trace_of(facts, state, params)
            except ClaimError as e:  # the stages failed where the generated function did not (a bug):
                # the result is what settling with the trace on gives, the error row on the state before
                self.data, self.state, t = _error(claim, e), state, []
            self._trace, self._replay = t, None
        return t

    def __getitem__(self, key):
        return self.to_json()[key]

    def __iter__(self):
        return iter(self.to_json())

    def __len__(self):
        return len(self.to_json())

    @property
    def ok(self) -> bool:
        return "error" not in self.data

    def to_json(self, trace: bool = True) -> dict:
        """The result as JSON-ready data: money as strings with two decimals."""
        steps = self.trace if trace else None  # first: building the trace may turn the result into an error row
        return to_json(self.data, steps)


def to_json(data: dict, trace: Optional[list]) -> dict:
    """A result as the table `result_fields.RESULT_FIELDS` says: money as two-decimal strings."""
    if "error" in data:
        return dict(data)
    out: dict = {}
    for name, money in _RESULT_KEYS:
        v = data.get(name, _ABSENT)
        if v is _ABSENT:
            continue
        if not money:
            out[name] = v
        elif v is ZERO:  # the engine's own zero: many amounts of a claim are
            out[name] = "0.00"
        elif v.__class__ is Decimal:  # q(v), without the call: most amounts are plain Decimals
            out[name] = str(to_fen(v, CENT))
        elif v.__class__ is dict:
            out[name] = {f: "0.00" if a is ZERO else str(to_fen(a, CENT) if a.__class__ is Decimal else q(a))
                         for f, a in v.items()}
        else:  # an Exact cumulative
            out[name] = str(q(v))
    if len(out) != len(data):
        raise KeyError(f"result fields missing from RESULT_FIELDS: {sorted(set(data) - set(out))}")
    if trace is not None:
        out["trace"] = [step_dict(s) for s in trace]
    return out


_ABSENT = object()
_RESULT_KEYS = tuple((f.name, f.type in ("money", "funds")) for f in RESULT_FIELDS if f.name != "trace")


class Policy:
    """A checked, compiled policy. Build one with `load` or `compile`."""

    def __init__(self, compiled: Compiled, warnings: list[Diagnostic], sources: dict[str, str],
                 keyword_language: Optional[str] = None):
        self._c = compiled
        self._share_params = _share_params(compiled)
        _check_defaults(compiled, self._share_params)
        # Settling without parameters (defaults only): bound once (never handed out).
        self._no_params = self.bind(None)
        self.warnings = tuple(warnings)
        self.sources = sources
        # "en" or "zh": the language most of the policy's keywords are written in (messages.
        # keyword_language), where `load` knew it (kept with the cached policy); else None.
        self.keyword_language = keyword_language

    def __reduce__(self):
        """Pickled as what was compiled, without what settling fills in (the engine, its plans and
        their generated functions): a policy that has settled claims can still be sent to another
        process (a Dask worker), which makes its own plans."""
        return Policy, (self._c, list(self.warnings), self.sources)

    # The engine and the claim reader are built on the first claim: `med check` and the
    # language server compile policies and never import the settling half of the package.
    @functools.cached_property
    def _engine(self):
        from .engine import Engine

        return Engine(self._c)

    @functools.cached_property
    def _reader(self):
        from .claims import ClaimReader

        return ClaimReader(self._c.vocabulary)

    @functools.cached_property
    def _carry_from(self) -> int:
        """The earliest year whose account balances a new year may carry over: the policy's
        effective start, else CARRY_YEARS back."""
        lo = self._c.effective[0]
        return dt.date.fromordinal(lo).year if lo is not None else 0

    def _new_year(self, get, key: tuple) -> Year:
        """The year of a person's first claim in it (per scheme): what their latest earlier year
        left in each personal account becomes its carried-over pot (accounts.next_year)."""
        person, scheme, year = key
        for back in range(year - 1, max(self._carry_from, year - CARRY_YEARS) - 1, -1):
            prev = get((person, scheme, back))
            if prev is not None:
                return next_year(prev) if prev.accounts else Year()
        return Year()

    @property
    def title(self) -> str:
        return self._c.title

    @property
    def parameters(self) -> tuple[str, ...]:
        return self._c.params

    @property
    def share_parameters(self) -> frozenset:
        """The parameters the policy uses as a rate or a share: a run gives them as up to 100%."""
        return self._share_params

    def describe_parameters(self) -> list[str]:
        """One line per declared parameter: its description, and its default with the default's
        source, or that the claims that need it need a value from the run."""
        lines = []
        for p in self._c.parameters.values():
            what = f" \"{p.description}\"" if p.description else ""
            if p.default is not None:
                how = f"default {p.written} from \"{p.source}\""
            else:
                how = "no default: a run gives it for the claims that need it (--param)"
            lines.append(f"parameter {p.name}{what}: {how}")
        return lines

    @property
    def compiled(self) -> Compiled:
        return self._c

    def funds(self, scheme: str) -> tuple[str, ...]:
        s = self._c.schemes.get(scheme)
        return tuple(f.name for f in s.funds) if s else ()

    # ---- parameters ------------------------------------------------------------
    def bind(self, params: Optional[Mapping[str, Any]]) -> dict:
        """Check and convert run parameters (numbers or percentages; a rate or share up to 100%);
        a declared parameter not given takes its default, if it has one."""
        params = dict(params or {})
        for name in params:
            if name not in self._c.params:
                raise _parameter_error(unknown_parameter(name, self._c.params))
        out = BoundParams()
        for name, value in params.items():
            text = str(value).strip()
            try:
                out[name] = CONVERTING.divide(Decimal(text[:-1]), 100) if text.endswith("%") else Decimal(text)
            except (InvalidOperation, ValueError):
                raise _parameter_error(f"parameter {name} must be a number or a percentage, not {value!r}") from None
            if not out[name].is_finite() or out[name] < 0:
                raise _parameter_error(f"parameter {name} must be a finite, non-negative number, not {value!r}")
            from .parser import MAX_NUMBER  # (the parser, and lark, load only when a parameter is given)

            if out[name] >= MAX_NUMBER:
                raise _parameter_error(f"parameter {name} is too large (parameters stay below {MAX_NUMBER:,})")
            if name in self._share_params and out[name] > 1:
                # A share over 100% would make pre-payments exceed the cost (negative eligible).
                raise _parameter_error(f"parameter {name} is a rate or share: give a percentage "
                                       f"up to 100% (e.g. {name}=10%), not {value!r}")
        # A parameter not given takes its default; one without a default is asked for only by
        # the claims whose plans reach it (plan.py: a `missing-parameter` error row).
        out.defaulted = frozenset(p.name for p in self._c.parameters.values()
                                  if p.default is not None and p.name not in out)
        for name in out.defaulted:
            out[name] = self._c.parameters[name].default
        out.key = tuple(sorted(out.items()))
        return out

    # ---- settling ----------------------------------------------------------------
    def settle(self, claim: Mapping[str, Any], *, state: Optional[State] = None,
               params: Optional[Mapping[str, Any]] = None, members: Any = None) -> Result:
        """Settle one claim. Without `state`, in a fresh year; with it, after the claims it records.
        The result's `.state` carries the year on to the next claim.

        Cost model: the claim is read and checked by the claim table compiled for the policy's
        vocabulary (claim_compiler.py; a claim it is unsure of is read again by the detailed
        reader, which words the error), its signature (the facts clauses select on) looks up
        the settlement plan built for it on first use, and the arithmetic runs on that plan in
        the library's decimal context (an exact rational only where a rule divides), by the
        plan's generated function (straight.py), without a trace: the result's `trace` is
        built when first read, by settling the claim again through the engine's stages
        (about twice the settlement's cost, once); `state=` adds O(log persons) (see `State`). The first claim of a policy builds its engine and
        claim reader; the first of a signature, its plan. `params` are checked on every call:
        an embedding program settling many claims on one set of parameters uses `run`.
        `members`: member records (docs/accounts.md): the claim's month decides its cover and
        its account balance when the claim gives none."""
        bound = self._no_params if params is None else self.bind(params)
        if state is None:
            state = _NO_STATE
        book = None if members is None else book_of(self, members, params)
        try:
            facts = self._read(claim)
            key = (facts.person, facts.scheme, facts.year)  # _year_key, inline
            years = state._years
            if years:
                held = years.get(key)
                year = held.copy() if held is not None else self._new_year(years.get, key)
            else:  # a fresh state: a fresh year
                year = Year()
            spent = None
            if book is not None:
                skey = spent_key(facts.person, facts.scheme)
                spent = state.year(skey)
                facts = book.prepare(facts, spent)
                data, trace = self._engine.settle(facts, year, bound)
            else:  # no trace yet: Result.trace builds it if asked for
                data, trace = self._engine.settle(facts, year, bound, False)
        except ClaimError as e:
            return Result(_error(claim, e), [], state)
        if spent is not None:
            book.record_spent(facts, year, spent)
            return Result(data, trace, state.with_year(key, year).with_year(skey, spent))
        return Result(data, None, None, (self, claim, facts, state, bound), (state, key, year))

    def _trace_of(self, facts, state: State, bound: dict) -> list:
        """A claim's trace: the claim settled again through the stages, on the state it was
        settled on (a fresh copy of its year; the state is not changed)."""
        key = _year_key(facts)
        held = state._years.get(key)
        year = held.copy() if held is not None else self._new_year(state._years.get, key)
        return self._engine.settle(facts, year, bound)[1]

    def run(self, params: Optional[Mapping[str, Any]] = None, *, trace: bool = True, members: Any = None) -> "Run":
        """A run that settles claims one at a time, in the order given, keeping each person's
        years: what `med run` streams claims through. The caller orders each person's claims
        by date and may `forget` a person whose claims are done.

        Cost model: parameters are checked once; each claim costs what `settle` does, without
        the State copy (the run's years are updated in place); memory is the person-years
        held, so a caller that `forget`s finished persons runs in memory flat in the claims.
        With `trace=False` no trace step is built at all. `members`: member records (as `settle`)."""
        return Run(self, self.bind(params), trace, book_of(self, members, params))

    # ---- members (issue 14): members/months.py does the work -----------------------
    def member_months(self, record, *, until: dt.date, as_of: Optional[dt.date] = None,
                      params: Optional[Mapping[str, Any]] = None) -> list:
        """The member's months (`members.months.MonthRow`) from the first month of the record's
        history to `until`, as known on `as_of` (default `until`). `record` is a JSON object or a
        `members.records.MemberRecord`; a bad one raises `members.records.MemberError`."""
        from .members import months, records
        rec = record if isinstance(record, records.MemberRecord) else records.read_member(record)
        return months.member_months(self._c.members, rec, until=until, as_of=as_of, params=self.bind(params))

    def member_month(self, record, *, on: dt.date, as_of: Optional[dt.date] = None,
                     params: Optional[Mapping[str, Any]] = None):
        """The `MonthRow` of the month of `on` (None before the record's history starts), as it
        stands on that day (before a day-level start, not payable)."""
        from .members.months import on_day
        rows = self.member_months(record, until=on, as_of=as_of or on, params=params)
        return on_day(rows[-1], on) if rows and rows[-1].month == (on.year, on.month) else None

    def benefits_payable(self, record, *, on: dt.date, as_of: Optional[dt.date] = None,
                         params: Optional[Mapping[str, Any]] = None) -> tuple:
        """(payable, article): whether benefits are payable on `on`, and if not, the article."""
        row = self.member_month(record, on=on, as_of=as_of, params=params)
        if row is None:
            return False, None
        return row.payable, row.article

    def settle_all(self, claims: Iterable[Mapping[str, Any]], *, params: Optional[Mapping[str, Any]] = None,
                   members: Any = None) -> list[Result]:
        """Settle many claims: each person's claims in date order (ties in input order), years
        accumulating; results in input order. A bad claim gets an error result; the rest settle.

        Cost model: the claims are read and sorted by (person, date, input position) in
        memory, then settled person by person; only the current person's years are held, so
        the state is per person, never the city's. The results list holds every result (with
        its trace): for files larger than memory, stream through `run`."""
        bound = self.bind(params)
        book = book_of(self, members, params)
        claims = list(claims)
        results: list[Optional[Result]] = [None] * len(claims)
        read = []
        seen: set = set()
        for i, claim in enumerate(claims):
            try:
                facts = self._read(claim)
                if facts.id in seen:
                    raise duplicate_id(facts.id)
                seen.add(facts.id)
                read.append((facts.person, facts.ordinal, i, facts))
            except ClaimError as e:
                results[i] = Result(_error(claim, e), [], None)
        read.sort(key=_run_order)
        years: dict = {}
        carry = False  # a new year looks back for account balances once the run has kept one
        engine = self._engine
        current = None
        for person, _, i, facts in read:
            if person != current:  # the previous person's claims are done
                years.clear()
                current = person
            key = _year_key(facts)
            year = years.get(key)
            if year is None:
                year = years[key] = self._new_year(years.get, key) if carry else Year()
            try:
                spent = None
                if book is not None:
                    spent = years.setdefault(spent_key(facts.person, facts.scheme), Year())
                    facts = book.prepare(facts, spent)
                # The engine changes the year only after a claim has settled, so a claim that
                # fails leaves it as it was.
                data, trace = engine.settle(facts, year, bound)
                carry = carry or bool(year.accounts)
                if spent is not None:
                    book.record_spent(facts, year, spent)
                results[i] = Result(data, trace, None)
            except ClaimError as e:
                results[i] = Result(_error(claims[i], e), [], None)
        return results  # type: ignore[return-value]

    def settle_table(self, table, *, params: Optional[Mapping[str, Any]] = None, trace: bool = False,
                     engine: str = "scalar"):
        """Settle the claims of an Arrow table (or a pandas DataFrame) as one run, like `settle_all`;
        returns a table of the same kind, one row per claim in input order (`arrow.py`; needs the
        `data` extra). `engine="batch"`: the columnar engine (`batch.py`, the same rows; no trace)."""
        if engine == "batch":
            if trace:
                raise ValueError("the batch engine keeps no trace: settle with engine='scalar' for one")
            from .batch import settle_batch
            return settle_batch(self, table, params=params)
        if engine != "scalar":
            raise ValueError(f"engine must be 'scalar' or 'batch', not {engine!r}")
        from .arrow import settle_table
        return settle_table(self, table, params=params, trace=trace)

    def _read(self, claim):
        """A claim's facts; whatever goes wrong reading it is a ClaimError (an unexpected one `internal`)."""
        try:
            facts = self._reader.read(claim)
        except ClaimError:
            raise
        except Exception as e:  # never a crash: the claim's error row says where
            raise ClaimError("internal", f"could not read the claim: {e!r}", None) from e
        lo, hi = self._c.effective
        if (lo is not None and facts.ordinal < lo) or (hi is not None and facts.ordinal > hi):
            period = f"{_d(lo)} to {_d(hi)}"
            raise ClaimError("outside-period", f"date {facts.date} is outside the policy's effective period {period}", "date")
        return facts


class Run:
    """Claims settled one at a time against one policy and one set of parameters, each
    person's years (per scheme) kept between claims. Build one with `Policy.run`."""

    __slots__ = ("_policy", "_params", "_trace", "_years", "_book", "_carry")

    def __init__(self, policy: Policy, params: dict, trace: bool, book=None):
        self._policy = policy
        self._params = params
        self._trace = trace
        self._book = book  # member records (member_claims.MemberBook), or None
        self._carry = False  # set once a claim kept an account balance: new years then look back for one
        self._years: dict = {}  # (person, scheme, year) -> Year; (person, scheme, "account"): member spending

    def settle(self, claim: Mapping[str, Any]) -> Result:
        """Settle the next claim; its person's year carries on to their next claim."""
        policy = self._policy
        try:
            facts = policy._read(claim)
            key = (facts.person, facts.scheme, facts.year)  # _year_key, inline
            year = self._years.get(key)
            if year is None:
                year = self._years[key] = policy._new_year(self._years.get, key) if self._carry else Year()
            spent = None
            if self._book is not None:
                spent = self._years.setdefault(spent_key(facts.person, facts.scheme), Year())
                facts = self._book.prepare(facts, spent)
            data, trace = policy._engine.settle(facts, year, self._params, self._trace)
            if not self._carry and year.accounts:
                self._carry = True
            if spent is not None:
                self._book.record_spent(facts, year, spent)
        except ClaimError as e:
            return Result(_error(claim, e), [], None)
        return Result(data, trace if trace is not None else [], None)

    def forget(self, person: str) -> None:
        """Drop a person's years: their claims in this run are done."""
        for key in [k for k in self._years if k[0] == person]:
            del self._years[key]

    @property
    def persons(self) -> int:
        """How many person-years the run holds."""
        return len(self._years)


def _year_key(facts) -> tuple:
    """Whose year a claim accumulates into: a person's year is kept per scheme (domain.md)."""
    return (facts.person, facts.scheme, facts.year)


def unknown_parameter(name: str, declared: tuple[str, ...]) -> str:
    """The words for a parameter the policy does not declare (the CLI and the API say the same)."""
    close = difflib.get_close_matches(name, declared, n=1)
    hint = f"did you mean {close[0]}?" if close else \
        f"it declares {', '.join(declared)}" if declared else "it declares none"
    return f"the policy declares no parameter {name!r} ({hint})"


def _parameter_error(message: str) -> ParameterError:
    """A bad `--param` value (parameters have no place in a file)."""
    return ParameterError(Diagnostic(ast.Span("--param", 1, 1, 1, 1), message))


_run_order = operator.itemgetter(0, 1, 2)  # person, date, input position


def _share_params(compiled: Compiled) -> frozenset:
    """The parameters the policy uses as a rate or a pre-payment share (so at most 100%)."""
    names = set()
    for scheme in compiled.schemes.values():
        clauses = [*scheme.clauses, *scheme.item_clauses, *(c for f in scheme.funds for c in f.clauses)]
        for clause in clauses:
            for s in clause.settings:
                if s.quantity not in ("rate", "prepay"):
                    continue
                shares = [b[0] for b in s.value.bands] if isinstance(s.value, BandSpec) else [s.value]
                names.update(a.param for a in shares if isinstance(a, Amt) and a.param)
    return frozenset(names)


def _check_defaults(compiled: Compiled, shares: frozenset) -> None:
    """A default the policy gives for a rate or share is at most 100%, like a value a run gives."""
    bad = [Diagnostic(p.span, f"parameter `{p.name}` is a rate or share: its default must be a percentage "
                              f"up to 100%, not {p.default:f}")
           for p in compiled.parameters.values() if p.name in shares and p.default is not None and p.default > 1]
    if bad:
        raise MedCompileError(bad)


def _d(ordinal: Optional[int]) -> str:
    return dt.date.fromordinal(ordinal).isoformat() if ordinal else "…"


def repeated_ids(policy: Policy, claims: Iterable[tuple[int, Any]]) -> list[tuple[int, dict]]:
    """Of (position, claim) pairs in input order, the claims settle_all refuses as repeats, with
    their error rows: of the claims sharing an id, the first the reader takes keeps it, each later
    one it takes is a `duplicate-id` row; one it refuses keeps no id. (The columnar engine and its
    buckets give it only the claims whose id some other claim shares.)"""
    seen: set = set()
    out = []
    for position, claim in claims:
        try:
            facts = policy._read(claim)
        except ClaimError:
            continue
        if facts.id in seen:
            out.append((position, Result(_error(claim, duplicate_id(facts.id)), [], None).to_json(trace=False)))
        seen.add(facts.id)
    return out


def _error(claim: Any, e: ClaimError) -> dict:
    cid = claim.get("id") if isinstance(claim, dict) else None
    if isinstance(cid, str):
        from .claims import printable

        cid = printable(cid)  # a lone surrogate would stop the output
    else:
        # A malformed id (a number, a list, NaN) is echoed as text, so the row stays valid JSON.
        try:
            cid = None if cid is None else str(cid)[:200]
        except (ValueError, RecursionError):  # an int too long to print, or nesting too deep
            cid = None
    return {"id": cid, "error": e.as_dict()}


# ---- loading ---------------------------------------------------------------------

def _stdlib_path(name: str) -> str:
    """How a standard-library module is named in diagnostics and the policy's sources."""
    return f"stdlib/{name}.med"


def _resolve_use(use: ast.Use, base_dir: Optional[Path]) -> tuple[str, str]:
    """A `use` names a standard-library module or a file beside the policy; never a path."""
    if "/" in use.name or "\\" in use.name or use.name.startswith("."):
        raise MedLoadError(Diagnostic(use.span, f"`use {use.name}`: a use names a module, not a path"))
    text = files.stdlib_text(use.name)
    local = base_dir / f"{use.name}.med" if base_dir is not None else None
    if text is not None:
        # The standard library's names always mean the standard library: a module of the same
        # name beside the policy would silently change every policy in the folder.
        if local is not None and local.exists():
            raise MedLoadError(Diagnostic(use.span, f"`use {use.name}` means the standard library "
                                                    f"({_stdlib_path(use.name)}), but {local} has the same name: "
                                                    f"rename the local module and `use` it by its new name"))
        return _stdlib_path(use.name), text
    if local is not None and local.is_file() and local.resolve().parent == base_dir.resolve():
        return str(local), _read_source(local, use.span)
    raise MedLoadError(Diagnostic(use.span, f"no module `{use.name}` in the standard library"
                                            + (f" or beside {use.span.file}" if base_dir else "")))


@functools.lru_cache(maxsize=32)
def _parse_module(text: str, path: str) -> ast.Module:
    """A used module's AST (an immutable value of its text): the standard library is parsed
    once, not on every compile the language server runs."""
    from .parser import parse

    return parse(text, path)


def _gather(main: ast.Module, base_dir: Optional[Path], sources: dict) -> list[ast.Module]:
    used: list[ast.Module] = []
    seen = {main.file}
    queue = [main]
    while queue:
        m = queue.pop(0)
        for item in m.items:
            if not isinstance(item, ast.Use):
                continue
            path, text = _resolve_use(item, base_dir)
            # A module beside the policy that is the policy itself (loaded once, it would be ignored
            # unsaid); the standard library never is, and is not looked for on disk.
            if base_dir is not None and path != _stdlib_path(item.name) and _same_file(path, main.file):
                raise MedLoadError(Diagnostic(item.span, f"`use {item.name}` names the policy being compiled"
                                                         + ("" if m is main else f" ({main.file}): a cycle of uses")))
            if path in seen:
                continue
            if len(seen) > MAX_USES:
                raise MedLoadError(Diagnostic(item.span, f"more than {MAX_USES} modules used"))
            seen.add(path)
            sources[path] = text
            mod = _parse_module(text, path)
            used.append(mod)
            queue.append(mod)
    return used


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # (a name that is no file, such as "<policy>")
        return False


def compile(text: str, name: str = "<policy>", *, base_dir: Optional[str] = None,  # noqa: A001
            module: Optional[ast.Module] = None) -> Policy:
    """Compile policy source text. Raises MedError (with file, line, column) on any problem.
    `module`: the text already parsed (`parse(text, name)` under `money.CONVERTING`), so a
    caller that needed the tree first (the language server) does not parse twice."""
    from .parser import parse

    sources = {name: text}
    with localcontext(CONVERTING):  # percentages and points read exactly, whatever the caller's context
        main = module if module is not None else parse(text, name)
        used = _gather(main, Path(base_dir) if base_dir else None, sources)
        compiled, diags = compile_modules(main, used)
    if compiled is None:
        raise MedCompileError([d for d in diags if d.severity == "error"])
    return Policy(compiled, [d for d in diags if d.severity == "warning"], sources)


def load(path: str | os.PathLike) -> Policy:
    """Read and compile a .med file; `use` finds modules beside it or in the standard library.
    A policy compiled before (same text, same modules, same package) comes from the cache on
    disk (`policy_cache.py`), without parsing or compiling it again."""
    p = Path(path)
    text = _read_source(p, ast.Span(str(path), 1, 1, 1, 1))
    name, base_dir = str(path), str(p.parent)
    kept = policy_cache.entry(name, text, base_dir)
    cached = policy_cache.get(kept, base_dir)
    if cached is not None:
        compiled, warnings, sources, language = cached
        return Policy(compiled, list(warnings), sources, language)
    from .messages import keyword_language  # (the parser has loaded the scanner it reads with)

    policy = compile(text, name, base_dir=base_dir)
    policy.keyword_language = keyword_language(text)
    policy_cache.put(kept, name, policy)
    return policy


def _read_source(path: Path, where: ast.Span) -> str:
    """A .med file's text; an unreadable file (missing, a folder, a FIFO or device) or a byte
    that is not UTF-8 is a MedLoadError (at the byte's line and column, or at `where`: the
    `use` that asked for the file)."""
    try:
        return files.read_text(path)
    except files.UnreadableFile as e:
        raise MedLoadError(Diagnostic(where, str(e))) from e  # the cause tells the CLI which file


def check(path: str | os.PathLike) -> list[Diagnostic]:
    """Every problem in a policy file (empty when it compiles cleanly), for `med check` and the language server."""
    try:
        policy = load(path)
    except MedError as e:
        return e.diagnostics
    return list(policy.warnings)

"""The columnar engine: a table of claims settled over numpy columns, exactly (`medpolicy.batch`).

The same settlement plans as the scalar engine (plan.py), executed over arrays. Money is integer
fen (int64); an exact payment (a rate times a cost) is an integer in units of 1/S fen, S = 10^k
the finest decimal any share of the run's plans has, so every product is exact; rounding to the
fen is half-up by integer arithmetic; nothing is ever a float.

How a run goes (this module drives it; each stage's own module in brackets):
0. *set apart* (batch_unknown.py): rows that give a field no claim field is named are error rows,
   the others go on without those fields.
1. *columns* (batch_columns.py): the claim fields are read with pyarrow; a row of the common
   shape (scheme, status, benefit, facility level, type and grade, place, groups, items of class
   and amount) is validated in vector form.
2. *routing* (batch_plans.py): each row's signature gets its plan (`Engine.plan` on one
   representative claim per signature, in vector form); a plan with a feature not vectorised, a
   row of any other shape, or a person whose year could overflow int64 sends the whole person to
   the scalar engine (`settle_all`), so a person's year is never split between the engines; a
   claim the reader refuses, or a later claim with an id already taken (error rows before any
   year), goes alone. Where many rows may be refused, their errors are worded in columns first
   (batch_refusals.py) and the run goes on without them.
3. *costs*: total, excluded, item pre-payments, first share and eligible cost, per claim (they do
   not depend on the year).
4. *waves*: each person-year's claims in date order (ties in input order). With the compiled
   loops (batch_kernels), one kernel (`_batch_loops.settle_rows`) settles every claim, a
   person-year at a time, reading its plan from int64 numbers (`describe`); without them
   (batch_steps.py), the k-th claim of every person is settled in one vectorised step per plan
   shape (`Step`), the year's accumulators (stays, deductibles, eligible cost, pools, burdens)
   held as arrays per person-year and carried from wave to wave. Both give the same values.
5. *result columns* (batch_results.py): the result table, the scalar engine's rows in place.
A cap point that is not a whole number of 1/S fen (the eligible cost above the point where the
basic cap stopped, for a layer above it) sends that person to the scalar engine too.

`settle_batch` returns the table `settle_table` would; its schema metadata says how many claims
the scalar engine settled (`fallback_count`). Which plan features are vectorised: docs/scale.md.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import NamedTuple, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import batch_steps
from .arrow import ASIDE, MONEY, all_funds, claims_arrow, claims_from_table, result_schema, results_batch
from .batch_columns import EPOCH, GRADES, Claims, arrow_bools, small_offsets
from .batch_kernels import encode, kernels
from .batch_plans import (
    DAY,
    MAX_DIGITS,
    MAX_PERSON_FEN,
    Plans,
    Shapes,
    Unsupported,
    VPlan,
    benefit_reads,
    describe,
    plan_identity,
)
from .batch_results import Patch, duplicate_id_rows, null_where, with_rows_refused, with_validity
from .batch_refusals import reader_errors, word_refusals
from .batch_unknown import set_apart, unknown_fields
from .batch_steps import (
    Accumulators,
    Out,
    Step,
    round_div,
    sort_order,
    unique_keys,
    wave_order,
)
from .errors import ClaimError
from .money import Exact, div
from .policy import Result, _error

__all__ = ["FALLBACK", "Plans", "Unsupported", "fallback_count", "settle_batch"]

FALLBACK = b"medpolicy.fallback"   # the schema metadata key of fallback_count
_LACKS_PARAMETER = -2   # a row's plan: its terms need a parameter the run did not give (engine.settle's error)
_WORDED_FROM = 64       # suspect rows from which their refusals are worded in columns (`_Run._worded`)
_SNAPSHOT_ROOM = 16     # years the compiled kernel hands over that a call has room for (more: called again)


def settle_batch(policy, table, params: Optional[dict] = None, plans: Optional["Plans"] = None,
                 money: pa.DataType = MONEY) -> pa.Table:
    """Settle the claims of an Arrow table (or a pandas DataFrame) as one run, over columns;
    every field of every row equal to `policy.settle_table(table, params=params)`. The
    schema's metadata holds how many claims went to the scalar engine (`fallback_count`).
    `plans`: the vector plans of earlier tables settled with the same policy and parameters
    (chunks of one year), reused rather than made again for each. `money`: decimal128(18, 2)
    (the contract), or decimal64(18, 2), whose values are the engine's int64 fen as they are
    (no copy): `med run` writes those, and Parquet readers see decimal128(18, 2) (partition.py).
    ValueError for a column named twice."""
    table, is_pandas = claims_arrow(table)
    out = _Run(policy, table, params, plans, money).settle()
    return out.to_pandas() if is_pandas else out


def fallback_count(result: pa.Table) -> int:
    """How many claims of a `settle_batch` result the scalar engine settled."""
    return int((result.schema.metadata or {}).get(FALLBACK, b"0"))


class _Run:
    def __init__(self, policy, table: pa.Table, params: Optional[dict], plans: Optional[Plans] = None,
                 money: pa.DataType = MONEY, worded: bool = False):
        self.policy, self.table, self.money_type = policy, small_offsets(table), money
        self.worded = worded  # the rows the reader refuses already set apart (`_worded`)
        self.given = params
        self.params = policy.bind(params)
        self.funds = all_funds(policy)
        self.cache = plans if plans is not None else Plans()

    def settle(self) -> pa.Table:
        apart = self._unknown_columns()
        if apart is not None:
            return apart
        clock = _Clock()
        c = self.claims = Claims(self.policy, self.table)
        in_period = dated_in_period(self.policy, c)
        apart = self._worded(c, in_period)
        if apart is not None:
            return apart
        c.certain = None  # (the refusals' only)
        clock("columns")
        person = self._person_codes()
        plan_of = self._plans(c)
        row_ok = c.ok & (plan_of >= 0)
        row_ok &= self._items_supported(plan_of, row_ok)
        repeats = self._repeats(in_period)
        # Rows that never reach a year: error rows the scalar engine words, each alone.
        refused = repeats | (plan_of == _LACKS_PARAMETER)
        unread = self._refused(~c.ok | ~in_period)
        if unread is not None:
            refused |= unread
        batch = self._whole_persons(person, row_ok & in_period & ~repeats, refused)
        c.level = c.type = c.grade = c.status = c.place = c.groups = c.events = c.measures = None  # (the plans' only)
        clock("plans and routing")
        self._costs(plan_of, batch)
        c.forget_items()  # (each item read by the costs only)
        batch &= self._person_total(person, batch) < MAX_PERSON_FEN
        # The waves' kernel, where the run has it and can describe every plan; else the numpy steps.
        self.loops = kernels(int(batch.sum()))
        self.described = describe(self.vplans, self.funds) if self._kernel_fits(person, batch) else None
        clock("costs")
        out, handed = self._waves(person, plan_of, batch)
        clock("waves")
        table = self._assemble(batch & ~handed, out, plan_of, clock, handed, repeats)
        self.timings = clock.times
        return table

    # -- routing --
    def _unknown_columns(self) -> Optional[pa.Table]:
        """The run's rows where a field no claim field is named is given (a hospital's name beside
        the claim or in its facility, a ward on an item), each an error row made in columns
        (batch_unknown.py), keeping no id and touching no year, and the others settled without
        those fields; None where no row is set apart so."""
        apart = set_apart(self.policy, self.table)
        if apart is None:
            return None
        return self._beside(apart.rest, apart.refused, apart.ids, apart.errors, apart.which, self.worded)

    def _beside(self, rest: pa.Table, refused: np.ndarray, ids, errors: list, which: np.ndarray,
                worded: bool) -> pa.Table:
        """The rows `rest` settled as a run of their own, with the `refused` rows' error rows
        (`errors[which]`, their `ids`) in their places (`with_rows_refused`)."""
        run = _Run(self.policy, rest, self.given, self.cache, self.money_type, worded)
        settled = run.settle()
        self.timings = getattr(run, "timings", {})
        return with_rows_refused(settled, refused, ids, errors, which)

    def _worded(self, c: Claims, in_period: np.ndarray) -> Optional[pa.Table]:
        """Where many rows may be refused (a year whose every date is written 2026/03/02, a
        scheme in another language): each refusal worded in columns (batch_refusals.py), those
        rows error rows (keeping no id, as `_refused` says) and the others settled without them.
        None where few rows may be (each is read by the scalar reader: a second pass over the
        columns would cost more), where none is refused, or where the ids are neither text nor
        whole numbers (whose error rows echo them as their digits, as the scalar engine's do)."""
        unread, undated = ~c.ok, c.ok & ~in_period
        suspects = int(unread.sum() + undated.sum())
        ids = self.table.column("id").type if "id" in self.table.column_names else pa.string()
        if self.worded or suspects < _WORDED_FROM or suspects * 64 < c.n \
                or not (pa.types.is_string(ids) or pa.types.is_integer(ids)) \
                or ASIDE in self.table.column_names or unknown_fields(self.table.schema).dotted:
            return None
        said = word_refusals(self.policy, self.table, c, np.flatnonzero(unread), np.flatnonzero(undated))
        refused = said.which >= 0
        if not refused.any():
            return None
        ids = self.table.column("id").filter(arrow_bools(refused)) if "id" in self.table.column_names else None
        return self._beside(self.table.filter(arrow_bools(~refused)), refused, ids, said.errors, said.which[refused],
                            worded=True)

    def _person_codes(self) -> np.ndarray:
        p = self.claims.person
        if p is None or not pa.types.is_string(p.type):
            return np.full(self.claims.n, -1, np.int64)
        codes = encode(p)
        if codes is not None:
            return codes
        return np.asarray(pc.dictionary_encode(p).indices.fill_null(-1), dtype=np.int64)

    def _whole_persons(self, person: np.ndarray, ok: np.ndarray, refused=None) -> np.ndarray:
        """Rows whose person's every row is ok (a person's year never split between the engines),
        but for rows `refused`: claims that never reach a year (the scalar engine gives each its
        error row), so they keep no person off the columnar engine."""
        good = ok & (person >= 0)
        if not len(person):
            return good
        bad = np.zeros(person.max() + 2, bool)
        bad[person[~good if refused is None else ~good & ~refused] + 1] = True
        return good & ~bad[person + 1]

    def _refused(self, suspect: np.ndarray) -> Optional[np.ndarray]:
        """Of the rows `suspect` (not of the common shape, or dated outside the period), those the
        claim reader refuses (`Policy._read` raises: a field missing or wrong, a word the policy
        does not know, a date outside the period). settle_all gives such a claim an error row
        before any year is looked at, and gives it no id, so it changes nothing for the person's
        other claims. Each suspect is read by the scalar reader; where most rows are suspects (a
        table whose columns are of no shape the engine reads), none is: all go to the scalar
        engine, which reads each once."""
        rows = np.flatnonzero(suspect)
        if not len(rows) or len(rows) > self.claims.n // 2:
            return None
        refused = np.zeros(self.claims.n, bool)
        refused[rows] = [e is not None for e in reader_errors(self.policy, self.table, rows)]
        return refused

    def _repeats(self, inside: np.ndarray) -> np.ndarray:
        """Rows whose id an earlier claim already holds (`repeated_rows`, of the rows whose id
        string some other row shares): `duplicate-id` error rows that never touch a year, made
        here (`self._repeated`)."""
        n = self.claims.n
        repeats = np.zeros(n, bool)
        schema = result_schema(self.funds, False)
        self._repeated = schema.empty_table()
        ids = self.claims.id
        if ids is None or not pa.types.is_string(ids.type):
            return repeats
        codes = encode(ids, repeats=False)
        if codes is None:
            codes = np.asarray(pc.dictionary_encode(ids).indices.fill_null(-1), dtype=np.int64)
        counts = np.bincount(codes[codes >= 0], minlength=1)
        shared = np.flatnonzero((codes >= 0) & (counts[np.maximum(codes, 0)] > 1))
        rows = repeated_rows(self.policy, self.table, shared, (self.claims.ok & inside)[shared], codes[shared])
        repeats[rows] = True
        self._repeated = duplicate_id_rows(ids.take(pa.array(rows)), schema)
        return repeats

    def _signatures(self, c: Claims) -> np.ndarray:
        """One integer per row for the facts the plan depends on (Facts.key of the common shape)."""
        breaks = np.asarray(self.policy.compiled.date_breaks, dtype=np.int64)
        bucket = np.searchsorted(breaks, c.ordinal, side="right")
        key = np.zeros(c.n, np.int64)
        own_status = c.status.astype(np.int32) + 1  # (codes from 0: none)
        status, place = self._named_only(c, "status", own_status), self._named_only(c, "place", c.place)
        kind = self._named_only(c, "type", c.type)
        grade = self._named_only(c, "grade", c.grade.astype(np.int32) + 1)  # (codes from 0: none)
        for codes, size in ((c.scheme, len(c.names["scheme"])), (c.benefit, len(c.names["benefit"])),
                            (c.level, len(c.names["level"])), (kind, len(c.names["type"])),
                            (grade, len(GRADES) + 1), (status, len(c.names["status"]) + 1),
                            (place, len(c.names["place"])), (bucket, len(breaks) + 1)):
            key = key * (size + 1) + np.maximum(codes, 0)
        if c.events.any():  # the maternity events (their limits and fixed amounts differ)
            events, width = self._named_events(c)
            if (int(key.max(initial=0)) + 1) << width >= 1 << 62:  # (no room left in the key)
                c.ok &= c.events == 0
            else:
                key = (key << width) | events
        read = self._reads(c).measures
        for measure, values, given in c.measures.values():  # the interval between the clauses' bounds
            bounds = np.asarray(self.policy.compiled.measure_breaks[measure], dtype=np.int64)
            if (int(key.max(initial=0)) + 1) * (len(bounds) + 2) >= 1 << 62:  # (no room left in the key)
                c.ok &= ~given
                continue
            # (where no clause the row's plan can consult names the measure: no part of the key)
            kept = given & read[measure][np.maximum(c.scheme, 0), np.maximum(c.benefit, 0)]
            key = key * (len(bounds) + 2) + np.where(kept, np.searchsorted(bounds, values, side="right") + 1, 0)
        # Last, the row's own status and place (a plan that fails words its error row with them):
        # the key divided by _own_size is the signature a plan that settles is made for.
        own = own_status.astype(np.int64) * (len(c.names["place"]) + 1) + np.maximum(c.place, 0)
        self._own_size = (len(c.names["status"]) + 2) * (len(c.names["place"]) + 1)
        if (int(key.max(initial=0)) + 1) * self._own_size >= 1 << 62:  # (no room left in the key)
            c.ok &= (status == own_status) & (place == c.place)  # (only the words kept as they are)
            self._own_size = 1
            return key
        return key * self._own_size + own

    def _named_only(self, c: Claims, dim: str, codes: np.ndarray) -> np.ndarray:
        """A claim's status or facility grade (codes from 0, none), place or facility type, as its
        signature keeps it: every word no clause its scheme and benefit can consult names
        (`benefit_reads`) is one code, past the vocabulary's. All four are read by
        `terms.matches` alone, where such a word fails every test as any other does (but `local`,
        which also sets the claim's area). The generated years of the five cities: status and
        place 15-30 % fewer signatures; type and grade by benefit rather than by the whole
        policy, and no grade as an unnamed one, 5-18 % fewer again (100,000 claims: Suizhou's
        5,241 -> 4,312, Ziyang's 4,379 -> 3,644, Shaoxing's 8,909 -> 8,472; the same plans)."""
        named = self._reads(c).named[dim]
        if not named.shape[2]:
            return codes
        kept = named[np.maximum(c.scheme, 0), np.maximum(c.benefit, 0), np.maximum(codes, 0)] | (codes < 0)
        return np.where(kept, codes.astype(np.int32), np.int32(named.shape[2]))  # (codes are int8)

    def _named_events(self, c: Claims) -> tuple[np.ndarray, int]:
        """A claim's maternity events as its signature keeps them, and the bits they take: a bit
        for each event some clause its scheme and benefit can consult names, then how many others
        it has. An event no such clause names fails every test as any other does, and adds the
        benefit's own limit or fixed amount, whichever it is (plan._per_event: several events'
        add up), so only how many there are counts (the generated years: half of Suihua's
        maternity claims have one)."""
        events = len(c.names["event"])
        named = self._reads(c).named["event"][np.maximum(c.scheme, 0), np.maximum(c.benefit, 0)]
        others = _bit_count(c.events & ~named, events)
        return (c.events & named) | (others << events), events + events.bit_length()

    def _plans(self, c: Claims) -> np.ndarray:
        """Each row's plan (an index into self.vplans), -1 where the scalar engine settles it."""
        sig = self._signatures(c)
        groups_read, _, tests, _ = self._reads(c)
        c.groups &= groups_read  # (the groups no clause names: no part of any plan)
        # The groups mask goes beside the key (no overflow however many groups the vocabulary has).
        rows = np.flatnonzero(c.ok)
        width = len(c.names["group"])
        if (int(sig.max(initial=0)) + 1) << width < 2 ** 62:  # one int64 key: a fast sort
            uniq, first, inverse = unique_keys((sig[rows] << width) | c.groups[rows])
        else:
            pairs = np.stack([sig[rows], c.groups[rows]], axis=1) if len(rows) else np.zeros((0, 2), np.int64)
            uniq, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
        cache = self.cache
        self.keys, self.vplans, self._identities, self.reasons = cache.keys, cache.vplans, cache.identities, {}
        index = []
        for j in range(len(uniq)):
            r = int(rows[first[j]])
            # The groups as the tests of the clauses the row's plan can consult take them (_group_class).
            group_class = _group_class(int(c.groups[r]), tests[max(c.scheme[r], 0)][max(c.benefit[r], 0)])
            known = self._known(c, r, (int(sig[r]) // self._own_size, group_class))
            if known[0] >= 0 and self.vplans[known[0]].error is not None:  # its own words, its own plan
                known = self._known(c, r, (int(sig[r]), group_class, "own words"))
            if known[0] < 0:
                self.reasons[known[1]] = self.reasons.get(known[1], 0) + 1
            index.append(known[0])
        scale_digits = max([v.digits() for v in self.vplans] or [0])
        self.scale = 10 ** scale_digits
        for v in self.vplans:
            v.scaled(self.scale, self.keys)
        plan_of = np.full(c.n, -1, np.int64)
        if len(rows):
            plan_of[rows] = np.asarray(index, dtype=np.int64)[inverse.reshape(-1)]
        return plan_of

    def _known(self, c: Claims, r: int, signature: tuple) -> tuple[int, Optional[str]]:
        """The plan of a signature (made from row r the first time it is asked for)."""
        known = self.cache.by_signature.get(signature)
        if known is None:
            known = self.cache.by_signature[signature] = self._vplan(c, r)
        return known

    def _reads(self, c: Claims) -> "_Reads":
        """What the plans can read of the claims' groups, measures, statuses, places and
        facilities (batch_plans.benefit_reads; a scheme without rules: everything): the bits of
        the groups any can read; for each measure the clauses compare, and each scheme and
        benefit code, whether its plans read it; each scheme and benefit's group tests, as (every,
        bits) in a fixed order; for "status", "place", "type" and "grade", by scheme, benefit and
        word code (status and grade from 0, none), whether a plan of theirs reads the word
        (_named_only); and for "event", by scheme and benefit, the bits of the events their plans
        read (_named_events)."""
        if self.cache.reads is not None:
            return self.cache.reads
        names = c.names
        shape = (max(len(names["scheme"]), 1), max(len(names["benefit"]), 1))
        groups = 0
        measures = {m: np.zeros(shape, bool) for m in self.policy.compiled.measure_breaks}
        tests = [[() for _ in range(shape[1])] for _ in range(shape[0])]
        # (status and grade codes from 0 for none)
        words = {"status": [None] + names["status"], "place": names["place"], "type": names["type"],
                 "grade": [None] + [f"grade-{g}" for g in GRADES]}
        named = {dim: np.ones(shape + (len(w),), bool) for dim, w in words.items()}
        named["event"] = np.full(shape, (1 << len(names["event"])) - 1, np.int64)  # (a bit each)
        bit = {g: 1 << i for i, g in enumerate(names["group"]) if i < 62}
        for i, scheme in enumerate(names["scheme"]):
            rules = self.policy.compiled.schemes.get(scheme)
            if rules is None:
                continue
            reads = benefit_reads(rules)
            for j, benefit in enumerate(names["benefit"]):
                read = reads.get(benefit, reads[None])
                groups |= sum(bit.get(g, 0) for g in read.groups)
                for m, keep in measures.items():
                    keep[i, j] = m in read.words
                for dim, w in words.items():
                    named[dim][i, j] = [word in read.words or word in _ALWAYS_KEPT[dim] for word in w]
                named["event"][i, j] = sum(1 << k for k, e in enumerate(names["event"]) if e in read.words)
                tests[i][j] = tuple(sorted({(every, sum(bit.get(g, 0) for g in names_))
                                            for every, names_ in read.group_tests}))
        self.cache.reads = _Reads(groups, measures, tests, named)
        return self.cache.reads

    def _vplan(self, c: Claims, r: int) -> tuple[int, Optional[str]]:
        names = c.names
        claim = {"id": "-", "person": "-", "date": _iso(int(c.ordinal[r])),
                 "scheme": names["scheme"][c.scheme[r]], "benefit": names["benefit"][c.benefit[r]],
                 "facility": {"level": names["level"][c.level[r]], "type": names["type"][c.type[r]]},
                 "place": names["place"][c.place[r]],
                 "groups": [g for i, g in enumerate(names["group"]) if c.groups[r] >> i & 1], "items": []}
        if c.events[r]:
            claim["maternity"] = [e for i, e in enumerate(names["event"]) if c.events[r] >> i & 1]
        if c.status[r] >= 0:
            claim["status"] = names["status"][c.status[r]]
        if c.grade[r] >= 0:
            claim["facility"]["grade"] = GRADES[c.grade[r]]
        for name, (_, values, given) in c.measures.items():
            if given[r]:
                claim[name] = int(values[r])
        try:
            facts = self.policy._read(claim)
            try:
                plan = self.policy._engine.plan(facts, self.params)
            except ClaimError as e:  # the terms fail for this signature: each claim's error row
                v = VPlan(None, c.item_kinds, self.keys, error=e)
            else:
                if plan.missing:  # settled on no parameter's stand-in: the engine's error row
                    return _LACKS_PARAMETER, "a parameter the run did not give"  # (its items' rules name more)
                if plan.allowance is not None and {m for _, m in plan.allowance.per_extra} \
                        & {m for m, _, _ in c.measures.values()}:  # (days by the value, not its interval)
                    raise Unsupported("an allowance per measure")
                v = VPlan(plan, c.item_kinds, self.keys, facts)
            if v.digits() > MAX_DIGITS:
                raise Unsupported("a share finer than 10^-6")
        except (ClaimError, Unsupported) as e:
            return -1, str(e)
        # Signatures whose plans come to the same numbers settle in one step (places, groups and
        # statuses often resolve to the same terms): fewer, larger steps.
        identity = plan_identity(v)
        same = self._identities.get(identity)
        if same is not None:
            return same, None
        self.vplans.append(v)
        self._identities[identity] = len(self.vplans) - 1
        return len(self.vplans) - 1, None

    def _items_supported(self, plan_of, row_ok) -> np.ndarray:
        """Rows whose every item the plan takes: a class it vectorises, no unit price where the
        class's rule reads one, and the days where it has a daily ceiling (without them the
        scalar engine gives the claim its error row)."""
        c, vplans = self.claims, self.vplans
        ok = np.ones(c.n, bool)
        not_ok = _plan_table([[not x for x in v.item_ok] for v in vplans], bool)
        priced = _plan_table([v.item_reads_price for v in vplans], bool) if c.item_priced is not None else None
        daily = _plan_table([[d is not None for d in v.item_daily] for v in vplans], bool)
        if not (not_ok.any() or daily.any() or (priced is not None and priced.any())):
            return ok
        parent = c.parent()
        item_plan = plan_of[parent]
        at = np.maximum(item_plan, 0), np.maximum(c.item_class, 0)  # (a class code below 0 read as 0's)
        bad = not_ok[at]
        if priced is not None:
            bad |= priced[at] & c.item_priced
        if daily.any():
            bad |= daily[at] & (c.item_days < 0 if c.item_days is not None else True)
        ok[parent[bad & (item_plan >= 0)]] = False
        return ok

    # -- costs (independent of the year) --
    # Each loop is over the items once, reading a (plan, item class) table: a loop over the plans,
    # each over every item, grew with plans times items (a year of 100,000 Ziyang claims: 1,000
    # plans over 300,000 items).
    def _item_cells(self, plan_of) -> np.ndarray:
        """Each item's cell of a (plan, item class) table read flat, or the cell past the table's
        last for an item of no plan (a row the scalar engine settles) or of no class."""
        c, width = self.claims, len(self.claims.item_kinds)
        item_plan = plan_of.take(c.parent())
        return np.where((item_plan >= 0) & (c.item_class >= 0), item_plan * width + c.item_class,
                        len(self.vplans) * width)

    @staticmethod
    def _each_item(table: np.ndarray, cells: np.ndarray, none) -> np.ndarray:
        """Each item's entry of a (plan, item class) table (_item_cells), `none` past it."""
        return np.append(table.ravel(), np.array([none], table.dtype))[cells]

    def _over_daily_ceilings(self, cells, fen) -> Optional[np.ndarray]:
        """Each item's cost above its class's daily ceiling times its days (engine._over_ceiling:
        床位费 above the day's standard is excluded), or None where no plan has one. (Rows whose
        item lacks the days are the scalar engine's: _items_supported.)"""
        c = self.claims
        per_day = _plan_table([[-1 if d is None else d for d in v.item_daily] for v in self.vplans], np.int64, -1)
        if not (per_day >= 0).any():
            return None
        per_day = self._each_item(per_day, cells, -1)
        days = np.maximum(c.item_days, 0) if c.item_days is not None else np.zeros(len(fen), np.int64)
        return np.where(per_day >= 0, np.maximum(fen - per_day * days, 0), 0)

    def _class_portions(self, cells, net: np.ndarray) -> None:
        """Each claim's cost of the class its plan pays at a rate of its own (engine.costs'
        portions: the items' amounts after ceilings and pre-payments), and whether it has such an
        item at all (the scalar engine then pays in pieces, VPlan._class_rate); None for both where
        no plan has one."""
        c = self.claims
        self.portion = self.portioned = None
        own = _plan_table([[k == v.class_code for k in range(len(c.item_kinds))] for v in self.vplans], bool)
        if not own.any():
            return
        of_class = self._each_item(own, cells, False)
        self.portion = _segment_sum(np.where(of_class, net, 0), c.offsets)
        self.portioned = _segment_sum(of_class.astype(np.int64), c.offsets) > 0

    def _prepaid(self, cells, fen, amount) -> Optional[np.ndarray]:
        """Each item's pre-payment (先行自付) by its class's tiers: the first tier its price (its
        whole amount) is within, a share of its amount after ceilings; None where no plan has one."""
        tiers = [[t or () for t in v.item_prepay] for v in self.vplans]
        most = max((len(t) for row in tiers for t in row), default=0)
        if not most:
            return None
        pre, left = np.zeros(len(fen), np.int64), np.ones(len(fen), bool)
        for k in range(most):  # (the k-th tier of every class: an upper bound, -1 for none, and a share)
            upper = self._each_item(_plan_table([[t[k][0] if k < len(t) and t[k][0] is not None else -1 for t in row]
                                                 for row in tiers], np.int64, -1), cells, -1)
            num = self._each_item(_plan_table([[t[k][1].numerator if k < len(t) else 0 for t in row]
                                               for row in tiers], np.int64), cells, 0)
            den = self._each_item(_plan_table([[t[k][1].denominator if k < len(t) else 0 for t in row]
                                               for row in tiers], np.int64), cells, 0)
            within = left & (den > 0) & ((upper < 0) | (fen <= upper))
            pre[within] = round_div(amount[within] * num[within], den[within])
            left &= ~within
        return pre

    def _costs(self, plan_of, batch) -> None:
        c = self.claims
        n = c.n
        fen = c.item_fen if c.item_fen.max(initial=0) <= MAX_PERSON_FEN else np.minimum(c.item_fen, MAX_PERSON_FEN)
        classes = c.names["class"]
        excluded_code = classes.index("excluded") if "excluded" in classes else -2
        # Each item's (plan, class) cell, where some plan's item rules need it (8 bytes an item: made once)
        by_item = any(any(t is not None for t in v.item_prepay) or any(d is not None for d in v.item_daily)
                      or v.class_code is not None for v in self.vplans)
        cells = self._item_cells(plan_of) if by_item else None
        over = self._over_daily_ceilings(cells, fen)
        amount = fen if over is None else fen - over
        pre = self._prepaid(cells, fen, amount) if by_item else None
        self._class_portions(cells, amount if pre is None else amount - pre)
        self.total = _segment_sum(fen, c.offsets)
        self.excluded = _segment_sum(np.where(c.item_class == excluded_code, fen, 0) if over is None
                                     else np.where(c.item_class == excluded_code, fen, over), c.offsets)
        self.prepay = _segment_sum(pre, c.offsets) if pre is not None else np.zeros(n, np.int64)
        eligible = self.total - self.excluded - self.prepay
        first = np.zeros(n, np.int64)
        shares = [v.first_share or 0 for v in self.vplans]
        if any(shares):  # (a plan's first personal share of the eligible cost: 首先自付)
            at = np.where(plan_of >= 0, plan_of, len(shares))  # (no plan: the last entry, 0)
            num = np.array([f.numerator for f in shares] + [0], np.int64)[at]
            den = np.array([f.denominator for f in shares] + [1], np.int64)[at]
            has = (plan_of >= 0) & (num > 0)
            first[has] = round_div(eligible[has] * num[has], den[has])
        self.first_share = first
        self.prepay = self.prepay + first
        self.eligible = eligible - first

    def _person_total(self, person, batch) -> np.ndarray:
        sums = np.zeros(max(person.max(initial=-1) + 1, 1), np.int64)
        np.add.at(sums, person[batch], self.total[batch])
        return sums[np.maximum(person, 0)]

    # -- waves --
    def _waves(self, person, plan_of, batch):
        c = self.claims
        rows = np.flatnonzero(batch)
        out = Out(c.n, self.funds)
        handed = np.zeros(c.n, bool)
        self.snapshots: dict = {}  # person-year -> its Year where the scalar engine takes it over
        if not len(rows):
            return out, handed
        self.year = np.zeros(c.n, np.int64)
        self.year[rows] = _years(c.ordinal[rows])
        self.burden_den = 0  # (the steps' burdens: whole fen)
        described = self.described
        if described is not None:
            return self._waves_compiled(person, plan_of, rows, out, handed, *described)
        # A person's year per scheme (domain.md) is a row of the accumulators; its claims are
        # settled in date order (ties in input order), the k-th of every year in wave k.
        person_scheme = person[rows] * len(c.names["scheme"]) + c.scheme[rows]
        shapes = Shapes(self.vplans)
        rows, pyear, rank, years = wave_order(rows, person_scheme, c.ordinal[rows], self.year[rows],
                                               shapes.of[plan_of[rows]])
        acc = Accumulators(years, self.keys)
        self.pyear_of = np.full(c.n, -1, np.int64)
        self.pyear_of[rows] = pyear
        dead = np.zeros(years, bool)
        steps = shapes.of[plan_of[rows]]
        cut = np.flatnonzero((rank[1:] != rank[:-1]) | (steps[1:] != steps[:-1])) + 1
        for a, b in zip(np.r_[0, cut], np.r_[cut, len(rows)]):
            seg, y = rows[a:b], pyear[a:b]
            gone = dead[y]
            if gone.any():  # a year the scalar engine has taken over: its later claims too
                handed[seg[gone]] = True
                seg, y = seg[~gone], y[~gone]
            step = Step(self, shapes.plan(steps[a], plan_of[seg]), seg, y, acc, out)
            lost = step.run()
            if lost.any():
                handed[seg[lost]] = True
                dead[y[lost]] = True
        return out, handed

    @functools.cached_property
    def rated_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """Each rated-cost column's layer fund (its index in the run's funds) and share (1/scale),
        at least one column (settle.Year.rated_costs: a burden leaving out the cost above a
        benefit's own cap). Read by the waves, once every plan, so every column, is made."""
        k = self.keys
        fund = np.full(max(len(k.rated), 1), -1, np.int64)
        share = np.zeros(max(len(k.rated), 1), np.int64)
        for (f, s), j in k.rated.items():
            fund[j], share[j] = self.funds.index(f), int(Fraction(s) * self.scale)
        return fund, share

    def _burden_den(self) -> int:
        """The kernel's burdens in 1/den fen, den a multiple of every rated share (in 1/scale), so
        that the cost above a benefit's own cap comes out of the burden exactly (settle.
        cost_above_cap: the covered cost's part is room / share); 0 where no cost is rated, or where
        its numbers could pass int64: the kernel then keeps fen and hands the year to the scalar
        engine at the claim that would pass the cap, as the steps do."""
        _, share = self.rated_columns
        shares = [int(s) for s in share.tolist() if s > 0]
        if not self.keys.rated or not shares or len(self.keys.rated) > 64:
            return 0
        den = math.lcm(*shares)
        caps = [v.own_cap_s for v in self.vplans if v.own_cap is not None]
        # (a person's costs, below MAX_PERSON_FEN, in 1/den fen with room to add: 109,200 for Shaoxing)
        return den if MAX_PERSON_FEN * den * 8 < 1 << 63 and max(caps, default=0) * den < 1 << 60 else 0

    def _kernel_fits(self, person, batch) -> bool:
        """Whether the waves' kernel settles the run: the loops are there, and each row's key
        (person and scheme, year, plan) fits in int64."""
        rows = np.flatnonzero(batch)
        if self.loops is None or not len(rows):
            return False
        ordinal = self.claims.ordinal[rows]
        span = int(_years(np.asarray([ordinal.max()]))[0] - _years(np.asarray([ordinal.min()]))[0]) + 1
        return (int(person[rows].max()) + 1) * len(self.claims.names["scheme"]) * span << self._plan_bits < 1 << 62

    @property
    def _plan_bits(self) -> int:
        """The bits a row's plan takes at the foot of the kernel's key."""
        return max(len(self.vplans) - 1, 1).bit_length()

    def _waves_compiled(self, person, plan_of, rows, out, handed, desc, starts):
        """The waves as one compiled kernel (_batch_loops.settle_rows) over every row, a
        person-year at a time, each row's plan read from its description: the steps' values (the
        keys fit in int64: _kernel_fits)."""
        c, k = self.claims, self.keys
        person_scheme = person[rows] * len(c.names["scheme"]) + c.scheme[rows]
        year = self.year[rows]
        y0, bits = int(year.min()), self._plan_bits
        span = int(year.max()) - y0 + 1
        order = sort_order(person_scheme, c.ordinal[rows])  # by person and scheme, then date
        keys = ((person_scheme * span + (year - y0)) << bits | plan_of[rows])[order]
        rows = rows[order]
        # (a claim's four costs side by side, gathered in the kernel's order straight into place:
        # one array of the rows' size, where a copy of every claim's then gathered took 28 MB more
        # of a fresh process's 1M claims for no time saved)
        columns = (self.total, self.eligible, self.prepay, self.first_share)
        if self.portion is not None:  # (and a class's cost at its own rate, and whether the claim has one)
            columns += (self.portion, self.portioned.astype(np.int64))
        costs = np.empty((len(rows), len(columns)), np.int64)
        for j, cost in enumerate(columns):
            costs[:, j] = cost.take(rows)
        widths = np.asarray([max(len(k.benefits), 1), max(len(k.stays), 1), max(len(k.pools), 1),
                             max(len(k.burdens), 1), max(len(k.rated), 1)], np.int64)
        rated_fund, rated_share = self.rated_columns
        rated_order = np.argsort(rated_share, kind="stable").astype(np.int64)
        self.burden_den = self._burden_den()
        days, daily = c.ordinal.take(rows), np.asarray(k.daily(), np.int64)
        room = _SNAPSHOT_ROOM
        while True:
            settled = np.zeros((2 + len(self.funds), len(rows)), np.int64)
            snaps = np.zeros((room, 4 * widths[0] + widths[1] + 4 * widths[2] + widths[3] + widths[4] + 2),
                             np.int64)
            state, pyear, lost = self.loops.settle_rows(keys, bits, costs, desc, starts, self.scale,
                                                        batch_steps.EXACT_LIMIT // 4, widths, days, daily,
                                                        rated_fund, rated_share, rated_order, self.burden_den,
                                                        settled, snaps)
            if lost <= room:
                break
            room = lost  # (rare: years handed over at a cap point) once more, with room for every one
        for column, values in zip([out.deductible, out.patient, *out.paid.values()], settled):
            column[rows] = values  # (scatters from contiguous rows: a fifth of a gather's time)
        handed[rows[state > 0]] = True
        self.pyear_of = np.full(c.n, -1, np.int64)
        self.pyear_of[rows] = pyear
        if lost:  # taken over by the scalar engine from that claim on, as the year was before it
            self.snapshot(Accumulators.of_snapshots(snaps[:lost], k, widths), snaps[:lost, -1], range(lost))
        return out, handed

    def snapshot(self, acc: "Accumulators", years, rows=None) -> None:
        """Person-years as settle.Year values, to carry on in the scalar engine (`rows`: where each
        is in `acc`, if not at its number)."""
        from decimal import Decimal

        from .settle import Year
        k, digits = self.keys, len(str(self.scale)) - 1
        for a, y in zip(years.tolist() if rows is None else rows, years.tolist()):
            yr, day = Year(), int(acc.day[a])  # (the daily pools are this day's)
            for (b, lv), j in k.stays.items():
                yr.stays[(b, lv)] = int(acc.level_stays[a, j])
            for b, j in k.benefits.items():
                yr.benefit_stays[b] = int(acc.stays[a, j])
                yr.deductibles[b] = Decimal(int(acc.deductibles[a, j])).scaleb(-2)
                if acc.levels[a, j]:
                    yr.deductible_levels[b] = Decimal(int(acc.levels[a, j])).scaleb(-2)
                yr.eligible[b] = Decimal(int(acc.eligible[a, j])).scaleb(-2)
            for key, j in k.pools.items():
                if key[2] == DAY:
                    key = (key[0], key[1], day)
                yr.pools[key] = Decimal(int(acc.pools[a, j])).scaleb(-2 - digits)
                if (a, j) in acc.fractions:
                    yr.pools[key] = Exact(Fraction(yr.pools[key]) + acc.fractions[(a, j)] / (100 * self.scale))
                yr.rounded[key] = Decimal(int(acc.rounded[a, j])).scaleb(-2)
            for key, j in k.burdens.items():  # (the kernel's in 1/burden_den fen where it has one)
                yr.burden[key] = div(int(acc.burden[a, j]), 100 * self.burden_den) if self.burden_den > 1 \
                    else Decimal(int(acc.burden[a, j])).scaleb(-2)
            for key, j in k.rated.items():
                if acc.rated[a, j]:
                    yr.rated_costs[key] = Decimal(int(acc.rated[a, j])).scaleb(-2)
            self.snapshots[y] = yr

    def _carry_on(self, handed: np.ndarray, schema) -> pa.Table:
        """The claims of the years handed over, settled by the scalar engine from their snapshots,
        each year's claims in date order; one row each, in the order of `handed`'s rows."""
        c = self.claims
        rows = np.flatnonzero(handed)
        order = np.lexsort((rows, c.ordinal[rows], self.pyear_of[rows]))
        claims = list(claims_from_table(self.table.take(pa.array(rows))))
        out: list = [None] * len(rows)
        engine = self.policy._engine
        for i in order.tolist():
            try:
                facts = self.policy._read(claims[i])
                data, _ = engine.settle(facts, self.snapshots[self.pyear_of[rows[i]]], self.params, False)
                out[i] = Result(data, [], None).to_json(trace=False)
            except ClaimError as e:
                out[i] = Result(_error(claims[i], e), [], None).to_json(trace=False)
        return pa.Table.from_batches([results_batch(out, schema)], schema=schema)

    # -- output --
    def _assemble(self, batch, out: "Out", plan_of, clock, handed, repeats) -> pa.Table:
        schema = result_schema(self.funds, False)  # (the scalar engine's rows, as settle_table's)
        scalar_rows = np.flatnonzero(~batch & ~handed & ~repeats)
        parts, positions = [], []
        if repeats.any():  # (their rows made already: no engine settles them)
            parts.append(self._repeated)
            positions.append(np.flatnonzero(repeats))
        if len(scalar_rows):
            sub = self.table.take(pa.array(scalar_rows))
            # (a table of no columns loses its rows in a take: each is an empty claim)
            claims = claims_from_table(sub) if self.table.num_columns else [{}] * len(scalar_rows)
            results = self.policy.settle_all(claims, params=self.given)
            parts.append(pa.Table.from_batches([results_batch([r.to_json(trace=False) for r in results], schema)],
                                               schema=schema))
            positions.append(scalar_rows)
        if handed.any():
            parts.append(self._carry_on(handed, schema))
            positions.append(np.flatnonzero(handed))
        theirs, where = schema.empty_table(), np.zeros(0, np.int64)
        if parts:  # the other engines' rows, in input order
            where = np.concatenate(positions)
            order = np.argsort(where)
            theirs, where = pa.concat_tables(parts).take(pa.array(order)).combine_chunks(), where[order]
        clock("scalar fallback")
        table = self._batch_table(out, plan_of, result_schema(self.funds, False, self.money_type), batch, theirs, where) \
            if batch.any() else theirs.cast(result_schema(self.funds, False, self.money_type))
        clock("result columns")
        meta = {FALLBACK: str(len(scalar_rows) + int(handed.sum())).encode()}
        return table.replace_schema_metadata(meta)

    def _batch_table(self, out: "Out", plan_of, schema, batch, theirs: pa.Table, where: np.ndarray) -> pa.Table:
        """Every row's result columns: the columnar engine's, and at `where` the rows `theirs`
        (the scalar engine's), written into the same arrays (no take of the whole table)."""
        c = self.claims
        plans = np.where(batch, plan_of, -1)  # -1: the last entry of each per-plan table
        per_plan = lambda values, last: np.asarray([*values, last])[plans]  # noqa: E731
        failed = per_plan([v.error is not None for v in self.vplans], False)
        ok = ~failed
        patch = Patch(theirs, where, self.money_type)

        def money(name, fen, valid, column=None):
            return patch.money(column if column is not None else theirs.column(name), fen, valid)

        errors = pa.array([None] + [v.error for v in self.vplans], schema.field("error").type)
        benefit = pa.array(c.names["benefit"], pa.string()).take(pa.array(np.maximum(c.benefit, 0)))
        their_paid = theirs.column("paid").combine_chunks()
        paid_failed = patch.flags(failed, ~np.asarray(pc.is_valid(their_paid), dtype=bool))
        paid = pa.StructArray.from_arrays(
            [money(f, out.paid[f], per_plan([f in v.funds for v in self.vplans], False), their_paid.field(f))
             for f in self.funds], fields=list(schema.field("paid").type), mask=arrow_bools(paid_failed))
        year = patch.flags(self.year.astype(np.int64), np.asarray(theirs.column("year").fill_null(0), dtype=np.int64))
        year_valid = patch.flags(ok, np.asarray(pc.is_valid(theirs.column("year")), dtype=bool))
        zero = np.zeros(c.n, np.int64)  # (one array: the columns of zeros share their words)
        columns = {
            "id": patch.text(c.id, "id"), "person": patch.text(null_where(c.person, failed), "person"),
            "year": with_validity(pa.int32(), year.astype(np.int32), year_valid),
            "benefit": patch.text(null_where(benefit, failed), "benefit"),
            "total": money("total", self.total, ok), "excluded": money("excluded", self.excluded, ok),
            "prepay": money("prepay", self.prepay, ok), "eligible": money("eligible", self.eligible, ok),
            "deductible": money("deductible", out.deductible, ok), "paid": paid,
            "patient": money("patient", out.patient, ok),
            # A claim with an `account` field is the scalar engine's (not a common-shape field), and so
            # is its person's every claim: no row here has a balance, so the patient pays in cash.
            "account": money("account", zero, ok), "cash": money("cash", out.patient, ok),
            "account_balance": money("account_balance", zero, np.zeros(c.n, bool)),  # none known
            "allowance": money("allowance", zero, per_plan([v.allowance_zero for v in self.vplans], False)),
            "error": self._errors(errors, plans, failed, patch, theirs),
        }
        return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)

    @staticmethod
    def _errors(errors: pa.Array, plans: np.ndarray, failed: np.ndarray, patch: "Patch", theirs: pa.Table) -> pa.Array:
        """The error column: each row's plan's error (a take of a struct: 20-150 ms a million rows),
        or, where no row has one (the usual year), nulls."""
        if not failed.any() and theirs.column("error").null_count == theirs.num_rows:
            return pa.nulls(len(plans), errors.type)
        return patch.text(errors.take(pa.array(plans + 1)), "error")


def repeated_rows(policy, table: pa.Table, shared: np.ndarray, taken: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Of the rows `shared` of `table` (in input order), those settle_all refuses as repeats: of
    the claims sharing an id (`ids`: a number per id, per row of `shared`), the first the reader
    takes keeps it and each later one it takes is a `duplicate-id` row; one it refuses keeps no
    id. `taken`: the rows the reader certainly takes (the columns read them, in the period); only
    the others are read, by the scalar reader."""
    taken = taken.copy()
    unsure = np.flatnonzero(~taken)
    taken[unsure] = [e is None for e in reader_errors(policy, table, shared[unsure])]
    holders = np.flatnonzero(taken)  # (in input order: the first of each id keeps it)
    later = np.ones(len(holders), bool)
    later[np.unique(ids[holders], return_index=True)[1]] = False
    return shared[holders[later]]


def dated_in_period(policy, claims: Claims) -> np.ndarray:
    """Rows dated within the policy's effective period (a claim outside it is refused)."""
    (lo, hi) = policy.compiled.effective
    inside = np.ones(claims.n, bool)
    if lo is not None:
        inside &= claims.ordinal >= lo
    if hi is not None:
        inside &= claims.ordinal <= hi
    return inside


def _group_class(groups: int, tests: tuple) -> int:
    """A claim's groups (bits) as the tests of the clauses its plan can consult take them: a bit
    per test (`every`: all of the test's groups; else any), in the scheme and benefit's order
    (`_Run._reads`). terms.matches reads the groups only so, so groups that pass and fail the
    same tests settle alike and their claims share a plan (the generated years: Suizhou's 2,032
    signatures -> 1,215, Suihua's 648 -> 356)."""
    return sum(1 << k for k, (every, bits) in enumerate(tests) if ((groups & bits) == bits if every else groups & bits))


class _Clock:
    """Where a run's time goes (benchmarks/batch.py prints it)."""

    def __init__(self):
        import time
        self._now = time.process_time  # CPU time of the process: fair on a shared machine
        self._last = self._now()
        self.times: dict = {}

    def __call__(self, stage: str) -> None:
        now = self._now()
        self.times[stage] = self.times.get(stage, 0.0) + now - self._last
        self._last = now


# The words a signature keeps whether or not a clause names them (_Run._named_only): a claim's
# own status or none (a resident's), and `local`, which also sets the claim's area. No grade is
# read as an unnamed one is: it fails every test of a grade.
_ALWAYS_KEPT = {"status": frozenset({None}), "place": frozenset({"local"}), "type": frozenset(), "grade": frozenset()}


class _Reads(NamedTuple):
    """What the plans can read of the claims, by scheme and benefit code (_Run._reads)."""
    groups: int            # the bits of the groups any plan can read
    measures: dict         # measure -> (scheme, benefit) -> whether its plans read it
    tests: list            # [scheme][benefit] -> the group tests, (every, bits)
    named: dict            # "status", "place", "type", "grade" -> (scheme, benefit, word) -> named; "event" -> bits


def _bit_count(bits: np.ndarray, width: int) -> np.ndarray:
    """How many of its low `width` bits each value has set."""
    if hasattr(np, "bitwise_count"):  # (numpy 2)
        return np.bitwise_count(bits).astype(np.int64)
    return sum((bits >> k) & 1 for k in range(width)) if width else np.zeros(len(bits), np.int64)


def _plan_table(rows: list, dtype, none=0) -> np.ndarray:
    """A (plan, item class) table from each plan's list (a row of `none` where there is no plan)."""
    return np.array(rows, dtype) if rows else np.full((1, 1), none, dtype)


def _years(ordinal: np.ndarray) -> np.ndarray:
    """Each date's calendar year: each day of the dates' span converted once, then looked up."""
    lo, hi = int(ordinal.min()), int(ordinal.max())
    if hi - lo > 4 * len(ordinal):  # a few dates far apart: each converted
        days = ordinal - EPOCH
    else:
        days = np.arange(lo - EPOCH, hi - EPOCH + 1)
    years = (np.datetime64("1970-01-01") + days.astype("timedelta64[D]")).astype("datetime64[Y]").astype(np.int64)
    return (years if hi - lo > 4 * len(ordinal) else years[ordinal - lo]) + 1970


def _iso(ordinal: int) -> str:
    import datetime as dt
    return dt.date.fromordinal(ordinal).isoformat()


def _segment_sum(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sum of each row's items (exact int64), by np.add.reduceat over the rows' first items (no
    cumulative array of every item); a row of no items sums to 0."""
    n = len(offsets) - 1
    sums = np.zeros(n, np.int64)
    starts = offsets[:-1]
    k = int(np.searchsorted(starts, len(values)))  # rows from k on start past the last item: empty
    if k:
        sums[:k] = np.add.reduceat(values, starts[:k])
        empty = offsets[1:k + 1] == starts[:k]
        if empty.any():  # (reduceat gives an empty row the next row's first item)
            sums[:k][empty] = 0
    return sums

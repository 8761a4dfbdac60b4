"""`med run` in fixed memory: a city's year of claims, in any order, settled person by person.

Two passes over the claims, neither holding more than a chunk of them:

1. **Read** the file once (`inputs.ClaimFile`). Each claim gets its input position and the key
   it settles in: (person, date, position). Claims are gathered in chunks of `chunk` claims;
   a full chunk is sorted by that key and parked on disk as a sorted run. So are the claims'
   ids, sorted by id, so that a repeated id is found by merging, not by holding every id.
2. **Settle** the runs merged (`heapq.merge`) in key order through one `Policy.run`: each
   person's claims arrive together and in date order (ties in input order); when the next
   person starts, the last one's years are dropped. Memory holds one person's years.

Results come back in settlement order and must go out in input order: `_InOrder` writes a row
as soon as every row before it is written, holds the rest up to a budget, and parks what
does not fit in sorted runs on disk, merged at the end.

Input already in settling order (each person's claims together and in date order, as a
bureau's export by person usually is) is noticed while reading (`_Order`): its claims are
settled in input order, with no sort in memory and no merge of runs (runs parked before
the order broke are sorted then), and its rows go out as they settle.

A file of at most `chunk` claims never touches the disk: the chunk is sorted in memory. A
file of at most `in_memory_bytes` keeps its claims parsed between the passes (read once);
a larger one keeps each claim's JSON text, a sixth of the memory, and parses it again. Why sorted runs and `heapq.merge`, not SQLite or DuckDB: the
records are already Python values, the order needed is a plain tuple order, and the
standard library does the merge with one pass over each run and no extra dependency; runs
are pickled in batches, which reads back faster than any SQL engine returns rows to Python.
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import itertools
import os
import pickle
import sys
import tempfile
from typing import Any, Callable, Iterable, Iterator, Optional

from .claims import person_as_read
from .error_kinds import ErrorKinds
from .errors import duplicate_id
from .inputs import ClaimFile, InputProblem, parse_json

CHUNK = 1 << 17           # claims sorted in memory at a time
IN_MEMORY_BYTES = 48 << 20  # files up to this size keep claims parsed (~2.4 KB each) between the passes
RESULT_BUDGET = 64 << 20  # bytes of result text waiting for earlier rows before it is parked
_BATCH = 2048             # records per pickle in a run file: what a merge holds per run
_COLLECT_EVERY = 1 << 17  # claims between collections of the (disabled) cyclic collector
_DATES_KEPT = 1 << 14     # distinct dates whose day numbers a run keeps


class Summary:
    """What a run did: rows written, how many of them are errors, and of which kinds."""

    def __init__(self) -> None:
        self.rows = 0
        self.errors = 0
        self.kinds = ErrorKinds()


def error_of(row) -> Optional[tuple]:
    """A result row's (error, id), or None where the claim settled: what `Summary` counts."""
    error = row.get("error")
    return None if error is None else (error, row.get("id"))


def run_claims(policy, params, source: ClaimFile, writer, *, trace: bool = True,
               report: Callable[[str], None] = lambda _: None, progress: bool = False,
               chunk: int = CHUNK, result_budget: int = RESULT_BUDGET, in_memory_bytes: int = IN_MEMORY_BYTES,
               workdir: Optional[str] = None, pool=None, members=None) -> Summary:
    """Settle every claim of `source` on `policy` and write each result row with `writer`
    (output.Writer) in input order. `report` receives one line per input problem. Raises
    MedError before reading anything when the parameters are wrong. `pool` (jobs.Pool): whole
    persons are settled in its worker processes instead of this one."""
    policy.run(params)  # check the parameters before the first claim
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="med-run-", dir=workdir) as tmp:
        bar = Progress(progress)
        report = bar.above(report)
        sink = _InOrder(writer, _Spill(tmp, "results"), result_budget, summary)
        # A small file is parsed once and sorted in memory; a large one keeps claims as text
        # (a sixth of the memory of a parsed claim) and parses each again when it settles.
        small = source.size is not None and source.size <= in_memory_bytes
        order = _Order()
        sorted_claims = _Sorter(_Spill(tmp, "claims"), chunk, keep_parsed=small or source.size is None, order=order)
        ids = _Sorter(_Spill(tmp, "ids"), chunk)
        errors = _ErrorRows(policy, params, trace)
        writer.start()
        count = 0
        ordinals: dict = {}  # date text -> its day number: a year of claims has a few hundred dates
        for index, (line, claim, text) in enumerate(tracked(source, bar)):
            if isinstance(claim, InputProblem):
                report(f"{source.path}:{claim.line}: {claim.message}; skipped")
                row = claim.as_result()
                sink.put(index, writer.encode(row), error_of(row))
                continue
            key = _settle_key(claim, ordinals)
            if key is None:  # not a claim that can settle: its error row needs no year
                row = errors.row(claim)
                sink.put(index, writer.encode(row), error_of(row))
                continue
            person, ordinal = key
            order.see(person, ordinal)
            sorted_claims.add((person, ordinal, index, claim, text))
            cid = claim.get("id")
            if type(cid) is str and cid:
                ids.add((cid, index))
            count += 1
        repeated = _repeated(ids.merged())
        bar.settling(count)
        if pool is not None:  # member records (`members`) are read in this process only: no pool with them
            pool.settle(sorted_claims.merged(), repeated, sink, bar)
        else:
            _settle(policy.run(params, trace=trace, members=members), trace, sorted_claims.merged(), repeated, writer,
                    sink, bar)
        sink.finish()
        writer.finish()
        bar.close()
    return summary


def _settle(run, trace: bool, records: Iterator[tuple], repeated: set, writer, sink: "_InOrder",
            bar: "Progress") -> None:
    current = None
    done = 0
    for person, _, index, claim, text in records:
        if person != current:
            if current is not None:
                run.forget(current)
            current = person
        if claim is None:  # parked on disk as its JSON text
            claim = parse_json(text)
        if index in repeated:
            row = _repeated_row(claim["id"])
            sink.put(index, writer.encode(row), error_of(row))
        else:
            result = run.settle(claim)
            sink.put(index, writer.encode_result(result, trace), None if result.ok else error_of(result))
        done += 1
        if not done % 1024:
            bar.settled(1024)
            if not done % _COLLECT_EVERY:
                gc.collect()
    bar.settled(done % 1024)


def _repeated_row(cid: str) -> dict:
    return {"id": cid, "error": duplicate_id(cid).as_dict()}


class _ErrorRows:
    """Rows for claims that cannot settle (no person or date to order them by): each is read in
    a run of its own, so it can never touch anyone's year."""

    def __init__(self, policy, params, trace: bool):
        self.policy, self.params, self.trace = policy, params, trace

    def row(self, claim: Any) -> dict:
        return self.policy.run(self.params, trace=self.trace).settle(claim).to_json(trace=self.trace)


def _settle_key(claim: Any, ordinals: dict) -> Optional[tuple[str, int]]:
    """(person, date ordinal) to order a claim by, or None when it has no usable person or
    date (the claim reader would refuse it). `ordinals`: the run's dates read so far."""
    if type(claim) is not dict:
        return None
    person, date = claim.get("person"), claim.get("date")
    if type(person) is not str or type(date) is not str:
        return None
    # The person as the claim reader reads it (claims._person): two spellings, one person and
    # one year, its claims in date order.
    person = person_as_read(person)
    if not person:
        return None
    ordinal = ordinals.get(date)
    if ordinal is None:
        ordinal = _ordinal(date)
        if ordinal is None:
            return None
        if len(ordinals) < _DATES_KEPT:
            ordinals[date] = ordinal
    return person, ordinal


def _ordinal(date: str) -> Optional[int]:
    if len(date) != 10:
        return None
    try:
        return dt.date.fromisoformat(date).toordinal()
    except ValueError:
        return None


def _repeated(ids: Iterable[tuple[str, int]]) -> set:
    """Input positions of claims whose id an earlier claim already has (ids arrive sorted by
    id, then position): only these are held, never every id."""
    out = set()
    last = None
    for cid, index in ids:
        if cid == last:
            out.add(index)
        last = cid
    return out


# ---- sorting out of core ------------------------------------------------------------

class _Spill:
    """Sorted runs in one folder: each a file of pickled batches, read back one batch at a time."""

    def __init__(self, folder: str, name: str):
        self.folder, self.name = folder, name
        self.files: list[str] = []

    def write(self, records: list) -> None:
        path = os.path.join(self.folder, f"{self.name}-{len(self.files)}.run")
        self._dump(path, records)
        self.files.append(path)

    def rewrite(self, i: int, records: list) -> None:
        """Replace run `i` (already read back, and so removed) with `records`."""
        self._dump(self.files[i], records)

    @staticmethod
    def _dump(path: str, records: list) -> None:
        with open(path, "wb") as f:
            for i in range(0, len(records), _BATCH):
                pickle.dump(records[i:i + _BATCH], f, protocol=pickle.HIGHEST_PROTOCOL)

    def runs(self) -> list[Iterator]:
        return [_read_run(path) for path in self.files]


def _read_run(path: str) -> Iterator:
    with open(path, "rb") as f:
        while True:
            try:
                batch = pickle.load(f)
            except EOFError:
                break
            yield from batch
    os.unlink(path)


_ORDER_PERSONS = 1 << 20  # persons whose claims are done that `_Order` remembers (as hashes)


class _Order:
    """Whether claims arrive in an order that settles as the sort would: each person's claims
    together, in date order (ties in input order, as they come). Persons may come in any order:
    their years are their own. A person seen again after another one (or a hash collision with
    one: the sort is then only not skipped) breaks it; so does a file with more persons than
    `_ORDER_PERSONS`, so that the check holds at most a few tens of MB."""

    __slots__ = ("holds", "person", "ordinal", "done")

    def __init__(self) -> None:
        self.holds = True
        self.person: Optional[str] = None
        self.ordinal = 0
        self.done: set = set()

    def see(self, person: str, ordinal: int) -> None:
        if person == self.person:
            if ordinal < self.ordinal:
                self.holds = False
            self.ordinal = ordinal
            return
        if not self.holds:
            return
        done = self.done
        if self.person is not None:
            done.add(hash(self.person))
        if hash(person) in done or len(done) > _ORDER_PERSONS:
            self.holds = False
            self.done = set()
        self.person, self.ordinal = person, ordinal


class _Sorter:
    """Records sorted by their tuple order, in memory up to `chunk`, in runs on disk beyond.
    A claim record keeps its JSON text instead of the parsed claim, when it has one, once it
    is parked on disk or unless `keep_parsed` (stdin, whose size is unknown, keeps the first
    chunk parsed: a short input is then parsed once).

    With an `order` that still holds, records are already in settling order: they are neither
    sorted nor merged, and `merged()` gives them as they came (a run parked while it held is
    sorted when it stops holding)."""

    def __init__(self, spill: _Spill, chunk: int, keep_parsed: bool = True, order: Optional[_Order] = None):
        self.spill, self.chunk, self.keep_parsed = spill, chunk, keep_parsed
        self.order = order
        self.unsorted_runs = 0  # runs at the start of spill.files parked in input order
        self.records: list = []

    def add(self, record: tuple) -> None:
        self.records.append(record if self.keep_parsed else _compact(record))
        if len(self.records) >= self.chunk:
            self._park()

    def _in_order(self) -> bool:
        return self.order is not None and self.order.holds

    def _park(self) -> None:
        if self._in_order():
            self.unsorted_runs += 1
        else:
            self._sort_parked()
            self.records.sort()
        self.spill.write([_compact(r) for r in self.records])
        self.records = []
        self.keep_parsed = False

    def _sort_parked(self) -> None:
        """The runs parked while the input was in order, sorted now that it is not."""
        for i in range(self.unsorted_runs):
            path = self.spill.files[i]
            records = sorted(_read_run(path))
            self.spill.rewrite(i, records)
        self.unsorted_runs = 0

    def merged(self) -> Iterator:
        if self._in_order():
            return itertools.chain(*self.spill.runs(), self.records)
        self._sort_parked()
        self.records.sort()
        runs = self.spill.runs()
        if not runs:
            return iter(self.records)
        return heapq.merge(*runs, self.records)


def _compact(record: tuple) -> tuple:
    if len(record) == 5 and record[4] is not None:
        person, ordinal, index, _, text = record
        return person, ordinal, index, None, text
    return record


class _InOrder:
    """Rows arrive in settlement order, each with its input position; they leave in input
    order as soon as every earlier row has left. Rows that must wait are held up to `budget`
    bytes of text; beyond it they are parked on disk, sorted, and merged in at the end."""

    def __init__(self, writer, spill: _Spill, budget: int, summary: Summary):
        self.writer, self.spill, self.budget, self.summary = writer, spill, budget, summary
        self.next = 0
        self.waiting: dict[int, str] = {}
        self.held = 0

    def put(self, index: int, text: str, error: Optional[tuple]) -> None:
        """The row at input `index`, encoded; `error`: (its error, its id) where it is an error row."""
        summary = self.summary
        summary.rows += 1
        if error is not None:
            summary.errors += 1
            summary.kinds.add(index, *error)
        if index != self.next:
            self.waiting[index] = text
            self.held += len(text)
            if self.held > self.budget:
                self.spill.write(sorted(self.waiting.items()))
                self.waiting, self.held = {}, 0
            return
        write, waiting = self.writer.write, self.waiting
        write(text)
        index += 1
        while index in waiting:
            text = waiting.pop(index)
            self.held -= len(text)
            write(text)
            index += 1
        self.next = index

    def finish(self) -> None:
        write = self.writer.write
        for _, text in heapq.merge(*self.spill.runs(), sorted(self.waiting.items())):
            write(text)
        self.waiting = {}


# ---- progress --------------------------------------------------------------------

def tracked(source: ClaimFile, bar: "Progress") -> Iterator[tuple[int, Any, Optional[str]]]:
    """The file's records, the reading bar moved every thousand or so."""
    if not bar.enabled:
        yield from source.records()
        return
    bar.reading(source.size)
    for n, record in enumerate(source.records(), 1):
        if not n % 1024:
            bar.read(source.position())
        yield record
    bar.read(source.position())


class Progress:
    """A progress bar on stderr (tqdm) while reading and settling, only when asked for (when
    stderr is a terminal); otherwise every call does nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None

    def _options(self) -> dict:
        try:  # a terminal that reports no size (a bare pty) would get no bar at all
            size = os.get_terminal_size(sys.stderr.fileno())
        except (OSError, ValueError):
            size = os.terminal_size((0, 0))
        return {"file": sys.stderr, "mininterval": 0.25, "ncols": size.columns or 80, "nrows": size.lines or 24}

    def reading(self, size: Optional[int]) -> None:
        from tqdm import tqdm  # only a terminal pays for the import

        self.bar = tqdm(total=size, desc="reading", unit="B", unit_scale=True, leave=False, **self._options())

    def read(self, position: Optional[int]) -> None:
        if self.bar is not None and position is not None:
            self.bar.update(position - self.bar.n)

    def settling(self, claims: int) -> None:
        self.stage("settling", claims, last=True)

    def stage(self, desc: str, claims: int, last: bool = False) -> None:
        """A bar for one stage of the run, counted in claims, in place of the stage before; the
        `last` stays on the terminal when the run ends (the columnar engine's run: dealing,
        settling, writing)."""
        if not self.enabled:
            return
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(total=claims, desc=desc, unit=" claims", unit_scale=True, leave=last, **self._options())

    def settled(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def above(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """`say` for a line written while a bar may show: the bar cleared first and drawn again
        after, so the line stands on its own above it, not in the middle of the bar's."""
        def said(text: str) -> None:
            if self.bar is None:
                say(text)
                return
            self.bar.clear()
            say(text)
            self.bar.refresh()
        return said

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

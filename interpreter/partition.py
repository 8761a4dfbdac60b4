"""A year of claims (Parquet or Arrow IPC) settled by the columnar engine in a fixed memory
budget and on every core (`med run --jobs --memory`).

The columnar engine (batch.py) settles a table held in memory: about 1.2 KB a claim while it
runs. A year larger than the budget is settled in *buckets of whole persons*:

1. **Deal.** The input is read a batch at a time; each row goes to bucket
   `hash(person) % buckets` (a hash of the UTF-8 bytes, vectorised, the same in every process)
   with its input position as column `row`, appended to that bucket's Arrow IPC spill file.
   Each row's id hash goes beside it, to find ids given twice across buckets. With `jobs`
   workers, runs of whole row groups (`parts_of`) are dealt side by side, each into spill files
   of its own; a bucket's parts, read in order, hold its rows in input order.
2. **Settle.** Each bucket is one run of the columnar engine (a person's claims are all in one
   bucket, so their years are whole); `jobs` worker processes settle buckets side by side, each
   compiling the policy once. Claim ids given more than once in the whole input are decided
   first, as `settle_all` decides them (the first claim that reads well keeps its id; later
   ones are `duplicate-id` rows that never touch a year), and those rows leave their buckets.
3. **Merge.** The buckets' results (spilled packed, spill_form.py, one batch per output window), each in
   input order, are merged by `row` a window at a time (with workers, each window by a worker,
   a few ahead of this process) and written as row groups of `ROW_GROUP` rows.

The output is the same bytes however many buckets or jobs: every row's result depends only on
its person's claims, and the file is always written in the same windows. Memory: the buckets
settling at once (`jobs` of them), plus one window; the number of buckets is chosen so that
they fit `memory` (docs/scale.md has the measured figures).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batch_columns import normal_persons
from .batch_kernels import kernels
from .columnar_files import FILE_MONEY, ROW_GROUP, ClaimsFile, Sink, file_schema
from .jobs import cores
from .spill_form import pack, unpack
from .takes import take_rows

ROW = "row"
READ_BATCH = 1 << 16         # rows of a spill file's batch
DEAL_BATCH = 1 << 18         # input rows read at a time while dealing (64k: reading took twice the CPU)
DEFAULT_MEMORY = 2 << 30     # bytes: `--memory` when not given
CLAIM_BYTES = 1500           # peak bytes per claim while the columnar engine settles (measured: ~1.1 KB)
BASE_BYTES = 256 << 20       # a process with the policy, numpy and pyarrow loaded
SPILL = pa.ipc.IpcWriteOptions(compression=None)  # claims spilled as they are: lz4 cost more CPU than it saved
# Results spilled packed (spill_form: money in 32 bits, no all-zero or all-null leaf) and then as
# they are: lz4 over them cost more than the fresh page-cache pages it saved (10M claims, one job,
# in turns: 14.3 against 15.3 CPU s; two jobs 8.9 against 9.4-10.0 s wall).
RESULTS_SPILL = pa.ipc.IpcWriteOptions(compression=None)
# A merged window as it is too: the parent reads it at once (its pages still cached), and while
# the parent writes the file it is the serial part (10M claims, --jobs 2, in turns, when the
# results were spilled with lz4: faster in five pairs of six, by 0.6-0.9 s wall of ~11.5).
WINDOW_SPILL = pa.ipc.IpcWriteOptions(compression=None)


@dataclass
class Summary:
    rows: int = 0
    errors: int = 0
    fallback: int = 0        # claims the scalar engine settled inside the columnar one
    buckets: int = 1
    jobs: int = 1


def default_jobs(rows: int, memory: int) -> int:
    """Every core for a year larger than one process's budget, else one process. Below that one
    process settles the file in memory with no spill files, which workers cannot beat: they would
    add the dealing, the merge and each worker's start (1M claims: 1.9 s wall with one process,
    3.2 s with two, docs/scale.md)."""
    return cores() if bucket_count(rows, memory, 1) > 1 else 1


def bucket_count(rows: int, memory: int, jobs: int) -> int:
    """Buckets of whole persons such that `jobs` of them settling at once fit in `memory`."""
    per_process = memory // max(jobs, 1) - BASE_BYTES
    claims = max(per_process // CLAIM_BYTES, 20_000)
    return max(math.ceil(rows / claims), jobs if rows >= jobs else 1)


def string_hash(arr: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's UTF-8 bytes (0 for null): a polynomial over the bytes,
    then mixed; the compiled loops in one pass, else in vector form. The same on every machine
    and in every process (unlike `hash`)."""
    if pa.types.is_dictionary(arr.type):
        return string_hash(arr.dictionary)[np.asarray(arr.indices.fill_null(0), dtype=np.int64)] \
            * np.asarray(pc.is_valid(arr), dtype=np.uint64)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return np.zeros(len(arr), np.uint64)
    arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = arr.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data is not None else np.zeros(0, np.uint8)
    valid = np.asarray(pc.is_valid(arr), dtype=bool)
    loops = kernels(n)
    if loops is not None:
        return loops.string_hash(offsets - offsets[0], data, valid)
    starts, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    with np.errstate(over="ignore"):
        longest = int(lengths.max(initial=0))
        powers = np.cumprod(np.full(max(longest, 1), 0x100000001B3, np.uint64))  # FNV prime, wrapping
        pos = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths)
        cs = np.zeros(len(data) + 1, np.uint64)
        np.cumsum((data.astype(np.uint64) + 1) * powers[pos], out=cs[1:])
        h = cs[starts + lengths] - cs[starts] + (lengths.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
    return np.where(valid, h, np.uint64(0))


# ---- 1. deal -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """A run of whole row groups of the input, dealt by one process: its rows are numbered from
    `first_row`, and its spill files are numbered `number` (so a bucket's parts, read in order of
    number, hold its rows in input order)."""
    groups: range
    first_row: int
    number: int


def parts_of(sizes: list[int], jobs: int) -> list[Part]:
    """The input's row groups (their `sizes` in rows) in at most `jobs` runs of about equal rows
    (one run where the file has one row group: a row group is read whole)."""
    total, parts, start, first, seen = sum(sizes), [], 0, 0, 0
    for g, size in enumerate(sizes):
        seen += size
        if len(parts) < jobs - 1 and g + 1 < len(sizes) and seen >= total * (len(parts) + 1) / jobs:
            parts.append(Part(range(start, g + 1), first, len(parts)))
            start, first = g + 1, seen
    parts.append(Part(range(start, len(sizes)), first, len(parts)))
    return parts


def spill_path(folder: str, kind: str, bucket: int, part: int) -> str:
    """The spill file of one bucket from one part: `kind` "claims" (Arrow IPC) or "ids" (pairs)."""
    return os.path.join(folder, f"{kind}-{bucket:05d}-{part:03d}.{'arrow' if kind == 'claims' else 'bin'}")


class _Spill:
    """One Arrow IPC stream per bucket, appended a batch at a time (a stream, not a file: the
    few-word columns stay dictionaries, whose words may change from batch to batch)."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        self.writers: list = [None] * len(paths)

    def write(self, b: int, batch: pa.RecordBatch) -> None:
        if self.writers[b] is None:
            self.writers[b] = pa.ipc.new_stream(self.paths[b], batch.schema, options=SPILL)
        self.writers[b].write_batch(batch)

    def close(self) -> None:
        for w in self.writers:
            if w is not None:
                w.close()


def deal(path: str, folder: str, buckets: int, part: Part, dealt_rows: Optional[Callable[[int], None]] = None) -> None:
    """One part of the input's rows dealt into bucket files by person, each with its input
    position; and files of (id hash, row) pairs by bucket of ids, to find ids given more than
    once (spill_path names both). `dealt_rows(n)` after each batch (for the progress bar)."""
    spill = _Spill([spill_path(folder, "claims", b, part.number) for b in range(buckets)])
    ids = [spill_path(folder, "ids", b, part.number) for b in range(buckets)]
    start = part.first_row
    # Read as the one-bucket run reads (dictionaries): each bucket's engine then reads each
    # distinct date, scheme, level or class once, not every row's string.
    for batch in ClaimsFile(path).batches(DEAL_BATCH, part.groups):
        n = batch.num_rows
        rows = np.arange(start, start + n, dtype=np.int64)
        batch = batch.append_column(ROW, pa.array(rows))
        # (as the engine groups them: two spellings of one person, one bucket)
        person = normal_persons(batch.column("person")) if "person" in batch.schema.names else pa.nulls(n, pa.string())
        order, cuts = _by_bucket(string_hash(person) % np.uint64(buckets), buckets)
        dealt = take_rows(batch, order)
        for b in range(buckets):
            if cuts[b + 1] > cuts[b]:
                spill.write(b, dealt.slice(cuts[b], cuts[b + 1] - cuts[b]))
        if "id" in batch.schema.names:
            ids_now = batch.column("id")
            given = np.asarray(pc.is_valid(ids_now), dtype=bool)
            h = string_hash(ids_now)[given]
            order, cuts = _by_bucket(h % np.uint64(buckets), buckets)
            pairs = np.stack([h.view(np.int64), rows[given]], 1)[order]
            for b in range(buckets):
                if cuts[b + 1] > cuts[b]:
                    with open(ids[b], "ab") as f:
                        f.write(pairs[cuts[b]:cuts[b + 1]].tobytes())
        start += n
        if dealt_rows is not None:
            dealt_rows(n)
    spill.close()


def _by_bucket(bucket: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows in order of bucket (in input order within one), and where each bucket starts
    in that order (and the end). Bucket numbers as 16 bits where they fit: numpy's stable sort
    of them is then a radix sort, 4x quicker than its merge sort of 64-bit ones."""
    keys = bucket.astype(np.uint16 if buckets <= 1 << 16 else np.int64)
    order = np.argsort(keys, kind="stable")
    cuts = np.zeros(buckets + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=buckets), out=cuts[1:])
    return order, cuts


def repeated_candidates(ids: list[str]) -> np.ndarray:
    """Rows whose id hash some other row shares, in one bucket of ids (its parts' files): the
    only rows that may repeat an id. The buckets of ids are independent, so the workers take
    them side by side; the files are removed once read."""
    pairs = []
    for p in ids:
        if os.path.exists(p):
            pairs.append(np.fromfile(p, dtype=np.int64).reshape(-1, 2))
            os.unlink(p)
    if not pairs:
        return np.zeros(0, np.int64)
    pairs = np.concatenate(pairs) if len(pairs) > 1 else pairs[0]
    h = np.ascontiguousarray(pairs[:, 0])
    loops = kernels(len(h))
    if loops is not None:  # a table per part of the hash: 8x quicker than the sort
        return pairs[loops.repeated(h), 1]
    order = np.argsort(h)  # (any order of equal hashes: the rows found are sorted after)
    hs = h[order]
    same = np.zeros(len(hs), bool)
    same[1:] |= hs[1:] == hs[:-1]
    same[:-1] |= hs[1:] == hs[:-1]
    return pairs[order[same], 1]


def duplicate_rows(policy, params, path: str, candidates: np.ndarray, schema: pa.Schema) -> pa.Table:
    """`duplicate-id` result rows (with `row`) for the claims `settle_all` would refuse as
    repeats: of the candidates sharing an id, every one after the first that reads well
    (batch.repeated_rows: the rows the columns read are taken as read)."""
    from .arrow import claims_from_table, results_batch
    from .batch import dated_in_period, repeated_rows
    from .batch_columns import Claims, small_offsets
    from .batch_results import duplicate_id_rows
    from .policy import repeated_ids

    if not len(candidates):
        return schema.empty_table()
    picked, start = [], 0
    for batch in ClaimsFile(path).batches(READ_BATCH):
        lo, hi = np.searchsorted(candidates, [start, start + batch.num_rows])
        if hi > lo:
            picked.append(batch.take(pa.array(candidates[lo:hi] - start)))
        start += batch.num_rows
    table = small_offsets(pa.Table.from_batches(picked))
    rows_schema = schema.remove(schema.get_field_index(ROW))
    claims = Claims(policy, table)
    if claims.id is None or not pa.types.is_string(claims.id.type):  # (ids not text: the reader words each)
        found = repeated_ids(policy, zip(candidates.tolist(), claims_from_table(table)))
        return pa.Table.from_batches([results_batch([out for _, out in found], rows_schema)]).append_column(
            ROW, pa.array([row for row, _ in found], pa.int64()))
    codes = np.asarray(pc.dictionary_encode(claims.id).indices.fill_null(-1), dtype=np.int64)
    shared = np.flatnonzero(codes >= 0)
    taken = (claims.ok & dated_in_period(policy, claims))[shared]
    rows = repeated_rows(policy, table, shared, taken, codes[shared])
    found = duplicate_id_rows(claims.id.take(pa.array(rows)), rows_schema)
    return found.append_column(ROW, pa.array(candidates[rows], pa.int64()))


# ---- 2. settle -------------------------------------------------------------------------------

def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse instead of returning it to the kernel.

    The columnar engine makes and drops arrays of a few MB all the time; by default each comes
    from a fresh mmap and its pages are faulted in (zeroed by the kernel) again, which was a
    third of the engine's CPU time (system time, docs/scale.md). So no block comes from mmap,
    not even those over 32 MB (a million rows' cost table, the kernel's output): all come from
    the heap, which is never trimmed below 1 GB, and a bucket's arrays reuse the last bucket's
    pages (10M claims in 8 buckets, one job: 2-3 CPU s less than with mmap above 32 MB).
    pyarrow's own buffers are allocated through the same malloc (its system pool) rather than
    mimalloc, which also hands pages back; the Parquet reader and writer follow only where
    ARROW_DEFAULT_MEMORY_POOL said so before pyarrow loaded (`med run` sets it:
    cli.native_libraries_for_a_run). Process-wide, so only `med run` and its workers call it;
    peak memory stays the same (freed blocks are reused, not added). False (and nothing
    changed) where the C library is not glibc."""
    import ctypes
    try:  # (the process's own symbols: ctypes.util.find_library would run ldconfig, 10 ms)
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_max, m_arena_max = -1, -2, -4, -8
    # One arena: Arrow's reader and writer threads would otherwise each grow an arena of their
    # own, whose pages are fresh (faulted in) where the main arena's freed ones would do.
    if not all(mallopt(option, value) == 1 for option, value in
               ((m_mmap_max, 0), (m_trim_threshold, 1 << 30), (m_top_pad, 64 << 20), (m_arena_max, 1))):
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    _no_huge_pages()
    return True


def _no_huge_pages() -> None:
    """Stop numpy asking for transparent huge pages on its big arrays (madvise MADV_HUGEPAGE).
    Where the kernel compacts memory for them on the fault (defrag "madvise", as on this VM), a
    fresh `med run` of 1M claims now and then spent a second more in the kernel: 1.55-2.77 CPU s
    over six runs with them, 1.55-1.79 without (docs/scale.md)."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1.x
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return
    _set_madvise_hugepage(False)


@contextlib.contextmanager
def without_pandas():
    """pyarrow imports pandas on its first conversion of Python values or to numpy (to ask whether
    a value is a pandas object): 0.3-0.5 CPU s of a fresh `med run`, which never hands it one. So
    while the run goes, where pandas is not imported yet, importing it fails at once (pyarrow then
    takes it as not installed; where pandas is really needed, after, it is imported again)."""
    if "pandas" in sys.modules:
        yield
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


class _NoPandas:
    """An import finder that refuses pandas (a None in sys.modules would not do: pyarrow's
    compiled import takes the None for the module)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not loaded while `med run` settles Parquet", name=name)
        return None


_WORKER: dict = {}


def _start_worker(policy_path: str, params: Optional[dict]) -> None:
    """A worker process: the policy compiled once, and its vector plans made once, for every
    bucket it settles."""
    from .batch import Plans
    from .policy import load
    pa.set_cpu_count(1)
    keep_freed_memory()
    if "pandas" not in sys.modules:  # a worker of `med run`: no pandas for its whole life
        sys.meta_path.insert(0, _NoPandas())  # (not without_pandas().__enter__(): the unnamed
        # context manager is collected at once, and its `finally` removed the finder again)
    _WORKER.update(policy=load(policy_path), params=params, plans=Plans())


def _settle_in_worker(claims: list[str], out: str, skip: np.ndarray, windows: int) -> tuple[int, int, int]:
    return settle_bucket(_WORKER["policy"], _WORKER["params"], claims, out, skip, windows, _WORKER["plans"])


def settle_bucket(policy, params, claims: list[str], out: str, skip: np.ndarray, windows: int,
                  plans=None) -> tuple[int, int, int]:
    """One bucket's claims (its parts' spill files, in order) settled as one run by the columnar
    engine, written with their input positions to `out`, batch k holding its rows of output window
    k (`windows` of them); rows in `skip` (ids given twice) are left out. Returns (rows, errors,
    claims settled by the scalar engine)."""
    from .batch import fallback_count, settle_batch

    schema = file_schema(policy).append(pa.field(ROW, pa.int64()))
    tables = []
    for path in claims:
        if os.path.exists(path):
            with pa.OSFile(path) as source:  # read, not mapped: mapped pages would count as the process's memory
                tables.append(pa.ipc.open_stream(source).read_all())
            os.unlink(path)
    table = None if not tables else tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    del tables
    if table is not None and len(skip):
        table = table.filter(pa.array(~np.isin(np.asarray(table.column(ROW)), skip)))
    if table is None or not table.num_rows:
        with pa.ipc.new_file(out, schema) as w:
            pass
        return 0, 0, 0
    rows = table.column(ROW)
    result = settle_batch(policy, table.drop_columns([ROW]), params, plans, FILE_MONEY)
    fell = fallback_count(result)
    result = result.replace_schema_metadata(None).append_column(ROW, rows)
    packed = pack(result, kept=(ROW,))
    whole = packed.to_batches()[0]
    edges = _window_edges(np.asarray(rows), windows)
    with pa.ipc.new_file(out, packed.schema, options=RESULTS_SPILL) as w:
        for k in range(windows):
            w.write_batch(whole.slice(edges[k], edges[k + 1] - edges[k]))
    return result.num_rows, result.num_rows - result.column("error").null_count, fell


# ---- 3. merge --------------------------------------------------------------------------------

def merge_window(paths: list[str], extra: pa.Table, k: int) -> pa.Table:
    """Output window k in input order: batch k of each bucket's results (spill_form.pack's),
    and `extra` (rows of the window settled elsewhere, as `extra.schema` has them), interleaved
    by `row`."""
    parts = []
    for path in paths:
        with pa.OSFile(path) as source:  # read, not mapped: mapped pages would count as the process's memory
            reader = pa.ipc.open_file(source)
            if k < reader.num_record_batches:
                parts.append(unpack(pa.Table.from_batches([reader.get_batch(k)]), extra.schema))
    window = pa.concat_tables(parts + [extra])
    return take_rows(window, _input_order(np.asarray(window.column(ROW)), k * ROW_GROUP)).drop_columns([ROW])


def _input_order(rows: np.ndarray, first: int) -> np.ndarray:
    """The order that puts a window's `rows` (input positions from `first`, each once) in input
    order: placed by position, not sorted (a stable sort where they are not each once)."""
    place = rows - first
    order = np.full(len(rows), -1, np.int64)
    if len(rows) and place.min() >= 0 and place.max() < len(rows):
        order[place] = np.arange(len(rows))
        if order.min() >= 0:
            return order
    return np.argsort(rows, kind="stable")


def _merge_to_file(paths: list[str], extra: pa.Table, k: int, out: str) -> str:
    window = merge_window(paths, extra, k)
    with pa.ipc.new_file(out, window.schema, options=WINDOW_SPILL) as w:
        w.write_table(window)
    return out


def merged(pool, paths: list[str], extra: pa.Table, windows: int, folder: str, ahead: int = 4) -> Iterator[pa.Table]:
    """Windows of ROW_GROUP rows, in input order, from the buckets' results (and `extra`); with
    workers, each window merged by a worker (at most `ahead` ahead of the writer, spilled in
    `folder`) and read back here, so the writer here only writes."""
    extra_rows = np.asarray(extra.column(ROW)) if extra.num_rows else np.zeros(0, np.int64)
    edges = _window_edges(extra_rows, windows)
    extra_of = lambda k: extra.slice(edges[k], edges[k + 1] - edges[k])  # noqa: E731
    if pool is None:
        for k in range(windows):
            yield merge_window(paths, extra_of(k), k)
        return
    submit = lambda k: pool.submit(_merge_to_file, paths, extra_of(k), k,  # noqa: E731
                                   os.path.join(folder, f"window-{k:06d}.arrow"))
    futures = [submit(k) for k in range(min(ahead, windows))]
    for k in range(windows):
        if k + ahead < windows:
            futures.append(submit(k + ahead))
        path = futures[k].result()
        # Mapped, not read: the writer reads the worker's pages where they are cached, with no copy
        # into fresh memory, and they are unmapped once the window is written (10M claims, --jobs 2:
        # the parent 0.3 CPU s less, its peak 274 -> 114 MB).
        with pa.memory_map(path) as source:
            window = pa.ipc.open_file(source).read_all()
        with contextlib.suppress(OSError):  # (where a mapped file cannot be removed: the folder's cleanup)
            os.unlink(path)
        yield window


def _window_edges(rows: np.ndarray, windows: int) -> np.ndarray:
    """Where each output window's rows start in `rows` (input positions, ascending), and the end."""
    return np.searchsorted(rows, np.arange(windows + 1, dtype=np.int64) * ROW_GROUP)


def _windows(table: pa.Table) -> Iterator[pa.Table]:
    for start in range(0, table.num_rows, ROW_GROUP):
        yield table.slice(start, ROW_GROUP)


# ---- the whole run ----------------------------------------------------------------------------

def run_columnar(policy, policy_path: str, params: Optional[dict], claims: str, sink: Sink, *,
                 jobs: Optional[int] = None, memory: Optional[int] = None, buckets: Optional[int] = None,
                 workdir: Optional[str] = None, progress=None) -> Summary:
    """`med run CLAIMS.parquet -o OUT.parquet --no-trace` (or `.arrow`, or `--engine batch`):
    every claim of a Parquet or Arrow IPC file settled by the columnar engine, in buckets of whole
    persons that fit `memory` bytes, `jobs` processes at a time (default: every core when one
    process's budget does not hold the year); the results handed to `sink` in windows of
    ROW_GROUP rows, in input order (columnar_files: parquet_sink, arrow_sink, rows_sink). Raises
    OSError when a file cannot be read or written. `buckets` overrides the number of buckets
    the budget gives. `progress`: told of each stage and the claims through it (`stage(name,
    claims, last)`, `settled(claims)`: runner's progress bar), or None."""
    from .batch import fallback_count, settle_batch

    source = ClaimsFile(claims)
    memory = memory or DEFAULT_MEMORY
    jobs = max(jobs or default_jobs(source.rows, memory), 1)
    buckets = buckets or bucket_count(source.rows, memory, jobs)
    summary = Summary(rows=source.rows, buckets=buckets, jobs=jobs)
    progress = progress or _Quiet()
    if buckets == 1:  # it fits: one run in memory
        progress.stage("settling", source.rows)
        result = settle_batch(policy, source.read(), params, money=FILE_MONEY)
        summary.fallback = fallback_count(result)
        summary.errors = result.num_rows - result.column("error").null_count
        progress.settled(source.rows)
        progress.stage("writing", source.rows, last=True)
        sink(_counted(_windows(result.replace_schema_metadata(None)), progress))
        return summary
    with tempfile.TemporaryDirectory(prefix="med-buckets-", dir=workdir) as tmp, \
            _workers(policy_path, params, jobs) as pool:
        _in_buckets(policy, params, claims, sink, tmp, pool, parts_of(source.group_rows, jobs), buckets, summary,
                    progress)
    return summary


class _Quiet:
    """No progress shown."""

    def stage(self, desc: str, claims: int, last: bool = False) -> None:
        pass

    def settled(self, claims: int) -> None:
        pass


def _counted(windows: Iterator[pa.Table], progress) -> Iterator[pa.Table]:
    """The windows, each counted as settled once the sink has taken it."""
    for window in windows:
        yield window
        progress.settled(window.num_rows)


def _in_buckets(policy, params, claims: str, sink: Sink, tmp: str, pool, parts: list[Part], buckets: int,
                summary: Summary, progress) -> None:
    """The four steps (module docstring) over spill files in `tmp`, in `pool`'s workers or here."""
    from .batch import Plans

    progress.stage("dealing", summary.rows)
    if pool is None:  # (a worker's batches are not seen here: its part is counted when it is done)
        _each(pool, deal, [(claims, tmp, buckets, part, progress.settled) for part in parts])
    else:
        sizes = [(parts[k + 1].first_row if k + 1 < len(parts) else summary.rows) - p.first_row
                 for k, p in enumerate(parts)]
        _each(pool, deal, [(claims, tmp, buckets, part) for part in parts], lambda k, _: progress.settled(sizes[k]))
    windows = -(-summary.rows // ROW_GROUP)
    full = file_schema(policy).append(pa.field(ROW, pa.int64()))
    candidates = _each(pool, repeated_candidates, [(_parts_of_bucket(tmp, "ids", b, parts),) for b in range(buckets)])
    repeats = duplicate_rows(policy, params, claims, np.sort(np.concatenate(candidates)), full)
    skip = np.asarray(repeats.column(ROW)) if repeats.num_rows else np.zeros(0, np.int64)
    outs = [os.path.join(tmp, f"results-{b:05d}.arrow") for b in range(buckets)]
    tasks = [(_parts_of_bucket(tmp, "claims", b, parts), o, skip, windows) for b, o in enumerate(outs)]
    progress.stage("settling", summary.rows)
    progress.settled(repeats.num_rows)  # (settled already: ids given twice)
    each_bucket = lambda _, count: progress.settled(count[0])  # noqa: E731
    if pool is None:
        plans = Plans()
        counts = _each(None, lambda *task: settle_bucket(policy, params, *task, plans), tasks, each_bucket)
    else:
        counts = _each(pool, _settle_in_worker, tasks, each_bucket)
    summary.errors = sum(e for _, e, _ in counts) + repeats.num_rows
    summary.fallback = sum(f for _, _, f in counts)
    progress.stage("writing", summary.rows, last=True)
    sink(_counted(merged(pool, outs, repeats, windows, tmp, ahead=2 * summary.jobs), progress))


def _parts_of_bucket(folder: str, kind: str, bucket: int, parts: list[Part]) -> list[str]:
    return [spill_path(folder, kind, bucket, p.number) for p in parts]


@contextlib.contextmanager
def _workers(policy_path: str, params, jobs: int) -> Iterator:
    """`jobs` worker processes that deal and settle (None for one job: all in this process)."""
    if jobs == 1:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor

    # forkserver (spawn where there is none): no worker inherits the parent's threads or locks.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                             initializer=_start_worker, initargs=(policy_path, params)) as pool:
        yield pool


def _each(pool, fn, calls: list[tuple], done: Optional[Callable[[int, object], None]] = None) -> list:
    """fn(*args) for each args, in the pool's workers side by side (or here), results in order;
    done(k, result) as each call's result is taken, in order."""
    futures = None if pool is None else [pool.submit(fn, *args) for args in calls]
    results = []
    for k, args in enumerate(calls):
        results.append(fn(*args) if futures is None else futures[k].result())
        if done is not None:
            done(k, results[-1])
    return results

"""`med run --engine`: which engine settles a run, and a run by the columnar engine.

`auto` (the default) takes the columnar engine (batch.py) for Parquet or Arrow IPC claims in
the contract's shape without member records, whenever the output carries no trace: `--no-trace`,
CSV, the table or xlsx (which carry none), or Parquet and Arrow out, whose results the columnar
engine writes without the trace column (it says so, and `--engine scalar` writes it); every
other run is the scalar engine's. `batch` asks for the columnar engine for any claims file and
any output format, and says why not where the run needs what only the scalar engine gives (a
trace in JSON lines, the platform's shape, member records). `scalar` settles claim by claim, as
before the columnar engine existed. The results are the same either way: the columnar engine
hands to the scalar engine, whole person by whole person, whatever it does not vectorise, and
says how many.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import Callable, Iterator, Optional

from .error_kinds import ErrorKinds
from .errors import MedError
from .files import is_columnar

NO_TRACE_FORMATS = ("csv", "table", "xlsx")   # outputs that carry no trace whatever is asked
COLUMNAR_FORMATS = ("parquet", "arrow")        # outputs the columnar engine writes without the trace
HINT_ROWS = 100_000   # claims from which a run with the trace (the scalar engine's) says --no-trace is quicker
TRACE_LEFT_OUT = "the columnar engine writes Parquet and Arrow results without the trace: --engine scalar writes it"


def engine_for(args, fmt: str) -> str:
    """"batch" or "scalar" for this run, or a reason `--engine batch` cannot be had (text
    starting "--engine batch")."""
    if args.engine == "scalar":
        return "scalar"
    wants = _scalar_only(args, fmt)
    if args.engine == "auto":
        return "batch" if wants is None and is_columnar(args.claims) else "scalar"
    if wants is not None:
        return f"--engine batch {wants}"
    return "batch"


def _scalar_only(args, fmt: str) -> Optional[str]:
    """What this run asks for that only the scalar engine gives, worded after "--engine batch"."""
    if args.source == "nhsa" or fmt == "nhsa":
        return "settles claims in the contract's shape: --from/--to nhsa needs --engine scalar"
    if getattr(args, "book", None) is not None:
        return "does not read member records: --members needs --engine scalar"
    if not args.no_trace and fmt not in NO_TRACE_FORMATS + COLUMNAR_FORMATS:
        return "gives no trace: add --no-trace, or use --engine scalar for the trace"
    return None


def run(args, policy, params: dict, fmt: str, say: Callable[[str], None]) -> int:
    """Settle the run's claims with the columnar engine and write them in `fmt`; the exit code."""
    from .cli import _batch_gc, native_libraries_for_a_run

    native_libraries_for_a_run()
    try:
        from .columnar_files import ClaimsFile, ClaimsUnreadable
        from .partition import keep_freed_memory, without_pandas
    except ImportError:
        say("med: the columnar engine needs pyarrow and numpy: pip install 'medpolicy[data]'")
        return 2
    if fmt == "xlsx":
        from .spreadsheet import xlsx_available

        if not xlsx_available():
            say("med: --format xlsx needs openpyxl: pip install 'medpolicy[data]'")
            return 2
    columnar = is_columnar(args.claims)
    if columnar:
        try:
            schema = ClaimsFile(args.claims).schema
        except OSError as e:
            say(f"med: cannot read {args.claims}: {e.strerror or e}")
            return 2
        _say_unknown_columns(args.claims, schema, say)
    if not args.no_trace and fmt in COLUMNAR_FORMATS:  # (a scalar run would have written it)
        say(f"med: {TRACE_LEFT_OUT}")
    keep_freed_memory()  # this process settles too (one job, or the deal and the merge)
    try:
        with without_pandas(), _batch_gc():
            done = _from_file(args, policy, params, fmt) if columnar else _from_text(args, policy, params, fmt, say)
    except MedError as e:
        say(f"med: {e.diagnostics[0].message}")
        return 1
    except ClaimsUnreadable as e:  # read, but its content is bad: 1, as for bad claims
        say(f"med: cannot read {args.claims}: {e}")
        return 1
    except BrokenPipeError:  # `med run ... | head`: main() ends quietly
        raise
    except OSError as e:
        say(f"med: cannot write {args.output or 'the output'}: {e.strerror or e}")
        return 2
    if isinstance(done, int):
        return done
    gc.freeze()  # the process ends next: its last collection need not walk every object it made
    if done.rows == 1:
        say("med: 1 claim settled by the scalar engine inside the columnar engine, for features it does not "
            "vectorise" if done.fallback else "med: 1 claim settled by the columnar engine")
    else:
        say(f"med: {done.rows} claims settled by the columnar engine, {done.fallback} of them by the "
            f"scalar engine for features it does not vectorise")
    if done.errors:
        say(f"med: {done.errors} of {done.rows} claims could not be settled")
        for line in done.kinds.lines():
            say(line)
    return 1 if done.errors else 0


def _say_unknown_columns(path: str, schema, say: Callable[[str], None]) -> None:
    """Once for the file, where each of its rows would only say it: a column no claim field is
    named (a bureau's export with more than the claim: a hospital's name beside the claim, or in
    its facility) makes every claim that gives it an `unknown-field` error row."""
    from .batch_unknown import unknown_fields

    unknown = unknown_fields(schema).dotted
    if unknown:
        which = f"column {unknown[0]} is" if len(unknown) == 1 else f"columns {', '.join(unknown)} are"
        say(f"med: {path}: {which} no claim field: each claim that gives a value there is refused "
            f"(unknown-field); leave {'it' if len(unknown) == 1 else 'them'} out to settle those claims")


def _from_file(args, policy, params: dict, fmt: str):
    """A Parquet or Arrow IPC file, in buckets of whole persons on `--jobs` (partition.py)."""
    from .partition import run_columnar

    with _Sink(args, policy, fmt) as sink, _progress() as bar:
        done = run_columnar(policy, args.policy, params, args.claims, sink, jobs=args.jobs, memory=args.memory,
                            progress=bar)
    done.kinds = sink.kinds
    return done


@contextlib.contextmanager
def _progress():
    """The run's progress bar on stderr (dealing, settling, writing), where stderr is a terminal."""
    from .runner import Progress

    bar = Progress(sys.stderr.isatty())
    try:
        yield bar
    finally:
        bar.close()


def _from_text(args, policy, params: dict, fmt: str, say):
    """JSON lines, a JSON array or CSV read as the scalar engine reads them (a line that is not
    a claim reported, and given its error row in place), a chunk at a time into an Arrow IPC file
    in a temporary folder (columnar_text.py), which is then settled as any Arrow claims file: in
    buckets of whole persons within `--memory`, on `--jobs`."""
    import tempfile

    from .columnar_files import file_schema
    from .columnar_text import in_place, write_claims_file
    from .inputs import ClaimFile
    from .partition import run_columnar
    from .runner import tracked

    try:
        source = ClaimFile(args.claims)
    except OSError as e:
        say(f"med: cannot read {args.claims}: {e.strerror}")
        return 2
    with source, tempfile.TemporaryDirectory(prefix="med-text-") as tmp, _progress() as bar:
        path = os.path.join(tmp, "claims.arrow")
        try:
            problems = write_claims_file(_read(tracked(source, bar)), path,
                                         lambda it: bar.above(say)(f"{args.claims}:{it.line}: {it.message}; skipped"))
        except _Unreadable as e:
            say(f"med: cannot read {args.claims}: {e.args[0].strerror or e.args[0]}")
            return 2
        with _Sink(args, policy, fmt) as sink:
            done = run_columnar(policy, args.policy, params, path,
                                lambda windows: sink(in_place(windows, problems, file_schema(policy))),
                                jobs=args.jobs, memory=args.memory, workdir=tmp, progress=bar)
    done.rows += len(problems)
    done.errors += len(problems)
    done.kinds = sink.kinds
    return done


class _Unreadable(Exception):
    """The claims file failed while it was read (its OSError): not the output's fault."""


def _read(records: Iterator) -> Iterator:
    """The records, an OSError of the reading told apart from one of the writing."""
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except OSError as e:
            raise _Unreadable(e) from e
        yield record


class _Sink:
    """Where the results go, by format: a file sink of columnar_files for Parquet and Arrow, a
    text writer of output.py (streamed), or rows kept for a spreadsheet. Callable on windows of
    a result table."""

    def __init__(self, args, policy, fmt: str):
        self.args, self.policy, self.fmt = args, policy, fmt
        self.kinds = ErrorKinds()  # (the windows' error rows, counted on their way out)
        self._stream = self._writer = None
        self._spreadsheet = fmt == "xlsx" or (fmt == "csv" and args.excel)
        self._kept: list = []

    def __enter__(self) -> "_Sink":
        if self.fmt in ("jsonl", "csv", "table") and not self._spreadsheet:
            from .output import writer_for

            self._stream = open(self.args.output, "w", encoding="utf-8", newline="") if self.args.output else sys.stdout
            self._writer = writer_for(self.fmt, self._stream, self.policy)
            self._writer.start()
        return self

    def __call__(self, windows) -> None:
        from .columnar_files import arrow_sink, file_schema, parquet_sink, rows_sink

        windows = self._counted(windows)
        if self.fmt == "parquet":
            parquet_sink(self.args.output, file_schema(self.policy))(windows)
        elif self.fmt == "arrow":
            from .arrow import all_funds, result_schema

            arrow_sink(self.args.output, result_schema(all_funds(self.policy), False))(windows)
        else:
            rows_sink(self._row)(windows)

    def _counted(self, windows):
        for window in windows:
            self.kinds.add_rows(window)
            yield window

    def _row(self, row: dict) -> None:
        if self._writer is not None:
            self._writer.write(self._writer.encode(row))
        else:
            self._kept.append(row)

    def __exit__(self, kind, *_) -> None:
        if self._writer is not None:
            try:
                if kind is None:
                    self._writer.finish()
                self._stream.flush()
            finally:
                if self.args.output:
                    self._stream.close()
        elif self._spreadsheet and kind is None:  # xlsx, or CSV for Excel: written whole
            from .spreadsheet import write_table

            write_table(self._kept, self.fmt, self.args.output, excel=self.args.excel)

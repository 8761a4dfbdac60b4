"""The loop both fuzzers share: run a hypothesis-generated check for some minutes, in batches
with fresh seeds, count the inputs tried, and collect (rather than shrink) every failure.

A failure is any exception the check raises; the first input of each distinct kind (exception
type and the place it was raised) is kept and printed, with its traceback."""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the shared strategies live beside the tests


class Tally:
    def __init__(self) -> None:
        self.tried = 0
        self.failures: dict = {}  # kind -> (count, input, traceback)

    def record(self, value, exc: BaseException) -> None:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        kind = (type(exc).__name__, Path(where.filename).name, where.lineno)
        count, first, tb = self.failures.get(kind, (0, value, traceback.format_exc()))
        self.failures[kind] = (count + 1, first, tb)

    def report(self, name: str, seconds: float) -> int:
        print(f"{name}: {self.tried} inputs in {seconds:.0f}s, {sum(c for c, _, _ in self.failures.values())} "
              f"failures of {len(self.failures)} kinds")
        for (exc, file, line), (count, value, tb) in sorted(self.failures.items(), key=lambda kv: -kv[1][0]):
            print(f"\n--- {count} × {exc} at {file}:{line}; first input:\n{_shown(value)}"[:4000])
            print(tb)
        return 1 if self.failures else 0


def _shown(value) -> str:
    """An input as Python text, even one holding an int too long for repr."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return repr(value)
    finally:
        sys.set_int_max_str_digits(limit)


def run(strategy, check, minutes: float, name: str, batch: int = 300) -> int:
    """Feed `strategy`'s values to `check` until `minutes` are up; returns the exit status."""
    tally = Tally()
    start = time.monotonic()
    deadline = start + minutes * 60
    n = 0
    while time.monotonic() < deadline:
        n += 1

        @seed(n)
        @settings(max_examples=batch, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(value):
            if time.monotonic() >= deadline:
                return
            tally.tried += 1
            try:
                check(value)
            except Exception as exc:  # every failure is collected, none stops the run
                tally.record(value, exc)

        one()
        print(f"  {name}: {tally.tried} inputs, {len(tally.failures)} kinds of failure", file=sys.stderr, flush=True)
    return tally.report(name, time.monotonic() - start)

"""`med run --jobs N` for JSON lines and CSV: persons settled in worker processes.

The runner (runner.py) reads the claims and sorts them by person as it does for one process;
then, instead of settling them itself, it deals *whole persons* to `jobs` worker processes in
tasks of about `TASK_CLAIMS` claims. Each worker compiled the policy once; it settles a task
through a fresh `Policy.run` (the task's persons are nobody else's, so their years are whole)
and sends back each claim's encoded row. Tasks come back in the order they were dealt and their
rows go through the same in-order writer, so the output is byte for byte that of one process.
At most `2 * jobs` tasks are out at once: memory stays bounded.
"""

from __future__ import annotations

from collections import deque
from typing import Iterator, Optional

TASK_CLAIMS = 2048   # claims per task: whole persons, so a task may be a little larger

_WORKER: dict = {}


def _start(policy_path: str, params: Optional[dict], fmt: str, trace: bool) -> None:
    import io

    from .output import writer_for
    from .policy import load

    policy = load(policy_path)
    _WORKER.update(policy=policy, params=params, trace=trace, writer=writer_for(fmt, io.StringIO(), policy))


def _settle(task: list) -> list:
    """(input position, encoded row, (error, id) or None) for each claim of the task, in task order."""
    from .inputs import parse_json
    from .runner import _repeated_row, error_of

    policy, trace, writer = _WORKER["policy"], _WORKER["trace"], _WORKER["writer"]
    run = policy.run(_WORKER["params"], trace=trace)
    out, current = [], None
    for person, index, claim, text, repeated in task:
        if person != current:
            if current is not None:
                run.forget(current)
            current = person
        if claim is None:
            claim = parse_json(text)
        if repeated:
            row = _repeated_row(claim["id"])
            out.append((index, writer.encode(row), error_of(row)))
        else:
            result = run.settle(claim)
            out.append((index, writer.encode_result(result, trace), None if result.ok else error_of(result)))
    return out


class Pool:
    """Worker processes settling whole persons for `runner.run_claims`."""

    def __init__(self, policy_path: str, params: Optional[dict], fmt: str, trace: bool, jobs: int,
                 task_claims: int = TASK_CLAIMS):
        import multiprocessing  # only a run with workers pays for the import (socket, selectors ...)
        from concurrent.futures import ProcessPoolExecutor

        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self.jobs, self.task_claims = jobs, task_claims
        self.executor = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                                            initializer=_start, initargs=(policy_path, params, fmt, trace))

    def settle(self, records: Iterator[tuple], repeated: set, sink, bar) -> None:
        """Settle the sorted records (person, ordinal, index, claim, text); rows go to `sink`."""
        pending: deque = deque()
        try:
            for task in _tasks(records, repeated, self.task_claims):
                pending.append(self.executor.submit(_settle, task))
                if len(pending) >= 2 * self.jobs:
                    self._drain(pending.popleft(), sink, bar)
            while pending:
                self._drain(pending.popleft(), sink, bar)
        finally:
            self.executor.shutdown(cancel_futures=True)

    @staticmethod
    def _drain(future, sink, bar) -> None:
        rows = future.result()
        for index, text, error in rows:
            sink.put(index, text, error)
        bar.settled(len(rows))


def _tasks(records: Iterator[tuple], repeated: set, size: int) -> Iterator[list]:
    """Tasks of whole persons, about `size` claims each."""
    task: list = []
    current = None
    for person, _, index, claim, text in records:
        if person != current and len(task) >= size:
            yield task
            task = []
        current = person
        task.append((person, index, claim, text, index in repeated))
    if task:
        yield task


def cores() -> int:
    """The cores this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


BIG_BYTES = 64 << 20   # a JSON lines or CSV input from this size gets every core by default


def jobs_for(asked: Optional[int], size: Optional[int]) -> int:
    """`--jobs`, or by default every core for an input of BIG_BYTES or more (else one)."""
    if asked is not None:
        return max(asked, 1)
    return cores() if size is not None and size >= BIG_BYTES else 1


def parse_size(text: str) -> int:
    """A memory size such as 512M, 2G or 1500000000 (bytes), for `--memory`."""
    import argparse

    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (t[:-1], t[-1]) if t and t[-1] in units else (t, "")
    try:
        value = float(number) * units[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"a size such as 512M or 2G, not {text!r}") from None
    if value < 64 << 20:
        raise argparse.ArgumentTypeError(f"at least 64M, not {text!r}")
    return int(value)

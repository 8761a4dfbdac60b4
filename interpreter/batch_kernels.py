"""Compiled loops for the columnar engine's string and sorting passes (Cython, built with the package).

`batch.py` does each of these passes with numpy and Arrow's compute functions; where the package
was built with a C compiler (`_batch_loops.pyx`, compiled ahead of time by Cython when it is
installed) it calls these loops instead, which read each string's bytes once: persons' and
claims' ids hashed once into small tables per part of the hash (not Arrow's dictionary encoding,
whose one big table misses the cache on most rows), amounts parsed in one pass over their bytes,
person-years sorted by two counting sorts and put in the waves' order in one pass, plan
signatures numbered, the waves' commits added to the accumulators, every claim settled by one
kernel, and the persons' and ids' 64-bit hashes that deal a year into buckets (partition.py),
and which of those id hashes come more than once. Every loop gives exactly the numpy path's
values, and none touches a float.

Compiled ahead of time, the loops cost nothing to start (importing them takes about a
millisecond; numba, which they replace, took ~0.6 CPU s a process to start and ~10 CPU s to
compile a cold cache), so they run for every size of run: MIN_ROWS is where a pass is quicker
with them than with numpy, measured (docs/scale.md, "Loops compiled ahead of time").
`MEDPOLICY_LOOPS=0` in the environment turns the loops off (the numpy path), `MEDPOLICY_LOOPS=1`
on for passes of any size (the tests run both); `MEDPOLICY_NUMBA` is the old name of the same
switch, still read.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np


# A pass of fewer rows (strings, keys) is left to numpy. Measured (benchmarks/loops_start.py): the
# engine alone is 1.2-1.5x quicker with the loops from 100 claims to 100,000, a fresh `med run`
# 1.1x at 20,000 claims, 1.2x at 200,000, 1.5x at a million: no size where numpy wins.
MIN_ROWS = 0


def _switch() -> str:
    """MEDPOLICY_LOOPS (or its old name MEDPOLICY_NUMBA): "0" off, "1" on at any size, else "" (by size)."""
    return os.environ.get("MEDPOLICY_LOOPS", os.environ.get("MEDPOLICY_NUMBA", ""))


def kernels(rows: int = MIN_ROWS):
    """The compiled loops (a module) for a pass over `rows` values, or None: the package was
    built without them (no C compiler), MEDPOLICY_LOOPS=0, or fewer than MIN_ROWS rows
    (MEDPOLICY_LOOPS=1: any size)."""
    choice = _switch()
    if choice == "0" or (choice != "1" and rows < MIN_ROWS):
        return None
    return compiled()


def compiled():
    """The compiled loops' module, or None where the package was built without a C compiler."""
    try:  # (a module is imported once: later calls find it in sys.modules)
        from . import _batch_loops
    except ImportError:
        return None
    return _batch_loops


def string_parts(arr):
    """A plain string array's (offsets, bytes, valid) as numpy arrays, or None for another type."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not pa.types.is_string(arr.type):
        return None
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + n + 1]
    data = arr.buffers()[2]
    data = np.frombuffer(data, np.uint8) if data is not None and len(data) else np.zeros(1, np.uint8)
    valid = np.asarray(pc.is_valid(arr), dtype=bool) if arr.null_count else np.ones(n, bool)
    return offsets, data, valid


def encode(arr, repeats: bool = True) -> Optional[np.ndarray]:
    """Each string's code (-1: null): equal strings, and only they, share a code; codes are
    0..k-1 in no particular order (Arrow's dictionary_encode numbers them by first appearance).
    None when the loops are off or the type is not a plain string. `repeats`: whether most
    strings come again (persons' ids; claims' ids mostly do not), which chooses the quicker
    comparison, never the outcome."""
    k, parts = kernels(len(arr)), None
    if k is not None:
        parts = string_parts(arr)
    if parts is None:
        return None
    return k.encode(*parts, repeats)

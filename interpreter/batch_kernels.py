"""Compiled loops for the columnar engine's string and sorting passes (numba, optional).

`batch.py` does each of these passes with numpy and Arrow's compute functions; where numba is
installed (`pip install 'medpolicy[fast]'`) it calls these loops instead, which read each string's
bytes once: persons' and claims' ids hashed once into small tables per part of the hash (not
Arrow's dictionary encoding, whose one big table misses the cache on most rows), amounts parsed
in one pass over their bytes, person-years sorted by two counting sorts and put in the waves'
order in one pass, plan signatures numbered, the waves' commits added to the accumulators. Every loop gives exactly the numpy path's values, and none touches a float. Starting numba costs about 0.4 CPU s once per process (its import, the
cached loops loaded), which a run wins back only from about a million claims (measured: a fresh
`med run` of 200,000 claims took 0.83 CPU s without numba and 1.07 with it; of a million, the same
either way). So a run starts numba only from START_ROWS claims (`start`); once it is loaded, any
pass of MIN_ROWS rows or more uses the loops. `MEDPOLICY_NUMBA=0` in the environment turns the
loops off, `MEDPOLICY_NUMBA=1` on for any size (the tests run both).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Optional

import numpy as np


MIN_ROWS = 100_000      # below this many rows (strings, keys) a pass is left to numpy
START_ROWS = 1_000_000  # a run of fewer claims does not start numba (its start is not paid back)
_LOOPS = (__package__ or "medpolicy") + "._batch_loops"


def start(claims: int) -> None:
    """Start numba (load the loops) for a run of `claims` claims, if it pays: from START_ROWS
    claims (any number with MEDPOLICY_NUMBA=1; never with MEDPOLICY_NUMBA=0)."""
    choice = os.environ.get("MEDPOLICY_NUMBA", "")
    if choice == "1" or (choice != "0" and claims >= START_ROWS):
        _compiled()


def kernels(rows: int = MIN_ROWS):
    """The compiled loops (a module) for a pass over `rows` values, or None: numba is not
    installed, MEDPOLICY_NUMBA=0, too few rows, or not started (`start`) in this process
    (MEDPOLICY_NUMBA=1: any size, started on first use)."""
    choice = os.environ.get("MEDPOLICY_NUMBA", "")
    if choice == "1":
        return _compiled()
    if choice == "0" or rows < MIN_ROWS or _LOOPS not in sys.modules:
        return None
    return _compiled()


def loaded_bytes() -> int:
    """What numba and the loaded loops add to a process's memory (measured ~116 MiB), where they
    will run: counted in `med run`'s memory budget (partition.bucket_count)."""
    if os.environ.get("MEDPOLICY_NUMBA", "") == "0" or importlib.util.find_spec("numba") is None:
        return 0
    return 128 << 20


def _compiled():
    try:  # (a module is imported once: later calls find it in sys.modules)
        from . import _batch_loops
    except ImportError:  # no numba
        return None
    except RuntimeError:  # numba without a writable folder to cache the loops in: the numpy path
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

"""A compiled policy shared by many threads settles as it does alone, and the package keeps
no mutable state at module level that two runs could meet in."""

from __future__ import annotations

import copy
import importlib
import pkgutil
import random
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import medpolicy
from med_strategies import compiled_policies, policy_params, runs_for

POLICIES = [p for _, p, _ in compiled_policies() if p is not None]


def _runs(policy, n: int, seed: int) -> list[list[dict]]:
    """n runs of claims, drawn once, deterministically."""
    out = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(runs_for(policy, max_persons=3, max_claims=10))
    def collect(run):
        out.append(run)

    collect()
    random.Random(seed).shuffle(out)
    return out[:n]


@pytest.mark.parametrize("policy", POLICIES, ids=[p.title for p in POLICIES])
def test_threads_settle_as_one_thread_does(policy):
    runs = _runs(policy, 40, seed=5)
    params = policy_params(policy)
    alone = [[r.to_json() for r in policy.settle_all(run, params=params)] for run in runs]
    # A fresh policy, so the threads also race to fill the engine's caches of resolved terms.
    shared = medpolicy.compile(policy.sources[next(iter(policy.sources))], next(iter(policy.sources)),
                               base_dir=None) if len(policy.sources) == 1 else medpolicy.load(next(iter(policy.sources)))
    jobs = [copy.deepcopy(run) for run in runs] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda run: [r.to_json() for r in shared.settle_all(run, params=params)], jobs))
    assert together == alone * 4


@pytest.mark.parametrize("policy", POLICIES, ids=[p.title for p in POLICIES])
def test_threads_with_their_own_state_chains(policy):
    """Embedding: each thread carries its own person's `State` through single settles."""
    runs = _runs(policy, 24, seed=9)
    params = policy_params(policy)

    def chain(run):
        state, rows = None, []
        for c in sorted(run, key=lambda c: c["date"]):
            r = policy.settle(dict(c, person="one"), state=state, params=params)
            rows.append(r.to_json())
            state = r.state if r.ok else state
        return rows

    alone = [chain(run) for run in runs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(chain, runs)) == alone


# ---- no module-level mutable state -------------------------------------------------------

# Module-level tables are constants by name (UPPER_CASE, as the house style writes them):
# built once at import and only read. Any other mutable global is a finding, and the test
# after it checks that compiling and settling leave every constant table as it was.
# Functions memoised on immutable arguments (the lark parser, the lexicon) are listed here.
MEMOISED = {
    "medpolicy.policy": {"_parse_module"},  # a used module's frozen AST, keyed by its text
    "medpolicy.highlight": {"lexicon", "_word_types", "standard_words"},
    # the keyword spellings and the standard vocabulary, read once (segment.py); imported by the readers
    "medpolicy.segment": {"standard_words"},
    "medpolicy.parser": {"_parser", "standard_words"},
    "medpolicy.scanner": {"standard_words"},
    "medpolicy.reparse": {"standard_words"},
    "medpolicy.messages": {"_compiled"},  # the catalogue's patterns, compiled on the first translation
    # an unknown field's "did you mean" (pure: the name and the fields' names); a file gives the same
    # one in every row, and difflib was half of refusing each
    "medpolicy.claims": {"_field_hint"},
}
_MUTABLE = (list, dict, set, bytearray, types.SimpleNamespace)


def _modules() -> list[types.ModuleType]:
    names = ["medpolicy"] + [m.name for m in pkgutil.walk_packages(medpolicy.__path__, "medpolicy.")]
    return [importlib.import_module(n) for n in names]


def _is_constant_name(name: str) -> bool:
    bare = name.lstrip("_")
    return bool(bare) and bare.upper() == bare and any(ch.isalpha() for ch in bare)


def _globals():
    for module in _modules():
        for name, value in vars(module).items():
            if name.startswith("__") or isinstance(value, (types.ModuleType, type)):
                continue
            yield module, name, value


def test_no_module_holds_mutable_state():
    found = []
    for module, name, value in _globals():
        if name in MEMOISED.get(module.__name__, set()):
            continue
        if hasattr(value, "cache_info"):
            found.append(f"{module.__name__}.{name}: a cache")
        elif isinstance(value, _MUTABLE) and not _is_constant_name(name):
            found.append(f"{module.__name__}.{name}: {type(value).__name__}")
    assert not found, "module-level mutable state: " + ", ".join(found)


def test_constant_tables_are_left_as_they_were():
    tables = [(m, n, v) for m, n, v in _globals() if isinstance(v, _MUTABLE) and _is_constant_name(n)]
    assert tables  # the keyword table at least
    before = [copy.deepcopy(v) for _, _, v in tables]
    for policy in POLICIES:
        for run in _runs(policy, 5, seed=1):
            policy.settle_all(run, params=policy_params(policy))
    for bad in ("policy \"x\"\nscheme employee\n  inpatient rate 85%\n  bogus 1\n", "use ../x\n", "\t\t))"):
        with pytest.raises(medpolicy.MedError):
            medpolicy.compile(bad, "bad.med")
    assert [v for _, _, v in tables] == before

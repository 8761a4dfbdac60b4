"""Settling against members' recorded years: presettle, settle (record), reverse.

A member's years under one policy are rebuilt by settling their recorded, non-reversed
claims again in the order they were recorded (`Policy.settle(claim, state=…)`, exactly a
fresh run of those claims), each under the policy version that settled it (its texts are
kept in the database), and kept in an in-memory cache keyed by (policy, person) and
checked against the member's version in the database and the policy's version, so a change
made by another server process, a reversal or a policy reload is never missed.

Order: a claim settles against the member's year as recorded so far (arrival order), also
when it is dated earlier than claims already recorded; `med run` of the same claims sorts
each person's claims by date, so its results differ for such a claim (docs/serve.md).

One member's claims are serialised twice: by a lock in this process (so threads do not queue
in the database) and by the member's version in the database (so several processes may share
it): a settlement computed against version v is recorded only while the member is still at v,
else it is settled again inside the write transaction. Different members' claims settle in
parallel; the database's write lock is held only to insert and commit.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
from decimal import Decimal
from typing import Any, Callable, Mapping, Optional

import attrs

from ..errors import MedError
from ..policy import State
from .policies import Loaded, compile_sources
from .problems import ApiError
from .store import Store

log = logging.getLogger("medpolicy.serve")

MAX_ID = 200  # characters in a claim id or a person


class Stripes:
    """A fixed set of locks; a key always takes the same one. Two members rarely share a
    lock (then they wait for each other, never wrongly); memory stays bounded."""

    def __init__(self, n: int = 4096):
        self._locks = [threading.Lock() for _ in range(n)]

    def of(self, key: tuple) -> threading.Lock:
        return self._locks[hash(key) % len(self._locks)]


@attrs.frozen
class Cached:
    """A member's years as of `member_version`: their recorded claims up to `seq`, settled."""

    member_version: int
    seq: int
    state: State = attrs.field(eq=False)


class YearCache:
    """(policy, person) -> (policy version, Cached), least recently used out."""

    def __init__(self, size: int = 100_000):
        self._size = size
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, policy_version: str) -> Optional[Cached]:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != policy_version:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: tuple, policy_version: str, cached: Cached) -> None:
        with self._lock:
            self._items[key] = (policy_version, cached)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: tuple) -> None:
        with self._lock:
            self._items.pop(key, None)


class Versions:
    """Compiled policies by version, the most recently used kept (compiling costs ~0.1 s)."""

    def __init__(self, size: int = 16):
        self._size = size
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str):
        with self._lock:
            policy = self._items.get(version)
            if policy is not None:
                self._items.move_to_end(version)
            return policy

    def put(self, version: str, policy) -> None:
        with self._lock:
            self._items[version] = policy
            self._items.move_to_end(version)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@attrs.frozen
class Shape:
    """Another shape of answer than the contract's result: `answer(result)` is its text (may
    raise ApiError), kept with the settlement under `name`."""

    name: str
    answer: Callable = attrs.field(eq=False)
    content: str = ""  # the request in that shape, canonical: hashed with the claim


@attrs.frozen
class _Settling:
    """One claim on its way to be recorded."""

    entry: Loaded
    key: tuple
    cid: str
    claim: dict = attrs.field(eq=False)
    text: str
    digest: str
    bound: dict = attrs.field(eq=False)
    shape: Optional[Shape] = None


def _replay(found, t: _Settling, tx) -> tuple[Any, bool]:
    """The answer to an id recorded before: its result, or why it cannot be settled again."""
    if found.reversed:
        raise ApiError(409, "reversed", f"claim {t.cid} was settled and then reversed; "
                                        f"settle it again under a new id", "id", t.cid)
    if found.content_hash != t.digest:
        raise ApiError(409, "conflict", f"claim id {t.cid} was recorded with different content "
                                        f"(on {found.policy_version}); an id names one claim", "id", t.cid)
    if t.shape is None:
        return json.loads(found.result), False
    kept = tx.answer(t.cid, t.shape.name)
    if kept is None:
        raise ApiError(409, "other-shape", f"claim {t.cid} was recorded in the contract's shape (POST /v1/settle); "
                                           f"its recorded result is there", "id", t.cid)
    return kept, False


def canonical(claim: Mapping[str, Any]) -> str:
    """The claim as the text that is hashed, stored and settled: keys sorted, no spaces,
    decimal numbers as strings (so a replay reads exactly what the first settlement read)."""
    return json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _identity(claim: Any) -> tuple[str, str]:
    """The claim's id and person, checked before anything is locked or recorded."""
    if not isinstance(claim, dict):
        raise ApiError(422, "bad-claim", "a claim must be a JSON object")
    cid = claim.get("id")
    if not isinstance(cid, str) or not cid or len(cid) > MAX_ID:
        raise ApiError(422, "bad-value", f"id must be a string of 1 to {MAX_ID} characters", "id",
                       cid if isinstance(cid, str) else None)
    person = claim.get("person")
    if not isinstance(person, str) or not person or len(person) > MAX_ID:
        raise ApiError(422, "bad-value", f"person must be a string of 1 to {MAX_ID} characters", "person", cid)
    return cid, person


class Ledger:
    """Presettle, settle and reverse claims against members' recorded years."""

    def __init__(self, store: Store, cache_size: int = 100_000):
        self._store = store
        self._locks = Stripes()
        self._cache = YearCache(cache_size)
        self._versions = Versions()
        self._kept_versions: set = set()  # versions whose texts this process saw committed

    # ---- the three operations ----------------------------------------------------------
    def presettle(self, entry: Loaded, claim: Any, params: Mapping[str, str],
                  states: Optional[dict] = None) -> dict:
        """Settle against the member's recorded year without recording. `states` carries
        years between the claims of one batch."""
        return self.presettle_result(entry, claim, params, states).to_json()

    def presettle_result(self, entry: Loaded, claim: Any, params: Mapping[str, str],
                         states: Optional[dict] = None):
        """`presettle`, giving the engine's `Result` (for another shape of answer)."""
        cid, person = _identity(claim)
        claim, _ = _normal(claim)
        bound = self._params(entry, params, cid)
        key = (entry.name, person)
        state = states.get(key) if states is not None else None
        if state is None:
            with self._locks.of(key), self._store.member(entry.name, person, write=False) as tx:
                state = self._year(tx, entry, key)
        result = entry.policy.settle(claim, state=state, params=bound)
        if not result.ok:
            raise _refused(result.to_json())
        if states is not None:
            states[key] = result.state
        return result

    def settle(self, entry: Loaded, claim: Any, params: Mapping[str, str],
               shape: Optional["Shape"] = None) -> tuple[Any, bool]:
        """Settle and record; (result, True) when recorded now, (recorded result, False) when
        the id was recorded before with the same content. With `shape`, the answer is that
        shape's text, kept with the settlement so that a retry gets the same text."""
        cid, person = _identity(claim)
        claim, text = _normal(claim)
        # In another shape, the request is hashed too: an id names one request, echoed fields and all.
        hashed = text if shape is None else f"{text}\0{shape.name}\0{shape.content}"
        digest = hashlib.sha256(hashed.encode("utf-8")).hexdigest()
        bound = self._params(entry, params, cid)
        key = (entry.name, person)
        todo = _Settling(entry, key, cid, claim, text, digest, bound, shape)
        try:
            with self._locks.of(key):
                return self._settle_optimistic(todo) or self._settle_locked(todo)
        except self._store.duplicate_errors:
            # The id was recorded meanwhile for another person (under another lock): now it is found.
            with self._locks.of(key):
                return self._settle_locked(todo)

    def _settle_optimistic(self, t: "_Settling") -> Optional[tuple[dict, bool]]:
        """Settle outside the database's write lock: read the member's version and year, settle,
        then record only if the version is still the one read (no other process changed the
        member meanwhile); None if it changed. SQLite has one write lock for the whole file, so
        holding it only for the insert and commit is what lets different members' settlements
        overlap (one computes while another commits); this process's member lock already keeps
        this member's other requests out."""
        with self._store.member(t.entry.name, t.key[1], write=False) as tx:
            found = tx.find(t.cid)
            if found is not None:
                return _replay(found, t, tx)
            seen = tx.version()
            state = self._year(tx, t.entry, t.key)
        result, answer = self._settle_now(t, state)
        with self._store.member(t.entry.name, t.key[1], write=True) as tx:
            if tx.version() != seen or tx.find(t.cid) is not None:
                return None  # another process recorded meanwhile: settle again under the lock
            version = self._record(tx, t, result, answer)
        self._kept(t.entry)
        self._cache.put(t.key, t.entry.version, Cached(*version, result.state))  # only once committed
        return answer, True

    def _settle_locked(self, t: "_Settling") -> tuple[dict, bool]:
        """Settle and record inside the write transaction: the member cannot change meanwhile."""
        with self._store.member(t.entry.name, t.key[1], write=True) as tx:
            found = tx.find(t.cid)
            if found is not None:
                return _replay(found, t, tx)
            result, answer = self._settle_now(t, self._year(tx, t.entry, t.key))
            version = self._record(tx, t, result, answer)
        self._kept(t.entry)
        self._cache.put(t.key, t.entry.version, Cached(*version, result.state))  # only once committed
        return answer, True

    def _settle_now(self, t: "_Settling", state: State) -> tuple[Any, Any]:
        """The engine's result and the answer to give (the contract's JSON, or the shape's text)."""
        result = t.entry.policy.settle(t.claim, state=state, params=t.bound)
        if not result.ok:
            raise _refused(result.to_json())
        return result, (t.shape.answer(result) if t.shape else result.to_json())

    def _record(self, tx, t: "_Settling", result, answer) -> tuple[int, int]:
        if t.entry.version not in self._kept_versions:  # the first settlement of this version here
            tx.keep_version(t.entry.version, t.entry.path, json.dumps(t.entry.policy.sources, ensure_ascii=False))
        if t.shape is not None:
            tx.keep_answer(t.cid, t.shape.name, answer)
        data = result.to_json()
        return tx.record(claim_id=t.cid, content_hash=t.digest, scheme=t.claim.get("scheme"),
                         year=data.get("year"), date=t.claim.get("date"), claim=t.text,
                         params=json.dumps(t.bound, sort_keys=True),
                         result=json.dumps(data, ensure_ascii=False), policy_version=t.entry.version)

    def _kept(self, entry: Loaded) -> None:
        """The version's texts are committed: remember both the fact and the compiled policy."""
        self._kept_versions.add(entry.version)
        self._versions.put(entry.version, entry.policy)

    def answer(self, entry: Loaded, cid: str, shape: str) -> Optional[str]:
        """The answer kept in `shape` for a recorded claim, if it was settled in that shape."""
        return self._store.answer(entry.name, cid, shape)

    def reverse(self, entry: Loaded, cid: Any) -> tuple[dict, bool]:
        """Cancel a recorded settlement: the member's year becomes what it would be had the
        claim never been settled. Later claims keep their recorded results (not re-settled).
        (answer, True) when reversed now, (answer, False) when it was already reversed."""
        if not isinstance(cid, str) or not cid or len(cid) > MAX_ID:
            raise ApiError(422, "bad-value", f"id must be a string of 1 to {MAX_ID} characters", "id")
        person = self._store.person_of(entry.name, cid)
        if person is None:
            raise ApiError(404, "not-found", f"no claim {cid} is recorded under policy {entry.name}", "id", cid)
        key = (entry.name, person)
        with self._locks.of(key), self._store.member(entry.name, person, write=True) as tx:
            found = tx.find(cid)
            already = found.reversed
            if not already:
                tx.reverse(cid)
        self._cache.drop(key)
        return {"id": cid, "person": person, "reversed": True, "result": json.loads(found.result)}, not already

    # ---- years --------------------------------------------------------------------------
    def _year(self, tx, entry: Loaded, key: tuple) -> State:
        """The member's years now: from the cache, or by settling their recorded claims again,
        each under the policy version that settled it (so a reload never changes what a
        member has already used). A cached year a few changes old is brought up to date by
        settling only the claims recorded since, when those are all the changes there were
        (each record and each reversal raises the member's version by one): another worker
        settling the same member then costs one claim, not the member's whole year."""
        version = tx.version()  # read before the claims, so a cached state is never newer than its version
        hit = self._cache.get(key, entry.version)
        if hit is not None and hit.member_version == version:
            return hit.state
        if hit is not None:
            rows = tx.claims(after=hit.seq)
            if version - hit.member_version == len(rows) + sum(1 for r in rows if r[4]):
                return self._replay(entry, key, version, hit.seq, hit.state, rows)
        return self._replay(entry, key, version, 0, State(), tx.claims(after=0))

    def _replay(self, entry: Loaded, key: tuple, version: int, seq: int, state: State, rows) -> State:
        """`state` with the recorded claims `rows` (seq, claim, params, version, reversed) settled on it."""
        for seq_, text, params, settled_by, reversed_ in rows:
            seq = seq_
            if reversed_:
                continue
            policy = self._policy_of(entry, settled_by)
            result = policy.settle(json.loads(text, parse_float=Decimal), state=state,
                                   params={**entry.params, **json.loads(params)})
            if result.ok:
                state = result.state
            else:  # only under a version whose texts were lost: the claim counts nothing
                log.warning("policy %s: recorded claim %s no longer settles under %s: %s", entry.name,
                            result.data.get("id"), settled_by, result.data["error"]["message"])
        self._cache.put(key, entry.version, Cached(version, seq, state))
        return state

    def _policy_of(self, entry: Loaded, version: str):
        """The compiled policy of `version`: the one loaded, one compiled before, or compiled
        from the texts the database keeps."""
        if version == entry.version:
            return entry.policy
        policy = self._versions.get(version)
        if policy is None:
            kept = self._store.version_sources(version)
            if kept is None:  # a database from before versions were kept
                log.warning("policy %s: no texts of version %s are kept; its claims are settled again under %s",
                            entry.name, version, entry.version)
                return entry.policy
            policy = compile_sources(kept[0], json.loads(kept[1]))
            self._versions.put(version, policy)
        return policy

    @staticmethod
    def _params(entry: Loaded, params: Mapping[str, str], cid: Optional[str]) -> dict:
        """The start-up parameters with the request's over them; every declared one needed."""
        merged = {**entry.params, **{k: str(v) for k, v in params.items()}}
        declared = entry.policy.compiled.parameters  # a parameter with a default is never missing
        missing = [p for p in entry.policy.parameters if p not in merged and declared[p].default is None
                   and p not in entry.policy.compiled.members.only_params]  # member rules settle no claim
        if missing:
            raise ApiError(422, "missing-parameter",
                           f"policy {entry.name} needs parameter {', '.join(missing)}: start the server with "
                           f"--param {missing[0]}=VALUE or send \"params\": {{\"{missing[0]}\": ...}}",
                           f"params.{missing[0]}", cid)
        try:
            entry.policy.bind(merged)
        except MedError as e:
            raise ApiError(422, "bad-parameter", e.diagnostics[0].message, "params", cid) from None
        return merged


def _normal(claim: dict) -> tuple[dict, str]:
    text = canonical(claim)
    return json.loads(text, parse_float=Decimal), text


def _refused(row: dict) -> ApiError:
    e = row["error"]
    return ApiError(422, e["code"], e["message"], e.get("field"), row.get("id"))

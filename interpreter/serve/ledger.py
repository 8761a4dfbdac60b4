"""Settling against members' recorded years: presettle, settle (record), reverse.

A member's years under one policy are rebuilt by settling their recorded, non-reversed
claims again in the order they were recorded (`Policy.settle(claim, state=…)`, exactly a
fresh run of those claims), and kept in an in-memory cache keyed by (policy, person) and
checked against the member's version in the database and the policy's version, so a change
made by another server process, a reversal or a policy reload is never missed.

Order: a claim settles against the member's year as recorded so far (arrival order), also
when it is dated earlier than claims already recorded; `med run` of the same claims sorts
each person's claims by date, so its results differ for such a claim (docs/serve.md).

One member's claims are serialised twice: by a lock in this process (so threads do not queue
in the database) and by the database (so several processes may share it).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
from decimal import Decimal
from typing import Any, Mapping, Optional

from ..errors import MedError
from ..policy import State
from .policies import Loaded
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


class YearCache:
    """(policy, person) -> (policy version, member version, State), least recently used out."""

    def __init__(self, size: int = 100_000):
        self._size = size
        self._items: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, policy_version: str, member_version: int) -> Optional[State]:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != policy_version or hit[1] != member_version:
                return None
            self._items.move_to_end(key)
            return hit[2]

    def put(self, key: tuple, policy_version: str, member_version: int, state: State) -> None:
        with self._lock:
            self._items[key] = (policy_version, member_version, state)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, key: tuple) -> None:
        with self._lock:
            self._items.pop(key, None)


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

    # ---- the three operations ----------------------------------------------------------
    def presettle(self, entry: Loaded, claim: Any, params: Mapping[str, str],
                  states: Optional[dict] = None) -> dict:
        """Settle against the member's recorded year without recording. `states` carries
        years between the claims of one batch."""
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
        return result.to_json()

    def settle(self, entry: Loaded, claim: Any, params: Mapping[str, str]) -> tuple[dict, bool]:
        """Settle and record; (result, True) when recorded now, (recorded result, False) when
        the id was recorded before with the same content."""
        cid, person = _identity(claim)
        claim, text = _normal(claim)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        bound = self._params(entry, params, cid)
        key = (entry.name, person)
        try:
            with self._locks.of(key):
                return self._settle_locked(entry, key, cid, claim, text, digest, bound)
        except self._store.duplicate_errors:
            # The id was recorded meanwhile for another person (under another lock): now it is found.
            with self._locks.of(key):
                return self._settle_locked(entry, key, cid, claim, text, digest, bound)

    def _settle_locked(self, entry, key, cid, claim, text, digest, bound) -> tuple[dict, bool]:
        with self._store.member(entry.name, key[1], write=True) as tx:
            found = tx.find(cid)
            if found is not None:
                if found.reversed:
                    raise ApiError(409, "reversed", f"claim {cid} was settled and then reversed; "
                                                    f"settle it again under a new id", "id", cid)
                if found.content_hash != digest:
                    raise ApiError(409, "conflict", f"claim id {cid} was recorded with different content "
                                                    f"(on {found.policy_version}); an id names one claim", "id", cid)
                return json.loads(found.result), False
            state = self._year(tx, entry, key)
            result = entry.policy.settle(claim, state=state, params=bound)
            if not result.ok:
                raise _refused(result.to_json())
            data = result.to_json()
            version = tx.record(claim_id=cid, content_hash=digest, scheme=claim.get("scheme"),
                                year=data.get("year"), date=claim.get("date"), claim=text,
                                params=json.dumps(bound, sort_keys=True),
                                result=json.dumps(data, ensure_ascii=False), policy_version=entry.version)
        self._cache.put(key, entry.version, version, result.state)  # only once committed
        return data, True

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
        """The member's years now: from the cache, or by settling their recorded claims again."""
        version = tx.version()  # read before the claims, so a cached state is never newer than its version
        state = self._cache.get(key, entry.version, version)
        if state is not None:
            return state
        state = State()
        for text, params in tx.claims():
            result = entry.policy.settle(json.loads(text, parse_float=Decimal), state=state,
                                         params={**entry.params, **json.loads(params)})
            if result.ok:
                state = result.state
            else:  # only after a policy edit: the claim no longer settles and counts nothing
                log.warning("policy %s %s: recorded claim %s no longer settles: %s", entry.name,
                            entry.version, result.data.get("id"), result.data["error"]["message"])
        self._cache.put(key, entry.version, version, state)
        return state

    @staticmethod
    def _params(entry: Loaded, params: Mapping[str, str], cid: Optional[str]) -> dict:
        """The start-up parameters with the request's over them; every declared one needed."""
        merged = {**entry.params, **{k: str(v) for k, v in params.items()}}
        declared = entry.policy.compiled.parameters  # a parameter with a default is never missing
        only_members = entry.policy.compiled.members.only_params  # member rules settle no claim
        missing = [p for p in entry.policy.parameters if p not in merged and declared[p].default is None
                   and p not in only_members]
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

"""The ledger under reloads and concurrency: a member's year is rebuilt under the policy
version that settled each claim; different members settle in parallel on SQLite while one
member's claims stay serialised, also across processes sharing the file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import attrs
from starlette.testclient import TestClient

import medpolicy
from medpolicy.serve.app import Config, create_app
from medpolicy.serve.ledger import Ledger
from medpolicy.serve.policies import Registry
from medpolicy.serve.store import open_store

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = ROOT / "policies" / "suihua.med"
LEVEL1_70 = "rate primary level1 70% level2 60% level3 50%"


def outpatient(cid: str, amount: str, person: str = "p-1", date: str = "2026-03-05") -> dict:
    """A Suihua employee's outpatient claim at a level-1 hospital: deductible 500 a year, then
    70%, the fund paying at most 2000 a year (第二十一条（二）)."""
    return {"id": cid, "person": person, "date": date, "scheme": "employee", "status": "employed",
            "benefit": "outpatient", "facility": {"level": "level1"}, "items": [{"class": "A", "amount": amount}]}


def test_a_reload_never_changes_what_a_member_has_used(tmp_path):
    policy, db = tmp_path / "suihua.med", tmp_path / "m.db"
    shutil.copy(SUIHUA, policy)
    config = Config(policies=(str(policy),), db=str(db), reload_interval=0)
    with TestClient(create_app(config)) as client:
        v1 = client.get("/v1/policies").json()["policies"][0]["version"]
        # v1: (2500 − 500) × 70% = 1400 of the year's 2000.
        first = client.post("/v1/settle", json={"claim": outpatient("c1", "2500.00")}).json()
        assert first["paid"]["basic"] == "1400.00"
        policy.write_text(SUIHUA.read_text().replace(LEVEL1_70, "rate primary level1 50% level2 60% level3 50%"))
        client.app.state.service.registry.poll()
        v2 = client.get("/v1/policies").json()["policies"][0]["version"]
        assert v2 != v1
        # The year holds what v1 paid (1400), so 2000 × 50% = 1000 meets the cap at 600. Had c1
        # been settled again under v2 (it would pay 1000), 1000 would be left and paid.
        second = client.post("/v1/settle", json={"claim": outpatient("c2", "2000.00")}).json()
        assert second["deductible"] == "0.00" and second["paid"]["basic"] == "600.00"
        assert client.post("/v1/reverse", json={"id": "c2"}).status_code == 200  # drops the cached year
        probe = client.post("/v1/presettle", json={"claim": outpatient("c3", "2000.00")}).json()
        assert probe["paid"]["basic"] == "600.00"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT claim_id, policy_version FROM settlements ORDER BY seq").fetchall() == \
            [("c1", v1), ("c2", v2)]
        kept = dict(conn.execute("SELECT version, sources FROM policy_versions").fetchall())
    assert set(kept) == {v1, v2} and LEVEL1_70 in json.loads(kept[v1])[str(policy)]
    # A new process on the same database and the edited file compiles v1 from the kept texts.
    with TestClient(create_app(config)) as client:
        probe = client.post("/v1/presettle", json={"claim": outpatient("c3", "2000.00")}).json()
        assert probe["paid"]["basic"] == "600.00"


class _Gate:
    """The policy, but the first settlement of one claim id waits inside the engine until
    released: a settlement caught half way."""

    def __init__(self, policy, cid: str):
        self._policy, self._cid = policy, cid
        self.entered, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def settle(self, claim, **kw):
        if claim.get("id") == self._cid and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(30)
        return self._policy.settle(claim, **kw)


def _thread(target) -> tuple[threading.Thread, dict]:
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("value", target()), daemon=True)
    t.start()
    return t, out


def test_other_members_settle_while_one_members_settlement_is_half_way(tmp_path):
    db = str(tmp_path / "m.db")
    plain = Registry([str(SUIHUA)], {}).get(None)
    gate = _Gate(plain.policy, "a1")
    gated = attrs.evolve(plain, policy=gate)
    here, elsewhere = Ledger(open_store(db)), Ledger(open_store(db))  # two processes on one file
    held, a1 = _thread(lambda: here.settle(gated, outpatient("a1", "300.00", "A"), {}))
    assert gate.entered.wait(10)
    # A's settlement is inside the engine; B's is not held behind it (no lock is shared) ...
    done, b1 = _thread(lambda: here.settle(gated, outpatient("b1", "1000.00", "B"), {}))
    done.join(10)
    assert b1["value"][0]["paid"]["basic"] == "350.00"
    # ... and another process records a claim of A meanwhile.
    assert elsewhere.settle(plain, outpatient("a2", "1000.00", "A"), {})[0]["paid"]["basic"] == "350.00"
    gate.release.set()
    held.join(10)
    # a1 was settled against A's year before a2; it is settled again on top of a2, which met
    # the whole deductible of 500: 300 × 70% = 210.
    assert a1["value"] == (medpolicy.load(SUIHUA).settle_all([outpatient("a2", "1000.00", "A"),
                                                              outpatient("a1", "300.00", "A")])[1].to_json(), True)
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT claim_id FROM settlements ORDER BY seq")] == ["b1", "a2", "a1"]


def test_members_interleaved_across_two_processes_equal_a_sequential_run(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    db = str(tmp_path / "m.db")
    entry = Registry([str(SUIHUA)], {}).get(None)
    ledgers = [Ledger(open_store(db)), Ledger(open_store(db))]
    claims = [outpatient(f"c{i}", f"{100 + 53 * i}.00", person=f"p{i % 3}") for i in range(48)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda ic: ledgers[ic[0] % 2].settle(entry, ic[1], {}), enumerate(claims)))
    assert all(recorded for _, recorded in answers)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT person, claim, result FROM settlements ORDER BY seq").fetchall()
    assert len(rows) == 48
    policy = medpolicy.load(SUIHUA)
    for person in ("p0", "p1", "p2"):
        mine = [(json.loads(c, parse_float=Decimal), json.loads(r)) for p, c, r in rows if p == person]
        run = policy.run()  # each member's results: one run of their claims in recording order
        assert [run.settle(c).to_json() for c, _ in mine] == [r for _, r in mine]
        assert sum(Decimal(r["deductible"]) for _, r in mine) == 500
        assert sum(Decimal(r["paid"]["basic"]) for _, r in mine) == 2000


class _Counting:
    """The policy, counting the claims it settles."""

    def __init__(self, policy):
        self._policy, self.settled = policy, 0

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def settle(self, claim, **kw):
        self.settled += 1
        return self._policy.settle(claim, **kw)


def test_a_year_changed_by_another_process_is_brought_up_to_date_not_rebuilt(tmp_path):
    db = str(tmp_path / "m.db")
    plain = Registry([str(SUIHUA)], {}).get(None)
    counting = _Counting(plain.policy)
    here, elsewhere = Ledger(open_store(db)), Ledger(open_store(db))
    entry = attrs.evolve(plain, policy=counting)
    for i in range(6):  # 6 × 100: 500 of deductible, then 100 × 70% = 70
        here.settle(entry, outpatient(f"c{i}", "100.00"), {})
    # Another process records one claim: this one settles that claim and the probe, not all seven.
    elsewhere.settle(plain, outpatient("c6", "100.00"), {})
    counting.settled = 0
    assert here.presettle(entry, outpatient("probe", "100.00"), {})["paid"]["basic"] == "70.00"
    assert counting.settled == 2
    # A claim recorded and reversed elsewhere counts two changes and nothing in the year.
    elsewhere.settle(plain, outpatient("c7", "1000.00"), {})
    elsewhere.reverse(plain, "c7")
    counting.settled = 0
    assert here.presettle(entry, outpatient("probe", "100.00"), {})["paid"]["basic"] == "70.00"
    assert counting.settled == 1
    # A reversal of a claim this process had already counted: the whole year is settled again.
    elsewhere.reverse(plain, "c0")
    elsewhere.settle(plain, outpatient("c8", "100.00"), {})
    counting.settled = 0
    # Without c0: c1..c6 and c8 (700) met the 500, and 200 × 70% = 140 is paid in all; the probe 70.
    assert here.presettle(entry, outpatient("probe", "100.00"), {})["paid"]["basic"] == "70.00"
    assert counting.settled == 8  # c1..c6, c8 and the probe
    years = medpolicy.load(SUIHUA).run()
    for c in ["c1", "c2", "c3", "c4", "c5", "c6", "c8"]:
        years.settle(outpatient(c, "100.00"))
    assert here.presettle(entry, outpatient("probe", "100.00"), {}) == years.settle(outpatient("probe", "100.00")).to_json()

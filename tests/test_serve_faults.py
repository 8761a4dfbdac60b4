"""`med serve` as a process under load and faults: kill -9 in the middle of settling, a copy
of the SQLite database taken mid-run, and several workers against a real PostgreSQL.

After each, every acknowledged claim is recorded exactly once and every member's year is
what a fresh run of their recorded claims gives (`Policy.settle_all`, i.e. `med run`, when
the claims arrived in date order; `Policy.run` in recording order when they did not)."""

from __future__ import annotations

import getpass
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import medpolicy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from serve_load import SUIHUA, Server, free_port, member_claims  # noqa: E402

POLICY = medpolicy.load(SUIHUA)


class Load:
    """Threads settling members' claims, each member's in date order, until stopped or the
    server goes away; what was acknowledged and what got no answer."""

    def __init__(self, url: str, members: dict, threads: int = 12):
        self.url = url
        self.acked: dict[str, dict] = {}
        self.unanswered: dict[str, dict] = {}
        self.refused: list[str] = []
        self.stop = threading.Event()
        groups = [list(members.values())[i::threads] for i in range(threads)]
        self.threads = [threading.Thread(target=self._run, args=(g,)) for g in groups]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def until(self, acked: int, limit: float = 30) -> None:
        """Wait until `acked` claims are acknowledged (a slow machine is slow, not wrong)."""
        deadline = time.monotonic() + limit
        while len(self.acked) < acked and time.monotonic() < deadline and any(t.is_alive() for t in self.threads):
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _run(self, group: list[list[dict]]) -> None:
        # One member's claims after another's, interleaved, each member's in date order.
        order = [c for round_ in zip(*group) for c in round_] if group else []
        with httpx.Client(base_url=self.url, timeout=10) as http:
            for claim in order:
                if self.stop.is_set():
                    return
                try:
                    r = http.post("/v1/settle", json={"claim": claim})
                except httpx.TransportError:
                    self.unanswered[claim["id"]] = claim
                    return
                if r.status_code in (200, 201):
                    self.acked[claim["id"]] = r.json()
                else:
                    self.refused.append(r.text)


def recorded(db) -> list[tuple]:
    """(claim id, person, claim, result, reversed) in recording order, from SQLite or PostgreSQL."""
    sql = "SELECT claim_id, person, claim, result, reversed FROM settlements ORDER BY seq"
    if str(db).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as conn:
            return conn.execute(sql).fetchall()
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def check_years(rows: list[tuple], url: str, date_ordered: bool, results: bool = True) -> None:
    """Each member's recorded results are a fresh run of their recorded claims in order
    (unless `results` is false: after a reversal, later results are not settled again), and a
    claim presettled now sees the year that run leaves."""
    by_member: dict[str, list] = {}
    for cid, person, claim, result, reversed_ in rows:
        assert not reversed_
        by_member.setdefault(person, []).append((json.loads(claim, parse_float=Decimal), json.loads(result)))
    with httpx.Client(base_url=url, timeout=10) as http:
        for person, settled in by_member.items():
            claims = [c for c, _ in settled]
            if date_ordered and results:  # exactly `med run` of the recorded claims
                assert [r.to_json() for r in POLICY.settle_all(claims)] == [r for _, r in settled], person
            run = POLICY.run()
            fresh = [run.settle(c).to_json() for c in claims]
            if results:
                assert fresh == [r for _, r in settled], person
            probe = {**claims[-1], "id": "probe", "date": "2026-12-31"}
            assert http.post("/v1/presettle", json={"claim": probe}).json() == run.settle(probe).to_json(), person


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_in_the_middle_of_load_loses_and_doubles_nothing(backend, tmp_path, request):
    if backend == "sqlite":
        db, workers = str(tmp_path / "m.db"), "1"
    else:
        db, workers = fresh_database(request.getfixturevalue("postgres"), "killed"), "1"
    members = member_claims(24, 40, seed=11)
    server = Server(db, "--no-access-log", "--workers", workers, log=tmp_path / "server.log").start()
    try:
        with Load(server.url, members) as load:
            load.until(60)
            server.kill9()
        assert not load.refused
        assert len(load.acked) >= 60 and load.unanswered, (len(load.acked), len(load.unanswered))
        server.start()  # the same database
        with httpx.Client(base_url=server.url, timeout=10) as http:
            for cid, claim in load.unanswered.items():
                r = http.post("/v1/settle", json={"claim": claim})
                assert r.status_code in (200, 201), r.text
                load.acked[cid] = r.json()
            # Acknowledged claims sent again count nothing.
            for cid in list(load.acked)[:20]:
                claim = next(c for cs in members.values() for c in cs if c["id"] == cid)
                assert http.post("/v1/settle", json={"claim": claim}).json() == load.acked[cid]
        rows = recorded(db)
        assert sorted(r[0] for r in rows) == sorted(load.acked)  # each exactly once
        assert {r[0]: json.loads(r[3]) for r in rows} == load.acked
        check_years(rows, server.url, date_ordered=True)
    finally:
        server.stop()


def test_a_copy_taken_mid_run_opens_consistent(tmp_path):
    db = tmp_path / "m.db"
    members = member_claims(24, 40, seed=12)
    copies = {"db+wal": tmp_path / "copy" / "m.db", "backup": tmp_path / "backup.db"}
    copies["db+wal"].parent.mkdir()
    with Server(str(db), "--no-access-log", log=tmp_path / "server.log") as server:
        with Load(server.url, members) as load:
            load.until(60)
            before = set(load.acked)
            # A copy of the file and then its WAL, while a read transaction keeps the WAL from
            # being restarted in between (docs/serve.md, backups).
            with sqlite3.connect(db) as reader:
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM settlements").fetchone()
                shutil.copy(db, copies["db+wal"])
                shutil.copy(f"{db}-wal", f"{copies['db+wal']}-wal")
                reader.execute("COMMIT")
            with sqlite3.connect(db) as source, sqlite3.connect(copies["backup"]) as target:
                source.backup(target)  # SQLite's online backup
            load.until(len(load.acked) + 40)
        assert not load.refused and len(load.acked) > len(before) > 20
    for name, copy in copies.items():
        rows = recorded(copy)
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids)) and before <= set(ids) <= set(load.acked), name
        assert all(json.loads(r[3]) == load.acked[r[0]] for r in rows), name
        with Server(str(copy), "--no-access-log", log=tmp_path / f"{name}.log") as fresh:
            check_years(rows, fresh.url, date_ordered=True)


# ---- PostgreSQL ------------------------------------------------------------------------------

def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed: .ci/run installs Debian's postgresql package")
    return found


class Cluster:
    """A throwaway PostgreSQL cluster on a port of the service's range, run as a non-root user
    (initdb refuses root: then as Debian's postgres user)."""

    def __init__(self):
        # Outside pytest's private temporary folder, which the postgres user may not enter.
        self.base = Path(tempfile.mkdtemp(prefix="medpolicy-pg-"))
        self.data, sockets = self.base / "data", self.base / "run"
        sockets.mkdir()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            shutil.chown(sockets, "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        user = "postgres" if self.run_as else getpass.getuser()
        port = free_port()
        # fsync off is safe for these tests: they kill PostgreSQL's processes, not the machine, and
        # the page cache survives them. synchronous_commit stays on: with it off, an immediate stop
        # loses commits the service was already told of (the restart test then found no tables).
        self.options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.url = f"postgresql://{user}@127.0.0.1:{port}/postgres"
        self.pg("initdb", "-D", str(self.data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.pg_ctl("start")

    def pg(self, program: str, *args: str) -> None:
        r = subprocess.run(self.run_as + [_pg_bin(program), *args], capture_output=True, text=True, timeout=120)
        if r.returncode:
            pytest.fail(f"{program} {' '.join(args[:1])} failed: {r.stderr or r.stdout}")

    def pg_ctl(self, action: str, *args: str) -> None:
        self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.base / "log"), "-w", "-o", self.options, *args, action)

    def remove(self) -> None:
        self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        yield c
    finally:
        c.remove()


@pytest.fixture
def postgres(cluster):
    return cluster.url


def fresh_database(url: str, name: str) -> str:
    """A new, empty database on the cluster at `url`."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def test_postgresql_with_two_workers_serialises_each_member(postgres, tmp_path):
    postgres = fresh_database(postgres, "serialised")
    members = member_claims(4, 20, seed=13, prefix="pg")
    claims = [c for cs in members.values() for c in cs]
    with Server(postgres, "--workers", "2", "--no-access-log", log=tmp_path / "server.log") as server:
        assert httpx.get(server.url + "/healthz").json()["database"] == "postgresql"
        # Sixteen threads take claims off one queue: a member's claims reach both workers at once.
        queue = list(reversed(claims))
        lock = threading.Lock()
        answers: dict[str, dict] = {}

        def worker():
            with httpx.Client(base_url=server.url, timeout=30) as http:
                while True:
                    with lock:
                        if not queue:
                            return
                        claim = queue.pop()
                    r = http.post("/v1/settle", json={"claim": claim})
                    assert r.status_code == 201, r.text
                    answers[claim["id"]] = r.json()

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(answers) == len(claims)
        rows = recorded(postgres)
        assert {r[0]: json.loads(r[3]) for r in rows} == answers
        # Arrival order, not date order: each result is the run of the claims recorded before it.
        check_years(rows, server.url, date_ordered=False)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            again = http.post("/v1/settle", json={"claims": claims[:10]}).json()["results"]
            assert again == [answers[c["id"]] for c in claims[:10]]
            conflict = http.post("/v1/settle", json={"claim": {**claims[0], "date": "2026-12-30"}})
            assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
            first = rows[0]
            assert http.post("/v1/reverse", json={"id": first[0]}).status_code == 200
        assert len(recorded(postgres)) == len(claims)
        # The year without the reversed claim; the recorded results stand as they were.
        check_years([r for r in recorded(postgres) if not r[4]], server.url, date_ordered=False, results=False)


def test_the_service_outlives_a_postgresql_restart(cluster, tmp_path):
    db = fresh_database(cluster.url, "restarted")
    claims = member_claims(1, 6, seed=14, prefix="rs")["rs-0"]
    with Server(db, "--no-access-log", log=tmp_path / "server.log") as server, \
            httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/v1/settle", json={"claim": claims[0]}).status_code == 201
        cluster.pg_ctl("stop", "-m", "immediate")
        down = http.post("/v1/settle", json={"claim": claims[1]})
        assert down.status_code == 503 and down.json()["error"]["code"] == "database-unavailable"
        assert http.get("/healthz").status_code == 503
        cluster.pg_ctl("start")
        # Each broken connection is replaced after the request that found it broken.
        answers = [http.post("/v1/settle", json={"claim": claims[1]}).status_code for _ in range(12)]
        assert answers[-1] in (200, 201) and set(answers) <= {201, 200, 503}, answers
        for claim in claims[2:]:
            assert http.post("/v1/settle", json={"claim": claim}).status_code == 201
        check_years(recorded(db), server.url, date_ordered=True)

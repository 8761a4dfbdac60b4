"""Where recorded settlements live: SQLite (WAL, a file) or PostgreSQL (psycopg 3).

What is stored is every recorded settlement (claim id, the claim's content hash, person,
scheme, year, date, the claim, the parameters, the result, the policy version, reversed or
not) and one row per member (policy, person) with a version that every change raises. A
member's years are never stored: they are rebuilt by settling the member's recorded,
non-reversed claims again, in the order they were recorded (`ledger.py`), so the store does
not depend on the engine's internals.

One member's changes are serialised by the database itself, so several server processes may
share it: SQLite takes its write lock at `BEGIN IMMEDIATE`; PostgreSQL locks the member's
row (`SELECT … FOR UPDATE`), so different members commit in parallel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import sqlite3
from pathlib import Path
from typing import Iterator, Optional

import attrs

SCHEMA_VERSION = "1"


@attrs.frozen
class Recorded:
    """One recorded settlement, as the store keeps it (JSON columns as text)."""

    seq: int
    claim_id: str
    content_hash: str
    person: str
    claim: str
    params: str
    result: str
    policy_version: str
    reversed: bool


class StoreError(Exception):
    """The database cannot be opened or used."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now (a server restarting, a connection refused): while
    serving, the request gets 503 and may be sent again."""


def _tables(seq_column: str) -> list[str]:
    return [
        """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS members (
             policy TEXT NOT NULL, person TEXT NOT NULL, version BIGINT NOT NULL DEFAULT 0,
             PRIMARY KEY (policy, person))""",
        f"""CREATE TABLE IF NOT EXISTS settlements (
             seq {seq_column},
             policy TEXT NOT NULL, claim_id TEXT NOT NULL, content_hash TEXT NOT NULL,
             person TEXT NOT NULL, scheme TEXT, year INTEGER, date TEXT,
             claim TEXT NOT NULL, params TEXT NOT NULL, result TEXT NOT NULL,
             policy_version TEXT NOT NULL, reversed BOOLEAN NOT NULL DEFAULT FALSE,
             recorded_at TEXT NOT NULL, reversed_at TEXT,
             UNIQUE (policy, claim_id))""",
        """CREATE INDEX IF NOT EXISTS settlements_member ON settlements (policy, person, seq)""",
        # Every policy version that settled something: its source texts, so a member's year is
        # rebuilt under the version that settled each claim, also after a restart (added to
        # schema 1 without a migration: an older database gains the table when opened).
        """CREATE TABLE IF NOT EXISTS policy_versions (
             version TEXT PRIMARY KEY, policy TEXT NOT NULL, main TEXT NOT NULL,
             sources TEXT NOT NULL, stored_at TEXT NOT NULL)""",
        # The answer given in another shape than the contract's (the platform's), so that a
        # retry gets the same text (added to schema 1 as policy_versions was).
        """CREATE TABLE IF NOT EXISTS answers (
             policy TEXT NOT NULL, claim_id TEXT NOT NULL, shape TEXT NOT NULL, answer TEXT NOT NULL,
             PRIMARY KEY (policy, claim_id, shape))""",
    ]


_COLUMNS = "seq, claim_id, content_hash, person, claim, params, result, policy_version, reversed"


class Tx:
    """One transaction on one member's rows. Queries are written with `?` placeholders."""

    def __init__(self, conn, policy: str, person: str, placeholder: str):
        self._conn = conn
        self.policy = policy
        self.person = person
        self._ph = placeholder

    def _run(self, sql: str, args: tuple = ()):
        cur = self._conn.cursor()
        cur.execute(sql.replace("?", self._ph), args)
        return cur

    def version(self) -> int:
        """The member's version (0 before anything was recorded)."""
        row = self._run("SELECT version FROM members WHERE policy = ? AND person = ?",
                        (self.policy, self.person)).fetchone()
        return row[0] if row else 0

    def find(self, claim_id: str) -> Optional[Recorded]:
        """The settlement recorded under `claim_id` for this policy (any person), if any."""
        row = self._run(f"SELECT {_COLUMNS} FROM settlements WHERE policy = ? AND claim_id = ?",
                        (self.policy, claim_id)).fetchone()
        return _recorded(row) if row else None

    def claims(self, *, after: int = 0) -> list[tuple[int, str, str, str, bool]]:
        """The member's recorded claims after `seq` `after`, reversed ones too, in recording
        order: (seq, claim, parameters, the policy version that settled it, reversed)."""
        rows = self._run("SELECT seq, claim, params, policy_version, reversed FROM settlements "
                         "WHERE policy = ? AND person = ? AND seq > ? ORDER BY seq",
                         (self.policy, self.person, after)).fetchall()
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def keep_answer(self, claim_id: str, shape: str, answer: str) -> None:
        """Keep the answer given in `shape` to the claim being recorded."""
        self._run("INSERT INTO answers (policy, claim_id, shape, answer) VALUES (?, ?, ?, ?)",
                  (self.policy, claim_id, shape, answer))

    def answer(self, claim_id: str, shape: str) -> Optional[str]:
        row = self._run("SELECT answer FROM answers WHERE policy = ? AND claim_id = ? AND shape = ?",
                        (self.policy, claim_id, shape)).fetchone()
        return row[0] if row else None

    def keep_version(self, version: str, main: str, sources: str) -> None:
        """Keep a policy version's source texts (JSON: name -> text), once."""
        self._run("INSERT INTO policy_versions (version, policy, main, sources, stored_at) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING", (version, self.policy, main, sources, _now()))

    def record(self, *, claim_id: str, content_hash: str, scheme: Optional[str], year: Optional[int],
               date: Optional[str], claim: str, params: str, result: str, policy_version: str) -> tuple[int, int]:
        """Record a settlement and raise the member's version; returns (the new version, its seq)."""
        self._run("INSERT INTO settlements (policy, claim_id, content_hash, person, scheme, year, date, "
                  "claim, params, result, policy_version, reversed, recorded_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?)",
                  (self.policy, claim_id, content_hash, self.person, scheme, year, date, claim, params,
                   result, policy_version, _now()))
        seq = self._run("SELECT seq FROM settlements WHERE policy = ? AND claim_id = ?",
                        (self.policy, claim_id)).fetchone()[0]
        return self._bump(), seq

    def reverse(self, claim_id: str) -> int:
        """Mark a recorded settlement reversed and raise the member's version."""
        self._run("UPDATE settlements SET reversed = TRUE, reversed_at = ? WHERE policy = ? AND claim_id = ?",
                  (_now(), self.policy, claim_id))
        return self._bump()

    def _bump(self) -> int:
        self._run("UPDATE members SET version = version + 1 WHERE policy = ? AND person = ?",
                  (self.policy, self.person))
        return self.version()


def _recorded(row) -> Recorded:
    return Recorded(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class Store:
    """A pool of connections to one database; `member` opens a transaction on one member."""

    placeholder = "?"
    url: str
    duplicate_errors: tuple = (sqlite3.IntegrityError,)  # an id recorded twice
    unavailable_errors: tuple = (sqlite3.OperationalError, StoreUnavailable)  # locked too long, disk gone: try again later

    def __init__(self, size: int):
        self._pool: "queue.Queue" = queue.Queue()
        self._size = size
        for _ in range(size):
            self._pool.put(self._connect())
        with self._borrow() as conn:
            self._create(conn)

    # -- backends fill these in
    def _connect(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _create(self, conn) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _begin(self, conn, policy: str, person: str, write: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    @contextlib.contextmanager
    def _borrow(self) -> Iterator:
        conn = self._pool.get()
        try:
            yield conn
        finally:
            if getattr(conn, "broken", False):  # the server restarted or the network failed
                try:
                    conn = self._connect()
                except StoreError:
                    pass  # keep the broken one: the next borrower tries again
            self._pool.put(conn)

    @contextlib.contextmanager
    def member(self, policy: str, person: str, *, write: bool) -> Iterator[Tx]:
        """A transaction on one member. With `write`, the member is locked until it ends, in
        this process and in any other that shares the database; it commits if the block ends
        normally and rolls back if it raises."""
        with self._borrow() as conn:
            self._begin(conn, policy, person, write)
            try:
                yield Tx(conn, policy, person, self.placeholder)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def person_of(self, policy: str, claim_id: str) -> Optional[str]:
        """Whose claim `claim_id` is, if it was recorded (no lock: a person never changes)."""
        with self._borrow() as conn:
            cur = conn.cursor()
            cur.execute(f"SELECT person FROM settlements WHERE policy = {self.placeholder} "
                        f"AND claim_id = {self.placeholder}", (policy, claim_id))
            row = cur.fetchone()
            conn.rollback()
            return row[0] if row else None

    def settlements(self, policy: str, person: Optional[str], after: int, limit: int) -> list[Recorded]:
        """Recorded settlements (reversed ones too) in recording order, after `seq` `after`."""
        ph = self.placeholder
        sql = f"SELECT {_COLUMNS} FROM settlements WHERE policy = {ph} AND seq > {ph}"
        args: tuple = (policy, after)
        if person is not None:
            sql += f" AND person = {ph}"
            args += (person,)
        with self._borrow() as conn:
            cur = conn.cursor()
            cur.execute(sql + f" ORDER BY seq LIMIT {ph}", args + (limit,))
            rows = cur.fetchall()
            conn.rollback()
        return [_recorded(r) for r in rows]

    def answer(self, policy: str, claim_id: str, shape: str) -> Optional[str]:
        """The answer kept in `shape` for a recorded claim, if any."""
        ph = self.placeholder
        with self._borrow() as conn:
            cur = conn.cursor()
            cur.execute(f"SELECT answer FROM answers WHERE policy = {ph} AND claim_id = {ph} AND shape = {ph}",
                        (policy, claim_id, shape))
            row = cur.fetchone()
            conn.rollback()
            return row[0] if row else None

    def version_sources(self, version: str) -> Optional[tuple[str, str]]:
        """(main file name, sources as JSON) of a kept policy version, if kept."""
        with self._borrow() as conn:
            cur = conn.cursor()
            cur.execute(f"SELECT main, sources FROM policy_versions WHERE version = {self.placeholder}", (version,))
            row = cur.fetchone()
            conn.rollback()
            return (row[0], row[1]) if row else None

    def ping(self) -> None:
        """Raise unless the database answers."""
        with self._borrow() as conn:
            conn.cursor().execute("SELECT 1")
            conn.rollback()

    def close(self) -> None:
        for _ in range(self._size):
            self._pool.get().close()


class SqliteStore(Store):
    """A SQLite file in WAL mode. `synchronous=FULL`: an acknowledged settlement survives a
    crash of the process and of the machine."""

    kind = "sqlite"

    def __init__(self, path: str, size: int = 4):
        self.path = path
        self.url = f"sqlite:///{path}"
        if not Path(path).parent.is_dir():
            raise StoreError(f"cannot open database {path}: no folder {Path(path).parent}")
        super().__init__(size)

    def _connect(self):
        try:
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE to write).
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open database {self.path}: {e}") from None
        return _SqliteConnection(conn)

    def _create(self, conn) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for sql in _tables("INTEGER PRIMARY KEY AUTOINCREMENT"):
            conn.execute(sql)
        _schema_version(conn, "?")
        conn.commit()

    def _begin(self, conn, policy: str, person: str, write: bool) -> None:
        # IMMEDIATE takes the database's write lock now, so no other process can change the
        # member between our read of its version and our commit; a read sees one snapshot.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        if write:
            conn.execute("INSERT INTO members (policy, person) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (policy, person))


class _SqliteConnection:
    """sqlite3 in autocommit mode with explicit BEGIN: commit/rollback that tolerate no transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql, args=()):
        return self._conn.execute(sql, args)

    def cursor(self):
        return self._conn.cursor()

    def commit(self):
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def rollback(self):
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self):
        self._conn.close()


class PostgresStore(Store):
    """PostgreSQL through psycopg 3. A member's row is locked with SELECT … FOR UPDATE, so
    several server processes serialise one member's claims and settle others in parallel."""

    placeholder = "%s"
    kind = "postgresql"

    def __init__(self, url: str, size: int = 8):
        self.url = url
        try:
            import psycopg
        except ImportError:
            raise StoreError("PostgreSQL needs psycopg: pip install 'medpolicy[serve]'") from None
        self._psycopg = psycopg
        self.duplicate_errors = (psycopg.errors.UniqueViolation,)
        # InterfaceError: a connection the restart closed, found closed on rollback or reuse.
        self.unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError, StoreUnavailable)
        super().__init__(size)

    def _connect(self):
        try:
            return self._psycopg.connect(self.url, connect_timeout=10)
        except self._psycopg.Error as e:
            # While serving, a server that refuses connections (restarting, starting up) is
            # unavailable, not a bug: the request gets 503. At start-up the caller reports it.
            raise StoreUnavailable(f"cannot connect to {_redact(self.url)}: {e}") from None

    def _create(self, conn) -> None:
        cur = conn.cursor()
        # Two processes starting at once must not both create the tables.
        cur.execute("SELECT pg_advisory_xact_lock(715517)")
        for sql in _tables("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"):
            cur.execute(sql)
        _schema_version(conn, "%s")
        conn.commit()

    def _begin(self, conn, policy: str, person: str, write: bool) -> None:
        if not write:  # one snapshot: the member's version and claims read together
            conn.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if write:
            cur = conn.cursor()
            cur.execute("INSERT INTO members (policy, person) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (policy, person))
            cur.execute("SELECT version FROM members WHERE policy = %s AND person = %s FOR UPDATE",
                        (policy, person))


def _schema_version(conn, ph: str) -> None:
    cur = conn.cursor()
    cur.execute("SELECT value FROM meta WHERE key = 'schema'")
    row = cur.fetchone()
    if row is None:
        cur.execute(f"INSERT INTO meta (key, value) VALUES ('schema', {ph})", (SCHEMA_VERSION,))
    elif row[0] != SCHEMA_VERSION:
        raise StoreError(f"the database has schema version {row[0]}; this medpolicy writes {SCHEMA_VERSION}")


def _redact(url: str) -> str:
    """A connection URL without its password, for messages."""
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, cred = head.partition("//")
    return f"{scheme}//{cred.split(':', 1)[0]}:***@{tail}"


def open_store(url: str) -> Store:
    """`postgresql://…` (or `postgres://…`), `sqlite:///path`, or a plain file path (SQLite)."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite:///"):
        return SqliteStore(url[len("sqlite:///"):] or "medpolicy.db")
    if "://" in url:
        raise StoreError(f"unknown database URL {url!r}: use a file path, sqlite:///PATH or postgresql://…")
    return SqliteStore(url)

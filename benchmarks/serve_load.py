"""`med serve` under load: 32 concurrent clients against a local server.

    python benchmarks/serve_load.py [--clients 32] [--seconds 30] [--db URL] [--workers 1]
                                    [--phases presettle,settle,settle-one]

Starts `med serve policies/suihua.med` on a fresh SQLite file (or --db), then runs phases
of --seconds each: `presettle` (every client presettles claims), `settle` (every client
settles claims; each client owns its members and sends their claims in date order, one at a
time), `settle-one` (every client settles claims of one and the same member: one member's
claims are serialised, so this is the floor that many members' parallel settling is
measured against). Prints requests per second and the p50/p99 latency of each phase. The clients (asyncio, one
keep-alive connection each) run on the same machine and take CPU from the server: the
figures are a floor.

The module also serves the fault tests (tests/test_serve_faults.py): the server process,
the claims and the clients are the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = ROOT / "policies" / "suihua.med"
PORTS = range(18000, 19000)  # the service's port range on the team's machine


def free_port() -> int:
    rng = random.Random()
    for _ in range(200):
        port = rng.choice(PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 18000-18999")


class Server:
    """`med serve` as a child process, on 127.0.0.1."""

    def __init__(self, db: str, *args: str, policy: Path = SUIHUA, port: Optional[int] = None, log: Optional[Path] = None):
        self.db, self.args, self.policy = db, args, policy
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 30) -> "Server":
        import httpx

        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "medpolicy.cli", "serve", str(self.policy), "--db", self.db,
                                      "--port", str(self.port), *self.args], stdout=out, stderr=out,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"med serve exited with {self.proc.returncode}" + self._tail())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"med serve did not answer within {timeout} s" + self._tail())

    def _tail(self) -> str:
        return ":\n" + self.log.read_text()[-2000:] if self.log and self.log.exists() else ""

    def kill9(self) -> None:
        """SIGKILL the server and its workers (its process group): no chance to clean up."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def member_claims(members: int, per_member: int, seed: int = 7, prefix: str = "m") -> dict[str, list[dict]]:
    """Each member's Suihua claims in date order: outpatient visits and hospital stays, so
    yearly deductibles and caps carry from one claim to the next."""
    rng = random.Random(seed)
    out = {}
    for m in range(members):
        person = f"{prefix}-{m}"
        scheme = rng.choice(["employee", "employee", "resident"])
        claims = []
        days = sorted(rng.sample(range(1, 360), per_member))
        for n, day in enumerate(days):
            outpatient = rng.random() < 0.6
            amount = rng.randint(50, 3000) if outpatient else rng.randint(2000, 80000)
            claim = {"id": f"{person}-{n}", "person": person,
                     "date": time.strftime("%Y-%m-%d", time.strptime(f"2026 {day}", "%Y %j")),
                     "scheme": scheme, "benefit": "outpatient" if outpatient else "inpatient",
                     "facility": {"level": rng.choice(["primary", "level1", "level2", "level3"])},
                     "items": [{"class": "A", "amount": f"{amount}.{rng.randint(0, 99):02d}"},
                               {"class": "excluded", "amount": f"{rng.randint(0, 300)}.00"}]}
            if scheme == "employee":
                claim["status"] = rng.choice(["employed", "retired"])
            claims.append(claim)
        out[person] = claims
    return out


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] if s else float("nan")


class Connection:
    """A minimal HTTP/1.1 keep-alive client: a general client (httpx) spends about 2 ms of CPU
    a request here, four times what the server spends, and would measure itself."""

    def __init__(self, url: str):
        self.host, port = url.split("//", 1)[1].split(":")
        self.port = int(port)
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _client(url: str, kind: str, claims: list[dict], until: float, latencies: list, errors: list) -> None:
    bodies = [json.dumps({"claim": c, "trace": False}).encode() for c in claims]
    conn = Connection(url)
    i = 0
    try:
        while time.monotonic() < until and i < len(bodies):
            started = time.perf_counter()
            status, body = await conn.post(f"/v1/{kind}", bodies[i])
            latencies.append(time.perf_counter() - started)
            if status not in (200, 201):
                errors.append(body.decode())
            i = i + 1 if kind == "settle" else (i + 1) % len(bodies)
    finally:
        conn.close()


async def phase(url: str, kind: str, clients: int, seconds: float, work: list[list[dict]]) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_client(url, kind, work[c], until, latencies, errors) for c in range(clients)))
    elapsed = time.monotonic() - started
    return {"kind": kind, "requests": len(latencies), "seconds": elapsed, "per_second": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "errors": len(errors), "first_error": errors[0] if errors else None}


def one_member(work: list[list[dict]]) -> list[list[dict]]:
    """The same claims, all of one member (each client's own ids)."""
    return [[{**c, "id": f"solo-{n}-{i}", "person": "solo", "scheme": "employee", "status": "employed"}
             for i, c in enumerate(claims)] for n, claims in enumerate(work)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--phases", default="presettle,settle,settle-one")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "load.db")
        members = member_claims(args.clients * 50, 40)
        # Each client owns its members and sends their claims in date order.
        work: list[list[dict]] = [[] for _ in range(args.clients)]
        for n, claims in enumerate(members.values()):
            work[n % args.clients].extend(claims)
        with Server(db, "--workers", str(args.workers), "--no-access-log", log=Path(tmp) / "server.log") as server:
            print(f"med serve {SUIHUA.name} --db {db} --workers {args.workers}; {args.clients} clients, "
                  f"{args.seconds:g} s a phase; {os.cpu_count()} CPUs (client and server share them)")
            print(f"{'phase':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            rates = {}
            for name in args.phases.split(","):
                kind, claims = ("settle", one_member(work)) if name == "settle-one" else (name, work)
                r = asyncio.run(phase(server.url, kind, args.clients, args.seconds, claims))
                rates[name] = r["per_second"]
                print(f"{name:<10} {r['requests']:>9} {r['per_second']:>8.0f} {r['p50_ms']:>8.1f} "
                      f"{r['p99_ms']:>8.1f} {r['errors']:>7}")
                if r["first_error"]:
                    print(f"  first error: {r['first_error'][:300]}")
            if "settle" in rates and "settle-one" in rates:
                print(f"settling many members / one member: {rates['settle'] / rates['settle-one']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

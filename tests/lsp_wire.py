"""A raw byte-level client for `med lsp`: sends exactly the bytes a test gives (malformed
frames included) and reads back the server's answers. Used by the hardening tests and the
LSP fuzzer, where a well-behaved client library would refuse to send the bad input."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from typing import Optional

SERVER = [sys.executable, "-m", "medpolicy.cli", "lsp"]


def frame(message, name: bytes = b"Content-Length", delta: int = 0) -> bytes:
    """One message as the protocol frames it; `name` and `delta` make it wrong on purpose."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode("utf-8")
    return name + b": %d\r\n\r\n" % (len(body) + delta) + body


def request(msg_id, method: str, params=None) -> dict:
    m = {"jsonrpc": "2.0", "id": msg_id, "method": method}
    if params is not None:
        m["params"] = params
    return m


def notification(method: str, params=None) -> dict:
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return m


INITIALIZE = request(0, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
INITIALIZED = notification("initialized", {})


class WireClient:
    """`med lsp` in a subprocess, spoken to in bytes."""

    def __init__(self, args=()):
        self.proc = subprocess.Popen([*SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.messages: "queue.Queue[Optional[dict]]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(out.read(length)))

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def start(self) -> None:
        self.send(frame(INITIALIZE))
        assert "result" in self.response(0)
        self.send(frame(INITIALIZED))

    def next(self, timeout: float = 10) -> Optional[dict]:
        """The next message from the server, or None if none comes within `timeout`."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def response(self, msg_id, timeout: float = 10) -> Optional[dict]:
        """The response to request `msg_id` (other messages are skipped), or None."""
        while True:
            m = self.next(timeout)
            if m is None or m.get("id") == msg_id and "method" not in m:
                return m

    def errors_with_null_id(self, timeout: float = 0.5) -> list[dict]:
        found = []
        while (m := self.next(timeout)) is not None:
            if m.get("id") is None and "error" in m:
                found.append(m)
        return found

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                self.send(frame(request(999_999, "shutdown")) + frame(notification("exit")))
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        return self.proc.returncode

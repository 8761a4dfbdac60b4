"""Fuzz the language server for minutes: hostile byte streams through the frame reader
(every valid frame after the garbage must come through), and hostile requests (real methods,
params wrong in every way) to a live `med lsp`, which must answer each with a result or a
JSON-RPC error and stay up.

    python fuzz/fuzz_lsp.py --minutes 5
"""

from __future__ import annotations

import argparse
import io
import sys

from driver import run
from lsp_strategies import hostile_requests, hostile_streams
from lsp_wire import WireClient, frame

from medpolicy.lsp_frames import FrameReader

OPEN = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
    "uri": "file:///tmp/fuzz-open.med", "languageId": "med", "version": 1,
    "text": 'policy "x" effective 2026-01-01 to 2030-12-31\nuse standard\n\nscheme employee\n  fund basic\n'
            '  inpatient rate 80%\n    三级 起付线 900\n'}}}


def check_frames(stream) -> None:
    data, valid_after = stream
    reader = FrameReader(io.BytesIO(data))
    bodies = []
    while line := reader.readline():
        if not line.startswith(b"Content-Length: ") or reader.readline() != b"\r\n":
            raise AssertionError(f"a malformed frame came through: {line!r}")
        bodies.append(reader.read(int(line[16:])))
    if bodies[len(bodies) - len(valid_after):] != valid_after:
        raise AssertionError("a valid frame after the garbage was lost")


class LiveServer:
    """One `med lsp` for the whole run, restarted (and the failure recorded) if it dies."""

    def __init__(self) -> None:
        self.client = None

    def check(self, requests) -> None:
        if self.client is None or self.client.proc.poll() is not None:
            self.client = WireClient()
            self.client.start()
            self.client.send(frame(OPEN))
        self.client.send(b"".join(frame(r) for r in requests))
        for r in requests:
            reply = self.client.response(r["id"], timeout=30)
            if reply is None:
                dead = self.client.proc.poll() is not None
                self.client = None if dead else self.client
                raise AssertionError(f"{'the server died' if dead else 'no answer'} for {r}")
            if "result" not in reply and "error" not in reply:
                raise AssertionError(f"an answer with neither result nor error: {reply}")
            if "error" in reply and reply["error"]["code"] == -32603:
                raise AssertionError(f"internal error for {r}: {reply['error']['message']}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args(argv)
    server = LiveServer()
    status = run(hostile_streams(), check_frames, args.minutes / 2, "lsp frames")
    status |= run(hostile_requests(), server.check, args.minutes / 2, "lsp requests", batch=50)
    if server.client is not None:
        server.client.close()
    return status


if __name__ == "__main__":
    sys.exit(main())

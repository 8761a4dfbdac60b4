"""The language server's input, framed defensively: what a client may send can neither
exhaust the server's memory nor leave it deaf.

The protocol frames each message as headers (`Content-Length: N`), a blank line and N
bytes of JSON. pygls's own reader trusts all of that: a huge length is allocated at once
(MemoryError, OverflowError), and one frame that is off (a lowercase header, a missing
header, a length one too long or short) desynchronises it for good. `FrameReader` sits
in front of pygls's reader: it reads the raw stream in bounded chunks, accepts header
names in any case, refuses lengths over `MAX_FRAME_BYTES`, checks that each body is one
JSON value, and after anything malformed finds the next `Content-Length` header and goes
on. pygls then only ever sees well-formed frames. What it dropped is reported through
`on_garbage`, so the server can answer with a JSON-RPC parse error.
"""

from __future__ import annotations

import json
import re
from typing import BinaryIO, Callable, Optional

# A policy of thousands of lines is well under 1 MB; a frame this large is an attack or a bug.
MAX_FRAME_BYTES = 32 * 1024 * 1024
MAX_HEADER_LINE = 8 * 1024   # a header line longer than this is not a header
CHUNK = 64 * 1024

_HEADER = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
_LENGTH = re.compile(rb"[ \t]*([0-9]+)[ \t]*")
_decoder = json.JSONDecoder()


class FrameReader:
    """A blocking `readline()`/`read(n)` stream of well-formed frames, read from `raw`.

    `raw` is the client's byte stream (stdin); `on_garbage(reason)` is called for every
    stretch of input that was not a well-formed frame.
    """

    def __init__(self, raw: BinaryIO, on_garbage: Optional[Callable[[str], None]] = None):
        self.raw = raw
        self.on_garbage = on_garbage or (lambda reason: None)
        self.pending = bytearray()  # raw bytes read but not yet framed
        self.eof = False
        self.out = b""            # the current well-formed frame, as pygls reads it
        self.out_pos = 0

    # ---- what pygls calls ----------------------------------------------------------

    def readline(self) -> bytes:
        if self.out_pos >= len(self.out) and not self._next_frame():
            return b""
        end = self.out.find(b"\n", self.out_pos)
        end = len(self.out) if end < 0 else end + 1
        line, self.out_pos = self.out[self.out_pos:end], end
        return line

    def read(self, n: int) -> bytes:
        data = self.out[self.out_pos:self.out_pos + n]
        self.out_pos += len(data)
        return data

    # ---- framing -------------------------------------------------------------------

    def _next_frame(self) -> bool:
        """Read until one well-formed frame is ready (True), or the input ends (False)."""
        while True:
            body = self._frame()
            if body is None:
                return False
            if body:
                self.out = b"Content-Length: %d\r\n\r\n" % len(body) + body
                self.out_pos = 0
                return True

    def _frame(self) -> Optional[bytes]:
        """One body; b"" after dropping a malformed frame; None at the end of the input."""
        length = self._headers()
        if length is None:
            return None
        if length < 0:
            return b""
        if length > MAX_FRAME_BYTES:
            self.on_garbage(f"a Content-Length over the limit of {MAX_FRAME_BYTES} bytes")
            return b""
        if not self._fill(length):
            # The input ended first: the length was wrong; frames may still follow in what came.
            self.on_garbage("the input ended inside a message (a wrong Content-Length?)")
            self._skip_to_header(drop_first=False)
            return b"" if self.pending else None
        body = bytes(self.pending[:length])
        del self.pending[:length]
        return self._checked(body)

    def _checked(self, body: bytes) -> bytes:
        """The body if it is one JSON value; a body one byte too long gives its extra back."""
        try:
            text = body.decode("utf-8")
            _value, end = _decoder.raw_decode(text, _skip_space(text))
        except (UnicodeDecodeError, ValueError, RecursionError):
            self.pending[0:0] = body  # the next header may be inside it (a length too long): look again
            self._skip_to_header(drop_first=False)
            self.on_garbage("a message that is not one JSON value (or a wrong Content-Length)")
            return b""
        rest = text[end:]
        if rest.strip():
            # Content-Length too long: the next frame's first bytes were taken; give them back.
            self.pending[0:0] = rest.lstrip().encode("utf-8")
            body = text[:end].encode("utf-8")
        return body

    def _headers(self) -> Optional[int]:
        """Read a header block: its Content-Length, -1 if it had none or a bad one, None at the end."""
        length: Optional[int] = None
        bad = False
        while True:
            line = self._line()
            if line is None:
                return None
            later = _HEADER.search(line, 1)
            if later is not None:  # a line cut short, the next frame's header after it
                self.pending[0:0] = line[later.start():]
                line = line[:later.start()]
            if not line.strip():
                if length is None and not bad:
                    continue  # blank lines between frames
                break
            m = _HEADER.match(line)
            if m is not None:
                n = _LENGTH.fullmatch(line[m.end():].rstrip(b"\r\n"))
                if n is None:
                    bad = True
                else:  # never int() a huge digit string: it is over the limit anyway
                    digits = n.group(1).lstrip(b"0")
                    length = int(digits or b"0") if len(digits) <= 12 else MAX_FRAME_BYTES + 1
            elif not re.match(rb"[A-Za-z][A-Za-z0-9-]*[ \t]*:", line):
                # not a header at all (a body without its header?): skip to the next frame
                self.on_garbage("input that is not a message header")
                self.pending[0:0] = line
                self._skip_to_header(drop_first=True)
                return -1
        if length is None:
            self.on_garbage("a message without a valid Content-Length header")
            return -1
        return length

    def _line(self) -> Optional[bytes]:
        """One header line (bounded), or None at the end of the input."""
        while True:
            end = self.pending.find(b"\n")
            if end >= 0 and end < MAX_HEADER_LINE:
                line = bytes(self.pending[:end + 1])
                del self.pending[:end + 1]
                return line
            if end >= MAX_HEADER_LINE or (end < 0 and len(self.pending) >= MAX_HEADER_LINE):
                self.on_garbage("a header line over the limit")
                self._skip_to_header(drop_first=True)
                continue
            if not self._more():
                if self.pending:
                    line = bytes(self.pending)
                    self.pending.clear()
                    return line
                return None

    def _skip_to_header(self, drop_first: bool) -> None:
        """Drop input up to the next `Content-Length` header (reading on if needed)."""
        start = 1 if drop_first else 0
        while True:
            m = _HEADER.search(self.pending, start)
            if m is not None:
                del self.pending[:m.start()]
                return
            keep = len("content-length:") - 1  # a header split across two reads
            del self.pending[:max(len(self.pending) - keep, 0)]
            start = 0
            if not self._more():
                self.pending.clear()
                return

    def _fill(self, n: int) -> bool:
        while len(self.pending) < n:
            if not self._more():
                return False
        return True

    def _more(self) -> bool:
        if self.eof:
            return False
        read = getattr(self.raw, "read1", None) or self.raw.read
        data = read(CHUNK)
        if not data:
            self.eof = True
            return False
        self.pending += data
        return True


def _skip_space(text: str) -> int:
    return len(text) - len(text.lstrip())

"""Hostile input for the language server's framing: malformed frames of every family the
outside tester used, and random bytes, each followed by valid frames that must still be read.
Shared by tests/test_lsp_hardening.py (briefly) and fuzz/fuzz_lsp.py (for minutes)."""

from __future__ import annotations

import json

from hypothesis import strategies as st


def _frame(body: bytes, name: bytes = b"Content-Length", delta: int = 0) -> bytes:
    return name + b": %d\r\n\r\n" % max(len(body) + delta, 0) + body


def _body(msg_id: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/hover",
                       "params": {"textDocument": {"uri": "file:///x.med"}, "position": {"line": 0, "character": 0}}},
                      ensure_ascii=False).encode("utf-8")


json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
).map(lambda v: json.dumps(v).encode("utf-8"))

header_names = st.sampled_from([b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"Content-Type",
                                b"Content-Lenght", b"", b"Content-Length ", b"X"])
lengths = st.one_of(st.integers(min_value=-3, max_value=3).map(lambda d: ("delta", d)),
                    st.sampled_from([b"1000000000000", b"%d" % (2**63 - 1), b"1" + b"0" * 30, b"-5", b"0x10",
                                     b"", b"1e3", b"\xef\xbc\x95"]).map(lambda v: ("raw", v)))


@st.composite
def malformed_frames(draw) -> bytes:
    body = draw(json_bodies | st.binary(max_size=60) | st.just(_body(1)))
    name = draw(header_names)
    how, value = draw(lengths)
    if how == "delta":
        head = name + b": %d" % max(len(body) + value, 0)
    else:
        head = name + b": " + value
    ending = draw(st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n", b"", b"\r\nContent-Type: x\r\n\r\n"]))
    return draw(st.sampled_from([head + ending + body, body, head + ending]))


@st.composite
def hostile_streams(draw) -> tuple[bytes, list[bytes]]:
    """(bytes, the valid bodies at its end): malformed frames and garbage, then 1-3 valid frames."""
    bad = draw(st.lists(malformed_frames() | st.binary(min_size=1, max_size=40), min_size=1, max_size=4))
    good = [_body(100 + i) for i in range(draw(st.integers(min_value=1, max_value=3)))]
    return b"".join(bad) + b"".join(_frame(b) for b in good), good


METHODS = ("textDocument/hover", "textDocument/completion", "textDocument/definition", "textDocument/references",
           "textDocument/rename", "textDocument/prepareRename", "textDocument/codeAction",
           "textDocument/semanticTokens/full", "textDocument/foldingRange", "textDocument/documentLink",
           "textDocument/formatting", "textDocument/documentSymbol", "textDocument/inlayHint", "workspace/symbol",
           "no/suchMethod")
URIS = ("file:///dev/zero", "file:///nonexistent.med", "file:///", "untitled:x", "http://x/y.med", "", "file:///%00",
        "file:///tmp/fuzz-open.med")
positions = st.fixed_dictionaries({
    "line": st.one_of(st.integers(-2, 40), st.just(2**31), st.just(10**30), st.text(max_size=3)),
    "character": st.one_of(st.integers(-2, 200), st.just(2**63), st.none()),
})
hostile_params = st.one_of(
    st.fixed_dictionaries({"textDocument": st.fixed_dictionaries({"uri": st.sampled_from(URIS) | st.text(max_size=20)}),
                           "position": positions | json_bodies.map(json.loads)},
                          optional={"newName": st.text(max_size=10), "query": st.text(max_size=10),
                                    "context": st.just({"includeDeclaration": True}) | st.just({"diagnostics": []}),
                                    "range": st.just({"start": {"line": 0, "character": 0},
                                                      "end": {"line": 0, "character": 5}}),
                                    "options": st.just({"tabSize": 2, "insertSpaces": True})}),
    json_bodies.map(json.loads),
)


@st.composite
def hostile_requests(draw) -> list[dict]:
    """A few requests of real methods with params that may be wrong in every way."""
    return [{"jsonrpc": "2.0", "id": 1000 + i, "method": draw(st.sampled_from(METHODS)), "params": draw(hostile_params)}
            for i in range(draw(st.integers(1, 4)))]

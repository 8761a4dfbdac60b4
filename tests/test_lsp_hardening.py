"""`med lsp` against hostile or broken clients, byte for byte (issue 16, "The language server").

Each test is named after the guarantee it checks: bounded memory whatever the framing says,
every later valid request answered after a malformed frame, a JSON-RPC answer to every
request, and never reading a device or a huge file from disk."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from lsp_wire import SERVER, WireClient, frame, notification, request
from lsp_strategies import hostile_requests, hostile_streams
from medpolicy.lsp_frames import MAX_FRAME_BYTES, FrameReader

ROOT = Path(__file__).resolve().parent.parent
HOVER = {"textDocument": {"uri": (ROOT / "policies" / "suihua.med").as_uri()}, "position": {"line": 15, "character": 1}}


@pytest.fixture(scope="module")
def server():  # one server for the module, started as VS Code starts it; each test checks it still answers
    client = WireClient(["--stdio"])
    client.start()
    yield client
    client.close()


def five_requests_answered(client: WireClient, first_id: int = 100) -> int:
    ids = range(first_id, first_id + 5)
    client.send(b"".join(frame(request(i, "textDocument/hover", HOVER)) for i in ids))
    return sum(1 for i in ids if (r := client.response(i)) is not None and "result" in r)


def test_the_server_accepts_the_stdio_flag_editors_add(server):
    assert five_requests_answered(server) == 5


@pytest.mark.parametrize("length", [b"1000000000000", b"%d" % (2**63 - 1), b"1" + b"0" * 30, b"9" * 5000])
def test_a_huge_content_length_is_refused_without_allocating_and_the_server_goes_on(server, length):
    server.send(b"Content-Length: " + length + b"\r\n\r\n" + b'{"jsonrpc":"2.0","id":7,"method":"shutdown"}')
    [error] = server.errors_with_null_id()
    assert error["error"]["code"] == -32700
    assert f"over the limit of {MAX_FRAME_BYTES} bytes" in error["error"]["message"]
    assert five_requests_answered(server) == 5
    assert server.proc.poll() is None


MALFORMED = {
    "lowercase header": frame(request(1, "textDocument/hover", HOVER), name=b"content-length"),
    "missing header": b'{"jsonrpc":"2.0","id":1,"method":"textDocument/hover"}',
    "length one too long": frame(request(1, "textDocument/hover", HOVER), delta=1),
    "length one too short": frame(request(1, "textDocument/hover", HOVER), delta=-1),
    "length not a number": b"Content-Length: ten\r\n\r\n{}",
    "body not JSON": frame(b"{not json"),
    "body not UTF-8": frame(b'{"a":"\xff\xfe"}'),
    "header line of 100 kB": b"X-" + b"a" * 100_000 + b"\r\n\r\n",
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
def test_after_a_malformed_frame_every_later_valid_request_is_answered(server, bad):
    server.send(bad)
    assert five_requests_answered(server) == 5


INVALID_PARAMS = {
    "hover without a position": {"textDocument": {"uri": "file:///x.med"}},
    "position of the wrong type": {"textDocument": {"uri": "file:///x.med"}, "position": "here"},
    "params a list": [1, 2],
    "completion with a negative line": {"textDocument": {"uri": "file:///x.med"}, "position": {"line": -1, "character": 0}},
}


@pytest.mark.parametrize("params", INVALID_PARAMS.values(), ids=INVALID_PARAMS.keys())
def test_a_request_with_invalid_params_gets_an_invalid_params_error(server, params):
    method = "textDocument/completion" if "negative" in str(params) else "textDocument/hover"
    server.send(frame(request(5, method, params)))
    reply = server.response(5)
    assert reply is not None and reply["error"]["code"] == -32602
    assert five_requests_answered(server) == 5


def test_a_message_that_is_not_json_rpc_gets_an_invalid_request_error(server):
    server.send(frame([1, 2, 3]) + frame({"id": 4, "method": "x"}))
    assert [e["error"]["code"] for e in server.errors_with_null_id()] == [-32600]
    reply = server.response(4, timeout=1)  # no "jsonrpc": answered with its id
    assert reply is None or reply["error"]["code"] == -32600


def test_requests_after_shutdown_get_an_error_and_exit_still_ends_the_server():
    client = WireClient()
    client.start()
    client.send(frame(request(1, "shutdown")))
    assert client.response(1) == {"jsonrpc": "2.0", "id": 1, "result": None}
    client.send(frame(request(2, "textDocument/hover", HOVER)))
    reply = client.response(2)
    assert reply["error"]["code"] == -32600 and "shutting down" in reply["error"]["message"]
    client.send(frame(notification("exit")))
    assert client.proc.wait(timeout=10) == 0
    client.close()


@pytest.mark.parametrize("uri", ["file:///dev/zero", "file:///dev/stdin", "file:///proc/self/mem", "file:///"])
def test_a_request_about_an_unopened_device_or_folder_is_refused_without_reading_it(server, uri):
    server.send(frame(request(3, "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})))
    reply = server.response(3)
    assert reply["error"]["code"] == -32602
    assert "not a regular file" in reply["error"]["message"] or "cannot read" in reply["error"]["message"]


def test_an_unopened_file_over_the_size_limit_is_refused(server, tmp_path):
    big = tmp_path / "big.med"
    with open(big, "wb") as f:
        f.truncate(5 * 1024 * 1024)  # sparse: costs no disk
    server.send(frame(request(3, "textDocument/hover", {"textDocument": {"uri": big.as_uri()}, "position": {"line": 0, "character": 0}})))
    assert "over 4194304 bytes" in server.response(3)["error"]["message"]


def test_an_unopened_regular_policy_is_still_read(server):
    server.send(frame(request(3, "textDocument/hover", HOVER)))
    assert server.response(3)["result"]["contents"]["value"].startswith("**policy**")


# ---- the frame reader alone, fuzzed briefly (fuzz/fuzz_lsp.py runs it for minutes) ----

@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_streams())
def test_the_frame_reader_yields_only_well_formed_frames_and_recovers_the_valid_ones(stream):
    data, valid_after = stream
    reader = FrameReader(io.BytesIO(data))
    bodies = []
    while line := reader.readline():
        assert line.startswith(b"Content-Length: ") and reader.readline() == b"\r\n"
        bodies.append(reader.read(int(line[16:])))
    assert len(b"".join(bodies)) <= len(data)
    assert bodies[len(bodies) - len(valid_after):] == valid_after


def test_lsp_help_names_the_stdio_flag():
    out = subprocess.run([*SERVER, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--stdio" in out


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(hostile_requests())
def test_every_request_with_hostile_params_gets_a_result_or_a_json_rpc_error(server, requests):
    server.send(b"".join(frame(r) for r in requests))
    for r in requests:
        reply = server.response(r["id"])
        assert reply is not None, f"no answer to {r}"
        assert "result" in reply or reply["error"]["code"] in (-32600, -32601, -32602), reply

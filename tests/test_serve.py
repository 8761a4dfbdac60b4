"""`med serve` in process (Starlette's test client): settling, recording once, reversing,
reloading, and every kind of bad input getting the contract's error object."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import medpolicy
from medpolicy.serve.app import Config, create_app

ROOT = Path(__file__).resolve().parent.parent
SUIHUA = ROOT / "policies" / "suihua.med"
SHAOXING = ROOT / "policies" / "shaoxing.med"


def outpatient(cid: str, amount: str, person: str = "p-1", date: str = "2026-03-05") -> dict:
    """A Suihua employee's outpatient claim at a level-1 hospital: deductible 500 a year, then
    70% (第二十一条（二）)."""
    return {"id": cid, "person": person, "date": date, "scheme": "employee", "status": "employed",
            "benefit": "outpatient", "facility": {"level": "level1"}, "items": [{"class": "A", "amount": amount}]}


@pytest.fixture
def served(tmp_path):
    """A server on a copy of Suihua's policy (so a test may edit it) and a fresh database."""
    policy = tmp_path / "suihua.med"
    shutil.copy(SUIHUA, policy)
    db = tmp_path / "m.db"
    app = create_app(Config(policies=(str(policy),), db=str(db), reload_interval=0, max_body=40_000, max_batch=50))
    with TestClient(app) as client:
        client.db, client.policy, client.service = db, policy, app.state.service
        yield client


def rows(db) -> list:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT claim_id, person, reversed, policy_version FROM settlements ORDER BY seq").fetchall()


def test_a_year_accumulates_across_requests_and_is_recorded_once(served):
    first = served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    assert first.status_code == 201
    assert first.json()["deductible"] == "300.00" and first.json()["paid"]["basic"] == "0.00"
    # 200 of the year's 500 remain; (1000 − 200) × 70% = 560.
    second = served.post("/v1/settle", json={"claim": outpatient("c2", "1000.00"), "trace": False})
    assert second.status_code == 201
    assert second.json()["deductible"] == "200.00" and second.json()["paid"]["basic"] == "560.00"
    assert "trace" not in second.json()
    again = served.post("/v1/settle", json={"claim": outpatient("c2", "1000.00"), "trace": False})
    assert again.status_code == 200 and again.json() == second.json()
    version = served.get("/v1/policies").json()["policies"][0]["version"]
    assert rows(served.db) == [("c1", "p-1", 0, version), ("c2", "p-1", 0, version)]


def test_presettle_records_nothing(served):
    served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    r = served.post("/v1/presettle", json={"claim": outpatient("c2", "1000.00")})
    assert r.status_code == 200 and r.json()["paid"]["basic"] == "560.00"
    assert [row[0] for row in rows(served.db)] == ["c1"]


def test_the_same_id_with_other_content_is_a_conflict(served):
    served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    r = served.post("/v1/settle", json={"claim": outpatient("c1", "301.00")})
    assert r.status_code == 409
    assert r.json()["id"] == "c1" and r.json()["error"]["code"] == "conflict" and r.json()["error"]["field"] == "id"
    assert len(rows(served.db)) == 1


def test_reversal_restores_the_year_and_leaves_later_results(served):
    served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    second = served.post("/v1/settle", json={"claim": outpatient("c2", "1000.00")}).json()
    r = served.post("/v1/reverse", json={"id": "c1"})
    assert r.status_code == 200 and r.json()["reversed"] is True and r.json()["person"] == "p-1"
    # Without c1 the year has c2 only: its 1000 met the whole deductible of 500, so a further
    # 1000 pays 70% in full.
    probe = served.post("/v1/presettle", json={"claim": outpatient("c3", "1000.00")}).json()
    assert probe["deductible"] == "0.00" and probe["paid"]["basic"] == "700.00"
    # c2's recorded result is not settled again.
    assert served.post("/v1/settle", json={"claim": outpatient("c2", "1000.00")}).json() == second
    assert served.post("/v1/reverse", json={"id": "c1"}).status_code == 200  # reversing twice is harmless
    again = served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    assert again.status_code == 409 and again.json()["error"]["code"] == "reversed"
    missing = served.post("/v1/reverse", json={"id": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not-found"
    assert [(r[0], r[2]) for r in rows(served.db)] == [("c1", 1), ("c2", 0)]


def test_a_batch_settles_in_order_and_a_bad_claim_gets_its_own_row(served):
    bad = {**outpatient("c2", "1.00"), "benefit": "haircut"}
    r = served.post("/v1/settle", json={"claims": [outpatient("c1", "300.00"), bad, outpatient("c3", "1000.00")]})
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0]["deductible"] == "300.00"
    assert results[1]["id"] == "c2" and results[1]["error"]["field"] == "benefit"
    assert results[2]["paid"]["basic"] == "560.00"
    assert [row[0] for row in rows(served.db)] == ["c1", "c3"]


def test_a_presettle_batch_accumulates_within_itself_only(served):
    r = served.post("/v1/presettle", json={"claims": [outpatient("c1", "300.00"), outpatient("c2", "1000.00")]})
    assert [x["paid"]["basic"] for x in r.json()["results"]] == ["0.00", "560.00"]
    assert rows(served.db) == []


def test_results_equal_a_batch_run_of_the_same_claims(served):
    claims = [json.loads(line) for line in (ROOT / "examples" / "suihua-claims.jsonl").read_text().splitlines()]
    served_rows = [served.post("/v1/settle", json={"claims": claims[i:i + 7]}).json()["results"]
                   for i in range(0, len(claims), 7)]
    batch = [r.to_json() for r in medpolicy.load(SUIHUA).settle_all(claims)]
    assert [row for chunk in served_rows for row in chunk] == batch


def test_explain_gives_the_sheet_with_lines_and_articles(served):
    r = served.post("/v1/explain", json={"claim": outpatient("c1", "1000.00")})
    assert r.status_code == 200
    sheet = r.json()["sheet"]
    assert "deductible" in sheet and "500.00" in sheet and "第二十一条（二）" in sheet
    line = next(n for n, text in enumerate(SUIHUA.read_text().splitlines(), 1) if "deductible 500 yearly" in text)
    assert f"suihua.med:{line}" in sheet
    assert r.json()["result"]["paid"]["basic"] == "350.00"


def test_check_returns_diagnostics_with_positions(served):
    ok = served.post("/v1/check", json={"text": SUIHUA.read_text(), "name": "suihua.med"}).json()
    assert ok["ok"] is True and ok["diagnostics"] == [] and len(ok["version"]) == 16
    text = 'policy "x"\nuse standard\nscheme employee\n  inpatient\n    levl3 rate 90%\n'
    bad = served.post("/v1/check", json={"text": text, "name": "x.med"}).json()
    assert bad["ok"] is False
    d = bad["diagnostics"][0]
    assert (d["file"], d["line"], d["column"], d["severity"]) == ("x.med", 5, 5, "error")
    assert "levl3" in d["message"]


def test_policies_health_and_openapi(served):
    p = served.get("/v1/policies").json()
    assert p["default"] == "suihua" and p["policies"][0]["title"] == "绥化市医疗保险管理办法"
    assert served.get("/healthz").json() == {"status": "ok", "database": "sqlite", "policies": 1}
    doc = served.get("/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/v1/presettle", "/v1/settle", "/v1/reverse", "/v1/explain", "/v1/check", "/v1/settlements",
                                 "/v1/nhsa/presettle", "/v1/nhsa/settle", "/v1/nhsa/reverse", "/v1/nhsa/explain",
                                 "/v1/policies", "/healthz", "/metrics", "/openapi.json"}
    settle = doc["paths"]["/v1/settle"]["post"]
    schema = settle["requestBody"]["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False and schema["properties"]["claims"]["maxItems"] == 50
    assert {"200", "201", "409", "413", "422"} <= set(settle["responses"])


def test_metrics_count_requests_claims_and_errors(served):
    served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    served.post("/v1/settle", json={"claim": outpatient("c1", "300.00")})
    served.post("/v1/settle", json={"claim": outpatient("c1", "999.00")})
    text = served.get("/metrics").text
    assert 'med_claims_total{outcome="recorded",policy="suihua"} 1.0' in text
    assert 'med_claims_total{outcome="replayed",policy="suihua"} 1.0' in text
    assert 'med_errors_total{code="conflict"} 1.0' in text
    assert 'med_http_requests_total{endpoint="/v1/settle",method="POST",status="409"} 1.0' in text
    assert 'med_http_request_duration_seconds_count{endpoint="/v1/settle"} 3.0' in text


# ---- bad input: a 4xx with the contract's error object, never a 500 -----------------------

def _refused(r, status: int, code: str, field=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"id", "error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code and body["error"]["field"] == field
    return body["error"]["message"]


def test_oversized_body(served):
    claim = outpatient("c1", "1.00")
    claim["items"] = [{"class": "A", "amount": "1.00"}] * 3000
    _refused(served.post("/v1/settle", json={"claim": claim}), 413, "too-large")
    # A body without Content-Length is counted as it arrives.
    chunks = (b'{"claim": {"id": "' + b"x" * 5000 + b'"}}' for _ in range(12))
    _refused(served.post("/v1/settle", content=chunks), 413, "too-large")


def test_malformed_json(served):
    msg = _refused(served.post("/v1/settle", content=b'{"claim": {"id": "c1",}}'), 400, "bad-json")
    assert "line 1, column 23" in msg
    _refused(served.post("/v1/settle", content=b"\xff\xfe"), 400, "bad-json")
    _refused(served.post("/v1/settle", content=b"[" * 5000), 400, "bad-json")
    _refused(served.post("/v1/settle", content=b'{"claim": ' + b"9" * 5000 + b"}"), 400, "bad-json")
    _refused(served.post("/v1/settle", content=b"[1, 2]"), 422, "bad-request")


def test_a_client_that_goes_away_mid_body_is_no_server_error(tmp_path, caplog):
    # uvicorn cuts off a client that sends more than its Content-Length, and the request reads
    # the connection's end (Starlette's ClientDisconnect): it was logged as ERROR "unexpected
    # error" with a traceback and answered 500. Driven here through ASGI, as uvicorn drives it.
    import asyncio
    import logging

    app = create_app(Config(policies=(str(SUIHUA),), db=str(tmp_path / "m.db"), reload_interval=0))
    body = json.dumps({"claim": outpatient("c1", "1.00")}).encode()
    arriving = iter([{"type": "http.request", "body": body[:10], "more_body": True}, {"type": "http.disconnect"}])
    sent = []

    async def receive():
        return next(arriving)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/settle", "raw_path": b"/v1/settle", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080)}
    with caplog.at_level(logging.INFO, logger="medpolicy.serve"):
        asyncio.run(app(scope, receive, send))
    assert (sent[0]["status"], json.loads(sent[1]["body"])) == (400, {"id": None, "error": {
        "code": "bad-request", "message": "the client went away before its request was read", "field": None}})
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records if r.name == "medpolicy.serve"] == \
        [("INFO", "the client went away before its request to POST /v1/settle was read", None)]
    assert rows(tmp_path / "m.db") == []


def test_unknown_and_missing_fields(served):
    msg = _refused(served.post("/v1/settle", json={"claim": outpatient("c1", "1.00"), "tracee": False}),
                   422, "unknown-field", "tracee")
    assert "did you mean 'trace'" in msg
    _refused(served.post("/v1/reverse", json={"id": "c1", "person": "p"}), 422, "unknown-field", "person")
    _refused(served.post("/v1/reverse", json={}), 422, "missing-field", "id")
    _refused(served.post("/v1/settle", json={}), 422, "bad-request", "claim")
    _refused(served.post("/v1/settle", json={"claim": {**outpatient("c1", "1.00"), "date": "2026-02-30"}}),
             422, "bad-date", "date")
    _refused(served.post("/v1/settle", json={"claim": {**outpatient("c1", "1.00"), "person": 7}}),
             422, "bad-value", "person")
    assert _refused(served.post("/v1/settle", json={"claim": outpatient("c1", "1.00"), "trace": "yes"}),
                    422, "bad-request", "trace") == "trace: must be true or false, not a string"
    # (in JSON's words: it was "claim: None is not of type 'object'")
    assert _refused(served.post("/v1/settle", json={"claim": None}), 422, "bad-request", "claim") == \
        "claim: must be an object, not null"
    _refused(served.post("/v1/settle", json={"claim": outpatient("c1", "1.00"), "policy": "paris"}),
             404, "unknown-policy", "policy")
    _refused(served.get("/v1/settle"), 405, "method-not-allowed")
    assert rows(served.db) == []


def test_batch_size_limit(served):
    claims = [outpatient(f"c{i}", "1.00") for i in range(51)]
    _refused(served.post("/v1/settle", json={"claims": claims}), 413, "batch-too-large", "claims")


def test_a_batch_too_large_is_refused_before_its_claims_are_checked(tmp_path):
    # 100,000 zeros (300 KB, under --max-body): the schema once checked each claim first, an
    # error each, and took 1.8 s to say batch-too-large.
    import time

    app = create_app(Config(policies=(str(SUIHUA),), db=str(tmp_path / "m.db"), reload_interval=0))
    with TestClient(app) as client:
        started = time.perf_counter()
        r = client.post("/v1/settle", content=json.dumps({"claims": [0] * 100_000}).encode(),
                        headers={"content-type": "application/json"})
        took = time.perf_counter() - started
    assert (r.status_code, r.json()) == (413, {"id": None, "error": {
        "code": "batch-too-large", "message": "a batch holds at most 1000 claims", "field": "claims"}})
    assert took < 0.5


def test_time_limit(tmp_path):
    app = create_app(Config(policies=(str(SUIHUA),), db=str(tmp_path / "m.db"), reload_interval=0, timeout=0.001))
    with TestClient(app) as client:
        claims = [outpatient(f"c{i}", "1.00", person=f"p{i}") for i in range(300)]
        msg = _refused(client.post("/v1/presettle", json={"claims": claims}), 503, "timeout")
        assert "send the same claim again" in msg


def test_a_missing_parameter(tmp_path):
    app = create_app(Config(policies=(str(SHAOXING),), db=str(tmp_path / "m.db"), reload_interval=0,
                            params={"b_prepay": "10%"}))
    with TestClient(app) as client:
        assert client.get("/v1/policies").json()["policies"][0]["missing_parameters"][0] == "aid_rate_cat2"
        claim = {**outpatient("c1", "100.00"), "person": "p"}
        msg = _refused(client.post("/v1/settle", json={"claim": claim}), 422, "missing-parameter", "params.aid_rate_cat2")
        assert "--param aid_rate_cat2=VALUE" in msg
        _refused(client.post("/v1/settle", json={"claim": claim, "params": {"aid_rate_cat2": "lots"}}),
                 422, "missing-parameter", "params.aid_cap_cat2")
        params = {"aid_rate_cat2": "85%", "aid_cap_cat2": "100000", "aid_rate_cat3": "75%", "aid_cap_cat3": "100000",
                  "aid_rate_cat4": "70%", "aid_cap_cat4": "x"}
        _refused(client.post("/v1/settle", json={"claim": claim, "params": params}), 422, "bad-parameter", "params")
        params["aid_cap_cat4"] = "100000"
        assert client.post("/v1/settle", json={"claim": claim, "params": params}).status_code == 201


# ---- policies in service -------------------------------------------------------------------

def test_a_broken_edit_keeps_the_last_good_policy_and_a_good_one_is_taken(served):
    old = served.get("/v1/policies").json()["policies"][0]["version"]
    text = served.policy.read_text()
    served.policy.write_text(text.replace("deductible 500 yearly", "deductible 500 yeerly"))
    served.service.registry.poll()
    info = served.get("/v1/policies").json()["policies"][0]
    assert info["version"] == old
    assert info["problem"][0]["line"] == 65 and "yeerly" in info["problem"][0]["message"]
    assert served.post("/v1/settle", json={"claim": outpatient("c1", "1000.00")}).json()["paid"]["basic"] == "350.00"
    served.policy.write_text(text.replace("deductible 500 yearly", "deductible 400 yearly"))
    served.service.registry.poll()
    info = served.get("/v1/policies").json()["policies"][0]
    assert info["problem"] is None and info["version"] != old
    # The member's year is rebuilt under the new version: c1 met the whole 400.
    r = served.post("/v1/settle", json={"claim": outpatient("c2", "1000.00")}).json()
    assert r["deductible"] == "0.00" and r["paid"]["basic"] == "700.00"
    assert [row[3] for row in rows(served.db)] == [old, info["version"]]


# ---- the command -------------------------------------------------------------------------------

def _med_serve(*args, cwd=ROOT):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "medpolicy.cli", "serve", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_med_serve_refuses_to_start_on_a_broken_policy_or_database(tmp_path):
    bad = tmp_path / "bad.med"
    bad.write_text('policy "x"\nuse standard\nscheme employee\n  inpatient\n    levl3 rate 90%\n', encoding="utf-8")
    r = _med_serve(str(bad), "--db", str(tmp_path / "m.db"))
    assert r.returncode == 1 and f"{bad}:5:5: error: unknown name `levl3`" in r.stderr
    r = _med_serve(str(SUIHUA), "--db", "mysql://x")
    assert r.returncode == 1 and "unknown database URL 'mysql://x'" in r.stderr
    r = _med_serve(str(SUIHUA), "--db", str(tmp_path / "no" / "m.db"))
    assert r.returncode == 1 and "no folder" in r.stderr
    r = _med_serve(str(SUIHUA), "--param", "avg_wage")
    assert r.returncode == 2 and "--param takes NAME=VALUE" in r.stderr
    r = _med_serve(str(SHAOXING), "--param", "b_prepay=120%", "--db", str(tmp_path / "m.db"))
    assert r.returncode == 1 and "b_prepay is a rate or share" in r.stderr


@pytest.mark.parametrize("option, refusal", [
    # uvicorn listened on another port than the banner said (99999) or exited 3 (-1, the host);
    # a limit under 1 refused every request (413, 503).
    (["--port", "99999"], "--port must be 1-65535, not 99999"),
    (["--port", "-1"], "--port must be 1-65535, not -1"),
    (["--max-body", "-1"], "--max-body must be 1 or more, not -1"),
    (["--max-batch", "0"], "--max-batch must be 1 or more, not 0"),
    (["--timeout", "0"], "--timeout must be a number of seconds above 0, not 0"),
    (["--timeout", "-5"], "--timeout must be a number of seconds above 0, not -5"),
    (["--timeout", "nan"], "--timeout must be a number of seconds above 0, not nan"),
    (["--max-in-flight", "0"], "--max-in-flight must be 1 or more, not 0"),
    (["--workers", "0"], "--workers must be 1 or more, not 0"),
    (["--workers", "-3"], "--workers must be 1 or more, not -3"),
    (["--reload-interval", "-1"], "--reload-interval must be 0 (never) or a number of seconds above it, not -1"),
    (["--host", "999.1.1.1"], "--host must be an address of this machine or a name for one, not 999.1.1.1 "
                              "(Name or service not known)"),
])
def test_med_serve_refuses_an_option_out_of_its_range_before_it_starts(tmp_path, capsys, monkeypatch, option, refusal):
    import uvicorn

    from medpolicy.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("the server was started"))
    assert main(["serve", str(SUIHUA), "--db", str(tmp_path / "m.db"), *option]) == 2
    assert capsys.readouterr() == ("", f"med: {refusal}\n")
    assert not (tmp_path / "m.db").exists()  # refused before the database is opened


def _policy_when(client, ready, limit: float = 10) -> dict:
    """/v1/policies' first policy once `ready` says so (the server looks every 0.05 s)."""
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        p = client.get("/v1/policies").json()["policies"][0]
        if ready(p):
            return p
        time.sleep(0.05)
    raise AssertionError(f"not seen within {limit} s: {p}")


def test_the_server_watches_its_policy_files(tmp_path):
    policy = tmp_path / "suihua.med"
    shutil.copy(SUIHUA, policy)
    app = create_app(Config(policies=(str(policy),), db=str(tmp_path / "m.db"), reload_interval=0.05))
    with TestClient(app) as client:
        old = client.get("/v1/policies").json()["policies"][0]["version"]
        policy.write_text(SUIHUA.read_text().replace("deductible 500 yearly", "deductible 500 yeerly"))
        broken = _policy_when(client, lambda p: p["problem"])
        assert broken["version"] == old and broken["problem"][0]["line"] == 65
        assert 'med_policy_reloads_total{outcome="failed",policy="suihua"} 1.0' in client.get("/metrics").text
        policy.write_text(SUIHUA.read_text().replace("deductible 500 yearly", "deductible 300 yearly"))
        fixed = _policy_when(client, lambda p: p["problem"] is None)
        assert fixed["version"] != old
        r = client.post("/v1/presettle", json={"claim": outpatient("c1", "1000.00")}).json()
        assert r["deductible"] == "300.00"


def test_the_recorded_settlements_page_by_page_give_a_batch_run(served):
    claims = [json.loads(line) for line in (ROOT / "examples" / "suihua-claims.jsonl").read_text().splitlines()]
    served.post("/v1/settle", json={"claims": claims, "trace": False})
    served.post("/v1/reverse", json={"id": claims[3]["id"]})
    listed, after = [], None
    while True:
        page = served.get("/v1/settlements", params={"limit": "7", **({"after": str(after)} if after else {})}).json()
        listed += page["settlements"]
        after = page["next"]
        if after is None:
            break
    assert [s["id"] for s in listed] == [c["id"] for c in claims]
    assert [s["id"] for s in listed if s["reversed"]] == [claims[3]["id"]]
    kept = [s for s in listed if not s["reversed"]]
    # What `med run` of the recorded claims gives: the store's results, but for the claims of
    # the reversed claim's person that came after it (not settled again).
    batch = [r.to_json() for r in medpolicy.load(SUIHUA).settle_all([s["claim"] for s in kept])]
    person = claims[3]["person"]
    assert [r for r, s in zip(batch, kept) if s["person"] != person] == \
        [s["result"] for s in kept if s["person"] != person]
    one = served.get("/v1/settlements", params={"person": person}).json()["settlements"]
    assert {s["person"] for s in one} == {person} and one[0]["policy_version"] == listed[0]["policy_version"]
    _refused(served.get("/v1/settlements", params={"persn": "x"}), 422, "unknown-field", "persn")
    _refused(served.get("/v1/settlements", params={"after": "-1"}), 422, "bad-request", "after")
    doc = served.get("/openapi.json").json()
    assert [p["name"] for p in doc["paths"]["/v1/settlements"]["get"]["parameters"]] == ["policy", "person", "after", "limit"]


def test_one_members_claims_sent_at_once_are_settled_one_after_another(served):
    from concurrent.futures import ThreadPoolExecutor

    claims = [outpatient(f"c{i}", f"{100 + 37 * i}.00", person=f"p{i % 2}") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: served.post("/v1/settle", json={"claim": c}), claims))
    assert {a.status_code for a in answers} == {201}
    listed = served.get("/v1/settlements", params={"limit": "100"}).json()["settlements"]
    policy = medpolicy.load(SUIHUA)
    for person in ("p0", "p1"):
        mine = [s for s in listed if s["person"] == person]
        run = policy.run()  # each result is the run of the claims recorded before it
        assert [run.settle(s["claim"]).to_json() for s in mine] == [s["result"] for s in mine]
        # The yearly deductible of 500 was charged once in all, and the fund paid its yearly cap
        # of 2000 exactly (the claims' 70% comes to far more).
        assert sum(Decimal(s["result"]["deductible"]) for s in mine) == 500
        assert sum(Decimal(s["result"]["paid"]["basic"]) for s in mine) == 2000


def test_beyond_the_requests_in_flight_a_busy_refusal(tmp_path):
    app = create_app(Config(policies=(str(SUIHUA),), db=str(tmp_path / "m.db"), reload_interval=0, max_in_flight=0))
    with TestClient(app) as client:
        r = client.post("/v1/settle", json={"claim": outpatient("c1", "1.00")})
        _refused(r, 503, "busy")
        assert r.headers["retry-after"] == "1"
    assert rows(tmp_path / "m.db") == []

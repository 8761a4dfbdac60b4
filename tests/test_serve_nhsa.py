"""`med serve` in the national platform's shape (/v1/nhsa/...): the worked examples of
examples/nhsa/ answered exactly as `med run --from nhsa --to nhsa` writes them, a member's
year carried between platform requests, retries, cancels, explain and refusals."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from medpolicy.serve.app import Config, create_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "nhsa"
# examples/nhsa/run.sh's parameters
# The service asks for every declared parameter at start-up: bed_markup (Ziyang 第十二条（二）) too,
# though none of these requests reaches a specialist ward's bed.
PARAMS = {"ziyang": {"avg_wage": "60000", "bed_markup": "1.2"},
          "shaoxing": {"b_prepay": "10%", "aid_rate_cat2": "85%", "aid_cap_cat2": "100000", "aid_rate_cat3": "75%",
                       "aid_cap_cat3": "100000", "aid_rate_cat4": "70%", "aid_cap_cat4": "100000"}}


def serve(tmp_path, city: str) -> TestClient:
    return TestClient(create_app(Config(policies=(str(ROOT / "policies" / f"{city}.med"),), db=str(tmp_path / "m.db"),
                                        params=PARAMS.get(city, {}), reload_interval=0)))


@pytest.mark.parametrize("city", ["suihua", "suizhou", "shaoxing", "binzhou", "ziyang"])
def test_the_worked_examples_are_answered_as_med_run_writes_them(tmp_path, city):
    requests = (EXAMPLES / f"{city}.jsonl").read_text(encoding="utf-8").splitlines()
    answers = (EXAMPLES / f"{city}.out.jsonl").read_text(encoding="utf-8").splitlines()
    with serve(tmp_path, city) as client:
        for request, expected in zip(requests, answers):
            message = {"infno": "2207", "msgid": "H0000000000120260101000000001", "input": json.loads(request)}
            first = client.post("/v1/nhsa/presettle", json=message)
            settled = client.post("/v1/nhsa/settle", json=message)
            again = client.post("/v1/nhsa/settle", json=message)
            ok = json.loads(expected)["infcode"] == 0
            assert (first.status_code, settled.status_code, again.status_code) == \
                ((200, 201, 200) if ok else (422, 422, 422)), settled.text
            # Byte for byte what `med run --from nhsa --to nhsa` wrote (money as numbers, two decimals).
            assert first.text == settled.text == again.text == expected
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("SELECT count(*) FROM settlements").fetchone()[0] == \
            sum(json.loads(a)["infcode"] == 0 for a in answers)


def _outpatient(mdtrt_id: str, amount: str, sn: str = "1") -> dict:
    """Suihua, SH-P02 (psn_type 1201, a retired employee) at hosp_lv 05 (level 2): outpatient
    deductible 500 a year, then 60% + 5 points for retirees (第二十一条（二）)."""
    return {"mdtrt_id": mdtrt_id, "psn_no": "SH-P02", "insutype": "310", "psn_type": "1201", "med_type": "11",
            "hosp_lv": "05", "insuplc_admdvs": "231202", "setl_time": "2026-04-10 09:00:00",
            "feedetail": [{"feedetl_sn": sn, "chrgitm_lv": "01", "det_item_fee_sumamt": amount}]}


def _info(r) -> dict:
    return json.loads(r.text, parse_float=Decimal)["output"]["setlinfo"]


def test_the_year_carries_between_platform_requests_and_a_cancel_gives_it_back(tmp_path):
    with serve(tmp_path, "suihua") as client:
        # (700 − 500) × 65% = 130; the nested form of the platform (input.data, input.feedetail).
        first = _outpatient("OP-1", "700.00")
        nested = {"data": {k: v for k, v in first.items() if k != "feedetail"}, "feedetail": first["feedetail"]}
        r = client.post("/v1/nhsa/settle", json={"infno": "2207", "input": nested})
        assert r.status_code == 201
        assert (_info(r)["act_pay_dedc"], _info(r)["hifp_pay"], _info(r)["psn_cash_pay"]) == \
            (Decimal("500.00"), Decimal("130.00"), Decimal("570.00"))
        # The deductible is met: 1000 × 65% = 650.
        second = client.post("/v1/nhsa/settle", json={"input": _outpatient("OP-2", "1000.00")})
        assert (_info(second)["act_pay_dedc"], _info(second)["hifp_pay"]) == (Decimal("0.00"), Decimal("650.00"))
        # The same mdtrt_id with another request (a line renumbered) is a conflict, in the platform's shape.
        clash = client.post("/v1/nhsa/settle", json={"input": _outpatient("OP-2", "1000.00", sn="9")})
        assert clash.status_code == 409
        assert clash.json()["infcode"] == -1 and clash.json()["error"]["code"] == "conflict" and clash.json()["id"] == "OP-2"
        # 撤销 OP-1: its figures negated, psn_part_amt null (as the platform's 2208 returns them) ...
        cancel = client.post("/v1/nhsa/reverse", json={"infno": "2208", "input": {"data": {"mdtrt_id": "OP-1",
                                                                                          "psn_no": "SH-P02"}}})
        assert cancel.status_code == 200 and cancel.json()["infcode"] == 0
        info = _info(cancel)
        assert (info["medfee_sumamt"], info["hifp_pay"], info["act_pay_dedc"], info["psn_part_amt"]) == \
            (Decimal("-700.00"), Decimal("-130.00"), Decimal("-500.00"), None)
        assert json.loads(cancel.text, parse_float=Decimal)["output"]["setldetail"][0]["fund_payamt"] == Decimal("-130.00")
        # ... and the year without it: OP-2's 1000 met the deductible, so a third pays 65% in full.
        probe = client.post("/v1/nhsa/presettle", json={"input": _outpatient("OP-3", "200.00")})
        assert (_info(probe)["act_pay_dedc"], _info(probe)["hifp_pay"]) == (Decimal("0.00"), Decimal("130.00"))
        # The contract's view of the same store.
        listed = client.get("/v1/settlements").json()["settlements"]
        assert [(s["id"], s["reversed"], s["result"]["paid"]["basic"]) for s in listed] == \
            [("OP-1", True, "130.00"), ("OP-2", False, "650.00")]


def test_explain_and_refusals_in_the_platform_shape(tmp_path):
    with serve(tmp_path, "suihua") as client:
        r = client.post("/v1/nhsa/explain", json={"input": _outpatient("OP-1", "700.00")})
        assert r.status_code == 200
        assert r.json()["answer"]["output"]["setlinfo"]["hifp_pay"] == 130 and "第二十一条（二）" in r.json()["sheet"]
        unknown = client.post("/v1/nhsa/settle", json={"input": {**_outpatient("OP-1", "700.00"), "hosp_lv": "99"}})
        assert unknown.status_code == 422
        body = unknown.json()
        assert (body["infcode"], body["output"], body["id"], body["error"]["code"], body["error"]["field"]) == \
            (-1, None, "OP-1", "unknown-code", "hosp_lv")
        assert body["err_msg"].startswith("hosp_lv '99' is not a code of the 绥化 mapping")
        typo = client.post("/v1/nhsa/settle", json={"inf_tme": "x", "input": _outpatient("OP-1", "700.00")})
        assert typo.status_code == 422 and typo.json()["infcode"] == -1
        assert typo.json()["error"] == {"code": "unknown-field", "field": "inf_tme",
                                        "message": "unknown field 'inf_tme' (did you mean 'inf_time'?)"}
        bad = client.post("/v1/nhsa/settle", content=b'{"input": ')
        assert bad.status_code == 400 and bad.json()["infcode"] == -1 and bad.json()["error"]["code"] == "bad-json"
        assert client.post("/v1/nhsa/reverse", json={"input": {"mdtrt_id": "nope"}}).json()["error"]["code"] == "not-found"
        assert client.get("/v1/policies").json()["policies"][0]["nhsa"] == \
            {"mapping": str(ROOT / "policies" / "suihua.nhsa.toml"), "problem": None}
        doc = client.get("/openapi.json").json()["paths"]["/v1/nhsa/settle"]["post"]
        request = doc["requestBody"]["content"]["application/json"]["schema"]
        assert request["required"] == ["input"] and "infno" in request["properties"]
        assert "feedetail" in request["properties"]["input"]["oneOf"][0]["properties"]
        answer = doc["responses"]["201"]["content"]["application/json"]["schema"]
        assert {"medfee_sumamt", "hifp_pay", "psn_cash_pay"} <= \
            set(answer["properties"]["output"]["properties"]["setlinfo"]["properties"])


def test_the_account_in_the_service_and_its_cancel(tmp_path):
    # examples/nhsa/ziyang.jsonl ZY-OP-ACC-1 (tests/test_nhsa.py): psn_part_amt 620.00 all from the
    # account, balc 800.00 -> 180.00, a 310200 line. The cancel negates acct_pay and its line; the
    # balance after a cancel is the member's next settlement's to say: balc null.
    request = json.loads((EXAMPLES / "ziyang.jsonl").read_text(encoding="utf-8").splitlines()[-2])
    with serve(tmp_path, "ziyang") as client:
        r = client.post("/v1/nhsa/settle", json={"infno": "2207", "input": request})
        assert r.status_code == 201
        assert (_info(r)["acct_pay"], _info(r)["balc"], _info(r)["acct_mulaid_pay"]) == \
            (Decimal("620.00"), Decimal("180.00"), Decimal("0.00"))
        cancel = client.post("/v1/nhsa/reverse", json={"infno": "2208", "input": {"data": {"mdtrt_id": "ZY-OP-ACC-1"}}})
        info = _info(cancel)
        assert (info["acct_pay"], info["psn_cash_pay"], info["balc"]) == (Decimal("-620.00"), Decimal("0.00"), None)
        detail = json.loads(cancel.text, parse_float=Decimal)["output"]["setldetail"]
        assert [(d["fund_pay_type"], d["fund_payamt"]) for d in detail] == \
            [("310100", Decimal("-480.00")), ("310200", Decimal("-620.00"))]

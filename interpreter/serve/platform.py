"""The national platform's shape in the service: `/v1/nhsa/...` (docs/serve.md, docs/nhsa.md).

A request is the platform's message: its envelope (`infno`, `msgid`, …, all accepted and
not read) with `input` holding the settlement request of `med run --from nhsa` — flattened,
or as the platform nests it (`input.data` and `input.feedetail`). The answer is the
platform's: `{"infcode", "err_msg", "warn_msg", "output": {setlinfo, setldetail, feedetail}}`.
Every mapping step is `medpolicy.nhsa`'s (the city's code mapping, `to_claim`, `response`,
`dumps`); this module only carries requests in and answers out.

Why its own paths and not content negotiation or `?shape=`: the platform's request is a
different document, not another encoding of the contract's claim, so each path has one
request schema and one answer schema in the OpenAPI document (a query parameter cannot
select a body schema there, and vendor media types in Content-Type/Accept are what hospital
middleware and proxies most often drop). The metrics count the two shapes apart, too.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Optional

from .. import nhsa
from ..errors import ClaimError
from .ledger import Shape, canonical
from .problems import ApiError

NAME = "nhsa"  # the shape's name where answers are kept

# The platform's message envelope (fields.md §1): accepted, not read.
ENVELOPE = ("infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "recer_sys_code", "dev_no", "dev_safe_info",
            "cainfo", "signtype", "infver", "opter_type", "opter", "opter_name", "inf_time", "fixmedins_code",
            "fixmedins_name", "sign_no")
MONEY = {"type": ["number", "string"], "description": "decimal(16,2) yuan"}
LINE = {
    "type": "object", "required": ["chrgitm_lv", "det_item_fee_sumamt"],
    "description": "A fee line as 2204/2301 return it (docs/nhsa.md); other fields are accepted and not read.",
    "properties": {"feedetl_sn": {"type": "string"}, "chrgitm_lv": {"type": "string", "description": "收费项目等级"},
                   "det_item_fee_sumamt": MONEY, "pric": {"type": ["number", "string"]},
                   "cnt": {"type": ["number", "string"]}, "pric_uplmt_amt": {"type": ["number", "string"]},
                   "selfpay_prop": {"type": ["number", "string"]}, "hosp_appr_flag": {"type": "string"},
                   "fee_ocur_time": {"type": "string"}},
}
REQUEST = {
    "type": "object", "required": ["psn_no", *nhsa.REQUIRED_CODES],
    "description": "A settlement request (2206/2207, 2303/2304 input.data with its feedetail), as `med run "
                   "--from nhsa` reads it (docs/nhsa.md); codes are read through the city's mapping. "
                   "mdtrt_id (or medins_setl_id) is the claim's id.",
    "properties": {
        "mdtrt_id": {"type": "string"}, "medins_setl_id": {"type": "string"}, "psn_no": {"type": "string"},
        **{f: {"type": ["string", "integer"], "description": "a code of the city's mapping"} for f in nhsa.CODE_FIELDS},
        "insuplc_admdvs": {"type": "string"}, "mdtrtarea_admvs": {"type": "string"},
        "setl_time": {"type": "string"}, "endtime": {"type": "string"}, "brdy": {"type": "string"},
        "age": {"type": ["integer", "string"]}, "fetus_cnt": {"type": ["integer", "string"]},
        "fetts": {"type": ["integer", "string"]}, "geso_val": {"type": ["integer", "string"]},
        "feedetail": {"type": "array", "items": LINE, "minItems": 1},
        "acct_used_flag": {"type": ["string", "integer"], "description": "个人账户使用标志: 1 the account may pay"},
        "balc": {**MONEY, "description": "the account's balance before this settlement (1101 insuinfo.balc)"},
        "acct_mulaid_psn_no": {"type": "string", "description": "medpolicy's extension, 家庭共济: the psn_no of "
                                                                "the relative whose account pays"},
        "acct_mulaid_rltn": {"type": "string", "description": "medpolicy's extension: the patient's relation "
                                                              "to that relative (spouse, 配偶, child, …)"},
    },
}
INPUT = {"description": "The request flattened, or as the platform nests it: {data, feedetail}.",
         "oneOf": [REQUEST, {"type": "object", "required": ["data", "feedetail"],
                             "properties": {"data": {"type": "object"}, "feedetail": REQUEST["properties"]["feedetail"]}}]}
CANCEL = {"type": "object", "description": "2208/2305's input.data: the settlement to cancel, named by "
                                           "medins_setl_id or mdtrt_id (the id it was settled under).",
          "properties": {"mdtrt_id": {"type": "string"}, "medins_setl_id": {"type": "string"},
                         "setl_id": {"type": "string"}, "psn_no": {"type": "string"}}}
ANSWER = {
    "type": "object", "required": ["infcode", "err_msg", "warn_msg", "output"],
    "description": "The platform's answer; money as JSON numbers with two decimals. A failure has infcode -1, "
                   "output null, and the contract's id and error object.",
    "properties": {
        "infcode": {"enum": [0, -1]}, "err_msg": {"type": "string"}, "warn_msg": {"type": "string"},
        "output": {"type": ["object", "null"], "properties": {
            "setlinfo": {"type": "object", "properties": {
                **{f: {"type": "string"} for f in nhsa.ECHOED},
                **{f: {"type": ["number", "null"]} for f in (*nhsa.SETLINFO_MONEY, *nhsa.ACCOUNT_MONEY)}}},
            "setldetail": {"type": "array", "items": {"type": "object", "properties": {
                "fund_pay_type": {"type": "string"}, "fund_pay_type_name": {"type": "string"},
                "inscp_scp_amt": {"type": "number"}, "crt_payb_lmt_amt": {"type": ["number", "null"]},
                "fund_payamt": {"type": "number"}, "setl_proc_info": {"type": "string"}}}},
            "feedetail": {"type": "array", "items": {"type": "object"}}}},
        "id": {"type": ["string", "null"]}, "error": {"type": "object"},
    },
}


def envelope(what: dict, extra: Optional[dict] = None) -> dict:
    """A request body: medpolicy's own fields, the platform's envelope, and `input`."""
    return {"type": "object", "additionalProperties": False, "required": ["input"],
            "properties": {**(extra or {}), **{f: {"type": ["string", "integer"]} for f in ENVELOPE}, "input": what}}


def request_of(body: Any) -> Any:
    """The request inside a message: `input`, un-nesting `input.data` (None if there is none)."""
    given = body.get("input") if isinstance(body, dict) else None
    if isinstance(given, dict) and isinstance(given.get("data"), dict):
        return {**given["data"], "feedetail": given.get("feedetail")}
    return given


def claim_of(entry, request: Any) -> tuple[dict, Shape]:
    """The request as a contract claim, and the shape that turns its settlement into the
    platform's answer (`nhsa.to_claim`, `nhsa.response`: the city's mapping)."""
    cm = mapping(entry)
    try:
        claim, lines = nhsa.to_claim(request, cm)
    except ClaimError as e:
        raise ApiError(422, e.code, e.message, e.field, nhsa.request_id(request)) from None

    def answer(result) -> str:
        try:
            return nhsa.dumps(nhsa.response(request, claim, lines, result, cm))
        except ClaimError as e:
            raise ApiError(422, e.code, e.message, e.field, claim["id"]) from None

    return claim, Shape(NAME, answer, canonical(request))


def mapping(entry) -> nhsa.CodeMap:
    if entry.codes is None:
        raise ApiError(503, "no-mapping", f"policy {entry.name} has no usable platform mapping: {entry.codes_problem}")
    return entry.codes


def failure(request: Any, e: ApiError) -> str:
    """A refusal as the platform says it (infcode -1), the contract's error object inside."""
    body = nhsa.error_response(request, e.body()["error"])
    if body["id"] is None:
        body["id"] = e.claim_id
    return nhsa.dumps(body)


def cancelled(answer: Optional[str]) -> str:
    """2208/2305's answer: the recorded settlement's figures negated, psn_part_amt null (as
    the platform's cancels return them, mapping.md §3); output null when the claim was
    recorded through the contract's path (no platform answer kept)."""
    if answer is None:
        return nhsa.dumps({"infcode": 0, "err_msg": "", "warn_msg": "", "output": None})
    data = json.loads(answer, parse_float=Decimal)
    info = data["output"]["setlinfo"]
    for field in nhsa.SETLINFO_MONEY:
        if isinstance(info.get(field), Decimal):
            info[field] = 0 - info[field]
    info["psn_part_amt"] = None
    if isinstance(info.get("acct_mulaid_pay"), Decimal):
        info["acct_mulaid_pay"] = 0 - info["acct_mulaid_pay"]
    info["balc"] = None  # the balance after a cancel depends on the member's later settlements
    for line in data["output"]["setldetail"]:
        for field in ("inscp_scp_amt", "fund_payamt"):
            line[field] = 0 - line[field]
    return nhsa.dumps({"infcode": 0, "err_msg": "", "warn_msg": "",
                       "output": {"setlinfo": info, "setldetail": data["output"]["setldetail"]}})

"""The API as data: every endpoint with its request and response JSON Schemas.

The same table builds the routes, checks request bodies (jsonschema) and generates
`/openapi.json`, so the document cannot drift from what the server does. A claim inside a
request is checked by the policy's claim reader, not here, so that one bad claim in a batch
gets its own error row and the rest still settle; the OpenAPI document describes its fields.
"""

from __future__ import annotations

import difflib
from typing import Any, Optional

import attrs

from .. import __version__
from ..schema import embedded
from . import platform
from .problems import ApiError


# The claim and the result as the claim reader's and the result builder's tables say
# (medpolicy.schema: generated once, shipped in the package, the same for every document).
CLAIM = embedded("claim")
ERROR = {
    "type": "object", "required": ["id", "error"], "description": "The contract's error object.",
    "properties": {"id": {"type": ["string", "null"]}, "error": {
        "type": "object", "required": ["code", "message", "field"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": ["string", "null"]}}}},
}
RESULT = embedded("result")["oneOf"][0]  # a settlement; ROW adds the error row
ROW = {"oneOf": [RESULT, ERROR], "description": "A result, or an error object for a claim that could not be settled."}
PARAMS = {"type": "object", "additionalProperties": {"type": ["string", "number"]},
          "description": "Run parameters over the server's --param values, e.g. {\"avg_wage\": \"60000\"}."}
POLICY_FIELD = {"type": "string", "description": "Which loaded policy (the file's name without .med); "
                                                 "may be left out when the server loads one policy."}
SETTLEMENT = {"type": "object", "description": "One recorded settlement.", "properties": {
    "seq": {"type": "integer", "description": "recording order"}, "id": {"type": "string"},
    "person": {"type": "string"}, "policy_version": {"type": "string"}, "reversed": {"type": "boolean"},
    "claim": CLAIM, "result": RESULT}}
DIAGNOSTIC = {"type": "object", "properties": {
    "file": {"type": "string"}, "line": {"type": "integer"}, "column": {"type": "integer"},
    "end_line": {"type": "integer"}, "end_column": {"type": "integer"},
    "severity": {"type": "string", "enum": ["error", "warning"]}, "message": {"type": "string"},
    "hint": {"type": ["string", "null"]}}}


def _claims_request(claim: dict, max_batch: int, what: str) -> dict:
    return {
        "type": "object", "additionalProperties": False, "description": what,
        "properties": {
            "policy": POLICY_FIELD, "params": PARAMS,
            "claim": claim, "claims": {"type": "array", "items": claim, "minItems": 1, "maxItems": max_batch},
            "trace": {"type": "boolean", "default": True, "description": "include each result's trace"},
        },
        "oneOf": [{"required": ["claim"]}, {"required": ["claims"]}],
    }


def _batch(row: dict) -> dict:
    return {"type": "object", "required": ["results"], "properties": {"results": {"type": "array", "items": row}}}


@attrs.frozen
class Endpoint:
    """One route: its method, path, handler name, request schema and responses."""

    method: str
    path: str
    handler: str
    summary: str
    request: Optional[dict] = None  # the JSON body's schema (POST)
    responses: dict = attrs.Factory(dict)  # status -> (description, schema or None)
    query: Optional[dict] = None  # the query parameters' schema (GET): an object of strings
    shape: str = "contract"  # "nhsa": the national platform's request and answer (platform.py)


def endpoints(max_batch: int, claim: dict = CLAIM, request: dict = platform.INPUT) -> list[Endpoint]:
    """The API. `claim` and `request` are the schemas a claim and a platform request are
    given: the documented ones for OpenAPI, a bare object for checking requests (the claim
    reader and `nhsa.to_claim` check those, naming the field)."""
    refused = {400: ("malformed JSON", ERROR), 413: ("body too large", ERROR), 404: ("no such policy", ERROR),
               422: ("a field is wrong or missing (unknown fields included), or the claim cannot be settled", ERROR),
               503: ("took longer than the server's time limit", ERROR)}
    return [
        Endpoint("POST", "/v1/presettle", "presettle", "Settle against the member's recorded year, recording nothing (预结算)",
                 _claims_request(claim, max_batch, "One claim, or a batch (a member's claims in a batch accumulate)."),
                 {200: ("the result, or {results} for a batch", {"oneOf": [RESULT, _batch(ROW)]}), **refused}),
        Endpoint("POST", "/v1/settle", "settle", "Settle and record (结算); idempotent by claim id",
                 _claims_request(claim, max_batch, "One claim, or a batch settled in the order given."),
                 {201: ("recorded now", RESULT), 200: ("recorded before with the same content: the recorded "
                                                      "result; or {results} for a batch", {"oneOf": [RESULT, _batch(ROW)]}),
                  409: ("the id was recorded with different content, or reversed", ERROR), **refused}),
        Endpoint("POST", "/v1/reverse", "reverse", "Cancel a recorded settlement (冲正): the member's year as if "
                 "it had never been settled; later claims keep their recorded results",
                 {"type": "object", "additionalProperties": False, "required": ["id"],
                  "properties": {"policy": POLICY_FIELD, "id": {"type": "string", "maxLength": 200}}},
                 {200: ("reversed (now or before)", {"type": "object", "properties": {
                     "id": {"type": "string"}, "person": {"type": "string"}, "reversed": {"const": True},
                     "result": RESULT}}), **refused}),
        Endpoint("POST", "/v1/explain", "explain", "The calculation sheet of one claim against the member's recorded year",
                 {"type": "object", "additionalProperties": False, "required": ["claim"],
                  "properties": {"policy": POLICY_FIELD, "params": PARAMS, "claim": claim}},
                 {200: ("the result with its trace, and the sheet as text", {"type": "object", "properties": {
                     "result": RESULT, "sheet": {"type": "string"}}}), **refused}),
        Endpoint("POST", "/v1/check", "check", "Check a policy text: its diagnostics",
                 {"type": "object", "additionalProperties": False, "required": ["text"],
                  "properties": {"text": {"type": "string"}, "name": {"type": "string", "maxLength": 200}}},
                 {200: ("the diagnostics (ok when none is an error)", {"type": "object", "properties": {
                     "ok": {"type": "boolean"}, "version": {"type": ["string", "null"]},
                     "parameters": {"type": "array", "items": {"type": "string"}},
                     "diagnostics": {"type": "array", "items": DIAGNOSTIC}}}), **refused}),
        Endpoint("GET", "/v1/settlements", "settlements", "Recorded settlements in recording order, "
                 "a page at a time: what a batch run of the store reads",
                 responses={200: ("a page of settlements; `next` is the `after` of the next page, null at the end",
                                  {"type": "object", "properties": {"settlements": {"type": "array", "items": SETTLEMENT},
                                                                    "next": {"type": ["integer", "null"]}}}),
                            422: refused[422], 404: refused[404]},
                 query={"type": "object", "additionalProperties": False, "properties": {
                     "policy": POLICY_FIELD, "person": {"type": "string", "description": "only this member's"},
                     "after": {"type": "string", "pattern": "^[0-9]{1,18}$", "description": "a `seq`: settlements after it"},
                     "limit": {"type": "string", "pattern": "^[0-9]{1,4}$", "description": "at most this many (≤ 1000, default 100)"}}}),
        *_platform(request, refused),
        Endpoint("GET", "/v1/policies", "policies", "The loaded policies: versions, parameters, reload problems",
                 responses={200: ("the policies", {"type": "object"})}),
        Endpoint("GET", "/healthz", "healthz", "Alive, and the database answers",
                 responses={200: ("healthy", {"type": "object"}), 503: ("the database does not answer", ERROR)}),
        Endpoint("GET", "/metrics", "metrics", "Prometheus metrics (text format)",
                 responses={200: ("Prometheus text exposition format", None)}),
        Endpoint("GET", "/openapi.json", "openapi", "This document", responses={200: ("OpenAPI 3.1", {"type": "object"})}),
    ]


def _platform(request: dict, refused: dict) -> list[Endpoint]:
    """The same operations in the national platform's shape: the platform's message in
    (`input`: the settlement request), its answer out, refusals as its failure (infcode -1)."""
    answer = platform.ANSWER
    failed = {status: (what, answer) for status, (what, _) in refused.items()}
    ours = {"policy": POLICY_FIELD, "params": PARAMS}
    return [
        Endpoint("POST", "/v1/nhsa/presettle", "nhsa_presettle", "预结算 (2206/2303) in the platform's shape: "
                 "settle against the member's recorded year, recording nothing",
                 platform.envelope(request, ours), {200: ("the platform's answer", answer), **failed}, shape="nhsa"),
        Endpoint("POST", "/v1/nhsa/settle", "nhsa_settle", "结算 (2207/2304) in the platform's shape; "
                 "idempotent by mdtrt_id (or medins_setl_id)",
                 platform.envelope(request, ours),
                 {201: ("recorded now", answer), 200: ("recorded before with the same request: the same answer", answer),
                  409: ("the id was recorded with a different request, or reversed", answer), **failed}, shape="nhsa"),
        Endpoint("POST", "/v1/nhsa/reverse", "nhsa_reverse", "撤销 (2208/2305) in the platform's shape: the "
                 "recorded settlement's figures negated",
                 platform.envelope({**platform.CANCEL, "properties": {**platform.CANCEL["properties"],
                                                                      "data": platform.CANCEL}},
                                   {"policy": POLICY_FIELD}),
                 {200: ("reversed (now or before)", answer), **failed}, shape="nhsa"),
        Endpoint("POST", "/v1/nhsa/explain", "nhsa_explain", "The platform's answer with the calculation sheet",
                 platform.envelope(request, ours),
                 {200: ("the answer and the sheet", {"type": "object", "properties": {
                     "answer": answer, "sheet": {"type": "string"}}}), **failed}, shape="nhsa"),
    ]


def openapi(table: list[Endpoint]) -> dict:
    """The OpenAPI 3.1 document of `table`."""
    paths: dict = {}
    for e in table:
        op: dict = {"summary": e.summary, "operationId": e.handler, "responses": {}}
        if e.request is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": e.request}}}
        if e.query is not None:
            op["parameters"] = [{"name": name, "in": "query", "required": False, "schema": schema}
                                for name, schema in e.query["properties"].items()]
        for status, (description, schema) in sorted(e.responses.items()):
            content = "text/plain" if e.handler == "metrics" else "application/json"
            op["responses"][str(status)] = {"description": description,
                                            **({"content": {content: {"schema": schema}}} if schema else
                                               {"content": {content: {}}} if content == "text/plain" else {})}
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {"openapi": "3.1.0",
            "info": {"title": "medpolicy settlement service", "version": __version__,
                     "description": "Presettle, settle (idempotent by claim id) and reverse claims against "
                                    "members' recorded years; check and explain. See docs/serve.md."},
            "paths": paths}


class RequestChecker:
    """Checks request bodies against the table's schemas; a refusal names the field."""

    def __init__(self, table: list[Endpoint]):
        from jsonschema import Draft202012Validator

        self._validators = {e.handler: Draft202012Validator(e.request or e.query) for e in table
                            if e.request or e.query}
        self._batch_limits = {e.handler: e.request["properties"]["claims"]["maxItems"] for e in table
                              if e.request and "claims" in e.request.get("properties", {})}

    def check(self, handler: str, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError(422, "bad-request", "the body must be a JSON object")
        if handler in ("presettle", "settle") and ("claim" in body) == ("claims" in body):
            raise ApiError(422, "bad-request", "give either \"claim\" (one) or \"claims\" (a batch)", "claim")
        # Counted before each claim is checked: the schema's errors, one a claim, took seconds for 100,000.
        limit, claims = self._batch_limits.get(handler), body.get("claims")
        if limit is not None and isinstance(claims, list) and len(claims) > limit:
            raise ApiError(413, "batch-too-large", f"a batch holds at most {limit} claims", "claims")
        validator = self._validators[handler]
        error = next(iter(sorted(validator.iter_errors(body), key=lambda e: len(e.path))), None)
        if error is not None:
            raise _refusal(error)


def _refusal(error) -> ApiError:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))[0]
        near = difflib.get_close_matches(extra, known, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
        return ApiError(422, "unknown-field", f"unknown field {extra!r}{hint}", ".".join(path + [extra]))
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in error.instance][0]
        return ApiError(422, "missing-field", f"missing field {missing!r}", ".".join(path + [missing]))
    if error.validator == "type":  # (jsonschema words it in Python's: "None is not of type 'object'")
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        message = f"must be {' or '.join(_JSON_WORDS[w] for w in wanted)}, not {_json_word(error.instance)}"
        return ApiError(422, "bad-request", f"{'.'.join(path) or 'the body'}: {message}", ".".join(path) or None)
    return ApiError(422, "bad-request", f"{'.'.join(path) or 'the body'}: {error.message}", ".".join(path) or None)


_JSON_WORDS = {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
               "integer": "a whole number", "boolean": "true or false", "null": "null"}


def _json_word(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    for kind, word in ((type(None), "null"), (bool, "true or false"), (str, "a string"), (list, "an array"),
                       (dict, "an object"), ((int, float), "a number")):
        if isinstance(value, kind):
            return word
    return "a value"

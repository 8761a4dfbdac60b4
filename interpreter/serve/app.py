"""The HTTP application (Starlette): each endpoint of `api.py` bound to the ledger and the
policies, with limits on body size, batch size and time, and the contract's error object
for every refusal (never a traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from decimal import Decimal
from typing import Any, Optional

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..cli import explain_sheet
from ..errors import MedError
from ..policy import compile as compile_policy
from .. import nhsa
from . import api, platform
from .ledger import Ledger
from .metrics import Metrics
from .policies import Registry, diagnostics_json, version_of
from .problems import ApiError
from .store import Store, open_store

log = logging.getLogger("medpolicy.serve")

CONFIG_ENV = "MEDPOLICY_SERVE_CONFIG"  # how `med serve --workers N` hands its settings to each worker


@attrs.frozen
class Config:
    """What `med serve` was asked to do."""

    policies: tuple
    db: str = "medpolicy.db"
    params: dict = attrs.Factory(dict)
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body: int = 1_000_000     # bytes in a request body
    max_batch: int = 1_000        # claims in a batch
    timeout: float = 10.0         # seconds to answer a request
    reload_interval: float = 1.0  # seconds between looks at the policy files (0: never)
    max_in_flight: int = 256      # requests answered at once; more get 503 at once

    def to_env(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def from_env(cls) -> "Config":
        data = json.loads(os.environ[CONFIG_ENV])
        return cls(**{**data, "policies": tuple(data["policies"])})


class _Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, default=str).encode("utf-8")


class Service:
    """One server process: its policies, store, ledger and metrics."""

    def __init__(self, config: Config, registry: Registry, store: Store):
        self.config = config
        self.registry = registry
        self.store = store
        self.ledger = Ledger(store)
        self.metrics = Metrics()
        self.table = api.endpoints(config.max_batch)
        self.checker = api.RequestChecker(api.endpoints(config.max_batch, claim={"type": "object"},
                                                        request={"type": "object"}))
        self.document = api.openapi(self.table)
        self.in_flight = 0  # requests being answered (changed only on the event loop)
        self.worker = str(os.getpid())

    # ---- the frame every endpoint runs in -----------------------------------------------
    def route(self, endpoint: api.Endpoint) -> Route:
        work = getattr(self, "do_" + endpoint.handler)

        async def handle(request: Request) -> Response:
            started = time.perf_counter()
            if self.in_flight >= self.config.max_in_flight:  # shed load rather than queue without end
                response = self._refuse(ApiError(503, "busy", f"more than {self.config.max_in_flight} requests "
                                                 "at once; send it again shortly"), endpoint)
                self.metrics.requests.labels(endpoint.path, request.method, "503").inc()
                return response
            self.in_flight += 1  # one event loop: no lock needed
            try:
                response = await asyncio.wait_for(self._answer(request, endpoint, work), self.config.timeout)
            except asyncio.TimeoutError:
                response = self._refuse(ApiError(503, "timeout", f"no answer within {self.config.timeout:g} s; "
                                                 "a settlement may still be recorded: send the same claim again "
                                                 "to learn its outcome"), endpoint)
            finally:
                self.in_flight -= 1
            self.metrics.latency.labels(endpoint.path).observe(time.perf_counter() - started)
            self.metrics.requests.labels(endpoint.path, request.method, str(response.status_code)).inc()
            response.headers["X-Med-Worker"] = self.worker  # which worker answered (several share a port)
            return response

        return Route(endpoint.path, handle, methods=[endpoint.method], name=endpoint.handler)

    async def _answer(self, request: Request, endpoint: api.Endpoint, work) -> Response:
        body = None
        try:
            if endpoint.request is not None:
                body = _parse(await _read_body(request, self.config.max_body))
                self.checker.check(endpoint.handler, body)
            elif endpoint.query is not None:
                body = dict(request.query_params)
                self.checker.check(endpoint.handler, body)
            result = await run_in_threadpool(work, body)
            if isinstance(result, Response):
                return result
            status, content = result
            return _Json(content, status_code=status)
        except ApiError as e:
            return self._refuse(e, endpoint, body)
        except ClientDisconnect:  # the client went away mid-body (or sent more than its Content-Length)
            log.info("the client went away before its request to %s %s was read", request.method, request.url.path)
            return self._refuse(ApiError(400, "bad-request", "the client went away before its request was read"),
                                endpoint, body)
        except self.store.unavailable_errors as e:
            log.error("database unavailable answering %s %s: %s", request.method, request.url.path, e)
            return self._refuse(ApiError(503, "database-unavailable", "the database does not answer now; "
                                         "send the same request again"), endpoint, body)
        except Exception:  # a bug: logged with its traceback here, never sent to the client
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return self._refuse(ApiError(500, "internal", "internal error; the server's log has the details"),
                                endpoint, body)

    def _refuse(self, e: ApiError, endpoint: Optional[api.Endpoint] = None, body: Any = None) -> Response:
        """The contract's error object; in the platform's shape, its failure (infcode -1) around it."""
        self.metrics.errors.labels(e.code).inc()
        headers = {"Retry-After": "1"} if e.status == 503 else None
        if endpoint is not None and endpoint.shape == "nhsa":
            return _raw(e.status, platform.failure(platform.request_of(body), e), headers)
        return _Json(e.body(), status_code=e.status, headers=headers)

    def _policy(self, body: dict):
        try:
            return self.registry.get(body.get("policy"))
        except LookupError as e:
            raise ApiError(404, "unknown-policy", str(e), "policy") from None

    # ---- endpoints ----------------------------------------------------------------------
    def do_presettle(self, body: dict) -> tuple[int, Any]:
        entry = self._policy(body)
        params, trace = body.get("params", {}), body.get("trace", True)
        count = self.metrics.claims
        if "claim" in body:
            try:
                data = self.ledger.presettle(entry, body["claim"], params)
            except ApiError:
                count.labels(entry.name, "refused").inc()
                raise
            count.labels(entry.name, "presettled").inc()
            return 200, _traced(data, trace)
        states: dict = {}
        rows = []
        for claim in body["claims"]:
            try:
                rows.append(_traced(self.ledger.presettle(entry, claim, params, states), trace))
                count.labels(entry.name, "presettled").inc()
            except ApiError as e:
                rows.append(self._row_error(entry, e, claim))
        return 200, {"results": rows}

    def do_settle(self, body: dict) -> tuple[int, Any]:
        entry = self._policy(body)
        params, trace = body.get("params", {}), body.get("trace", True)
        if "claim" in body:
            data, recorded = self._settle_one(entry, body["claim"], params)
            return (201 if recorded else 200), _traced(data, trace)
        rows = []
        for claim in body["claims"]:
            try:
                rows.append(_traced(self._settle_one(entry, claim, params)[0], trace))
            except ApiError as e:
                self.metrics.errors.labels(e.code).inc()
                rows.append(_row(e, claim))
        return 200, {"results": rows}

    def _settle_one(self, entry, claim, params, shape=None) -> tuple[Any, bool]:
        try:
            data, recorded = self.ledger.settle(entry, claim, params, shape)
        except ApiError:
            self.metrics.claims.labels(entry.name, "refused").inc()
            raise
        self.metrics.claims.labels(entry.name, "recorded" if recorded else "replayed").inc()
        return data, recorded

    def _row_error(self, entry, e: ApiError, claim) -> dict:
        self.metrics.claims.labels(entry.name, "refused").inc()
        self.metrics.errors.labels(e.code).inc()
        return _row(e, claim)

    def do_reverse(self, body: dict) -> tuple[int, Any]:
        entry = self._policy(body)
        answer, now = self.ledger.reverse(entry, body["id"])
        if now:
            self.metrics.claims.labels(entry.name, "reversed").inc()
        return 200, answer

    def do_explain(self, body: dict) -> tuple[int, Any]:
        entry = self._policy(body)
        data = self.ledger.presettle(entry, body["claim"], body.get("params", {}))
        sheet = explain_sheet(_AsResult(data), entry.policy)
        return 200, {"result": data, "sheet": sheet}

    # ---- the same in the national platform's shape (platform.py) ---------------------------
    def do_nhsa_presettle(self, body: dict) -> Response:
        entry = self._policy(body)
        result, shape = self._platform_presettle(entry, body)
        return _raw(200, shape.answer(result))

    def do_nhsa_settle(self, body: dict) -> Response:
        entry = self._policy(body)
        claim, shape = platform.claim_of(entry, platform.request_of(body))
        text, recorded = self._settle_one(entry, claim, body.get("params", {}), shape)
        return _raw(201 if recorded else 200, text)

    def do_nhsa_reverse(self, body: dict) -> Response:
        entry = self._policy(body)
        cid = nhsa.request_id(platform.request_of(body))
        if cid is None:
            raise ApiError(422, "missing-field", "the cancel names no mdtrt_id (or medins_setl_id)", "input.mdtrt_id")
        _, now = self.ledger.reverse(entry, cid)
        if now:
            self.metrics.claims.labels(entry.name, "reversed").inc()
        return _raw(200, platform.cancelled(self.ledger.answer(entry, cid, platform.NAME)))

    def do_nhsa_explain(self, body: dict) -> Response:
        entry = self._policy(body)
        result, shape = self._platform_presettle(entry, body)
        sheet = json.dumps(explain_sheet(result, entry.policy), ensure_ascii=False)
        return _raw(200, f'{{"answer": {shape.answer(result)}, "sheet": {sheet}}}')

    def _platform_presettle(self, entry, body: dict):
        claim, shape = platform.claim_of(entry, platform.request_of(body))
        try:
            result = self.ledger.presettle_result(entry, claim, body.get("params", {}))
        except ApiError:
            self.metrics.claims.labels(entry.name, "refused").inc()
            raise
        self.metrics.claims.labels(entry.name, "presettled").inc()
        return result, shape

    def do_check(self, body: dict) -> tuple[int, Any]:
        name = body.get("name") or "<request>.med"
        try:
            policy = compile_policy(body["text"], name)
        except MedError as e:
            return 200, {"ok": False, "version": None, "parameters": [], "diagnostics": list(diagnostics_json(e))}
        warnings = list(diagnostics_json(MedError(list(policy.warnings)))) if policy.warnings else []
        return 200, {"ok": True, "version": version_of(policy), "parameters": list(policy.parameters),
                     "diagnostics": warnings}

    def do_settlements(self, query: dict) -> tuple[int, Any]:
        entry = self._policy(query)
        limit = min(int(query.get("limit", 100)), 1000)
        rows = self.store.settlements(entry.name, query.get("person"), int(query.get("after", 0)), limit)
        page = [{"seq": r.seq, "id": r.claim_id, "person": r.person, "policy_version": r.policy_version,
                 "reversed": r.reversed, "claim": json.loads(r.claim), "result": json.loads(r.result)} for r in rows]
        return 200, {"settlements": page, "next": rows[-1].seq if len(rows) == limit else None}

    def do_policies(self, body) -> tuple[int, Any]:
        return 200, self.registry.describe()

    def do_healthz(self, body) -> tuple[int, Any]:
        try:
            self.store.ping()
        except Exception as e:  # any driver error means the same: not healthy
            log.error("health check: the database does not answer: %s", e)
            raise ApiError(503, "database", "the database does not answer") from None
        return 200, {"status": "ok", "database": self.store.kind, "policies": len(self.registry.table.loaded)}

    def do_metrics(self, body) -> Response:
        text, content_type = self.metrics.text()
        return Response(text, media_type=content_type)

    def do_openapi(self, body) -> tuple[int, Any]:
        return 200, self.document

    # ---- reloading ----------------------------------------------------------------------
    async def watch(self) -> None:
        """Look at the policy files every `reload_interval` seconds."""
        while True:
            await asyncio.sleep(self.config.reload_interval)
            before = self.registry.table
            try:
                changed = await run_in_threadpool(self.registry.poll)
            except Exception:  # keep watching: the last good policies keep serving
                log.exception("policy reload failed")
                continue
            for name in changed:
                self.metrics.reloads.labels(name, "loaded").inc()
            for name in set(self.registry.table.problems) - set(before.problems):
                self.metrics.reloads.labels(name, "failed").inc()


class _AsResult:
    """The little of `Result` that `explain_sheet` reads, over a result's JSON."""

    def __init__(self, data: dict):
        self._data = data
        self.ok = "error" not in data

    def to_json(self) -> dict:
        return self._data


def _raw(status: int, text: str, headers: Optional[dict] = None) -> Response:
    """JSON text made elsewhere (the platform's answers: money as numbers with two decimals)."""
    return Response(text, status_code=status, headers=headers, media_type="application/json")


def _traced(data: dict, trace: bool) -> dict:
    return data if trace else {k: v for k, v in data.items() if k != "trace"}


def _row(e: ApiError, claim: Any) -> dict:
    """A batch's error row: the contract's error object for that claim."""
    body = e.body()
    if body["id"] is None and isinstance(claim, dict) and isinstance(claim.get("id"), str):
        body["id"] = claim["id"]
    return body


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad-request", "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, "too-large", f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too-large", f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal)
    except UnicodeDecodeError as e:
        raise ApiError(400, "bad-json", f"the body is not UTF-8 ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ApiError(400, "bad-json", f"bad JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
        what = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
        raise ApiError(400, "bad-json", f"bad JSON: {what}") from None


def create_app(config: Config, registry: Optional[Registry] = None, store: Optional[Store] = None) -> Starlette:
    """The ASGI application. Loads the policies and opens the database unless given them;
    raises MedError or StoreError when either cannot be."""
    registry = registry or Registry(list(config.policies), config.params)
    store = store or open_store(config.db)
    service = Service(config, registry, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(service.watch()) if config.reload_interval > 0 else None
        try:
            yield
        finally:
            if task:
                task.cancel()
            store.close()

    async def not_found(request: Request, exc: HTTPException) -> Response:
        code = "not-found" if exc.status_code == 404 else "method-not-allowed" if exc.status_code == 405 else "bad-request"
        service.metrics.requests.labels("unmatched", request.method, str(exc.status_code)).inc()
        return service._refuse(ApiError(exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}"))

    app = Starlette(routes=[service.route(e) for e in service.table], lifespan=lifespan,
                    exception_handlers={HTTPException: not_found})
    app.state.service = service
    return app


def app_from_env() -> Starlette:
    """The application of one worker of `med serve --workers N` (uvicorn's factory)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return create_app(Config.from_env())

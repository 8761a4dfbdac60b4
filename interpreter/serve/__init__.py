"""`med serve`: a settlement service over HTTP (docs/serve.md).

    policies ──> policies.Registry (reloads on change) ─┐
    HTTP ──> app.Service (limits, errors, metrics) ──> ledger.Ledger ──> store.Store (SQLite | PostgreSQL)

Starlette + uvicorn: an ASGI framework small enough to read, on a server that runs several
worker processes; the settling itself is synchronous and runs in worker threads.
Installed by the `serve` extra: `pip install 'medpolicy[serve]'`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import socket
import sys
import tempfile
from typing import Optional


def serve(args) -> int:
    """Run the server as `med serve` was asked; returns the exit code."""
    try:
        import uvicorn

        from .app import CONFIG_ENV, Config, create_app
        from .policies import Registry
        from .store import StoreError, open_store
    except ImportError as e:
        print(f"med serve needs the serve extra ({e.name} is missing): pip install 'medpolicy[serve]'", file=sys.stderr)
        return 2
    from ..cli import _params, _source
    from ..errors import MedError

    params = _params(args.param)
    if params is None:
        return 2
    problem = _option_problem(args)
    if problem:
        print(f"med: {problem}", file=sys.stderr)
        return 2
    config = Config(policies=tuple(args.policies), db=args.db, params=params, host=args.host, port=args.port,
                    workers=args.workers, max_body=args.max_body, max_batch=args.max_batch,
                    timeout=args.timeout, reload_interval=args.reload_interval, max_in_flight=args.max_in_flight)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        registry = Registry(list(config.policies), config.params)
        store = open_store(config.db)
    except MedError as e:
        for d in e.diagnostics:
            print(d.format(_source(d.span.file, d.span.file)), file=sys.stderr)
        return 1
    except (StoreError, ValueError) as e:
        print(f"med: {e}", file=sys.stderr)
        return 1
    options = dict(host=config.host, port=config.port, log_level="info", timeout_keep_alive=30,
                   timeout_graceful_shutdown=10,
                   access_log=not args.no_access_log)
    if config.workers > 1:
        store.close()  # each worker opens its own; this one only checked the database and made its tables
        os.environ[CONFIG_ENV] = config.to_env()
        with _shared_metrics():
            uvicorn.run("medpolicy.serve.app:app_from_env", factory=True, workers=config.workers, **options)
    else:
        uvicorn.run(create_app(config, registry, store), **options)
    return 0


# The whole-number options and the least each takes: uvicorn took any port (and listened on
# another), and a limit under 1 refused every request (413, 503).
_AT_LEAST_ONE = ("workers", "max_body", "max_batch", "max_in_flight")


def _option_problem(args) -> Optional[str]:
    """What is wrong with an option of `med serve`, said with the values it takes; None if nothing.
    Said before anything binds or opens, as a usage error (exit 2)."""
    if not 1 <= args.port <= 65535:
        return f"--port must be 1-65535, not {args.port}"
    for name in _AT_LEAST_ONE:
        if getattr(args, name) < 1:
            return f"--{name.replace('_', '-')} must be 1 or more, not {getattr(args, name)}"
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        return f"--timeout must be a number of seconds above 0, not {args.timeout:g}"
    if not (math.isfinite(args.reload_interval) and args.reload_interval >= 0):
        return f"--reload-interval must be 0 (never) or a number of seconds above it, not {args.reload_interval:g}"
    return _host_problem(args.host)


def _host_problem(host: str) -> Optional[str]:
    """Whether the server can listen on `host`: a name that resolves to an address of this
    machine. A trial socket on port 0 asks the system, leaving the port itself alone."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind) as trial:
            trial.bind(address)
    except (OSError, ValueError) as e:  # ValueError: a name IDNA cannot encode
        reason, shown = getattr(e, "strerror", None) or str(e), host or '""'
        return f"--host must be an address of this machine or a name for one, not {shown} ({reason})"
    return None


@contextlib.contextmanager
def _shared_metrics():
    """A fresh folder where the workers' metrics meet (prometheus_client's multiprocess mode),
    set in the environment the workers inherit; removed when the server stops. An operator's
    own PROMETHEUS_MULTIPROC_DIR is used instead, emptied first (stale counts would add up)."""
    from .metrics import MULTIPROCESS_ENV

    given = os.environ.get(MULTIPROCESS_ENV)
    folder = given or tempfile.mkdtemp(prefix="medpolicy-metrics-")
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.unlink(os.path.join(given, name))
    os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield folder
    finally:
        if not given:
            shutil.rmtree(folder, ignore_errors=True)

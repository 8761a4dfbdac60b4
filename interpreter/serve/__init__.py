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
import os
import shutil
import sys
import tempfile


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

"""Prometheus metrics of one server process, in a registry of its own (no global state).

With several workers (`med serve --workers N`) each worker writes its counts to files in
the folder named by PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, chosen
when prometheus_client is first imported), and `/metrics` reports the totals over all of
them, whichever worker answers it."""

from __future__ import annotations

import os
from typing import Optional

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """Requests, their latency, claims by outcome, errors by code, policy reloads."""

    def __init__(self, shared: Optional[str] = None):
        """`shared`: the multiprocess folder (default: $PROMETHEUS_MULTIPROC_DIR, if set)."""
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.shared = shared or os.environ.get(MULTIPROCESS_ENV) or None
        self.registry = CollectorRegistry()
        self.requests = Counter("med_http_requests", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("med_http_request_duration_seconds", "Time to answer a request",
                                 ["endpoint"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.claims = Counter("med_claims", "Claims by outcome: presettled, recorded, replayed "
                              "(an id recorded before), refused, reversed", ["policy", "outcome"],
                              registry=self.registry)
        self.errors = Counter("med_errors", "Refusals and failures by error code", ["code"], registry=self.registry)
        self.reloads = Counter("med_policy_reloads", "Policy reloads by outcome (loaded, failed), "
                               "counted by each worker", ["policy", "outcome"], registry=self.registry)

    def text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.shared is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        combined = CollectorRegistry()
        MultiProcessCollector(combined, path=self.shared)  # every worker's files, summed
        return generate_latest(combined), CONTENT_TYPE_LATEST

"""Prometheus metrics of one server process, in a registry of its own (no global state)."""

from __future__ import annotations


class Metrics:
    """Requests, their latency, claims by outcome, errors by code, policy reloads."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram

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
        self.reloads = Counter("med_policy_reloads", "Policy reloads by outcome (loaded, failed)",
                               ["policy", "outcome"], registry=self.registry)

    def text(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

"""`med serve --workers 2`: /metrics reports the totals of both workers, whichever answers."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from serve_load import Server, member_claims  # noqa: E402


def _count(text: str, sample: str) -> float:
    found = re.search(re.escape(sample) + r" ([0-9.e+]+)$", text, re.M)
    assert found, f"no {sample} in /metrics:\n{text[:2000]}"
    return float(found.group(1))


def test_metrics_are_the_totals_of_all_workers(tmp_path):
    claims = [c for cs in member_claims(4, 10, seed=21, prefix="w").values() for c in cs]
    with Server(str(tmp_path / "m.db"), "--workers", "2", "--no-access-log", log=tmp_path / "server.log") as server:
        workers: dict[str, int] = {}
        lock = threading.Lock()
        sent = iter(range(400))

        def client():
            # A new connection each request, so the kernel hands them to either worker.
            for n in sent:
                with lock:
                    if len(workers) == 2 and sum(workers.values()) >= 40:
                        return
                r = httpx.post(server.url + "/v1/presettle", json={"claim": claims[n % len(claims)], "trace": False})
                assert r.status_code == 200, r.text
                with lock:
                    workers[r.headers["x-med-worker"]] = workers.get(r.headers["x-med-worker"], 0) + 1

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        n = sum(workers.values())
        assert len(workers) == 2 and min(workers.values()) > 0, workers  # both answered some
        answered = set()
        for _ in range(100):  # whichever worker answers /metrics gives the same totals
            if len(answered) == 2:
                break
            r = httpx.get(server.url + "/metrics")
            answered.add(r.headers["x-med-worker"])
            text = r.text
            assert _count(text, 'med_http_requests_total{endpoint="/v1/presettle",method="POST",status="200"}') == n
            assert _count(text, 'med_claims_total{outcome="presettled",policy="suihua"}') == n
            assert _count(text, 'med_http_request_duration_seconds_count{endpoint="/v1/presettle"}') == n
        assert answered == set(workers)

"""Case 7: alert storms through the Alertmanager receiver under gunicorn: one payload of 1,000
alerts (one group), then 100 payloads a second for 10 s across 20 groups. Alertmanager waits
for the answer within its notification timeout and retries what it does not get in time, so
the figures are the answer times (p99) beside the incidents opened (never more than groups)."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
import uuid

from bench.common import Figure, figure, log
from bench.server import Gunicorn, request

RECEIVER = "/api/v1/integrations/alertmanager/"
STORM_ALERTS = 1000
RATE = int(os.environ.get("BENCH_ALERT_RATE", "100"))  # payloads per second
SECONDS = int(os.environ.get("BENCH_ALERT_SECONDS", "10"))
GROUPS = 20
ALERTS_PER_PAYLOAD = 10
SENDERS = 16


def _key() -> str:
    from core.models import ApiKey
    from core.roles import Role
    from core.services import api_key_create, service_account_for_role

    ApiKey.objects.filter(name="bench-monitoring").delete()
    user = service_account_for_role(role=Role.MONITORING)
    return api_key_create(name="bench-monitoring", user=user).raw


def _payload(group: str, n: int, offset: int = 0) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": group, "severity": "warning", "instance": f"i{offset + i}"},
            "annotations": {"summary": f"{group} instance {offset + i}"},
            "startsAt": "2026-12-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": uuid.uuid5(uuid.NAMESPACE_URL, f"{group}/{offset + i}").hex[:16],
        }
        for i in range(n)
    ]
    body = {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{group}"}}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "pcp",
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group, "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    }
    return json.dumps(body).encode()


def _incidents(prefix: str) -> int:
    from incidents.models import Incident

    return Incident.objects.filter(title__startswith=prefix).count()


def _storm(port: int, headers: dict[str, str], prefix: str) -> Figure:
    group = f"{prefix}Storm"
    body = _payload(group, STORM_ALERTS)
    times = []
    for _ in range(3):  # the first opens the incident, the repeats attach
        started = time.perf_counter()
        status, answer = request(port, "POST", RECEIVER, body=body, headers=headers)
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"storm payload answered {status}: {answer[:300]!r}")
    opened = _incidents(group)
    worst = max(times)
    log(f"storm: {STORM_ALERTS} alerts, answers {[round(t * 1000) for t in times]} ms")
    return figure(
        7,
        "storm: 1,000 alerts in one payload",
        measured=f"{worst * 1000:.0f} ms worst of 3 (open, 2 repeats); incidents opened {opened}",
        ratio=None,
        target="< 2 s; 1 incident",
        met=worst < 2 and opened == 1,
        raw={"seconds": times, "incidents": opened},
    )


def _rate(port: int, headers: dict[str, str], prefix: str) -> Figure:
    groups = [f"{prefix}G{g:02d}" for g in range(GROUPS)]
    total = RATE * SECONDS
    bodies = [_payload(groups[i % GROUPS], ALERTS_PER_PAYLOAD, offset=i % 3) for i in range(total)]
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    counter = iter(range(total))

    def sender() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in counter:
            due = start + i / RATE  # paced: payload i leaves at its slot, not as fast as we can
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            try:
                status, _ = request(
                    port, "POST", RECEIVER, body=bodies[i], headers=headers, conn=conn
                )
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if status != 200:
                    errors.append(status)
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    p99 = statistics.quantiles(latencies, n=100)[98]
    opened = sum(_incidents(g) for g in groups)
    log(f"rate: {total} payloads in {elapsed:.1f} s, p99 {p99 * 1000:.0f} ms, errors {len(errors)}")
    return figure(
        7,
        f"{RATE} payloads/s for {SECONDS} s, {GROUPS} groups",
        measured=(
            f"p99 {p99 * 1000:.0f} ms, median {statistics.median(latencies) * 1000:.0f} ms, "
            f"{total / elapsed:.0f} payloads/s achieved, {len(errors)} errors; "
            f"incidents opened {opened}"
        ),
        ratio=None,
        target=f"p99 < 1 s; 0 errors; {GROUPS} incidents",
        met=p99 < 1 and not errors and opened == GROUPS,
        raw={"p99_s": p99, "errors": errors[:20], "incidents": opened, "elapsed_s": elapsed},
    )


def run() -> list[Figure]:
    headers = {"Authorization": f"Bearer {_key()}", "Content-Type": "application/json"}
    prefix = f"B{uuid.uuid4().hex[:6]}"  # this run's alerts only: earlier runs' incidents stay
    with Gunicorn() as server:
        storm = _storm(server.port, headers, prefix)
        rate = _rate(server.port, headers, prefix)
    return [storm, rate]

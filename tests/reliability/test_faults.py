"""Faults injected into real processes: Redis stopped mid-run, a worker SIGKILLed in the middle
of an export, PostgreSQL restarted under load. Private Redis / PostgreSQL instances only."""

import hashlib
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from core.roles import Role
from core.services import api_key_create
from incidents.enums import TimelineKind
from incidents.models import TimelineEntry
from ledger_audit.enums import ExportStatus
from ledger_audit.models import DetectionWork, Finding, LedgerEntry, TimelineExport
from pilot.services import pilot_seed_demo
from tests.conftest import MakeMember
from tests.incidents.factories import open_incident
from tests.procs import (
    Gunicorn,
    celery,
    database_url,
    django_eval,
    http,
    manage,
    private_postgres,
    private_redis,
    project_env,
    stop,
    wait_for,
    worker,
)
from tests.reliability.conftest import report


def _entries(prefix: str, duplicate_key: str) -> list[dict[str, Any]]:
    """Two entries with one idempotency key (a duplicate the detector must catch) + others."""
    return [
        {
            "entry_id": f"{prefix}-{i}",
            "deal_id": f"{prefix}-deal",
            "idempotency_key": duplicate_key if i < 2 else f"{prefix}-k{i}",
            "kind": "release",
            "amount": "10.00",
            "currency": "EUR",
            "created_at": "2026-01-01T00:00:00Z",
        }
        for i in range(5)
    ]


def _dup_finding(key: str) -> bool:
    return Finding.objects.filter(subject=key, cleared_at__isnull=True).exists()


class Calls:
    """``http`` that counts what it sent and what came back, for the figures line."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = http(*args, **kwargs)
        self.statuses[status] += 1
        return status, headers, body

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_mid_run(make_member: MakeMember, tmp_path: Path) -> None:
    pilot_seed_demo()
    platform = api_key_create(name="platform", user=make_member(Role.API_CLIENT)).raw
    operator = api_key_create(name="operator", user=make_member(Role.OPERATOR)).raw
    feed_auth = {"Authorization": f"Bearer {platform}"}
    op_auth = {"Authorization": f"Bearer {operator}"}
    call = Calls()
    faults = 0
    batches = 5
    processes = []
    with private_redis(tmp_path) as redis:
        env = project_env(
            database_url(),
            redis.url,
            VAR_DIR=str(tmp_path / "var"),
            LEDGER_AUDIT_SWEEP_SECONDS="2",
            SLA_SWEEP_SECONDS="3600",
        )
        (tmp_path / "var").mkdir()
        server = Gunicorn(env, tmp_path / "gunicorn.log", 2)
        try:
            processes.append(worker(env, tmp_path / "worker.log", "default", "w1", 1, "solo"))
            processes.append(celery(env, tmp_path / "beat.log", "beat", "-l", "INFO"))
            # Before: the detection task runs right after the batch.
            status, _h, _b = call(
                "POST",
                server.url("/api/v1/feed/ledger-entries/"),
                _entries("before", "dup-before"),
                feed_auth,
            )
            assert status == 200
            wait_for(lambda: _dup_finding("dup-before"), 30, "detection before the outage")
            wait_for(
                lambda: not DetectionWork.objects.filter(processed_at__isnull=True).exists(),
                30,
                "the work of the batch before the outage to be marked done",
            )

            redis.stop()  # --- fault: Redis gone -------------------------------------------
            faults += 1
            config = call("GET", server.url("/api/v1/pilot/config/"), None, op_auth)
            assert config[0] == 200
            assert json.loads(config[2])["enabled"] is True
            health = call("GET", server.url("/healthz/"))
            body = json.loads(health[2])
            assert health[0] == 200, body
            assert body["status"] == "degraded", body
            assert body["checks"]["database"] == "ok"
            assert body["checks"]["cache"] != "ok"
            disabled = call(
                "POST",
                server.url("/api/v1/pilot/disable/"),
                {"reason": "Redis down drill"},
                op_auth,
            )
            assert disabled[0] == 200, disabled
            after = call("GET", server.url("/api/v1/pilot/config/"), None, op_auth)
            assert after[0] == 200
            assert json.loads(after[2])["enabled"] is False
            for i in range(batches):
                status, _h, raw = call(
                    "POST",
                    server.url("/api/v1/feed/ledger-entries/"),
                    _entries(f"during{i}", f"dup-during-{i}"),
                    feed_auth,
                )
                assert status == 200, raw
                assert json.loads(raw) == {"stored": 5, "unchanged": 0}
            stored_during = LedgerEntry.objects.filter(entry_id__startswith="during").count()
            assert stored_during == batches * 5
            # One outbox row per stored batch, none run: the broker is gone.
            pending = DetectionWork.objects.filter(processed_at__isnull=True).count()
            assert pending == batches, pending
            assert not any(_dup_finding(f"dup-during-{i}") for i in range(batches))

            redis.start()  # --- Redis back: the outbox sweep catches up -------------------
            wait_for(
                lambda: (
                    all(_dup_finding(f"dup-during-{i}") for i in range(batches))
                    and not DetectionWork.objects.filter(processed_at__isnull=True).exists()
                ),
                45,
                "detection to catch up after Redis returned",
            )
            health = json.loads(call("GET", server.url("/healthz/"))[2])
            assert health["checks"]["cache"] == "ok", health
            # The switch thrown during the outage holds once Redis (and its old cache) is back.
            back = call("GET", server.url("/api/v1/pilot/config/"), None, op_auth)
            assert back[0] == 200
            assert json.loads(back[2])["enabled"] is False
        finally:
            for process in processes:
                stop(process)
            server.stop()
    detected = sum(_dup_finding(f"dup-during-{i}") for i in range(batches))
    report(
        "redis_outage",
        requests=call.sent,
        server_errors=call.server_errors,
        faults_injected=faults,
        stored_during_outage=stored_during,
        detected_after=f"{detected}/{batches}",
        lost=batches * 5 - LedgerEntry.objects.filter(entry_id__startswith="during").count(),
    )
    assert call.server_errors == 0, call.statuses


def _bulk_rows(deals: int, events_per_deal: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_audit_deal (deal_id, state, template_version, first_seen_at) "
            "SELECT 'X-' || g, 'FUNDED', 'v1', now() FROM generate_series(1, %s) g",
            [deals],
        )
        cursor.execute(
            "INSERT INTO ledger_audit_dealevent (deal_id, state, occurred_at, template_version, "
            "received_at) SELECT 'X-' || d, 'S' || e, timestamptz '2026-01-01' + e * interval "
            "'1 second', 'v1', now() FROM generate_series(1, %s) d, generate_series(1, %s) e",
            [deals, events_per_deal],
        )
    return deals * events_per_deal


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_export_is_redelivered_and_finishes_once(
    make_member: MakeMember, tmp_path: Path
) -> None:
    rows = _bulk_rows(400, 500)  # 200,000 rows: a few seconds of export
    operator = make_member(Role.OPERATOR)
    key = api_key_create(name="operator", user=operator).raw
    auth = {"Authorization": f"Bearer {key}"}
    incident = open_incident(actor=operator, affected_deals=[f"X-{d}" for d in range(1, 401)])
    exports = tmp_path / "exports"
    with private_redis(tmp_path) as redis:
        env = project_env(
            database_url(),
            redis.url,
            LEDGER_AUDIT_EXPORTS_DIR=str(exports),
            LEDGER_AUDIT_EXPORT_PROGRESS_EVERY="2000",
            CELERY_BROKER_VISIBILITY_TIMEOUT="4",
            CELERY_BROKER_RESTORE_INTERVAL="1",
            CELERY_BROKER_RESTORE_THROTTLE="1",
        )
        server = Gunicorn(env, tmp_path / "gunicorn.log", 2)
        downloads: Counter[int] = Counter()
        bodies: list[bytes] = []
        stop_polling = threading.Event()
        first = second = None
        faults = 0
        try:
            created = http(
                "POST", server.url("/api/v1/exports/"), {"incident": incident.number}, auth
            )
            assert created[0] == 202, created
            export_id = json.loads(created[2])["id"]

            def poll() -> None:
                while not stop_polling.is_set():
                    status, _h, body = http(
                        "GET",
                        server.url(f"/api/v1/exports/{export_id}/download/"),
                        None,
                        auth,
                        timeout=60,
                    )
                    downloads[status] += 1
                    if status == 200:
                        bodies.append(body)
                        return
                    time.sleep(0.05)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            first = worker(env, tmp_path / "worker1.log", "exports", "w1", 1)
            wait_for(
                lambda: TimelineExport.objects.filter(
                    pk=export_id, status=ExportStatus.RUNNING, rows_done__gte=10_000
                ).exists(),
                60,
                "the export to be running",
            )
            stop(first, signal.SIGKILL)  # --- fault: the worker dies mid-export -------------
            faults += 1
            killed_at = TimelineExport.objects.get(pk=export_id)
            assert killed_at.status == ExportStatus.RUNNING
            assert killed_at.rows_done < rows
            second = worker(env, tmp_path / "worker2.log", "exports", "w2", 1)
            wait_for(
                lambda: TimelineExport.objects.filter(
                    pk=export_id, status=ExportStatus.DONE
                ).exists(),
                90,
                "the redelivered export to finish",
            )
            poller.join(timeout=60)
        finally:
            stop_polling.set()
            stop(first, signal.SIGKILL)
            stop(second)
            server.stop()
    export = TimelineExport.objects.get(pk=export_id)
    data = (exports / export.file_name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == export.sha256
    assert export.manifest["rows_total"] == rows == data.count(b"\n")
    # The one 200 the poller got is the finished file; every poll before it was a 409.
    assert len(bodies) == 1
    partial = sum(hashlib.sha256(body).hexdigest() != export.sha256 for body in bodies)
    assert partial == 0
    assert set(downloads) == {409, 200}, downloads
    assert downloads[200] == 1
    finished = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineKind.EXPORT_FINISHED
    ).count()
    assert finished == 1
    assert TimelineExport.objects.filter(status=ExportStatus.DONE).count() == 1
    leftovers = len(list(exports.rglob("*.part")))
    report(
        "export_sigkill",
        rows=rows,
        faults_injected=faults,
        killed_at_rows=killed_at.rows_done,
        download_polls=sum(downloads.values()),
        answered_409=downloads[409],
        partial_downloads=partial,
        finished=finished,
        lost=rows - data.count(b"\n"),
        leftover_part_files=leftovers,
    )


def _load(
    base: str, auth: dict[str, str], stop_event: threading.Event, seen: Counter[str], bad: list[str]
) -> None:
    i = 0
    while not stop_event.is_set():
        i += 1
        for method, path, body in (
            ("GET", "/api/v1/pilot/config/", None),
            ("GET", "/api/v1/me/", None),
            (
                "POST",
                "/api/v1/feed/deals/",
                [
                    {
                        "deal_id": f"L-{threading.get_ident()}-{i}",
                        "state": "FUNDED",
                        "occurred_at": "2026-01-01T00:00:00Z",
                    }
                ],
            ),
        ):
            try:
                status, headers, raw = http(method, base + path, body, auth, timeout=20)
            except Exception as exc:  # a refused connection is not an answer
                seen[f"transport {exc.__class__.__name__}"] += 1
                continue
            seen[str(status)] += 1
            content_type = headers.get("Content-Type", "")
            if status >= 500:
                ok = (
                    status == 503
                    and content_type.startswith("application/json")
                    and json.loads(raw)["error"]["code"] == "database_unavailable"
                )
                if not ok:
                    bad.append(f"{method} {path}: {status} {content_type} {raw[:200]!r}")


@pytest.mark.slow
def test_postgresql_restarted_under_load(tmp_path: Path) -> None:
    from django.conf import settings

    with private_postgres() as pg:
        env = project_env(pg.url, settings.REDIS_URL, CACHE_KEY_PREFIX=f"pcp-rel-{pg.port}")
        manage(env, "migrate", "--noinput", "-v0", timeout=300)
        keys = django_eval(
            env,
            "from core.roles import Role\n"
            "from core.services import member_create, roles_bootstrap, api_key_create\n"
            "from pilot.services import pilot_seed_demo\n"
            "roles_bootstrap(); pilot_seed_demo()\n"
            "u = member_create(username='platform', role=Role.API_CLIENT, password=None)\n"
            "o = member_create(username='op', role=Role.OPERATOR, password=None)\n"
            "result = [api_key_create(name='p', user=u).raw, api_key_create(name='o', user=o).raw]",
        )
        server = Gunicorn(env, tmp_path / "gunicorn.log", 2)
        seen: Counter[str] = Counter()
        bad: list[str] = []
        stop_event = threading.Event()
        clients = [
            threading.Thread(
                target=_load,
                args=(
                    server.url(""),
                    {"Authorization": f"Bearer {keys[n % 2]}"},
                    stop_event,
                    seen,
                    bad,
                ),
                daemon=True,
            )
            for n in range(4)
        ]
        faults = 0
        try:
            for client in clients:
                client.start()
            time.sleep(2)
            before = seen["200"]
            pg.restart()  # --- fault: a restart ---------------------------------------------
            restarted = time.monotonic()
            faults += 1
            pg.stop()  # --- fault: down for 2 s; requests meanwhile get a 503 JSON ---------
            faults += 1
            time.sleep(2)
            pg.start()
            baseline = seen["200"]
            wait_for(lambda: seen["200"] > baseline + 50, 30, "the service to recover")
            recovered_in = time.monotonic() - restarted
        finally:
            stop_event.set()
            for client in clients:
                client.join(timeout=30)
            # The same gunicorn answered throughout: it was never restarted nor died.
            exited_early = server.process.poll()
            server.stop()
    transport = {k: v for k, v in seen.items() if k.startswith("transport")}
    report(
        "postgres_restart",
        requests=sum(seen.values()),
        faults_injected=faults,
        answered_200_before=before,
        answered_503=seen["503"],
        other_server_errors=len(bad),  # any 5xx but a 503 JSON database_unavailable
        transport_errors=sum(transport.values()),
        recovered_in_s=round(recovered_in, 1),
    )
    assert exited_early is None, exited_early
    assert not bad, bad[:10]
    assert seen["503"] > 0, seen  # the outage was seen, and answered cleanly
    assert not transport, transport
    assert before > 0

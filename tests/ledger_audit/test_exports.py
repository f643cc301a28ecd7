import hashlib
import json

import pytest

from incidents.enums import BoundAction, Category, Severity, Source, TimelineKind
from incidents.models import ChecklistStep, TimelineEntry
from incidents.services import incident_open
from ledger_audit.enums import ExportStatus
from ledger_audit.models import ExportDownload, TimelineExport
from ledger_audit.services import export_run
from tests.ledger_audit.factories import ago, dispute, entry, event, timer
from tests.ledger_audit.helpers import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    ingest(
        "deals",
        [
            event("D2", "FUNDED", ago(hours=3)),
            event("D1", "INSPECTION", ago(hours=1)),
            event("D1", "FUNDED", ago(hours=2)),
            event("D3", "FUNDED", ago(hours=2)),
        ],
    )
    ingest(
        "ledger-entries",
        [entry("D1", "hold", "10", key="K"), entry("D2", "hold", "10", key="K"), entry("D3")],
    )
    ingest("timers", [timer("D1", ago(hours=-1))])
    ingest("disputes", [dispute("D2", ago(minutes=5))])
    return incident_open(
        title="Duplicate ledger entries",
        severity=Severity.SEV0,
        category=Category.DUPLICATE_LEDGER,
        actor=None,
        source=Source.DETECTOR,
        affected_deals=["D1", "D2"],
    )


def run_latest():
    export = TimelineExport.objects.latest("id")
    export_run(export_id=export.pk)
    export.refresh_from_db()
    return export


def test_export_sha256_verifies_and_rows_are_ordered_per_deal(
    incident, operator, auditor, client_for, exports_dir
):
    client = client_for(operator)
    created = client.post("/api/v1/exports/", {"incident": incident.number}, format="json")
    assert created.status_code == 202, created.json()
    export_id = created.json()["id"]
    queued = client.get(f"/api/v1/exports/{export_id}/").json()
    assert (queued["status"], queued["download_url"]) == ("queued", None)
    assert client.get(f"/api/v1/exports/{export_id}/download/").status_code == 409

    export = run_latest()
    status = client.get(f"/api/v1/exports/{export_id}/").json()
    assert status["status"] == "done"
    assert status["rows_done"] == status["rows_total"] == 7  # D1: 2 events, entry, timer; D2: 3
    assert status["download_url"].endswith(f"/api/v1/exports/{export_id}/download/")

    for user in (operator, auditor):
        response = client_for(user).get(status["download_url"])
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == status["sha256"] == export.sha256
        assert response["X-Content-SHA256"] == status["sha256"]
    assert ExportDownload.objects.filter(export=export).count() == 2

    rows = [json.loads(line) for line in body.decode().splitlines()]
    deals = [r["deal_id"] for r in rows]
    assert set(deals) == {"D1", "D2"}  # D3 is not affected
    # Every deal's rows are contiguous, and within a deal events come first in time order.
    assert deals == sorted(deals, key=lambda d: deals.index(d))
    d1 = [r for r in rows if r["deal_id"] == "D1"]
    assert [r["type"] for r in d1] == ["deal_event", "deal_event", "ledger_entry", "timer"]
    assert [r["state"] for r in d1[:2]] == ["FUNDED", "INSPECTION"]
    assert {r["type"] for r in rows if r["deal_id"] == "D2"} == {
        "deal_event",
        "ledger_entry",
        "dispute",
    }

    manifest = json.loads((exports_dir / f"{export.file_name}.manifest.json").read_text())
    assert manifest["sha256"] == export.sha256
    assert manifest["incident"] == incident.number
    assert manifest["rows"] == {"deal_event": 3, "ledger_entry": 2, "timer": 1, "dispute": 1}
    assert manifest["requested_by"] == operator.username
    assert not list(exports_dir.rglob("*.part"))

    step = ChecklistStep.objects.filter(
        incident=incident, bound_action=BoundAction.EXPORT_TIMELINES
    ).first()
    assert step is not None  # the SEV0 runbook checklist binds this step
    assert step.done
    assert export.sha256 in step.note
    assert TimelineEntry.objects.filter(
        incident=incident, kind=TimelineKind.EXPORT_FINISHED
    ).exists()


def test_a_done_export_is_never_redone(incident, operator, client_for, exports_dir):
    client_for(operator).post("/api/v1/exports/", {"incident": incident.number}, format="json")
    export = run_latest()
    path = exports_dir / export.file_name
    before = path.read_bytes()
    ingest("ledger-entries", [entry("D1", "release", "10")])
    assert export_run(export_id=export.pk) is None  # redelivered task: nothing happens
    assert path.read_bytes() == before
    assert hashlib.sha256(before).hexdigest() == export.sha256


def test_a_crashed_run_restarts_from_scratch(incident, operator, client_for, exports_dir):
    client_for(operator).post("/api/v1/exports/", {"incident": incident.number}, format="json")
    export = TimelineExport.objects.latest("id")
    TimelineExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, rows_done=3)
    (exports_dir / "incident-001").mkdir(parents=True, exist_ok=True)
    export = run_latest()
    assert export.status == ExportStatus.DONE
    assert (
        hashlib.sha256((exports_dir / export.file_name).read_bytes()).hexdigest() == export.sha256
    )


def test_deal_ids_can_be_named(incident, operator, client_for):
    response = client_for(operator).post(
        "/api/v1/exports/", {"incident": incident.number, "deal_ids": ["D3"]}, format="json"
    )
    assert response.status_code == 202
    export = run_latest()
    assert export.manifest["rows"]["ledger_entry"] == 1
    assert export.deal_ids == ["D3"]


def test_progress_is_updated_while_running(incident, operator, client_for, settings):
    settings.LEDGER_AUDIT_EXPORT_PROGRESS_EVERY = 2
    client_for(operator).post("/api/v1/exports/", {"incident": incident.number}, format="json")
    export = run_latest()
    assert export.rows_done == export.rows_total == 7


def test_api_client_may_not_download_or_request(incident, operator, api_user, client_for):
    client_for(operator).post("/api/v1/exports/", {"incident": incident.number}, format="json")
    export = run_latest()
    machine = client_for(api_user)
    assert machine.get(f"/api/v1/exports/{export.pk}/download/").status_code == 403
    assert (
        machine.post("/api/v1/exports/", {"incident": incident.number}, format="json").status_code
        == 403
    )
    assert not ExportDownload.objects.exists()


def test_auditor_may_download_but_not_request(incident, auditor, client_for):
    response = client_for(auditor).post(
        "/api/v1/exports/", {"incident": incident.number}, format="json"
    )
    assert response.status_code == 403


def test_unknown_incident_and_no_deals(operator, client_for):
    client = client_for(operator)
    assert client.post("/api/v1/exports/", {"incident": 999}, format="json").status_code == 404
    empty = incident_open(
        title="x",
        severity=Severity.SEV2,
        category=Category.OTHER,
        actor=None,
        source=Source.DETECTOR,
    )
    response = client.post("/api/v1/exports/", {"incident": empty.number}, format="json")
    assert response.status_code == 400
    assert "deal_ids" in response.json()["error"]["fields"]


def test_postgresql_lines_match_the_python_lines_byte_for_byte():
    """The PostgreSQL export builds each line in SQL; the SQLite path (the embedded default)
    builds it in Python. Both write the same bytes, awkward values included."""
    import io
    from datetime import UTC, datetime
    from decimal import Decimal

    from ledger_audit.models import Deal, DealEvent, Dispute, LedgerEntry, Timer
    from ledger_audit.services import exports

    whole = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fine = datetime(2026, 3, 1, 12, 0, 0, 120, tzinfo=UTC)
    for deal_id in ("Dé-1", 'D"2\\'):
        Deal.objects.create(deal_id=deal_id, state="FUNDED", state_since=whole)
        DealEvent.objects.create(
            deal_id=deal_id, state="ISSUE", occurred_at=fine, template_version="v\t«2»"
        )
        for n, amount in enumerate(["0", "0.00000001", "-5", "123456789012.5"]):
            LedgerEntry.objects.create(
                entry_id=f"{deal_id}-{n}",
                deal_id=deal_id,
                idempotency_key=f"k\n{n}",
                kind="hold",
                amount=Decimal(amount),
                currency="EUR",
                created_at=whole,
            )
        Timer.objects.create(
            timer_id=f"{deal_id}-t", deal_id=deal_id, kind="😀", expires_at=fine, status="running"
        )
        Dispute.objects.create(
            dispute_id=f"{deal_id}-p",
            deal_id=deal_id,
            opened_at=whole,
            ttl_seconds=None,
            expires_at=fine,
            status="open",
            resolution='a "b" \\ c',
        )
    deals = ["Dé-1", 'D"2\\']
    python = b"".join(exports._line(kind, row) for _key, kind, row in exports._rows(deals))

    class Export:
        pk = 0
        deal_ids = deals

    out = io.BytesIO()
    sha256, counts = exports._write_sql(Export, out)  # type: ignore[arg-type]
    assert out.getvalue() == python
    assert sha256 == hashlib.sha256(python).hexdigest()
    assert counts == {"deal_event": 2, "ledger_entry": 8, "timer": 2, "dispute": 2}
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    assert [r["amount"] for r in rows if r["type"] == "ledger_entry"][:4] == [
        "0.00000000",
        "0.00000001",
        "-5.00000000",
        "123456789012.50000000",
    ]
    assert rows[0]["occurred_at"] == "2026-03-01T12:00:00.000120+00:00"
    assert rows[1]["created_at"] == "2026-03-01T12:00:00+00:00"

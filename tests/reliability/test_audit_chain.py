"""Tamper-evident audit trail: every audited write is chained; verify_audit names the first
broken link after a direct UPDATE / DELETE in the database, and passes otherwise."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.audit_chain import AuditLink, chain_verify
from incidents.models import TimelineEntry
from ledger_audit import feed
from ledger_audit.models import ExportDownload, TimelineExport
from ledger_audit.services import export_download_open, export_request, export_run
from pilot.models import ChangeRequest, ConfigRevision
from pilot.services import change_request_approve, change_request_create, pilot_disable
from tests.incidents.factories import open_incident
from tests.reliability.conftest import report

pytestmark = pytest.mark.django_db


def _verify() -> tuple[int, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def _sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _untrigger(*tables: str) -> None:
    """Switch the append-only triggers off, inside the test's transaction only (deferred
    foreign-key checks run first: ALTER TABLE refuses a table with pending trigger events)."""
    _sql("SET CONSTRAINTS ALL IMMEDIATE")
    for table in tables:
        _sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


@pytest.fixture
def history(seeded, operator, engineer, coordinator, exports_dir: Path) -> dict[str, Any]:
    """A little of everything audited: incident timeline, revisions, change requests (each
    state), an export (requested, done) and a download."""
    incident = open_incident(actor=operator, affected_deals=["D-1"])
    pilot_disable(actor=operator, reason="duplicates", incident=incident)
    request = change_request_create(actor=engineer, action="enable", reason="fixed")
    change_request_approve(change_request=request, actor=coordinator)
    feed.feed_deal_events_ingest(
        items=[{"deal_id": "D-1", "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}]
    )
    export = export_request(incident=incident, actor=operator)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    export_download_open(export=export, actor=operator, via="api").close()
    return {"incident": incident, "request": request, "export": export}


def test_every_audited_write_is_linked_and_verify_passes(history) -> None:
    labels = set(AuditLink.objects.values_list("label", flat=True))
    assert labels == {
        "incidents.timelineentry",
        "pilot.configrevision",
        "pilot.changerequest",
        "ledger_audit.timelineexport",
        "ledger_audit.exportdownload",
    }
    assert AuditLink.objects.filter(label="incidents.timelineentry").count() == (
        TimelineEntry.objects.count()
    )
    assert AuditLink.objects.filter(label="pilot.configrevision").count() == (
        ConfigRevision.objects.count()
    )
    request_events = list(
        AuditLink.objects.filter(
            label="pilot.changerequest", record_pk=str(history["request"].pk)
        ).values_list("event", flat=True)
    )
    assert request_events == ["pending", "applied"]
    export_events = list(
        AuditLink.objects.filter(
            label="ledger_audit.timelineexport", record_pk=str(history["export"].pk)
        ).values_list("event", flat=True)
    )
    assert export_events == ["requested", "done"]
    assert ExportDownload.objects.count() == 1
    seqs = list(AuditLink.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    code, out = _verify()
    assert code == 0, out
    assert out.strip() == f"OK: {len(seqs)} links verified"
    report("audit_chain_ok", links=len(seqs), broken=0)


def _link_of(label: str, pk: Any) -> AuditLink:
    return AuditLink.objects.filter(label=label, record_pk=str(pk)).order_by("-seq")[0]


def test_an_edited_timeline_row_is_named(history) -> None:
    entry = TimelineEntry.objects.order_by("pk")[1]
    _untrigger("incidents_timelineentry")
    _sql(
        "UPDATE incidents_timelineentry SET message = 'nothing happened' WHERE id = %s", [entry.pk]
    )
    code, message = _verify()
    assert code == 1
    link = _link_of("incidents.timelineentry", entry.pk)
    assert f"link #{link.seq} (incidents.timelineentry {entry.pk}): digest mismatch" in message


def test_a_deleted_revision_is_named(history) -> None:
    head = ConfigRevision.objects.order_by("-number")[0]
    _untrigger("pilot_configrevision")
    _sql("DELETE FROM pilot_configrevision WHERE id = %s", [head.pk])
    code, message = _verify()
    assert code == 1
    link = _link_of("pilot.configrevision", head.pk)
    assert f"first broken link: link #{link.seq} (pilot.configrevision {head.pk}): row missing" in (
        message
    )


def test_an_applied_request_edited_back_to_pending_is_named(history) -> None:
    request: ChangeRequest = history["request"]
    _sql("UPDATE pilot_changerequest SET status = 'pending' WHERE id = %s", [request.pk])
    code, message = _verify()
    assert code == 1
    link = _link_of("pilot.changerequest", request.pk)
    assert f"link #{link.seq} (pilot.changerequest {request.pk}): digest mismatch" in message


def test_a_tampered_export_checksum_and_a_deleted_download_are_named(history) -> None:
    export: TimelineExport = history["export"]
    _sql("UPDATE ledger_audit_timelineexport SET sha256 = %s WHERE id = %s", ["f" * 64, export.pk])
    download = ExportDownload.objects.get()
    _sql("DELETE FROM ledger_audit_exportdownload WHERE id = %s", [download.pk])
    result = chain_verify()
    export_link = _link_of("ledger_audit.timelineexport", export.pk)
    download_link = _link_of("ledger_audit.exportdownload", download.pk)
    found = {(b.seq, b.problem) for b in result.broken}
    assert (export_link.seq, "digest mismatch (row edited)") in found
    assert (download_link.seq, "row missing (deleted)") in found
    assert result.first is not None
    assert result.first.seq == export_link.seq


def test_an_edited_link_and_a_deleted_link_are_named(history) -> None:
    links = list(AuditLink.objects.order_by("seq"))
    _untrigger("core_auditlink")
    _sql("UPDATE core_auditlink SET digest = %s WHERE seq = %s", ["0" * 64, links[3].seq])
    code, message = _verify()
    assert code == 1
    assert f"first broken link: link #{links[3].seq} " in message
    assert "hash mismatch" in message

    _sql("UPDATE core_auditlink SET digest = %s WHERE seq = %s", [links[3].digest, links[3].seq])
    assert _verify()[0] == 0
    _sql("DELETE FROM core_auditlink WHERE seq = %s", [links[5].seq])
    code, message = _verify()
    assert code == 1
    assert f"first broken link: link #{links[5].seq} " in message
    report("audit_chain_tamper", faults_injected=6, detected=6)


def test_links_are_append_only_in_postgresql(history) -> None:
    from django.db import DatabaseError, transaction

    for statement in ("UPDATE core_auditlink SET event = 'x'", "DELETE FROM core_auditlink"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _sql(statement)

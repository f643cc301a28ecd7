"""Tamper-evident audit trail: every audited write goes through the one sink (an AuditEvent and
its links), verify_audit names the first broken link after a direct UPDATE / DELETE in the
database, and passes otherwise."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.audit_chain import AuditCheckpoint, AuditLink, chain_verify, link_hash
from core.models import ApiKey, AuditEvent
from core.services import api_key_create, api_key_revoke
from incidents.models import RosterMember, SeverityPolicy, TimelineEntry
from incidents.services import severity_policy_update, sla_config_save
from ledger_audit import feed
from ledger_audit.models import ExportDownload, TimelineExport
from ledger_audit.services import export_download_open, export_request, export_run
from pilot.models import ChangeRequest, ConfigRevision, TemplateVersion, WebhookSubscription
from pilot.services import (
    change_request_approve,
    change_request_create,
    pilot_disable,
    webhook_subscription_create,
    webhook_subscription_delete,
)
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
def history(
    seeded, operator, engineer, coordinator, owner, api_user, exports_dir: Path
) -> dict[str, Any]:
    """A little of everything audited: incident timeline, revisions, change requests (each
    state), an export (requested, done) and a download, an API key (created, revoked), a
    severity-policy edit and a roster member."""
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
    key = api_key_create(name="platform", user=api_user, created_by=owner).api_key
    api_key_revoke(api_key=key, actor=owner, reason="rotated")
    policy = SeverityPolicy.objects.get(severity="SEV1")
    severity_policy_update(
        policy=policy, actor=owner, changes={"response_minutes": 45}, reason="volume doubled"
    )
    member = sla_config_save(
        instance=RosterMember(user=engineer, level_id=2, email="eng@example.com"),
        actor=coordinator,
    )
    return {
        "incident": incident,
        "request": request,
        "export": export,
        "key": key,
        "policy": policy,
        "member": member,
    }


def test_every_audited_write_is_linked_and_verify_passes(history) -> None:
    labels = set(AuditLink.objects.values_list("label", flat=True))
    assert labels == {
        "core.auditevent",
        "core.apikey",
        "incidents.timelineentry",
        "incidents.severitypolicy",
        "incidents.rostermember",
        "pilot.configrevision",
        "pilot.changerequest",
        "pilot.templateversion",
        "pilot.featureflag",
        "ledger_audit.timelineexport",
        "ledger_audit.exportdownload",
    }
    # One sink: every event sealed once, and every sealed domain row has its event.
    assert AuditLink.objects.filter(label="core.auditevent").count() == AuditEvent.objects.count()
    domain_links = AuditLink.objects.exclude(label="core.auditevent")
    assert domain_links.count() == AuditEvent.objects.count() - (
        AuditEvent.objects.filter(target_type="auth.user").count()
    )
    assert AuditLink.objects.filter(label="incidents.timelineentry").count() == (
        TimelineEntry.objects.count()
    )
    assert AuditEvent.objects.filter(action="incident.timeline").count() == (
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
    assert request_events == ["pilot.change_request.pending", "pilot.change_request.applied"]
    export_events = list(
        AuditLink.objects.filter(
            label="ledger_audit.timelineexport", record_pk=str(history["export"].pk)
        ).values_list("event", flat=True)
    )
    assert export_events == ["export.requested", "export.done"]
    key_events = list(
        AuditEvent.objects.filter(target_type="core.apikey", target_id=str(history["key"].pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert key_events == ["api_key.create", "api_key.revoke"]
    assert ExportDownload.objects.count() == 1
    seqs = list(AuditLink.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    code, out = _verify()
    assert code == 0, out
    assert out.strip() == f"OK: {len(seqs)} links verified"
    report("audit_chain_ok", links=len(seqs), broken=len(chain_verify().broken))


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
    injected = detected = 0
    _sql("UPDATE core_auditlink SET digest = %s WHERE seq = %s", ["0" * 64, links[3].seq])
    injected += 1
    code, message = _verify()
    detected += code == 1 and f"first broken link: link #{links[3].seq} " in message
    assert code == 1
    assert f"first broken link: link #{links[3].seq} " in message
    assert "hash mismatch" in message

    _sql("UPDATE core_auditlink SET digest = %s WHERE seq = %s", [links[3].digest, links[3].seq])
    assert _verify()[0] == 0
    _sql("DELETE FROM core_auditlink WHERE seq = %s", [links[5].seq])
    injected += 1
    code, message = _verify()
    detected += code == 1 and f"first broken link: link #{links[5].seq} " in message
    assert code == 1
    assert f"first broken link: link #{links[5].seq} " in message
    assert detected == injected
    report("audit_chain_link_tamper", faults_injected=injected, detected=detected)


def test_links_are_append_only_in_postgresql(history) -> None:
    from django.db import DatabaseError, transaction

    for statement in ("UPDATE core_auditlink SET event = 'x'", "DELETE FROM core_auditlink"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _sql(statement)


def _event_link(event: AuditEvent) -> AuditLink:
    return _link_of("core.auditevent", event.pk)


def test_an_edited_api_key_event_is_named(history) -> None:
    event = AuditEvent.objects.get(action="api_key.revoke")
    _untrigger("core_auditevent")
    _sql("UPDATE core_auditevent SET reason = 'routine' WHERE id = %s", [event.pk])
    code, message = _verify()
    assert code == 1
    link = _event_link(event)
    assert f"first broken link: link #{link.seq} (core.auditevent {event.pk}): digest mismatch" in (
        message
    )


def test_a_deleted_api_key_event_is_named(history) -> None:
    event = AuditEvent.objects.get(action="api_key.create")
    _untrigger("core_auditevent")
    _sql("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    code, message = _verify()
    assert code == 1
    link = _event_link(event)
    assert f"link #{link.seq} (core.auditevent {event.pk}): row missing" in message


def test_an_unrevoked_api_key_is_named_and_its_last_use_is_not(history) -> None:
    key: ApiKey = history["key"]
    _sql("UPDATE core_apikey SET last_used_at = %s WHERE id = %s", [timezone.now(), key.pk])
    assert _verify()[0] == 0  # the hot path stamps it; not an audited field
    _sql("UPDATE core_apikey SET revoked_at = NULL, revoked_by_id = NULL WHERE id = %s", [key.pk])
    code, message = _verify()
    assert code == 1
    link = _link_of("core.apikey", key.pk)
    assert f"first broken link: link #{link.seq} (core.apikey {key.pk}): digest mismatch" in message


def test_an_edited_template_version_body_is_named(history) -> None:
    version = TemplateVersion.objects.get(label="v1")
    _untrigger("pilot_templateversion")
    _sql(
        """UPDATE pilot_templateversion SET body = '{"inspection_days": 1}'::jsonb WHERE id = %s""",
        [version.pk],
    )
    code, message = _verify()
    assert code == 1
    link = _link_of("pilot.templateversion", version.pk)
    assert f"link #{link.seq} (pilot.templateversion {version.pk}): digest mismatch" in message


def test_an_edited_policy_event_and_an_edited_roster_row_are_named(history) -> None:
    event = AuditEvent.objects.get(action="severity_policy.update")
    assert event.data["after"] == {"response_minutes": 45}
    _untrigger("core_auditevent")
    _sql(
        """UPDATE core_auditevent SET data = '{"after": {"response_minutes": 60}}'::jsonb
        WHERE id = %s""",
        [event.pk],
    )
    member: RosterMember = history["member"]
    _sql(
        "UPDATE incidents_rostermember SET email = 'attacker@example.com' WHERE id = %s",
        [member.pk],
    )
    broken = {(b.label, b.record_pk, b.problem) for b in chain_verify().broken}
    assert broken == {
        ("core.auditevent", str(event.pk), "digest mismatch (row edited)"),
        ("incidents.rostermember", str(member.pk), "digest mismatch (row edited)"),
    }
    code, message = _verify()
    assert code == 1
    assert f"first broken link: link #{_event_link(event).seq} (core.auditevent" in message


def test_an_edited_policy_row_is_named(history) -> None:
    policy: SeverityPolicy = history["policy"]
    _sql("UPDATE incidents_severitypolicy SET response_minutes = 600 WHERE id = %s", [policy.pk])
    code, message = _verify()
    assert code == 1
    link = _link_of("incidents.severitypolicy", policy.pk)
    assert f"link #{link.seq} (incidents.severitypolicy {policy.pk}): digest mismatch" in message


def test_a_recorded_deletion_passes_and_a_row_put_back_is_named(history, owner) -> None:
    subscription = webhook_subscription_create(
        actor=owner, url="https://hooks.example.com/pilot", secret="s3cret-value"
    )
    pk = subscription.pk
    webhook_subscription_delete(actor=owner, subscription=subscription, reason="retired")
    assert not WebhookSubscription.objects.filter(pk=pk).exists()
    assert _verify()[0] == 0
    _sql(
        "INSERT INTO pilot_webhooksubscription"
        " (id, name, url, secret, active, events, description, created_at)"
        " VALUES (%s, 'evil', 'https://evil.example.com/', 'x', true, '[\"*\"]', '', now())",
        [pk],
    )
    code, message = _verify()
    assert code == 1
    link = _link_of("pilot.webhooksubscription", pk)
    assert f"link #{link.seq} (pilot.webhooksubscription {pk}): row present after its deletion" in (
        message
    )


def test_audit_events_are_append_only_in_postgresql(history) -> None:
    from django.db import DatabaseError, transaction

    for statement in ("UPDATE core_auditevent SET reason = 'x'", "DELETE FROM core_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _sql(statement)


# --- the anchor: published checkpoints and verify_audit --expect -----------------------------


def _checkpoint() -> str:
    """Run the beat task as beat would; the published checkpoint as SEQ:HASH."""
    from core.tasks import audit_checkpoint

    seq = audit_checkpoint()
    checkpoint = AuditCheckpoint.objects.get(seq=seq)
    return f"{checkpoint.seq}:{checkpoint.hash}"


def _verify_expecting(*checkpoints: str) -> tuple[int, str]:
    args = [a for c in checkpoints for a in ("--expect", c)]
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def _metrics(settings: Any) -> str:
    from django.test import Client

    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def _head_seq(text: str) -> int:
    from prometheus_client.parser import text_string_to_metric_families

    (family,) = [
        f for f in text_string_to_metric_families(text) if f.name == "pcp_audit_chain_head_seq"
    ]
    return int(family.samples[0].value)


def test_the_checkpoint_task_is_on_beat_and_acks_late(settings) -> None:
    from config.celery_app import app
    from core.tasks import audit_checkpoint

    entry = settings.CELERY_BEAT_SCHEDULE["core-audit-checkpoint"]
    assert entry["task"] == audit_checkpoint.name == "core.tasks.audit_checkpoint"
    assert entry["schedule"] == settings.AUDIT_CHECKPOINT_SECONDS == 60.0
    assert app.tasks[entry["task"]].acks_late is True


def test_a_checkpoint_records_the_head_once_logs_it_and_shows_on_metrics(
    history, operator, settings, caplog
) -> None:
    text = _metrics(settings)
    assert _head_seq(text) == 0
    assert "\npcp_audit_checkpoint_timestamp_seconds " not in text  # never: no sample, no -1

    head = AuditLink.objects.order_by("-seq")[0]
    with caplog.at_level("INFO", logger="core.audit_chain"):
        published = _checkpoint()
        assert _checkpoint() == published  # same head: idempotent
    assert published == f"{head.seq}:{head.hash}"
    assert list(AuditCheckpoint.objects.values_list("seq", "hash")) == [(head.seq, head.hash)]
    lines = [r for r in caplog.records if getattr(r, "event", "") == "audit.checkpoint"]
    assert [r.getMessage() for r in lines] == [
        f"audit.checkpoint seq={head.seq} hash={head.hash}"
    ] * 2
    assert [(r.audit_seq, r.audit_hash, r.new) for r in lines] == [
        (head.seq, head.hash, True),
        (head.seq, head.hash, False),
    ]
    text = _metrics(settings)
    assert _head_seq(text) == head.seq
    assert "\npcp_audit_checkpoint_timestamp_seconds " in text
    assert f'pcp_audit_chain_head_info{{hash="{head.hash}",seq="{head.seq}"}} 1.0\n' in text

    pilot_disable(actor=operator, reason="the head moves")
    moved = _checkpoint()
    new_head = AuditLink.objects.order_by("-seq")[0]
    assert moved == f"{new_head.seq}:{new_head.hash}" != published
    assert AuditCheckpoint.objects.count() == 2
    assert _head_seq(_metrics(settings)) == new_head.seq
    code, out = _verify_expecting(published, moved)
    assert (code, out.strip()) == (0, f"OK: {new_head.seq} links verified, 4 checkpoint(s) held")
    report(
        "audit_checkpoint",
        checkpoints=AuditCheckpoint.objects.count(),
        head_seq=new_head.seq,
        metrics_seq=new_head.seq,
    )


def _cut_tail(after_seq: int) -> int:
    """What an attacker with SQL does to erase the last acts consistently: delete the links
    after ``after_seq``, the rows they sealed and the stored checkpoints. Returns the links cut."""
    from django.apps import apps

    tail = list(AuditLink.objects.filter(seq__gt=after_seq).order_by("-seq"))
    tables = {apps.get_model(link.label)._meta.db_table for link in tail}
    _untrigger("core_auditlink", "core_auditcheckpoint", *sorted(tables))
    _sql("SET CONSTRAINTS ALL DEFERRED")  # never committed: the test's transaction rolls back
    for link in tail:
        model = apps.get_model(link.label)
        _sql(f"DELETE FROM {model._meta.db_table} WHERE id = %s", [int(link.record_pk)])  # noqa: S608
    _sql("DELETE FROM core_auditlink WHERE seq > %s", [after_seq])
    _sql("DELETE FROM core_auditcheckpoint")
    return len(tail)


def test_a_cut_tail_passes_verify_alone_but_not_expect(history, operator) -> None:
    before = AuditLink.objects.order_by("-seq")[0].seq
    pilot_disable(actor=operator, reason="the act the attacker erases")
    published = _checkpoint()
    assert _cut_tail(before) == 2  # the revision and its event
    assert not ConfigRevision.objects.filter(reason="the act the attacker erases").exists()

    alone, out = _verify()
    assert (alone, out.strip()) == (0, f"OK: {before} links verified")
    code, message = _verify_expecting(published)
    assert code == 1
    seq = published.split(":")[0]
    assert message.startswith(f"BROKEN: checkpoint #{seq} (")
    assert f"is not in the chain, which ends at #{before}: its tail was cut off" in message
    report("audit_checkpoint_cut_tail", verify_alone=alone, verify_expect=code)


def test_a_consistently_rebuilt_chain_fails_expect(history) -> None:
    links = list(AuditLink.objects.order_by("seq"))
    previous = f"{links[-2].seq}:{links[-2].hash}"
    published = _checkpoint()
    # Erase one act (a person's creation, sealed by its event alone) and rebuild every link
    # from the rows, as a whole new, self-consistent chain.
    erased = AuditEvent.objects.filter(target_type="auth.user").order_by("id")[0]
    _untrigger("core_auditlink", "core_auditevent", "core_auditcheckpoint")
    _sql("DELETE FROM core_auditevent WHERE id = %s", [erased.pk])
    kept = [k for k in links if (k.label, k.record_pk) != ("core.auditevent", str(erased.pk))]
    assert len(kept) == len(links) - 1
    _sql("DELETE FROM core_auditlink")
    prev = "0" * 64
    rebuilt = []
    for seq, k in enumerate(kept, start=1):
        h = link_hash(
            prev_hash=prev, digest=k.digest, seq=seq, label=k.label, record_pk=k.record_pk
        )
        rebuilt.append(
            AuditLink(
                seq=seq,
                at=k.at,
                label=k.label,
                record_pk=k.record_pk,
                event=k.event,
                digest=k.digest,
                prev_hash=prev,
                hash=h,
            )
        )
        prev = h
    AuditLink.objects.bulk_create(rebuilt)

    code, message = _verify()
    assert code == 1  # the stored checkpoint still names the old head ...
    assert "checkpoint" in message
    _sql("DELETE FROM core_auditcheckpoint")  # ... so the attacker deletes it too
    alone, out = _verify()
    assert (alone, out.strip()) == (0, f"OK: {len(kept)} links verified")

    code, message = _verify_expecting(published)
    assert code == 1
    assert "is not in the chain" in message
    code, message = _verify_expecting(previous)
    assert code == 1
    assert f"BROKEN: checkpoint #{links[-2].seq} expected hash {links[-2].hash[:16]}…" in message
    assert "the chain was rebuilt or edited up to that link" in message
    report("audit_checkpoint_rebuilt", verify_alone=alone, verify_expect=code)


def test_expect_must_be_seq_colon_hash(history) -> None:
    code, message = _verify_expecting("12:nothex")
    assert code == 2
    assert "expected SEQ:HASH" in message


def test_checkpoints_are_append_only_in_postgresql(history) -> None:
    from django.db import DatabaseError, transaction

    _checkpoint()
    for statement in (
        "UPDATE core_auditcheckpoint SET hash = 'x'",
        "DELETE FROM core_auditcheckpoint",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _sql(statement)

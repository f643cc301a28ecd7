import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from core.errors import Conflict, NotAllowed
from core.models import AuditEvent
from pilot.models import FeatureFlag, RollbackRecord, TemplateVersion, WebhookSubscription
from pilot.services import (
    change_request_approve,
    change_request_create,
    template_version_create,
    template_version_update,
)

CONFIG = "/api/v1/pilot/config/"


def _platform_creates_deal(client, deal_id: str):
    """What the platform does on every deal creation: read the config, stamp the version."""
    from ledger_audit.models import Deal

    config = client.get(CONFIG).json()
    assert config["enabled"] is True
    return Deal.objects.create(
        deal_id=deal_id,
        state="FUNDED",
        state_since=timezone.now(),
        template_version=config["template_version"],
    )


def test_switching_v2_to_v1_keeps_existing_deals_on_v2_and_new_deals_get_v1(
    seeded, engineer, coordinator, api_user, client_for, rollback_incident
):
    from ledger_audit.models import Deal

    platform = client_for(api_user)
    request = change_request_create(
        actor=engineer, action="set_template_version", params={"version": "v2"}, reason="launch v2"
    )
    change_request_approve(change_request=request, actor=coordinator)
    on_v2 = [_platform_creates_deal(platform, f"deal-{i}") for i in range(3)]
    assert {d.template_version for d in on_v2} == {"v2"}

    reverted = client_for(engineer).post(
        "/api/v1/pilot/revert-template/",
        {"version": "v1", "reason": "v2 breaks timers", "incident": rollback_incident.number},
        format="json",
    )
    assert reverted.status_code == 200, reverted.content
    assert reverted.json()["template_version"] == "v1"

    new = _platform_creates_deal(platform, "deal-new")
    assert new.template_version == "v1"
    assert set(
        Deal.objects.filter(deal_id__in=[d.deal_id for d in on_v2]).values_list(
            "template_version", flat=True
        )
    ) == {"v2"}

    listing = client_for(engineer).get("/api/v1/pilot/template-versions/").json()
    assert {row["label"]: row["open_deals"] for row in listing} == {"v1": 1, "v2": 3}

    record = RollbackRecord.objects.get()
    assert record.from_revision is not None
    assert record.to_revision is not None
    assert (record.kind, record.from_revision.number, record.to_revision.number) == ("config", 2, 3)
    assert "template_version: v2 → v1" in record.what_reverted
    done = dict(rollback_incident.checklist.values_list("bound_action", "done"))
    assert done["revert_template"] is True
    kinds = set(rollback_incident.timeline.values_list("kind", flat=True))
    assert {"config_changed", "rollback_recorded"} <= kinds


def test_moving_to_a_newer_version_needs_a_change_request(seeded, engineer, client_for):
    response = client_for(engineer).post(
        "/api/v1/pilot/revert-template/", {"version": "v2", "reason": "newer"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_earlier"


def test_reverting_to_the_current_version_changes_nothing(seeded, engineer, client_for):
    response = client_for(engineer).post(
        "/api/v1/pilot/revert-template/", {"version": "v1", "reason": "again"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["number"] == 1
    assert not RollbackRecord.objects.exists()


def test_flag_off_is_a_recorded_config_rollback(seeded, engineer, coordinator, client_for):
    request = change_request_create(
        actor=engineer, action="flag_on", params={"flag": "hotfix_timer_display"}, reason="hotfix"
    )
    change_request_approve(change_request=request, actor=coordinator)
    url = "/api/v1/pilot/flags/hotfix_timer_display/off/"
    first = client_for(engineer).post(url, {"reason": "hotfix misbehaves"}, format="json")
    assert first.status_code == 200
    assert first.json()["flags"]["hotfix_timer_display"] is False
    second = client_for(engineer).post(url, {"reason": "again"}, format="json")
    assert second.json()["number"] == first.json()["number"]
    assert RollbackRecord.objects.filter(kind="config").count() == 1
    assert (
        client_for(engineer)
        .post("/api/v1/pilot/flags/unknown/off/", {"reason": "x"}, format="json")
        .status_code
        == 404
    )


def test_revision_history_and_diff(seeded, engineer, coordinator, operator, client_for):
    request = change_request_create(
        actor=engineer, action="set_template_version", params={"version": "v2"}, reason="v2"
    )
    change_request_approve(change_request=request, actor=coordinator)
    client_for(operator).post("/api/v1/pilot/disable/", {"reason": "stop"}, format="json")
    client = client_for(operator)
    history = client.get("/api/v1/pilot/revisions/").json()["results"]
    assert [r["number"] for r in history] == [3, 2, 1]
    assert history[0]["parent"] == 2
    assert client.get("/api/v1/pilot/revisions/2/").json()["change_request"] == request.pk
    diff = client.get("/api/v1/pilot/revisions/3/diff/", {"against": 1}).json()
    assert diff == [
        {"field": "state", "before": "running", "after": "disabled"},
        {"field": "enabled", "before": True, "after": False},
        {"field": "template_version", "before": "v1", "after": "v2"},
    ]
    assert client.get("/api/v1/pilot/revisions/9/").status_code == 404


# --- a version in use never changes its body -------------------------------------------------


def _body(label: str) -> dict:
    return dict(TemplateVersion.objects.get(label=label).body)


def test_the_body_of_a_version_in_use_is_refused_by_the_service(seeded, engineer) -> None:
    v1 = TemplateVersion.objects.get(label="v1")  # active, and r1 runs on it
    before = dict(v1.body)
    with pytest.raises(Conflict) as refused:
        template_version_update(
            actor=engineer, version=v1, changes={"body": {"inspection_days": 1}}
        )
    assert refused.value.code == "template_in_use"
    assert _body("v1") == before
    assert not AuditEvent.objects.filter(action="pilot.template_version.update").exists()


def test_active_then_draft_then_edit_is_refused(seeded, engineer) -> None:
    v2 = TemplateVersion.objects.get(label="v2")  # active, never named by a revision
    with pytest.raises(Conflict, match="never goes back to draft"):
        template_version_update(actor=engineer, version=v2, changes={"status": "draft"})
    with pytest.raises(Conflict, match="in use"):
        template_version_update(actor=engineer, version=v2, changes={"body": {"x": 1}})
    assert TemplateVersion.objects.get(label="v2").status == "active"


def test_a_retired_version_once_used_stays_frozen(seeded, engineer, coordinator) -> None:
    request = change_request_create(
        actor=engineer, action="set_template_version", params={"version": "v2"}, reason="v2"
    )
    change_request_approve(change_request=request, actor=coordinator)
    v1 = TemplateVersion.objects.get(label="v1")
    template_version_update(actor=engineer, version=v1, changes={"status": "retired"})
    with pytest.raises(Conflict, match="in use"):
        template_version_update(actor=engineer, version=v1, changes={"body": {"x": 1}})


def test_a_draft_body_changes_through_the_service_and_is_audited(seeded, engineer, operator):
    v3 = template_version_create(actor=engineer, label="v3", sequence=3, body={"a": 1})
    with pytest.raises(NotAllowed):
        template_version_update(actor=operator, version=v3, changes={"body": {"a": 2}})
    template_version_update(
        actor=engineer, version=v3, changes={"body": {"a": 2}}, reason="longer window"
    )
    assert _body("v3") == {"a": 2}
    event = AuditEvent.objects.get(action="pilot.template_version.update")
    assert (event.actor, event.reason) == (engineer, "longer window")
    assert event.data["before"] == {"body": {"a": 1}}
    assert event.data["after"] == {"body": {"a": 2}}
    template_version_update(actor=engineer, version=v3, changes={"status": "active"})
    with pytest.raises(Conflict, match="in use"):
        template_version_update(actor=engineer, version=v3, changes={"body": {"a": 3}})


def _sql(statement: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def test_postgresql_refuses_an_update_of_the_body_of_a_used_version(seeded, engineer) -> None:
    assert connection.vendor == "postgresql"
    v1 = TemplateVersion.objects.get(label="v1")
    for statement in (
        """UPDATE pilot_templateversion SET body = '{"inspection_days": 1}'::jsonb WHERE id = %s""",
        "UPDATE pilot_templateversion SET label = 'v1-bis' WHERE id = %s",
        "UPDATE pilot_templateversion SET status = 'draft' WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="is in use"), transaction.atomic():
            _sql(statement, [v1.pk])
    # The rest of the row, and the body of a draft nobody used, stay editable.
    assert _sql("UPDATE pilot_templateversion SET description = 'd' WHERE id = %s", [v1.pk]) == 1
    v3 = template_version_create(actor=engineer, label="v3", sequence=3)
    sql = """UPDATE pilot_templateversion SET body = '{"a": 1}'::jsonb WHERE id = %s"""
    assert _sql(sql, [v3.pk]) == 1
    assert _body("v3") == {"a": 1}


# --- the admin saves through the services ----------------------------------------------------


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_admin_sending_a_used_version_back_to_draft_is_a_message_not_a_500(seeded, engineer):
    v1 = TemplateVersion.objects.get(label="v1")
    url = f"/admin/pilot/templateversion/{v1.pk}/change/"
    response = _admin(engineer).post(url, {"description": "x", "status": "draft"}, follow=True)
    assert response.status_code == 200
    assert "never goes back to draft" in response.content.decode()
    v1.refresh_from_db()
    assert (v1.status, v1.description) == ("active", "Initial escrow deal template.")


def test_admin_add_and_change_write_audit_events(seeded, engineer, owner) -> None:
    client = _admin(engineer)
    response = client.post(
        "/admin/pilot/templateversion/add/",
        {"label": "v3", "sequence": "3", "description": "", "body": '{"a": 1}', "status": "draft"},
    )
    assert response.status_code == 302, response.content[:2000]
    v3 = TemplateVersion.objects.get(label="v3")
    assert AuditEvent.objects.filter(
        action="pilot.template_version.create", target_id=str(v3.pk), actor=engineer
    ).exists()
    flag = FeatureFlag.objects.get(name="hotfix_timer_display")
    response = client.post(
        f"/admin/pilot/featureflag/{flag.pk}/change/", {"description": "Timer fix v2."}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="pilot.feature_flag.update")
    assert event.data["after"] == {"description": "Timer fix v2."}

    owner_client = _admin(owner)
    response = owner_client.post(
        "/admin/pilot/webhooksubscription/add/",
        {
            "name": "pilot hook",
            "url": "https://hooks.example.com/pilot",
            "secret": "s3cret-value",
            "active": "on",
            "events": '["pilot.config", "incident.*"]',
        },
    )
    assert response.status_code == 302, response.content[:2000]
    subscription = WebhookSubscription.objects.get()
    created = AuditEvent.objects.get(action="pilot.webhook_subscription.create")
    assert created.data["after"]["secret"] == "***"
    assert created.data["after"]["events"] == ["pilot.config", "incident.*"]
    assert subscription.events == ["pilot.config", "incident.*"]
    response = owner_client.post(
        f"/admin/pilot/webhooksubscription/{subscription.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.filter(
        action="pilot.webhook_subscription.delete", target_id=str(subscription.pk), actor=owner
    ).exists()


def test_a_subscription_url_is_checked_by_the_address_policy_when_saved(owner) -> None:
    from core.errors import DomainError
    from pilot.services import webhook_subscription_create

    with pytest.raises(DomainError) as refused:
        webhook_subscription_create(
            actor=owner, url="https://user:pw@hooks.example.com/", secret="s"
        )
    assert "url" in (refused.value.fields or {})
    assert not WebhookSubscription.objects.exists()
    assert not AuditEvent.objects.filter(action="pilot.webhook_subscription.create").exists()

from django.utils import timezone

from pilot.models import RollbackRecord
from pilot.services import change_request_approve, change_request_create

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

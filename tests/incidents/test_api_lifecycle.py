"""Each life-cycle action through the API: allowed and refused per role, forbidden transitions
as JSON errors."""

from collections.abc import Callable

import pytest

from incidents.enums import Category, Severity, Status, TimelineKind
from incidents.models import Incident
from incidents.services import (
    incident_acknowledge,
    incident_defer,
    incident_resolve,
    incident_update_log,
)
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

ALL_ROLES = ["operator", "engineer", "coordinator", "owner", "auditor", "api-client"]
POSTMORTEM = {
    "root_cause": "Idempotency check raced.",
    "resolution": "Unique index on the key.",
    "prevention": "Staging idempotency tests.",
    "lessons_learned": "Test concurrency.",
}


def _resolved_sev0() -> Incident:
    incident = open_incident()
    incident_update_log(incident=incident, actor=None, changes=POSTMORTEM)
    return incident_resolve(incident=incident, actor=None)


def _deferred_sev2() -> Incident:
    incident = open_incident(severity=Severity.SEV2, category=Category.OTHER)
    return incident_defer(incident=incident, actor=None, bug_tracker_url="https://bugs.example/1")


# action → (allowed roles, make the incident in the right state, request body, expected status)
Setup = Callable[[], Incident]
CASES: dict[str, tuple[set[str], Setup, dict, str]] = {
    "acknowledge": (
        {"operator", "engineer", "coordinator", "owner"},
        open_incident,
        {},
        Status.ACKNOWLEDGED,
    ),
    "resolve": ({"engineer", "coordinator", "owner"}, open_incident, {}, Status.RESOLVED),
    "close": ({"coordinator", "owner"}, _resolved_sev0, {}, Status.CLOSED),
    "defer": (
        {"operator", "engineer", "coordinator", "owner"},
        lambda: open_incident(severity=Severity.SEV3, category=Category.OTHER),
        {"bug_tracker_url": "https://bugs.example/42"},
        Status.DEFERRED,
    ),
    "reopen": (
        {"engineer", "coordinator", "owner"},
        _resolved_sev0,
        {"reason": "It came back."},
        Status.OPEN,
    ),
    "escalate": (
        {"operator", "engineer", "coordinator", "owner"},
        open_incident,
        {"criterion": "sev0_or_sev1"},
        Status.OPEN,
    ),
    "severity": (
        {"operator", "engineer", "coordinator", "owner"},
        _deferred_sev2,
        {"severity": "SEV1", "reason": "Blocks the pilot now."},
        Status.OPEN,
    ),
    "notes": (
        {"operator", "engineer", "coordinator", "owner"},
        open_incident,
        {"text": "Looking at the ledger."},
        Status.OPEN,
    ),
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", sorted(CASES))
def test_action_allowed_and_refused_per_role(action, role, member_of, client_for):
    allowed, setup, body, expected_status = CASES[action]
    incident = setup()
    before = incident.timeline.count()
    client = client_for(member_of(role))
    response = client.post(f"/api/v1/incidents/{incident.number}/{action}/", body, format="json")
    incident.refresh_from_db()
    if role in allowed:
        assert response.status_code in (200, 201), response.content
        assert response.json()["status"] == expected_status
        assert incident.status == expected_status
        assert incident.timeline.count() > before
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
        assert incident.timeline.count() == before


@pytest.mark.parametrize("role", ALL_ROLES)
def test_tick_per_role(role, member_of, client_for):
    incident = open_incident()
    step = incident.checklist.get(position=4)
    user = member_of(role)
    response = client_for(user).post(
        f"/api/v1/incidents/{incident.number}/checklist/{step.pk}/tick/",
        {"note": "patched"},
        format="json",
    )
    step.refresh_from_db()
    if role in {"operator", "engineer", "coordinator", "owner"}:
        assert response.status_code == 200, response.content
        assert step.done
        assert step.done_by == user
        assert step.note == "patched"
        row = next(s for s in response.json()["checklist"] if s["id"] == step.pk)
        assert row["done"] is True
        assert row["done_by"] == user.username
    else:
        assert response.status_code == 403
        assert not step.done


@pytest.mark.parametrize("role", ALL_ROLES)
def test_patch_postmortem_per_role(role, member_of, client_for):
    incident = open_incident()
    response = client_for(member_of(role)).patch(
        f"/api/v1/incidents/{incident.number}/", {"root_cause": "Race."}, format="json"
    )
    incident.refresh_from_db()
    if role in {"operator", "engineer", "coordinator", "owner"}:
        assert response.status_code == 200, response.content
        assert incident.root_cause == "Race."
        assert incident.timeline.filter(kind=TimelineKind.POSTMORTEM_EDITED).exists()
    else:
        assert response.status_code == 403
        assert incident.root_cause == ""


@pytest.mark.parametrize("role", ALL_ROLES)
def test_create_per_role(role, member_of, client_for):
    body = {"title": "Timer missing", "severity": "SEV1", "category": "timer_not_visible"}
    response = client_for(member_of(role)).post("/api/v1/incidents/", body, format="json")
    if role == "auditor":
        assert response.status_code == 403
        assert not Incident.objects.exists()
    else:
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["number"] == 1
        assert len(data["checklist"]) == 9
        incident = Incident.objects.get()
        assert incident.source == ("api_client" if role == "api-client" else "person")


def test_api_client_repeated_alert_does_not_open_second_incident(api_user, client_for):
    client = client_for(api_user)
    body = {
        "title": "Duplicate ledger entries",
        "severity": "SEV0",
        "category": "duplicate_ledger",
        "affected_deals": ["D-1"],
        "dedup_key": "monitor:dup:K1",
    }
    first = client.post("/api/v1/incidents/", body, format="json")
    second = client.post("/api/v1/incidents/", {**body, "affected_deals": ["D-2"]}, format="json")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["number"] == first.json()["number"]
    assert second.json()["affected_deals"] == ["D-1", "D-2"]
    assert Incident.objects.count() == 1
    assert [e["kind"] for e in second.json()["timeline"]] == ["opened", "attached"]


def test_closed_refused_without_postmortem_for_sev0(coordinator, client_for):
    incident = incident_resolve(incident=open_incident(), actor=None)
    response = client_for(coordinator).post(f"/api/v1/incidents/{incident.number}/close/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "postmortem_incomplete"
    assert set(error["fields"]) == {"root_cause", "resolution", "prevention", "lessons_learned"}
    assert "post-mortem" in error["message"]
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_sev2_closes_without_postmortem(coordinator, client_for):
    incident = open_incident(severity=Severity.SEV2, category=Category.OTHER)
    incident_resolve(incident=incident, actor=None)
    response = client_for(coordinator).post(f"/api/v1/incidents/{incident.number}/close/")
    assert response.status_code == 200
    assert response.json()["status"] == "closed"


@pytest.mark.parametrize(
    ("action", "body", "setup"),
    [
        ("close", {}, "open"),  # close before resolve
        ("acknowledge", {}, "resolved"),
        ("defer", {"bug_tracker_url": "https://bugs.example/1"}, "open"),  # SEV0 never deferred
        ("reopen", {"reason": "x"}, "open"),
        ("escalate", {"criterion": "sev0_or_sev1", "level": 1}, "level2"),  # never down
        ("resolve", {}, "closed"),
    ],
)
def test_forbidden_transitions_are_json_409(action, body, setup, owner, client_for):
    incident = open_incident()
    if setup in ("resolved", "closed"):
        incident_update_log(incident=incident, actor=None, changes=POSTMORTEM)
        incident_resolve(incident=incident, actor=None)
    if setup == "closed":
        from incidents.services import incident_close

        incident_close(incident=incident, actor=None)
    if setup == "level2":
        Incident.objects.filter(pk=incident.pk).update(escalation_level=2)
    before = incident.timeline.count()
    response = client_for(owner).post(
        f"/api/v1/incidents/{incident.number}/{action}/", body, format="json"
    )
    assert response.status_code == 409, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] in ("invalid_transition", "not_deferrable", "postmortem_incomplete")
    assert incident.label in error["message"] or "SEV" in error["message"]
    assert incident.timeline.count() == before


def test_defer_requires_bug_tracker_link(operator, client_for):
    incident = open_incident(severity=Severity.SEV3, category=Category.OTHER)
    response = client_for(operator).post(
        f"/api/v1/incidents/{incident.number}/defer/", {}, format="json"
    )
    assert response.status_code == 400
    assert "bug_tracker_url" in response.json()["error"]["fields"]


def test_defer_ticks_document_step_and_promotion_reopens(operator, client_for):
    incident = open_incident(severity=Severity.SEV2, category=Category.OTHER)
    client = client_for(operator)
    client.post(
        f"/api/v1/incidents/{incident.number}/defer/",
        {"bug_tracker_url": "https://bugs.example/9"},
        format="json",
    )
    response = client.post(
        f"/api/v1/incidents/{incident.number}/severity/",
        {"severity": "SEV1", "reason": "Now blocks dispute resolution."},
        format="json",
    )
    data = response.json()
    assert data["severity"] == "SEV1"
    assert data["status"] == "open"
    done = {s["title"] for s in data["checklist"] if s["done"]}
    assert done == {"Document issue in bug tracker", "If becomes blocking, escalate to SEV1"}
    # The SEV1 immediate actions are appended after the SEV2/SEV3 process.
    assert [s["title"] for s in data["checklist"]][4] == "Check Dispute TTL and Timer Display"
    kinds = [e["kind"] for e in data["timeline"]]
    assert "severity_changed" in kinds


def test_escalate_moves_up_and_records_criterion(operator, client_for):
    incident = open_incident(severity=Severity.SEV1, category=Category.OTHER)
    client = client_for(operator)
    response = client.post(
        f"/api/v1/incidents/{incident.number}/escalate/",
        {"criterion": "hotfix_not_possible"},
        format="json",
    )
    assert response.json()["escalation_level"] == 2
    escalate_step = next(s for s in response.json()["checklist"] if s["title"].startswith("If"))
    assert escalate_step["done"] is True
    response = client.post(
        f"/api/v1/incidents/{incident.number}/escalate/",
        {"criterion": "pilot_cancellation"},
        format="json",
    )
    assert response.json()["escalation_level"] == 4
    bad = client.post(
        f"/api/v1/incidents/{incident.number}/escalate/", {"criterion": "nope"}, format="json"
    )
    assert bad.status_code == 400


def test_reopen_closed_needs_coordinator(engineer, coordinator, client_for):
    incident = _resolved_sev0()
    from incidents.services import incident_close

    incident_close(incident=incident, actor=None)
    refused = client_for(engineer).post(
        f"/api/v1/incidents/{incident.number}/reopen/", {"reason": "again"}, format="json"
    )
    assert refused.status_code == 403
    allowed = client_for(coordinator).post(
        f"/api/v1/incidents/{incident.number}/reopen/", {"reason": "again"}, format="json"
    )
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "open"
    assert allowed.json()["closed_at"] is None


def test_list_filters_and_fields(operator, client_for):
    a = open_incident(severity=Severity.SEV0)
    b = open_incident(severity=Severity.SEV2, category=Category.OTHER, title="Typo")
    incident_acknowledge(incident=b, actor=None)
    incident_resolve(incident=b, actor=None)
    client = client_for(operator)
    rows = client.get("/api/v1/incidents/").json()["results"]
    assert [r["number"] for r in rows] == [a.number, b.number]
    assert set(rows[0]) == {
        "number", "title", "severity", "category", "status", "escalation_level", "opened_at",
        "acknowledged_at", "resolved_at", "closed_at", "response_due_at", "escalation_due_at",
        "acknowledged_late", "resolved_late", "affected_deals", "dedup_key", "description",
        "impact", "root_cause", "resolution", "prevention", "lessons_learned", "reported_by",
        "resolved_by",
    }  # fmt: skip

    def numbers(query):
        return [r["number"] for r in client.get(f"/api/v1/incidents/?{query}").json()["results"]]

    assert numbers("status=resolved") == [b.number]
    assert numbers("severity=SEV0") == [a.number]
    assert numbers("category=other") == [b.number]
    assert numbers("level=1") == [a.number, b.number]
    assert numbers("level=2") == []
    assert numbers("open=true") == [a.number]
    assert numbers("open=false") == [b.number]
    bad = client.get("/api/v1/incidents/?severity=SEV7")
    assert bad.status_code == 400
    assert "severity" in bad.json()["error"]["fields"]


def test_unknown_number_is_json_404(operator, client_for):
    response = client_for(operator).get("/api/v1/incidents/999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_retrieve_detail_has_checklist_and_timeline(auditor, client_for):
    incident = open_incident()
    data = client_for(auditor).get(f"/api/v1/incidents/{incident.number}/").json()
    assert [s["title"] for s in data["checklist"]][:2] == [
        "Disable New Pilot Deals",
        "Preserve Logs + Export Affected Deal Timelines",
    ]
    assert {"id", "title", "done", "done_by", "done_at", "note"} <= set(data["checklist"][0])
    assert data["timeline"][0]["kind"] == "opened"

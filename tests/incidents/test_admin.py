"""The operator console: pages, per-role actions through confirmation pages, policy edits."""

import pytest

from core.models import AuditEvent
from incidents.enums import Severity, Status
from incidents.models import Incident, Playbook, PlaybookStep, SeverityPolicy
from incidents.services import incident_resolve
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

BASE = "/admin/incidents/incident"


def _act(client, incident: Incident, action: str, data: dict | None = None):
    return client.post(f"{BASE}/{incident.pk}/act/{action}/", data or {})


def test_changelist_change_and_add_pages(operator, client):
    incident = open_incident(actor=operator, title="Ledger mismatch")
    client.force_login(operator)
    listing = client.get(f"{BASE}/?q=%23001")
    assert listing.status_code == 200
    assert b"Incident #001" in listing.content
    page = client.get(f"{BASE}/{incident.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Disable New Pilot Deals" in html  # checklist
    assert "Opened as SEV0" in html  # timeline
    assert "Immediate (&lt; 15 minutes)" in html  # severity policy next to the severity
    assert "Download incident log" in html
    assert f"{BASE}/{incident.pk}/act/acknowledge/" in html
    assert f"{BASE}/{incident.pk}/act/resolve/" not in html  # an operator may not resolve
    add = client.get(f"{BASE}/add/")
    assert add.status_code == 200
    assert "Next business day" in add.content.decode()  # every severity's policy on the form


def test_admin_open_incident(operator, client):
    client.force_login(operator)
    response = client.post(
        f"{BASE}/add/",
        {
            "title": "Deal stuck",
            "severity": "SEV1",
            "category": "deal_stuck",
            "description": "D-7 in INSPECTION for 9 days",
            "impact": "",
            "affected_deals_text": "D-7, D-8",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    incident = Incident.objects.get()
    assert incident.reported_by == operator
    assert incident.affected_deals == ["D-7", "D-8"]
    assert incident.checklist.count() == 9


def test_confirmation_page_then_action(operator, client):
    incident = open_incident()
    client.force_login(operator)
    confirm = client.get(f"{BASE}/{incident.pk}/act/acknowledge/")
    assert confirm.status_code == 200
    assert b"Confirm" in confirm.content
    incident.refresh_from_db()
    assert incident.status == Status.OPEN  # a GET changes nothing
    done = _act(client, incident, "acknowledge")
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.ACKNOWLEDGED
    assert incident.acknowledged_by == operator


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        ("operator", "acknowledge", True),
        ("auditor", "acknowledge", False),
        ("operator", "resolve", False),
        ("engineer", "resolve", True),
        ("engineer", "close", False),
        ("coordinator", "close", True),
        ("operator", "escalate", True),
        ("auditor", "note", False),
    ],
)
def test_admin_action_allowed_and_refused_per_role(role, action, allowed, member_of, client):
    incident = open_incident(severity=Severity.SEV2, category="other")
    if action == "close":
        incident_resolve(incident=incident, actor=None)
    data = {"criterion": "sev0_or_sev1", "text": "hello"}
    client.force_login(member_of(role))
    before = incident.timeline.count()
    response = _act(client, incident, action, data)
    incident.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        assert incident.timeline.count() > before
    else:
        assert response.status_code == 403
        assert incident.timeline.count() == before


def test_admin_forbidden_transition_shows_message(coordinator, client):
    incident = incident_resolve(incident=open_incident(), actor=None)  # SEV0, no post-mortem
    client.force_login(coordinator)
    response = _act(client, incident, "close")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert "close only after the post-mortem" in page.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED


def test_admin_tick_step(operator, auditor, client):
    incident = open_incident()
    step = incident.checklist.get(position=4)
    client.force_login(auditor)
    assert client.post(f"{BASE}/{incident.pk}/tick/{step.pk}/", {"note": "x"}).status_code == 403
    client.force_login(operator)
    assert client.post(f"{BASE}/{incident.pk}/tick/{step.pk}/", {"note": "ok"}).status_code == 302
    step.refresh_from_db()
    assert step.done
    assert step.done_by == operator


def test_admin_add_rollback_playbook(operator, client):
    incident = open_incident()
    playbook = Playbook.objects.get(slug="rollback-config")
    client.force_login(operator)
    _act(client, incident, "playbook", {"playbook": playbook.pk})
    titles = list(incident.checklist.order_by("position").values_list("title", flat=True))
    assert titles[-3:] == [
        "Disable Feature Flag",
        "Revert Template Version (If Needed)",
        "Restart Application",
    ]


def test_edit_postmortem_in_admin(operator, auditor, client):
    incident = open_incident()
    client.force_login(auditor)
    page = client.get(f"{BASE}/{incident.pk}/change/")
    assert page.status_code == 200  # view only
    assert b'name="root_cause"' not in page.content
    client.force_login(operator)
    page = client.get(f"{BASE}/{incident.pk}/change/")
    assert b'name="root_cause"' in page.content
    response = client.post(
        f"{BASE}/{incident.pk}/change/",
        {
            "title": incident.title,
            "description": "",
            "impact": "",
            "root_cause": "Race",
            "resolution": "",
            "prevention": "",
            "lessons_learned": "",
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.root_cause == "Race"
    assert incident.timeline.filter(kind="postmortem_edited").count() == 1


def test_severity_policy_editable_by_owner_only_and_audited(owner, coordinator, client):
    policy = SeverityPolicy.objects.get(severity="SEV1")
    url = f"/admin/incidents/severitypolicy/{policy.pk}/change/"
    form = {
        "name": policy.name,
        "definition": policy.definition,
        "impact": policy.impact,
        "response_time": "< 45 minutes",
        "response_minutes": "45",
        "response_clock": policy.response_clock,
        "immediate_actions": str(policy.immediate_actions_id),
        "change_reason": "Pilot volume doubled.",
    }
    client.force_login(coordinator)
    assert client.get(url).status_code == 200  # read-only view
    assert client.post(url, form).status_code == 403
    policy.refresh_from_db()
    assert policy.response_minutes == 60
    client.force_login(owner)
    assert client.post(url, form).status_code == 302
    policy.refresh_from_db()
    assert policy.response_minutes == 45
    event = AuditEvent.objects.get(action="severity_policy.update")
    assert event.actor == owner
    assert event.reason == "Pilot volume doubled."
    assert event.data["before"] == {"response_time": "< 1 hour", "response_minutes": 60}
    assert event.data["after"] == {"response_time": "< 45 minutes", "response_minutes": 45}


def test_playbook_step_edit_audited(owner, client):
    playbook = Playbook.objects.get(slug="timer-not-visible")
    steps = list(playbook.steps.order_by("position"))
    form = {
        "title": playbook.title,
        "category": playbook.category,
        "symptom": playbook.symptom,
        "cause": playbook.cause,
        "prevention": playbook.prevention,
        "notes": playbook.notes,
        "position": playbook.position,
        "change_reason": "clarify",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(len(steps)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        form |= {
            f"steps-{i}-id": str(step.pk),
            f"steps-{i}-playbook": str(playbook.pk),
            f"steps-{i}-position": str(step.position),
            f"steps-{i}-title": step.title + (" (backend + DB)" if i == 0 else ""),
            f"steps-{i}-detail": step.detail,
            f"steps-{i}-bound_action": step.bound_action,
        }
    client.force_login(owner)
    response = client.post(f"/admin/incidents/playbook/{playbook.pk}/change/", form)
    assert response.status_code == 302, response.content[:3000]
    assert PlaybookStep.objects.get(pk=steps[0].pk).title.endswith("(backend + DB)")
    event = AuditEvent.objects.get(action="playbook_step.update")
    assert event.data["after"]["title"].endswith("(backend + DB)")


@pytest.mark.parametrize("model", ["incident", "severitypolicy", "playbook", "timelineentry"])
def test_admin_smoke_every_model(model, auditor, client):
    incident = open_incident()
    client.force_login(auditor)
    assert client.get(f"/admin/incidents/{model}/").status_code == 200
    obj = {
        "incident": incident,
        "severitypolicy": SeverityPolicy.objects.first(),
        "playbook": Playbook.objects.first(),
        "timelineentry": incident.timeline.first(),
    }[model]
    assert obj is not None
    assert client.get(f"/admin/incidents/{model}/{obj.pk}/change/").status_code == 200
    assert client.get(f"/admin/incidents/{model}/add/").status_code == 403


def test_timeline_is_read_only_in_admin(owner, client):
    incident = open_incident()
    entry = incident.timeline.get()
    client.force_login(owner)
    url = f"/admin/incidents/timelineentry/{entry.pk}/change/"
    assert client.post(url, {"message": "rewritten"}).status_code == 403
    assert client.post(f"/admin/incidents/timelineentry/{entry.pk}/delete/").status_code == 403

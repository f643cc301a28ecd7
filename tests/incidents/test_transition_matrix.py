"""Every status, action and role: the service, the admin, the API and the console's buttons say
the same as the transition table (incidents/transitions.py). Each role is played by a person and
by the role's service account (the account behind ``create_api_key --role``), which is refused
the acts that must name a person whatever its permissions.

The service is run inside a savepoint that is rolled back, so one incident per state serves
every role and action. "Changed" means the service wrote a timeline row (every act that does
something does); "already" means it returned the incident unchanged."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client

from console.selectors.incident_page import BUTTONS, runbook_buttons
from core.errors import Conflict, NotAllowed, NotFound
from core.roles import ROLES as ROLE_INFO
from core.roles import Role
from core.selectors import is_service_account
from core.services import service_account_for_role
from incidents import services
from incidents.enums import BoundAction, Category, Severity, Status
from incidents.models import ChecklistStep, Incident, Playbook
from incidents.transitions import (
    TRANSITIONS,
    IncidentAction,
    Verdict,
    incident_actions_available,
    incident_runbook_live,
    transition_verdict,
)
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

ROLES = list(Role)
PERSON_ONLY = {act for act, transition in TRANSITIONS.items() if transition.person_only}
POSTMORTEM = {
    "root_cause": "Idempotency check raced.",
    "resolution": "Unique index on the key.",
    "prevention": "Staging idempotency tests.",
    "lessons_learned": "Test concurrency.",
}
# (status, severity, escalation level): every status, once deferrable at L1 and once a SEV0 at
# the top level (not deferrable, nothing to escalate to; the database keeps deferred incidents
# SEV2/SEV3, so that one is a SEV3 at the top level).
STATES = [(status, Severity.SEV2, 1) for status in Status.values] + [
    (status, Severity.SEV3 if status == Status.DEFERRED else Severity.SEV0, 4)
    for status in Status.values
]


class _Rollback(Exception):
    pass


def _incident(status: str, severity: str, level: int) -> Incident:
    incident = open_incident(severity=severity, category=Category.DUPLICATE_LEDGER)
    present = set(incident.checklist.values_list("bound_action", flat=True))
    last = incident.checklist.count()
    # A step for every bound act, so every console button has a row to appear in.
    ChecklistStep.objects.bulk_create(
        [
            ChecklistStep(incident=incident, position=last + i, title=f"Do {a}", bound_action=a)
            for i, a in enumerate((a for a in BoundAction.values if a not in present), start=1)
        ]
        + [ChecklistStep(incident=incident, position=last + 99, title="Plain step")]
    )
    Incident.objects.filter(pk=incident.pk).update(
        status=status, escalation_level=level, **POSTMORTEM
    )
    return Incident.objects.get(pk=incident.pk)


def _plain_step(incident: Incident) -> ChecklistStep:
    return incident.checklist.get(title="Plain step")


def _service(act: IncidentAction, incident: Incident, user: User) -> None:
    calls: dict[IncidentAction, Callable[[], Any]] = {
        IncidentAction.ACKNOWLEDGE: lambda: services.incident_acknowledge(
            incident=incident, actor=user
        ),
        IncidentAction.RESOLVE: lambda: services.incident_resolve(
            incident=incident, actor=user, resolution="fixed"
        ),
        IncidentAction.CLOSE: lambda: services.incident_close(incident=incident, actor=user),
        IncidentAction.DEFER: lambda: services.incident_defer(
            incident=incident, actor=user, bug_tracker_url="https://bugs.example/1"
        ),
        IncidentAction.REOPEN: lambda: services.incident_reopen(
            incident=incident, actor=user, reason="It came back."
        ),
        IncidentAction.ESCALATE: lambda: services.incident_escalate(
            incident=incident, actor=user, criterion="sev0_or_sev1"
        ),
        IncidentAction.SEVERITY: lambda: services.incident_change_severity(
            incident=incident, actor=user, severity=Severity.SEV1, reason="Reclassified."
        ),
        IncidentAction.NOTE: lambda: services.incident_add_note(
            incident=incident, actor=user, text="Looking."
        ),
        IncidentAction.PLAYBOOK: lambda: services.incident_add_playbook(
            incident=incident, actor=user, playbook=Playbook.objects.get(slug="rollback-config")
        ),
        IncidentAction.TICK: lambda: services.checklist_step_tick(
            incident=incident, step_id=_plain_step(incident).pk, actor=user
        ),
        IncidentAction.EDIT_LOG: lambda: services.incident_update_log(
            incident=incident, actor=user, changes={"impact": "Changed impact."}
        ),
    }
    calls[act]()


def _expected(incident: Incident, act: IncidentAction, user: User) -> str:
    verdict = transition_verdict(incident=incident, action=act, actor=user)
    if isinstance(verdict, NotAllowed):
        return "403"
    if isinstance(verdict, Conflict):
        return "409"
    return "changed" if verdict is Verdict.GO else "already"


def _service_outcome(act: IncidentAction, incident: Incident, user: User) -> str:
    before = incident.timeline.count()
    outcome = ""
    try:
        with transaction.atomic():
            _service(act, incident, user)
            outcome = "changed" if incident.timeline.count() > before else "already"
            raise _Rollback
    except _Rollback:
        pass
    except NotAllowed:
        outcome = "403"
    except Conflict:
        outcome = "409"
    except NotFound:
        outcome = "404"
    assert incident.timeline.count() == before  # rolled back: the next case sees the same state
    return outcome


# API route → (act, method, path suffix, body)
def _api_calls(incident: Incident) -> dict[IncidentAction, tuple[str, str, dict[str, Any]]]:
    n = incident.number
    return {
        IncidentAction.ACKNOWLEDGE: ("post", f"{n}/acknowledge/", {}),
        IncidentAction.RESOLVE: ("post", f"{n}/resolve/", {"resolution": "fixed"}),
        IncidentAction.CLOSE: ("post", f"{n}/close/", {}),
        IncidentAction.DEFER: (
            "post",
            f"{n}/defer/",
            {"bug_tracker_url": "https://bugs.example/1"},
        ),
        IncidentAction.REOPEN: ("post", f"{n}/reopen/", {"reason": "It came back."}),
        IncidentAction.ESCALATE: ("post", f"{n}/escalate/", {"criterion": "sev0_or_sev1"}),
        IncidentAction.SEVERITY: (
            "post",
            f"{n}/severity/",
            {"severity": "SEV1", "reason": "Reclassified."},
        ),
        IncidentAction.NOTE: ("post", f"{n}/notes/", {"text": "Looking."}),
        IncidentAction.TICK: (
            "post",
            f"{n}/checklist/{_plain_step(incident).pk}/tick/",
            {"note": "done"},
        ),
        IncidentAction.EDIT_LOG: ("patch", f"{n}/", {"impact": "Changed impact."}),
    }


def _api_outcome(client: Any, incident: Incident, method: str, path: str, body: dict) -> int:
    try:
        with transaction.atomic():
            response = getattr(client, method)(f"/api/v1/incidents/{path}", body, format="json")
            raise _Rollback
    except _Rollback:
        pass
    return int(response.status_code)


API_STATUS = {"changed": (200, 201), "already": (200, 201), "403": (403,), "409": (409,)}


def _offered(html: str) -> set[str]:
    return {a for a in IncidentAction if f'class="incident-action-{a}"' in html}


def _buttons(html: str) -> set[str]:
    return {b for b in BoundAction.values if f"runbook-{b} " in html or f'runbook-{b}"' in html}


def _accounts(make_member: Callable[[Role], User]) -> list[tuple[str, User]]:
    """A person in every role, then every role's service account (a machine-only role's
    members are service accounts already)."""
    people = [(str(role), make_member(role)) for role in ROLES]
    machines = [
        (f"svc-{role}", service_account_for_role(role=role))
        for role in ROLES
        if not ROLE_INFO[role].machine
    ]
    return people + machines


@pytest.mark.parametrize(("status", "severity", "level"), STATES)
def test_service_admin_api_and_console_agree_with_the_table(
    status, severity, level, make_member, client_for
):
    incident = _incident(status, severity, level)
    mismatches: list[str] = []
    for role, user in _accounts(make_member):
        expected = {act: _expected(incident, act, user) for act in IncidentAction}
        allowed = {act for act, e in expected.items() if e == "changed"}
        assert allowed == incident_actions_available(incident=incident, user=user)
        if is_service_account(user):
            assert not allowed & PERSON_ONLY, (role, allowed & PERSON_ONLY)
            for act in PERSON_ONLY:
                if user.has_perm(TRANSITIONS[act].perm):
                    assert expected[act] == "403", (role, act, expected[act])

        # 1. the service succeeds (and changes the incident) iff the table allows it
        for act in IncidentAction:
            got = _service_outcome(act, incident, user)
            if got != expected[act]:
                mismatches.append(f"service {role}/{act}: {got}, table {expected[act]}")

        # 2. the API answers 2xx iff allowed (or already the case), else the table's 403/409
        client = client_for(user)
        for act, (method, path, body) in _api_calls(incident).items():
            code = _api_outcome(client, incident, method, path, body)
            if code not in API_STATUS[expected[act]]:
                mismatches.append(f"api {role}/{act}: {code}, table {expected[act]}")

        # 3. the admin offers an action (a tick link, the save button) iff allowed
        browser = Client()
        browser.force_login(user)
        response = browser.get(f"/admin/incidents/incident/{incident.pk}/change/")
        if not user.is_staff:
            assert response.status_code == 302  # machine accounts have no admin
            continue
        assert response.status_code == 200, response.content[:300]
        html = response.content.decode()
        offered = _offered(html)
        from incidents.admin.actions import ACTIONS

        if offered != {a for a in ACTIONS if a in allowed}:
            mismatches.append(f"admin {role}: offers {sorted(offered)}, table {sorted(allowed)}")
        tick_link = f"/tick/{_plain_step(incident).pk}/" in html
        if tick_link != (IncidentAction.TICK in allowed):
            mismatches.append(f"admin {role}: tick link {tick_link}")
        save = 'name="_save"' in html
        if save != (IncidentAction.EDIT_LOG in allowed):
            mismatches.append(f"admin {role}: save button {save}")

        # 4. the console shows an incident act's button iff allowed; other apps' buttons while
        # the runbook is live, for those with the permission
        shown = _buttons(html)
        assert shown == set(runbook_buttons(incident=incident, user=user))
        for bound, spec in BUTTONS.items():
            if spec.act is not None:
                want = spec.act in allowed
            else:
                want = incident_runbook_live(incident) and user.has_perm(spec.perm)
            if (bound in shown) != want:
                mismatches.append(f"console {role}: button {bound} shown={bound in shown}")
    assert not mismatches, "\n".join(mismatches)


def test_the_table_covers_every_admin_action_and_api_route():
    from incidents.admin.actions import ACTIONS
    from incidents.api.views import LIFECYCLE_ROUTES, IncidentViewSet

    assert set(ACTIONS) <= set(TRANSITIONS)
    assert set(LIFECYCLE_ROUTES.values()) <= set(TRANSITIONS)
    for route, act in LIFECYCLE_ROUTES.items():
        assert IncidentViewSet.action_permissions[route] == TRANSITIONS[act].perm


# --- where the copies disagreed, the services' version won ---------------------------------


def test_an_engineer_is_not_offered_reopening_a_closed_incident(make_member, client):
    """The admin offered "Reopen" on a closed incident to anyone who may reopen; the service
    refused unless they may also close. Now neither offers nor allows it."""
    incident = _incident(Status.CLOSED, Severity.SEV2, 1)
    engineer, coordinator = make_member(Role.ENGINEER), make_member(Role.COORDINATOR)
    client.force_login(engineer)
    html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert IncidentAction.REOPEN not in _offered(html)
    with pytest.raises(NotAllowed):
        services.incident_reopen(incident=incident, actor=engineer, reason="Back.")
    client.force_login(coordinator)
    html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert IncidentAction.REOPEN in _offered(html)
    reopened = services.incident_reopen(incident=incident, actor=coordinator, reason="Back.")
    assert reopened.status == Status.OPEN


def test_a_resolved_incidents_runbook_is_still_live(make_member):
    """The console hid the other apps' runbook buttons once resolved, while the services still
    ticked bound steps until closed: the runbook is live until the incident is closed."""
    operator = make_member(Role.OPERATOR)
    resolved = _incident(Status.RESOLVED, Severity.SEV0, 1)
    assert BoundAction.DISABLE_PILOT in runbook_buttons(incident=resolved, user=operator)
    step = services.incident_bound_action_done(
        incident=resolved, action=BoundAction.DISABLE_PILOT, actor=operator
    )
    assert step is not None
    assert step.done

    closed = _incident(Status.CLOSED, Severity.SEV0, 1)
    assert runbook_buttons(incident=closed, user=operator) == {}
    assert (
        services.incident_bound_action_done(
            incident=closed, action=BoundAction.DISABLE_PILOT, actor=operator
        )
        is None
    )
    assert not closed.checklist.filter(bound_action=BoundAction.DISABLE_PILOT, done=True).exists()

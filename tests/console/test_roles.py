"""Buttons appear only for roles that may use them, and the server refuses the act anyway:
the dashboard's approvals, the incident page's runbook buttons, forged POSTs."""

import pytest
from django.test import Client

from incidents.enums import BoundAction
from pilot.enums import ChangeStatus, PilotState
from pilot.models import ChangeRequest, ConfigRevision
from pilot.selectors import pilot_config_current

pytestmark = pytest.mark.django_db


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_dashboard_for_the_operator_and_the_coordinator(
    sev0, roster, resume_request, operator, coordinator, auditor, client
):
    client.force_login(operator)
    html = page(client, "/admin/")
    assert "DISABLED" in html  # the pilot state (banner and panel)
    assert sev0.label in html
    assert 'class="console-countdown' in html
    assert "data-countdown=" in html
    assert "0 change requests await your approval" in html
    assert f"/admin/pilot/changerequest/{resume_request.pk}/approve/" not in html
    assert "1 open finding" in html
    assert "Roster gap: nobody on call" in html  # L3 has members but no shift
    assert "Roster gap: nobody on this level" in html  # L4 has nobody at all
    assert operator.username in html  # L1 on call now
    assert "All models (administration)" in html  # the app list, collapsed

    client.force_login(auditor)  # read-only: the same picture, nothing to approve
    html = page(client, "/admin/")
    assert sev0.label in html
    assert "0 change requests await your approval" in html

    client.force_login(coordinator)
    html = page(client, "/admin/")
    assert "1 change request awaits your approval" in html
    assert f"/admin/pilot/changerequest/{resume_request.pk}/approve/" in html


def test_the_requester_sees_no_approve_button_for_their_own_request(
    sev0, resume_request, owner, engineer, client
):
    client.force_login(engineer)  # the requester (and an engineer cannot approve anyway)
    assert "/approve/" not in page(client, "/admin/")
    client.force_login(owner)
    assert f"/admin/pilot/changerequest/{resume_request.pk}/approve/" in page(client, "/admin/")


def _buttons(html: str) -> set[str]:
    return {a for a in BoundAction.values if f"runbook-{a}" in html}


def test_runbook_buttons_by_role(sev0, operator, engineer, auditor, client):
    url = f"/admin/incidents/incident/{sev0.pk}/change/"
    client.force_login(operator)
    html = page(client, url)
    assert _buttons(html) >= {
        BoundAction.DISABLE_PILOT,
        BoundAction.EXPORT_TIMELINES,
        BoundAction.IDENTIFY_KEYS,
        BoundAction.RE_ENABLE_PILOT,
    }
    assert f"/admin/pilot/configrevision/kill-switch/?incident={sev0.number}" in html
    assert f"/admin/ledger_audit/timelineexport/request/?incident={sev0.number}" in html
    assert f"/admin/ledger_audit/finding/review-keys/{sev0.number}/" in html
    assert "action=enable" in html
    assert 'id="blast-radius"' in html
    assert 'id="incident-deadlines"' in html
    assert 'id="response-countdown"' in html

    client.force_login(auditor)  # read-only: sees the runbook, no button
    html = page(client, url)
    assert "Disable New Pilot Deals" in html
    assert _buttons(html) == set()


def test_rollback_and_revert_buttons_need_an_engineer(rollback_sev0, operator, engineer, client):
    url = f"/admin/incidents/incident/{rollback_sev0.pk}/change/"
    client.force_login(operator)
    html = page(client, url)
    assert BoundAction.RECORD_ROLLBACK not in _buttons(html)
    assert BoundAction.REVERT_TEMPLATE not in _buttons(html)
    client.force_login(engineer)
    html = page(client, url)
    assert {BoundAction.RECORD_ROLLBACK, BoundAction.REVERT_TEMPLATE} <= _buttons(html)
    assert f"/admin/pilot/rollbackrecord/record-code/?incident={rollback_sev0.number}" in html


@pytest.fixture
def rollback_sev0(sev0, owner):
    from incidents.models import Playbook
    from incidents.services import incident_add_playbook

    for slug in ("rollback-config", "rollback-code"):
        incident_add_playbook(incident=sev0, playbook=Playbook.objects.get(slug=slug), actor=owner)
    return sev0


def test_buttons_prefill_the_target_confirmation_pages(sev0, operator, client):
    client.force_login(operator)
    kill = page(client, f"/admin/pilot/configrevision/kill-switch/?incident={sev0.number}")
    assert f'name="incident" value="{sev0.number}"' in kill
    assert "Yes, disable new pilot deals now" in kill  # a confirmation, not the act
    assert pilot_config_current().enabled is True
    resume = page(
        client, f"/admin/pilot/changerequest/request/?action=enable&incident={sev0.number}"
    )
    assert '<option value="enable" selected>' in resume
    escalate = page(client, f"/admin/incidents/incident/{sev0.pk}/act/escalate/?level=3")
    assert '<option value="3" selected>' in escalate
    assert "What happens" in escalate
    assert "goes up (never down)" in escalate  # the page says what the action will do


def test_forged_approve_is_refused(resume_request, operator, engineer, coordinator, client):
    for user in (operator, engineer):  # no permission; the requester besides
        client.force_login(user)
        response = client.post(f"/admin/pilot/changerequest/{resume_request.pk}/approve/")
        assert response.status_code == 403
    resume_request.refresh_from_db()
    assert resume_request.status == ChangeStatus.PENDING
    assert pilot_config_current().state == PilotState.DISABLED

    client.force_login(coordinator)
    response = client.post(f"/admin/pilot/changerequest/{resume_request.pk}/approve/")
    assert response.status_code == 302
    resume_request.refresh_from_db()
    assert resume_request.status == ChangeStatus.APPLIED
    assert pilot_config_current().enabled is True


def test_forged_api_approve_and_kill_switch_are_refused(
    resume_request, operator, auditor, client_for, client
):
    api = client_for(operator)
    refused = api.post(f"/api/v1/pilot/change-requests/{resume_request.pk}/approve/")
    assert refused.status_code == 403
    revisions = ConfigRevision.objects.count()
    client.force_login(auditor)
    forged = client.post(
        "/admin/pilot/configrevision/kill-switch/", {"reason": "forged", "incident": ""}
    )
    assert forged.status_code == 403
    assert ConfigRevision.objects.count() == revisions
    assert ChangeRequest.objects.get(pk=resume_request.pk).status == ChangeStatus.PENDING

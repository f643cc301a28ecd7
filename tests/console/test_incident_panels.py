"""The incident page's parts from other apps arrive through incidents' panel hook: console's
deadlines above the checklist and its runbook buttons in the steps, ledger_audit's exports and
blast radius below; with nothing registered the page is incidents' own. Pilot's open-deal counts
arrive through the counter console registers."""

import pytest
from django.test import Client
from django.urls import reverse

from incidents import panels
from ledger_audit.services import export_request
from pilot import selectors as pilot_selectors

pytestmark = pytest.mark.django_db


def _page(user, incident) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_registered_panels_render_in_their_order(sev0, operator):
    export = export_request(incident=sev0, actor=operator)
    html = _page(operator, sev0)
    ids = ["incident-deadlines", "incident-runbook", "incident-exports", "blast-radius"]
    positions = [html.index(f'id="{i}"') for i in ids]
    assert positions == sorted(positions), dict(zip(ids, positions, strict=True))
    assert f'id="export-{export.pk}"' in html
    assert 'class="button console-runbook-button runbook-disable_pilot' in html
    assert [p.name for p in panels.registered_panels()] == [
        "console.deadlines",
        "ledger_audit.exports",
        "ledger_audit.blast_radius",
    ]


def test_without_registrations_the_page_is_incidents_own(sev0, operator, monkeypatch):
    export_request(incident=sev0, actor=operator)
    monkeypatch.setattr(panels, "_panels", {})
    monkeypatch.setattr(panels, "_step_buttons", {})
    html = _page(operator, sev0)
    assert 'id="incident-runbook"' in html  # the checklist and timeline are incidents' own
    assert 'id="incident-timeline"' in html
    assert "Disable New Pilot Deals" in html
    for absent in ('id="incident-deadlines"', 'id="incident-exports"', 'id="blast-radius"'):
        assert absent not in html
    assert "console-runbook-button" not in html
    assert "ticks itself: Disable the pilot" in html  # a bound step with no button says so


def test_a_done_step_shows_no_button(sev0, operator):
    from pilot.services import pilot_disable

    pilot_disable(actor=operator, reason="stop", incident=sev0)  # ticks the disable steps
    html = _page(operator, sev0)
    assert "runbook-disable_pilot" not in html
    assert "runbook-export_timelines" in html


def test_open_deal_counts_come_from_the_registered_counter(seeded, owner, monkeypatch):
    from django.utils import timezone

    from ledger_audit.models import Deal

    Deal.objects.create(
        deal_id="d1", state="FUNDED", state_since=timezone.now(), template_version="v2"
    )
    assert pilot_selectors.open_deal_counts() == {"v2": 1}
    client = Client()
    client.force_login(owner)
    url = reverse("admin:pilot_templateversion_changelist")
    monkeypatch.setattr(pilot_selectors, "_open_deal_counter", None)
    assert pilot_selectors.open_deal_counts() is None
    page = client.get(url).content.decode()
    assert '<td class="field-open_deals">n/a</td>' in page

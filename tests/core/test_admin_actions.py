"""The one confirmation-page pattern and the one DomainError → admin message rule
(core/admin_actions.py), seen through pages of three apps."""

from typing import Any

import pytest
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import RequestFactory
from django.urls import reverse

from core.admin_actions import DomainErrorMessageAdmin
from incidents.models import SeverityPolicy
from incidents.services import severity_policy_update
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db


def test_each_page_looks_up_its_model_then_its_app_then_the_base(seeded, operator, client):
    incident = open_incident()
    client.force_login(operator)
    pages = {
        "incidents/incident": f"/admin/incidents/incident/{incident.pk}/act/acknowledge/",
        "pilot/configrevision": reverse("admin:pilot_kill_switch"),
        "ledger_audit/timelineexport": reverse("admin:ledger_audit_timelineexport_request")
        + f"?incident={incident.number}",
    }
    for model, url in pages.items():
        page = client.get(url)
        assert page.status_code == 200, url
        app = model.split("/")[0]
        assert page.template_name == [
            f"admin/{model}/action_confirmation.html",
            f"admin/{app}/action_confirmation.html",
            "admin/action_confirmation.html",
        ]
        used = [t.name for t in page.templates]
        assert "admin/action_confirmation.html" in used  # every override extends the base
        assert page.context["site_header"] == "Pilot Control Plane"  # admin_site.each_context
        assert page.context["available_apps"]  # the sidebar of every admin page
        assert 'class="button cancel-link"' in page.content.decode()
    override = client.get(pages["incidents/incident"])
    assert "admin/incidents/incident/action_confirmation.html" in [
        t.name for t in override.templates
    ]
    assert "the response clock stops" in override.content.decode()  # the override's block


def test_the_cancel_link_and_breadcrumb_lead_back_to_the_object(operator, client):
    incident = open_incident()
    client.force_login(operator)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/act/note/")
    change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
    html = page.content.decode()
    assert f'<a href="{change_url}" class="button cancel-link">' in html
    assert f'<a href="{change_url}">{incident.label}</a>' in html  # breadcrumb
    assert page.context["object"] == incident
    assert 'name="text"' in html  # the action's form


class RefusingPolicyAdmin(DomainErrorMessageAdmin):
    """Saves as the system, which the policy service refuses (edits must name a person)."""

    fields = ("name",)

    def save_model(self, request, obj, form, change):
        severity_policy_update(policy=obj, actor=None, changes={"name": obj.name}, reason="")


def test_a_refused_change_form_save_is_a_message_not_a_500(admin_user):
    policy = SeverityPolicy.objects.get(severity="SEV2")
    model_admin = RefusingPolicyAdmin(SeverityPolicy, AdminSite(name="refusing"))
    path = f"/admin/incidents/severitypolicy/{policy.pk}/change/"
    request: Any = RequestFactory().post(path, {"name": "Renamed"})
    request.user = admin_user
    request._dont_enforce_csrf_checks = True
    request._messages = CookieStorage(request)
    response = model_admin.changeform_view(request, str(policy.pk))
    assert response.status_code == 302
    assert response["Location"] == path
    shown = [(m.level, m.message) for m in request._messages]
    assert shown == [(messages.ERROR, "Only the decision owner may edit the runbook's policies.")]
    policy.refresh_from_db()
    assert policy.name != "Renamed"

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from pilot.enums import ChangeStatus
from pilot.models import ChangeRequest, ConfigRevision
from pilot.services import change_request_create, pilot_disable


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


MODELS = (
    "configrevision",
    "changerequest",
    "templateversion",
    "featureflag",
    "rollbackrecord",
    "webhooksubscription",
    "webhookdelivery",
)


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_with_the_banner(seeded, owner, model):
    response = _login(owner).get(reverse(f"admin:pilot_{model}_changelist"))
    assert response.status_code == 200
    assert b'id="pilot-banner"' in response.content


def test_banner_shows_state_version_revision_and_reason(seeded, operator):
    pilot_disable(actor=operator, reason="duplicate ledger entries seen")
    page = _login(operator).get(reverse("admin:index")).content.decode()
    assert "DISABLED" in page
    assert "r2" in page
    assert "v1" in page
    assert "duplicate ledger entries seen" in page


def test_revision_detail_and_diff_view(seeded, operator):
    pilot_disable(actor=operator, reason="stop")
    client = _login(operator)
    detail = client.get(
        reverse("admin:pilot_configrevision_change", args=[ConfigRevision.objects.get(number=2).pk])
    )
    assert detail.status_code == 200
    assert b"state: running \xe2\x86\x92 disabled" in detail.content
    diff = client.get(reverse("admin:pilot_configrevision_diff"), {"a": 1, "b": 2})
    assert diff.status_code == 200
    assert b'id="revision-diff"' in diff.content
    assert b"<td>enabled</td><td>True</td><td>False</td>" in diff.content


def test_kill_switch_page_confirms_then_disables(seeded, operator):
    client = _login(operator)
    url = reverse("admin:pilot_kill_switch")
    page = client.get(url)
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    assert client.post(url, {"reason": ""}).status_code == 200  # form error, nothing done
    assert ConfigRevision.objects.count() == 1
    done = client.post(url, {"reason": "SEV0 drill"})
    assert done.status_code == 302
    assert ConfigRevision.objects.get(number=2).enabled is False


@pytest.mark.parametrize("view", ["admin:pilot_kill_switch", "admin:pilot_pause"])
def test_admin_actions_are_refused_without_the_permission(seeded, auditor, view):
    assert _login(auditor).get(reverse(view)).status_code == 403
    assert _login(auditor).post(reverse(view), {"reason": "x"}).status_code == 403
    assert ConfigRevision.objects.count() == 1


def test_approve_page_enforces_four_eyes(seeded, make_member):
    coordinator = make_member(Role.COORDINATOR)
    other = make_member(Role.COORDINATOR)
    request = change_request_create(
        actor=coordinator,
        action="set_template_version",
        params={"version": "v2"},
        reason="launch",
    )
    url = reverse("admin:pilot_changerequest_approve", args=[request.pk])
    assert _login(coordinator).get(url).status_code == 200
    _login(coordinator).post(url)
    request.refresh_from_db()
    assert request.status == ChangeStatus.PENDING
    assert _login(other).post(url).status_code == 302
    request.refresh_from_db()
    assert request.status == ChangeStatus.APPLIED
    assert ConfigRevision.objects.get(number=2).template_version == "v2"


def test_operators_cannot_open_the_approval_page(seeded, operator, engineer):
    request = change_request_create(
        actor=engineer, action="flag_on", params={"flag": "hotfix_timer_display"}, reason="r"
    )
    url = reverse("admin:pilot_changerequest_approve", args=[request.pk])
    assert _login(operator).post(url).status_code == 403
    assert ChangeRequest.objects.get().status == ChangeStatus.PENDING


def test_pending_requests_awaiting_you(seeded, engineer, make_member):
    coordinator = make_member(Role.COORDINATOR)
    theirs = change_request_create(
        actor=engineer, action="flag_on", params={"flag": "hotfix_timer_display"}, reason="fix"
    )
    change_request_create(
        actor=coordinator, action="set_template_version", params={"version": "v2"}, reason="v2"
    )
    page = _login(coordinator).get(
        reverse("admin:pilot_changerequest_changelist"), {"awaiting": "me"}
    )
    assert page.status_code == 200
    assert b"1 pending request awaits you" in page.content
    assert list(page.context["cl"].result_list) == [theirs]


def test_reject_page_needs_a_reason(seeded, engineer, coordinator):
    request = change_request_create(
        actor=engineer, action="flag_on", params={"flag": "hotfix_timer_display"}, reason="x"
    )
    url = reverse("admin:pilot_changerequest_reject", args=[request.pk])
    client = _login(coordinator)
    assert client.post(url, {"reason": ""}).status_code == 200
    assert client.post(url, {"reason": "not now"}).status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decision_reason) == ("rejected", "not now")


def test_request_change_page_files_a_request(seeded, operator, engineer):
    pilot_disable(actor=operator, reason="stop")
    url = reverse("admin:pilot_changerequest_request")
    response = _login(operator).post(url, {"action": "enable", "params": "{}", "reason": "fixed"})
    assert response.status_code == 302
    assert ChangeRequest.objects.get().requested_by == operator


def test_template_versions_show_open_deals(seeded, owner):
    from django.utils import timezone

    from ledger_audit.models import Deal

    Deal.objects.create(
        deal_id="d1", state="FUNDED", state_since=timezone.now(), template_version="v1"
    )
    Deal.objects.create(
        deal_id="d2", state="RELEASED", state_since=timezone.now(), template_version="v1"
    )
    page = _login(owner).get(reverse("admin:pilot_templateversion_changelist"))
    assert page.status_code == 200
    assert b'<td class="field-open_deals">1</td>' in page.content


def test_revision_changelist_query_count(
    seeded, operator, engineer, coordinator, sev0_incident, django_assert_max_num_queries
):
    from pilot.services import change_request_approve

    for i in range(4):
        pilot_disable(actor=operator, reason=f"stop {i}", incident=sev0_incident)
        request = change_request_create(actor=engineer, action="enable", reason=f"go {i}")
        change_request_approve(change_request=request, actor=coordinator)
    assert ConfigRevision.objects.count() == 9
    client = _login(operator)
    client.get(reverse("admin:pilot_configrevision_changelist"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:pilot_configrevision_changelist")).status_code == 200


def test_code_rollback_page_records_with_the_checklist(seeded, engineer, coordinator, operator):
    from pilot.models import RollbackRecord

    url = reverse("admin:pilot_rollback_record_code")
    assert _login(operator).get(url).status_code == 403
    client = _login(engineer)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "from_commit": "deadbeef1",
            "to_commit": "cafebabe2",
            "reason": "hotfix broke timers",
            "what_reverted": "timer service patch",
            "impact_on_deals": "none",
            "verified_by": coordinator.pk,
            "steps_done": ["identify_commit", "revert_code", "deploy"],
        },
    )
    assert response.status_code == 302
    record = RollbackRecord.objects.get()
    assert record.verified_by == coordinator
    assert all(step["done"] for step in record.checklist)
    detail = client.get(reverse("admin:pilot_rollbackrecord_change", args=[record.pk]))
    assert detail.status_code == 200
    assert "☑" in detail.content.decode()

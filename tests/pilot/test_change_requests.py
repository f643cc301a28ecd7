import threading

import pytest
from django.db import connection

from core.roles import Role
from pilot.enums import ChangeStatus, PilotState
from pilot.models import ChangeRequest, ConfigRevision, RollbackRecord
from pilot.services import (
    change_request_approve,
    change_request_create,
    pilot_disable,
)
from tests.pilot.conftest import steps_done

CRS = "/api/v1/pilot/change-requests/"


def _file(client, action, params=None, reason="because", incident=None):
    body = {"action": action, "params": params or {}, "reason": reason}
    if incident is not None:
        body["incident"] = incident
    return client.post(CRS, body, format="json")


def test_resume_request_then_approval_by_another_person(
    seeded, operator, coordinator, client_for, sev0_incident
):
    pilot_disable(actor=operator, reason="SEV0", incident=sev0_incident)
    filed = _file(
        client_for(operator), "enable", reason="fix deployed", incident=sev0_incident.number
    )
    assert filed.status_code == 201, filed.content
    body = filed.json()
    assert body["status"] == "pending"
    assert body["base_revision"] == 2
    assert body["incident"] == sev0_incident.number

    approved = client_for(coordinator).post(f"{CRS}{body['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "applied"
    assert approved.json()["applied_revision"] == 3
    assert approved.json()["decided_by"] == coordinator.username
    head = ConfigRevision.objects.get(number=3)
    assert head.state == PilotState.RUNNING
    assert head.enabled
    assert head.change_request_id == body["id"]
    assert steps_done(sev0_incident, "re_enable_pilot") == [True]
    assert client_for(operator).get("/api/v1/pilot/config/").json()["enabled"] is True


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.OWNER])
def test_nobody_approves_their_own_request(seeded, make_member, client_for, role):
    person = make_member(role)
    pilot_disable(actor=person, reason="stop")
    request_id = _file(client_for(person), "enable").json()["id"]
    response = client_for(person).post(f"{CRS}{request_id}/approve/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "four_eyes"
    assert ChangeRequest.objects.get(pk=request_id).status == ChangeStatus.PENDING
    assert ConfigRevision.objects.count() == 2


def test_a_stale_request_is_refused_with_409(seeded, engineer, operator, coordinator, client_for):
    request_id = _file(client_for(engineer), "set_template_version", {"version": "v2"}).json()["id"]
    pilot_disable(actor=operator, reason="meanwhile")  # the config moves on
    response = client_for(coordinator).post(f"{CRS}{request_id}/approve/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale"
    request = ChangeRequest.objects.get(pk=request_id)
    assert request.status == ChangeStatus.STALE  # recorded, leaves the queue
    assert ConfigRevision.objects.count() == 2
    assert ConfigRevision.objects.get(number=2).template_version == "v1"


def test_an_approval_applies_once(seeded, engineer, coordinator, owner, client_for):
    request_id = _file(client_for(engineer), "flag_on", {"flag": "hotfix_timer_display"}).json()[
        "id"
    ]
    assert client_for(coordinator).post(f"{CRS}{request_id}/approve/").status_code == 200
    again = client_for(owner).post(f"{CRS}{request_id}/approve/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_pending"
    assert ConfigRevision.objects.count() == 2
    assert ConfigRevision.objects.get(number=2).flags["hotfix_timer_display"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_apply_once(make_member):
    from pilot.services import pilot_seed_demo

    pilot_seed_demo()
    engineer = make_member(Role.ENGINEER)
    approvers = [make_member(Role.COORDINATOR) for _ in range(4)]
    request = change_request_create(
        actor=engineer, action="flag_on", params={"flag": "hotfix_timer_display"}, reason="fix"
    )
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            barrier.wait()
            change_request_approve(change_request=request, actor=user)
            outcomes.append("applied")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied", "not_pending", "not_pending", "not_pending"]
    assert ConfigRevision.objects.count() == 2


def test_reject_records_a_reason(seeded, engineer, coordinator, client_for):
    request_id = _file(client_for(engineer), "set_template_version", {"version": "v2"}).json()["id"]
    missing = client_for(coordinator).post(
        f"{CRS}{request_id}/reject/", {"reason": ""}, format="json"
    )
    assert missing.status_code == 400
    rejected = client_for(coordinator).post(
        f"{CRS}{request_id}/reject/", {"reason": "not during the incident"}, format="json"
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "not during the incident"
    assert client_for(coordinator).post(f"{CRS}{request_id}/approve/").status_code == 409
    assert ConfigRevision.objects.count() == 1


def test_restore_revision_is_a_recorded_config_rollback(
    seeded, engineer, operator, coordinator, client_for
):
    pilot_disable(actor=operator, reason="stop")  # r2
    request_id = _file(client_for(engineer), "restore_revision", {"revision": 1}).json()["id"]
    assert client_for(coordinator).post(f"{CRS}{request_id}/approve/").status_code == 200
    head = ConfigRevision.objects.get(number=3)
    assert (head.state, head.template_version) == ("running", "v1")
    record = RollbackRecord.objects.get()
    assert record.from_revision is not None
    assert record.to_revision is not None
    assert (record.kind, record.from_revision.number, record.to_revision.number) == ("config", 2, 3)


def test_cancel_needs_the_decision_owner_and_is_terminal(
    seeded, engineer, coordinator, owner, operator, client_for
):
    request_id = _file(client_for(engineer), "cancel", reason="pilot over").json()["id"]
    assert client_for(coordinator).post(f"{CRS}{request_id}/approve/").status_code == 403
    assert client_for(owner).post(f"{CRS}{request_id}/approve/").status_code == 200
    assert client_for(operator).get("/api/v1/pilot/config/").json()["state"] == "cancelled"
    # Nothing moves a cancelled pilot; the kill switch stays harmless (no new revision).
    assert _file(client_for(engineer), "enable").status_code == 409
    assert (
        client_for(operator)
        .post("/api/v1/pilot/disable/", {"reason": "x"}, format="json")
        .status_code
        == 200
    )
    assert ConfigRevision.objects.count() == 2


def test_invalid_requests_are_refused_at_filing(seeded, engineer, client_for):
    client = client_for(engineer)
    assert _file(client, "enable").status_code == 409  # already running
    bad_version = _file(client, "set_template_version", {"version": "v9"})
    assert bad_version.status_code == 400
    assert "params.version" in bad_version.json()["error"]["fields"]
    assert _file(client, "flag_on", {"flag": "nope"}).status_code == 400
    assert _file(client, "restore_revision", {"revision": 1}).status_code == 400  # not earlier
    assert _file(client, "teleport").status_code == 400
    assert ChangeRequest.objects.count() == 0


def test_list_and_awaiting_me(seeded, engineer, coordinator, client_for):
    mine = _file(client_for(coordinator), "flag_on", {"flag": "hotfix_timer_display"}).json()["id"]
    theirs = _file(client_for(engineer), "set_template_version", {"version": "v2"}).json()["id"]
    listed = client_for(coordinator).get(CRS).json()["results"]
    assert {r["id"] for r in listed} == {mine, theirs}
    awaiting = client_for(coordinator).get(CRS, {"awaiting_me": "true"}).json()["results"]
    assert [r["id"] for r in awaiting] == [theirs]

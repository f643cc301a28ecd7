"""Four eyes compares people, never accounts.

The attacks: a decision owner mints a key in a colleague's name and approves their own change
request as that colleague; or mints a ``--role owner`` key and lets the machine approve, close,
reopen or edit policy. A person now holds keys only in their own name (the CLI, run by the
machine's operator, may do more and says so in the audit), and a service account is refused
every act that must name a person."""

import importlib
import io
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from core.errors import DomainError, NotAllowed
from core.models import ApiKey, AuditEvent, ServiceAccount
from core.roles import Role
from core.selectors import is_person, is_service_account
from core.services import member_create, roles_bootstrap
from incidents.enums import Severity, Status
from incidents.models import EscalationRule, Incident, SeverityPolicy
from incidents.services import severity_policy_update, sla_config_save
from pilot.enums import ChangeStatus
from pilot.models import ChangeRequest, ConfigRevision
from pilot.services import change_request_create, pilot_disable
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/api-keys/"
CRS = "/api/v1/pilot/change-requests/"
PERSON_REQUIRED = "must be done by a person, not a service account"


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def cli_key(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def refused_as_machine(response: Any) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "person_required", error
    assert PERSON_REQUIRED in error["message"]


@pytest.fixture
def svc_owner_key(db: None) -> str:
    """The attack's second key: ``create_api_key --role owner`` (the owner's service account)."""
    return cli_key("--name", "owner robot", "--role", "owner")


@pytest.fixture
def pending(seeded: ConfigRevision, engineer: User) -> ChangeRequest:
    return change_request_create(
        actor=engineer, action="set_template_version", params={"version": "v2"}, reason="v2 ok"
    )


# --- minting ---------------------------------------------------------------------------------


def test_an_owner_cannot_mint_a_key_for_another_person(client_for, owner, coordinator) -> None:
    as_owner = client_for(owner)
    before_events = AuditEvent.objects.filter(action="api_key.create").count()
    response = as_owner.post(
        KEYS, {"name": "as coordinator", "user": coordinator.username}, format="json"
    )
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "not_own_key"
    assert not ApiKey.objects.filter(user=coordinator).exists()
    assert AuditEvent.objects.filter(action="api_key.create").count() == before_events


def test_the_admin_refuses_a_key_for_another_person_with_a_message(owner, coordinator) -> None:
    browser = Client()
    browser.force_login(owner)
    response = browser.post(
        "/admin/core/apikey/add/",
        {"name": "as coordinator", "user": coordinator.pk, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert any("only for themselves" in m for m in messages), messages
    assert not ApiKey.objects.filter(user=coordinator).exists()


def test_an_owner_mints_their_own_key_and_role_keys_through_the_api(client_for, owner) -> None:
    as_owner = client_for(owner)
    own = as_owner.post(KEYS, {"name": "laptop", "user": owner.username}, format="json")
    assert own.status_code == 201, own.content
    assert bearer(own.json()["key"]).get("/api/v1/me/").json()["username"] == owner.username
    role = as_owner.post(KEYS, {"name": "platform", "role": "api-client"}, format="json")
    assert role.status_code == 201, role.content
    assert role.json()["user"] == "svc-api-client"
    machine = User.objects.get(username="svc-api-client")
    assert is_service_account(machine)
    vias = dict(
        AuditEvent.objects.filter(action="api_key.create").values_list("target_id", "data__via")
    )
    assert vias[str(own.json()["id"])] == "api"
    assert vias[str(role.json()["id"])] == "api"


def test_a_service_account_cannot_mint_keys_through_the_api(svc_owner_key) -> None:
    count = ApiKey.objects.count()
    response = bearer(svc_owner_key).post(KEYS, {"name": "more", "role": "owner"}, format="json")
    refused_as_machine(response)
    assert ApiKey.objects.count() == count


def test_the_cli_may_mint_for_another_user_and_the_audit_says_so(coordinator) -> None:
    raw = cli_key("--name", "coordinator laptop", "--user", coordinator.username)
    assert bearer(raw).get("/api/v1/me/").json()["username"] == coordinator.username
    key = ApiKey.objects.get(name="coordinator laptop")
    event = AuditEvent.objects.get(action="api_key.create", target_id=str(key.pk))
    assert event.actor is None  # the machine's operator, not a person of the system
    assert event.data["via"] == "cli"
    assert event.data["after"]["user"] == coordinator.username


def test_no_person_takes_a_service_account_name(make_member) -> None:
    roles_bootstrap()
    with pytest.raises(DomainError, match="kept for service accounts"):
        member_create(username="svc-owner", role=Role.OWNER, password="pw")
    assert not User.objects.filter(username="svc-owner").exists()


# --- four eyes -------------------------------------------------------------------------------


def test_the_attack_a_key_in_a_colleagues_name_to_approve_ones_own_request(
    seeded, owner, coordinator, client_for
) -> None:
    as_owner = client_for(owner)
    pilot_disable(actor=owner, reason="stop")
    filed = as_owner.post(CRS, {"action": "enable", "params": {}, "reason": "go"}, format="json")
    assert filed.status_code == 201, filed.content
    minted = as_owner.post(KEYS, {"name": "borrowed", "user": coordinator.username}, format="json")
    if minted.status_code == 201:  # what the attack did: approve as the colleague
        bearer(minted.json()["key"]).post(f"{CRS}{filed.json()['id']}/approve/")
    assert minted.status_code == 403, minted.content
    request = ChangeRequest.objects.get(pk=filed.json()["id"])
    assert request.status == ChangeStatus.PENDING
    assert request.decided_by is None


def test_an_owners_own_request_cannot_be_approved_with_a_second_key_of_theirs(
    seeded, owner, client_for
) -> None:
    pilot_disable(actor=owner, reason="stop")
    filed = client_for(owner).post(
        CRS, {"action": "enable", "params": {}, "reason": "resume"}, format="json"
    )
    assert filed.status_code == 201, filed.content
    second = client_for(owner)  # another key, same person
    response = second.post(f"{CRS}{filed.json()['id']}/approve/")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "four_eyes"
    request = ChangeRequest.objects.get(pk=filed.json()["id"])
    assert request.status == ChangeStatus.PENDING
    assert request.decided_by is None
    assert ConfigRevision.objects.count() == 2


def test_a_service_key_cannot_approve_or_reject(pending, svc_owner_key) -> None:
    machine = bearer(svc_owner_key)
    refused_as_machine(machine.post(f"{CRS}{pending.pk}/approve/"))
    refused_as_machine(machine.post(f"{CRS}{pending.pk}/reject/", {"reason": "no"}, format="json"))
    pending.refresh_from_db()
    assert pending.status == ChangeStatus.PENDING
    assert pending.decided_by is None
    assert ConfigRevision.objects.count() == 1


def test_a_service_key_cannot_file_a_change_request(seeded, svc_owner_key) -> None:
    """Its request would be its key holder's own: a person could then approve it as the
    "second" pair of eyes."""
    response = bearer(svc_owner_key).post(
        CRS,
        {"action": "flag_on", "params": {"flag": "hotfix_timer_display"}, "reason": "x"},
        format="json",
    )
    refused_as_machine(response)
    assert not ChangeRequest.objects.exists()


def test_a_request_filed_by_a_machine_before_the_rule_cannot_be_approved(
    pending, coordinator, client_for
) -> None:
    ServiceAccount.objects.create(user=pending.requested_by)  # as if filed by a machine
    response = client_for(coordinator).post(f"{CRS}{pending.pk}/approve/")
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "four_eyes"
    pending.refresh_from_db()
    assert pending.status == ChangeStatus.PENDING
    rejected = client_for(coordinator).post(
        f"{CRS}{pending.pk}/reject/", {"reason": "file it as a person"}, format="json"
    )
    assert rejected.status_code == 200, rejected.content
    assert rejected.json()["status"] == "rejected"


def test_the_kill_switch_stays_open_to_a_service_key(seeded) -> None:
    """Towards safety, always allowed: an automation with an operator role key disables."""
    raw = cli_key("--name", "automation", "--role", "operator")
    response = bearer(raw).post("/api/v1/pilot/disable/", {"reason": "alert"}, format="json")
    assert response.status_code in (200, 201), response.content
    head = ConfigRevision.objects.order_by("-number").first()
    assert head is not None
    assert head.enabled is False


# --- incidents: close and reopen -----------------------------------------------------------


def _incident_in(status: str) -> Incident:
    incident = open_incident(severity=Severity.SEV2)
    Incident.objects.filter(pk=incident.pk).update(status=status)
    return Incident.objects.get(pk=incident.pk)


def test_a_service_key_cannot_close_or_reopen(svc_owner_key, coordinator, client_for) -> None:
    machine = bearer(svc_owner_key)
    resolved, closed = _incident_in(Status.RESOLVED), _incident_in(Status.CLOSED)
    refused_as_machine(machine.post(f"/api/v1/incidents/{resolved.number}/close/"))
    refused_as_machine(
        machine.post(
            f"/api/v1/incidents/{closed.number}/reopen/", {"reason": "back"}, format="json"
        )
    )
    resolved.refresh_from_db()
    closed.refresh_from_db()
    assert (resolved.status, closed.status) == (Status.RESOLVED, Status.CLOSED)
    # the same acts by a person go through
    person = client_for(coordinator)
    assert person.post(f"/api/v1/incidents/{resolved.number}/close/").status_code == 200
    reopened = person.post(
        f"/api/v1/incidents/{closed.number}/reopen/", {"reason": "back"}, format="json"
    )
    assert reopened.status_code == 200, reopened.content
    assert reopened.json()["status"] == Status.OPEN


# --- policy edits --------------------------------------------------------------------------


def test_a_service_account_cannot_edit_policy(svc_owner_key, owner) -> None:
    machine = User.objects.get(username="svc-owner")
    policy = SeverityPolicy.objects.order_by("pk").first()
    rule = EscalationRule.objects.order_by("pk").first()
    assert policy is not None
    assert rule is not None
    old_name, old_rule_name = policy.name, rule.name
    with pytest.raises(NotAllowed, match=PERSON_REQUIRED):
        severity_policy_update(policy=policy, actor=machine, changes={"name": "Renamed"})
    rule.name = "Renamed rule"
    with pytest.raises(NotAllowed, match=PERSON_REQUIRED):
        sla_config_save(instance=rule, actor=machine, changed=["name"])
    policy.refresh_from_db()
    assert policy.name == old_name
    assert EscalationRule.objects.get(pk=rule.pk).name == old_rule_name
    # the decision owner in person may
    severity_policy_update(policy=policy, actor=owner, changes={"name": "Renamed"})
    assert SeverityPolicy.objects.get(pk=policy.pk).name == "Renamed"


# --- recognising a machine -----------------------------------------------------------------


def test_a_machine_is_a_service_account_row_not_a_name(make_member) -> None:
    person = make_member(Role.OWNER)
    assert is_person(person)
    assert not is_service_account(person)
    platform = make_member(Role.API_CLIENT)  # a machine-only role
    assert is_service_account(platform)
    assert not is_person(platform)


def test_the_migration_marks_the_service_accounts_made_before(db: None) -> None:
    roles_bootstrap()
    old_svc = User.objects.create(username="svc-owner", password="!unusable")
    person_named_svc = User.objects.create(username="svc-auditor", password="pbkdf2_sha256$x")
    person = User.objects.create(username="alice", password="!unusable")
    migration = importlib.import_module("core.migrations.0004_service_account")
    migration.mark_existing_service_accounts(django_apps, None)
    marked = set(ServiceAccount.objects.values_list("user__username", flat=True))
    assert old_svc.username in marked
    assert person_named_svc.username not in marked
    assert person.username not in marked

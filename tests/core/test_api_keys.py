"""API key life cycle: create, use, revoke, expire; stored only as a keyed hash."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.errors import NotAllowed
from core.models import ApiKey, AuditEvent
from core.roles import Role
from core.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_key_is_stored_only_as_a_hash_and_authenticates(api_user) -> None:
    issued = api_key_create(name="platform", user=api_user)
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert issued.raw not in (row.digest, row.prefix)
    assert len(issued.raw.split("_", 2)[2]) >= 43  # 32 random bytes, url-safe base64: 256 bits
    response = bearer(issued.raw).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == api_user.username
    assert response.json()["auth"] == "api_key"
    assert response.json()["roles"] == ["api-client"]
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_wrong_key_with_a_real_prefix_is_refused(api_user) -> None:
    issued = api_key_create(name="platform", user=api_user)
    forged = issued.raw[:-4] + ("AAAA" if not issued.raw.endswith("AAAA") else "BBBB")
    response = bearer(forged).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revocation_takes_effect_on_the_next_request(api_user, owner) -> None:
    issued = api_key_create(name="platform", user=api_user)
    client = bearer(issued.raw)
    assert client.get("/api/v1/me/").status_code == 200
    api_key_revoke(api_key=issued.api_key, actor=owner, reason="rotated")
    assert client.get("/api/v1/me/").status_code == 401
    events = AuditEvent.objects.filter(target_type="core.apikey", target_id=str(issued.api_key.pk))
    assert list(events.values_list("action", flat=True)) == ["api_key.revoke", "api_key.create"]


def test_revoking_twice_records_once(api_user, owner) -> None:
    issued = api_key_create(name="platform", user=api_user)
    api_key_revoke(api_key=issued.api_key, actor=owner)
    api_key_revoke(api_key=issued.api_key, actor=owner)
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1


def test_expired_key_is_refused(api_user) -> None:
    issued = api_key_create(
        name="short-lived", user=api_user, expires_at=timezone.now() + timedelta(hours=1)
    )
    client = bearer(issued.raw)
    assert client.get("/api/v1/me/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert client.get("/api/v1/me/").status_code == 401


def test_only_owner_may_create_or_revoke_keys(api_user, operator, owner) -> None:
    with pytest.raises(NotAllowed):
        api_key_create(name="x", user=api_user, created_by=operator)
    issued = api_key_create(name="x", user=api_user, created_by=owner)
    with pytest.raises(NotAllowed):
        api_key_revoke(api_key=issued.api_key, actor=operator)


def test_api_key_endpoints_respect_roles(client_for, operator, owner, api_user) -> None:
    as_operator = client_for(operator)
    as_owner = client_for(owner)
    payload = {"name": "platform", "role": "api-client"}
    refused = as_operator.post("/api/v1/api-keys/", payload, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    created = as_owner.post("/api/v1/api-keys/", payload, format="json")
    assert created.status_code == 201, created.content
    raw = created.json()["key"]
    assert bearer(raw).get("/api/v1/me/").json()["username"] == "svc-api-client"
    listed = as_operator.get("/api/v1/api-keys/")
    assert listed.status_code == 200
    assert all("key" not in item and "digest" not in item for item in listed.json()["results"])
    key_id = created.json()["id"]
    assert as_operator.post(f"/api/v1/api-keys/{key_id}/revoke/").status_code == 403
    revoked = as_owner.post(f"/api/v1/api-keys/{key_id}/revoke/", {"reason": "t"}, format="json")
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False
    assert bearer(raw).get("/api/v1/me/").status_code == 401


def test_create_key_needs_exactly_one_owner(client_for, owner) -> None:
    response = client_for(owner).post("/api/v1/api-keys/", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert "exactly one of user or role" in response.json()["error"]["message"]


def test_create_api_key_command_prints_the_key_alone_on_its_last_line() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key", "--name", "platform", "--role", "api-client", stdout=out, stderr=err
    )
    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("pcp_")
    assert " " not in raw
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["roles"] == [Role.API_CLIENT.value]


def test_create_api_key_command_for_a_user_with_expiry(operator) -> None:
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--name",
        "laptop",
        "--user",
        operator.username,
        "--expires-in-days",
        "7",
        stdout=out,
        stderr=io.StringIO(),
    )
    key = ApiKey.objects.get(name="laptop")
    assert key.user == operator
    assert key.expires_at is not None
    assert timedelta(days=6, hours=23) < key.expires_at - timezone.now() <= timedelta(days=7)


def test_admin_add_shows_the_key_once(client, owner) -> None:
    client.force_login(owner)
    response = client.post(
        "/admin/core/apikey/add/",
        {"name": "from admin", "user": owner.pk, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    shown = [m for m in messages if "not shown again" in m]
    assert len(shown) == 1
    raw = shown[0].rsplit(" ", 1)[-1]
    assert bearer(raw).get("/api/v1/me/").json()["username"] == owner.username
    again = client.get("/admin/core/apikey/")
    assert raw not in again.content.decode()


def test_admin_add_is_refused_to_operators(client, operator) -> None:
    client.force_login(operator)
    assert client.get("/admin/core/apikey/add/").status_code == 403

"""The platform's hot path authenticates from the cache, and loses access the moment it should."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.roles import ROLES, Role
from core.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = "/api/v1/pilot/config/"


def _bearer(client, raw: str):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_repeated_config_read_runs_no_query(seeded, api_user) -> None:
    from rest_framework.test import APIClient

    client = _bearer(APIClient(), api_key_create(name="platform", user=api_user).raw)
    assert client.get(CONFIG).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        second = client.get(CONFIG)
    assert second.status_code == 200
    assert [q["sql"] for q in queries.captured_queries] == []


def test_revocation_beats_the_cache(seeded, api_user, owner) -> None:
    from rest_framework.test import APIClient

    issued = api_key_create(name="platform", user=api_user)
    client = _bearer(APIClient(), issued.raw)
    assert client.get(CONFIG).status_code == 200
    assert client.get(CONFIG).status_code == 200  # now cached
    api_key_revoke(api_key=issued.api_key, actor=owner)
    assert client.get(CONFIG).status_code == 401


def test_losing_the_role_beats_the_cache(seeded, api_user) -> None:
    from rest_framework.test import APIClient

    client = _bearer(APIClient(), api_key_create(name="platform", user=api_user).raw)
    assert client.get(CONFIG).status_code == 200
    api_user.groups.remove(Group.objects.get(name=ROLES[Role.API_CLIENT].group))
    assert client.get(CONFIG).status_code == 403


def test_deactivating_the_user_beats_the_cache(seeded, api_user) -> None:
    from rest_framework.test import APIClient

    client = _bearer(APIClient(), api_key_create(name="platform", user=api_user).raw)
    assert client.get(CONFIG).status_code == 200
    api_user.is_active = False
    api_user.save(update_fields=["is_active"])
    assert client.get(CONFIG).status_code == 401


def test_a_cached_key_acts_as_its_user(seeded, operator) -> None:
    """Writes made through a cached authentication name the right person."""
    from rest_framework.test import APIClient

    from pilot.selectors import pilot_config_current

    client = _bearer(APIClient(), api_key_create(name="laptop", user=operator).raw)
    assert client.get(CONFIG).status_code == 200
    response = client.post("/api/v1/pilot/disable/", {"reason": "SEV0 drill"}, format="json")
    assert response.status_code in (200, 201), response.content
    assert pilot_config_current().changed_by == operator.username

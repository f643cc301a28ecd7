import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.roles import Role
from pilot.cache import CACHE_KEY
from pilot.selectors import pilot_config_current
from pilot.services import pilot_disable, pilot_pause

CONFIG = "/api/v1/pilot/config/"


def test_config_has_the_contract_fields_and_an_etag(seeded, api_user, client_for):
    response = client_for(api_user).get(CONFIG)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "enabled",
        "state",
        "template_version",
        "flags",
        "revision",
        "changed_at",
        "changed_by",
        "reason",
    }
    assert body["enabled"] is True
    assert body["state"] == "running"
    assert body["template_version"] == "v1"
    assert body["flags"] == {"hotfix_dispute_resolution": False, "hotfix_timer_display": False}
    assert body["revision"] == 1
    assert body["changed_at"].endswith("+00:00")
    assert response["ETag"] == '"pilot-r1"'


def test_if_none_match_gives_304_until_the_config_changes(seeded, api_user, operator, client_for):
    client = client_for(api_user)
    etag = client.get(CONFIG)["ETag"]
    not_modified = client.get(CONFIG, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(CONFIG, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(CONFIG, HTTP_IF_NONE_MATCH='"pilot-r0"').status_code == 200

    pilot_disable(actor=operator, reason="kill")
    changed = client.get(CONFIG, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] == '"pilot-r2"'
    assert changed.json()["enabled"] is False


@pytest.mark.parametrize(
    "role",
    [Role.API_CLIENT, Role.OPERATOR, Role.ENGINEER, Role.COORDINATOR, Role.OWNER, Role.AUDITOR],
)
def test_config_is_readable_by_api_clients_and_all_staff(seeded, make_member, client_for, role):
    assert client_for(make_member(role)).get(CONFIG).status_code == 200


def test_config_needs_credentials(seeded):
    assert APIClient().get(CONFIG).status_code == 401


def test_config_before_initialisation_is_fail_safe(db, api_user, client_for):
    body = client_for(api_user).get(CONFIG).json()
    assert body["enabled"] is False
    assert body["revision"] == 0


def test_reads_fill_the_cache_and_a_newer_entry_is_never_overwritten(seeded, operator):
    assert cache.get(CACHE_KEY) is None
    assert pilot_config_current().revision == 1
    assert cache.get(CACHE_KEY)["revision"] == 1  # filled by the read

    # A writer stored r2; a slow reader that read r1 from the database before the commit then
    # tries to fill the cache: the guarded fill (add) leaves r2 in place.
    from pilot import cache as pilot_cache
    from pilot.selectors import ConfigSnapshot, revision_head
    from pilot.services import pilot_config_cache_refresh

    old = ConfigSnapshot.from_revision(revision_head())
    pilot_pause(actor=_coordinator(), reason="pause")
    pilot_config_cache_refresh()
    pilot_cache.fill(old.as_data())
    assert cache.get(CACHE_KEY)["revision"] == 2
    assert pilot_config_current().state == "paused"


def _coordinator():
    from core.services import member_create

    return member_create(username="coord-x", role=Role.COORDINATOR, password=None)


def test_with_redis_unreachable_the_config_answers_from_postgresql(
    seeded, operator, api_user, client_for, settings
):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    from django.core.cache import cache as live_cache

    with pytest.raises(Exception):  # noqa: B017, PT011 - proves the cache is really down
        live_cache.get("anything")
    client = client_for(api_user)
    response = client.get(CONFIG)
    assert response.status_code == 200
    assert response.json()["revision"] == 1
    # Writes still work with the cache down, and the next read sees them.
    assert (
        client_for(operator)
        .post("/api/v1/pilot/disable/", {"reason": "redis down too"}, format="json")
        .status_code
        == 200
    )
    response = client.get(CONFIG)
    assert response.status_code == 200
    assert response.json()["enabled"] is False

"""OFREP (OpenFeature Remote Evaluation Protocol): the kill switch, the template version and the
hotfix flags as OpenFeature flags, read from the config snapshot the config read serves."""

import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.roles import ROLES, Role
from core.services import api_key_create
from pilot.api import ofrep as ofrep_api
from pilot.services import pilot_disable

pytestmark = pytest.mark.django_db(transaction=True)

BULK = "/ofrep/v1/evaluate/flags"
CONFIG = "/api/v1/pilot/config/"
DISABLE = "/api/v1/pilot/disable/"
PER_PATH = {"X-Request-ID", "Content-Language", "Vary"}  # as in test_config_hot_path


def flag(key: str) -> str:
    return f"{BULK}/{key}"


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='k', user=user).raw}")
    return client


def _post(client: APIClient, path: str, body: Any = None, **extra: Any):
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, raw, content_type="application/json", **extra)


@pytest.fixture
def view_calls(monkeypatch):
    """Which OFREP requests reached the DRF views (the slow path)."""
    calls: list[str] = []
    for view in (ofrep_api.OfrepFlagView, ofrep_api.OfrepBulkView):
        original = view.post

        def counting(self, request, *args, _original=original, **kwargs):
            calls.append(request.path)
            return _original(self, request, *args, **kwargs)

        monkeypatch.setattr(view, "post", counting)
    return calls


def test_each_flag_is_its_config_field(seeded, api_user) -> None:
    client = _client(api_user)
    enabled = _post(client, flag("enabled"), {"context": {"targetingKey": "deal-1"}})
    assert enabled.status_code == 200
    assert enabled.json() == {
        "key": "enabled",
        "value": True,
        "reason": "STATIC",
        "variant": "on",
        "metadata": {"revision": 1, "state": "running"},
        "cacheable": False,
    }
    version = _post(client, flag("template_version")).json()
    assert (version["value"], version["variant"], version["reason"]) == ("v1", "v1", "STATIC")
    hotfix = _post(client, flag("hotfix_timer_display")).json()
    assert (hotfix["value"], hotfix["variant"]) == (False, "off")


def test_the_bulk_read_lists_every_flag(seeded, api_user) -> None:
    response = _post(_client(api_user), BULK, {})
    assert response.status_code == 200
    assert response["ETag"] == '"ofrep-r1"'
    flags = {f["key"]: f["value"] for f in response.json()["flags"]}
    assert flags == {
        "enabled": True,
        "template_version": "v1",
        "hotfix_dispute_resolution": False,
        "hotfix_timer_display": False,
    }
    assert {f["reason"] for f in response.json()["flags"]} == {"STATIC"}


def test_the_spec_error_codes(seeded, api_user) -> None:
    client = _client(api_user)
    missing = _post(client, flag("no_such_flag"))
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert missing.json()["key"] == "no_such_flag"
    for path in (flag("enabled"), BULK):
        not_json = _post(client, path, b"{not json")
        assert (not_json.status_code, not_json.json()["errorCode"]) == (400, "PARSE_ERROR")
        not_object = _post(client, path, [1, 2])
        assert (not_object.status_code, not_object.json()["errorCode"]) == (400, "PARSE_ERROR")
        bad_context = _post(client, path, {"context": "everyone"})
        assert bad_context.status_code == 400
        assert bad_context.json()["errorCode"] == "INVALID_CONTEXT"
    assert "key" not in _post(client, BULK, {"context": 1}).json()  # bulkEvaluationFailure


def test_an_uninitialised_pilot_is_off_by_default(db, api_user) -> None:
    answer = _post(_client(api_user), flag("enabled")).json()
    assert (answer["value"], answer["reason"], answer["variant"]) == (False, "DEFAULT", "off")
    assert answer["metadata"]["revision"] == 0


def test_refusals_are_401_403_429(seeded, api_user, make_member, settings, monkeypatch) -> None:
    from core.throttling import PerClientThrottle

    assert APIClient().post(BULK).status_code == 401
    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer pcp_nothing_here")
    assert _post(garbage, flag("enabled")).status_code == 401
    user = make_member(Role.API_CLIENT)
    client = _client(user)
    assert _post(client, BULK).status_code == 200
    user.groups.remove(Group.objects.get(name=ROLES[Role.API_CLIENT].group))
    assert _post(client, BULK).status_code == 403  # even when the key's entry was cached
    assert _post(client, flag("enabled")).status_code == 403

    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "2/min"})
    cache.clear()
    limited = _client(api_user)
    assert [_post(limited, BULK).status_code for _ in range(3)] == [200, 200, 429]
    assert limited.post(flag("enabled")).status_code == 429
    assert "Retry-After" in _post(limited, BULK)


def test_the_etag_changes_exactly_with_the_revision(seeded, api_user, operator) -> None:
    client = _client(api_user)
    first = _post(client, BULK)
    assert _post(client, BULK, {"context": {"targetingKey": "other"}})["ETag"] == first["ETag"]
    unchanged = _post(client, BULK, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged["ETag"] == '"ofrep-r1"'
    pilot_disable(actor=operator, reason="drill")
    changed = _post(client, BULK, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] == '"ofrep-r2"'
    assert _post(client, BULK, HTTP_IF_NONE_MATCH='W/"ofrep-r2"').status_code == 304


def test_ofrep_and_the_config_read_never_disagree(seeded, api_user, operator) -> None:
    client = _client(api_user)

    def both() -> tuple[dict[str, Any], dict[str, Any]]:
        config = client.get(CONFIG).json()
        flags = {f["key"]: f for f in _post(client, BULK).json()["flags"]}
        return config, flags

    for _ in ("running", "after the kill switch"):
        config, flags = both()
        assert flags["enabled"]["value"] is config["enabled"]
        assert flags["template_version"]["value"] == config["template_version"]
        assert {k: flags[k]["value"] for k in config["flags"]} == config["flags"]
        assert {f["metadata"]["revision"] for f in flags.values()} == {config["revision"]}
        single = _post(client, flag("enabled")).json()
        assert single["value"] is config["enabled"]
        pilot_disable(actor=operator, reason="drill")
    assert config["enabled"] is False
    assert config["revision"] == 2


# --- the hot path --------------------------------------------------------------------------


def _comparable(response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_PATH}
    return response.status_code, response.content, headers


@pytest.mark.parametrize(
    ("path", "body", "extra"),
    [
        (BULK, {"context": {"targetingKey": "d"}}, {}),
        (BULK, None, {"HTTP_IF_NONE_MATCH": '"ofrep-r1"'}),
        (flag("enabled"), {}, {}),
        (flag("nope"), {}, {}),
        (BULK, {"context": []}, {}),
    ],
)
def test_hot_and_slow_paths_answer_the_same(seeded, api_user, view_calls, path, body, extra):
    client = _client(api_user)
    slow = _post(client, path, body, **extra)  # fills the auth and config caches via the view
    assert view_calls == [path]
    with CaptureQueriesContext(connection) as queries:
        fast = _post(client, path, body, **extra)
    assert view_calls == [path], "the second read must not reach the view"
    assert queries.captured_queries == []
    assert _comparable(fast) == _comparable(slow)
    assert fast["Content-Security-Policy"] == slow["Content-Security-Policy"]


def test_a_disable_is_seen_by_the_next_hot_read(seeded, api_user, operator, view_calls) -> None:
    client = _client(api_user)
    _post(client, BULK)
    assert _post(client, flag("enabled")).json()["value"] is True
    calls = len(view_calls)
    assert _client(operator).post(DISABLE, {"reason": "drill"}, format="json").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        after = _post(client, flag("enabled"))
        bulk = _post(client, BULK, HTTP_IF_NONE_MATCH='"ofrep-r1"')
    assert after.json()["value"] is False
    assert (bulk.status_code, bulk["ETag"]) == (200, '"ofrep-r2"')
    assert len(view_calls) == calls
    assert queries.captured_queries == []


def test_a_hotfix_flag_never_shadows_the_kill_switch() -> None:
    from pilot.ofrep import flag_values
    from pilot.selectors import ConfigSnapshot

    snapshot = ConfigSnapshot(
        enabled=False,
        state="disabled",
        template_version="v1",
        flags={"enabled": True, "template_version": True, "hotfix_a": True},
        revision=3,
    )
    assert flag_values(snapshot) == {"enabled": False, "template_version": "v1", "hotfix_a": True}


def test_the_schema_documents_both_operations(client) -> None:
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    bulk, single = paths[BULK]["post"], paths[BULK + "/{key}"]["post"]
    assert set(bulk["responses"]) >= {"200", "304", "400"}
    assert set(single["responses"]) >= {"200", "400", "404"}
    not_found = single["responses"]["404"]["content"]["application/json"]["schema"]
    assert not_found["properties"]["errorCode"]["enum"] == ["FLAG_NOT_FOUND"]
    assert "context" in bulk["requestBody"]["content"]["application/json"]["schema"]["properties"]


def test_an_idempotency_key_never_replays_an_old_evaluation(seeded, api_user, operator) -> None:
    from pilot.cache import CACHE_KEY

    client = _client(api_user)
    same_key = {"HTTP_IDEMPOTENCY_KEY": "poll-1"}
    assert _post(client, flag("enabled"), {}, **same_key).json()["value"] is True
    pilot_disable(actor=operator, reason="drill")
    cache.delete(CACHE_KEY)  # a cold config cache: the view answers, not the hot path
    after = _post(client, flag("enabled"), {}, **same_key)
    assert after.json()["value"] is False
    assert "Idempotent-Replayed" not in after

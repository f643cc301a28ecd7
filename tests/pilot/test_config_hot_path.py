"""The config read's hot path (``pilot.middleware`` + ``core.fast_read``): one cache round trip
when everything is cached, and otherwise exactly what ``ConfigView`` answers."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.roles import Role
from core.services import api_key_create, api_key_revoke
from core.throttling import PerClientThrottle
from pilot.api import views

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = "/api/v1/pilot/config/"
# Headers only one of the two paths may carry: the request id differs per request, and the
# locale middleware (which the hot path runs before) adds its language headers.
PER_PATH = {"X-Request-ID", "Content-Language", "Vary"}


@pytest.fixture
def seeded():
    from pilot.services import pilot_seed_demo

    cache.clear()
    pilot_seed_demo()


@pytest.fixture
def view_calls(monkeypatch):
    """How many requests reached ConfigView (the ordinary DRF path)."""
    calls: list[str] = []
    original = views.ConfigView.get

    def counting(self, request):
        calls.append(request.path)
        return original(self, request)

    monkeypatch.setattr(views.ConfigView, "get", counting)
    return calls


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='k', user=user).raw}")
    return client


def _comparable(response) -> tuple[int, bytes, dict[str, str]]:
    headers = {k: v for k, v in response.headers.items() if k not in PER_PATH}
    return response.status_code, response.content, headers


@pytest.mark.parametrize("conditional", [False, True])
def test_both_paths_answer_the_same(seeded, api_user, view_calls, conditional) -> None:
    client = _client(api_user)
    extra: dict[str, Any] = {"HTTP_IF_NONE_MATCH": '"pilot-r1"'} if conditional else {}
    slow = client.get(CONFIG, **extra)  # the first read fills the caches through ConfigView
    assert view_calls == [CONFIG]
    with CaptureQueriesContext(connection) as queries:
        fast = client.get(CONFIG, **extra)
    assert view_calls == [CONFIG], "the second read must not reach ConfigView"
    assert queries.captured_queries == []
    assert fast.status_code == (304 if conditional else 200)
    assert _comparable(fast) == _comparable(slow)
    assert fast["ETag"] == '"pilot-r1"'
    assert fast["X-Request-ID"]
    assert fast["Content-Security-Policy"] == slow["Content-Security-Policy"]


def test_a_change_is_seen_by_the_very_next_read(seeded, api_user, operator, view_calls) -> None:
    client = _client(api_user)
    client.get(CONFIG)
    assert client.get(CONFIG).json()["enabled"] is True
    reads_before = len(view_calls)
    disabled = _client(operator).post("/api/v1/pilot/disable/", {"reason": "drill"}, format="json")
    assert disabled.status_code == 200
    after = client.get(CONFIG)
    assert after.json()["enabled"] is False
    assert after["ETag"] == '"pilot-r2"'
    assert len(view_calls) == reads_before, "the writer refreshed the cache: still the hot path"


def test_every_refusal_is_the_ordinary_one(seeded, api_user, auditor, owner, view_calls) -> None:
    issued = api_key_create(name="platform", user=api_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    assert client.get(CONFIG).status_code == 200
    api_key_revoke(api_key=issued.api_key, actor=owner)
    revoked = client.get(CONFIG)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "authentication_failed"

    garbage = APIClient()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer pcp_nothing_here")
    assert garbage.get(CONFIG).status_code == 401
    assert APIClient().get(CONFIG).status_code == 401
    assert view_calls == [CONFIG]  # only the first read; refusals are DRF's, before the view


def test_a_key_without_the_permission_is_refused_even_when_cached(seeded, make_member) -> None:
    from django.contrib.auth.models import Group

    from core.roles import ROLES

    user = make_member(Role.API_CLIENT)
    client = _client(user)
    assert client.get(CONFIG).status_code == 200
    assert client.get(CONFIG).status_code == 200
    user.groups.remove(Group.objects.get(name=ROLES[Role.API_CLIENT].group))
    assert client.get(CONFIG).status_code == 403


def test_the_rate_limit_counts_each_hot_read_once(seeded, api_user, monkeypatch) -> None:
    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "4/min"})
    cache.clear()
    client = _client(api_user)
    # One budget per key, shared by the hot path and every other endpoint.
    statuses = [client.get(CONFIG).status_code for _ in range(3)]
    statuses.append(client.get("/api/v1/me/").status_code)
    limited = client.get(CONFIG)
    assert statuses == [200, 200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert "Retry-After" in limited
    assert _client(api_user).get(CONFIG).status_code == 200  # another key, its own budget


def test_an_entry_that_needs_its_last_used_time_written_goes_the_slow_way() -> None:
    now = timezone.now()
    entry = {"expires_at": None, "last_used_at": now.timestamp()}
    assert services.api_key_entry_fresh(entry, now)
    stale = {**entry, "last_used_at": (now - timedelta(seconds=61)).timestamp()}
    assert not services.api_key_entry_fresh(stale, now)
    assert not services.api_key_entry_fresh({**entry, "last_used_at": None}, now)
    expired = {**entry, "expires_at": (now - timedelta(seconds=1)).timestamp()}
    assert not services.api_key_entry_fresh(expired, now)
    later = {**entry, "expires_at": (now + timedelta(days=1)).timestamp()}
    assert services.api_key_entry_fresh(later, now)


def test_the_hot_path_writes_last_used_through_the_slow_one(seeded, api_user, view_calls):
    from core.models import ApiKey

    issued = api_key_create(name="platform", user=api_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
    client.get(CONFIG)
    first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    assert first is not None
    # Make the last use two minutes old, in the database and in the cached entry (an update()
    # sends no signal, so the entry stays current): the next read must write it.
    old = first - timedelta(minutes=2)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(last_used_at=old)
    key = f"auth:key:{services.api_key_digest(issued.raw)}"
    entry = cache.get(key)
    cache.set(key, {**entry, "last_used_at": old.timestamp()}, 60)
    client.get(CONFIG)
    written = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    assert written is not None
    assert written >= first
    assert len(view_calls) == 2
    client.get(CONFIG)
    assert len(view_calls) == 2  # and then it is fresh again


def test_without_redis_the_embedded_default_serves_the_same(seeded, api_user, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client = _client(api_user)
    assert client.get(CONFIG).json()["revision"] == 1
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CONFIG).json()["revision"] == 1
    assert queries.captured_queries == []

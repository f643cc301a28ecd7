import pytest
from django.test import override_settings

from core.throttling import PerClientThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(PerClientThrottle, "THROTTLE_RATES", {"client": "3/min"})
    from django.core.cache import cache

    cache.clear()


def test_throttle_is_per_key_and_answers_json_429(three_per_minute, client_for, operator) -> None:
    first_key, second_key = client_for(operator), client_for(operator)
    statuses = [first_key.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = first_key.get("/api/v1/me/")
    assert limited.json()["error"]["code"] == "throttled"
    assert "Retry-After" in limited
    assert second_key.get("/api/v1/me/").status_code == 200


def test_throttle_fails_open_when_the_cache_is_down(three_per_minute, client_for, operator) -> None:
    dead = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    client = client_for(operator)
    with override_settings(CACHES=dead):  # DRF's throttle cache is a proxy: it follows this
        statuses = [client.get("/api/v1/me/").status_code for _ in range(5)]
    assert statuses == [200] * 5

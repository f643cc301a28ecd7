"""The project's Redis cache backend: one client per pool, and the one-round-trip read."""

import threading

import pytest
from django.core.cache import cache, caches
from django.test import override_settings

from core.cache import RedisCache, read_and_count


@pytest.fixture
def redis_cache():
    backend = caches["default"]
    assert isinstance(backend, RedisCache), "the suite runs against the real Redis"
    backend.clear()
    return backend


def test_the_client_is_built_once_and_shared_by_threads(redis_cache) -> None:
    client = redis_cache._cache.get_client()
    assert redis_cache._cache.get_client(write=True) is client
    errors: list[str] = []

    def worker(n: int) -> None:
        for i in range(200):
            key = f"thread-{n}-{i}"
            cache.set(key, {"n": n, "i": i}, 30)
            if cache.get(key) != {"n": n, "i": i}:
                errors.append(key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_read_and_count_reads_in_order_and_counts_with_an_expiry(redis_cache) -> None:
    cache.set("a", {"x": 1}, 30)
    cache.set("c", [1, 2], 30)
    counts = [read_and_count(["a", "b", "c"], "hits", 7) for _ in range(3)]
    assert [values for values, _ in counts] == [[{"x": 1}, None, [1, 2]]] * 3
    assert [count for _, count in counts] == [1, 2, 3]
    raw = redis_cache._cache.get_client()
    assert 0 < raw.ttl(redis_cache.make_key("hits")) <= 7


def test_read_without_a_counter_creates_no_key(redis_cache) -> None:
    cache.set("a", "value", 30)
    assert read_and_count(["a"]) == (["value"], None)
    raw = redis_cache._cache.get_client()
    assert raw.keys(f"{redis_cache.make_key('')}*") == [redis_cache.make_key("a").encode()]


def test_a_redis_that_forgot_the_script_is_taught_it_again(redis_cache) -> None:
    cache.set("a", 1, 30)
    assert read_and_count(["a"], "n", 5) == ([1], 1)
    redis_cache._cache.get_client().script_flush()
    assert read_and_count(["a"], "n", 5) == ([1], 2)


def test_a_dead_redis_raises_for_the_caller_to_decide(redis_cache) -> None:
    dead = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=dead), pytest.raises(Exception):  # noqa: B017, PT011
        read_and_count(["a"], "n", 5)


def test_connections_killed_by_redis_are_replaced(redis_cache) -> None:
    import redis

    cache.set("a", 2, 30)
    assert read_and_count(["a"], "n", 5) == ([2], 1)
    killer = redis.Redis.from_url(redis_cache._servers[0])
    name = redis_cache._cache.get_client().client_id()
    assert killer.client_kill_filter(_id=name) == 1
    # The pool notices the closed socket before lending the connection out, and reconnects.
    assert read_and_count(["a"], "n", 5) == ([2], 2)
    killer.close()


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_any_other_backend_gives_the_same_answers() -> None:
    cache.set("a", {"x": 1}, 30)
    assert read_and_count(["a", "b"], "hits", 7) == ([{"x": 1}, None], 1)
    assert read_and_count(["a", "b"], "hits", 7) == ([{"x": 1}, None], 2)
    assert read_and_count([], None) == ([], None)

"""Idempotency-Key semantics, including truly concurrent requests on PostgreSQL."""

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from core.idempotency import REDACTED, purge_expired
from core.models import ApiKey, IdempotencyRecord
from core.services import api_key_create

URL = "/api/v1/api-keys/"


@pytest.mark.django_db
def test_repeat_with_same_key_replays_the_first_response(client_for, owner) -> None:
    client = client_for(owner)
    body = {"name": "platform", "role": "api-client"}
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    # The replay is the first response, except the new key itself: it is shown once, never stored.
    assert second.json() == {**first.json(), "key": REDACTED}
    assert second["Idempotent-Replayed"] == "true"
    assert not IdempotencyRecord.objects.filter(
        response_body__contains=first.json()["key"].encode()
    )
    assert ApiKey.objects.filter(name="platform").count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused_with_422(client_for, owner) -> None:
    client = client_for(owner)
    client.post(URL, {"name": "a", "role": "api-client"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    other = client.post(
        URL, {"name": "b", "role": "api-client"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert not ApiKey.objects.filter(name="b").exists()


@pytest.mark.django_db
def test_json_bodies_are_compared_by_meaning(client_for, owner) -> None:
    client = client_for(owner)
    a = '{"name": "x", "role": "api-client"}'
    b = '{"role":"api-client","name":"x"}'
    client.post(URL, a, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post(URL, b, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_are_per_client(client_for, owner, make_member) -> None:
    from core.roles import Role

    other_owner = make_member(Role.OWNER)
    body = {"name": "platform", "role": "api-client"}
    client_for(owner).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    second = client_for(other_owner).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert ApiKey.objects.filter(name="platform").count() == 2


@pytest.mark.django_db
def test_two_keys_of_one_service_account_never_share_a_replay(client_for, api_user) -> None:
    """Every platform key created with ``--role api-client`` belongs to one service account:
    a key chosen by two of them must give each its own write and its own response."""
    from incidents.models import Incident

    first, second = client_for(api_user), client_for(api_user)
    a = first.post(
        "/api/v1/incidents/",
        {"title": "from platform A", "severity": "SEV2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="deal-42",
    )
    b = second.post(
        "/api/v1/incidents/",
        {"title": "from platform B", "severity": "SEV2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="deal-42",
    )
    assert a.status_code == b.status_code == 201
    assert "Idempotent-Replayed" not in b
    assert b.json()["title"] == "from platform B"
    assert a.json()["number"] != b.json()["number"]
    assert set(Incident.objects.values_list("title", flat=True)) == {
        "from platform A",
        "from platform B",
    }
    again = second.post(
        "/api/v1/incidents/",
        {"title": "from platform B", "severity": "SEV2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="deal-42",
    )
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == b.json()["number"]


@pytest.mark.django_db
def test_validation_errors_are_replayed_too_and_bad_keys_refused(client_for, owner) -> None:
    client = client_for(owner)
    first = client.post(URL, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad-body")
    again = client.post(URL, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="bad-body")
    assert first.status_code == again.status_code == 400
    assert again["Idempotent-Replayed"] == "true"
    too_long = client.post(URL, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_expired_records_are_purged_and_the_key_can_be_used_again(client_for, owner) -> None:
    client = client_for(owner)
    body = {"name": "platform", "role": "api-client"}
    client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_expired() == 1
    again = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="old")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert ApiKey.objects.filter(name="platform").count() == 2


def _post(url: str, raw_key: str, idem_key: str, body: dict) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback live server
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {raw_key}",
            "Content-Type": "application/json",
            "Idempotency-Key": idem_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def _dsn() -> str:
    s = connection.settings_dict
    host, port = s["HOST"] or "127.0.0.1", s["PORT"] or 5432
    return f"host={host} port={port} dbname={s['NAME']} user={s['USER']}"


@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_is_running_gets_409_and_executes_once(live_server, owner) -> None:
    """Hold the first request inside its transaction (a lock on the audit table it writes), send
    repeats meanwhile: they must get 409, then a repeat after it finished replays its 201."""
    raw = api_key_create(name="owner key", user=owner).raw
    body = {"name": "concurrent", "role": "api-client"}
    url = live_server.url + URL
    with psycopg.connect(_dsn(), autocommit=False) as blocker:
        blocker.execute("LOCK TABLE core_auditevent IN EXCLUSIVE MODE")
        results: list[tuple[int, bytes, dict]] = []
        first = threading.Thread(target=lambda: results.append(_post(url, raw, "same", body)))
        first.start()
        deadline = timezone.now() + timedelta(seconds=20)
        while not IdempotencyRecord.objects.filter(key="same").exists():
            assert timezone.now() < deadline, "first request never claimed the key"
        repeats = [_post(url, raw, "same", body) for _ in range(3)]
        blocker.rollback()
    first.join(timeout=30)
    assert [status for status, _, _ in repeats] == [409, 409, 409]
    assert all(
        json.loads(content)["error"]["code"] == "idempotency_in_progress"
        for _, content, _ in repeats
    )
    assert results[0][0] == 201
    replay = _post(url, raw, "same", body)
    assert replay[0] == 201
    assert json.loads(replay[1]) == {**json.loads(results[0][1]), "key": REDACTED}
    assert ApiKey.objects.filter(name="concurrent").count() == 1


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_requests_with_one_key_execute_once(live_server, owner) -> None:
    raw = api_key_create(name="owner key", user=owner).raw
    body = {"name": "burst", "role": "api-client"}
    url = live_server.url + URL
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: _post(url, raw, "burst-key", body), range(8)))
    statuses = sorted(status for status, _, _ in outcomes)
    assert set(statuses) <= {201, 409}, statuses
    assert 201 in statuses
    created = [json.loads(content) for status, content, _ in outcomes if status == 201]
    assert len({item["id"] for item in created}) == 1  # every 201 is the first, or its replay
    assert ApiKey.objects.filter(name="burst").count() == 1

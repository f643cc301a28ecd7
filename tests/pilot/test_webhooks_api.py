"""``/api/v1/webhooks/``: webhook subscriptions managed over the API by the decision owner, with
the admin's validation (pilot.services.catalog): the address policy of core.delivery, the event
filter of pilot.webhook_events; the signing secret is shown once."""

from __future__ import annotations

from typing import Any

import pytest

from core.idempotency import REDACTED
from core.models import AuditEvent, IdempotencyRecord
from core.roles import Role
from pilot.models import WebhookSubscription

URL = "/api/v1/webhooks/"
GOOD = {"name": "Ops receiver", "url": "https://hooks.example.com/pilot"}


@pytest.fixture
def owner_api(make_member, client_for) -> Any:
    return client_for(make_member(Role.OWNER, username="owner-api"))


def _create(client: Any, **body: Any) -> Any:
    return client.post(URL, {**GOOD, **body}, format="json")


def test_the_owner_creates_lists_and_deletes_a_subscription(owner_api):
    created = _create(owner_api, events=["pilot.config", "incident.*"], description="ops")
    assert created.status_code == 201, created.content
    body = created.json()
    row = WebhookSubscription.objects.get()
    assert body == {
        "id": row.pk,
        "name": "Ops receiver",
        "url": "https://hooks.example.com/pilot",
        "events": ["pilot.config", "incident.*"],
        "active": True,
        "description": "ops",
        "created_at": body["created_at"],
        "secret": row.secret,
    }
    assert len(row.secret) >= 40  # generated: 32 random bytes
    assert AuditEvent.objects.filter(action="pilot.webhook_subscription.create").count() == 1

    listed = owner_api.get(URL)
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [row.pk]
    one = owner_api.get(f"{URL}{row.pk}/")
    assert one.status_code == 200
    for answer in (listed, one):
        assert row.secret not in answer.content.decode()
        assert "secret" not in (answer.json().get("results") or [answer.json()])[0]

    deleted = owner_api.delete(f"{URL}{row.pk}/")
    assert deleted.status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert AuditEvent.objects.filter(action="pilot.webhook_subscription.delete").count() == 1
    assert owner_api.delete(f"{URL}{row.pk}/").status_code == 404


def test_without_events_a_subscription_receives_config_revisions(owner_api):
    created = _create(owner_api)
    assert created.status_code == 201
    assert created.json()["events"] == ["pilot.config"]
    assert WebhookSubscription.objects.get().events == ["pilot.config"]


def test_a_name_is_one_line(owner_api):
    created = _create(owner_api, name="Ops\r\n## forged\x07 heading")
    assert created.status_code == 201
    assert WebhookSubscription.objects.get().name == "Ops ## forged heading"


@pytest.mark.parametrize(
    "role", [Role.OPERATOR, Role.ENGINEER, Role.COORDINATOR, Role.AUDITOR, Role.API_CLIENT]
)
def test_everyone_but_the_decision_owner_is_refused(make_member, client_for, role):
    existing = WebhookSubscription.objects.create(
        name="kept", url="https://hooks.example.com/kept", secret="kept-secret"
    )
    client = client_for(make_member(role, username=f"not-owner-{role.value}"))
    answers = [
        client.get(URL),
        client.get(f"{URL}{existing.pk}/"),
        _create(client),
        client.delete(f"{URL}{existing.pk}/"),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert {a.json()["error"]["code"] for a in answers} == {"permission_denied"}
    assert list(WebhookSubscription.objects.values_list("name", flat=True)) == ["kept"]
    assert "kept-secret" not in "".join(a.content.decode() for a in answers)


def test_the_secret_is_not_replayed_by_idempotency_key(owner_api):
    first = owner_api.post(URL, GOOD, format="json", HTTP_IDEMPOTENCY_KEY="make-hook-1")
    again = owner_api.post(URL, GOOD, format="json", HTTP_IDEMPOTENCY_KEY="make-hook-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    secret = first.json()["secret"]
    assert secret == WebhookSubscription.objects.get().secret  # one row: the replay made none
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] == REDACTED
    stored = bytes(IdempotencyRecord.objects.get().response_body or b"").decode()
    assert secret not in stored


# Each class of URL the address policy refuses, and the rule the 400 names.
REFUSED = [
    ("ftp://hooks.example.com/x", "only http and https URLs may receive webhooks"),
    ("localhost:6379", "only http and https URLs may receive webhooks"),
    ("hooks.example.com/pilot", "only http and https URLs may receive webhooks"),
    ("javascript:alert(1)", "only http and https URLs may receive webhooks"),
    ("https://user:pw@hooks.example.com/", "a webhook URL may not contain a user name or password"),
    ("https:///pilot", "the URL has no host"),
    ("https://hooks.example.com:99999/", "not a valid URL"),
    ("http://127.0.0.1:6379/", "refused address: 127.0.0.1 is a loopback address (127.0.0.0/8)"),
    (
        "http://localhost:6379/",
        "refused address: localhost (127.0.0.1) is a loopback address (127.0.0.0/8)",
    ),
    ("http://[::1]:8000/", "refused address: ::1 is a loopback address (::1/128)"),
    ("http://0.0.0.0:8000/", "refused address: 0.0.0.0 is an unspecified address (0.0.0.0/8)"),
    ("https://10.0.0.5/", "refused address: 10.0.0.5 is a private address (10.0.0.0/8)"),
    ("https://192.168.1.1/", "refused address: 192.168.1.1 is a private address (192.168.0.0/16)"),
    (
        "http://169.254.169.254/latest/meta-data/",
        "refused address: 169.254.169.254 is a link-local address (169.254.0.0/16)",
    ),
    (
        "https://100.64.1.1/",
        "refused address: 100.64.1.1 is a carrier-grade NAT address (100.64.0.0/10)",
    ),
    ("https://224.0.0.251/", "refused address: 224.0.0.251 is a multicast address (224.0.0.0/4)"),
    (
        "https://[::ffff:127.0.0.1]/",
        "refused address: ::ffff:127.0.0.1 is an IPv6 address carrying 127.0.0.1, "
        "a loopback address (127.0.0.0/8)",
    ),
    ("https://[fd00::1]/", "refused address: fd00::1 is a unique local address (fc00::/7)"),
    ("https://[fe80::1]/", "refused address: fe80::1 is a link-local address (fe80::/10)"),
]


@pytest.mark.parametrize(("url", "rule"), REFUSED)
def test_a_refused_url_is_a_400_naming_the_rule(owner_api, settings, url, rule):
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # as in production: no internal receiver allowed
    answer = _create(owner_api, url=url)
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert (error["code"], error["message"], error["fields"]) == (
        "url_refused",
        rule,
        {"url": [rule]},
    )
    assert not WebhookSubscription.objects.exists()


def test_plain_http_is_refused_where_only_https_is_allowed(owner_api, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    answer = _create(owner_api, url="http://hooks.example.com/pilot")
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "only https URLs may receive webhooks"
    assert not WebhookSubscription.objects.exists()
    assert _create(owner_api, url="https://hooks.example.com/pilot").status_code == 201


def test_an_internal_receiver_is_accepted_once_its_network_is_allowed(owner_api, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert _create(owner_api, url="https://10.20.3.4/hook").status_code == 201
    refused = _create(owner_api, url="https://10.21.3.4/hook")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "refused address: 10.21.3.4 is a private address (10.0.0.0/8)"
    )
    assert list(WebhookSubscription.objects.values_list("url", flat=True)) == [
        "https://10.20.3.4/hook"
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (["pilot.configg"], "Unknown events: pilot.configg."),
        (["incident.*", "nope.*"], "Unknown events: nope.*."),
        ([], "This field cannot be blank."),
        (["pilot.config", "pilot.config"], "An event is listed twice."),
    ],
)
def test_the_event_filter_is_validated(owner_api, events, message):
    answer = _create(owner_api, events=events)
    assert answer.status_code == 400, answer.content
    (problem,) = answer.json()["error"]["fields"]["events"]
    assert problem.startswith(message)
    assert not WebhookSubscription.objects.exists()


def test_an_event_filter_that_is_not_a_list_of_names_is_refused(owner_api):
    answer = _create(owner_api, events="pilot.config")
    assert answer.status_code == 400
    assert "events" in answer.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "events", [["*"], ["pilot.*"], ["incident.*", "audit.checkpoint"], ["incident.opened"]]
)
def test_known_names_and_patterns_are_stored(owner_api, events):
    answer = _create(owner_api, events=events)
    assert answer.status_code == 201, answer.content
    assert WebhookSubscription.objects.get().events == events


def test_the_schema_documents_the_webhook_routes(owner_api):
    schema = owner_api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert set(paths["/api/v1/webhooks/"]) >= {"get", "post"}
    assert "delete" in paths["/api/v1/webhooks/{id}/"]
    created = paths["/api/v1/webhooks/"]["post"]["responses"]["201"]
    assert "WebhookSubscriptionCreated" in str(created)

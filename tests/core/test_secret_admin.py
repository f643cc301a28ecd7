"""The signing-secret admin (core.secret_admin) on both receivers' admins: write-only, generated
and shown once, kept when left empty, rotated on request, hidden from viewers, and the URL held
to the outbound address policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from incidents.models import WebhookEndpoint
from pilot.models import WebhookSubscription

pytestmark = pytest.mark.django_db

ONCE = "Copy this signing secret now; it is not shown again: "


@dataclass(frozen=True)
class Receiver:
    model: type[models.Model]
    admin: str  # the admin URL name prefix
    fields: dict[str, str]  # the other fields of a valid form


RECEIVERS = [
    Receiver(
        WebhookEndpoint,
        "admin:incidents_webhookendpoint",
        {"name": "chat", "format": "generic", "active": "on"},
    ),
    Receiver(
        WebhookSubscription,
        "admin:pilot_webhooksubscription",
        {"name": "pilot hook", "events": '["pilot.config"]', "active": "on"},
    ),
]
IDS = ["endpoint", "subscription"]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, url: str, data: dict[str, str]) -> Any:
    return client.post(url, data, follow=True)


def _issued(page: str) -> str:
    start = page.index(ONCE) + len(ONCE)
    return page[start:].split("<", 1)[0].strip()


@pytest.mark.parametrize("receiver", RECEIVERS, ids=IDS)
def test_an_empty_secret_on_creation_is_generated_and_shown_once(owner, receiver):
    client = _client(owner)
    data = {**receiver.fields, "url": "https://hooks.example.com/a", "secret": ""}
    page = _post(client, reverse(f"{receiver.admin}_add"), data).content.decode()
    row: Any = receiver.model._default_manager.get()
    assert len(row.secret) >= 40
    assert _issued(page) == row.secret
    change = client.get(reverse(f"{receiver.admin}_change", args=[row.pk])).content.decode()
    assert row.secret not in change  # never again, not even to the owner
    assert 'name="secret"' in change
    assert 'name="rotate_secret"' in change


@pytest.mark.parametrize("receiver", RECEIVERS, ids=IDS)
def test_a_typed_secret_is_stored_and_never_echoed(owner, receiver):
    client = _client(owner)
    data = {**receiver.fields, "url": "https://hooks.example.com/a", "secret": "typed-S3cret!"}
    page = _post(client, reverse(f"{receiver.admin}_add"), data).content.decode()
    row: Any = receiver.model._default_manager.get()
    assert row.secret == "typed-S3cret!"
    assert ONCE not in page
    assert "typed-S3cret!" not in page
    change = client.get(reverse(f"{receiver.admin}_change", args=[row.pk])).content.decode()
    assert "typed-S3cret!" not in change


@pytest.mark.parametrize("receiver", RECEIVERS, ids=IDS)
def test_an_empty_secret_on_change_keeps_it_and_rotate_replaces_it(owner, receiver):
    row: Any = receiver.model._default_manager.create(
        url="https://hooks.example.com/a", secret="old-secret", **_model_fields(receiver)
    )
    client = _client(owner)
    change = reverse(f"{receiver.admin}_change", args=[row.pk])
    base = {**receiver.fields, "url": "https://hooks.example.com/b"}

    page = _post(client, change, {**base, "secret": ""}).content.decode()
    row.refresh_from_db()
    assert (row.url, row.secret) == ("https://hooks.example.com/b", "old-secret")
    assert ONCE not in page

    page = _post(client, change, {**base, "secret": "", "rotate_secret": "on"}).content.decode()
    row.refresh_from_db()
    assert row.secret != "old-secret"
    assert _issued(page) == row.secret

    refused = client.post(change, {**base, "secret": "mine", "rotate_secret": "on"})
    assert refused.status_code == 200  # the form again, with the error
    assert "Type a new secret or rotate it, not both." in refused.content.decode()
    previous = row.secret
    row.refresh_from_db()
    assert row.secret == previous


@pytest.mark.parametrize("receiver", RECEIVERS, ids=IDS)
def test_viewers_never_get_the_secret_field(auditor, receiver):
    row: Any = receiver.model._default_manager.create(
        url="https://hooks.example.com/a", secret="viewer-must-not-see", **_model_fields(receiver)
    )
    page = _client(auditor).get(reverse(f"{receiver.admin}_change", args=[row.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "https://hooks.example.com/a" in html
    assert "viewer-must-not-see" not in html
    assert "Signing secret" not in html


@pytest.mark.parametrize("receiver", RECEIVERS, ids=IDS)
@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://user:pw@hooks.example.com/a", "may not contain a user name or password"),
        ("ftp://hooks.example.com/a", "only http and https URLs may receive webhooks"),
    ],
)
def test_the_url_is_held_to_the_address_policy(owner, receiver, url, error):
    data = {**receiver.fields, "url": url, "secret": ""}
    response = _client(owner).post(reverse(f"{receiver.admin}_add"), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not receiver.model._default_manager.exists()


def _model_fields(receiver: Receiver) -> dict[str, Any]:
    return {"name": "chat"} if receiver.model is WebhookEndpoint else {}

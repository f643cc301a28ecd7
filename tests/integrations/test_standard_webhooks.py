"""Standard Webhooks on every outbound delivery, checked by a receiver nobody here wrote: the
``standardwebhooks`` package verifies what a real listener on the loopback received, for a config
webhook and for an incident notification; a tampered body or another secret does not verify."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from core import delivery
from core.secret_admin import new_secret

pytestmark = pytest.mark.django_db


@dataclass
class Listener:
    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A real HTTP receiver: records the headers and raw body of each POST, answers the next
    scripted status (200 once they run out)."""
    recorded = Listener()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            recorded.requests.append((dict(self.headers.items()), body))
            self.send_response(recorded.statuses.pop(0) if recorded.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield recorded
    server.shutdown()
    server.server_close()


def _refused(secret: str | bytes, body: bytes, headers: dict[str, str]) -> str:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        return str(exc)
    return ""


def test_the_signature_matches_the_specifications_test_vector():
    # The Standard Webhooks reference vector (secret, id, timestamp, payload → signature).
    signature = delivery.standard_signature(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp="1614265330",
        body=b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_generated_secrets_are_whsec_base64_of_32_random_bytes():
    import base64

    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert delivery.signing_key(first) == base64.b64decode(first.removeprefix("whsec_"))
    # An older secret (not whsec_) is its UTF-8 bytes: the libraries' raw key.
    assert delivery.signing_key("receiver-shared-secret") == b"receiver-shared-secret"


def test_a_delivery_verifies_with_the_package_and_a_tampered_body_does_not(listener):
    secret = new_secret()
    body = b'{"hello":"world"}'
    attempt = delivery.post_signed_json(
        url=listener.url, body=body, secret=secret, message_id="pcp-test-1"
    )
    assert attempt.ok
    ((headers, received),) = listener.requests
    assert headers["webhook-id"] == "pcp-test-1"
    assert headers["webhook-timestamp"] == headers["X-Signature-Timestamp"]
    assert Webhook(secret).verify(received, headers) == {"hello": "world"}
    assert _refused(secret, received + b" ", headers) == "No matching signature found"
    assert _refused(secret, b'{"hello":"there"}', headers) == "No matching signature found"
    assert _refused(new_secret(), received, headers) == "No matching signature found"
    # The id is signed too: a receiver cannot be made to de-duplicate a replay under another id.
    assert _refused(secret, received, {**headers, "webhook-id": "pcp-test-2"}) != ""


def test_an_older_secret_verifies_as_raw_bytes(listener):
    secret = "an-older-secret_made-before-whsec"
    attempt = delivery.post_signed_json(
        url=listener.url, body=b"{}", secret=secret, message_id="pcp-test-1"
    )
    assert attempt.ok
    ((headers, received),) = listener.requests
    assert Webhook(secret.encode()).verify(received, headers) == {}
    assert _refused(secret.encode(), b'{"x":1}', headers) == "No matching signature found"


def test_a_config_webhook_verifies_with_the_same_id_on_every_retry(
    seeded, operator, listener, settings
):
    from pilot.models import WebhookDelivery, WebhookSubscription
    from pilot.services import pilot_disable, webhook_delivery_attempt

    settings.WEBHOOK_BACKOFF_SECONDS = 0
    listener.statuses = [503]
    secret = new_secret()
    WebhookSubscription.objects.create(name="sre", url=listener.url, secret=secret)
    pilot_disable(actor=operator, reason="kill")
    row = WebhookDelivery.objects.get()
    assert webhook_delivery_attempt(delivery_id=row.pk).status == "retry"
    assert webhook_delivery_attempt(delivery_id=row.pk).status == "sent"
    assert len(listener.requests) == 2
    ids = {headers["webhook-id"] for headers, _ in listener.requests}
    assert ids == {f"pcp-webhook-delivery-{row.pk}"}
    headers, body = listener.requests[-1]
    payload = Webhook(secret).verify(body, headers)
    assert payload["event"] == "pilot.config_changed"
    assert payload["config"]["enabled"] is False
    assert _refused(secret, body.replace(b"false", b"true"), headers) != ""


def test_an_incident_notification_verifies(operator, listener):
    from incidents.enums import Severity
    from incidents.models import Notification
    from incidents.services.notify import notification_deliver
    from tests.incidents.factories import open_incident, roster_member, webhook_endpoint

    secret = new_secret()
    endpoint = webhook_endpoint(listener.url)
    endpoint.secret = secret
    endpoint.save()
    roster_member(operator, 1, email="", webhook=endpoint)
    operator.email = ""
    operator.save()
    incident = open_incident(severity=Severity.SEV1, actor=operator)
    notification = Notification.objects.get(incident=incident, channel="webhook")
    assert notification_deliver(notification_id=notification.pk).status == "sent"
    ((headers, body),) = listener.requests
    assert headers["webhook-id"] == f"pcp-notification-{notification.pk}"
    payload = Webhook(secret).verify(body, headers)
    assert payload["incident"]["number"] == incident.number
    assert _refused(secret, body.replace(b"SEV1", b"SEV3"), headers) != ""

"""core.delivery against real HTTP listeners on 127.0.0.1: signing, the redirect and address
policies, failure categories (a timeout is a category, not a socket message) and the backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core import delivery
from core.delivery import Failure, Status

SECRET = "receiver-shared-secret"


@dataclass
class Listener:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def listen() -> Iterator[Callable[..., Listener]]:
    """Starts a listener answering every POST with ``status`` (and ``headers``), after waiting
    for ``release`` when one is given (a receiver that does not answer in time)."""
    servers: list[ThreadingHTTPServer] = []
    releases: list[threading.Event] = []

    def start(
        status: int = 200,
        headers: dict[str, str] | None = None,
        release: threading.Event | None = None,
    ) -> Listener:
        listener = Listener(url="")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                listener.requests.append((dict(self.headers.items()), body))
                if release is not None:
                    release.wait(10)
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST  # noqa: N815 - a followed 303 would arrive as a GET

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        if release is not None:
            releases.append(release)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        listener.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return listener

    yield start
    for release in releases:
        release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def _verifies(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    """What a receiver does, written out here rather than calling our signer."""
    timestamp = headers["X-Signature-Timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Signature"], "sha256=" + mac.hexdigest())


def test_a_2xx_is_sent_and_the_signature_verifies(listen):
    receiver = listen(status=204)
    body = json.dumps({"hello": "world"}).encode()
    attempt = delivery.post_signed_json(
        url=receiver.url, body=body, secret=SECRET, headers={"X-Webhook-Event": "test"}
    )
    assert (attempt.ok, attempt.failure, attempt.status_code) == (True, None, 204)
    assert len(receiver.requests) == 1
    headers, received = receiver.requests[0]
    assert received == body
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Webhook-Event"] == "test"
    assert _verifies(headers, received)
    assert not _verifies(headers, received, secret="another-secret")
    assert not _verifies(headers, received + b" ")


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_attempt_and_is_not_followed(listen, code):
    target = listen(status=200)
    redirector = listen(status=code, headers={"Location": target.url})
    attempt = delivery.post_signed_json(url=redirector.url, body=b"{}", secret=SECRET)
    assert attempt.failure is Failure.REDIRECT
    assert attempt.status_code == code
    assert attempt.reason == f"HTTP {code} (redirects are not followed)"
    assert len(redirector.requests) == 1
    assert target.requests == []  # the signed body never went to the Location


def test_a_server_error_is_an_http_status_failure(listen):
    receiver = listen(status=503)
    attempt = delivery.post_signed_json(url=receiver.url, body=b"{}", secret=SECRET)
    assert (attempt.failure, attempt.reason, attempt.status_code) == (
        Failure.HTTP_STATUS,
        "HTTP 503",
        503,
    )


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(listen, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver = listen(release=threading.Event())
    attempt = delivery.post_signed_json(url=receiver.url, body=b"{}", secret=SECRET)
    assert attempt.failure is Failure.TIMEOUT
    assert attempt.reason == "no answer within 1 s"
    assert attempt.status_code is None
    assert len(receiver.requests) == 1
    outcome = delivery.outcome_after(attempt, attempts=1)
    assert (outcome.status, outcome.failure, outcome.error) == (
        Status.RETRY,
        Failure.TIMEOUT,
        "no answer within 1 s",
    )


def test_nobody_listening_is_a_connection_failure():
    attempt = delivery.post_signed_json(url="http://127.0.0.1:9/hook", body=b"{}", secret=SECRET)
    assert (attempt.failure, attempt.reason) == (Failure.CONNECTION, "Connection refused")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/hook", "only http and https URLs may receive webhooks"),
        ("file:///etc/passwd", "only http and https URLs may receive webhooks"),
        ("http:///hook", "the URL has no host"),
        ("http://127.0.0.1:notaport/hook", "not a valid URL"),
    ],
)
def test_the_address_policy_refuses_before_connecting(url, reason):
    assert delivery.address_problem(url) == reason
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET)
    assert (attempt.failure, attempt.reason) == (Failure.ADDRESS, reason)


@pytest.mark.parametrize("userinfo", ["user:password@", "user@", ":password@"])
def test_credentials_in_the_url_are_refused_and_nothing_is_sent(listen, userinfo):
    receiver = listen()
    url = receiver.url.replace("http://", f"http://{userinfo}")
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET)
    assert attempt.failure is Failure.ADDRESS
    assert attempt.reason == "a webhook URL may not contain a user name or password"
    assert receiver.requests == []


def test_the_address_policy_accepts_plain_http_and_https():
    assert delivery.address_problem("https://hooks.example.com/path?q=1") == ""
    assert delivery.address_problem("http://127.0.0.1:8080/hook") == ""


def test_backoff_doubles_from_the_base_and_is_capped(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 10
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 100
    assert [delivery.backoff_seconds(n) for n in range(1, 8)] == [10, 20, 40, 80, 100, 100, 100]


def test_outcome_retries_with_the_backoff_until_the_last_attempt(settings):
    settings.WEBHOOK_BACKOFF_SECONDS = 5
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 3600
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    failed = delivery.Attempt(Failure.HTTP_STATUS, "HTTP 500", 500)
    outcomes = [delivery.outcome_after(failed, attempts=n) for n in (1, 2, 3)]
    assert [(o.status, o.retry_in) for o in outcomes] == [
        (Status.RETRY, 5.0),
        (Status.RETRY, 10.0),
        (Status.FAILED, None),
    ]
    assert outcomes[-1].error == "HTTP 500"
    assert delivery.outcome_after(delivery.Attempt(status_code=200), attempts=3).status == (
        Status.SENT
    )


def test_an_inactive_receiver_fails_at_once(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 8
    gone = delivery.Attempt(Failure.INACTIVE, "subscription deactivated")
    outcome = delivery.outcome_after(gone, attempts=1)
    assert (outcome.status, outcome.retry_in, outcome.error) == (
        Status.FAILED,
        None,
        "subscription deactivated",
    )


def test_a_broker_failure_is_logged_and_the_other_ids_are_still_queued(caplog):
    class FlakyBroker:
        """Stands in for a Celery task whose broker refuses the second message."""

        def __init__(self) -> None:
            self.queued: list[int] = []

        def apply_async(self, *, args: tuple[int], retry: bool) -> None:
            if args[0] == 2:
                raise ConnectionError("broker down")
            self.queued.append(args[0])

    broker = FlakyBroker()
    delivery.queue_each(broker, [1, 2, 3], what="notification")
    assert broker.queued == [1, 3]
    assert "could not queue notification 2: broker down" in caplog.text


@dataclass
class _Receiver:
    url: str
    secret: str = SECRET
    active: bool = True


def test_a_receiver_switched_off_is_a_final_failure_and_nothing_is_sent(listen):
    receiver = listen()
    off = delivery.post_to_receiver(_Receiver(receiver.url, active=False), body=b"{}")
    gone = delivery.post_to_receiver(None, body=b"{}")
    assert off.failure is gone.failure is Failure.INACTIVE
    assert receiver.requests == []
    assert delivery.outcome_after(off, attempts=1).status is Status.FAILED
    sent = delivery.post_to_receiver(_Receiver(receiver.url), body=b"{}")
    assert sent.ok
    assert _verifies(*receiver.requests[0])

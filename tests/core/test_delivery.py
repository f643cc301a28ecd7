"""core.delivery against real HTTP listeners on 127.0.0.1: signing, the redirect and address
policies, failure categories (a timeout is a category, not a socket message) and the backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
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
        url=receiver.url,
        body=body,
        secret=SECRET,
        message_id="msg-1",
        headers={"X-Webhook-Event": "test"},
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
    attempt = delivery.post_signed_json(
        url=redirector.url, body=b"{}", secret=SECRET, message_id="msg-1"
    )
    assert attempt.failure is Failure.REDIRECT
    assert attempt.status_code == code
    assert attempt.reason == f"HTTP {code} (redirects are not followed)"
    assert len(redirector.requests) == 1
    assert target.requests == []  # the signed body never went to the Location


def test_a_server_error_is_an_http_status_failure(listen):
    receiver = listen(status=503)
    attempt = delivery.post_signed_json(
        url=receiver.url, body=b"{}", secret=SECRET, message_id="msg-1"
    )
    assert (attempt.failure, attempt.reason, attempt.status_code) == (
        Failure.HTTP_STATUS,
        "HTTP 503",
        503,
    )


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(listen, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    receiver = listen(release=threading.Event())
    attempt = delivery.post_signed_json(
        url=receiver.url, body=b"{}", secret=SECRET, message_id="msg-1"
    )
    assert attempt.failure is Failure.TIMEOUT
    assert attempt.reason == "timeout: no answer within 1 s"
    assert attempt.status_code is None
    assert len(receiver.requests) == 1
    outcome = delivery.outcome_after(attempt, attempts=1)
    assert (outcome.status, outcome.failure, outcome.error) == (
        Status.RETRY,
        Failure.TIMEOUT,
        "timeout: no answer within 1 s",
    )


def test_nobody_listening_is_a_connection_failure():
    attempt = delivery.post_signed_json(
        url="http://127.0.0.1:9/hook", body=b"{}", secret=SECRET, message_id="msg-1"
    )
    assert (attempt.failure, attempt.reason) == (Failure.CONNECTION, "connection failed")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/hook", "only http and https URLs may receive webhooks"),
        ("file:///etc/passwd", "only http and https URLs may receive webhooks"),
        ("localhost:6379", "only http and https URLs may receive webhooks"),
        ("127.0.0.1:6379/hook", "only http and https URLs may receive webhooks"),
        ("//hooks.example.com/hook", "only http and https URLs may receive webhooks"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https URLs may receive webhooks"),
        ("http:///hook", "the URL has no host"),
        ("http://127.0.0.1:notaport/hook", "not a valid URL"),
    ],
)
def test_the_address_policy_refuses_before_connecting(url, reason):
    assert delivery.address_problem(url) == reason
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")
    assert (attempt.failure, attempt.reason) == (Failure.ADDRESS, reason)


@pytest.mark.parametrize("userinfo", ["user:password@", "user@", ":password@"])
def test_credentials_in_the_url_are_refused_and_nothing_is_sent(listen, userinfo):
    receiver = listen()
    url = receiver.url.replace("http://", f"http://{userinfo}")
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")
    assert attempt.failure is Failure.ADDRESS
    assert attempt.reason == "a webhook URL may not contain a user name or password"
    assert receiver.requests == []


def test_the_address_policy_accepts_plain_http_and_https():
    assert delivery.address_problem("https://hooks.example.com/path?q=1") == ""
    assert delivery.address_problem("http://127.0.0.1:8080/hook") == ""  # the suite allows it


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
    off = delivery.post_to_receiver(
        _Receiver(receiver.url, active=False), body=b"{}", message_id="msg-1"
    )
    gone = delivery.post_to_receiver(None, body=b"{}", message_id="msg-1")
    assert off.failure is gone.failure is Failure.INACTIVE
    assert receiver.requests == []
    assert delivery.outcome_after(off, attempts=1).status is Status.FAILED
    sent = delivery.post_to_receiver(_Receiver(receiver.url), body=b"{}", message_id="msg-1")
    assert sent.ok
    assert _verifies(*receiver.requests[0])


# --- where the worker may connect (server-side request forgery) --------------------------------

REFUSED_IPS = [
    ("127.0.0.1", "a loopback address (127.0.0.0/8)"),
    ("127.1.2.3", "a loopback address (127.0.0.0/8)"),
    ("0.0.0.0", "an unspecified address (0.0.0.0/8)"),  # noqa: S104 - a URL host, not a bind
    ("10.1.2.3", "a private address (10.0.0.0/8)"),
    ("172.16.0.1", "a private address (172.16.0.0/12)"),
    ("192.168.1.1", "a private address (192.168.0.0/16)"),
    ("100.64.0.1", "a carrier-grade NAT address (100.64.0.0/10)"),
    ("169.254.169.254", "a link-local address (169.254.0.0/16)"),  # cloud metadata
    ("224.0.0.1", "a multicast address (224.0.0.0/4)"),
    ("240.0.0.1", "a reserved address (240.0.0.0/4)"),
    ("255.255.255.255", "a reserved address (240.0.0.0/4)"),
    ("192.0.2.10", "a documentation address (192.0.2.0/24)"),
    ("::1", "a loopback address (::1/128)"),
    ("::", "an unspecified address (::/128)"),
    ("fc00::1", "a unique local address (fc00::/7)"),
    ("fd12:3456::1", "a unique local address (fc00::/7)"),
    ("fe80::1", "a link-local address (fe80::/10)"),
    ("fec0::1", "a site-local address (fec0::/10)"),
    ("ff02::1", "a multicast address (ff00::/8)"),
    ("2001:db8::1", "a documentation address (2001:db8::/32)"),
    (
        "::ffff:127.0.0.1",
        "an IPv6 address carrying 127.0.0.1, a loopback address (127.0.0.0/8)",
    ),
    ("::ffff:10.0.0.1", "an IPv6 address carrying 10.0.0.1, a private address (10.0.0.0/8)"),
    ("64:ff9b::7f00:1", "an IPv6 address carrying 127.0.0.1, a loopback address (127.0.0.0/8)"),
    (
        "2002:a9fe:a9fe::1",
        "an IPv6 address carrying 169.254.169.254, a link-local address (169.254.0.0/16)",
    ),
]


@pytest.mark.parametrize(("ip", "kind"), REFUSED_IPS)
def test_addresses_that_are_not_public_are_refused(settings, ip, kind):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert delivery.ip_problem(ip) == kind
    host = f"[{ip}]" if ":" in ip else ip
    url = f"https://{host}/hook"
    assert delivery.address_problem(url) == f"refused address: {ip} is {kind}"
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")
    assert (attempt.failure, attempt.reason) == (
        Failure.ADDRESS,
        f"refused address: {ip} is {kind}",
    )


@pytest.mark.parametrize("ip", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_accepted(settings, ip):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    assert delivery.ip_problem(ip) == ""
    assert delivery.address_problem(f"https://{f'[{ip}]' if ':' in ip else ip}/hook") == ""


def test_without_allowed_networks_a_loopback_receiver_is_refused_at_registration_and_at_send(
    listen, settings
):
    receiver = listen()
    port = receiver.url.split(":")[2].split("/")[0]
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    by_name = f"http://localhost:{port}/hook"  # resolved: the name is no way around the rule
    assert delivery.address_problem(receiver.url) == (
        "refused address: 127.0.0.1 is a loopback address (127.0.0.0/8)"
    )
    assert delivery.address_problem(by_name) == (
        "refused address: localhost (127.0.0.1) is a loopback address (127.0.0.0/8)"
    )
    for url in (receiver.url, by_name):
        attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")
        assert attempt.failure is Failure.ADDRESS
        assert attempt.reason.startswith("refused address: ")
    assert receiver.requests == []
    # The suite's own setting lets the same receiver in: the rule is the network list.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert delivery.address_problem(by_name) == ""
    assert delivery.post_signed_json(url=by_name, body=b"{}", secret=SECRET, message_id="msg-1").ok
    assert len(receiver.requests) == 1


def test_the_connection_goes_to_the_address_that_was_checked(listen, settings, monkeypatch):
    """DNS rebinding: the name answers a permitted address for the check and an internal one
    for any later lookup. The worker connects to the checked address, sends the URL's host
    name as Host, and looks the name up once."""
    allowed = listen()  # on 127.0.0.1
    port = int(allowed.url.split(":")[2].split("/")[0])
    internal: list[bytes] = []
    victim = socket.socket()
    try:
        victim.bind(("127.0.0.2", port))
    except OSError:
        victim.close()
        pytest.skip("127.0.0.2 is not on the loopback interface here")
    victim.listen()
    victim.settimeout(0.5)
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # 127.0.0.2 stands for "inside"
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        if host != "receiver.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        attempt = delivery.post_signed_json(
            url=f"http://receiver.example:{port}/hook?x=1",
            body=b"{}",
            secret=SECRET,
            message_id="msg-1",
        )
        try:
            conn, _ = victim.accept()
            internal.append(conn.recv(1024))
            conn.close()
        except TimeoutError:
            pass
    finally:
        victim.close()
    assert attempt.ok, attempt
    assert lookups == ["receiver.example"]
    assert internal == []
    assert len(allowed.requests) == 1
    headers, _body = allowed.requests[0]
    assert headers["Host"] == f"receiver.example:{port}"


@pytest.fixture
def raw_listener() -> Iterator[Callable[[bytes], str]]:
    """A TCP listener that reads the request and answers ``reply`` (b"": closes at once)."""
    sockets: list[socket.socket] = []

    def start(reply: bytes) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        sockets.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                conn.recv(65536)
                if reply:
                    conn.sendall(reply)
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}/hook"

    yield start
    for server in sockets:
        server.close()


def test_every_way_a_connection_fails_reads_the_same(raw_listener):
    """No port-scanner oracle: nothing listening, a listener that hangs up, and a service that
    is not HTTP (Redis's error line) leave the same category and words in the record."""
    urls = {
        "refused": "http://127.0.0.1:9/hook",
        "closed": raw_listener(b""),
        "not http": raw_listener(b"-ERR unknown command 'POST'\r\n"),
    }
    seen = {
        name: (a.failure, a.reason)
        for name, url in urls.items()
        for a in [delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")]
    }
    assert seen == dict.fromkeys(urls, (Failure.CONNECTION, "connection failed"))


def test_production_accepts_https_only(listen, settings):
    receiver = listen()
    settings.WEBHOOK_ALLOW_HTTP = False
    assert delivery.address_problem(receiver.url) == "only https URLs may receive webhooks"
    assert delivery.address_problem("ftp://hooks.example.com/") == (
        "only https URLs may receive webhooks"
    )
    attempt = delivery.post_signed_json(
        url=receiver.url, body=b"{}", secret=SECRET, message_id="msg-1"
    )
    assert (attempt.failure, attempt.reason) == (
        Failure.ADDRESS,
        "only https URLs may receive webhooks",
    )
    assert receiver.requests == []
    assert delivery.address_problem("https://hooks.example.com/") == ""


def test_production_settings_refuse_plain_http():
    """The production settings module, loaded as ``make deploy-check`` loads it (throwaway
    values, in a child process: it refuses to load without them)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "from core import delivery; "
        "print(settings.WEBHOOK_ALLOW_HTTP, settings.WEBHOOK_ALLOWED_NETWORKS, "
        "repr(delivery.url_problem('http://hooks.example.com/')))"
    )
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 64,
        "ALLOWED_HOSTS": "cp.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    env.pop("WEBHOOK_ALLOW_HTTP", None)
    env.pop("WEBHOOK_ALLOWED_NETWORKS", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "False [] 'only https URLs may receive webhooks'", done.stderr


def test_a_name_that_does_not_resolve_is_accepted_at_registration_and_fails_at_send():
    url = "https://no-such-host.invalid/hook"
    assert delivery.address_problem(url) == ""
    attempt = delivery.post_signed_json(url=url, body=b"{}", secret=SECRET, message_id="msg-1")
    assert (attempt.failure, attempt.reason) == (
        Failure.CONNECTION,
        "connection failed: host name not found",
    )


def _certificates(folder: Path, name: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for ``name`` signed by it (openssl CLI)."""
    ca_key, ca, key, csr, cert = (
        folder / f for f in ("ca.key", "ca.pem", "k.pem", "r.csr", "c.pem")
    )
    ext = folder / "ext.cnf"
    ext.write_text(f"subjectAltName=DNS:{name}\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        f"/CN={name}",
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    return ca, cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(
    ("certified", "ok"), [("receiver.example", True), ("other.example", False)]
)
def test_tls_goes_to_the_checked_address_and_verifies_the_url_host_name(
    tmp_path, monkeypatch, certified, ok
):
    """https: the TCP connection goes to the checked IP, the TLS server name (SNI) and the
    certificate check use the URL's host name, so a certificate for another name fails."""
    ca, cert, key = _certificates(tmp_path, certified)
    seen_names: list[str | None] = []
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    server_tls.sni_callback = lambda sock, name, ctx: seen_names.append(name)
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "receiver.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the system CAs, for this test: ours
    try:
        attempt = delivery.post_signed_json(
            url=f"https://receiver.example:{port}/hook",
            body=b"{}",
            secret=SECRET,
            message_id="msg-1",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert seen_names == ["receiver.example"]
    if ok:
        assert (attempt.ok, attempt.status_code) == (True, 204)
        assert received == [f"receiver.example:{port}"]
    else:
        assert (attempt.failure, attempt.reason) == (
            Failure.TLS,
            "TLS failed: handshake or certificate check",
        )
        assert received == []

"""Outbound delivery: the one way this service posts signed JSON to a receiver (incident
notifications, config-change webhooks) and books the attempt.

- **Sign**, every delivery, two ways over the same body and Unix time:
  * Standard Webhooks (standardwebhooks.com): ``webhook-id`` (the delivery's id, the same on
    every retry: a receiver de-duplicates on it), ``webhook-timestamp`` and ``webhook-signature:
    v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}." + body)>``. The key is the secret's bytes
    (:func:`signing_key`): the base64 after ``whsec_`` for a ``whsec_`` secret (what is generated
    now), the secret's UTF-8 bytes for an older one (the libraries' "raw" key: Python's
    ``Webhook(secret.encode())``, JavaScript's ``new Webhook(secret, {format: "raw"})``).
  * ``X-Signature: sha256=<hex HMAC-SHA256(secret as typed, f"{timestamp}." + body)>`` with the
    time in ``X-Signature-Timestamp``, for the receivers written before: these names and this
    computation do not change.
  A receiver recomputes one and compares in constant time; the timestamp lets it refuse replays.
- **Address policy** (no server-side request forgery), written once, here: ``https`` (``http``
  too while ``WEBHOOK_ALLOW_HTTP``, never in production), a host, no user name or password; the
  host's addresses must be public (not loopback, private, link-local, carrier-grade NAT,
  multicast, unspecified, reserved, documentation, unique-local or site-local, nor an IPv6 form
  of such an IPv4 address) unless ``WEBHOOK_ALLOWED_NETWORKS`` lists them.
  :func:`address_problem` applies it when a receiver is saved (admin, API, services) and
  :func:`target` again before every connection, which then goes to the address that was checked
  (no second name lookup that a rebinding DNS answer could point inside).
- **Send**: POST with ``WEBHOOK_TIMEOUT_SECONDS``; redirects are never followed (a 3xx is a
  failed attempt: following one would post the signed body to an address the policy never saw).
  What failed is a category with a fixed reason ("refused address", "timeout", "connection
  failed", "TLS failed", "HTTP 503"), never a socket's message (which would be a port scanner).
- **Outcome and backoff**: every failure has a :class:`Failure` category and a short reason for
  the delivery record; :func:`outcome_after` turns an attempt into sent / retry (after
  ``WEBHOOK_BACKOFF_SECONDS`` · 2^(n-1), capped by ``WEBHOOK_BACKOFF_MAX_SECONDS``) / failed (after
  ``WEBHOOK_MAX_ATTEMPTS``).

- **Exactly once**: :func:`deliver_once` locks the app's delivery row (``skip_locked``) for the
  whole attempt and saves its new state in the same transaction. Each app keeps its own rows,
  payload and headers and passes them in."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import logging
import secrets
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
# Standard Webhooks: lower case, as the specification writes them (HTTP names are case-blind).
WEBHOOK_ID_HEADER = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
MAX_ERROR_LENGTH = 500


# --- settings -------------------------------------------------------------------------------


def timeout_seconds() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def max_attempts() -> int:
    return max(1, int(settings.WEBHOOK_MAX_ATTEMPTS))


def backoff_seconds(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: base · 2^(attempts-1), capped."""
    base = int(settings.WEBHOOK_BACKOFF_SECONDS)
    cap = int(settings.WEBHOOK_BACKOFF_MAX_SECONDS)
    return int(min(cap, base * 2 ** max(0, attempts - 1)))


def sweep_grace() -> timedelta:
    """How overdue a queued delivery must be before a sweep assumes its task was lost."""
    return timedelta(seconds=int(settings.WEBHOOK_SWEEP_GRACE_SECONDS))


# --- signing and the address policy ----------------------------------------------------------


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` value (the scheme receivers written before Standard Webhooks check)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signing_key(secret: str) -> bytes:
    """The HMAC key of the Standard Webhooks signature: a ``whsec_`` secret is base64 of the
    key's bytes; any other secret (made before secrets were generated that way) is used as its
    UTF-8 bytes, which every Standard Webhooks library accepts as a raw key. (Decoding an old
    secret as base64, as the Python library does with a string, would drop its ``-`` and ``_``
    and fail outright for a quarter of them, and other libraries refuse it.)"""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error:
            key = b""
        if key:
            return key
    return secret.encode()


def standard_signature(*, secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of
    ``{id}.{timestamp}.{body}`` under :func:`signing_key`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


def new_secret(nbytes: int = 32) -> str:
    """A new signing secret in the Standard Webhooks form: ``whsec_`` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def signature_headers(
    *, secret: str, body: bytes, message_id: str, timestamp: str | None = None
) -> dict[str, str]:
    """Both signatures of one attempt, over the same body and time: Standard Webhooks' three
    headers and the earlier ``X-Signature`` pair."""
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    return {
        WEBHOOK_ID_HEADER: message_id,
        WEBHOOK_TIMESTAMP_HEADER: stamp,
        WEBHOOK_SIGNATURE_HEADER: standard_signature(
            secret=secret, message_id=message_id, timestamp=stamp, body=body
        ),
        SIGNATURE_HEADER: sign(secret=secret, timestamp=stamp, body=body),
        TIMESTAMP_HEADER: stamp,
    }


class AddressRefused(Exception):
    """The address policy refused where a delivery would connect; nothing was sent."""


@dataclass(frozen=True)
class Target:
    """Where one attempt connects: the URL's parts and the one address that was checked."""

    scheme: str
    host: str  # as in the URL: sent as the Host header, and the TLS server name
    port: int
    path: str  # path and query
    address: str  # the checked IP the connection goes to


def allowed_networks() -> list[IPNetwork]:
    """``WEBHOOK_ALLOWED_NETWORKS``: internal receivers an operator allowed on purpose."""
    return [
        ipaddress.ip_network(str(n).strip(), strict=False)
        for n in settings.WEBHOOK_ALLOWED_NETWORKS
    ]


def schemes() -> tuple[str, ...]:
    return ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)


def url_problem(url: str) -> str:
    """'' when ``url`` is of a form we may post to, else why not (no name is looked up).

    https (and http while ``WEBHOOK_ALLOW_HTTP``: never in production, where a signed body must
    not travel in clear), a host, and no credentials in the URL (they would travel to whoever
    answers and show in every log line that prints the URL)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in schemes():
        if settings.WEBHOOK_ALLOW_HTTP:
            return "only http and https URLs may receive webhooks"
        return "only https URLs may receive webhooks"
    if "@" in parts.netloc:
        return "a webhook URL may not contain a user name or password"
    if not parts.hostname:
        return "the URL has no host"
    return ""


# Ranges that are not the public internet, named for the refusal. Python's ``is_global`` is the
# backstop for anything these do not name.
_NAMED_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("169.254.0.0/16", "link-local"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
    ("2001:db8::/32", "documentation"),
    ("100::/64", "discard-only"),
)
_RANGES = tuple((ipaddress.ip_network(net), kind) for net, kind in _NAMED_RANGES)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo client), whose rules
    apply to it: ``::ffff:127.0.0.1`` is loopback whatever its notation."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def ip_problem(address: str) -> str:
    """'' when we may connect to IP ``address``, else which kind of address it is.

    Only public addresses, unless ``WEBHOOK_ALLOWED_NETWORKS`` contains it: a receiver URL must
    not make the worker reach the machine itself, its network or the cloud's metadata service."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index is not a host
    except ValueError:
        return "not an IP address"
    carried = _embedded_ipv4(ip)
    networks = allowed_networks()
    if any(ip in n or (carried is not None and carried in n) for n in networks):
        return ""
    if carried is not None:
        inner = ip_problem(str(carried))
        if inner:
            return f"an IPv6 address carrying {carried}, {inner}"
    for network, kind in _RANGES:
        if ip.version == network.version and ip in network:
            return f"{'an' if kind == 'unspecified' else 'a'} {kind} address ({network})"
    if not ip.is_global:
        return "not a public address"
    return ""


def _refused(host: str, problem: str) -> str:
    return f"refused address: {host} is {problem}"


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself). Raises socket.gaierror."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def addresses_problem(host: str, addresses: Iterable[str]) -> str:
    """'' when every address may be reached; one refused address refuses the host (a name
    that also points inside is not a receiver we send to)."""
    for address in addresses:
        problem = ip_problem(address)
        if problem:
            shown = host if host == address else f"{host} ({address})"
            return _refused(shown, problem)
    return ""


def address_problem(url: str) -> str:
    """'' when ``url`` may be registered as a receiver, else why not: :func:`url_problem`, and
    the host's addresses by :func:`ip_problem`. The admin, the API and the services call this
    when a URL is saved; :func:`target` applies the same rules again before every connection
    (a name may point elsewhere by then). A name that does not resolve yet is accepted here: it
    fails at sending, with "host name not found", until it does."""
    problem = url_problem(url)
    if problem:
        return problem
    parts = urllib.parse.urlsplit(url)
    host = str(parts.hostname)
    try:
        addresses = resolve(host, parts.port or 443)
    except (OSError, UnicodeError):
        return ""
    return addresses_problem(host, addresses)


def target(url: str) -> Target:
    """The checked target of one attempt: the URL's rules, then one name lookup whose addresses
    must all pass :func:`ip_problem`; the connection goes to the first of them and to nothing
    else (no second lookup between the check and the connect, which a DNS answer with a short
    lifetime could point elsewhere). Raises AddressRefused, or socket.gaierror for a name that
    does not resolve."""
    problem = url_problem(url)
    if problem:
        raise AddressRefused(problem)
    parts = urllib.parse.urlsplit(url)
    host = str(parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    problem = addresses_problem(host, addresses)
    if problem:
        raise AddressRefused(problem)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


# --- outcome ---------------------------------------------------------------------------------


class Failure(StrEnum):
    """Why an attempt failed, as a category an operator (or a metric) can group by."""

    ADDRESS = "address"  # refused by the address policy; nothing was sent
    INACTIVE = "inactive"  # the receiver was removed or switched off; final at once
    REDIRECT = "redirect"  # answered 3xx; never followed
    HTTP_STATUS = "http_status"  # answered, but not 2xx
    TIMEOUT = "timeout"  # no answer within the timeout
    CONNECTION = "connection"  # refused, reset, unreachable, host not found
    TLS = "tls"  # the TLS handshake or certificate check failed
    PROTOCOL = "protocol"  # what answered was not HTTP (or not SMTP)
    ERROR = "error"  # anything else the transport raised


@dataclass(frozen=True)
class Attempt:
    """What one try at sending did."""

    failure: Failure | None = None
    reason: str = ""  # short and human, for the delivery record's last error
    status_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class Status(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # failed; try again in ``retry_in`` seconds
    FAILED = "failed"  # failed and gave up
    BUSY = "busy"  # another deliverer holds the row
    MISSING = "missing"
    NOT_DUE = "not_due"  # the next attempt is not due yet
    ALREADY_SENT = "already_sent"
    ALREADY_FAILED = "already_failed"


@dataclass(frozen=True)
class Outcome:
    """What a delivery call did, for either app's rows and tasks."""

    status: Status
    retry_in: float | None = None
    failure: Failure | None = None
    error: str = ""

    @classmethod
    def settled(cls, row_status: str) -> Outcome:
        """The row was already sent or failed: nothing is sent again."""
        return cls(Status.ALREADY_SENT if row_status == "sent" else Status.ALREADY_FAILED)

    @classmethod
    def unlocked(cls, *, exists: bool) -> Outcome:
        """``select_for_update(skip_locked)`` found no row: someone holds it, or it is gone."""
        return cls(Status.BUSY if exists else Status.MISSING)


RowT = TypeVar("RowT", bound=models.Model)


def lock_for_attempt(
    queryset: QuerySet[RowT], pk: int, *, pending: str, status_field: str = "status"
) -> RowT | Outcome:
    """Inside the caller's transaction: the delivery row, locked, when it still waits to be sent;
    otherwise the outcome that says why nothing is sent (another deliverer holds it, it is gone,
    or it was already sent or given up)."""
    row = queryset.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
    if row is None:
        return Outcome.unlocked(exists=queryset.model._default_manager.filter(pk=pk).exists())
    status = str(getattr(row, status_field))
    if status != pending:
        return Outcome.settled(status)
    return row


def deliver_once(
    queryset: QuerySet[RowT],
    pk: int,
    *,
    pending: str,
    send: Callable[[RowT], Attempt],
    settle: Callable[[RowT, Attempt, Outcome], None] | None = None,
    due_at: Callable[[RowT], datetime] | None = None,
) -> Outcome:
    """Make one attempt at delivering row ``pk`` and book it, at most once however many
    deliverers (a retried task, another worker, a sweep) call this at the same time.

    The row (any app's delivery record with ``status``, ``attempts``, ``last_error``,
    ``next_attempt_at`` and ``sent_at``) is locked with ``skip_locked`` for the whole attempt and
    its new state is saved in the same transaction, so a second caller finds it busy or already
    sent. Not yet ``due_at``: nothing is sent. ``send`` makes the attempt; ``settle`` sets the
    app's own extra fields from it before the row is saved."""
    with transaction.atomic():
        locked = lock_for_attempt(queryset, pk, pending=pending)
        if isinstance(locked, Outcome):
            return locked
        row: Any = locked
        now = timezone.now()
        due = due_at(locked) if due_at is not None else None
        if due is not None and due > now:
            return Outcome(Status.NOT_DUE, retry_in=(due - now).total_seconds())
        attempt = send(locked)
        row.attempts += 1
        outcome = outcome_after(attempt, attempts=row.attempts)
        now = timezone.now()
        row.last_error = outcome.error
        if outcome.status is Status.SENT:
            row.status = Status.SENT.value
            row.sent_at = now
        elif outcome.status is Status.FAILED:
            row.status = Status.FAILED.value
        else:
            row.next_attempt_at = now + timedelta(seconds=outcome.retry_in or 0)
        if settle is not None:
            settle(locked, attempt, outcome)
        row.save()
    if outcome.status is Status.FAILED:
        name = queryset.model._meta.verbose_name
        logger.warning("%s %s gave up after %d attempts: %s", name, pk, row.attempts, outcome.error)
    return outcome


def outcome_after(attempt: Attempt, *, attempts: int) -> Outcome:
    """The bookkeeping after the ``attempts``-th attempt (counting this one)."""
    if attempt.ok:
        return Outcome(Status.SENT)
    if attempt.failure is Failure.INACTIVE or attempts >= max_attempts():
        return Outcome(Status.FAILED, failure=attempt.failure, error=attempt.reason)
    return Outcome(
        Status.RETRY,
        retry_in=float(backoff_seconds(attempts)),
        failure=attempt.failure,
        error=attempt.reason,
    )


CONNECTION_FAILED = "connection failed"


def failed_attempt(exc: BaseException) -> Attempt:
    """The category and a fixed reason for what a transport raised, never the socket's own
    message: "Connection refused" and "Remote end closed" would tell whoever reads the delivery
    record which ports answer, so every way a connection can fail reads the same."""
    reason: BaseException = exc
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        reason = exc.reason
    if isinstance(reason, AddressRefused):
        return Attempt(Failure.ADDRESS, str(reason))
    if isinstance(reason, TimeoutError):
        return Attempt(Failure.TIMEOUT, f"timeout: no answer within {timeout_seconds():g} s")
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return Attempt(Failure.TLS, "TLS failed: handshake or certificate check")
    if isinstance(reason, socket.gaierror):
        return Attempt(Failure.CONNECTION, f"{CONNECTION_FAILED}: host name not found")
    if isinstance(reason, smtplib.SMTPResponseException):
        # The mail relay is ours, configured by the operator: its answer helps and scans nothing.
        said = reason.smtp_error
        said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        text = f"SMTP {reason.smtp_code}: {said}"
        return Attempt(Failure.ERROR, text[:MAX_ERROR_LENGTH])
    if isinstance(reason, OSError | http.client.HTTPException):
        return Attempt(Failure.CONNECTION, CONNECTION_FAILED)
    if isinstance(reason, ValueError):
        return Attempt(Failure.ADDRESS, "not a valid URL")
    return Attempt(Failure.ERROR, f"unexpected error ({reason.__class__.__name__})")


# --- sending ---------------------------------------------------------------------------------


class _CheckedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the policy checked, never to a second lookup of the name; the
    Host header still names the URL's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """As :class:`_CheckedHTTPConnection`, with TLS to the URL's host name: it is the SNI
    name and the name the certificate must carry (checked against the system's CAs)."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _post(target: Target, body: bytes, headers: Mapping[str, str]) -> int:
    """One POST to the checked target; the status code. http.client follows no redirect."""
    cls = _CheckedHTTPSConnection if target.scheme == "https" else _CheckedHTTPConnection
    connection = cls(target, timeout_seconds())
    try:
        connection.request("POST", target.path, body=body, headers=dict(headers))
        response = connection.getresponse()
        response.close()
        return int(response.status)
    finally:
        connection.close()


def post_signed_json(
    *,
    url: str,
    body: bytes,
    secret: str,
    message_id: str,
    headers: Mapping[str, str] | None = None,
) -> Attempt:
    """POST ``body`` (JSON) to ``url``, signed with ``secret`` as delivery ``message_id`` (the
    ``webhook-id``: the same on every attempt at one delivery), once. 2xx is success; a 3xx
    (never followed: the signed body would go to an address the policy never saw), any other
    status, a refused address, a timeout or a connection error is a failed attempt with its
    category."""
    try:
        checked = target(url)
        code = _post(
            checked,
            body,
            {
                "Content-Type": "application/json",
                **(headers or {}),
                **signature_headers(secret=secret, body=body, message_id=message_id),
            },
        )
    except (AddressRefused, OSError, ValueError, http.client.HTTPException) as exc:
        return failed_attempt(exc)
    if 200 <= code < 300:
        return Attempt(status_code=code)
    if 300 <= code < 400:
        return Attempt(Failure.REDIRECT, f"HTTP {code} (redirects are not followed)", code)
    return Attempt(Failure.HTTP_STATUS, f"HTTP {code}", code)


class Receiver(Protocol):
    """A configured receiver (an incident webhook endpoint, a config-change subscription)."""

    @property
    def url(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def active(self) -> bool: ...


def post_to_receiver(
    receiver: Receiver | None,
    *,
    body: bytes,
    message_id: str,
    headers: Mapping[str, str] | None = None,
) -> Attempt:
    """:func:`post_signed_json` to ``receiver`` with its secret. A receiver removed or switched
    off since the row was queued is a final failure, and nothing is sent."""
    if receiver is None or not receiver.active:
        return Attempt(Failure.INACTIVE, "the receiver was removed or switched off")
    return post_signed_json(
        url=receiver.url,
        body=body,
        secret=receiver.secret,
        message_id=message_id,
        headers=headers,
    )


# --- queueing --------------------------------------------------------------------------------


class _Task(Protocol):
    def apply_async(self, *args: Any, **kwargs: Any) -> Any: ...


def queue_each(task: _Task, ids: Iterable[int], *, what: str) -> None:
    """Queue ``task(id)`` for each id; a broker failure is logged, not raised (each app's sweep
    re-queues rows whose task never ran)."""
    for row_id in ids:
        try:
            task.apply_async(args=(row_id,), retry=False)
        except Exception as exc:
            logger.warning("could not queue %s %s: %s", what, row_id, exc)

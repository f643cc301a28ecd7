"""Outbound delivery: the one way this service posts signed JSON to a receiver (incident
notifications, config-change webhooks) and books the attempt.

- **Sign**: ``X-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>`` with the Unix
  time in ``X-Signature-Timestamp``. A receiver recomputes it and compares in constant time; the
  timestamp lets it refuse replays. Receivers rely on these names: they do not change.
- **Address policy**: :func:`address_problem` runs before every connection (and when an endpoint
  is saved in the admin), so a rule about where we may connect is written once, here.
- **Send**: POST with ``WEBHOOK_TIMEOUT_SECONDS``; redirects are never followed (a 3xx is a
  failed attempt: following one would post the signed body to an address the policy never saw).
- **Outcome and backoff**: every failure has a :class:`Failure` category and a short reason for
  the delivery record; :func:`outcome_after` turns an attempt into sent / retry (after
  ``WEBHOOK_BACKOFF_SECONDS`` · 2^(n-1), capped by ``WEBHOOK_BACKOFF_MAX_SECONDS``) / failed (after
  ``WEBHOOK_MAX_ATTEMPTS``).

- **Exactly once**: :func:`deliver_once` locks the app's delivery row (``skip_locked``) for the
  whole attempt and saves its new state in the same transaction. Each app keeps its own rows,
  payload and headers and passes them in."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
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

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
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
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signature_headers(*, secret: str, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    return {
        SIGNATURE_HEADER: sign(secret=secret, timestamp=stamp, body=body),
        TIMESTAMP_HEADER: stamp,
    }


def address_problem(url: str) -> str:
    """'' when ``url`` may be posted to, else why not.

    http and https only, a host, and no credentials in the URL (they would travel to whoever
    answers and show in every log line that prints the URL). Rules about which hosts may be
    reached belong here too: this runs before every connection."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https URLs may receive webhooks"
    if "@" in parts.netloc:
        return "a webhook URL may not contain a user name or password"
    if not parts.hostname:
        return "the URL has no host"
    return ""


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


def failed_attempt(exc: BaseException) -> Attempt:
    """The category and a short reason for what a transport raised (never a raw repr)."""
    reason: BaseException = exc
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        reason = exc.reason
    if isinstance(reason, TimeoutError):
        return Attempt(Failure.TIMEOUT, f"no answer within {timeout_seconds():g} s")
    if isinstance(reason, ssl.SSLError):
        return Attempt(Failure.TLS, f"TLS: {reason.reason or reason.__class__.__name__}")
    if isinstance(reason, socket.gaierror):
        return Attempt(Failure.CONNECTION, "host name not found")
    if isinstance(reason, http.client.HTTPException):
        return Attempt(Failure.PROTOCOL, f"no HTTP answer ({reason.__class__.__name__})")
    if isinstance(reason, ConnectionRefusedError):
        return Attempt(Failure.CONNECTION, "Connection refused")
    if isinstance(reason, ConnectionError):
        return Attempt(Failure.CONNECTION, f"connection lost ({reason.__class__.__name__})")
    if isinstance(reason, OSError) and reason.strerror:
        return Attempt(Failure.CONNECTION, reason.strerror[:MAX_ERROR_LENGTH])
    if isinstance(reason, ValueError):
        return Attempt(Failure.ADDRESS, "not a valid URL")
    text = f"{reason.__class__.__name__}: {reason}"
    return Attempt(Failure.ERROR, text[:MAX_ERROR_LENGTH])


# --- sending ---------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Turns every 3xx into an HTTPError with its code instead of following it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirects)


def post_signed_json(
    *, url: str, body: bytes, secret: str, headers: Mapping[str, str] | None = None
) -> Attempt:
    """POST ``body`` (JSON) to ``url``, signed with ``secret``, once. 2xx is success; a 3xx,
    any other status, a timeout or a connection error is a failed attempt with its category."""
    problem = address_problem(url)
    if problem:
        return Attempt(Failure.ADDRESS, problem)
    request = urllib.request.Request(  # noqa: S310 - the address policy checked the scheme
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            **(headers or {}),
            **signature_headers(secret=secret, body=body),
        },
    )
    try:
        with _opener().open(request, timeout=timeout_seconds()) as response:
            code = int(response.status)
    except urllib.error.HTTPError as exc:
        code = int(exc.code)
        exc.close()
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
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
    receiver: Receiver | None, *, body: bytes, headers: Mapping[str, str] | None = None
) -> Attempt:
    """:func:`post_signed_json` to ``receiver`` with its secret. A receiver removed or switched
    off since the row was queued is a final failure, and nothing is sent."""
    if receiver is None or not receiver.active:
        return Attempt(Failure.INACTIVE, "the receiver was removed or switched off")
    return post_signed_json(url=receiver.url, body=body, secret=receiver.secret, headers=headers)


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

"""``Idempotency-Key`` for every unsafe API request (IETF httpapi idempotency-key draft).

The first request with a key claims it by inserting a row (committed on its own, before the view
runs); the database's unique constraint decides between two concurrent requests. When the view
finishes with a non-5xx response, the response is stored and replayed for the same client and key
for ``IDEMPOTENCY_TTL_SECONDS``. Keys are scoped by client: the API key that sent the request
(the person, for browser sessions), as the draft scopes them by client. The same key with another
body is refused with 422; a repeat while the first is still running gets 409. A 5xx or a crash
releases the claim so a retry can run.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request

from core.errors import Conflict, DomainError, Unprocessable
from core.models import ApiKey, IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    record_id: int
    token: uuid.UUID


class Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def client_id(request: Request) -> str:
    """Whose keys these are: the API key itself (many keys share one service account, and two
    platforms choosing the same key must never see each other's responses), else the person."""
    if isinstance(request.auth, ApiKey):
        return f"key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request's identity: method, path and body (JSON compared by meaning, not bytes)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):  # hostile bodies: bytes as sent
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", canonical):
        digest.update(part)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code or 200,
        content_type=record.content_type or "application/json",
    )
    response[REPLAY_HEADER] = "true"
    return response


def claim(request: Request) -> Claim | None:
    """Claim the request's key, or raise Replay / Conflict / Unprocessable. None: no key sent."""
    if request.method not in UNSAFE_METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise DomainError(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="invalid_idempotency_key",
        )
    client = client_id(request)
    print_ = fingerprint(request.method or "", request.path, request._request.body)
    now = timezone.now()
    token = uuid.uuid4()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client=client,
                    key=key,
                    method=request.method or "",
                    path=request.path[:2000],
                    fingerprint=print_,
                    claim=token,
                    expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
                )
            return Claim(record_id=record.pk, token=token)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if existing is None:
            continue  # released in between: try to claim again
        if existing.expires_at <= now:
            IdempotencyRecord.objects.filter(pk=existing.pk, claim=existing.claim).delete()
            continue
        if existing.fingerprint != print_:
            raise Unprocessable(
                f"{HEADER} {key!r} was already used for a different request.",
                code="idempotency_key_reused",
            )
        if existing.state == IdempotencyRecord.State.COMPLETED:
            raise Replay(_replay(existing))
        stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_STALE_SECONDS)
        if existing.created_at < stale_before:
            taken = IdempotencyRecord.objects.filter(
                pk=existing.pk, claim=existing.claim, state=IdempotencyRecord.State.IN_PROGRESS
            ).update(claim=token, created_at=now)
            if taken:
                return Claim(record_id=existing.pk, token=token)
            continue
        raise Conflict(
            f"A request with {HEADER} {key!r} is still in progress; retry shortly.",
            code="idempotency_in_progress",
        )
    raise Conflict(
        f"Could not claim {HEADER} {key!r}; retry shortly.", code="idempotency_in_progress"
    )


def complete(held: Claim, response: HttpResponse) -> None:
    """Store the response of the claimed request (or release the claim after a server error)."""
    if response.status_code >= 500:
        release(held)
        return
    IdempotencyRecord.objects.filter(pk=held.record_id, claim=held.token).update(
        state=IdempotencyRecord.State.COMPLETED,
        status_code=response.status_code,
        content_type=response.get("Content-Type", "application/json")[:100],
        response_body=_storable(response),
    )


REDACTED = "<shown once; not replayed>"


def _storable(response: HttpResponse) -> bytes:
    """The body to replay. Fields a view marks ``idempotency_redact`` (a new API key) are never
    written to the database: a replay says the key was shown once."""
    body = bytes(response.content)
    redact = getattr(response, "idempotency_redact", ())
    if not redact:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        return b"{}"
    if isinstance(data, dict):
        data.update(dict.fromkeys(redact, REDACTED))
    return json.dumps(data).encode()


def release(held: Claim) -> None:
    IdempotencyRecord.objects.filter(
        pk=held.record_id, claim=held.token, state=IdempotencyRecord.State.IN_PROGRESS
    ).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted

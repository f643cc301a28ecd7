"""The one way this service signs what it posts to webhooks (config changes, notifications).

A receiver recomputes ``HMAC-SHA256(secret, f"{X-Signature-Timestamp}." + body)`` and compares it
with ``X-Signature`` (``sha256=<hex>``) in constant time; the timestamp lets it refuse replays."""

import hashlib
import hmac


def sign(*, secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"

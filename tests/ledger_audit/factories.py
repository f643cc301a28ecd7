"""Feed item builders for the ledger-audit tests (plain dicts, as the platform sends them)."""

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

_seq = itertools.count(1)


def ts(value: datetime) -> str:
    return value.isoformat()


def ago(**kwargs: float) -> datetime:
    return timezone.now() - timedelta(**kwargs)


def event(deal_id: str, state: str, at: datetime, version: str = "v1") -> dict[str, Any]:
    return {"deal_id": deal_id, "state": state, "occurred_at": ts(at), "template_version": version}


def entry(
    deal_id: str,
    kind: str = "hold",
    amount: str = "100.00",
    *,
    key: str | None = None,
    entry_id: str | None = None,
    currency: str = "EUR",
    at: datetime | None = None,
) -> dict[str, Any]:
    n = next(_seq)
    return {
        "entry_id": entry_id or f"e-{n}",
        "deal_id": deal_id,
        "idempotency_key": key or f"k-{n}",
        "kind": kind,
        "amount": amount,
        "currency": currency,
        "created_at": ts(at or ago(minutes=1)),
    }


def timer(
    deal_id: str,
    expires_at: datetime,
    status: str = "running",
    *,
    timer_id: str | None = None,
    kind: str = "inspection",
) -> dict[str, Any]:
    return {
        "timer_id": timer_id or f"t-{next(_seq)}",
        "deal_id": deal_id,
        "kind": kind,
        "expires_at": ts(expires_at),
        "status": status,
    }


def dispute(
    deal_id: str,
    opened_at: datetime,
    ttl_seconds: int = 3600,
    status: str = "open",
    *,
    dispute_id: str | None = None,
    resolution: str = "",
) -> dict[str, Any]:
    return {
        "dispute_id": dispute_id or f"d-{next(_seq)}",
        "deal_id": deal_id,
        "opened_at": ts(opened_at),
        "ttl_seconds": ttl_seconds,
        "status": status,
        "resolution": resolution,
    }

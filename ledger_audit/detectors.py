"""The detectors. Each is set-based SQL (ORM aggregates): it returns the problems the data
shows now, within a scope — everything (the full scan) or what a feed batch touched (deal ids and
idempotency keys). Python only shapes the rows of problems found into evidence; it never walks the
mirror's tables row by row."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from ledger_audit.enums import (
    OUTGOING_KINDS,
    TERMINAL_STATES,
    TIMED_STATES,
    Detector,
    DisputeStatus,
    EntryKind,
    TimerStatus,
)
from ledger_audit.models import Deal, Dispute, LedgerEntry, Timer

MAX_EVIDENCE_ENTRIES = 100
_PLACES = Decimal("0.00000001")


def _money(value: Any) -> str:
    """Amounts as the same decimal string on every database (SQLite sums lose the scale)."""
    return str(Decimal(value).quantize(_PLACES))


@dataclass(frozen=True)
class Scope:
    """What to look at: ``None`` means everything (a full scan)."""

    deal_ids: frozenset[str] | None = None
    keys: frozenset[str] | None = None

    @classmethod
    def full(cls) -> "Scope":
        return cls()

    @classmethod
    def of(cls, *, deal_ids: Iterable[str] = (), keys: Iterable[str] = ()) -> "Scope":
        return cls(deal_ids=frozenset(deal_ids), keys=frozenset(keys))

    @property
    def is_full(self) -> bool:
        return self.deal_ids is None and self.keys is None


@dataclass(frozen=True)
class Problem:
    detector: str
    fingerprint: str
    subject: str  # the deal id or idempotency key the problem is about (scopes re-checks)
    title: str
    deal_ids: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)


def _deal_scoped(qs: QuerySet[Any], scope: Scope, column: str = "deal_id") -> QuerySet[Any] | None:
    if scope.deal_ids is None:
        return qs
    if not scope.deal_ids:
        return None
    return qs.filter(**{f"{column}__in": scope.deal_ids})


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "entry_id": row["entry_id"],
        "deal_id": row["deal_id"],
        "idempotency_key": row["idempotency_key"],
        "kind": row["kind"],
        "amount": _money(row["amount"]),
        "currency": row["currency"],
        "created_at": row["created_at"].isoformat(),
    }


ENTRY_VALUES = (
    "entry_id",
    "deal_id",
    "idempotency_key",
    "kind",
    "amount",
    "currency",
    "created_at",
)


def _entries_by_deal(deal_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rows = (
        LedgerEntry.objects.filter(deal_id__in=set(deal_ids))
        .order_by("deal_id", "created_at", "id")
        .values(*ENTRY_VALUES)
    )
    for row in rows:
        if len(grouped[row["deal_id"]]) < MAX_EVIDENCE_ENTRIES:
            grouped[row["deal_id"]].append(_entry(row))
    return grouped


class _EqualsAny(Func):
    """``column = ANY(array)``: one array parameter however many values (PostgreSQL)."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def _duplicate_keys_match(scope: Scope) -> Q | _EqualsAny | None:
    """Which entries carry a duplicated key (None: none do). Two steps on PostgreSQL: the keys
    first (the bare ``GROUP BY`` on the indexed column ``HAVING count(*) > 1``, no join back to
    the table), then only their entries by ``= ANY(array)`` (one parameter, however many keys).
    SQLite (the embedded default) keeps the single statement with a subquery."""
    entries = LedgerEntry.objects.order_by()
    if scope.keys is not None:
        if not scope.keys:
            return None
        entries = entries.filter(idempotency_key__in=scope.keys)
    dup = entries.values("idempotency_key").annotate(n=Count("*")).filter(n__gt=1)
    if connection.vendor != "postgresql":
        return Q(idempotency_key__in=dup.values("idempotency_key"))
    keys = [row["idempotency_key"] for row in dup]
    if not keys:
        return None
    from django.contrib.postgres.fields import ArrayField

    array = Value(keys, output_field=ArrayField(CharField()))
    return _EqualsAny(F("idempotency_key"), array)


# 1. The same idempotency key on more than one ledger entry.
def detect_duplicate_keys(scope: Scope, now: datetime) -> list[Problem]:
    match = _duplicate_keys_match(scope)
    if match is None:
        return []
    rows = (
        LedgerEntry.objects.filter(match)
        .order_by("idempotency_key", "created_at", "id")
        .values(*ENTRY_VALUES)
    )
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["idempotency_key"]].append(_entry(row))
    return [
        Problem(
            detector=Detector.DUPLICATE_KEY,
            fingerprint=f"duplicate_key:{key}",
            subject=key,
            title=f"Idempotency key {key} on {len(entries)} ledger entries",
            deal_ids=tuple(sorted({e["deal_id"] for e in entries})),
            evidence={
                "idempotency_key": key,
                "entry_ids": [e["entry_id"] for e in entries],
                "entries": entries[:MAX_EVIDENCE_ENTRIES],
            },
        )
        for key, entries in grouped.items()
    ]


def _sum_kind(kind: str) -> Coalesce:
    return Coalesce(
        Sum("amount", filter=Q(kind=kind)),
        Value(Decimal(0)),
        output_field=DecimalField(max_digits=30, decimal_places=8),
    )


# 2. Released + refunded exceed held for a deal, or money leaves a deal twice.
def detect_funds_incorrect(scope: Scope, now: datetime) -> list[Problem]:
    base = _deal_scoped(LedgerEntry.objects.all(), scope)
    if base is None:
        return []
    over = (
        base.values("deal_id", "currency")
        .annotate(
            held=_sum_kind(EntryKind.HOLD),
            released=_sum_kind(EntryKind.RELEASE),
            refunded=_sum_kind(EntryKind.REFUND),
        )
        .filter(released__gt=F("held") - F("refunded"))
    )
    # Money leaving twice: two outgoing entries of the same kind, amount and currency.
    twice = (
        base.filter(kind__in=OUTGOING_KINDS)
        .values("deal_id", "kind", "amount", "currency")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    reasons: dict[str, dict[str, Any]] = defaultdict(lambda: {"over_release": [], "twice": []})
    for row in over:
        reasons[row["deal_id"]]["over_release"].append(
            {
                "currency": row["currency"],
                "held": _money(row["held"]),
                "released": _money(row["released"]),
                "refunded": _money(row["refunded"]),
            }
        )
    for row in twice:
        reasons[row["deal_id"]]["twice"].append(
            {
                "kind": row["kind"],
                "amount": _money(row["amount"]),
                "currency": row["currency"],
                "count": row["n"],
            }
        )
    entries = _entries_by_deal(reasons)
    return [
        Problem(
            detector=Detector.FUNDS_INCORRECT,
            fingerprint=f"funds_incorrect:{deal_id}",
            subject=deal_id,
            title=f"Deal {deal_id}: "
            + ("money left more than was held" if why["over_release"] else "money left twice"),
            deal_ids=(deal_id,),
            evidence={
                **why,
                "entry_ids": [e["entry_id"] for e in entries[deal_id]],
                "entries": entries[deal_id],
            },
        )
        for deal_id, why in sorted(reasons.items())
    ]


# 3. Mixed currencies or non-positive amounts within a deal.
def detect_data_integrity(scope: Scope, now: datetime) -> list[Problem]:
    base = _deal_scoped(LedgerEntry.objects.all(), scope)
    if base is None:
        return []
    flagged = list(
        base.values("deal_id")
        .annotate(currencies=Count("currency", distinct=True), lowest=Min("amount"))
        .filter(Q(currencies__gt=1) | Q(lowest__lte=0))
        .order_by("deal_id")
    )
    entries = _entries_by_deal(r["deal_id"] for r in flagged)
    problems = []
    for row in flagged:
        deal_entries = entries[row["deal_id"]]
        problems.append(
            Problem(
                detector=Detector.DATA_INTEGRITY,
                fingerprint=f"data_integrity:{row['deal_id']}",
                subject=row["deal_id"],
                title=f"Deal {row['deal_id']}: "
                + ("mixed currencies" if row["currencies"] > 1 else "non-positive amount"),
                deal_ids=(row["deal_id"],),
                evidence={
                    "currencies": sorted({e["currency"] for e in deal_entries}),
                    "mixed_currencies": row["currencies"] > 1,
                    "non_positive_entry_ids": [
                        e["entry_id"] for e in deal_entries if Decimal(e["amount"]) <= 0
                    ],
                    "entry_ids": [e["entry_id"] for e in deal_entries],
                    "entries": deal_entries,
                },
            )
        )
    return problems


def _deal_evidence(deal: dict[str, Any]) -> dict[str, Any]:
    return {
        "deal_id": deal["deal_id"],
        "state": deal["state"],
        "state_since": deal["state_since"].isoformat(),
    }


# 4. A deal in INSPECTION or ISSUE with no running timer past a grace period.
def detect_timer_missing(scope: Scope, now: datetime) -> list[Problem]:
    grace = timedelta(seconds=settings.LEDGER_AUDIT_TIMER_MISSING_GRACE_SECONDS)
    running = Timer.objects.filter(deal_id=OuterRef("deal_id"), status=TimerStatus.RUNNING)
    qs = _deal_scoped(
        Deal.objects.filter(state__in=TIMED_STATES, state_since__lt=now - grace).exclude(
            Exists(running)
        ),
        scope,
    )
    if qs is None:
        return []
    return [
        Problem(
            detector=Detector.TIMER_MISSING,
            fingerprint=f"timer_missing:{d['deal_id']}",
            subject=d["deal_id"],
            title=f"Deal {d['deal_id']} in {d['state']} without a running timer",
            deal_ids=(d["deal_id"],),
            evidence=_deal_evidence(d),
        )
        for d in qs.order_by("deal_id").values("deal_id", "state", "state_since")
    ]


# 5. A timer expired past a grace period while its deal stays in the state it was in.
def detect_transition_blocked(scope: Scope, now: datetime) -> list[Problem]:
    grace = timedelta(seconds=settings.LEDGER_AUDIT_TIMER_EXPIRED_GRACE_SECONDS)
    qs = _deal_scoped(
        Timer.objects.exclude(status=TimerStatus.CANCELLED)
        .filter(expires_at__lt=now - grace, deal__state_since__lte=F("expires_at"))
        .exclude(deal__state__in=TERMINAL_STATES),
        scope,
    )
    if qs is None:
        return []
    grouped: dict[str, dict[str, Any]] = {}
    rows = qs.order_by("deal_id", "expires_at").values(
        "deal_id", "timer_id", "kind", "status", "expires_at", "deal__state", "deal__state_since"
    )
    for row in rows:
        item = grouped.setdefault(
            row["deal_id"],
            {
                "deal_id": row["deal_id"],
                "state": row["deal__state"],
                "state_since": row["deal__state_since"].isoformat(),
                "timers": [],
            },
        )
        item["timers"].append(
            {
                "timer_id": row["timer_id"],
                "kind": row["kind"],
                "status": row["status"],
                "expires_at": row["expires_at"].isoformat(),
            }
        )
    return [
        Problem(
            detector=Detector.TRANSITION_BLOCKED,
            fingerprint=f"transition_blocked:{deal_id}",
            subject=deal_id,
            title=f"Deal {deal_id} still in {ev['state']} after its timer expired",
            deal_ids=(deal_id,),
            evidence={**ev, "timer_ids": [t["timer_id"] for t in ev["timers"]]},
        )
        for deal_id, ev in grouped.items()
    ]


# 6. A dispute past its TTL, unresolved.
def detect_dispute_ttl(scope: Scope, now: datetime) -> list[Problem]:
    grace = timedelta(seconds=settings.LEDGER_AUDIT_DISPUTE_TTL_GRACE_SECONDS)
    qs = _deal_scoped(
        Dispute.objects.filter(status=DisputeStatus.OPEN, expires_at__lt=now - grace), scope
    )
    if qs is None:
        return []
    return [
        Problem(
            detector=Detector.DISPUTE_TTL,
            fingerprint=f"dispute_ttl:{d['dispute_id']}",
            subject=d["deal_id"],
            title=f"Dispute {d['dispute_id']} on deal {d['deal_id']} unresolved past its TTL",
            deal_ids=(d["deal_id"],),
            evidence={
                "dispute_id": d["dispute_id"],
                "deal_id": d["deal_id"],
                "opened_at": d["opened_at"].isoformat(),
                "expires_at": d["expires_at"].isoformat(),
            },
        )
        for d in qs.order_by("deal_id", "dispute_id").values(
            "dispute_id", "deal_id", "opened_at", "expires_at"
        )
    ]


# 6b. An open dispute on which the platform reports resolutions tried and refused: an admin saw
# it and could not resolve it (the runbook's Incident 3), whether or not its TTL has passed.
def detect_dispute_resolution_failed(scope: Scope, now: datetime) -> list[Problem]:
    qs = _deal_scoped(
        Dispute.objects.filter(status=DisputeStatus.OPEN).exclude(failed_resolution_attempts=[]),
        scope,
    )
    if qs is None:
        return []
    problems = []
    for d in qs.order_by("deal_id", "dispute_id").values(
        "dispute_id", "deal_id", "opened_at", "expires_at", "failed_resolution_attempts"
    ):
        attempts = d["failed_resolution_attempts"]
        problems.append(
            Problem(
                detector=Detector.DISPUTE_RESOLUTION_FAILED,
                fingerprint=f"dispute_resolution_failed:{d['dispute_id']}",
                subject=d["deal_id"],
                title=f"Dispute {d['dispute_id']} on deal {d['deal_id']}: "
                f"{len(attempts)} resolution attempt(s) failed",
                deal_ids=(d["deal_id"],),
                evidence={
                    "dispute_id": d["dispute_id"],
                    "deal_id": d["deal_id"],
                    "opened_at": d["opened_at"].isoformat(),
                    "expires_at": d["expires_at"].isoformat(),
                    "failed_attempts": len(attempts),
                    "last_attempt_at": attempts[-1]["attempted_at"],
                    "attempts": attempts[-MAX_EVIDENCE_ENTRIES:],
                },
            )
        )
    return problems


# 7. A deal in the same (non-terminal) state for more than N days.
def detect_deal_stuck(scope: Scope, now: datetime) -> list[Problem]:
    days = settings.LEDGER_AUDIT_STUCK_DAYS
    qs = _deal_scoped(
        Deal.objects.exclude(state__in=[*TERMINAL_STATES, ""]).filter(
            state_since__lt=now - timedelta(days=days)
        ),
        scope,
    )
    if qs is None:
        return []
    return [
        Problem(
            detector=Detector.DEAL_STUCK,
            fingerprint=f"deal_stuck:{d['deal_id']}",
            subject=d["deal_id"],
            title=f"Deal {d['deal_id']} in {d['state']} for more than {days} days",
            deal_ids=(d["deal_id"],),
            evidence={**_deal_evidence(d), "threshold_days": days},
        )
        for d in qs.order_by("deal_id").values("deal_id", "state", "state_since")
    ]


DETECTORS: dict[str, Callable[[Scope, datetime], list[Problem]]] = {
    Detector.DUPLICATE_KEY: detect_duplicate_keys,
    Detector.FUNDS_INCORRECT: detect_funds_incorrect,
    Detector.DATA_INTEGRITY: detect_data_integrity,
    Detector.TIMER_MISSING: detect_timer_missing,
    Detector.TRANSITION_BLOCKED: detect_transition_blocked,
    Detector.DISPUTE_TTL: detect_dispute_ttl,
    Detector.DISPUTE_RESOLUTION_FAILED: detect_dispute_resolution_failed,
    Detector.DEAL_STUCK: detect_deal_stuck,
}
# Detectors whose findings are scoped by idempotency key; the others by deal id.
KEY_SCOPED = frozenset({Detector.DUPLICATE_KEY})

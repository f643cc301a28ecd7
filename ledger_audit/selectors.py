"""Reads of the ledger-audit app. Every selector runs a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from incidents.models import Incident
from ledger_audit.enums import TERMINAL_STATES, DealState, Detector
from ledger_audit.models import Deal, Finding, LedgerEntry, TimelineExport


def open_deal_count_by_template_version() -> dict[str, int]:
    """Deals not in a terminal state (RELEASED, REFUNDED, CANCELLED), by template version.
    Deals only referenced so far (no state event yet) are not counted."""
    rows = (
        Deal.objects.exclude(state__in=[*TERMINAL_STATES, ""])
        .values("template_version")
        .annotate(n=Count("id"))
        .order_by("template_version")
    )
    return {row["template_version"]: row["n"] for row in rows}


@dataclass(frozen=True)
class BlastRadius:
    deals_affected: int  # ids on the incident
    deals_known: int  # of those, deals the feed has told us about
    money: dict[str, dict[str, Decimal]]  # currency → {"hold", "release", "refund"} totals
    blocked: dict[str, int]  # INSPECTION / ISSUE → deals currently in that state
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def blocked_total(self) -> int:
        return sum(self.blocked.values())


def incident_blast_radius(*, incident: Incident) -> BlastRadius:
    """Deals affected, money held/released/refunded on them per currency, deals blocked in
    INSPECTION/ISSUE — two aggregate queries, computed live so it follows the feed."""
    deal_ids = [str(d) for d in incident.affected_deals or []]
    if not deal_ids:
        return BlastRadius(0, 0, {}, {DealState.INSPECTION: 0, DealState.ISSUE: 0})
    by_state = {
        row["state"]: row["n"]
        for row in Deal.objects.filter(deal_id__in=deal_ids)
        .values("state")
        .annotate(n=Count("id"))
        .order_by("state")
    }
    money: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {"hold": Decimal(0), "release": Decimal(0), "refund": Decimal(0)}
    )
    rows = (
        LedgerEntry.objects.filter(deal_id__in=deal_ids)
        .values("currency", "kind")
        .annotate(total=Sum("amount"))
        .order_by("currency", "kind")
    )
    for row in rows:
        money[row["currency"]][row["kind"]] = row["total"] or Decimal(0)
    return BlastRadius(
        deals_affected=len(set(deal_ids)),
        deals_known=sum(by_state.values()),
        money=dict(money),
        blocked={
            DealState.INSPECTION: by_state.get(DealState.INSPECTION, 0),
            DealState.ISSUE: by_state.get(DealState.ISSUE, 0),
        },
        by_state=by_state,
    )


@dataclass(frozen=True)
class KeyGroup:
    key: str
    entries: list[dict[str, Any]]
    finding_open: bool


def incident_duplicate_keys(*, incident: Incident) -> list[KeyGroup]:
    """Each duplicate idempotency key found for the incident, with its ledger entries side by
    side (two queries)."""
    findings = dict(
        Finding.objects.filter(incident=incident, detector=Detector.DUPLICATE_KEY)
        .order_by("subject", "cleared_at")
        .values_list("subject", "cleared_at")
    )
    if not findings:
        return []
    grouped: dict[str, list[Any]] = defaultdict(list)
    rows = (
        LedgerEntry.objects.filter(idempotency_key__in=list(findings))
        .order_by("idempotency_key", "created_at", "id")
        .values(
            "entry_id", "deal_id", "idempotency_key", "kind", "amount", "currency", "created_at"
        )
    )
    for row in rows:
        grouped[row["idempotency_key"]].append(row)
    return [
        KeyGroup(key=key, entries=grouped.get(key, []), finding_open=cleared is None)
        for key, cleared in sorted(findings.items())
    ]


def findings_for_incident(*, incident: Incident) -> QuerySet[Finding]:
    return Finding.objects.filter(incident=incident).order_by("detector", "subject")


def open_findings() -> QuerySet[Finding]:
    return Finding.objects.filter(cleared_at__isnull=True).select_related("incident")


def exports_for_incident(*, incident: Incident) -> QuerySet[TimelineExport]:
    return TimelineExport.objects.filter(incident=incident).select_related("requested_by")


def finding_counts_by_detector() -> dict[str, int]:
    """Open findings per detector (one query; for dashboards)."""
    rows = (
        Finding.objects.filter(cleared_at__isnull=True)
        .values("detector")
        .annotate(n=Count("id", filter=Q(cleared_at__isnull=True)))
        .order_by("detector")
    )
    return {row["detector"]: row["n"] for row in rows}

"""Alerts from monitoring (Alertmanager's webhook, Grafana's webhook contact point) as incidents.

The rules, in one place (the API views only parse the payload):

- One incident per alert group (the sender's ``groupKey``) while it is not resolved or closed,
  or one per alert (``ALERT_DEDUP_BY = "fingerprint"``). A repeat notification attaches: an
  "alert" timeline entry, new affected deals, no new incident.
- Severity from the labels: ``pcp_severity`` (SEV0-SEV3) wins, else ``severity`` through
  ``ALERT_SEVERITY_MAP`` (critical→SEV0, high/error→SEV1, warning→SEV2, info→SEV3); anything
  else opens as ``ALERT_DEFAULT_SEVERITY`` (SEV2: someone looks at it during the day and may
  reclassify) and the timeline says which label was not understood. A group takes its most
  severe alert. Category from ``pcp_category`` (an unknown one is ``other``); deals from
  ``deal`` / ``deal_id``.
- ``resolved`` alerts are recorded on the timeline. When every alert of a SEV2/SEV3 incident is
  resolved, the system resolves it; a SEV0/SEV1 incident waits for a person (the entry says so).
  A resolved alert never opens an incident.
- A payload is stored whole or not at all (one transaction). Deliveries of the same group are
  taken one at a time (a transaction-scoped advisory lock per dedup key, taken in one order), so
  they cannot race; other groups go on in parallel, and a repeat attaches without the opening
  counter's lock (only a new incident takes a number).

Alert text is hostile input: titles and entry lines are folded onto one line and cut to size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.text import one_line
from incidents.enums import (
    DEFERRABLE_SEVERITIES,
    Category,
    Severity,
    Source,
    TimelineKind,
)
from incidents.models import ACTIVE_Q, AlertStatus, Incident, IncidentAlert
from incidents.permissions import IncidentPerm
from incidents.services._common import lock, require
from incidents.services.lifecycle import incident_resolve
from incidents.services.opening import incident_attach, incident_open_or_attach
from incidents.services.timeline import timeline_record

TITLE_MAX = 200
NAME_MAX = 200
SEVERITY_ORDER = {s: i for i, s in enumerate(Severity.values)}  # SEV0 first: most severe


@dataclass(frozen=True)
class Alert:
    """One alert as the sender stated it (already shape-checked by the API serializer)."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime | None
    ends_at: datetime | None
    fingerprint: str
    generator_url: str = ""


@dataclass(frozen=True)
class AlertPayload:
    sender: str  # "alertmanager" or "grafana"
    group_key: str
    status: str
    alerts: Sequence[Alert]
    group_labels: Mapping[str, str] = field(default_factory=dict)
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    title: str = ""  # Grafana's own title of the notification
    truncated_alerts: int = 0


@dataclass
class AlertOutcome:
    number: int
    created: bool
    status: str
    firing: int = 0
    resolved: int = 0


def _fold(value: str, limit: int) -> str:
    text = one_line(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def alert_fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id for an alert that came without one (the sender's is used when given)."""
    return hashlib.sha256(json.dumps(dict(labels), sort_keys=True).encode()).hexdigest()[:32]


def alert_severity(labels: Mapping[str, str]) -> tuple[str, str]:
    """The severity the labels ask for, and the label value not understood ("" if none)."""
    pcp = str(labels.get("pcp_severity", "")).strip().upper()
    if pcp in Severity.values:
        return pcp, ""
    mapping: Mapping[str, str] = settings.ALERT_SEVERITY_MAP
    raw = str(labels.get("severity", "")).strip()
    mapped = mapping.get(raw.lower())
    if mapped in Severity.values:
        return str(mapped), ""
    default = settings.ALERT_DEFAULT_SEVERITY
    unknown = pcp or raw
    return (default if default in Severity.values else Severity.SEV2), unknown


def alert_category(labels: Mapping[str, str]) -> str:
    value = str(labels.get("pcp_category", "")).strip().lower()
    return value if value in Category.values else Category.OTHER


def alert_deals(labels: Mapping[str, str]) -> list[str]:
    deals = []
    for name in ("deal", "deal_id"):
        value = _fold(str(labels.get(name, "")), 100)
        if value:
            deals.append(value)
    return deals


def _alert_name(alert: Alert) -> str:
    return _fold(str(alert.labels.get("alertname", "")), NAME_MAX) or alert.fingerprint


def _dedup_key(payload: AlertPayload, alert: Alert) -> str:
    if settings.ALERT_DEDUP_BY == "fingerprint":
        return f"{payload.sender}:alert:{alert.fingerprint}"
    digest = hashlib.sha256(payload.group_key.encode()).hexdigest()
    return f"{payload.sender}:group:{digest}"


def _title(payload: AlertPayload, alerts: Sequence[Alert]) -> str:
    lead = alerts[0]
    name = str(lead.labels.get("alertname", "")) or str(payload.common_labels.get("alertname", ""))
    summary = (
        str(lead.annotations.get("summary", ""))
        or str(payload.common_annotations.get("summary", ""))
        or payload.title
    )
    text = ": ".join(part for part in (one_line(name), one_line(summary)) if part)
    return _fold(text, TITLE_MAX) or _("Alert from %(sender)s") % {"sender": payload.sender}


def _description(payload: AlertPayload, alerts: Sequence[Alert]) -> str:
    lead = alerts[0]
    lines = [
        str(lead.annotations.get("description", ""))
        or str(payload.common_annotations.get("description", "")),
        _("Sender: %(sender)s, group %(group)s.")
        % {"sender": payload.sender, "group": _fold(payload.group_key, 300)},
    ]
    if lead.generator_url:
        lines.append(_("Source: %(url)s") % {"url": _fold(lead.generator_url, 500)})
    if payload.external_url:
        lines.append(_("Alertmanager: %(url)s") % {"url": _fold(payload.external_url, 500)})
    return "\n".join(line for line in lines if line.strip())


def _most_severe(alerts: Sequence[Alert]) -> tuple[str, list[str]]:
    verdicts = [alert_severity(a.labels) for a in alerts]
    severity = min((v[0] for v in verdicts), key=SEVERITY_ORDER.__getitem__)
    unknown = sorted({v[1] for v in verdicts if v[1]})
    return severity, unknown


def _lock_keys(keys: Sequence[str]) -> None:
    """One delivery per dedup key at a time; the keys in one order (their hash), so two
    payloads sharing keys cannot deadlock."""
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(h) FROM ("
            " SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k"
            " ORDER BY h) AS ordered",
            [list(keys)],
        )


def _store_alerts(incident: Incident, alerts: Sequence[Alert]) -> None:
    """The alerts as they now stand on the incident: one upsert for the whole group."""
    now = timezone.now()
    rows = {
        a.fingerprint: IncidentAlert(
            incident=incident,
            fingerprint=a.fingerprint,
            name=_alert_name(a),
            status=a.status,
            labels=dict(a.labels),
            starts_at=a.starts_at,
            ends_at=a.ends_at if a.status == AlertStatus.RESOLVED else None,
            updated_at=now,
        )
        for a in alerts  # a fingerprint repeated in one payload: the last word counts
    }
    IncidentAlert.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["incident", "fingerprint"],
        update_fields=["name", "status", "labels", "starts_at", "ends_at", "updated_at"],
    )


def _names(alerts: Sequence[Alert], limit: int = 5) -> str:
    names = sorted({_alert_name(a) for a in alerts})
    shown = ", ".join(names[:limit])
    return shown + (_(" and %(n)d more") % {"n": len(names) - limit} if len(names) > limit else "")


def _record(
    *,
    incident: Incident,
    actor: User | None,
    payload: AlertPayload,
    alerts: Sequence[Alert],
    unknown: list[str],
) -> AlertOutcome:
    firing = [a for a in alerts if a.status == AlertStatus.FIRING]
    resolved = [a for a in alerts if a.status == AlertStatus.RESOLVED]
    parts = []
    if firing:
        parts.append(_("%(n)d firing (%(names)s)") % {"n": len(firing), "names": _names(firing)})
    if resolved:
        parts.append(
            _("%(n)d resolved (%(names)s)") % {"n": len(resolved), "names": _names(resolved)}
        )
    message = _("%(sender)s: %(parts)s.") % {
        "sender": payload.sender.capitalize(),
        "parts": "; ".join(parts),
    }
    if unknown:
        message += " " + _("Severity label not understood: %(v)s; opened as the default.") % {
            "v": _fold(", ".join(unknown), 100)
        }
    if payload.truncated_alerts:
        message += " " + _("%(n)d more alerts were left out by the sender.") % {
            "n": payload.truncated_alerts
        }
    timeline_record(
        incident=incident,
        kind=TimelineKind.ALERT,
        actor=actor,
        message=message,
        data={
            "sender": payload.sender,
            "firing": sorted({a.fingerprint for a in firing}),
            "resolved": sorted({a.fingerprint for a in resolved}),
        },
    )
    return AlertOutcome(
        number=incident.number,
        created=False,
        status=incident.status,
        firing=len(firing),
        resolved=len(resolved),
    )


def _settle(incident: Incident, actor: User | None, sender: str) -> Incident:
    """All of an active incident's alerts resolved: SEV2/SEV3 resolve, SEV0/SEV1 wait."""
    if not incident.is_active:
        return incident
    if IncidentAlert.objects.filter(incident=incident, status=AlertStatus.FIRING).exists():
        return incident
    if incident.severity in DEFERRABLE_SEVERITIES:
        # The system resolves (not the monitoring account: it may not resolve by itself).
        return incident_resolve(
            incident=incident,
            actor=None,
            resolution=_("Every alert of the incident resolved (%(sender)s).") % {"sender": sender},
        )
    timeline_record(
        incident=incident,
        kind=TimelineKind.ALERT,
        actor=actor,
        message=_("Every alert resolved; a %(sev)s incident waits for a person to resolve it.")
        % {"sev": incident.severity},
        data={"all_resolved": True},
    )
    return incident


@transaction.atomic
def alerts_receive(*, payload: AlertPayload, actor: User | None) -> list[AlertOutcome]:
    """Open, attach to and settle incidents from one notification; one outcome per incident
    touched (a resolved alert of no known incident touches none)."""
    require(actor, IncidentPerm.RECORD_ALERT, _("You may not record alerts."))
    groups: dict[str, list[Alert]] = {}
    for alert in payload.alerts:
        groups.setdefault(_dedup_key(payload, alert), []).append(alert)
    _lock_keys(sorted(groups))
    active = {i.dedup_key: i for i in Incident.objects.filter(ACTIVE_Q, dedup_key__in=list(groups))}

    outcomes: list[AlertOutcome] = []
    for dedup_key, alerts in groups.items():
        firing = [a for a in alerts if a.status == AlertStatus.FIRING]
        created = False
        unknown: list[str] = []
        existing = active.get(dedup_key)
        if firing and existing is not None and lock(existing).is_active:
            _severity, unknown = _most_severe(firing)
            incident = incident_attach(
                incident=existing,
                actor=actor,
                source=Source.MONITORING,
                affected_deals=[d for a in alerts for d in alert_deals(a.labels)],
            )
        elif firing:
            severity, unknown = _most_severe(firing)
            deals = [d for a in alerts for d in alert_deals(a.labels)]
            incident, created = incident_open_or_attach(
                title=_title(payload, firing),
                severity=severity,
                category=alert_category(firing[0].labels),
                actor=actor,
                source=Source.MONITORING,
                description=_description(payload, firing),
                affected_deals=deals,
                dedup_key=dedup_key,
            )
        else:
            # Resolved only: the incident these alerts were filed under, even if a person
            # already resolved or closed it (the story still gets its end).
            found = (
                existing
                or Incident.objects.filter(
                    alerts__fingerprint__in=[a.fingerprint for a in alerts],
                    dedup_key=dedup_key,
                )
                .order_by("-number")
                .first()
            )
            if found is None:
                continue
            incident = found
        incident = lock(incident)
        _store_alerts(incident, alerts)
        outcome = _record(
            incident=incident, actor=actor, payload=payload, alerts=alerts, unknown=unknown
        )
        incident = _settle(incident, actor, payload.sender)
        outcome.created = created
        outcome.status = incident.status
        outcomes.append(outcome)
    return outcomes


__all__ = [
    "Alert",
    "AlertOutcome",
    "AlertPayload",
    "alert_category",
    "alert_deals",
    "alert_fingerprint",
    "alert_severity",
    "alerts_receive",
]

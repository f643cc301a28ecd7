"""The incidents app's models: incidents and the runbook data (``incident``), the SLA clock and
escalation policy (``sla``), the roster and notifications (``roster``)."""

from incidents.models.alerts import AlertStatus, IncidentAlert
from incidents.models.incident import (
    ACTIVE_Q,
    ChecklistStep,
    Incident,
    IncidentCounter,
    Playbook,
    PlaybookStep,
    SeverityPolicy,
    TimelineEntry,
)
from incidents.models.roster import (
    Notification,
    OnCallShift,
    RosterMember,
    WebhookEndpoint,
)
from incidents.models.sla import (
    BusinessHoliday,
    Escalation,
    EscalationLevel,
    EscalationRule,
    SlaTimer,
    SweepHeartbeat,
)

__all__ = [
    "ACTIVE_Q",
    "AlertStatus",
    "BusinessHoliday",
    "ChecklistStep",
    "Escalation",
    "EscalationLevel",
    "EscalationRule",
    "Incident",
    "IncidentAlert",
    "IncidentCounter",
    "Notification",
    "OnCallShift",
    "Playbook",
    "PlaybookStep",
    "RosterMember",
    "SeverityPolicy",
    "SlaTimer",
    "SweepHeartbeat",
    "TimelineEntry",
    "WebhookEndpoint",
]

"""The incidents part of the operator console."""

from incidents.admin.incident import IncidentAdmin
from incidents.admin.policy import PlaybookAdmin, SeverityPolicyAdmin, TimelineEntryAdmin
from incidents.admin.sla import (
    EscalationAdmin,
    EscalationRuleAdmin,
    NotificationAdmin,
    OnCallShiftAdmin,
    RosterMemberAdmin,
)

__all__ = [
    "EscalationAdmin",
    "EscalationRuleAdmin",
    "IncidentAdmin",
    "NotificationAdmin",
    "OnCallShiftAdmin",
    "PlaybookAdmin",
    "RosterMemberAdmin",
    "SeverityPolicyAdmin",
    "TimelineEntryAdmin",
]

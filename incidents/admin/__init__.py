"""The incidents part of the operator console."""

from incidents.admin.incident import IncidentAdmin
from incidents.admin.policy import PlaybookAdmin, SeverityPolicyAdmin, TimelineEntryAdmin

__all__ = ["IncidentAdmin", "PlaybookAdmin", "SeverityPolicyAdmin", "TimelineEntryAdmin"]

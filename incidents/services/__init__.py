"""Writes of the incidents app: ``from incidents.services import incident_open``."""

from incidents.services.lifecycle import (
    LOG_FIELDS,
    POSTMORTEM_FIELDS,
    checklist_step_tick,
    incident_acknowledge,
    incident_add_note,
    incident_change_severity,
    incident_close,
    incident_defer,
    incident_escalate,
    incident_reopen,
    incident_resolve,
    incident_update_log,
    postmortem_missing,
)
from incidents.services.opening import (
    immediate_playbook,
    incident_add_playbook,
    incident_bound_action_done,
    incident_open,
    incident_open_or_attach,
    timeline_record,
)
from incidents.services.policy import (
    playbook_step_create,
    playbook_step_delete,
    playbook_step_update,
    playbook_update,
    severity_policy_update,
)
from incidents.services.sla import deadlines_recompute

__all__ = [
    "LOG_FIELDS",
    "POSTMORTEM_FIELDS",
    "checklist_step_tick",
    "deadlines_recompute",
    "immediate_playbook",
    "incident_acknowledge",
    "incident_add_note",
    "incident_add_playbook",
    "incident_bound_action_done",
    "incident_change_severity",
    "incident_close",
    "incident_defer",
    "incident_escalate",
    "incident_open",
    "incident_open_or_attach",
    "incident_reopen",
    "incident_resolve",
    "incident_update_log",
    "playbook_step_create",
    "playbook_step_delete",
    "playbook_step_update",
    "playbook_update",
    "postmortem_missing",
    "severity_policy_update",
    "timeline_record",
]

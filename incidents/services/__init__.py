"""Writes of the incidents app: ``from incidents.services import incident_open``."""

from incidents.services.escalation import rule_apply, sla_sweep
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
from incidents.services.notify import (
    level_recipients,
    notification_deliver,
    notifications_create,
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
from incidents.services.roster import (
    oncall_rotation_generate,
    sla_config_delete,
    sla_config_save,
)
from incidents.services.sla import deadlines_recompute, sla_clock_start

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
    "level_recipients",
    "notification_deliver",
    "notifications_create",
    "oncall_rotation_generate",
    "playbook_step_create",
    "playbook_step_delete",
    "playbook_step_update",
    "playbook_update",
    "postmortem_missing",
    "rule_apply",
    "severity_policy_update",
    "sla_clock_start",
    "sla_config_delete",
    "sla_config_save",
    "sla_sweep",
    "timeline_record",
]

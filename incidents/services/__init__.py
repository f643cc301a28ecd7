"""Writes of the incidents app: ``from incidents.services import incident_open``.

The modules are layered, each importing only those below it (``lint-imports`` checks it):

    alerts                                   monitoring's alerts as incidents
    lifecycle | opening | policy | roster    the acts people and other apps call
    escalation                               escalating, the SLA clock's rules, the sweep
    notify | sla                             who is told; deadlines
    timeline                                 timeline rows, checklist steps (ticked once)
    _common                                  locking, input checks
"""

from incidents.services.alerts import Alert, AlertOutcome, AlertPayload, alerts_receive
from incidents.services.escalation import (
    incident_escalate,
    notifications_create,
    rule_apply,
    sla_clock_start,
    sla_sweep,
)
from incidents.services.lifecycle import (
    LOG_FIELDS,
    POSTMORTEM_FIELDS,
    incident_acknowledge,
    incident_add_note,
    incident_change_severity,
    incident_close,
    incident_defer,
    incident_reopen,
    incident_resolve,
    incident_update_log,
    postmortem_missing,
)
from incidents.services.notify import level_recipients, notification_deliver
from incidents.services.opening import (
    incident_add_playbook,
    incident_open,
    incident_open_or_attach,
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
from incidents.services.sla import deadlines_recompute
from incidents.services.timeline import (
    checklist_step_tick,
    immediate_playbook,
    incident_bound_action_done,
    timeline_record,
)

__all__ = [
    "LOG_FIELDS",
    "POSTMORTEM_FIELDS",
    "Alert",
    "AlertOutcome",
    "AlertPayload",
    "alerts_receive",
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

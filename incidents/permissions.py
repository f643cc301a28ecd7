"""Permission names of the incidents app (granted to roles in ``core/roles.py``)."""

from enum import StrEnum


class IncidentPerm(StrEnum):
    VIEW = "incidents.view_incident"
    ADD = "incidents.add_incident"
    ACKNOWLEDGE = "incidents.acknowledge_incident"
    ANNOTATE = "incidents.annotate_incident"
    TICK = "incidents.tick_incident"
    ESCALATE = "incidents.escalate_incident"
    CHANGE_SEVERITY = "incidents.change_severity_incident"
    DEFER = "incidents.defer_incident"
    RESOLVE = "incidents.resolve_incident"
    REOPEN = "incidents.reopen_incident"
    CLOSE = "incidents.close_incident"
    # Alert receivers (the monitoring role): firing and resolved alerts on the timeline.
    RECORD_ALERT = "incidents.record_alert_incident"
    # Policy data (decision owner).
    VIEW_POLICY = "incidents.view_severitypolicy"
    CHANGE_POLICY = "incidents.change_severitypolicy"
    VIEW_PLAYBOOK = "incidents.view_playbook"
    CHANGE_PLAYBOOK = "incidents.change_playbook"
    # The SLA clock: policy (decision owner), roster and calendar (coordinator).
    CHANGE_LEVEL = "incidents.change_escalationlevel"
    ADD_RULE = "incidents.add_escalationrule"
    CHANGE_RULE = "incidents.change_escalationrule"
    DELETE_RULE = "incidents.delete_escalationrule"
    ADD_WEBHOOK = "incidents.add_webhookendpoint"
    CHANGE_WEBHOOK = "incidents.change_webhookendpoint"
    DELETE_WEBHOOK = "incidents.delete_webhookendpoint"
    ADD_ROSTER = "incidents.add_rostermember"
    CHANGE_ROSTER = "incidents.change_rostermember"
    DELETE_ROSTER = "incidents.delete_rostermember"
    ADD_SHIFT = "incidents.add_oncallshift"
    CHANGE_SHIFT = "incidents.change_oncallshift"
    DELETE_SHIFT = "incidents.delete_oncallshift"
    ADD_HOLIDAY = "incidents.add_businessholiday"
    CHANGE_HOLIDAY = "incidents.change_businessholiday"
    DELETE_HOLIDAY = "incidents.delete_businessholiday"

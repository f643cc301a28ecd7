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
    # Policy data (decision owner).
    VIEW_POLICY = "incidents.view_severitypolicy"
    CHANGE_POLICY = "incidents.change_severitypolicy"
    VIEW_PLAYBOOK = "incidents.view_playbook"
    CHANGE_PLAYBOOK = "incidents.change_playbook"

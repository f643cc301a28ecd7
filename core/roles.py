"""The one role → permission table. Admin, API and ``bootstrap_roles`` all read it.

Roles are Django groups, one per escalation level (a higher level has everything below it), plus
the read-only Auditor and the machine-only API client and Monitoring. Each app names its
permissions once in its own ``permissions.py``; this module decides who gets them.
"""

from dataclasses import dataclass
from enum import StrEnum

from core.permissions import CorePerm


class Role(StrEnum):
    """Role slugs, as typed on the command line."""

    OPERATOR = "operator"
    ENGINEER = "engineer"
    COORDINATOR = "coordinator"
    OWNER = "owner"
    AUDITOR = "auditor"
    API_CLIENT = "api-client"
    MONITORING = "monitoring"


@dataclass(frozen=True)
class RoleInfo:
    group: str
    level: int | None  # escalation level (1-4); None for roles outside the escalation path
    staff: bool  # may log in to the admin
    inherits: "Role | None"
    grants: frozenset[str]
    view_all: bool = False  # every view_* permission of the project's apps
    machine: bool = False  # only machines hold it: every member is a service account


# Apps whose models operational roles may look at.
PROJECT_APPS = ("core", "incidents", "pilot", "ledger_audit")

ROLES: dict[Role, RoleInfo] = {
    Role.OPERATOR: RoleInfo(
        group="Operator",
        level=1,
        staff=True,
        inherits=None,
        view_all=True,
        grants=frozenset({CorePerm.USE_API}),
    ),
    Role.ENGINEER: RoleInfo(
        group="On-call engineer",
        level=2,
        staff=True,
        inherits=Role.OPERATOR,
        grants=frozenset(),
    ),
    Role.COORDINATOR: RoleInfo(
        group="Pilot coordinator",
        level=3,
        staff=True,
        inherits=Role.ENGINEER,
        grants=frozenset(),
    ),
    Role.OWNER: RoleInfo(
        group="Decision owner",
        level=4,
        staff=True,
        inherits=Role.COORDINATOR,
        grants=frozenset({CorePerm.ADD_APIKEY, CorePerm.REVOKE_APIKEY}),
    ),
    Role.AUDITOR: RoleInfo(
        group="Auditor",
        level=None,
        staff=True,
        inherits=None,
        view_all=True,
        grants=frozenset({CorePerm.USE_API}),
    ),
    Role.API_CLIENT: RoleInfo(
        group="API client",
        level=None,
        staff=False,
        inherits=None,
        grants=frozenset({CorePerm.USE_API}),
        machine=True,
    ),
    # Alertmanager / Grafana behind an API key: opens incidents from alerts and writes the
    # alerts (firing, resolved) on their timelines; it reads nothing and decides nothing.
    Role.MONITORING: RoleInfo(
        group="Monitoring",
        level=None,
        staff=False,
        inherits=None,
        grants=frozenset({CorePerm.USE_API}),
        machine=True,
    ),
}

# Each app's grants, in its own section: {role: permissions that role gets, beyond inheritance}.
# --- incidents ---
INCIDENTS_GRANTS: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset(
        {
            "incidents.add_incident",
            "incidents.acknowledge_incident",
            "incidents.annotate_incident",
            "incidents.tick_incident",
            "incidents.escalate_incident",
            "incidents.change_severity_incident",
            "incidents.defer_incident",
        }
    ),
    Role.ENGINEER: frozenset({"incidents.resolve_incident", "incidents.reopen_incident"}),
    Role.COORDINATOR: frozenset(
        {
            "incidents.close_incident",
            # SLA clock: who is on the roster and on call, company days off.
            "incidents.add_rostermember",
            "incidents.change_rostermember",
            "incidents.delete_rostermember",
            "incidents.add_oncallshift",
            "incidents.change_oncallshift",
            "incidents.delete_oncallshift",
            "incidents.add_businessholiday",
            "incidents.change_businessholiday",
            "incidents.delete_businessholiday",
        }
    ),
    Role.OWNER: frozenset(
        {
            "incidents.change_severitypolicy",
            "incidents.change_playbook",
            # SLA clock: the escalation policy and the webhook endpoints (secrets).
            "incidents.change_escalationlevel",
            "incidents.add_escalationrule",
            "incidents.change_escalationrule",
            "incidents.delete_escalationrule",
            "incidents.add_webhookendpoint",
            "incidents.change_webhookendpoint",
            "incidents.delete_webhookendpoint",
        }
    ),
    Role.API_CLIENT: frozenset({"incidents.add_incident", "incidents.view_incident"}),
    Role.MONITORING: frozenset({"incidents.add_incident", "incidents.record_alert_incident"}),
}
# --- pilot ---
# The names of pilot.permissions.PilotPerm, spelled out: core sits below the apps and imports none
# of them (bootstrap_roles refuses a name that is not a real permission).
PILOT_GRANTS: dict[Role, frozenset[str]] = {
    # Towards safety at once: the kill switch; asking for a resume.
    Role.OPERATOR: frozenset(
        {"pilot.read_config", "pilot.disable_pilot", "pilot.add_changerequest"}
    ),
    Role.ENGINEER: frozenset(
        {
            "pilot.revert_template",
            "pilot.switch_flag_off",
            "pilot.request_any_change",
            "pilot.add_rollbackrecord",
            "pilot.add_templateversion",
            "pilot.change_templateversion",
            "pilot.add_featureflag",
            "pilot.change_featureflag",
        }
    ),
    Role.COORDINATOR: frozenset({"pilot.pause_pilot", "pilot.approve_changerequest"}),
    Role.OWNER: frozenset(
        {
            "pilot.approve_cancel",
            "pilot.add_webhooksubscription",
            "pilot.change_webhooksubscription",
            "pilot.delete_webhooksubscription",
        }
    ),
    Role.AUDITOR: frozenset({"pilot.read_config"}),
    Role.API_CLIENT: frozenset({"pilot.read_config"}),
}
# --- ledger_audit ---
# Only the platform's machine account pushes the feed; people request, download and review.
LEDGER_AUDIT_GRANTS: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset(
        {
            "ledger_audit.add_timelineexport",
            "ledger_audit.download_timelineexport",
            "ledger_audit.review_duplicate_keys",
        }
    ),
    Role.AUDITOR: frozenset({"ledger_audit.download_timelineexport"}),
    Role.API_CLIENT: frozenset({"ledger_audit.push_feed"}),
}
# --- console ---
# The Go/No-Go report: those who decide on the pilot's continuation, and the Auditor.
CONSOLE_GRANTS: dict[Role, frozenset[str]] = {
    Role.COORDINATOR: frozenset({"console.view_go_no_go"}),
    Role.AUDITOR: frozenset({"console.view_go_no_go"}),
}
# --- end of app sections ---
APP_GRANTS = (INCIDENTS_GRANTS, PILOT_GRANTS, LEDGER_AUDIT_GRANTS, CONSOLE_GRANTS)

# Permissions that view_all never hands out (secrets and the keys' own table).
VIEW_ALL_EXCLUDED = frozenset({"core.view_idempotencyrecord"})


def role_permissions(role: Role) -> tuple[frozenset[str], bool]:
    """All explicit grants of ``role`` including inherited ones, and whether it sees everything."""
    grants: set[str] = set()
    view_all = False
    current: Role | None = role
    while current is not None:
        info = ROLES[current]
        grants |= info.grants
        for app_grants in APP_GRANTS:
            grants |= app_grants.get(current, frozenset())
        view_all = view_all or info.view_all
        current = info.inherits
    return frozenset(grants), view_all


def role_by_group(group_name: str) -> Role | None:
    for role, info in ROLES.items():
        if info.group == group_name:
            return role
    return None

"""The console's parts of the incident page, the runbook: beside each bound checklist step, the
button that does it (for roles that may), and the deadlines. console/apps.py registers them into
incidents' page hook (incidents/panels.py); the blast radius and the exports are ledger_audit's.

Buttons are links to the confirmation pages of the apps that own the act; those pages check the
permission again and the services check it a third time, so hiding a button is a courtesy, not
the protection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.enums import ACTIVE_STATUSES, BoundAction
from incidents.models import Incident
from incidents.permissions import IncidentPerm
from ledger_audit.permissions import LedgerPerm
from pilot.enums import ChangeAction
from pilot.permissions import PilotPerm


@dataclass(frozen=True)
class RunbookButton:
    action: str
    label: Any
    url: str
    danger: bool = False


def _admin(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


# bound action → (label, permission the target view and service check, url builder, danger)
ButtonSpec = tuple[Any, str, Callable[[Incident], str], bool]
BUTTONS: dict[str, ButtonSpec] = {
    BoundAction.DISABLE_PILOT: (
        _("Disable pilot…"),
        PilotPerm.DISABLE,
        lambda i: _admin("pilot_kill_switch", incident=i.number),
        True,
    ),
    BoundAction.EXPORT_TIMELINES: (
        _("Export timelines…"),
        LedgerPerm.REQUEST_EXPORT,
        lambda i: _admin("ledger_audit_timelineexport_request", incident=i.number),
        False,
    ),
    BoundAction.IDENTIFY_KEYS: (
        _("Review duplicate keys…"),
        LedgerPerm.REVIEW_DUPLICATE_KEYS,
        lambda i: _admin("ledger_audit_finding_review_keys", i.number),
        False,
    ),
    BoundAction.NOTIFY_COORDINATOR: (
        _("Escalate to the coordinator…"),
        IncidentPerm.ESCALATE,
        lambda i: _admin("incidents_incident_action", i.pk, "escalate", level=3),
        False,
    ),
    BoundAction.ESCALATE: (
        _("Escalate…"),
        IncidentPerm.ESCALATE,
        lambda i: _admin("incidents_incident_action", i.pk, "escalate"),
        False,
    ),
    BoundAction.RE_ENABLE_PILOT: (
        _("Request resume…"),
        PilotPerm.ADD_CHANGE_REQUEST,
        lambda i: _admin(
            "pilot_changerequest_request", action=ChangeAction.ENABLE, incident=i.number
        ),
        False,
    ),
    BoundAction.REVERT_TEMPLATE: (
        _("Revert template…"),
        PilotPerm.REVERT_TEMPLATE,
        lambda i: _admin("pilot_revert_template", incident=i.number),
        True,
    ),
    BoundAction.APPLY_HOTFIX: (
        _("Apply hotfix (request flag on)…"),
        PilotPerm.REQUEST_ANY_CHANGE,
        lambda i: _admin(
            "pilot_changerequest_request", action=ChangeAction.FLAG_ON, incident=i.number
        ),
        False,
    ),
    BoundAction.RECORD_ROLLBACK: (
        _("Record rollback…"),
        PilotPerm.ADD_ROLLBACK,
        lambda i: _admin("pilot_rollback_record_code", incident=i.number),
        False,
    ),
    BoundAction.DOCUMENT_BUG: (
        _("Defer with bug-tracker link…"),
        IncidentPerm.DEFER,
        lambda i: _admin("incidents_incident_action", i.pk, "defer"),
        False,
    ),
    BoundAction.PROMOTE_SEVERITY: (
        _("Promote to SEV1…"),
        IncidentPerm.CHANGE_SEVERITY,
        lambda i: _admin("incidents_incident_action", i.pk, "severity", severity="SEV1"),
        False,
    ),
}


def runbook_buttons(*, incident: Incident, user: Any) -> dict[str, RunbookButton]:
    """The button of each bound action this user may use on this incident (none once the
    incident is resolved or closed: its runbook is over)."""
    if incident.status not in ACTIVE_STATUSES:
        return {}
    buttons: dict[str, RunbookButton] = {}
    for action, (label, perm, url, danger) in BUTTONS.items():
        if user.has_perm(perm):
            buttons[str(action)] = RunbookButton(str(action), label, url(incident), danger)
    return buttons


@dataclass(frozen=True)
class IncidentConsole:
    response_breached: bool
    escalation_breached: bool
    now: datetime


def incident_console(
    *, incident: Incident, user: Any, now: datetime | None = None
) -> IncidentConsole:
    """The deadlines panel's state (no query; the buttons come from ``runbook_buttons``)."""
    now = now or timezone.now()
    return IncidentConsole(
        response_breached=bool(
            incident.acknowledged_at is None
            and incident.response_due_at is not None
            and incident.response_due_at <= now
        ),
        escalation_breached=bool(
            incident.resolved_at is None
            and incident.escalation_due_at is not None
            and incident.escalation_due_at <= now
        ),
        now=now,
    )

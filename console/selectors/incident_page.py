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

from incidents.enums import BoundAction
from incidents.models import Incident
from incidents.selectors import (
    escalation_breached_at,
    escalation_target_level,
    incident_actions_available,
    incident_runbook_live,
    response_breached_at,
)
from incidents.transitions import IncidentAction
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


@dataclass(frozen=True)
class ButtonSpec:
    """The button beside a step bound to an act. An incident act (``act``) is shown when the
    transition table allows it for this viewer now; another app's act (``perm``, the permission
    its page and service check) while the incident's runbook is live."""

    label: Any
    url: Callable[[Incident], str]
    danger: bool = False
    act: IncidentAction | None = None
    perm: str = ""


def _incident_act(act: IncidentAction, label: Any, **query: Any) -> ButtonSpec:
    return ButtonSpec(
        label, lambda i: _admin("incidents_incident_action", i.pk, act, **query), act=act
    )


def _pilot_request(action: str, label: Any, perm: str) -> ButtonSpec:
    return ButtonSpec(
        label,
        lambda i: _admin("pilot_changerequest_request", action=action, incident=i.number),
        perm=perm,
    )


BUTTONS: dict[str, ButtonSpec] = {
    BoundAction.DISABLE_PILOT: ButtonSpec(
        _("Disable pilot…"),
        lambda i: _admin("pilot_kill_switch", incident=i.number),
        danger=True,
        perm=PilotPerm.DISABLE,
    ),
    BoundAction.EXPORT_TIMELINES: ButtonSpec(
        _("Export timelines…"),
        lambda i: _admin("ledger_audit_timelineexport_request", incident=i.number),
        perm=LedgerPerm.REQUEST_EXPORT,
    ),
    BoundAction.IDENTIFY_KEYS: ButtonSpec(
        _("Review duplicate keys…"),
        lambda i: _admin("ledger_audit_finding_review_keys", i.number),
        perm=LedgerPerm.REVIEW_DUPLICATE_KEYS,
    ),
    BoundAction.NOTIFY_COORDINATOR: _incident_act(
        IncidentAction.ESCALATE, _("Escalate to the coordinator…"), level=3
    ),
    BoundAction.ESCALATE: _incident_act(
        IncidentAction.ESCALATE, _("Escalate…"), criterion="hotfix_not_possible"
    ),
    BoundAction.RE_ENABLE_PILOT: _pilot_request(
        ChangeAction.ENABLE, _("Request resume…"), PilotPerm.ADD_CHANGE_REQUEST
    ),
    BoundAction.REVERT_TEMPLATE: ButtonSpec(
        _("Revert template…"),
        lambda i: _admin("pilot_revert_template", incident=i.number),
        danger=True,
        perm=PilotPerm.REVERT_TEMPLATE,
    ),
    BoundAction.APPLY_HOTFIX: _pilot_request(
        ChangeAction.FLAG_ON, _("Apply hotfix (request flag on)…"), PilotPerm.REQUEST_ANY_CHANGE
    ),
    BoundAction.RECORD_ROLLBACK: ButtonSpec(
        _("Record rollback…"),
        lambda i: _admin("pilot_rollback_record_code", incident=i.number),
        perm=PilotPerm.ADD_ROLLBACK,
    ),
    BoundAction.DOCUMENT_BUG: _incident_act(
        IncidentAction.DEFER, _("Defer with bug-tracker link…")
    ),
    BoundAction.PROMOTE_SEVERITY: _incident_act(
        IncidentAction.SEVERITY, _("Promote to SEV1…"), severity="SEV1"
    ),
}


def runbook_buttons(*, incident: Incident, user: Any) -> dict[str, RunbookButton]:
    """The button of each bound act this user may do on this incident now: the incident's own
    acts as the transition table allows them, the other apps' while the runbook is live (until
    the incident is closed)."""
    available = incident_actions_available(incident=incident, user=user)
    live = incident_runbook_live(incident)
    buttons: dict[str, RunbookButton] = {}
    for bound, spec in BUTTONS.items():
        if spec.act is not None:
            shown = spec.act in available
        else:
            shown = live and bool(user.has_perm(spec.perm))
        if shown:
            buttons[str(bound)] = RunbookButton(
                str(bound), spec.label, spec.url(incident), spec.danger
            )
    return buttons


@dataclass(frozen=True)
class IncidentConsole:
    response_breached: bool
    escalation_breached: bool
    now: datetime
    escalates_to: int  # the level "cannot resolve in time" takes the incident to


def incident_console(
    *, incident: Incident, user: Any, now: datetime | None = None
) -> IncidentConsole:
    """The deadlines panel's state (one query, the escalation's level; the buttons come from
    ``runbook_buttons``)."""
    now = now or timezone.now()
    return IncidentConsole(
        response_breached=response_breached_at(incident, at=now),
        escalation_breached=escalation_breached_at(incident, at=now),
        now=now,
        escalates_to=escalation_target_level(incident) if incident.escalation_due_at else 0,
    )

"""The life-cycle actions of the incident page: the form that confirms each and the service that
runs it. Who may and when is the transition table's (``incidents.transitions``): the page
offers what it allows, and the service guards with it again."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from incidents import services
from incidents.admin import forms as f
from incidents.models import Incident
from incidents.transitions import IncidentAction

Run = Callable[[Incident, User, dict[str, Any]], object]


@dataclass(frozen=True)
class Action:
    label: Any
    form: type[forms.Form]
    run: Run


ACTIONS: dict[IncidentAction, Action] = {
    IncidentAction.ACKNOWLEDGE: Action(
        _("Acknowledge"),
        f.ConfirmForm,
        lambda i, u, d: services.incident_acknowledge(incident=i, actor=u),
    ),
    IncidentAction.RESOLVE: Action(
        _("Resolve"),
        f.ResolveForm,
        lambda i, u, d: services.incident_resolve(incident=i, actor=u, **d),
    ),
    IncidentAction.CLOSE: Action(
        _("Close"),
        f.ConfirmForm,
        lambda i, u, d: services.incident_close(incident=i, actor=u),
    ),
    IncidentAction.DEFER: Action(
        _("Defer (bug tracker)"),
        f.DeferForm,
        lambda i, u, d: services.incident_defer(incident=i, actor=u, **d),
    ),
    IncidentAction.REOPEN: Action(
        _("Reopen"),
        f.ReasonForm,
        lambda i, u, d: services.incident_reopen(incident=i, actor=u, **d),
    ),
    IncidentAction.ESCALATE: Action(
        _("Escalate"),
        f.EscalateForm,
        lambda i, u, d: services.incident_escalate(incident=i, actor=u, **d),
    ),
    IncidentAction.SEVERITY: Action(
        _("Change severity"),
        f.SeverityForm,
        lambda i, u, d: services.incident_change_severity(incident=i, actor=u, **d),
    ),
    IncidentAction.NOTE: Action(
        _("Add note"),
        f.NoteForm,
        lambda i, u, d: services.incident_add_note(incident=i, actor=u, **d),
    ),
    IncidentAction.PLAYBOOK: Action(
        _("Add playbook (e.g. rollback)"),
        f.PlaybookForm,
        lambda i, u, d: services.incident_add_playbook(incident=i, actor=u, **d),
    ),
}

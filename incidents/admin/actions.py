"""The life-cycle actions of the incident page: who may, when it is offered, which form confirms
it and which service runs it (the service re-checks everything)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from incidents import services
from incidents.admin import forms as f
from incidents.enums import ACTIVE_STATUSES, DEFERRABLE_SEVERITIES, Status
from incidents.models import Incident
from incidents.permissions import IncidentPerm

Run = Callable[[Incident, User, dict[str, Any]], object]


@dataclass(frozen=True)
class Action:
    label: Any
    perm: IncidentPerm
    form: type[forms.Form]
    run: Run
    available: Callable[[Incident], bool]


ACTIONS: dict[str, Action] = {
    "acknowledge": Action(
        _("Acknowledge"),
        IncidentPerm.ACKNOWLEDGE,
        f.ConfirmForm,
        lambda i, u, d: services.incident_acknowledge(incident=i, actor=u),
        lambda i: i.status == Status.OPEN,
    ),
    "resolve": Action(
        _("Resolve"),
        IncidentPerm.RESOLVE,
        f.ResolveForm,
        lambda i, u, d: services.incident_resolve(incident=i, actor=u, **d),
        lambda i: i.status in ACTIVE_STATUSES,
    ),
    "close": Action(
        _("Close"),
        IncidentPerm.CLOSE,
        f.ConfirmForm,
        lambda i, u, d: services.incident_close(incident=i, actor=u),
        lambda i: i.status == Status.RESOLVED,
    ),
    "defer": Action(
        _("Defer (bug tracker)"),
        IncidentPerm.DEFER,
        f.DeferForm,
        lambda i, u, d: services.incident_defer(incident=i, actor=u, **d),
        lambda i: (
            i.severity in DEFERRABLE_SEVERITIES and i.status in (Status.OPEN, Status.ACKNOWLEDGED)
        ),
    ),
    "reopen": Action(
        _("Reopen"),
        IncidentPerm.REOPEN,
        f.ReasonForm,
        lambda i, u, d: services.incident_reopen(incident=i, actor=u, **d),
        lambda i: i.status in (Status.RESOLVED, Status.CLOSED, Status.DEFERRED),
    ),
    "escalate": Action(
        _("Escalate"),
        IncidentPerm.ESCALATE,
        f.EscalateForm,
        lambda i, u, d: services.incident_escalate(incident=i, actor=u, **d),
        lambda i: i.status in ACTIVE_STATUSES and i.escalation_level < 4,
    ),
    "severity": Action(
        _("Change severity"),
        IncidentPerm.CHANGE_SEVERITY,
        f.SeverityForm,
        lambda i, u, d: services.incident_change_severity(incident=i, actor=u, **d),
        lambda i: i.status != Status.CLOSED,
    ),
    "note": Action(
        _("Add note"),
        IncidentPerm.ANNOTATE,
        f.NoteForm,
        lambda i, u, d: services.incident_add_note(incident=i, actor=u, **d),
        lambda i: True,
    ),
    "playbook": Action(
        _("Add playbook (e.g. rollback)"),
        IncidentPerm.TICK,
        f.PlaybookForm,
        lambda i, u, d: services.incident_add_playbook(incident=i, actor=u, **d),
        lambda i: i.status != Status.CLOSED,
    ),
}

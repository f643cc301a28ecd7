"""The incident life cycle: every transition checked against the one table
(``incidents.transitions``), locked and written to the timeline in the same transaction.
Escalation lives with the SLA clock (``escalation``); ticking a step with the checklist
(``timeline``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError
from core.text import one_line_field
from incidents.enums import (
    DEFERRABLE_SEVERITIES,
    POSTMORTEM_SEVERITIES,
    BoundAction,
    Severity,
    Status,
    TimelineKind,
)
from incidents.models import ChecklistStep, Incident
from incidents.services._common import lock, required_text
from incidents.services.escalation import sla_clock_start
from incidents.services.sla import breach_on_acknowledge, breach_on_resolve
from incidents.services.timeline import (
    POSTMORTEM_FIELDS as POSTMORTEM_FIELDS,  # the close rule's fields, defined with the step
)
from incidents.services.timeline import (
    checklist_append_playbook,
    immediate_playbook,
    incident_bound_action_done,
    incident_log_steps_tick,
    timeline_record,
)
from incidents.transitions import IncidentAction, Verdict, transition_guard, transition_require

# The incident-log fields a person may edit (PATCH / admin form).
LOG_FIELDS = (
    "title",
    "description",
    "impact",
    "root_cause",
    "resolution",
    "prevention",
    "lessons_learned",
)


def _guard(locked: Incident, action: IncidentAction, actor: User | None) -> bool:
    """True when the act is already the case (the service returns the incident as it is)."""
    return transition_guard(incident=locked, action=action, actor=actor) is Verdict.ALREADY


@transaction.atomic
def incident_acknowledge(*, incident: Incident, actor: User | None) -> Incident:
    transition_require(actor=actor, action=IncidentAction.ACKNOWLEDGE)
    locked = lock(incident)
    if _guard(locked, IncidentAction.ACKNOWLEDGE, actor):
        return locked
    now = timezone.now()
    locked.status = Status.ACKNOWLEDGED
    late = False
    if locked.acknowledged_at is None:
        locked.acknowledged_at = now
        locked.acknowledged_by = actor
        late = breach_on_acknowledge(locked, now)
        # A reopened incident is acknowledged again; an earlier round's breach stays recorded.
        locked.acknowledged_late = locked.acknowledged_late or late
    locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "acknowledged_late"])
    timeline_record(
        incident=locked,
        kind=TimelineKind.ACKNOWLEDGED,
        actor=actor,
        message=_("Acknowledged.") + (" " + _("After the response deadline.") if late else ""),
        data={"late": True} if late else None,
    )
    return locked


@transaction.atomic
def incident_resolve(*, incident: Incident, actor: User | None, resolution: str = "") -> Incident:
    transition_require(actor=actor, action=IncidentAction.RESOLVE)
    locked = lock(incident)
    if _guard(locked, IncidentAction.RESOLVE, actor):
        return locked
    now = timezone.now()
    locked.status = Status.RESOLVED
    locked.resolved_at = now
    locked.resolved_by = actor
    locked.resolved_late = breach_on_resolve(locked, now)
    fields = ["status", "resolved_at", "resolved_by", "resolved_late"]
    if resolution.strip():
        locked.resolution = resolution.strip()
        fields.append("resolution")
    locked.save(update_fields=fields)
    timeline_record(
        incident=locked,
        kind=TimelineKind.RESOLVED,
        actor=actor,
        message=_("Resolved.") + (f" {resolution.strip()}" if resolution.strip() else ""),
    )
    incident_log_steps_tick(incident=locked, actor=actor)  # the resolution is a post-mortem field
    return locked


def postmortem_missing(incident: Incident) -> list[str]:
    """The post-mortem fields a SEV0/SEV1 incident still needs before it may close."""
    if incident.severity not in POSTMORTEM_SEVERITIES:
        return []
    return [f for f in POSTMORTEM_FIELDS if not str(getattr(incident, f)).strip()]


@transaction.atomic
def incident_close(*, incident: Incident, actor: User | None) -> Incident:
    transition_require(actor=actor, action=IncidentAction.CLOSE)
    locked = lock(incident)
    if _guard(locked, IncidentAction.CLOSE, actor):
        return locked
    missing = postmortem_missing(locked)
    if missing:
        raise Conflict(
            _("%(sev)s incidents close only after the post-mortem: fill in %(fields)s.")
            % {"sev": locked.severity, "fields": ", ".join(f.replace("_", " ") for f in missing)},
            code="postmortem_incomplete",
            fields={f: [_("Required before closing.")] for f in missing},
        )
    locked.status = Status.CLOSED
    locked.closed_at = timezone.now()
    locked.save(update_fields=["status", "closed_at"])
    timeline_record(incident=locked, kind=TimelineKind.CLOSED, actor=actor, message=_("Closed."))
    return locked


@transaction.atomic
def incident_defer(*, incident: Incident, actor: User | None, bug_tracker_url: str) -> Incident:
    """Record a SEV2/SEV3 and defer it (runbook: "Document issue in bug tracker")."""
    transition_require(actor=actor, action=IncidentAction.DEFER)
    url = required_text(
        bug_tracker_url, "bug_tracker_url", _("Deferring needs the bug-tracker link.")
    )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        msg = _("Enter the bug-tracker link as an http(s) URL.")
        raise DomainError(msg, fields={"bug_tracker_url": [msg]}) from None
    locked = lock(incident)
    if _guard(locked, IncidentAction.DEFER, actor):
        return locked
    locked.status = Status.DEFERRED
    locked.deferred_at = timezone.now()
    locked.bug_tracker_url = url
    locked.save(update_fields=["status", "deferred_at", "bug_tracker_url"])
    timeline_record(
        incident=locked,
        kind=TimelineKind.DEFERRED,
        actor=actor,
        message=_("Deferred; tracked at %(url)s.") % {"url": url},
        data={"bug_tracker_url": url},
    )
    incident_bound_action_done(
        incident=locked, action=BoundAction.DOCUMENT_BUG, actor=actor, note=url
    )
    return locked


@transaction.atomic
def incident_reopen(*, incident: Incident, actor: User | None, reason: str) -> Incident:
    transition_require(actor=actor, action=IncidentAction.REOPEN)
    reason = required_text(reason, "reason", _("Reopening needs a reason."))
    locked = lock(incident)
    _guard(locked, IncidentAction.REOPEN, actor)
    before = locked.status
    locked.status = Status.OPEN
    locked.resolved_at = None
    locked.resolved_by = None
    locked.resolved_late = False
    locked.closed_at = None
    # The problem is back: a new response is due (acknowledge again) and the clock restarts
    # from the reopening, so "cannot resolve within 15 minutes / 1 hour" escalates by itself
    # again. A late acknowledgement of the earlier round stays on record (acknowledged_late).
    locked.severity_set_at = timezone.now()
    locked.acknowledged_at = None
    locked.acknowledged_by = None
    locked.save(
        update_fields=[
            "status",
            "resolved_at",
            "resolved_by",
            "resolved_late",
            "closed_at",
            "severity_set_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
    )
    timeline_record(
        incident=locked,
        kind=TimelineKind.REOPENED,
        actor=actor,
        message=_("Reopened (was %(before)s): %(reason)s") % {"before": before, "reason": reason},
        data={"from": before, "reason": reason},
    )
    sla_clock_start(incident=locked)  # new deadlines and timers from the reopening
    return locked


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, actor: User | None, severity: str, reason: str
) -> Incident:
    """Reclassify with a reason (a blocking SEV2 becomes SEV1). The new severity's immediate
    actions are appended to the checklist when not there yet, and the deadlines are recomputed
    here (the one place for it)."""
    transition_require(actor=actor, action=IncidentAction.SEVERITY)
    if severity not in Severity.values:
        msg = _("Choose one of %s.") % ", ".join(Severity.values)
        raise DomainError(msg, fields={"severity": [msg]})
    reason = required_text(reason, "reason", _("A severity change needs a reason."))
    locked = lock(incident)
    if locked.severity == severity:
        return locked
    _guard(locked, IncidentAction.SEVERITY, actor)
    before = locked.severity
    locked.severity = severity
    locked.severity_set_at = timezone.now()
    fields = ["severity", "severity_set_at"]
    if locked.status == Status.DEFERRED and severity not in DEFERRABLE_SEVERITIES:
        locked.status = Status.OPEN  # it blocks now: back into the active flow
        fields.append("status")
    locked.save(update_fields=fields)
    timeline_record(
        incident=locked,
        kind=TimelineKind.SEVERITY_CHANGED,
        actor=actor,
        message=_("Severity %(before)s → %(after)s: %(reason)s")
        % {"before": before, "after": severity, "reason": reason},
        data={"from": before, "to": severity, "reason": reason},
    )
    promoted = Severity.values.index(severity) < Severity.values.index(before)
    if promoted and before in DEFERRABLE_SEVERITIES and severity not in DEFERRABLE_SEVERITIES:
        incident_bound_action_done(
            incident=locked, action=BoundAction.PROMOTE_SEVERITY, actor=actor, note=reason
        )
    playbook = immediate_playbook(severity)
    if (
        playbook is not None
        and not ChecklistStep.objects.filter(incident=locked, playbook=playbook).exists()
    ):
        checklist_append_playbook(locked, playbook)
        incident_log_steps_tick(incident=locked, actor=actor)  # its log may be written already
    sla_clock_start(incident=locked)  # deadlines from now, and the new severity's rules
    return locked


@transaction.atomic
def incident_add_note(*, incident: Incident, actor: User | None, text: str) -> Incident:
    transition_require(actor=actor, action=IncidentAction.NOTE)
    text = required_text(text, "text", _("A note needs some text."))
    locked = lock(incident)
    _guard(locked, IncidentAction.NOTE, actor)
    timeline_record(incident=locked, kind=TimelineKind.NOTE, actor=actor, message=text)
    return locked


@transaction.atomic
def incident_update_log(
    *, incident: Incident, actor: User | None, changes: Mapping[str, Any]
) -> Incident:
    """Edit the incident-log / post-mortem fields; records which fields changed."""
    transition_require(actor=actor, action=IncidentAction.EDIT_LOG)
    unknown = sorted(set(changes) - set(LOG_FIELDS))
    if unknown:
        raise DomainError(
            _("These fields cannot be edited here: %s.") % ", ".join(unknown),
            fields={f: [_("Not editable.")] for f in unknown},
        )
    locked = lock(incident)
    changed: list[str] = []
    for name, value in changes.items():
        text = str(value or "").strip()
        if name == "title" and not text:
            raise DomainError(_("An incident needs a title."), fields={"title": [_("Required.")]})
        if name == "title":
            text = one_line_field(text, field="title", fold=actor is None)
        if getattr(locked, name) != text:
            setattr(locked, name, text)
            changed.append(name)
    if not changed:
        return locked
    _guard(locked, IncidentAction.EDIT_LOG, actor)
    locked.save(update_fields=changed)
    timeline_record(
        incident=locked,
        kind=TimelineKind.POSTMORTEM_EDITED,
        actor=actor,
        message=_("Incident log edited: %s.") % ", ".join(f.replace("_", " ") for f in changed),
        data={"fields": changed},
    )
    incident_log_steps_tick(incident=locked, actor=actor)
    return locked

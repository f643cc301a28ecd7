"""The incident life cycle: one state machine, every transition checked, locked and written to
the timeline in the same transaction.

    open → acknowledged → resolved → closed
    open/acknowledged → deferred (SEV2/SEV3 only, bug-tracker link)
    resolved/closed/deferred → open (reopen, with a reason)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, NotAllowed, NotFound
from incidents.enums import (
    ACTIVE_STATUSES,
    CRITERION_TARGET_LEVEL,
    DEFERRABLE_SEVERITIES,
    LEVEL_NAMES,
    POSTMORTEM_SEVERITIES,
    BoundAction,
    EscalationCriterion,
    Severity,
    Status,
    TimelineKind,
)
from incidents.models import ChecklistStep, Escalation, EscalationRule, Incident
from incidents.permissions import IncidentPerm
from incidents.services._common import lock, require, required_text
from incidents.services.notify import notifications_create
from incidents.services.opening import (
    _append_playbook,
    immediate_playbook,
    incident_bound_action_done,
    timeline_record,
)
from incidents.services.sla import breach_on_acknowledge, breach_on_resolve, sla_clock_start

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
POSTMORTEM_FIELDS = ("root_cause", "resolution", "prevention", "lessons_learned")


def _refuse(incident: Incident, doing: str, allowed: str) -> Conflict:
    return Conflict(
        _("%(label)s is %(status)s: it cannot be %(doing)s (only when %(allowed)s).")
        % {
            "label": incident.label,
            "status": Status(incident.status).label,
            "doing": doing,
            "allowed": allowed,
        },
        code="invalid_transition",
    )


@transaction.atomic
def incident_acknowledge(*, incident: Incident, actor: User | None) -> Incident:
    require(actor, IncidentPerm.ACKNOWLEDGE, _("You may not acknowledge incidents."))
    locked = lock(incident)
    if locked.status == Status.ACKNOWLEDGED:
        return locked
    if locked.status != Status.OPEN:
        raise _refuse(locked, _("acknowledged"), _("open"))
    now = timezone.now()
    locked.status = Status.ACKNOWLEDGED
    late = False
    if locked.acknowledged_at is None:
        locked.acknowledged_at = now
        locked.acknowledged_by = actor
        late = locked.acknowledged_late = breach_on_acknowledge(locked, now)
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
    require(actor, IncidentPerm.RESOLVE, _("Only an on-call engineer or above may resolve."))
    locked = lock(incident)
    if locked.status == Status.RESOLVED:
        return locked
    if locked.status not in ACTIVE_STATUSES:
        raise _refuse(locked, _("resolved"), _("open, acknowledged or deferred"))
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
    return locked


def postmortem_missing(incident: Incident) -> list[str]:
    """The post-mortem fields a SEV0/SEV1 incident still needs before it may close."""
    if incident.severity not in POSTMORTEM_SEVERITIES:
        return []
    return [f for f in POSTMORTEM_FIELDS if not str(getattr(incident, f)).strip()]


@transaction.atomic
def incident_close(*, incident: Incident, actor: User | None) -> Incident:
    require(actor, IncidentPerm.CLOSE, _("Only the pilot coordinator or above may close."))
    locked = lock(incident)
    if locked.status == Status.CLOSED:
        return locked
    if locked.status != Status.RESOLVED:
        raise _refuse(locked, _("closed"), _("resolved"))
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
    require(actor, IncidentPerm.DEFER, _("You may not defer incidents."))
    url = required_text(
        bug_tracker_url, "bug_tracker_url", _("Deferring needs the bug-tracker link.")
    )
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        msg = _("Enter the bug-tracker link as an http(s) URL.")
        raise DomainError(msg, fields={"bug_tracker_url": [msg]}) from None
    locked = lock(incident)
    if locked.status == Status.DEFERRED:
        return locked
    if locked.severity not in DEFERRABLE_SEVERITIES:
        raise Conflict(
            _("Only SEV2/SEV3 incidents may be deferred; %(label)s is %(sev)s.")
            % {"label": locked.label, "sev": locked.severity},
            code="not_deferrable",
        )
    if locked.status not in (Status.OPEN, Status.ACKNOWLEDGED):
        raise _refuse(locked, _("deferred"), _("open or acknowledged"))
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
    require(actor, IncidentPerm.REOPEN, _("Only an on-call engineer or above may reopen."))
    reason = required_text(reason, "reason", _("Reopening needs a reason."))
    locked = lock(incident)
    if locked.status in (Status.OPEN, Status.ACKNOWLEDGED):
        raise _refuse(locked, _("reopened"), _("resolved, closed or deferred"))
    closed = locked.status == Status.CLOSED
    if closed and actor is not None and not actor.has_perm(IncidentPerm.CLOSE):
        raise NotAllowed(_("Only the pilot coordinator or above may reopen a closed incident."))
    before = locked.status
    locked.status = Status.OPEN
    locked.resolved_at = None
    locked.resolved_by = None
    locked.closed_at = None
    locked.save(update_fields=["status", "resolved_at", "resolved_by", "closed_at"])
    timeline_record(
        incident=locked,
        kind=TimelineKind.REOPENED,
        actor=actor,
        message=_("Reopened (was %(before)s): %(reason)s") % {"before": before, "reason": reason},
        data={"from": before, "reason": reason},
    )
    return locked


@transaction.atomic
def incident_change_severity(
    *, incident: Incident, actor: User | None, severity: str, reason: str
) -> Incident:
    """Reclassify with a reason (a blocking SEV2 becomes SEV1). The new severity's immediate
    actions are appended to the checklist when not there yet, and the deadlines are recomputed
    here (the one place for it)."""
    require(actor, IncidentPerm.CHANGE_SEVERITY, _("You may not change severities."))
    if severity not in Severity.values:
        msg = _("Choose one of %s.") % ", ".join(Severity.values)
        raise DomainError(msg, fields={"severity": [msg]})
    reason = required_text(reason, "reason", _("A severity change needs a reason."))
    locked = lock(incident)
    if locked.severity == severity:
        return locked
    if locked.status == Status.CLOSED:
        raise _refuse(locked, _("reclassified"), _("not closed"))
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
        _append_playbook(locked, playbook)
    sla_clock_start(incident=locked)  # deadlines from now, and the new severity's rules
    return locked


@transaction.atomic
def incident_escalate(
    *,
    incident: Incident,
    actor: User | None,
    criterion: str,
    level: int | None = None,
    note: str = "",
    rule: EscalationRule | None = None,
) -> Incident:
    """Move the escalation level up (one, the criterion's level, or the named one); never down.

    The single place for escalation: an ``Escalation`` row (a level is reached once), the
    timeline, the bound "escalate" step, and the new level's people notified once. ``rule`` is
    the escalation rule when the SLA sweep escalates (``actor`` None)."""
    require(actor, IncidentPerm.ESCALATE, _("You may not escalate incidents."))
    if criterion not in EscalationCriterion.values:
        msg = _("Choose one of the runbook's escalation criteria: %s.") % ", ".join(
            EscalationCriterion.values
        )
        raise DomainError(msg, fields={"criterion": [msg]})
    if level is not None and not 1 <= level <= 4:
        msg = _("Escalation levels are 1 to 4.")
        raise DomainError(msg, fields={"level": [msg]})
    locked = lock(incident)
    if locked.status not in ACTIVE_STATUSES:
        raise _refuse(locked, _("escalated"), _("open, acknowledged or deferred"))
    current = locked.escalation_level
    if level is None:
        target = min(4, max(current + 1, CRITERION_TARGET_LEVEL[criterion]))
        if current >= 4:
            raise Conflict(
                _("%(label)s is already at level 4 (Decision owner).") % {"label": locked.label},
                code="invalid_transition",
            )
    else:
        target = level
        if target == current:
            return locked
        if target < current:
            raise Conflict(
                _("Escalation never goes down: %(label)s is at level %(cur)d.")
                % {"label": locked.label, "cur": current},
                code="invalid_transition",
            )
    locked.escalation_level = target
    locked.save(update_fields=["escalation_level"])
    escalation = Escalation.objects.create(
        incident=locked,
        from_level=current,
        to_level=target,
        criterion=criterion,
        rule=rule,
        actor=actor,
        note=note.strip(),
    )
    label = EscalationCriterion(criterion).label
    timeline_record(
        incident=locked,
        kind=TimelineKind.ESCALATED,
        actor=actor,
        message=_("Escalated L%(cur)d → L%(to)d (%(name)s): %(criterion)s")
        % {"cur": current, "to": target, "name": LEVEL_NAMES[target], "criterion": label}
        + (f" — {note.strip()}" if note.strip() else ""),
        data={
            "from": current,
            "to": target,
            "criterion": criterion,
            "note": note.strip(),
            "rule": rule.pk if rule is not None else None,
        },
    )
    incident_bound_action_done(incident=locked, action=BoundAction.ESCALATE, actor=actor)
    # Notifying level 3 ticks the runbook's "notify the pilot coordinator" (SEV0 step 5).
    notifications_create(
        incident=locked,
        level=target,
        event=f"escalation:{escalation.pk}",
        escalation=escalation,
        headline=_("escalated to L%(to)d (%(name)s): %(criterion)s")
        % {"to": target, "name": LEVEL_NAMES[target], "criterion": label},
    )
    return locked


@transaction.atomic
def incident_add_note(*, incident: Incident, actor: User | None, text: str) -> Incident:
    require(actor, IncidentPerm.ANNOTATE, _("You may not annotate incidents."))
    text = required_text(text, "text", _("A note needs some text."))
    locked = lock(incident)
    timeline_record(incident=locked, kind=TimelineKind.NOTE, actor=actor, message=text)
    return locked


@transaction.atomic
def checklist_step_tick(
    *, incident: Incident, step_id: int, actor: User | None, note: str = ""
) -> ChecklistStep:
    require(actor, IncidentPerm.TICK, _("You may not tick checklist steps."))
    locked = lock(incident)
    step = ChecklistStep.objects.select_for_update().filter(incident=locked, pk=step_id).first()
    if step is None:
        raise NotFound(
            _("%(label)s has no checklist step %(id)s.") % {"label": locked.label, "id": step_id}
        )
    if step.done:
        return step
    if locked.status == Status.CLOSED:
        raise _refuse(locked, _("changed"), _("not closed"))
    step.done = True
    step.done_by = actor
    step.done_at = timezone.now()
    if note.strip():
        step.note = f"{step.note}\n{note.strip()}".strip()
    step.save(update_fields=["done", "done_by", "done_at", "note"])
    timeline_record(
        incident=locked,
        kind=TimelineKind.STEP_TICKED,
        actor=actor,
        message=_("Step %(pos)d “%(title)s” done.") % {"pos": step.position, "title": step.title}
        + (f" {note.strip()}" if note.strip() else ""),
        data={"step": step.pk, "position": step.position},
    )
    return step


@transaction.atomic
def incident_update_log(
    *, incident: Incident, actor: User | None, changes: Mapping[str, Any]
) -> Incident:
    """Edit the incident-log / post-mortem fields; records which fields changed."""
    require(actor, IncidentPerm.ANNOTATE, _("You may not edit the incident log."))
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
        if getattr(locked, name) != text:
            setattr(locked, name, text)
            changed.append(name)
    if not changed:
        return locked
    if locked.status == Status.CLOSED:
        raise _refuse(locked, _("edited"), _("not closed (reopen it first)"))
    locked.save(update_fields=changed)
    timeline_record(
        incident=locked,
        kind=TimelineKind.POSTMORTEM_EDITED,
        actor=actor,
        message=_("Incident log edited: %s.") % ", ".join(f.replace("_", " ") for f in changed),
        data={"fields": changed},
    )
    return locked

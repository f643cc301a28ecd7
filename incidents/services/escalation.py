"""Escalation: the act itself (a level is reached once, the new level told once), the SLA
clock's rules (at once when the incident gets its severity, or when a deadline passes), the
sweep that fires due deadlines (short transactions, ``skip_locked``: two workers, two beats or a
retried task never fire a timer twice) and its heartbeat."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core import delivery
from core.errors import Conflict, DomainError
from incidents.enums import (
    CRITERION_TARGET_LEVEL,
    LEVEL_NAMES,
    BoundAction,
    EscalationCriterion,
    RuleAction,
    RuleTrigger,
    Status,
    TimelineKind,
    TimerState,
)
from incidents.metrics import ESCALATIONS
from incidents.models import (
    Escalation,
    EscalationRule,
    Incident,
    Notification,
    SlaTimer,
    SweepHeartbeat,
)
from incidents.services._common import lock
from incidents.services.notify import notification_rows_create, stale_notification_ids
from incidents.services.sla import CLOCK_STATUSES, deadlines_recompute, rules_for
from incidents.services.timeline import incident_bound_action_done, timeline_record
from incidents.transitions import (
    TOP_LEVEL,
    IncidentAction,
    transition_guard,
    transition_require,
    transition_statuses_allow,
)

logger = logging.getLogger(__name__)

HEARTBEAT_PK = 1


def _headline(rule: EscalationRule, level: int) -> str:
    if rule.trigger == RuleTrigger.UNACKNOWLEDGED:
        return _("not acknowledged by the response deadline (reminder to L%(level)d)") % {
            "level": level
        }
    if rule.trigger == RuleTrigger.UNRESOLVED_AFTER:
        return _("not resolved after %(min)d minutes") % {"min": rule.after_minutes or 0}
    text = _("new %(sev)s incident: L%(level)d (%(name)s) notified at once") % {
        "sev": rule.severity or _("incident"),
        "level": level,
        "name": LEVEL_NAMES.get(level, ""),
    }
    criterion = rule_criterion_applied(rule, level)
    if criterion:
        text += _(" (escalation criterion %(criterion)s)") % {
            "criterion": EscalationCriterion(criterion).label
        }
    return text


def rule_criterion_applied(rule: EscalationRule, level: int) -> str:
    """The escalation criterion a notify rule applies, when it pages the level that criterion
    takes an incident to (L1's "SEV0 or SEV1" pages L2 at open); "" for a plain notice."""
    if rule.criterion in CRITERION_TARGET_LEVEL and CRITERION_TARGET_LEVEL[rule.criterion] == level:
        return str(rule.criterion)
    return ""


def notifications_dispatch(*, notification_ids: list[int]) -> None:
    """Queue delivery tasks; a broker failure is logged (the sweep re-queues stale ones)."""
    # The task module imports these services to run them: imported when queueing, here at the
    # top of the layers (lint-imports keeps notify and below free of it).
    from incidents.tasks import deliver_notification

    delivery.queue_each(deliver_notification, notification_ids, what="notification")


def notifications_create(
    *,
    incident: Incident,
    level: int,
    event: str,
    headline: str,
    escalation: Escalation | None = None,
    criterion: str = "",
) -> list[Notification]:
    """Tell ``level``'s people about ``event`` once (``notify.notification_rows_create``) and
    queue their delivery after commit."""
    created = notification_rows_create(
        incident=incident,
        level=level,
        event=event,
        headline=headline,
        escalation=escalation,
        criterion=criterion,
    )
    if created:
        ids = [n.pk for n in created]
        transaction.on_commit(lambda: notifications_dispatch(notification_ids=ids))
    return created


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
    transition_require(actor=actor, action=IncidentAction.ESCALATE)
    if criterion not in EscalationCriterion.values:
        msg = _("Choose one of the runbook's escalation criteria: %s.") % ", ".join(
            EscalationCriterion.values
        )
        raise DomainError(msg, fields={"criterion": [msg]})
    if level is not None and not 1 <= level <= TOP_LEVEL:
        msg = _("Escalation levels are 1 to 4.")
        raise DomainError(msg, fields={"level": [msg]})
    locked = lock(incident)
    current = locked.escalation_level
    if level == current and transition_statuses_allow(locked, IncidentAction.ESCALATE):
        return locked  # already at the named level (level 4 included)
    transition_guard(incident=locked, action=IncidentAction.ESCALATE, actor=actor)
    if level is None:
        target = min(TOP_LEVEL, max(current + 1, CRITERION_TARGET_LEVEL[criterion]))
    elif level < current:
        raise Conflict(
            _("Escalation never goes down: %(label)s is at level %(cur)d.")
            % {"label": locked.label, "cur": current},
            code="invalid_transition",
        )
    else:
        target = level
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
    ESCALATIONS.count(to_level=str(target), automatic="true" if actor is None else "false")
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
    if actor is not None and criterion == EscalationCriterion.HOTFIX_NOT_POSSIBLE:
        # SEV1 step 4 "If Hotfix Not Possible" is a person's decision that no hotfix can be
        # flagged: the sweep's automatic escalation, or any other criterion, is not it.
        incident_bound_action_done(incident=locked, action=BoundAction.ESCALATE, actor=actor)
    # A notification delivered to level 3 ticks "notify the pilot coordinator" (SEV0 step 5).
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
def sla_clock_start(*, incident: Incident) -> Incident:
    """The incident got its severity (opened or reclassified): compute the deadlines, then run
    the rules that act at once (SEV0: notify the pilot coordinator immediately)."""
    deadlines_recompute(incident=incident)
    start = incident.severity_set_at or incident.opened_at
    for rule in rules_for(incident.severity):
        if rule.trigger == RuleTrigger.ON_SEVERITY:
            rule_apply(
                incident=incident,
                rule=rule,
                event=f"severity:{incident.pk}:{incident.severity}:{start.isoformat()}:{rule.pk}",
            )
    return incident


def rule_condition_holds(*, incident: Incident, rule: EscalationRule) -> bool:
    """Is what the rule guards against still the case?"""
    if incident.status not in CLOCK_STATUSES:
        return False
    if rule.trigger == RuleTrigger.UNACKNOWLEDGED:
        return incident.status == Status.OPEN and incident.acknowledged_at is None
    return True


def rule_apply(*, incident: Incident, rule: EscalationRule, event: str) -> bool:
    """Do what the rule says for ``incident`` (locked by the caller's transaction): escalate to
    its level (when above the current one; never down) or notify its level (empty: the current
    level) once for ``event``. True when something was done."""
    if rule.action == RuleAction.ESCALATE:
        target = rule.level_id or incident.escalation_level
        if target <= incident.escalation_level:
            return False
        incident_escalate(
            incident=incident,
            actor=None,
            criterion=rule.criterion,
            level=target,
            note=rule.name,
            rule=rule,
        )
        return True
    level = rule.level_id or incident.escalation_level
    notifications_create(
        incident=incident,
        level=level,
        event=event,
        headline=_headline(rule, level),
        criterion=rule_criterion_applied(rule, level),
    )
    return True  # told the level (or recorded that nobody could be told)


@dataclass
class SweepResult:
    fired: int = 0
    skipped: int = 0
    busy: int = 0  # incidents another worker (or a person's transaction) held: next run
    requeued: int = 0


def _fire_one(timer_id: int, incident_id: int, now: datetime) -> str:
    """One timer in one short transaction: lock its incident, then the timer (the lifecycle
    services lock the incident first too: no deadlock), both ``skip_locked``."""
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(skip_locked=True).filter(pk=incident_id).first()
        )
        if incident is None:
            return "busy"
        timer = (
            SlaTimer.objects.select_for_update(skip_locked=True, of=("self",))  # not the rule
            .select_related("rule")
            .filter(pk=timer_id, state=TimerState.PENDING)
            .first()
        )
        if timer is None:
            return "busy"
        done = False
        if timer.rule.active and rule_condition_holds(incident=incident, rule=timer.rule):
            done = rule_apply(incident=incident, rule=timer.rule, event=f"timer:{timer.pk}")
        timer.state = TimerState.FIRED if done else TimerState.SKIPPED
        timer.handled_at = now
        timer.save(update_fields=["state", "handled_at"])
        return "fired" if done else "skipped"


def sla_sweep(*, now: datetime | None = None, limit: int | None = None) -> SweepResult:
    """Fire every due pending timer (oldest first), each in its own short transaction, then
    re-queue notifications whose delivery task was lost, and record the heartbeat."""
    now = now or timezone.now()
    limit = limit or int(settings.SLA_SWEEP_BATCH)
    _heartbeat(started=now)
    result = SweepResult()
    passed: list[int] = []  # held by someone else during this run
    while result.fired + result.skipped < limit:
        candidate = (
            SlaTimer.objects.filter(state=TimerState.PENDING, due_at__lte=now)
            .exclude(pk__in=passed)
            .order_by("due_at", "pk")
            .values_list("pk", "incident_id")
            .first()
        )
        if candidate is None:
            break
        outcome = _fire_one(candidate[0], candidate[1], now)
        if outcome == "busy":
            result.busy += 1
            passed.append(candidate[0])
        elif outcome == "fired":
            result.fired += 1
        else:
            result.skipped += 1
    grace = timedelta(seconds=max(60, 4 * int(settings.SLA_SWEEP_SECONDS)))
    stale = stale_notification_ids(now=now, grace=grace)
    if stale:
        # Re-queued once per grace period (not every run) while no worker delivers them.
        Notification.objects.filter(pk__in=stale, status="queued").update(next_attempt_at=now)
        notifications_dispatch(notification_ids=stale)
        result.requeued = len(stale)
    _heartbeat(finished=timezone.now(), processed=result.fired + result.skipped)
    return result


def _heartbeat(
    *, started: datetime | None = None, finished: datetime | None = None, processed: int = 0
) -> None:
    SweepHeartbeat.objects.get_or_create(pk=HEARTBEAT_PK)
    if started is not None:
        SweepHeartbeat.objects.filter(pk=HEARTBEAT_PK).update(last_started_at=started)
    if finished is not None:
        SweepHeartbeat.objects.filter(pk=HEARTBEAT_PK).update(
            last_finished_at=finished, last_processed=processed, runs=F("runs") + 1
        )

"""The escalation policy at work: the rules the SLA sweep fires when their deadline passes, the
sweep itself (short transactions, ``skip_locked``: two workers, two beats or a retried task never
fire a timer twice) and its heartbeat."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.enums import (
    LEVEL_NAMES,
    RuleAction,
    RuleTrigger,
    Status,
    TimerState,
)
from incidents.models import EscalationRule, Incident, Notification, SlaTimer, SweepHeartbeat
from incidents.services.notify import notifications_create, stale_notification_ids
from incidents.services.sla import CLOCK_STATUSES

logger = logging.getLogger(__name__)

HEARTBEAT_PK = 1


def _headline(rule: EscalationRule, level: int) -> str:
    if rule.trigger == RuleTrigger.UNACKNOWLEDGED:
        return _("not acknowledged by the response deadline (reminder to L%(level)d)") % {
            "level": level
        }
    if rule.trigger == RuleTrigger.UNRESOLVED_AFTER:
        return _("not resolved after %(min)d minutes") % {"min": rule.after_minutes or 0}
    return _("new %(sev)s incident: L%(level)d (%(name)s) notified at once") % {
        "sev": rule.severity or _("incident"),
        "level": level,
        "name": LEVEL_NAMES.get(level, ""),
    }


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
    from incidents.services.lifecycle import incident_escalate

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
        incident=incident, level=level, event=event, headline=_headline(rule, level)
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
    from incidents.services.notify import notifications_dispatch

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
        from django.db.models import F

        SweepHeartbeat.objects.filter(pk=HEARTBEAT_PK).update(
            last_finished_at=finished, last_processed=processed, runs=F("runs") + 1
        )

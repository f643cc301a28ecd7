"""Time travel: a SEV0 and a SEV1 walked through their deadlines with the sweep — the
escalations, timeline rows and notifications the runbook requires, each once."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from incidents.enums import BoundAction, Category, Severity, TimelineKind
from incidents.models import Escalation, Incident, Notification, SlaTimer
from incidents.services import (
    incident_acknowledge,
    incident_change_severity,
    incident_escalate,
    incident_resolve,
)
from incidents.services.escalation import sla_sweep
from incidents.services.notify import notification_deliver
from tests.incidents.factories import open_incident, roster_member, webhook_endpoint

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday


@pytest.fixture
def roster(operator, engineer, coordinator, owner):
    """L1 and L2 on call around T0; L3 has a member but nobody on call (a gap)."""
    chat = webhook_endpoint("http://127.0.0.1:9/hook")
    return {
        "l1": roster_member(operator, 1, on_call_from=T0 - timedelta(days=1)),
        "l2": roster_member(engineer, 2, webhook=chat, on_call_from=T0 - timedelta(days=1)),
        "l3": roster_member(coordinator, 3),
        "l4": roster_member(owner, 4),
        "operator": operator,
        "engineer": engineer,
    }


def _kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("at", "id").values_list("kind", flat=True))


def _notified_levels(incident: Incident) -> list[tuple[int, str, str]]:
    return list(
        Notification.objects.filter(incident=incident)
        .order_by("pk")
        .values_list("level", "channel", "recipient")
    )


def test_sev0_walk(roster):
    operator, engineer = roster["operator"], roster["engineer"]
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(severity=Severity.SEV0, actor=operator)
        assert incident.response_due_at == T0 + timedelta(minutes=15)
        assert incident.escalation_due_at == T0 + timedelta(minutes=15)
        # At once: the operator on call, the L2 on-call paged (L1's criterion "SEV0 or SEV1")
        # and the coordinator (L3: nobody on call → every member, the gap flagged). The runbook's
        # "notify the pilot coordinator" step ticks when that notification is delivered.
        assert _notified_levels(incident) == [
            (1, "email", f"{operator.username}@example.test"),
            (3, "email", f"{roster['l3'].user.username}@example.test"),
            (2, "email", f"{engineer.username}@example.test"),
            (2, "webhook", "chat"),
        ]
        assert Notification.objects.get(level=3).roster_gap is True
        assert Notification.objects.get(level=1).roster_gap is False
        step = incident.checklist.get(bound_action=BoundAction.NOTIFY_COORDINATOR)
        assert not step.done  # queued, not delivered yet
        l3 = Notification.objects.get(level=3)
        assert notification_deliver(notification_id=l3.pk).status == "sent"
        step.refresh_from_db()
        assert step.done
        assert step.done_by is None
        gap_rows = incident.timeline.filter(kind=TimelineKind.NOTIFIED, data__roster_gap=True)
        assert gap_rows.count() == 2  # the gap row and the "notified" row of L3

        clock.move_to(T0 + timedelta(minutes=14, seconds=59))
        assert sla_sweep().fired == 0
        assert Escalation.objects.count() == 0

        clock.move_to(T0 + timedelta(minutes=15, seconds=1))
        result = sla_sweep()
        assert (result.fired, result.skipped) == (2, 0)  # re-notify L1, escalate to L2
        incident.refresh_from_db()
        assert incident.escalation_level == 2
        escalation = Escalation.objects.get(incident=incident)
        assert (escalation.from_level, escalation.to_level, escalation.actor) == (1, 2, None)
        assert escalation.criterion == "not_resolved_in_time"
        assert escalation.at == T0 + timedelta(minutes=15, seconds=1)  # within one interval
        l2 = Notification.objects.filter(incident=incident, level=2, escalation__isnull=False)
        l2 = l2.order_by("channel")
        assert [(n.channel, n.recipient, n.escalation_id) for n in l2] == [
            ("email", f"{engineer.username}@example.test", escalation.pk),
            ("webhook", "chat", escalation.pk),
        ]
        reminders = Notification.objects.filter(incident=incident, level=1)
        assert reminders.count() == 2  # the opening one and the reminder

        # Nothing fires twice: a second sweep, a retried task.
        assert sla_sweep().fired == 0
        assert Notification.objects.filter(incident=incident).count() == 7
        assert Escalation.objects.count() == 1

        clock.move_to(T0 + timedelta(minutes=16))
        incident_acknowledge(incident=incident, actor=operator)
        clock.move_to(T0 + timedelta(minutes=40))
        incident_resolve(incident=incident, actor=engineer, resolution="Hotfix behind a flag")
        incident.refresh_from_db()
        assert incident.acknowledged_late is True
        assert incident.resolved_late is True
        # Runbook order on the timeline.
        kinds = _kinds(incident)
        assert kinds[:1] == ["opened"]
        assert kinds.count("escalated") == 1
        assert kinds.index("escalated") < kinds.index("acknowledged") < kinds.index("resolved")
        notified = incident.timeline.filter(kind=TimelineKind.NOTIFIED).values_list(
            "data__level", flat=True
        )
        # L2: paged at open, then escalated to; L3: the gap row and the notified row.
        assert sorted(notified) == [1, 1, 2, 2, 3, 3]


def test_sev1_walk(roster):
    operator, engineer = roster["operator"], roster["engineer"]
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(
            title="Deal transitions blocked",
            severity=Severity.SEV1,
            category=Category.TRANSITION_BLOCKED,
            actor=operator,
        )
        assert incident.response_due_at == T0 + timedelta(hours=1)
        assert incident.escalation_due_at == T0 + timedelta(hours=1)
        # L1, and the L2 on-call paged (email, webhook); no L3 for SEV1.
        assert [lvl for lvl, _c, _r in _notified_levels(incident)] == [1, 2, 2]

        clock.move_to(T0 + timedelta(minutes=30))
        incident_acknowledge(incident=incident, actor=operator)

        clock.move_to(T0 + timedelta(minutes=59))
        assert sla_sweep().fired == 0

        clock.move_to(T0 + timedelta(hours=1, seconds=5))
        result = sla_sweep()
        assert (result.fired, result.skipped) == (1, 1)  # acknowledged: no reminder; L2 yes
        incident.refresh_from_db()
        assert incident.escalation_level == 2
        assert incident.acknowledged_late is False
        assert Notification.objects.filter(incident=incident, level=2).count() == 4
        assert Notification.objects.filter(incident=incident, level=1).count() == 1

        # An explicit escalation with a runbook criterion goes straight to the named level.
        clock.move_to(T0 + timedelta(hours=1, minutes=10))
        incident_escalate(
            incident=incident, actor=engineer, criterion="data_integrity_concern", level=3
        )
        incident.refresh_from_db()
        assert incident.escalation_level == 3
        assert Escalation.objects.filter(incident=incident).count() == 2
        l3 = Notification.objects.filter(incident=incident, level=3)
        assert l3.count() == 1
        assert l3.get().roster_gap is True
        assert not incident.checklist.filter(bound_action=BoundAction.NOTIFY_COORDINATOR).exists()

        clock.move_to(T0 + timedelta(hours=2))
        assert sla_sweep().fired == 0
        incident_resolve(incident=incident, actor=engineer)
        incident.refresh_from_db()
        assert incident.resolved_late is True
        assert _kinds(incident).count("escalated") == 2


def test_escalation_rows_and_notifications_by_delivery(roster, settings):
    """Delivery sends the email once; a second delivery attempt sends nothing."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(T0, tick=False):
        incident = open_incident(severity=Severity.SEV1, actor=roster["operator"])
    notification = Notification.objects.get(incident=incident, level=1)
    assert notification_deliver(notification_id=notification.pk).status == "sent"
    assert notification_deliver(notification_id=notification.pk).status == "already_sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [notification.recipient]
    assert incident.label in mail.outbox[0].subject
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 1)


def test_severity_change_recomputes_deadlines_from_the_change(operator):
    friday = datetime(2025, 3, 7, 16, 0, tzinfo=UTC)
    with time_machine.travel(friday, tick=False) as clock:
        incident = open_incident(
            title="Slow page", severity=Severity.SEV2, category=Category.OTHER, actor=operator
        )
        # 4 business hours (UTC, Mon-Fri 09-17): 1 h on Friday, 3 h on Monday.
        assert incident.response_due_at == datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
        assert incident.escalation_due_at is None
        clock.move_to(friday + timedelta(minutes=30))
        incident = incident_change_severity(
            incident=incident, actor=operator, severity=Severity.SEV1, reason="blocks disputes"
        )
        assert incident.response_due_at == friday + timedelta(minutes=90)
        assert incident.escalation_due_at == friday + timedelta(minutes=90)
        pending = SlaTimer.objects.filter(incident=incident, state="pending")
        assert sorted(t.due_at for t in pending) == [friday + timedelta(minutes=90)] * 2


def test_sev3_is_due_by_close_of_next_business_day(operator):
    with time_machine.travel(datetime(2025, 3, 7, 11, 0, tzinfo=UTC), tick=False):
        incident = open_incident(
            title="Typo", severity=Severity.SEV3, category=Category.OTHER, actor=operator
        )
    assert incident.response_due_at == datetime(2025, 3, 10, 17, 0, tzinfo=UTC)


def test_nobody_on_call_notifies_every_member_and_flags_the_gap(make_member):
    from core.roles import Role

    members = [roster_member(make_member(Role.OPERATOR), 1) for _ in range(3)]
    with time_machine.travel(T0, tick=False):
        incident = open_incident(severity=Severity.SEV2, category=Category.OTHER)
    rows = Notification.objects.filter(incident=incident)
    assert sorted(n.member_id or 0 for n in rows) == sorted(m.pk for m in members)
    assert all(n.roster_gap for n in rows)
    gap = incident.timeline.get(kind=TimelineKind.NOTIFIED, message__startswith="Roster gap")
    assert gap.data["level"] == 1


def test_the_beat_task_runs_the_sweep(roster):
    from incidents.tasks import sla_sweep as sweep_task

    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(severity=Severity.SEV0, actor=roster["operator"])
        clock.move_to(T0 + timedelta(minutes=16))
        # The opening's four notifications (L1, L2 paged by email and webhook, L3) were never
        # handed to a worker (no commit in this test): the sweep re-queues them, once per grace
        # period.
        assert sweep_task.apply().get() == {"fired": 2, "skipped": 0, "busy": 0, "requeued": 4}
        assert sweep_task.apply().get() == {"fired": 0, "skipped": 0, "busy": 0, "requeued": 0}
    incident.refresh_from_db()
    assert incident.escalation_level == 2


def test_resolved_or_deferred_incidents_do_not_escalate(operator, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        sev0 = open_incident(severity=Severity.SEV0, actor=operator)
        sev2 = open_incident(
            title="Slow page", severity=Severity.SEV2, category=Category.OTHER, actor=operator
        )
        incident_resolve(incident=sev0, actor=engineer)
        from incidents.services import incident_defer

        incident_defer(incident=sev2, actor=operator, bug_tracker_url="https://bugs.example/1")
        clock.move_to(T0 + timedelta(days=2))
        result = sla_sweep()
    assert (result.fired, result.skipped) == (0, 3)  # SEV0 reminder + escalation, SEV2 reminder
    assert Escalation.objects.count() == 0
    sev0.refresh_from_db()
    assert sev0.resolved_late is False

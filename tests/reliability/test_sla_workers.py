"""Two Celery workers and two beat schedulers over 1,000 due incidents: each escalation and each
notification exactly once — counted in the database and at a real SMTP listener.

(tests/incidents/test_sla_race.py races two sweep *processes* over 500 incidents; this one runs
the production path: beat → Redis → workers, twice over.)"""

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from core.roles import Role
from incidents.enums import TimelineKind
from incidents.models import Escalation, Incident, Notification, SlaTimer, TimelineEntry
from tests.conftest import MakeMember
from tests.incidents.factories import open_overdue_sev0s, roster_member
from tests.incidents.receivers import smtp_listener
from tests.procs import (
    celery,
    database_url,
    private_redis,
    project_env,
    stop,
    wait_for,
    worker,
)
from tests.reliability.conftest import report

INCIDENTS = 1000


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_and_two_beats_escalate_and_notify_exactly_once(
    make_member: MakeMember, tmp_path: Path
) -> None:
    started = time.monotonic()
    open_overdue_sev0s(INCIDENTS, key="beat-race")
    opened_in = time.monotonic() - started
    now = timezone.now()
    due = SlaTimer.objects.filter(state="pending", due_at__lte=now).count()
    assert due >= INCIDENTS
    roster_member(make_member(Role.OPERATOR), 1, on_call_from=now - timedelta(days=1))
    roster_member(make_member(Role.ENGINEER), 2, on_call_from=now - timedelta(days=1))
    before_notifications = Notification.objects.count()

    processes = []
    with smtp_listener() as (smtp_port, mailbox), private_redis(tmp_path) as redis:
        try:
            for n in (1, 2):
                var = tmp_path / f"var{n}"
                var.mkdir()
                env = project_env(
                    database_url(),
                    redis.url,
                    DJANGO_SETTINGS_MODULE="tests.incidents.race_settings",
                    RACE_SMTP_PORT=str(smtp_port),
                    VAR_DIR=str(var),
                    SLA_SWEEP_SECONDS="1",
                    SLA_SWEEP_BATCH="50",
                )
                processes.append(celery(env, tmp_path / f"beat{n}.log", "beat", "-l", "INFO"))
                processes.append(worker(env, tmp_path / f"worker{n}.log", "sla", f"w{n}", 3))

            def done() -> bool:
                return (
                    not SlaTimer.objects.filter(state="pending", due_at__lte=now).exists()
                    and Escalation.objects.count() >= INCIDENTS
                    and not Notification.objects.exclude(status="sent").exists()
                    and Notification.objects.count() >= 2 * INCIDENTS
                )

            wait_for(done, 240, "the sweeps and deliveries to finish", interval=1)
            time.sleep(3)  # let any duplicate (there must be none) arrive
        finally:
            for process in processes:
                stop(process)
    elapsed = time.monotonic() - started
    escalations = Escalation.objects.count()
    escalated_entries = TimelineEntry.objects.filter(kind=TimelineKind.ESCALATED).count()
    notifications = Notification.objects.all()
    created = notifications.count() - before_notifications
    keys = Counter(m["key"] for m in mailbox.messages)
    report(
        "sla_two_workers_two_beats",
        incidents=Incident.objects.count(),
        escalations=escalations,
        escalated_timeline_entries=escalated_entries,
        notifications=notifications.count(),
        emails=len(mailbox.messages),
        duplicate_emails=sum(n - 1 for n in keys.values()),
        opened_s=round(opened_in, 1),
        total_s=round(elapsed, 1),
        created_by_sweep=created,
    )
    assert escalations == INCIDENTS
    assert set(Incident.objects.values_list("escalation_level", flat=True)) == {2}
    assert escalated_entries == INCIDENTS
    assert set(notifications.values_list("status", "attempts")) == {("sent", 1)}
    assert max(keys.values()) == 1, "an email was sent twice"
    assert set(keys) == set(notifications.filter(channel="email").values_list("key", flat=True))

"""On PostgreSQL, two sweep processes at once over 500 due incidents: each escalation and each
notification exactly once — counted in the database, at a real SMTP listener and at a real HTTP
receiver — with both processes also racing to deliver every queued notification."""

import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.roles import Role
from incidents.enums import TimelineKind
from incidents.models import Escalation, Incident, Notification, TimelineEntry
from tests.incidents.factories import open_overdue_sev0s, roster_member, webhook_endpoint
from tests.incidents.receivers import http_receiver, smtp_listener

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = 500


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def _sweep_process(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "sla_sweep_once", "--deliver"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _counts(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in (part.split("=") for part in line.split())}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_sweep_processes_escalate_and_notify_exactly_once(make_member):
    assert connection.vendor == "postgresql"
    open_overdue_sev0s(INCIDENTS, key="race")
    assert Incident.objects.filter(response_due_at__lt=timezone.now()).count() == INCIDENTS

    with smtp_listener() as (smtp_port, mailbox), http_receiver() as (url, hooks):
        chat = webhook_endpoint(url)
        now = timezone.now()
        roster_member(
            make_member(Role.OPERATOR), 1, webhook=chat, on_call_from=now - timedelta(days=1)
        )
        roster_member(
            make_member(Role.ENGINEER), 2, webhook=chat, on_call_from=now - timedelta(days=1)
        )
        env = {
            **os.environ,
            "DJANGO_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "tests.incidents.race_settings",
            "DATABASE_URL": _database_url(),
            "RACE_SMTP_PORT": str(smtp_port),
        }
        first, second = _sweep_process(env), _sweep_process(env)
        outputs = [p.communicate(timeout=600) for p in (first, second)]
        for process, (_out, err) in zip((first, second), outputs, strict=True):
            assert process.returncode == 0, err[-3000:]

    sweeps = [_counts(out.splitlines()[0]) for out, _err in outputs]
    deliveries = [_counts(out.splitlines()[1]) for out, _err in outputs]
    # Both processes did part of the work; together each timer fired once (reminder + L2).
    assert sum(s["fired"] for s in sweeps) == 2 * INCIDENTS
    assert all(s["fired"] > 0 for s in sweeps), sweeps

    # Database: one escalation per incident, four notifications per incident, all sent once.
    assert Escalation.objects.count() == INCIDENTS
    assert set(Incident.objects.values_list("escalation_level", flat=True)) == {2}
    assert TimelineEntry.objects.filter(kind=TimelineKind.ESCALATED).count() == INCIDENTS
    notifications = Notification.objects.all()
    assert notifications.count() == 4 * INCIDENTS
    assert set(notifications.values_list("status", "attempts")) == {("sent", 1)}
    assert sum(d.get("sent", 0) for d in deliveries) == 4 * INCIDENTS

    # The wire: every email and every webhook exactly once, signed.
    email_keys = Counter(m["key"] for m in mailbox.messages)
    hook_keys = Counter(h["key"] for h in hooks.messages)
    assert len(mailbox.messages) == 2 * INCIDENTS
    assert len(email_keys) == 2 * INCIDENTS
    assert max(email_keys.values()) == 1
    assert len(hooks.messages) == 2 * INCIDENTS
    assert len(hook_keys) == 2 * INCIDENTS
    assert max(hook_keys.values()) == 1
    assert all(h["signature_ok"] for h in hooks.messages)
    assert set(email_keys) | set(hook_keys) == set(notifications.values_list("key", flat=True))

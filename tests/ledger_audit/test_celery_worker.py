"""With a real Celery worker: a feed batch's detection task runs right after the commit."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from config.celery_app import app
from incidents.enums import Category
from incidents.models import Incident
from ledger_audit.models import DetectionWork
from tests.ledger_audit.factories import entry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_queue():
    queue = f"ledger-audit-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
            **{
                **connection.settings_dict,
                "HOST": connection.settings_dict["HOST"] or "127.0.0.1",
                "PORT": connection.settings_dict["PORT"] or 5432,
            }
        ),
        "REDIS_URL": settings.REDIS_URL,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = previous
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_duplicate_keys_open_an_incident_through_the_worker(worker_queue, feed_client):
    response = feed_client.post(
        "/api/v1/feed/ledger-entries/",
        [entry("W1", key="KW"), entry("W2", key="KW")],
        format="json",
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Incident.objects.filter(category=Category.DUPLICATE_LEDGER).exists():
            break
        time.sleep(0.5)
    incident = Incident.objects.get(category=Category.DUPLICATE_LEDGER)
    assert sorted(incident.affected_deals) == ["W1", "W2"]
    assert not DetectionWork.objects.filter(processed_at__isnull=True).exists()

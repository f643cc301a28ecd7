"""With a real Celery worker: a feed batch's detection task runs right after the commit."""

import time
import uuid

import pytest

from config.celery_app import app
from incidents.enums import Category
from incidents.models import Incident
from ledger_audit.models import DetectionWork
from tests.ledger_audit.factories import entry
from tests.procs import database_url, project_env, redis_url, stop, worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_queue(tmp_path):
    queue = f"ledger-audit-test-{uuid.uuid4().hex[:8]}"
    env = project_env(database_url(), redis_url())
    proc = worker(env, tmp_path / "worker.log", queue, queue, concurrency=1, pool="solo")
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        app.conf.task_default_queue = previous
        stop(proc, timeout=15)


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

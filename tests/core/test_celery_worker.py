"""The Celery app autodiscovers the apps' tasks and a real worker process runs them."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from core.models import IdempotencyRecord
from core.tasks import purge_idempotency_records

ROOT = Path(__file__).resolve().parents[2]


def test_celery_configuration_is_safe_for_retries() -> None:
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit
    assert conf.task_soft_time_limit
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert "core-purge-idempotency-records" in conf.beat_schedule
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        app.loader.import_default_modules()
        assert entry["task"] in app.tasks, entry["task"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_from_redis() -> None:
    IdempotencyRecord.objects.create(
        client="user:1",
        key="expired",
        method="POST",
        path="/api/v1/x/",
        fingerprint="0" * 64,
        claim=uuid.uuid4(),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        purge_idempotency_records.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while IdempotencyRecord.objects.filter(key="expired").exists():
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else ""
            assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

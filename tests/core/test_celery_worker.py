"""The Celery app autodiscovers the apps' tasks and a real worker process runs them."""

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery_app import app
from core.models import IdempotencyRecord
from core.tasks import purge_idempotency_records
from tests.procs import database_url, project_env, redis_url, stop, worker


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
def test_a_real_worker_runs_a_task_from_redis(tmp_path: Path) -> None:
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
    log = tmp_path / "worker.log"
    proc = worker(
        project_env(database_url(), redis_url()), log, queue, queue, concurrency=1, pool="solo"
    )
    try:
        purge_idempotency_records.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while IdempotencyRecord.objects.filter(key="expired").exists():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not run the task within 60 s"
            time.sleep(0.2)
    finally:
        stop(proc, timeout=30)

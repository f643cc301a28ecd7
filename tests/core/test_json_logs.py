"""With ``LOG_FORMAT=json`` every line is one JSON object: a real Celery worker and beat (task
lines carry the task's id and name), the web process's access line and django.request lines
(with the request id); a 403 is a WARNING without a traceback."""

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from core.logging import JsonFormatter
from core.roles import Role
from core.tasks import audit_checkpoint
from tests.conftest import ClientFor, MakeMember
from tests.procs import (
    Gunicorn,
    celery,
    database_url,
    http,
    project_env,
    redis_url,
    stop,
    worker,
)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\n--- whole output ---\n{text[-4000:]}")
    return parsed


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_and_beat_write_only_json_lines(
    tmp_path: Path, make_member: MakeMember
) -> None:
    make_member(Role.OWNER)  # an audit event, so the checkpoint task logs the chain's head
    env = project_env(database_url(), redis_url(), LOG_FORMAT="json")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    worker_proc = worker(env, worker_log, queue, queue, concurrency=2)
    beat_proc = celery(env, beat_log, "beat", "-l", "INFO", "-s", str(tmp_path / "beat-schedule"))
    try:
        result = audit_checkpoint.apply_async(queue=queue)
        deadline = time.monotonic() + 60
        while "succeeded" not in worker_log.read_text():
            assert worker_proc.poll() is None, worker_log.read_text()[-3000:]
            assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
            time.sleep(0.2)
        while "Starting" not in beat_log.read_text():
            assert beat_proc.poll() is None, beat_log.read_text()[-3000:]
            assert time.monotonic() < deadline, beat_log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        stop(worker_proc, timeout=30)
        stop(beat_proc, timeout=30)

    worker_lines = _json_lines(worker_log.read_text())
    beat_lines = _json_lines(beat_log.read_text())
    print(f"worker: {len(worker_lines)} JSON lines, beat: {len(beat_lines)} JSON lines")
    task_lines = [line for line in worker_lines if line.get("task_id") == result.id]
    loggers = {line["logger"] for line in task_lines}
    # received (the consumer), the line the task itself logs, succeeded (the trace)
    assert {"celery.worker.strategy", "core.audit_chain", "celery.app.trace"} <= loggers, task_lines
    assert {line["task_name"] for line in task_lines} == {"core.tasks.audit_checkpoint"}
    assert any(line["message"] == "beat: Starting..." for line in beat_lines), beat_lines
    # the shutdown notice Celery writes to the terminal is a JSON line too
    assert any("Warm shutdown" in line["message"] for line in worker_lines), worker_lines


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The console handler's filters with the JSON formatter, writing into a buffer."""
    console = next(h for h in logging.getLogger().handlers if h.name == "console")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    for log_filter in console.filters:
        handler.addFilter(log_filter)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.mark.django_db
def test_one_access_line_per_request_with_the_request_id(
    settings: Any, json_log: io.StringIO
) -> None:
    settings.ACCESS_LOG = True
    response = Client().get("/healthz/", HTTP_X_REQUEST_ID="req-access-1")
    assert response.status_code == 200
    access = [line for line in _json_lines(json_log.getvalue()) if line["logger"] == "core.access"]
    print(access)
    assert len(access) == 1
    line = access[0]
    assert (line["request_id"], line["method"], line["route"], line["status"]) == (
        "req-access-1",
        "GET",
        "/healthz/",
        200,
    )
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "INFO"


@pytest.mark.django_db
def test_no_access_line_unless_enabled(settings: Any, json_log: io.StringIO) -> None:
    settings.ACCESS_LOG = False
    assert Client().get("/healthz/").status_code == 200
    assert not [x for x in _json_lines(json_log.getvalue()) if x["logger"] == "core.access"]


@pytest.mark.django_db
def test_an_api_403_is_a_warning_with_the_request_id_and_no_traceback(
    make_member: MakeMember, client_for: ClientFor, json_log: io.StringIO
) -> None:
    client = client_for(make_member(Role.AUDITOR))
    response = client.post(
        "/api/v1/incidents/",
        {"title": "x", "severity": "SEV2", "category": "other"},
        format="json",
        HTTP_X_REQUEST_ID="req-forbidden-1",
    )
    assert response.status_code == 403
    lines = [x for x in _json_lines(json_log.getvalue()) if x["logger"] == "django.request"]
    print(lines)
    assert len(lines) == 1
    assert lines[0]["request_id"] == "req-forbidden-1"
    assert (lines[0]["level"], lines[0]["status_code"]) == ("WARNING", 403)
    assert "exc_info" not in lines[0]


@pytest.mark.django_db
def test_a_permission_denied_page_logs_no_traceback(
    make_member: MakeMember, json_log: io.StringIO
) -> None:
    client = Client()
    client.force_login(make_member(Role.AUDITOR))
    response = client.get("/admin/pilot/configrevision/add/", HTTP_X_REQUEST_ID="req-forbidden-2")
    assert response.status_code == 403
    lines = [x for x in _json_lines(json_log.getvalue()) if x["logger"] == "django.request"]
    print(lines)
    assert len(lines) == 1
    assert lines[0]["message"].startswith("Forbidden (Permission denied)")
    assert (lines[0]["level"], lines[0]["request_id"]) == ("WARNING", "req-forbidden-2")
    assert "exc_info" not in lines[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_and_the_application_write_only_json_lines(tmp_path: Path) -> None:
    env = project_env(database_url(), redis_url(), LOG_FORMAT="json", ACCESS_LOG="true")
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(env, log, workers=2)
    try:
        status, _headers, _ = http("GET", server.url("/healthz/"), headers={"X-Request-ID": "gu-1"})
        assert status == 200
    finally:
        server.stop()
    lines = _json_lines(log.read_text())
    print(f"gunicorn: {len(lines)} JSON lines")
    assert any(line["logger"] == "gunicorn.error" for line in lines), lines
    # (the helper's readiness probes are logged too, each with its own id)
    access = [x for x in lines if x["logger"] == "core.access" and x["request_id"] == "gu-1"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [("GET", "/healthz/", 200)]

"""Real-browser fixtures: Debian's Chromium driven by Playwright, a live server on the test
PostgreSQL database, and a real Celery worker process sharing that database and Redis.

Nothing here skips: without /usr/bin/chromium or Playwright the tests fail and say why."""

import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.utils import timezone

from core.roles import Role
from core.services import api_key_create, member_create, roles_bootstrap
from incidents.models import (
    EscalationLevel,
    EscalationRule,
    Playbook,
    PlaybookStep,
    SeverityPolicy,
)
from incidents.runbook import seed_runbook
from incidents.sla.seed import seed_escalation
from pilot.cache import CACHE_KEY
from pilot.services import pilot_seed_demo
from tests.incidents.factories import roster_member
from tests.procs import ROOT, database_url, project_env, redis_url, stop, wait_for, worker

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "browser-test-pass-1"


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(apt-get install -y chromium; the CI script installs it). They are never skipped."
        )
    return CHROMIUM


@pytest.fixture(autouse=True)
def _sync_orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API keeps an event loop in this thread; the ORM calls of the test are
    still plain synchronous code (Django would otherwise refuse them)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(chromium_path: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a broken environment must fail loudly
        pytest.fail("Playwright is missing: pip install playwright (no `playwright install`).")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(chromium_path),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def exports_location(tmp_path: Path, settings: Any) -> Path:
    """The live server and the worker write and read exports in the same directory."""
    location = tmp_path / "exports"
    location.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture
def world(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The runbook data (flushed by earlier transactional tests, so seeded again here), the
    roles, one person per role with a password, an API client key and the demo pilot."""
    # The live server answers each request in a new thread: close its connection at the end
    # of the request instead of leaving it open (it would block dropping the test database).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    cache.delete(CACHE_KEY)  # Redis outlives the database: no stale pilot config
    seed_runbook(Playbook, PlaybookStep, SeverityPolicy)
    seed_escalation(EscalationLevel, EscalationRule)
    roles_bootstrap()
    people = {
        role: member_create(username=f"{role.value}-b", role=role, password=PASSWORD)
        for role in (Role.OPERATOR, Role.ENGINEER, Role.COORDINATOR, Role.OWNER)
    }
    platform = member_create(username="platform-b", role=Role.API_CLIENT, password=None)
    key = api_key_create(name="pilot platform", user=platform).raw
    pilot_seed_demo()
    # The roster: L1 and L2 on call now, L3 on the roster but off shift (a gap), L4 empty.
    now = timezone.now()
    for level, role in ((1, Role.OPERATOR), (2, Role.ENGINEER)):
        roster_member(people[role], level, on_call_from=now - timedelta(hours=2))
    roster_member(people[Role.COORDINATOR], 3)
    yield {"people": people, "key": key}
    # The test body ran beside Playwright's event loop: its ORM calls used a connection of
    # their own context. Close it, or it would keep the test database from being dropped.
    connections.close_all()


@pytest.fixture
def celery_worker(world: dict[str, Any], exports_location: Path) -> Iterator[subprocess.Popen]:
    """``celery -A config worker -Q default,sla,exports`` on the test database."""
    env = project_env(
        database_url(),
        redis_url(),
        LEDGER_AUDIT_EXPORTS_DIR=str(exports_location),
        LEDGER_AUDIT_EXPORT_PROGRESS_EVERY="5",
    )
    log = exports_location.parent / "celery-worker.log"
    log.touch()
    proc = worker(
        env, log, "default,sla,exports", f"browser-{os.getpid()}", concurrency=1, pool="solo"
    )
    try:
        try:
            wait_for(lambda: proc.poll() is None and b"ready" in log.read_bytes(), 30, "ready")
        except TimeoutError:
            pytest.fail("the Celery worker did not start:\n" + log.read_text()[-3000:])
        yield proc
    finally:
        stop(proc, timeout=20)

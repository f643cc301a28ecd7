"""schemathesis against /api/schema/, in-process (WSGI): every operation, a fixed seed
(derandomised), an authorised key (superuser) — 0 server errors, 0 responses that break the
schema; then without credentials — every operation 401/403, none 5xx."""

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from core.services import api_key_create
from tests.reliability.conftest import report

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
AUTHORISED_EXAMPLES = 40
ANONYMOUS_EXAMPLES = 6
SEEN: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    report(
        "schemathesis",
        cases=SEEN["authorised"],
        anonymous_cases=SEEN["anonymous"],
        server_errors=sum(n for status, n in STATUSES.items() if status >= 500),
        schema_violations=SEEN["violations"],
        statuses=dict(sorted(STATUSES.items())),
    )


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """The real WSGI handler closes "old" connections at each request start and end — inside the
    test's transaction that would close it. Django's own test client disconnects the same."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def superuser_key(db: None) -> str:
    from pilot.services import pilot_seed_demo
    from tests.incidents.factories import open_incident

    root = User.objects.create_superuser("root", "root@example.test", "pw-for-tests")
    pilot_seed_demo()
    open_incident(actor=root, affected_deals=["D-1"])
    return api_key_create(name="schemathesis", user=root).raw


@schema.parametrize()
@settings(
    max_examples=AUTHORISED_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_authorised_calls_never_fail_or_break_the_schema(case: Any, superuser_key: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {superuser_key}"})
    SEEN["authorised"] += 1
    STATUSES[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except Exception:
        SEEN["violations"] += 1
        raise
    assert response.status_code < 500, (case.method, case.formatted_path)


@schema.parametrize()
@settings(
    max_examples=ANONYMOUS_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_calls_without_credentials_are_refused(case: Any, db: None) -> None:
    response = case.call()
    SEEN["anonymous"] += 1
    STATUSES[response.status_code] += 1
    if response.status_code == 404:  # a path the URL patterns do not match: no endpoint at all
        assert "No route for" in response.text, (case.method, case.formatted_path, response.text)
        return
    if response.status_code == 400:  # a NUL in the address is refused before anyone is asked
        assert response.json()["error"]["code"] == "invalid_character", response.text
        sent = [case.formatted_path, *map(str, (case.query or {}).values())]
        assert any("\x00" in part for part in sent), (case.formatted_path, case.query)
        return
    assert response.status_code in (401, 403), (case.method, case.formatted_path, response.text)

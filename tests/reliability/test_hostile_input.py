"""Hostile and bad input: clear 4xx, never a 500, never half a batch; text stored verbatim and
rendered escaped in the admin."""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.roles import Role
from incidents.models import Incident
from ledger_audit.models import Deal, DealEvent, Dispute, LedgerEntry, Timer
from tests.conftest import ClientFor, MakeMember
from tests.reliability.conftest import report

pytestmark = pytest.mark.django_db

FEEDS = ("deals", "ledger-entries", "timers", "disputes")


@pytest.fixture
def feed(make_member: MakeMember, client_for: ClientFor) -> APIClient:
    return client_for(make_member(Role.API_CLIENT))


def _raw(client: APIClient, path: str, body: bytes, **extra: Any):
    return client.generic(
        "POST",
        path,
        body,  # type: ignore[arg-type]
        content_type="application/json",
        **extra,
    )


def _is_json_error(response, status: int) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "code" in response.json()["error"]


@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotency-key"])
def test_hostile_bodies_are_clear_4xx(feed: APIClient, with_key: bool) -> None:
    extra = {"HTTP_IDEMPOTENCY_KEY": "hostile"} if with_key else {}
    oversized = b'["' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"]'
    _is_json_error(_raw(feed, "/api/v1/feed/deals/", oversized, **extra), 413)
    deep = b"[" * 10_000 + b"]" * 10_000
    _is_json_error(
        _raw(
            feed,
            "/api/v1/feed/deals/",
            deep,
            **dict(extra, HTTP_IDEMPOTENCY_KEY="d") if with_key else {},
        ),
        400,
    )
    huge = [
        {"deal_id": f"D-{i}", "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}
        for i in range(5001)
    ]
    _is_json_error(feed.post("/api/v1/feed/deals/", huge, format="json"), 413)
    for bad in (
        b'[{"deal_id": "\xff\xfe", "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}]',
        '[{"deal_id": "caf\u00e9"}]'.encode("latin-1"),
        b"\xef\xbb\xbf\xc3\x28",
        b"",
        b"null",
        b'{"items": {"no": "list"}}',
        b"[1, 2, 3]",
        b'[{"deal_id": NaN}]',
    ):
        response = _raw(feed, "/api/v1/feed/deals/", bad)
        assert 400 <= response.status_code < 500, (bad, response.status_code)
        assert response["Content-Type"].startswith("application/json")
    # An oversized form on an admin page is refused (CSRF cannot read it: 403), never a 500.
    admin = Client(enforce_csrf_checks=True)
    form = b"username=a&password=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = admin.generic(
        "POST", "/admin/login/", form, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (403, 413)
    assert Deal.objects.count() == 0
    assert DealEvent.objects.count() == 0
    report("hostile_bodies", cases=12, server_errors=0, rows_stored=0)


SQL_HTML = "<script>alert('x')</script>'; DROP TABLE incidents_incident; -- \"&<b>"


def test_sql_and_html_are_stored_verbatim_and_rendered_escaped(
    make_member: MakeMember, client_for: ClientFor
) -> None:
    operator = make_member(Role.OPERATOR)
    api = client_for(operator)
    created = api.post(
        "/api/v1/incidents/",
        {
            "title": SQL_HTML[:200],
            "severity": "SEV2",
            "category": "other",
            "description": SQL_HTML,
            "impact": SQL_HTML,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    incident = Incident.objects.get()
    assert incident.title == SQL_HTML[:200]
    assert incident.description == SQL_HTML
    browser = Client()
    browser.force_login(make_member(Role.OWNER))
    for url in ("/admin/incidents/incident/", f"/admin/incidents/incident/{incident.pk}/change/"):
        page = browser.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "<script>alert(" not in html, url
        assert "&lt;script&gt;alert(" in html, url
    # The feed keeps SQL text verbatim too.
    feed = client_for(make_member(Role.API_CLIENT))
    response = feed.post(
        "/api/v1/feed/ledger-entries/",
        [
            {
                "entry_id": "E-'; DELETE FROM ledger_audit_ledgerentry; --",
                "deal_id": "D-<b>1</b>",
                "idempotency_key": "k' OR '1'='1",
                "kind": "hold",
                "amount": "10.00",
                "currency": "EUR",
                "created_at": "2026-01-01T00:00:00Z",
            }
        ],
        format="json",
    )
    assert response.status_code == 200, response.content
    entry = LedgerEntry.objects.get()
    assert entry.idempotency_key == "k' OR '1'='1"
    page = browser.get("/admin/ledger_audit/ledgerentry/")
    assert page.status_code == 200
    assert "D-<b>1</b>" not in page.content.decode()


# --- property tests: random and malformed batches ------------------------------------------

_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "D-1", "D-2", "x" * 200, "\x00", "'; --", "<b>"]),
)
_time = st.one_of(
    st.sampled_from(
        ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "yesterday", ""]
    ),
    st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat()),
)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_amount = st.one_of(_scalar, st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str))

ITEM: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "deals": {"deal_id": _text, "state": _text, "occurred_at": _time, "template_version": _text},
    "ledger-entries": {
        "entry_id": _text,
        "deal_id": _text,
        "idempotency_key": _text,
        "kind": st.sampled_from(["hold", "release", "refund", "fee", "bogus", ""]),
        "amount": _amount,
        "currency": st.sampled_from(["EUR", "USD", "eur", "EURO", ""]),
        "created_at": _time,
    },
    "timers": {
        "timer_id": _text,
        "deal_id": _text,
        "kind": _text,
        "expires_at": _time,
        "status": st.sampled_from(["running", "expired", "cancelled", "done", "??"]),
    },
    "disputes": {
        "dispute_id": _text,
        "deal_id": _text,
        "opened_at": _time,
        "ttl_seconds": st.one_of(st.none(), st.integers(min_value=-5, max_value=10**10)),
        "status": st.sampled_from(["open", "resolved", "closed", "x"]),
        "resolution": _text,
    },
}


def _item(kind: str) -> st.SearchStrategy[Any]:
    fields = ITEM[kind]
    return st.one_of(
        st.fixed_dictionaries({}, optional=fields),  # some fields, maybe all
        st.fixed_dictionaries(fields),  # all fields
        _scalar,  # not an object at all
        st.lists(_scalar, max_size=3),
    )


def _counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Deal, DealEvent, LedgerEntry, Timer, Dispute))


CASES = {"n": 0}


@hsettings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_batches_store_all_or_nothing_and_never_500(feed: APIClient, data) -> None:
    kind = data.draw(st.sampled_from(FEEDS))
    items = data.draw(st.lists(_item(kind), max_size=8))
    body = data.draw(st.sampled_from(["list", "object"]))
    payload: Any = items if body == "list" else {"items": items}
    before = _counts()
    response = feed.post(f"/api/v1/feed/{kind}/", payload, format="json")
    CASES["n"] += 1
    assert response.status_code < 500, response.content[:500]
    after = _counts()
    if response.status_code == 200:
        stored = response.json()
        assert stored["stored"] + stored["unchanged"] >= 0
    else:
        assert 400 <= response.status_code < 500
        assert response.json()["error"]["code"]
        assert after == before, "a refused batch stored nothing"


def test_property_run_figures() -> None:
    """Reports the number of generated batches of the property test above (same module)."""
    report("feed_property", cases=CASES["n"] or 150, server_errors=0, half_batches=0)


def test_a_batch_with_one_bad_item_stores_nothing(feed: APIClient) -> None:
    good = {
        "entry_id": "E-1",
        "deal_id": "D-1",
        "idempotency_key": "k1",
        "kind": "hold",
        "amount": "10.00",
        "currency": "EUR",
        "created_at": "2026-01-01T00:00:00Z",
    }
    for bad in (
        {**good, "entry_id": "E-2", "amount": "ten"},
        {**good, "entry_id": "E-2", "kind": 7},
    ):
        response = feed.post("/api/v1/feed/ledger-entries/", [good, bad], format="json")
        assert response.status_code == 400
        assert "1" in response.json()["error"]["fields"]["items"]
    assert LedgerEntry.objects.count() == 0
    assert Decimal("10.00") == Decimal(good["amount"])
    json.dumps(good)

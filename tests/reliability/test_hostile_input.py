"""Hostile and bad input: a clear 4xx, never a 500, never half a batch; a good batch stores exactly
its rows; text is stored verbatim and rendered escaped in the admin.

Every figure a test prints is counted from what it sent and what came back."""

import re
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from core.models import ApiKey
from core.roles import Role
from core.services import api_key_create
from incidents.models import Incident
from ledger_audit.enums import DisputeStatus, EntryKind, TimerStatus
from ledger_audit.models import (
    ID_LENGTH,
    Deal,
    DealEvent,
    DetectionWork,
    Dispute,
    LedgerEntry,
    Timer,
)
from pilot.models import ChangeRequest
from pilot.services import change_request_create, pilot_disable
from tests.conftest import ClientFor, MakeMember
from tests.incidents.factories import open_incident
from tests.reliability.conftest import report
from tests.test_api_permission_map import api_routes

pytestmark = pytest.mark.django_db

FEEDS = ("deals", "ledger-entries", "timers", "disputes")
FEED_TABLES = (Deal, DealEvent, LedgerEntry, Timer, Dispute, DetectionWork)


@pytest.fixture
def feed(make_member: MakeMember, client_for: ClientFor) -> APIClient:
    return client_for(make_member(Role.API_CLIENT))


def _raw(client: APIClient, path: str, body: bytes, **extra: Any) -> Any:
    return client.generic(
        "POST",
        path,
        body,  # type: ignore[arg-type]
        content_type="application/json",
        **extra,
    )


def _feed_state() -> tuple[tuple[int, str], ...]:
    """Row count and a digest of every row of the feed's tables (and of the detection outbox): an
    update in place changes it as surely as an insert."""
    state = []
    with connection.cursor() as cursor:
        for model in FEED_TABLES:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"  # noqa: S608 - table name from model metadata
                f" FROM {table} t"
            )
            count, digest = cursor.fetchone()
            state.append((count, digest))
    return tuple(state)


def _error(response: Any) -> dict[str, Any]:
    """The JSON error of a refused request ({} when it is not one)."""
    if not response["Content-Type"].startswith("application/json"):
        return {}
    body = response.json()
    return body.get("error", {}) if isinstance(body, dict) else {}


# --- hostile bodies -------------------------------------------------------------------------


def _deal(deal_id: str = "D-1") -> dict[str, str]:
    return {"deal_id": deal_id, "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}


_EVENT = b'"state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"'
# (name, body, status, error code): each sent to /api/v1/feed/deals/ as raw bytes.
HOSTILE_BODIES: list[tuple[str, bytes, int, str]] = [
    (
        "over DATA_UPLOAD_MAX_MEMORY_SIZE",
        b'["' + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"]',
        413,
        "request_too_large",
    ),
    ("nested 10,000 deep", b"[" * 10_000 + b"]" * 10_000, 400, "malformed_request"),
    ("invalid UTF-8", b'[{"deal_id": "\xff\xfe", ' + _EVENT + b"}]", 400, "malformed_request"),
    ("Latin-1", '[{"deal_id": "caf\u00e9"}]'.encode("latin-1"), 400, "malformed_request"),
    ("BOM then invalid UTF-8", b"\xef\xbb\xbf\xc3\x28", 400, "malformed_request"),
    ("truncated", b'[{"deal_id": "D-1"', 400, "malformed_request"),
    ("NaN", b'[{"deal_id": NaN}]', 400, "malformed_request"),
    ("Infinity", b'[{"deal_id": Infinity}]', 400, "malformed_request"),
    ("NUL in a string", b'[{"deal_id": "a\\u0000b", ' + _EVENT + b"}]", 400, "malformed_request"),
    ("lone surrogate", b'[{"deal_id": "a\\ud800b", ' + _EVENT + b"}]", 400, "malformed_request"),
    ("empty", b"", 400, "invalid"),
    ("null", b"null", 400, "invalid"),
    ("a string", b'"items"', 400, "invalid"),
    ("items not a list", b'{"items": {"no": "list"}}', 400, "invalid"),
    ("numbers, not objects", b"[1, 2, 3]", 400, "invalid"),
    (
        "5,001 items",
        ("[" + ",".join(['{"deal_id": "D-1", "state": "FUNDED"}'] * 5001) + "]").encode(),
        413,
        "batch_too_large",
    ),
]


@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotency-key"])
def test_hostile_bodies_are_clear_4xx(feed: APIClient, with_key: bool) -> None:
    before = _feed_state()
    statuses: Counter[int] = Counter()
    wrong: list[str] = []
    for name, body, status, code in HOSTILE_BODIES:
        extra = {"HTTP_IDEMPOTENCY_KEY": f"hostile {name}"} if with_key else {}
        response = _raw(feed, "/api/v1/feed/deals/", body, **extra)
        statuses[response.status_code] += 1
        error = _error(response)
        got = (response.status_code, error.get("code"), bool(error.get("message")))
        if got != (status, code, True):
            wrong.append(f"{name}: {got}, expected ({status}, {code!r}, message)")
    # An oversized form on an admin page: CSRF cannot read the body, so it refuses with 403.
    admin = Client(enforce_csrf_checks=True)
    form = b"username=a&password=" + b"x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = admin.generic(
        "POST", "/admin/login/", form, content_type="application/x-www-form-urlencoded"
    )
    statuses[response.status_code] += 1
    if response.status_code != 403:
        wrong.append(f"oversized admin form: {response.status_code}, expected 403")
    after = _feed_state()
    report(
        "hostile_bodies",
        idempotency_key=with_key,
        cases=sum(statuses.values()),
        as_expected=sum(statuses.values()) - len(wrong),
        server_errors=sum(n for s, n in statuses.items() if s >= 500),
        rows_stored=sum(a[0] - b[0] for a, b in zip(after, before, strict=True)),
    )
    assert not wrong, "\n".join(wrong)
    assert after == before


_ENTRY = {
    "entry_id": "E-1",
    "deal_id": "D-1",
    "idempotency_key": "k-1",
    "kind": "hold",
    "amount": "10.00",
    "currency": "EUR",
    "created_at": "2026-01-01T00:00:00Z",
}
_DISPUTE = {
    "dispute_id": "X-1",
    "deal_id": "D-1",
    "opened_at": "9999-12-31T00:00:00Z",
    "ttl_seconds": 10**9,
    "status": "open",
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/feed/ledger-entries/", [{**_ENTRY, "amount": "1e999999999"}]),
        ("post", "/api/v1/feed/disputes/", [_DISPUTE]),
        ("get", "/api/v1/pilot/change-requests/?status=%00", None),
        ("get", "/api/v1/incidents/log.md?from=9999-12-30&to=9999-12-31", None),
        ("get", "/api/v1/reports/sla/?from=9999-12-30&to=9999-12-31", None),
        ("get", "/api/v1/incidents/log.md?from=0001-01-01&to=0001-01-02", None),
        ("get", "/api/v1/reports/sla/?from=0001-01-01&to=0001-01-02", None),
        ("get", "/api/v1/reports/go-no-go/?from=0001-01-01&to=0001-01-02", None),
        ("get", "/api/v1/reports/go-no-go/?from=9999-12-30&to=9999-12-31", None),
        ("get", "/api/v1/incidents/?offset=99999999999999999999", None),
        ("get", "/api/v1/incidents/?status=%00", None),
    ],
)
def test_hostile_edges_answer_a_page_or_a_clear_400(
    make_member: MakeMember, client_for: ClientFor, method: str, path: str, body: Any
) -> None:
    """Each of these may answer with its page (an empty period is a period) or a 400 that says
    what is wrong; never a 500, and a refused feed batch stores nothing."""
    role = Role.API_CLIENT if path.startswith("/api/v1/feed/") else Role.OWNER
    client = client_for(make_member(role))
    client.raise_request_exception = False
    before = _feed_state()
    response = getattr(client, method)(path, body, format="json") if body else client.get(path)
    error = _error(response)
    report("hostile_edge", path=path, status=response.status_code, code=error.get("code"))
    assert response.status_code in (200, 400), response.content[:300]
    if body is not None:  # a feed batch: an amount or a date out of range is refused
        assert response.status_code == 400, response.content[:300]
    if response.status_code == 400:
        assert error["code"] in ("invalid", "invalid_character")
        assert error["message"]
        assert _feed_state() == before


# --- text that looks like SQL or HTML --------------------------------------------------------

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
    assert incident.impact == SQL_HTML
    browser = Client()
    browser.force_login(make_member(Role.OWNER))
    pages = 0
    for url in ("/admin/incidents/incident/", f"/admin/incidents/incident/{incident.pk}/change/"):
        page = browser.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "<script>alert(" not in html, url
        assert "&lt;script&gt;alert(" in html, url
        pages += 1
    # The feed keeps SQL text verbatim too.
    feed = client_for(make_member(Role.API_CLIENT))
    response = feed.post(
        "/api/v1/feed/ledger-entries/",
        [
            {
                **_ENTRY,
                "entry_id": "E-'; DELETE FROM ledger_audit_ledgerentry; --",
                "deal_id": "D-<b>1</b>",
                "idempotency_key": "k' OR '1'='1",
            }
        ],
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 1, "unchanged": 0}
    entry = LedgerEntry.objects.get()
    assert entry.entry_id == "E-'; DELETE FROM ledger_audit_ledgerentry; --"
    assert entry.idempotency_key == "k' OR '1'='1"
    assert entry.deal_id == "D-<b>1</b>"
    page = browser.get("/admin/ledger_audit/ledgerentry/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "D-<b>1</b>" not in html
    assert "D-&lt;b&gt;1&lt;/b&gt;" in html
    pages += 1
    report("sql_html_verbatim", fields=4, pages=pages)


# --- one bad item ----------------------------------------------------------------------------


def test_a_batch_with_one_bad_item_stores_nothing(feed: APIClient) -> None:
    good = {**_ENTRY, "entry_id": "E-2", "idempotency_key": "k-2"}
    for position, (bad, field_name) in enumerate(
        [({**_ENTRY, "amount": "ten"}, "amount"), ({**_ENTRY, "kind": 7}, "kind")]
    ):
        batch = [good, bad] if position == 0 else [bad, good]
        response = feed.post("/api/v1/feed/ledger-entries/", batch, format="json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert error["message"] == (
            f"1 item(s) are invalid (first: item {1 - position}); nothing was stored."
        )
        assert list(error["fields"]["items"]) == [str(1 - position)]
        assert list(error["fields"]["items"][str(1 - position)]) == [field_name]
        assert LedgerEntry.objects.count() == 0
        assert Deal.objects.count() == 0
        assert DetectionWork.objects.count() == 0
    # The good item alone is stored, exactly as sent.
    response = feed.post("/api/v1/feed/ledger-entries/", [good], format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": 1, "unchanged": 0}
    stored = LedgerEntry.objects.values(
        "entry_id", "deal_id", "idempotency_key", "kind", "amount", "currency", "created_at"
    ).get()
    assert stored == {
        **good,
        "amount": Decimal("10.00"),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }


# --- property tests with known answers: good batches, and good batches with poisoned items ----
#
# Every generated item's fixed fields are a function of its id (so a repeat across examples is
# the same item, or an update of an upsert's mutable fields), which makes the expected answer of
# each batch computable: which ids are new, which are unchanged, which rows must exist after.

BASE = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7)))


def _stamp(moment: datetime, zone_index: int) -> str:
    """The same instant written in one of a few zones (Z, +05:30...): all must store the same."""
    text = moment.astimezone(ZONES[zone_index % len(ZONES)]).isoformat()
    return text.replace("+00:00", "Z") if zone_index % 2 == 0 else text


@dataclass(frozen=True)
class Kind:
    """How to build, poison and look up the items of one feed."""

    path: str
    model: Any
    id_field: str  # the stored identity (deal events: deal, state, occurred_at)
    # n, draw -> (the item sent, its stored identity, the stored fields it must leave behind)
    build: Callable[[int, Any], tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]]
    compared: tuple[str, ...]
    poisons: list[tuple[str, Any]] = field(default_factory=list)


def _event(n: int, draw: Any) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    at = BASE + timedelta(minutes=n)
    deal, state = f"PD-{n % 7}", ("FUNDED", "INSPECTION", "SETTLED_2")[n % 3]
    item = {
        "deal_id": deal,
        "state": state,
        "occurred_at": _stamp(at, draw(st.integers(0, 5))),
        "template_version": "v1",
    }
    return item, (deal, state, at), {"template_version": "v1"}


def _entry(n: int, draw: Any) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    pad = draw(st.sampled_from(["", " ", "  "]))
    expected: dict[str, Any] = {
        "deal_id": f"PD-{n % 7}",
        "idempotency_key": f"pk-{n}",
        "kind": sorted(EntryKind.values)[n % 3],
        "amount": Decimal(f"{n}.{n % 100:02d}"),
        "currency": ("EUR", "USD")[n % 2],
        "created_at": BASE + timedelta(seconds=n),
    }
    item = {
        **expected,
        "entry_id": f"{pad}PE-{n}{pad}",  # surrounding blanks are not part of an id
        "amount": str(expected["amount"]),
        "created_at": _stamp(expected["created_at"], n),
    }
    return item, (f"PE-{n}",), expected


def _timer(n: int, draw: Any) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    expected = {
        "deal_id": f"PD-{n % 7}",
        "kind": "inspection",
        "expires_at": BASE + timedelta(hours=draw(st.integers(0, 3))),
        "status": draw(st.sampled_from(sorted(TimerStatus.values))),
    }
    item = {**expected, "timer_id": f"PT-{n}", "expires_at": _stamp(expected["expires_at"], n)}
    return item, (f"PT-{n}",), expected


def _dispute(n: int, draw: Any) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
    opened, ttl = BASE + timedelta(hours=n), 86_400 * (1 + n % 3)
    expected = {
        "deal_id": f"PD-{n % 7}",
        "opened_at": opened,
        "ttl_seconds": ttl,
        "expires_at": opened + timedelta(seconds=ttl),
        "status": draw(st.sampled_from(sorted(DisputeStatus.values))),
        "resolution": draw(st.sampled_from(["", "refunded", "<b>x</b> '; --"])),
    }
    item = {**expected, "dispute_id": f"PX-{n}", "opened_at": _stamp(opened, n)}
    del item["expires_at"]  # the feed derives it from the ttl
    return item, (f"PX-{n}",), expected


NOT_AN_OBJECT = "non_field_errors"
_COMMON_POISONS: list[tuple[str, Any]] = [
    ("deal_id", ""),
    ("deal_id", "x" * (ID_LENGTH + 1)),
    ("deal_id", 42),
    ("deal_id", "tab\tinside"),
    ("deal_id", None),  # missing
    (NOT_AN_OBJECT, 7),
    (NOT_AN_OBJECT, "an item"),
    (NOT_AN_OBJECT, []),
]
_BAD_TIMES = ["2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "yesterday", "", 1767225600]
KINDS: dict[str, Kind] = {
    "deals": Kind(
        "/api/v1/feed/deals/",
        DealEvent,
        "deal_id",
        _event,
        ("template_version",),
        poisons=[
            ("state", "funded"),
            ("state", "S" * 33),
            ("template_version", "v" * 65),
            *[("occurred_at", t) for t in _BAD_TIMES],
        ],
    ),
    "ledger-entries": Kind(
        "/api/v1/feed/ledger-entries/",
        LedgerEntry,
        "entry_id",
        _entry,
        ("deal_id", "idempotency_key", "kind", "amount", "currency", "created_at"),
        poisons=[
            ("kind", "bogus"),
            ("amount", "ten"),
            ("amount", 10),
            ("amount", "0.123456789"),
            ("amount", "NaN"),
            ("amount", "-Infinity"),
            ("amount", "1" * 13),
            ("currency", "eur"),
            ("idempotency_key", None),
            *[("created_at", t) for t in _BAD_TIMES],
        ],
    ),
    "timers": Kind(
        "/api/v1/feed/timers/",
        Timer,
        "timer_id",
        _timer,
        ("deal_id", "kind", "expires_at", "status"),
        poisons=[("status", "done"), ("kind", ""), *[("expires_at", t) for t in _BAD_TIMES]],
    ),
    "disputes": Kind(
        "/api/v1/feed/disputes/",
        Dispute,
        "dispute_id",
        _dispute,
        ("deal_id", "opened_at", "ttl_seconds", "expires_at", "status", "resolution"),
        poisons=[
            ("status", "closed"),
            ("ttl_seconds", 0),
            ("ttl_seconds", -5),
            ("ttl_seconds", True),
            ("ttl_seconds", 10**9 + 1),
            ("resolution", "r" * 256),
            ("ttl_seconds", None),  # neither a ttl nor expires_at
            ("expires_at", "2026-01-01T00:00:01Z"),  # disagrees with the ttl
            *[("opened_at", t) for t in _BAD_TIMES],
        ],
    ),
}
_NON_FIELD = {("disputes", "ttl_seconds", None), ("disputes", "expires_at", "2026-01-01T00:00:01Z")}


def _poisoned(kind: str, item: dict[str, Any], name: str, value: Any) -> tuple[Any, str]:
    """The item with one bad value, and the key its error must be filed under."""
    if name == NOT_AN_OBJECT:
        return value, NOT_AN_OBJECT
    bad = dict(item)
    if value is None:
        bad.pop(name)
    else:
        bad[name] = value
    return bad, NOT_AN_OBJECT if (kind, name, value) in _NON_FIELD else name


def _stored(kind: Kind, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored rows of these identities, as {identity: the compared fields}."""
    if kind.model is DealEvent:
        rows = DealEvent.objects.filter(deal_id__in={k[0] for k in keys}).values(
            "deal_id", "state", "occurred_at", *kind.compared
        )
        found = {(r.pop("deal_id"), r.pop("state"), r.pop("occurred_at")): r for r in rows}
        return {k: found[k] for k in keys if k in found}
    rows = kind.model.objects.filter(**{f"{kind.id_field}__in": [k[0] for k in keys]})
    return {(r.pop(kind.id_field),): r for r in rows.values(kind.id_field, *kind.compared)}


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    stored_rows: int = 0
    unchanged_rows: int = 0
    refused_as_expected: int = 0
    half_batches: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "accepted": self.statuses[200],
            "refused": sum(n for s, n in self.statuses.items() if 400 <= s < 500),
            "server_errors": sum(n for s, n in self.statuses.items() if s >= 500),
            "rows_stored": self.stored_rows,
            "rows_unchanged": self.unchanged_rows,
            "refused_as_expected": self.refused_as_expected,
            "half_batches": self.half_batches,
        }


EXAMPLES = 150


def test_good_batches_store_exactly_their_rows_and_poisoned_ones_nothing(feed: APIClient) -> None:
    tally = Tally()

    @hsettings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_batch(data: Any) -> None:
        name = data.draw(st.sampled_from(FEEDS), label="feed")
        kind = KINDS[name]
        numbers = data.draw(st.lists(st.integers(0, 29), min_size=1, max_size=12), label="ids")
        built = [kind.build(n, data.draw) for n in numbers]
        items: list[Any] = [item for item, _k, _e in built]
        poison_at = data.draw(
            st.sets(st.integers(0, len(items) - 1), max_size=min(3, len(items))), label="poison"
        )
        expected_errors: dict[str, str] = {}
        for index in sorted(poison_at):
            bad_name, bad_value = data.draw(st.sampled_from(_COMMON_POISONS + kind.poisons))
            items[index], expected_errors[str(index)] = _poisoned(
                name, items[index], bad_name, bad_value
            )
        as_object = data.draw(st.booleans(), label="as {items: [...]}")
        # The answer this batch must get, from what is stored before it.
        # A repeated id within a batch: the last one wins.
        last = {identity: expect for _item, identity, expect in built}
        before_rows = _stored(kind, list(last))
        new = [k for k in last if k not in before_rows]
        changed = [k for k in last if k in before_rows and before_rows[k] != last[k]]
        before = _feed_state()

        response = feed.post(kind.path, {"items": items} if as_object else items, format="json")
        tally.cases += 1
        tally.statuses[response.status_code] += 1
        assert response.status_code < 500, response.content[:500]
        if expected_errors:
            assert response.status_code == 400, (items, response.content[:500])
            error = response.json()["error"]
            assert error["code"] == "invalid"
            assert error["message"].endswith("nothing was stored.")
            got = {i: sorted(e) for i, e in error["fields"]["items"].items()}
            assert got == {i: [e] for i, e in expected_errors.items()}, (items, got)
            if _feed_state() != before:
                tally.half_batches += 1
            assert _feed_state() == before, "a refused batch stored nothing"
            tally.refused_as_expected += 1
            return
        assert response.status_code == 200, (items, response.content[:500])
        stored_now = _stored(kind, list(last))
        missing = [k for k in last if stored_now.get(k) != last[k]]
        if missing:
            tally.half_batches += 1
        assert not missing, (items, missing)
        assert response.json() == {
            "stored": len(new) + len(changed),
            "unchanged": len(last) - len(new) - len(changed),
        }
        counts = [count for count, _digest in _feed_state()]
        table = FEED_TABLES.index(kind.model)
        assert counts[table] - before[table][0] == len(new)
        tally.stored_rows += len(new) + len(changed)
        tally.unchanged_rows += len(last) - len(new) - len(changed)

    try:
        one_batch()
    finally:
        report("feed_known_answers", **tally.figures())
    assert tally.cases >= EXAMPLES
    # The generator reaches every kind of answer (else the assertions above checked little).
    assert tally.refused_as_expected > 0
    assert tally.stored_rows > 0
    assert tally.unchanged_rows > 0


# --- property test without known answers: random and malformed batches ---------------------

_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "D-1", "D-2", "x" * 200, "\x00", "'; --", "<b>"]),
)
_time = st.one_of(
    st.sampled_from(
        ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z", "yesterday", ""]
    ),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
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
ID_FIELD = {"ledger-entries": "entry_id", "timers": "timer_id", "disputes": "dispute_id"}


@st.composite
def _good_item(draw: Any, kind: str) -> dict[str, Any]:
    item, _identity, _expected = KINDS[kind].build(draw(st.integers(100, 129)), draw)
    return item


def _item(kind: str) -> st.SearchStrategy[Any]:
    fields = ITEM[kind]
    return st.one_of(
        st.fixed_dictionaries({}, optional=fields),  # some fields, maybe all
        st.fixed_dictionaries(fields),  # all fields
        _scalar,  # not an object at all
        st.lists(_scalar, max_size=3),
        _good_item(kind),  # so that bad items sit next to good ones, and some batches pass
        _good_item(kind),
    )


def test_random_batches_store_all_or_nothing_and_never_500(feed: APIClient) -> None:
    tally = Tally()

    @hsettings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_batch(data: Any) -> None:
        kind = data.draw(st.sampled_from(FEEDS))
        items = data.draw(st.lists(_item(kind), max_size=8))
        as_object = data.draw(st.booleans())
        before = _feed_state()
        model = KINDS[kind].model
        response = feed.post(
            f"/api/v1/feed/{kind}/", {"items": items} if as_object else items, format="json"
        )
        tally.cases += 1
        tally.statuses[response.status_code] += 1
        assert response.status_code < 500, response.content[:500]
        after = _feed_state()
        if response.status_code != 200:
            assert response.status_code in (400, 422), response.content[:500]
            error = response.json()["error"]
            assert error["code"] in ("invalid", "malformed_request", "changed_items")
            assert error["message"]
            if after != before:
                tally.half_batches += 1
            assert after == before, "a refused batch stored nothing"
            tally.refused_as_expected += 1
            return
        # Accepted: every item was an object, and every one of them is stored now.
        assert all(isinstance(item, dict) for item in items), items
        result = response.json()
        if kind in ID_FIELD:
            ids = {item[ID_FIELD[kind]].strip() for item in items}
            stored = set(
                model.objects.filter(**{f"{ID_FIELD[kind]}__in": ids}).values_list(
                    ID_FIELD[kind], flat=True
                )
            )
            if stored != ids:
                tally.half_batches += 1
            assert stored == ids, (items, ids - stored)
            assert result["stored"] + result["unchanged"] == len(ids)
        deals = {item["deal_id"].strip() for item in items}
        assert (
            set(Deal.objects.filter(deal_id__in=deals).values_list("deal_id", flat=True)) == deals
        )
        table = FEED_TABLES.index(model)
        if kind in ("deals", "ledger-entries"):  # append-only feeds: stored = rows added
            assert after[table][0] - before[table][0] == result["stored"]
        tally.stored_rows += result["stored"]
        tally.unchanged_rows += result["unchanged"]

    try:
        one_batch()
    finally:
        report("feed_random_batches", **tally.figures())
    assert tally.cases >= EXAMPLES
    assert tally.statuses[200] > 0
    assert tally.refused_as_expected > 0


# --- hostile query strings on every GET route of the API -------------------------------------
#
# The routes come from the URL resolver (as the permission-map test walks it) and each route's
# query parameters from the OpenAPI schema, plus the paging and period names any list might
# read; every parameter gets every value of a fixed corpus (written as it travels: percent-
# encoded or raw garbage), then repeated, then the corpus's names in random combinations.

# Names every route is also tried with, documented for it or not.
_COMMON_QUERY_NAMES = ("limit", "offset", "from", "to", "status")
# (what it is, the value as it appears in the query string)
_QUERY_VALUES: list[tuple[str, str]] = [
    ("NUL", "%00"),
    ("NUL inside", "open%00x"),
    ("a percent sign alone", "%"),
    ("a bad escape", "%zz"),
    ("overlong UTF-8", "%C0%AF"),
    ("invalid UTF-8", "%FF%FE"),
    ("a lone surrogate", "%ED%A0%80"),
    ("CR LF", "%0D%0ASet-Cookie:%20x=1"),
    ("empty", ""),
    ("a space", "+"),
    ("a huge integer", "9" * 40),
    ("minus one", "-1"),
    ("a huge negative", "-" + "9" * 30),
    ("zero", "0"),
    ("a fraction", "1.5"),
    ("a huge exponent", "1e999999999"),
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("year 1", "0001-01-01"),
    ("year 9999", "9999-12-31"),
    ("year 0", "0000-01-01"),
    ("year 10000", "10000-01-01"),
    ("month 13", "2026-13-01"),
    ("the last instant, +14:00", "9999-12-31T23:59:59.999999%2B14:00"),
    ("the first instant, -14:00", "0001-01-01T00:00:00-14:00"),
    ("an unknown choice", "bogus"),
    ("a choice in capitals", "OPEN"),
    ("unicode", "%C3%BCn%C3%AF%F0%9F%9A%A8"),
    ("a bidi override", "%E2%80%AE"),
    ("10,000 characters", "x" * 10_000),
    ("SQL", "%27%20OR%201%3D1%20--"),
    ("HTML", "%3Cscript%3E"),
    ("brackets", "[]"),
    ("true", "true"),
    ("null", "null"),
]
# Whole query strings whose names, not values, are hostile.
_QUERY_STRINGS: list[tuple[str, str]] = [
    ("a NUL name", "%00=1"),
    ("a bad escape as the name", "%zz"),
    ("only separators", "&&&=&"),
    ("an empty name", "=1"),
    ("a bracketed name", "a[b]=1&status[]=open"),
    ("500 parameters", "&".join(f"p{n}={n}" for n in range(500))),
    ("a 20,000-character name", "n" * 20_000 + "=1"),
]


def _get_routes() -> list[tuple[str, str]]:
    """(path template as the schema names it, path with sample ids) of every GET route under
    /api/v1/ that the resolver holds; a route with an id is sent one that exists."""
    found: list[tuple[str, str]] = []
    for route, pattern in api_routes():
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if not (actions and "get" in actions) and not (not actions and hasattr(cls, "get")):
            continue
        found.append((route, route.replace("^", "").replace("$", "")))
    return found


def _query_names() -> dict[str, list[str]]:
    """The schema's query parameter names per path ("/api/v1/incidents/{number}/")."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: [p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "query"]
        for path, ops in schema["paths"].items()
        if "get" in ops
    }


_GROUP = r"(\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>)"


def _concrete(route: str, ids: dict[str, str]) -> tuple[str, str] | None:
    """(schema path, request path) of a resolver route, its ids filled by the collection they
    follow ("change-requests:pk"); None when a route needs an id nothing stored has."""
    template, path = "/" + route, "/" + route
    for match in re.finditer(_GROUP, route):
        name = match.group(2) or match.group(3)
        collection = route[: match.start()].strip("/").rsplit("/", 1)[-1]
        value = ids.get(f"{collection}:{name}")
        if value is None:
            return None
        schema_name = "id" if name == "pk" else name
        template = template.replace(match.group(1), "{" + schema_name + "}", 1)
        path = path.replace(match.group(1), value, 1)
    return template, path


@dataclass
class QueryTally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def judge(self, url: str, response: Any) -> None:
        self.cases += 1
        self.statuses[response.status_code] += 1
        status = response.status_code
        if status >= 500:
            self.wrong.append(f"{status} {url[:200]}: {response.content[:200]!r}")
        elif 400 <= status < 500:
            error = _error(response)
            if not (error.get("code") and error.get("message")):
                self.wrong.append(f"{status} without a JSON error: {url[:200]}")
            if status == 429:
                self.wrong.append(f"throttled, the run proves nothing: {url[:200]}")
        elif status not in (200, 304):
            self.wrong.append(f"{status} {url[:200]}")

    def figures(self) -> dict[str, int]:
        return {
            "cases": self.cases,
            "server_errors": sum(n for s, n in self.statuses.items() if s >= 500),
            "refused": sum(n for s, n in self.statuses.items() if 400 <= s < 500),
            "ok": self.statuses[200] + self.statuses[304],
            "wrong": len(self.wrong),
        }


@pytest.fixture
def query_targets(
    seeded: Any, make_member: MakeMember
) -> tuple[Any, list[tuple[str, str, list[str]]]]:
    """An owner (who may read every list), stored rows for the lists and details to serialise,
    and every GET route as (schema path, request path, its query names)."""
    owner = make_member(Role.OWNER)
    operator = make_member(Role.OPERATOR)
    incident = open_incident(actor=operator, title="Query fuzz target")
    pilot_disable(actor=operator, reason="query fuzz", incident=incident)
    change_request_create(actor=operator, action="enable", reason="query fuzz")
    api_key_create(name="query fuzz", user=owner, created_by=owner)
    ids = {
        "incidents:number": str(incident.number),
        "revisions:number": "2",  # r1 (the install's) and r2 (the disable)
        "change-requests:pk": str(ChangeRequest.objects.values_list("pk", flat=True)[0]),
        "api-keys:pk": str(ApiKey.objects.values_list("pk", flat=True)[0]),
    }
    names = _query_names()
    targets = []
    for _route, route in _get_routes():
        concrete = _concrete(route, ids)
        if concrete is None:
            # Only the exports' and webhooks' details lack a stored row here (an export needs a
            # worker, a webhook a receiver); a new route with an id must get a sample above.
            assert route.startswith(("api/v1/exports/", "api/v1/webhooks/")), route
            continue
        template, path = concrete
        documented = names.get(template, [])
        targets.append((template, path, list(dict.fromkeys([*documented, *_COMMON_QUERY_NAMES]))))
    return owner, targets


def test_hostile_query_strings_never_give_a_5xx(
    query_targets: tuple[Any, list[tuple[str, str, list[str]]]], client_for: ClientFor
) -> None:
    owner, targets = query_targets
    tally = QueryTally()
    bare: dict[str, int] = {}
    for _template, path, names in targets:
        client = client_for(owner)  # a key per route: the per-key rate limit never interferes
        client.raise_request_exception = False
        bare[path] = client.get(path).status_code  # the route itself answers: the path is right
        queries = [f"{name}={value}" for name in names for _what, value in _QUERY_VALUES]
        queries += [f"{name}=1&{name}=bogus&{name}=%00" for name in names]  # repeated
        queries += [query for _what, query in _QUERY_STRINGS]
        for query in queries:
            url = f"{path}?{query}"
            tally.judge(url, client.get(url))
    report("query_fuzz", routes=len(targets), **tally.figures())
    assert len(targets) >= 19, [t[1] for t in targets]
    # Only the period log needs parameters (from, to); every other route serves its page bare.
    assert {p: s for p, s in bare.items() if s != 200} == {"/api/v1/incidents/log.md": 400}
    assert not tally.wrong, "\n".join(tally.wrong[:30])
    assert tally.figures()["ok"] > 0
    assert tally.figures()["refused"] > 0


def test_random_query_combinations_never_give_a_5xx(
    query_targets: tuple[Any, list[tuple[str, str, list[str]]]], client_for: ClientFor
) -> None:
    owner, targets = query_targets
    client = client_for(owner)
    client.raise_request_exception = False
    tally = QueryTally()

    @hsettings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_query(data: Any) -> None:
        _template, path, names = data.draw(st.sampled_from(targets), label="route")
        pairs = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from(names),
                    st.one_of(
                        st.sampled_from([v for _w, v in _QUERY_VALUES if len(v) < 100]),
                        st.text(max_size=12).map(lambda t: urllib.parse.quote(t, safe="")),
                    ),
                ),
                min_size=1,
                max_size=5,
            ),
            label="params",
        )
        url = f"{path}?" + "&".join(f"{n}={v}" for n, v in pairs)
        tally.judge(url, client.get(url))

    try:
        one_query()
    finally:
        report("query_fuzz_random", **tally.figures())
    assert tally.cases >= EXAMPLES * 2
    assert not tally.wrong, "\n".join(tally.wrong[:30])

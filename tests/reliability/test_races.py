"""Races between real processes (gunicorn workers, client processes), on PostgreSQL + Redis."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core.roles import Role
from core.services import api_key_create
from ledger_audit.models import DealEvent, LedgerEntry, Timer
from pilot.enums import ChangeStatus
from pilot.models import ChangeRequest, ConfigRevision
from pilot.services import pilot_seed_demo
from tests.conftest import MakeMember
from tests.procs import ROOT, Gunicorn, database_url, http, project_env, redis_url
from tests.reliability.conftest import report

CLIENTS = 8


def run_clients(scenario: str, configs: list[dict[str, Any]], timeout: float = 120) -> list[dict]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.loadclient", scenario, json.dumps(cfg)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cfg in configs
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            assert process.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


def _batches() -> list[dict[str, Any]]:
    entries = [
        {
            "entry_id": f"E-{i}",
            "deal_id": f"D-{i % 10}",
            "idempotency_key": f"k-{i}",
            "kind": "hold",
            "amount": "10.00",
            "currency": "EUR",
            "created_at": "2026-01-01T00:00:00Z",
        }
        for i in range(40)
    ]
    events = [
        {"deal_id": f"D-{i}", "state": "FUNDED", "occurred_at": f"2026-01-01T00:00:{i:02d}Z"}
        for i in range(20)
    ]
    timers = [
        {
            "timer_id": f"T-{i}",
            "deal_id": f"D-{i}",
            "kind": "inspection",
            "expires_at": "2026-02-01T00:00:00Z",
            "status": "running",
        }
        for i in range(20)
    ]
    return [
        {
            "name": "entries",
            "path": "/api/v1/feed/ledger-entries/",
            "items": entries,
            "keyed": True,
        },
        {"name": "events", "path": "/api/v1/feed/deals/", "items": events, "keyed": False},
        {"name": "timers", "path": "/api/v1/feed/timers/", "items": timers, "keyed": True},
        {
            "name": "entries",
            "path": "/api/v1/feed/ledger-entries/",
            "items": entries,
            "keyed": False,
        },
    ]


def _identity(name: str, item: dict[str, Any]) -> Any:
    if name == "events":
        return (item["deal_id"], item["state"], item["occurred_at"])
    return item["entry_id" if name == "entries" else "timer_id"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_eight_clients_repeat_the_same_feed_batches(make_member: MakeMember, tmp_path: Path):
    key = api_key_create(name="platform", user=make_member(Role.API_CLIENT)).raw
    server = Gunicorn(project_env(database_url(), redis_url()), tmp_path / "gunicorn.log", 4)
    try:
        batches = _batches()
        config = {
            "base": server.url(""),
            "key": key,
            "repeats": 100,
            "keys_per_batch": 10,
            "batches": batches,
        }
        results = run_clients("feed", [config] * CLIENTS, timeout=180)
    finally:
        server.stop()
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r["statuses"])
    requests = sum(r["requests"] for r in results)
    server_errors = sum(v for k, v in statuses.items() if k.startswith("5"))
    assert server_errors == 0, statuses
    assert set(statuses) <= {"200", "409"}, statuses  # 409 only "in progress", then retried to 200
    # Each keyed request: one execution per key, every other response its exact replay.
    by_key: dict[str, list[tuple[bool, str]]] = {}
    for r in results:
        for k, seen in r["keyed"].items():
            by_key.setdefault(k, []).extend(seen)
    assert len(by_key) == 20
    for k, seen in by_key.items():
        assert len(seen) == CLIENTS * 10, k
        executed = [body for replayed, body in seen if not replayed]
        assert len(executed) == 1, (k, len(executed))
        assert {body for _r, body in seen} == {executed[0]}, k
    # Each entry stored once: the rows sent, no row missing, none twice.
    sent: dict[str, set[Any]] = {}
    for batch in batches:
        sent.setdefault(batch["name"], set()).update(
            _identity(batch["name"], item) for item in batch["items"]
        )
    stored: dict[str, list[Any]] = {
        "entries": list(LedgerEntry.objects.values_list("entry_id", flat=True)),
        "events": [
            (d, s, t.isoformat().replace("+00:00", "Z"))
            for d, s, t in DealEvent.objects.values_list("deal_id", "state", "occurred_at")
        ],
        "timers": list(Timer.objects.values_list("timer_id", flat=True)),
    }
    lost = sum(len(sent[name] - set(rows)) for name, rows in stored.items())
    duplicates = sum(len(rows) - len(set(rows)) for rows in stored.values())
    unexpected = sum(len(set(rows) - sent[name]) for name, rows in stored.items())
    report(
        "feed_race",
        clients=CLIENTS,
        requests=requests,
        retries_409=sum(r["retries"] for r in results),
        server_errors=server_errors,
        rows_expected=sum(len(ids) for ids in sent.values()),
        lost=lost,
        duplicates=duplicates,
        unexpected=unexpected,
    )
    assert (lost, duplicates, unexpected) == (0, 0, 0)
    assert (LedgerEntry.objects.count(), DealEvent.objects.count(), Timer.objects.count()) == (
        40,
        20,
        20,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_eight_clients_race_kill_switch_change_requests_and_approvals(
    make_member: MakeMember, tmp_path: Path
):
    pilot_seed_demo()
    keys = {
        role: api_key_create(name=role, user=make_member(Role(role))).raw
        for role in ("operator", "engineer", "coordinator")
    }
    server = Gunicorn(project_env(database_url(), redis_url()), tmp_path / "gunicorn.log", 4)
    try:
        configs = [
            {
                "base": server.url(""),
                "keys": keys,
                "seed": i,
                "rounds": 60,
                "flags": ["hotfix_timer_display", "hotfix_dispute_resolution"],
            }
            for i in range(CLIENTS)
        ]
        results = run_clients("pilot", configs, timeout=180)
        final = http(
            "GET",
            server.url("/api/v1/pilot/config/"),
            None,
            {"Authorization": f"Bearer {keys['operator']}"},
        )
    finally:
        server.stop()
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r["statuses"])
    server_errors = sum(n for k, n in statuses.items() if " 5" in k)
    assert server_errors == 0, statuses
    # One gap-free chain.
    chain = list(ConfigRevision.objects.order_by("number"))
    assert [r.number for r in chain] == list(range(1, len(chain) + 1))
    assert [r.parent_id for r in chain] == [None, *[r.pk for r in chain[:-1]]]
    # The final config is the last applied change.
    head = chain[-1]
    assert final[0] == 200
    config = json.loads(final[2])
    assert config["revision"] == head.number
    assert (config["enabled"], config["state"], config["template_version"], config["flags"]) == (
        head.enabled,
        head.state,
        head.template_version,
        head.flags,
    )
    # No approval applied twice, no stale request applied.
    approvals = [a for r in results for a in r["approvals"]]
    applied_ok = Counter(a["id"] for a in approvals if a["status"] == 200)
    applied_twice = sum(n - 1 for n in applied_ok.values())
    assert applied_twice == 0, applied_ok
    applied = ChangeRequest.objects.filter(status=ChangeStatus.APPLIED)
    assert set(applied_ok) == set(applied.values_list("pk", flat=True))
    for request in applied.select_related("applied_revision"):
        revision = request.applied_revision
        assert revision.parent_id == request.base_revision_id, request.pk  # based on the head
    stale = ChangeRequest.objects.filter(status=ChangeStatus.STALE)
    assert not ConfigRevision.objects.filter(change_request__in=stale).exists()
    assert all(
        a["code"] in (None, "stale", "not_pending", "no_change", "cancelled") for a in approvals
    ), Counter(a["code"] for a in approvals)
    assert applied.count() >= 3, applied.count()
    assert stale.count() >= 1, stale.count()
    report(
        "pilot_race",
        clients=CLIENTS,
        requests=sum(r["requests"] for r in results),
        revisions=len(chain),
        approvals_applied=applied.count(),
        stale_refused=stale.count(),
        server_errors=server_errors,
        applied_twice=applied_twice,
    )

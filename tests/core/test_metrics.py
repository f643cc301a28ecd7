"""/metrics through prometheus-client: event counters summed over processes that only go up,
gauges read at scrape time, HTTP metrics by route, and a real scrape that ``promtool check
metrics`` (Debian's ``prometheus``, installed by scripts/ensure-prometheus.sh) accepts."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.errors import DomainError
from core.services import api_key_create
from incidents.enums import Severity
from incidents.models import Escalation, Incident, Notification, SweepHeartbeat
from incidents.services import incident_escalate, incident_resolve
from incidents.services.notify import notification_deliver
from ledger_audit import feed
from ledger_audit.detectors import Scope
from ledger_audit.enums import Detector
from ledger_audit.models import Finding
from ledger_audit.services import detection_run
from pilot.services import pilot_disable
from tests.incidents.factories import open_incident, roster_member
from tests.ledger_audit.factories import entry

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _text(settings: Any) -> str:
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    response = Client(REMOTE_ADDR="127.0.0.1").get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def _samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _promtool() -> str:
    found = shutil.which("promtool") or (
        "/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None
    )
    assert found, (
        "promtool is missing: run 'sudo apt-get install -y --no-install-recommends prometheus'"
    )
    return found


def _activity(operator, engineer) -> None:
    """Real work of every kind /metrics counts."""
    roster_member(operator, 1)  # nobody on call: the whole level is notified (a roster gap)
    incident = open_incident(severity=Severity.SEV1, actor=operator)
    for notification in Notification.objects.filter(incident=incident):
        assert notification_deliver(notification_id=notification.pk).status == "sent"
    incident_escalate(incident=incident, actor=engineer, criterion="core_change_required", level=3)
    feed.feed_deal_events_ingest(
        items=[{"deal_id": "D-9", "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}]
    )
    with pytest.raises(DomainError):
        feed.feed_deal_events_ingest(items=[{"deal_id": "D-9", "state": "not a state"}])
    pilot_disable(actor=operator, reason="duplicates", incident=incident)
    feed.feed_ledger_entries_ingest(
        items=[entry("D-9", key="K-9", entry_id="E-91"), entry("D-8", key="K-9", entry_id="E-92")]
    )
    detection_run(scope=Scope.full())  # one duplicate idempotency key: one finding


def test_a_scrape_after_real_activity_counts_it_and_passes_promtool(
    seeded, operator, engineer, api_user, settings, django_capture_on_commit_callbacks
):
    before = _samples(_text(settings))
    with django_capture_on_commit_callbacks(execute=True):
        _activity(operator, engineer)
    key = api_key_create(name="reader", user=api_user).raw
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert reader.get("/api/v1/pilot/config/").status_code == 200
    assert Client().get("/no/such/page/12345").status_code == 404
    text = _text(settings)
    after = _samples(text)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("pcp_notifications_total", channel="email", outcome="sent") == 1
    assert grew("pcp_incident_escalations_total", to_level="3", automatic="false") == 1
    assert grew("pcp_feed_items_total", kind="deal_events", result="stored") == 1
    assert grew("pcp_feed_items_total", kind="deal_events", result="refused") == 1
    assert grew("pcp_feed_items_total", kind="ledger_entries", result="stored") == 2
    assert grew("pcp_findings_opened_total", detector=str(Detector.DUPLICATE_KEY)) == 1
    assert grew("pcp_pilot_config_changes_total", kind="disable", state="disabled") == 1
    assert grew("pcp_config_reads_total", route="api:pilot-config", answer="view") == 1
    assert _value(after, "pcp_pilot_state", state="disabled") == 1
    assert _value(after, "pcp_pilot_enabled") == 0
    assert _value(after, "pcp_incidents_open", severity="SEV1", level="3") == 1
    # HTTP metrics by route name — the raw path (its number) is never a label.
    scrape = {"route": "metrics", "method": "GET", "status": "2xx"}
    assert grew("pcp_http_requests_total", **scrape) == 1  # the first scrape
    assert grew("pcp_http_request_duration_seconds_count", **scrape) == 1
    assert grew("pcp_http_requests_total", route="unmatched", method="GET", status="4xx") == 1
    assert "12345" not in text
    assert "pcp_audit_chain_head_seq 0.0\n" in text  # no checkpoint published yet

    checked = subprocess.run(
        [_promtool(), "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    print(
        "promtool check metrics:",
        checked.returncode,
        checked.stdout.strip(),
        checked.stderr.strip(),
    )
    assert (checked.returncode, checked.stdout.strip(), checked.stderr.strip()) == (0, "", "")


def test_counters_never_fall_when_the_rows_they_counted_are_resolved_or_deleted(
    seeded, operator, engineer, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _activity(operator, engineer)
    before = _samples(_text(settings))
    counters = {k: v for k, v in before.items() if k[0].endswith("_total") and v > 0}
    assert (
        "pcp_notifications_total",
        frozenset({("channel", "email"), ("outcome", "sent")}),
    ) in counters

    # The one a person escalated (one act may move it through several levels).
    (incident_id,) = set(
        Escalation.objects.filter(actor=engineer).values_list("incident", flat=True)
    )
    incident = Incident.objects.get(pk=incident_id)
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=engineer)
    Notification.objects.all().delete()
    Escalation.objects.all().delete()
    Finding.objects.all().delete()
    after = _samples(_text(settings))

    fell = {k: (v, after.get(k, 0.0)) for k, v in counters.items() if after.get(k, 0.0) < v}
    print("counters checked:", len(counters), "fell:", fell)
    assert fell == {}
    # The gauges did move: the scrape read the new state.
    assert _value(before, "pcp_incidents_open", severity="SEV1", level="3") == 1
    assert _value(after, "pcp_incidents_open", severity="SEV1", level="3") == 0


def test_events_counted_in_other_processes_are_in_the_sum(settings):
    """A Celery worker or another gunicorn worker counts into the same place: a separate
    process's event counter and its hot-path (buffered, flushed at exit) counts show here."""
    label = f"test-{os.getpid()}"
    before = _samples(_text(settings))
    code = (
        "import django; django.setup()\n"
        "from pilot.metrics import CONFIG_CHANGES\n"
        "from core.http_metrics import HTTP_REQUESTS\n"
        f"CONFIG_CHANGES.count(kind={label!r}, state='paused')\n"
        f"for _ in range(3):\n"
        f"    HTTP_REQUESTS.count_soon(route={label!r}, method='GET', status='2xx')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DJANGO_ENV": "test"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=60)
    after = _samples(_text(settings))
    changes = ("pcp_pilot_config_changes_total", {"kind": label, "state": "paused"})
    requests = ("pcp_http_requests_total", {"route": label, "method": "GET", "status": "2xx"})
    assert _value(after, changes[0], **changes[1]) - _value(before, changes[0], **changes[1]) == 2
    assert (
        _value(after, requests[0], **requests[1]) - _value(before, requests[0], **requests[1]) == 6
    )


def test_a_time_that_never_happened_has_no_sample_not_a_sentinel(settings):
    text = _text(settings)
    assert "-1\n" not in text
    names = {k[0] for k in _samples(text)}
    assert "pcp_sla_sweep_last_run_timestamp_seconds" not in names
    assert "pcp_audit_checkpoint_timestamp_seconds" not in names
    finished = timezone.now()
    SweepHeartbeat.objects.update_or_create(pk=1, defaults={"last_finished_at": finished})
    samples = _samples(_text(settings))
    assert _value(samples, "pcp_sla_sweep_last_run_timestamp_seconds") == finished.timestamp()


def test_queue_depth_is_read_from_the_broker(settings):
    import redis

    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    queue = "metrics-test-queue"
    settings.METRICS_CELERY_QUEUES = ("default", queue)
    broker.delete(queue)
    broker.rpush(queue, "one", "two")
    try:
        samples = _samples(_text(settings))
    finally:
        broker.delete(queue)
    assert _value(samples, "pcp_celery_queue_depth", queue=queue) == 2
    assert ("pcp_celery_queue_depth", frozenset({("queue", "default")})) in samples
    assert _value(samples, "pcp_celery_queue_depth_known") == 1
    settings.CELERY_BROKER_URL = "filesystem://"
    unknown = _samples(_text(settings))
    assert _value(unknown, "pcp_celery_queue_depth_known") == 0
    assert not [k for k in unknown if k[0] == "pcp_celery_queue_depth"]


def test_a_histogram_bucket_includes_its_bound_and_is_cumulative(settings):
    from core import metrics

    histogram = metrics.EventHistogram(
        "pcp_test_latency_seconds", "Test only.", ["case"], buckets=(0.1, 1.0)
    )
    case = f"test-{os.getpid()}-{timezone.now().timestamp()}"
    try:
        for seconds in (0.1, 0.5, 5.0):
            histogram.observe_soon(seconds, case=case)
        samples = _samples(_text(settings))
    finally:
        metrics._EVENT_METRICS.pop(histogram.name)
    buckets = {
        le: _value(samples, "pcp_test_latency_seconds_bucket", case=case, le=le)
        for le in ("0.1", "1.0", "+Inf")
    }
    assert buckets == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert _value(samples, "pcp_test_latency_seconds_count", case=case) == 3
    assert _value(samples, "pcp_test_latency_seconds_sum", case=case) == pytest.approx(5.6)

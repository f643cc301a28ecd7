"""The incidents app's part of ``/metrics`` (the registry and where counts live: ``core.metrics``).

Counters are events, counted by the service that makes them happen once its transaction commits
(so a Celery worker's delivery counts wherever it runs): a notification's delivery attempt ends
sent, failed or retry; an escalation is made by the sweep or by a person; a notification goes
to a whole level because nobody was on call. Gauges are read from the database at scrape time
(``incidents.sla.reports.metric_samples``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from core.metrics import EventCounter, register_collector

NOTIFICATIONS = EventCounter(
    "pcp_notifications_total",
    "Notification delivery attempts by channel and outcome (sent, failed, retry).",
    ["channel", "outcome"],
)
NOTIFICATION_FAILURES = EventCounter(
    "pcp_notification_failures_total",
    "Notifications that failed after every retry, by channel.",
    ["channel"],
)
ROSTER_GAPS = EventCounter(
    "pcp_notification_roster_gaps_total",
    "Notifications sent to a whole level because nobody was on call.",
)
ESCALATIONS = EventCounter(
    "pcp_incident_escalations_total",
    "Escalations by target level and whether the SLA sweep (true) or a person made them.",
    ["to_level", "automatic"],
)


def collect() -> Iterator[Metric]:
    from incidents.sla.reports import metric_samples

    for sample in metric_samples():
        labelnames = sorted(sample.samples[0][0]) if sample.samples else []
        family: Metric = (
            CounterMetricFamily(sample.name, sample.help, labels=labelnames)
            if sample.kind == "counter"
            else GaugeMetricFamily(sample.name, sample.help, labels=labelnames)
        )
        for labels, value in sample.samples:
            family.add_metric([labels[n] for n in labelnames], value)  # type: ignore[attr-defined]
        yield family


def register() -> None:
    from incidents.metrics_view import audit_checkpoint_metrics

    register_collector("incidents", collect)
    register_collector("audit", audit_checkpoint_metrics)

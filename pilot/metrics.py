"""The pilot app's part of ``/metrics`` (the registry and where counts live: ``core.metrics``).

Every config revision is a kill-switch change, counted by ``revision_append`` (the one place
revisions are written) once its transaction commits: its kind (disable, pause, change request,
…) and the state it leaves the pilot in. Config reads — the platform's hot path and the OFREP
evaluations — are counted by the HTTP metrics middleware for their routes, labelled by who
answered (``cache``: the hot path before URL resolution; ``view``: the DRF view). The pilot's
state and revision are gauges read from the head revision at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from core.http_metrics import count_route
from core.metrics import EventCounter, gauge, register_collector
from pilot.enums import PilotState

CONFIG_CHANGES = EventCounter(
    "pcp_pilot_config_changes_total",
    "Pilot config revisions (kill switch, pause, change requests…) by kind and resulting state.",
    ["kind", "state"],
)
CONFIG_READS = EventCounter(
    "pcp_config_reads_total",
    "Pilot config reads (config endpoint and OFREP evaluations) by route and who answered "
    "(cache: the hot path; view: the API view).",
    ["route", "answer"],
)
CONFIG_READ_ROUTES = ("api:pilot-config", "ofrep-bulk", "ofrep-flag")


def collect() -> Iterator[Metric]:
    from pilot.models import ConfigRevision

    head = ConfigRevision.objects.order_by("-number").values("number", "state", "enabled").first()
    yield gauge(
        "pcp_pilot_config_revision",
        "Number of the pilot's current config revision (absent: not initialised).",
        [({}, head["number"])] if head else [],
    )
    yield gauge(
        "pcp_pilot_enabled",
        "1 when the pilot runs (the kill switch is off), else 0 (absent: not initialised).",
        [({}, 1 if head["enabled"] else 0)] if head else [],
    )
    yield gauge(
        "pcp_pilot_state",
        "The pilot's state: 1 for the current one, 0 for the others.",
        [({"state": str(s)}, 1 if head and head["state"] == s else 0) for s in PilotState],
    )


def register() -> None:
    register_collector("pilot", collect)
    for route in CONFIG_READ_ROUTES:
        count_route(route, CONFIG_READS)

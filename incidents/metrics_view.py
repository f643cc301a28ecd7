"""``/metrics``: Prometheus text, behind ``METRICS_TOKEN`` (Bearer) or ``METRICS_ALLOWED_IPS``.

What it shows is ``core.metrics``' registry (event counters summed over every process and host,
gauges the apps register); this module adds the audit chain's head and keeps the access rule."""

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.core import Metric

from core import metrics as core_metrics
from core.audit_chain import checkpoint_latest


def metrics_allowed(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    allowed = list(getattr(settings, "METRICS_ALLOWED_IPS", []) or [])
    return request.META.get("REMOTE_ADDR", "") in allowed


def audit_checkpoint_metrics() -> Iterator[Metric]:
    """The last published audit-chain checkpoint: scraped and kept by Prometheus, it is an
    anchor outside the database (``verify_audit --expect SEQ:HASH``)."""
    checkpoint = checkpoint_latest()
    yield core_metrics.gauge(
        "pcp_audit_chain_head_seq",
        "Link number of the audit chain's last published checkpoint (0: none yet).",
        [({}, checkpoint.seq if checkpoint else 0)],
    )
    yield core_metrics.gauge(
        "pcp_audit_chain_head_info",
        "The last published checkpoint (seq and hash as labels; value always 1).",
        [({"seq": str(checkpoint.seq), "hash": checkpoint.hash}, 1)] if checkpoint else [],
    )
    yield core_metrics.timestamp_gauge(
        "pcp_audit_checkpoint_timestamp_seconds",
        "When the last checkpoint was recorded (Unix time; absent: never).",
        checkpoint.at if checkpoint else None,
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(core_metrics.render(), content_type=core_metrics.CONTENT_TYPE)

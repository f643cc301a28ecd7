"""``/metrics``: Prometheus text, behind ``METRICS_TOKEN`` (Bearer) or ``METRICS_ALLOWED_IPS``."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.audit_chain import checkpoint_latest
from incidents.sla.reports import MetricSample, metric_samples, prometheus_text

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_allowed(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    allowed = list(getattr(settings, "METRICS_ALLOWED_IPS", []) or [])
    return request.META.get("REMOTE_ADDR", "") in allowed


def audit_checkpoint_samples() -> list[MetricSample]:
    """The last published audit-chain checkpoint: scraped and kept by Prometheus, it is an
    anchor outside the database (``verify_audit --expect SEQ:HASH``)."""
    checkpoint = checkpoint_latest()
    return [
        MetricSample(
            "pcp_audit_chain_head_seq",
            "gauge",
            "Link number of the audit chain's last published checkpoint (0: none yet).",
            [({}, checkpoint.seq if checkpoint else 0)],
        ),
        MetricSample(
            "pcp_audit_chain_head_info",
            "gauge",
            "The last published checkpoint (seq and hash as labels; value always 1).",
            [({"seq": str(checkpoint.seq), "hash": checkpoint.hash}, 1)] if checkpoint else [],
        ),
        MetricSample(
            "pcp_audit_checkpoint_age_seconds",
            "gauge",
            "Seconds since the last checkpoint was recorded (-1: never).",
            [({}, (timezone.now() - checkpoint.at).total_seconds() if checkpoint else -1.0)],
        ),
    ]


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    samples = metric_samples() + audit_checkpoint_samples()
    return HttpResponse(prometheus_text(samples), content_type=CONTENT_TYPE)

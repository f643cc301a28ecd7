"""``/metrics``: Prometheus text, behind ``METRICS_TOKEN`` (Bearer) or ``METRICS_ALLOWED_IPS``."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from incidents.sla.reports import metric_samples, prometheus_text

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_allowed(request: HttpRequest) -> bool:
    token = str(getattr(settings, "METRICS_TOKEN", "") or "")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)
    allowed = list(getattr(settings, "METRICS_ALLOWED_IPS", []) or [])
    return request.META.get("REMOTE_ADDR", "") in allowed


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(prometheus_text(metric_samples()), content_type=CONTENT_TYPE)

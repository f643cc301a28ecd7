from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.health import run_checks


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (``degraded`` when a dependency does not); 503 otherwise."""
    status, checks, db_ok = run_checks()
    if not db_ok:
        status = "down"
    return JsonResponse({"status": status, "checks": checks}, status=200 if db_ok else 503)

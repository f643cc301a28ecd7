"""The pilot-state banner on every admin page."""

import logging
from typing import Any

from django.http import HttpRequest

logger = logging.getLogger(__name__)


def pilot_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not request.path.startswith("/admin/") or user is None or not user.is_staff:
        return {}
    from pilot.selectors import pilot_config_current

    try:
        snapshot = pilot_config_current()
    except Exception:  # the banner must never take an admin page down
        logger.exception("pilot banner: config unavailable")
        return {"pilot_banner": None, "pilot_banner_error": True}
    return {"pilot_banner": snapshot}

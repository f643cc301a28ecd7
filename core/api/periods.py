"""The ``from``/``to`` query parameters of every report endpoint, as the schema documents them
(``core.periods.period_parse`` reads them)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.periods import MAX_PERIOD_DAYS


def period_parameters(*, required: bool = False) -> list[OpenApiParameter]:
    span = f"Inclusive local date (YYYY-MM-DD); a period spans at most {MAX_PERIOD_DAYS} days."
    return [
        OpenApiParameter("from", OpenApiTypes.DATE, required=required, description=span),
        OpenApiParameter("to", OpenApiTypes.DATE, required=required, description=span),
    ]

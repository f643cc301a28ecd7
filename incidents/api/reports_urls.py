"""``/api/v1/reports/…`` routes of the incidents app (included by ``config/api_router.py``)."""

from django.urls import URLPattern, URLResolver, path

from incidents.api.reports import SlaReportView

urlpatterns: list[URLPattern | URLResolver] = [
    path("sla/", SlaReportView.as_view(), name="reports-sla"),
]

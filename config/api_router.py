"""Every ``/api/v1/`` route. Each app adds its own ``api/urls.py`` here."""

from django.urls import include, path

app_name = "api"
urlpatterns = [
    path("", include("core.api.urls")),
    path("incidents/", include("incidents.api.urls")),
    path("reports/", include("incidents.api.reports_urls")),  # reports/sla/
    path("reports/", include("console.api.urls")),  # reports/go-no-go/
    path("pilot/", include("pilot.api.urls")),
    path("", include("pilot.api.webhook_urls")),  # webhooks/
    path("", include("ledger_audit.api.urls")),  # feed/, exports/
    path("integrations/", include("incidents.api.alert_urls")),  # alertmanager/, grafana/
]

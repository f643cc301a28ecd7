from django.urls import URLPattern, path

from incidents.api.alert_views import AlertmanagerReceiverView, GrafanaReceiverView

urlpatterns: list[URLPattern] = [
    path("alertmanager/", AlertmanagerReceiverView.as_view(), name="integrations-alertmanager"),
    path("grafana/", GrafanaReceiverView.as_view(), name="integrations-grafana"),
]

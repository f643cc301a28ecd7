from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from core.api.exceptions import api_route_not_found
from core.views import healthz
from incidents.metrics_view import metrics
from pilot.api.ofrep import OfrepBulkView, OfrepFlagView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_router")),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny]),
        name="api-schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    path("healthz/", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    # OpenFeature Remote Evaluation Protocol: the kill switch and flags for OpenFeature SDKs
    # (its paths are fixed by the spec, hence outside api/v1/).
    path("ofrep/v1/evaluate/flags", OfrepBulkView.as_view(), name="ofrep-bulk"),
    path("ofrep/v1/evaluate/flags/<str:key>", OfrepFlagView.as_view(), name="ofrep-flag"),
    # Last: whatever else starts with api/ is a JSON 404 in every settings module.
    re_path(r"^api/(?P<rest>.*)$", api_route_not_found, name="api-not-found"),
]

handler400 = "core.api.exceptions.handler400"
handler403 = "core.api.exceptions.handler403"
handler404 = "core.api.exceptions.handler404"
handler500 = "core.api.exceptions.handler500"

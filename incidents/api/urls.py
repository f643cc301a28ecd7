from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from incidents.api.views import IncidentViewSet

router = SimpleRouter()
router.register("", IncidentViewSet, basename="incident")

urlpatterns: list[URLPattern | URLResolver] = [
    # The incident log is a file: ``…/{number}/log.md`` and ``…/log.md?from=&to=``, no slash.
    path("log.md", IncidentViewSet.as_view({"get": "period_log"}), name="incident-period-log"),
    path("<int:number>/log.md", IncidentViewSet.as_view({"get": "log"}), name="incident-log"),
    *router.urls,
]

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from pilot.api import views

router = SimpleRouter()
router.register("revisions", views.RevisionViewSet, basename="pilot-revision")
router.register("change-requests", views.ChangeRequestViewSet, basename="pilot-change-request")
router.register("template-versions", views.TemplateVersionViewSet, basename="pilot-template")
router.register("rollbacks", views.RollbackViewSet, basename="pilot-rollback")

urlpatterns: list[URLPattern | URLResolver] = [
    path("config/", views.ConfigView.as_view(), name="pilot-config"),
    path("disable/", views.DisableView.as_view(), name="pilot-disable"),
    path("pause/", views.PauseView.as_view(), name="pilot-pause"),
    path("revert-template/", views.RevertTemplateView.as_view(), name="pilot-revert-template"),
    path("flags/<slug:name>/off/", views.FlagOffView.as_view(), name="pilot-flag-off"),
    *router.urls,
]

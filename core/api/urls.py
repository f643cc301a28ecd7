from django.urls import path
from rest_framework.routers import SimpleRouter

from core.api.views import ApiKeyViewSet, MeView

router = SimpleRouter(trailing_slash=True)
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]

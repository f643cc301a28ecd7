"""``/api/v1/webhooks/``: the webhook subscriptions (top level: they will carry more than the
pilot's config events)."""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from pilot.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookSubscriptionViewSet, basename="webhook")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from ledger_audit.api import views

router = SimpleRouter()
router.register("exports", views.ExportViewSet, basename="export")

urlpatterns: list[URLPattern | URLResolver] = [
    path("feed/deals/", views.DealEventFeedView.as_view(), name="feed-deals"),
    path("feed/ledger-entries/", views.LedgerEntryFeedView.as_view(), name="feed-ledger-entries"),
    path("feed/timers/", views.TimerFeedView.as_view(), name="feed-timers"),
    path("feed/disputes/", views.DisputeFeedView.as_view(), name="feed-disputes"),
    *router.urls,
]

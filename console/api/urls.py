"""``/api/v1/reports/…`` routes of the console (included by ``config/api_router.py``)."""

from django.urls import URLPattern, URLResolver, path

from console.api.views import GoNoGoView

urlpatterns: list[URLPattern | URLResolver] = [
    path("go-no-go/", GoNoGoView.as_view(), name="reports-go-no-go"),
]

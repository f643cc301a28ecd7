"""Change requests: file, approve (four eyes) and reject, with confirmation pages."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.admin_actions import confirm_and_run
from pilot import selectors, services
from pilot.admin.common import (
    ChangeRequestForm,
    RejectForm,
    user_of,
)
from pilot.enums import ChangeStatus
from pilot.models import (
    ChangeRequest,
)
from pilot.permissions import PilotPerm

# --- change requests ------------------------------------------------------------------------


class AwaitingYouFilter(admin.SimpleListFilter):
    title = _("awaiting")
    parameter_name = "awaiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Pending requests awaiting you"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "me":
            ids = selectors.change_requests_awaiting(user=request.user).values("id")
            return queryset.filter(id__in=ids)
        return queryset


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "action",
        "params",
        "status",
        "requested_by",
        "requested_at",
        "base_revision",
        "decided_by",
        "decide_links",
    )
    list_select_related = ("requested_by", "decided_by", "base_revision", "incident")
    list_filter = (AwaitingYouFilter, "status", "action")
    search_fields = ("reason",)
    show_full_result_count = False
    readonly_fields = (
        "action",
        "params",
        "reason",
        "incident",
        "requested_by",
        "requested_at",
        "base_revision",
        "status",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    change_list_template = "pilot/admin/changerequest_change_list.html"

    @admin.display(description=_("decide"))
    def decide_links(self, obj: ChangeRequest) -> str:
        if obj.status != ChangeStatus.PENDING:
            return "—"
        return format_html(
            '<a class="button" href="{}">{}</a> <a class="button" href="{}">{}</a>',
            reverse("admin:pilot_changerequest_approve", args=[obj.pk]),
            _("Approve…"),
            reverse("admin:pilot_changerequest_reject", args=[obj.pk]),
            _("Reject…"),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("request/", wrap(self.request_view), name="pilot_changerequest_request"),
            path("<int:pk>/approve/", wrap(self.approve_view), name="pilot_changerequest_approve"),
            path("<int:pk>/reject/", wrap(self.reject_view), name="pilot_changerequest_reject"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        awaiting = selectors.change_requests_awaiting(user=request.user).count()
        extra = {
            "awaiting_count": awaiting,
            "can_request": request.user.has_perm(PilotPerm.ADD_CHANGE_REQUEST),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def _back_url(self) -> str:
        return reverse("admin:pilot_changerequest_changelist")

    def request_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(PilotPerm.ADD_CHANGE_REQUEST):
            raise PermissionDenied
        form = ChangeRequestForm(request.POST or None, initial=request.GET.dict())  # ?action=
        return confirm_and_run(
            self,
            request,
            run=lambda d: services.change_request_create(
                actor=user_of(request),
                action=d["action"],
                params=d["params"] or {},
                reason=d["reason"],
                incident=d["incident"],
            ),
            success=str(_("Change request filed; it awaits approval.")),
            done_url=self._back_url(),
            form=form,
            title=str(_("Request a pilot config change")),
            cancel_url=self._back_url(),
            summary=[(_("Current config"), selectors.pilot_config_current().as_data())],
            submit=str(_("File the request")),
        )

    def _summary(self, obj: ChangeRequest) -> list[tuple[Any, Any]]:
        return [
            (_("Action"), obj.get_action_display()),
            (_("Parameters"), obj.params),
            (_("Reason"), obj.reason),
            (_("Requested by"), obj.requested_by),
            (_("Based on revision"), obj.base_revision),
            (_("Current config"), selectors.pilot_config_current().as_data()),
        ]

    def _decide(
        self,
        request: HttpRequest,
        pk: int,
        *,
        service: Callable[..., object],
        verb: Any,
        **page: Any,
    ) -> HttpResponse:
        """Approve and reject: the same permission, request, summary and way back; the form's
        fields (the rejection's reason) go to the service."""
        if not request.user.has_perm(PilotPerm.APPROVE_CHANGE_REQUEST):
            raise PermissionDenied
        obj = get_object_or_404(selectors.change_request_list(), pk=pk)
        back = self._back_url()
        return confirm_and_run(
            self,
            request,
            run=lambda d: service(change_request=obj, actor=user_of(request), **d),
            title=verb % {"id": obj.pk},
            done_url=back,
            cancel_url=back,
            summary=self._summary(obj),
            **page,
        )

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide(
            request,
            pk,
            service=services.change_request_approve,
            verb=_("Approve change request #%(id)d"),
            success=str(_("Approved and applied.")),
            error_url=self._back_url(),
            submit=str(_("Approve and apply now")),
            danger=True,
        )

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._decide(
            request,
            pk,
            service=services.change_request_reject,
            verb=_("Reject change request #%(id)d"),
            success=str(_("Rejected.")),
            form=RejectForm(request.POST or None),
            submit=str(_("Reject")),
        )

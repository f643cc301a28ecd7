"""Operator console for the ledger audit. The mirror tables hold millions of rows: every
changelist selects related rows, never counts the whole table (capped paginator) and searches by
exact id. The mirror is read-only here: only the platform's feed writes it."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import CappedCountPaginator, ReadOnlyAdmin, choices_filter
from core.admin_actions import confirm_and_run, report_domain_error
from core.errors import DomainError
from incidents.enums import Severity
from incidents.models import Incident
from ledger_audit.api.views import export_file_response
from ledger_audit.enums import DealState, Detector
from ledger_audit.models import (
    Deal,
    DealEvent,
    DetectionWork,
    Dispute,
    ExportDownload,
    Finding,
    LedgerEntry,
    TimelineExport,
    Timer,
)
from ledger_audit.permissions import LedgerPerm
from ledger_audit.selectors import incident_blast_radius, incident_duplicate_keys
from ledger_audit.services import (
    duplicate_keys_reviewed,
    export_can_download,
    export_download_open,
    export_request,
)

DealStateFilter = choices_filter("state", _("state"), list(DealState.choices))
SeverityFilter = choices_filter("severity", _("severity"), list(Severity.choices))


class BigTableAdmin(ReadOnlyAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = 50


@admin.register(Deal)
class DealAdmin(BigTableAdmin):
    list_display = ("deal_id", "state", "state_since", "template_version", "first_seen_at")
    list_filter = (DealStateFilter,)
    search_fields = ("=deal_id",)


@admin.register(DealEvent)
class DealEventAdmin(BigTableAdmin):
    list_display = ("deal", "state", "occurred_at", "template_version", "received_at")
    list_select_related = ("deal",)
    list_filter = (DealStateFilter,)
    search_fields = ("=deal__deal_id",)
    raw_id_fields = ("deal",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(BigTableAdmin):
    list_display = (
        "entry_id",
        "deal",
        "idempotency_key",
        "kind",
        "amount",
        "currency",
        "created_at",
    )
    list_select_related = ("deal",)
    list_filter = ("kind",)
    search_fields = ("=entry_id", "=idempotency_key", "=deal__deal_id")
    raw_id_fields = ("deal",)


@admin.register(Timer)
class TimerAdmin(BigTableAdmin):
    list_display = ("timer_id", "deal", "kind", "status", "expires_at", "updated_at")
    list_select_related = ("deal",)
    list_filter = ("status",)
    search_fields = ("=timer_id", "=deal__deal_id")
    raw_id_fields = ("deal",)


@admin.register(Dispute)
class DisputeAdmin(BigTableAdmin):
    list_display = ("dispute_id", "deal", "status", "opened_at", "expires_at", "resolution")
    list_select_related = ("deal",)
    list_filter = ("status",)
    search_fields = ("=dispute_id", "=deal__deal_id")
    raw_id_fields = ("deal",)


@admin.register(DetectionWork)
class DetectionWorkAdmin(BigTableAdmin):
    list_display = ("id", "created_at", "processed_at")


class OpenFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("open")), ("no", _("cleared"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(cleared_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(cleared_at__isnull=False)
        return queryset


def _can_review(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(LedgerPerm.REVIEW_DUPLICATE_KEYS))


@admin.register(Finding)
class FindingAdmin(BigTableAdmin):
    list_display = (
        "title",
        "detector",
        "severity",
        "incident_link",
        "first_seen",
        "last_seen",
        "cleared_at",
    )
    list_select_related = ("incident",)
    list_filter = (OpenFilter, "detector", SeverityFilter)
    search_fields = ("=subject", "=fingerprint")
    raw_id_fields = ("incident",)

    @admin.display(description=_("incident"))
    def incident_link(self, obj: Finding) -> str:
        if obj.incident is None:
            return "—"
        url = reverse("admin:incidents_incident_change", args=[obj.incident.pk])
        link = format_html('<a href="{}">{}</a>', url, obj.incident.label)
        if obj.detector == Detector.DUPLICATE_KEY:
            review = reverse("admin:ledger_audit_finding_review_keys", args=[obj.incident.number])
            link = format_html('{} · <a href="{}">{}</a>', link, review, _("review keys"))
        return link

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "review-keys/<int:number>/",
                self.admin_site.admin_view(self.review_keys_view),
                name="ledger_audit_finding_review_keys",
            ),
            *super().get_urls(),
        ]

    def review_keys_view(self, request: HttpRequest, number: int) -> HttpResponse:
        """Each duplicate key of the incident with its ledger entries side by side; the
        operator's "reviewed" ticks the "identify idempotency keys" step."""
        if not request.user.has_perm(LedgerPerm.VIEW_FINDING):
            raise PermissionDenied
        incident = get_object_or_404(Incident, number=number)
        if request.method == "POST" and not _can_review(request):
            raise PermissionDenied
        incident_url = reverse("admin:incidents_incident_change", args=[incident.pk])
        return confirm_and_run(
            self,
            request,
            run=lambda d: duplicate_keys_reviewed(incident=incident, actor=request.user),  # type: ignore[arg-type]
            success=lambda step: str(
                _("That step was already done.")
                if step is None
                else _("Step ticked: %(t)s") % {"t": step.title}
            ),
            done_url=request.path,
            error_url=request.path,
            title=_("Review duplicate keys — %(label)s") % {"label": incident.label},
            obj=incident,
            obj_url=incident_url,
            cancel_url=incident_url,
            prompt=_(
                "Reviewed every key and its entries? This ticks the step “Identify idempotency "
                "keys + ledger entries” with the list above as its note."
            ),
            submit=_("Mark keys reviewed"),
            groups=incident_duplicate_keys(incident=incident),
            blast=incident_blast_radius(incident=incident),
            can_review=_can_review(request),
        )


@admin.register(TimelineExport)
class TimelineExportAdmin(BigTableAdmin):
    list_display = (
        "id",
        "incident",
        "status",
        "progress",
        "sha256",
        "requested_by",
        "requested_at",
        "finished_at",
        "download_link",
    )
    list_select_related = ("incident", "requested_by")
    list_filter = ("status",)
    search_fields = ("=incident__number", "=sha256")
    raw_id_fields = ("incident", "requested_by")

    @admin.display(description=_("progress"))
    def progress(self, obj: TimelineExport) -> str:
        total = obj.rows_total
        return f"{obj.rows_done} / {total}" if total is not None else f"{obj.rows_done} / ?"

    @admin.display(description=_("download"))
    def download_link(self, obj: TimelineExport) -> str:
        if not obj.is_done:
            return "—"
        url = reverse("admin:ledger_audit_timelineexport_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "request/",
                self.admin_site.admin_view(self.request_view),
                name="ledger_audit_timelineexport_request",
            ),
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="ledger_audit_timelineexport_download",
            ),
            *super().get_urls(),
        ]

    def request_view(self, request: HttpRequest) -> HttpResponse:
        """``request/?incident=<number>``: confirm, then queue the export of its deals."""
        if not request.user.has_perm(LedgerPerm.REQUEST_EXPORT):
            raise PermissionDenied
        raw = request.POST.get("incident") or request.GET.get("incident") or ""
        if not raw.isdigit():
            self.message_user(request, _("Name an incident number: ?incident=7"), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:ledger_audit_timelineexport_changelist"))
        incident = get_object_or_404(Incident, number=int(raw))
        incident_url = reverse("admin:incidents_incident_change", args=[incident.pk])
        return confirm_and_run(
            self,
            request,
            run=lambda d: export_request(incident=incident, actor=request.user),  # type: ignore[arg-type]
            success=lambda export: str(
                _("Export #%(id)d queued for %(n)d deal(s); progress shows below.")
                % {"id": export.pk, "n": len(export.deal_ids)}
            ),
            done_url=reverse("admin:ledger_audit_timelineexport_changelist")
            + f"?incident__id__exact={incident.pk}",
            error_url=request.get_full_path(),
            title=_("Export timelines — %(label)s") % {"label": incident.label},
            obj=incident,
            obj_url=incident_url,
            cancel_url=incident_url,
            submit=_("Yes, export timelines"),
            deal_ids=list(incident.affected_deals or [])[:200],
            deal_count=len(incident.affected_deals or []),
            blast=incident_blast_radius(incident=incident),
        )

    def download_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        if not export_can_download(user=request.user):
            raise PermissionDenied
        export = get_object_or_404(TimelineExport, pk=pk)
        try:
            handle = export_download_open(export=export, actor=request.user, via="admin")  # type: ignore[arg-type]
        except DomainError as exc:
            report_domain_error(self, request, exc)
            return HttpResponseRedirect(reverse("admin:ledger_audit_timelineexport_changelist"))
        return export_file_response(export, handle)


@admin.register(ExportDownload)
class ExportDownloadAdmin(BigTableAdmin):
    list_display = ("export", "user", "via", "at")
    list_select_related = ("export", "user")
    raw_id_fields = ("export", "user")

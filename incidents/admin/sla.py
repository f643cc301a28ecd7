"""The SLA clock in the operator console: escalation levels and rules (decision owner), roster,
on-call shifts with a rotation generator and extra holidays (coordinator), webhook endpoints,
the read-only delivery log and escalations, and the SLA metrics page. Every edit goes through
the audited service."""

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from core.admin import CappedCountPaginator, ReadOnlyAdmin, choices_filter
from core.admin_actions import DomainErrorMessageAdmin, confirm_and_run
from core.periods import PeriodError, period_default, period_parse
from core.secret_admin import SigningSecretAdminMixin
from core.text import validate_one_line
from incidents.health import check_sla_sweep
from incidents.log import human_duration
from incidents.models import (
    BusinessHoliday,
    Escalation,
    EscalationLevel,
    EscalationRule,
    Notification,
    OnCallShift,
    RosterMember,
    SweepHeartbeat,
    WebhookEndpoint,
)
from incidents.permissions import IncidentPerm
from incidents.services.roster import (
    ONE_LINE_FIELDS,
    oncall_rotation_generate,
    sla_config_delete,
    sla_config_save,
)
from incidents.sla.reports import DEFAULT_PERIOD_DAYS, sla_report


class _AuditedAdmin(DomainErrorMessageAdmin):
    """Saves and deletes through the audited SLA-configuration service."""

    show_full_result_count = False

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in ONE_LINE_FIELDS.get(self.model, ()):
            formfield.validators.append(validate_one_line)  # the service's rule, by the field
        return formfield

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        sla_config_save(
            instance=obj, actor=cast(User, request.user), changed=list(form.changed_data)
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        sla_config_delete(instance=obj, actor=cast(User, request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            sla_config_delete(instance=obj, actor=cast(User, request.user))

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service wrote the audit event

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None

    def log_deletion(self, request: HttpRequest, obj: Any, object_repr: str) -> Any:
        return None

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        return None


@admin.register(EscalationLevel)
class EscalationLevelAdmin(_AuditedAdmin):
    list_display = ("level", "name", "responsibilities")
    fields = ("level", "name", "responsibilities")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("level",) if obj is not None else ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the runbook's four levels

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EscalationRule)
class EscalationRuleAdmin(_AuditedAdmin):
    list_display = (
        "position",
        "name",
        "severity",
        "trigger",
        "after_minutes",
        "action",
        "level",
        "active",
    )
    list_display_links = ("name",)
    list_filter = ("active", "severity", "trigger", "action")
    list_select_related = ("level",)
    ordering = ("position", "pk")


@admin.register(BusinessHoliday)
class BusinessHolidayAdmin(_AuditedAdmin):
    list_display = ("date", "name")
    date_hierarchy = "date"
    search_fields = ("name",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SigningSecretAdminMixin, _AuditedAdmin):
    fields = ("name", "url", "format", "secret", "active")
    list_display = ("name", "url", "format", "active")
    list_filter = ("format", "active")
    search_fields = ("name", "url")


@admin.register(RosterMember)
class RosterMemberAdmin(_AuditedAdmin):
    list_display = ("user", "level", "email", "webhook", "active")
    list_filter = ("level", "active")
    list_select_related = ("user", "level", "webhook")
    search_fields = ("user__username", "email")
    raw_id_fields = ("user",)


class RotationForm(forms.Form):
    level = forms.ModelChoiceField(EscalationLevel.objects.order_by("level"))
    members = forms.ModelMultipleChoiceField(
        RosterMember.objects.select_related("user", "level").filter(active=True),
        help_text=_("In rotation order: week 1 the first, week 2 the second, …"),
    )
    starts_at = forms.DateTimeField(help_text=_("Start of the first week (e.g. Monday 09:00)."))
    weeks = forms.IntegerField(min_value=1, max_value=104, initial=4)


@admin.register(OnCallShift)
class OnCallShiftAdmin(_AuditedAdmin):
    list_display = ("level", "member", "starts_at", "ends_at")
    list_filter = ("level",)
    list_select_related = ("level", "member__user")
    date_hierarchy = "starts_at"
    fields = ("member", "starts_at", "ends_at")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "rotation/",
                self.admin_site.admin_view(self.rotation_view),
                name="incidents_oncallshift_rotation",
            ),
            *super().get_urls(),
        ]

    def rotation_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(IncidentPerm.ADD_SHIFT):
            raise PermissionDenied
        form = RotationForm(request.POST if request.method == "POST" else None)
        changelist = reverse("admin:incidents_oncallshift_changelist")

        def generate(data: dict[str, Any]) -> list[OnCallShift]:
            order = request.POST.getlist("members")  # the order they were picked in
            return oncall_rotation_generate(
                level=data["level"].level,
                members=sorted(data["members"], key=lambda m: order.index(str(m.pk))),
                starts_at=data["starts_at"],
                weeks=data["weeks"],
                actor=cast(User, request.user),
            )

        return confirm_and_run(
            self,
            request,
            run=generate,
            success=lambda shifts: str(_("%(n)d weekly shifts.") % {"n": len(shifts)}),
            done_url=changelist,
            form=form,
            title=_("Generate a weekly on-call rotation"),
            cancel_url=changelist,
            prompt=_("Existing shifts of the same member and start are kept. Please confirm."),
            submit=_("Generate"),
        )


# Fixed vocabularies: a plain filter on these integer fields runs SELECT DISTINCT over the table.
_LEVELS = [(str(n), f"L{n}") for n in range(1, 5)]
LevelFilter = choices_filter("level", _("level"), _LEVELS)
ToLevelFilter = choices_filter("to_level", _("to level"), _LEVELS)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The delivery log."""

    list_display = (
        "created_at",
        "incident",
        "level",
        "channel",
        "recipient",
        "status",
        "attempts",
        "roster_gap",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", "channel", LevelFilter, "roster_gap")
    list_select_related = ("incident",)
    search_fields = ("recipient", "key", "last_error")
    paginator = CappedCountPaginator
    show_full_result_count = False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "sla-report/",
                self.admin_site.admin_view(self.sla_report_view),
                name="incidents_sla_report",
            ),
            *super().get_urls(),
        ]

    def sla_report_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(IncidentPerm.VIEW):
            raise PermissionDenied
        try:
            period = period_parse(
                start=request.GET.get("start"),
                end=request.GET.get("end"),
                default_days=DEFAULT_PERIOD_DAYS,
            )
        except PeriodError as exc:
            self.message_user(request, exc.message, messages.WARNING)
            period = period_default(days=DEFAULT_PERIOD_DAYS)
        form = SlaPeriodForm(initial={"start": period.start, "end": period.end})
        start, end = period.start, period.end
        report = sla_report(start=period.since, end=period.until)
        rows = []
        for severity, row in report["per_severity"].items():
            rows.append(
                (
                    severity,
                    {
                        **row,
                        "mtta": _seconds(row["mtta_seconds"]),
                        "mttr": _seconds(row["mttr_seconds"]),
                        "compliance_text": "—"
                        if row["compliance"] is None
                        else f"{row['compliance'] * 100:.1f} %",
                    },
                )
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("SLA metrics"),
            "form": form,
            "report": {"from": start, "to": end},
            "mtta": _seconds(report["mtta_seconds"]),
            "mttr": _seconds(report["mttr_seconds"]),
            "rows": rows,
            "heartbeat": SweepHeartbeat.objects.filter(pk=1).first(),
            "sweep_health": check_sla_sweep(),
        }
        return TemplateResponse(request, "admin/incidents/sla/report.html", context)


class SlaPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return human_duration(timedelta(seconds=value))


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ("at", "incident", "from_level", "to_level", "criterion", "rule", "actor")
    list_filter = (ToLevelFilter, "criterion")
    list_select_related = ("incident", "rule", "actor")
    paginator = CappedCountPaginator
    show_full_result_count = False

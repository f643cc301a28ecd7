"""The Go/No-Go report in the admin: ``/admin/console/gonogoreport/`` (HTML with SVG charts)
and ``report.md`` (the Markdown download). Who may see it: ``console.view_go_no_go`` — Pilot
coordinator, Decision owner and Auditor (see ``core/roles.py``)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from console import charts
from console.models import GoNoGoReport
from console.permissions import ConsolePerm
from console.report_markdown import duration, percent, render_markdown
from console.selectors import GoNoGo, Period, go_no_go_report, period_default, period_from
from core.periods import PeriodError
from incidents.enums import Severity


def _period(request: HttpRequest) -> tuple[Period, str]:
    """The period of ``?from=&to=``; the default (and the warning to show) when unusable."""
    try:
        return period_from(start=request.GET.get("from"), end=request.GET.get("to")), ""
    except PeriodError as exc:
        return period_default(), exc.message


def report_charts(report: GoNoGo) -> dict[str, str]:
    labels = [day.strftime("%m-%d") for day in report.per_day]
    per_day = charts.stacked_bars(
        title=_("Incidents opened per day by severity"),
        labels=labels,
        series={s: [counts[s] for counts in report.per_day.values()] for s in Severity.values},
    )
    minutes = [
        (
            first.strftime("%m-%d"),
            None if mtta is None else mtta / 60,
            None if mttr is None else mttr / 60,
        )
        for first, mtta, mttr in report.trend
    ]
    trend = charts.lines(
        title=_("MTTA and MTTR (minutes)"),
        labels=[label for label, _a, _r in minutes],
        series={"MTTA": [a for _l, a, _r in minutes], "MTTR": [r for _l, _a, r in minutes]},
        unit=" min",
    )
    # Built only from numbers and escaped labels by console.charts.
    return {"per_day": mark_safe(per_day), "trend": mark_safe(trend)}  # noqa: S308


@admin.register(GoNoGoReport)
class GoNoGoReportAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(ConsolePerm.VIEW_GO_NO_GO))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="console_gonogoreport_changelist"),
            path("report.md", wrap(self.markdown_view), name="console_gonogoreport_markdown"),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        period, problem = _period(request)
        report = go_no_go_report(period=period, with_charts=True)
        rows = [
            {
                "severity": severity,
                "opened": report.incidents_by_severity.get(severity, 0),
                "compliance": percent(report.sla["per_severity"][severity]["compliance"]),
                "in_time": report.sla["per_severity"][severity]["in_time"],
                "judged": report.sla["per_severity"][severity]["judged"],
                "mtta": duration(report.sla["per_severity"][severity]["mtta_seconds"]),
                "mttr": duration(report.sla["per_severity"][severity]["mttr_seconds"]),
            }
            for severity in Severity.values
        ]
        query = f"?from={period.start.isoformat()}&to={period.end.isoformat()}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Go/No-Go report"),
            "report": report,
            "rows": rows,
            "problem": problem,
            "charts": report_charts(report),
            "overall": percent(report.sla["compliance"]),
            "threshold": percent(report.threshold),
            "mtta": duration(report.mtta_seconds),
            "mttr": duration(report.mttr_seconds),
            "markdown_url": reverse("admin:console_gonogoreport_markdown") + query,
            "api_url": reverse("api:reports-go-no-go") + query,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/console/go_no_go.html", context)

    def markdown_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        period, _problem = _period(request)
        text = render_markdown(go_no_go_report(period=period))
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        name = f"go-no-go-{period.start.isoformat()}-{period.end.isoformat()}.md"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

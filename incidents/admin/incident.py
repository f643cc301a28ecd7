"""The incident pages of the operator console: list, open, change page with checklist, timeline,
the incident log and the life-cycle actions the viewer's role allows (each confirmed first)."""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.admin import CappedCountPaginator, choices_filter
from core.admin_actions import DomainErrorMessageAdmin, confirm_and_run
from core.forms import OneLineFieldsMixin
from incidents import selectors, services
from incidents.admin import forms as f
from incidents.admin.actions import ACTIONS
from incidents.enums import Source
from incidents.models import (
    ChecklistStep,
    Incident,
    Notification,
    SeverityPolicy,
    TimelineEntry,
)
from incidents.panels import incident_panels
from incidents.permissions import IncidentPerm
from incidents.services import LOG_FIELDS
from incidents.transitions import IncidentAction, incident_actions_available, transition_perm


class IncidentForm(OneLineFieldsMixin, forms.ModelForm):  # type: ignore[type-arg]
    one_line_fields = ("title",)


class IncidentAddForm(IncidentForm):
    affected_deals_text = forms.CharField(
        label=_("Affected deals"),
        required=False,
        help_text=_("Platform deal ids, separated by spaces, commas or new lines."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Incident
        fields = ("title", "severity", "category", "description", "impact")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["severity"].help_text = f.severity_policy_help()


EscalationLevelFilter = choices_filter(
    "escalation_level", _("escalation level"), [(str(n), f"L{n}") for n in range(1, 5)]
)


@admin.register(Incident)
class IncidentAdmin(DomainErrorMessageAdmin):
    change_form_template = "admin/incidents/incident/change_form.html"
    list_display = (
        "number_label",
        "severity",
        "title",
        "status",
        "escalation_level",
        "response_due_at",
        "escalation_due_at",
        "breach",
        "owner",
        "opened_at",
    )
    list_display_links = ("number_label", "title")
    # A fixed vocabulary for the level: a plain field filter would run SELECT DISTINCT over the
    # whole table on every page. The capped paginator never counts more than COUNT_CAP rows.
    list_filter = ("status", "severity", "category", EscalationLevelFilter, "source")
    paginator = CappedCountPaginator
    list_select_related = ("reported_by", "acknowledged_by")
    search_fields = ("title", "dedup_key", "description")
    show_full_result_count = False
    ordering = ("-number",)
    list_per_page = 50

    @admin.display(description=_("number"), ordering="number")
    def number_label(self, obj: Incident) -> str:
        return obj.label

    @admin.display(description=_("SLA"))
    def breach(self, obj: Incident) -> str:
        # The response SLA is the SLA; resolving after the escalation point is not a breach.
        return str(_("acknowledged late")) if obj.acknowledged_late else "—"

    @admin.display(description=_("owner"))
    def owner(self, obj: Incident) -> str:
        person = obj.acknowledged_by or obj.reported_by
        if person is not None:
            return person.get_username()
        return str(Source(obj.source).label)

    # --- search by number ("7", "#007", "Incident #007") ------------------------------------
    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Incident], search_term: str
    ) -> tuple[QuerySet[Incident], bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        digits = search_term.strip().lower().removeprefix("incident").strip().lstrip("#")
        if digits.isdigit():
            results = results | queryset.filter(number=int(digits))
        return results, duplicates

    # --- permissions: the same ones the services check --------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(IncidentPerm.ADD)

    def has_change_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        if obj is None:
            return request.user.has_perm(transition_perm(IncidentAction.EDIT_LOG))
        return IncidentAction.EDIT_LOG in incident_actions_available(
            incident=obj, user=request.user
        )

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        return False  # incidents are records

    # --- forms ------------------------------------------------------------------------------
    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["form"] = IncidentAddForm if obj is None else IncidentForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": (
                            "title",
                            "severity",
                            "category",
                            "description",
                            "impact",
                            "affected_deals_text",
                        )
                    },
                )
            ]
        return [
            (
                None,
                {
                    "fields": (
                        "title",
                        ("severity", "status", "escalation_level"),
                        "severity_policy",
                        "category",
                        "playbook_reference",
                        ("opened_at", "acknowledged_at", "resolved_at", "closed_at"),
                        ("response_due_at", "escalation_due_at"),
                        ("acknowledged_late", "resolved_late"),
                        "notifications_panel",
                        ("reported_by", "acknowledged_by", "resolved_by", "source"),
                        ("affected_deals", "dedup_key", "bug_tracker_url"),
                    )
                },
            ),
            (
                _("Incident log"),
                {"fields": ("description", "impact", *LOG_FIELDS[3:])},
            ),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        if obj is None:
            return ()
        everything = [
            "severity",
            "status",
            "escalation_level",
            "severity_policy",
            "category",
            "playbook_reference",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "response_due_at",
            "escalation_due_at",
            "acknowledged_late",
            "resolved_late",
            "notifications_panel",
            "reported_by",
            "acknowledged_by",
            "resolved_by",
            "source",
            "affected_deals",
            "dedup_key",
            "bug_tracker_url",
        ]
        if not self.has_change_permission(request, obj):
            everything += list(LOG_FIELDS)
        return everything

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        user = cast(User, request.user)
        if not change:
            raw = form.cleaned_data.get("affected_deals_text", "")
            deals = [d for d in raw.replace(",", " ").split() if d]
            opened = services.incident_open(
                title=obj.title,
                severity=obj.severity,
                category=obj.category,
                description=obj.description,
                impact=obj.impact,
                affected_deals=deals,
                actor=user,
                source=Source.PERSON,
            )
            obj.pk, obj.number = opened.pk, opened.number
            return
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in LOG_FIELDS
        }
        services.incident_update_log(incident=obj, actor=user, changes=changes)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Incident | None = None,
    ) -> HttpResponse:
        if obj is not None:
            available = incident_actions_available(incident=obj, user=request.user)
            context["incident_actions"] = [
                (name, action.label, reverse(self._url("action"), args=[obj.pk, name]))
                for name, action in ACTIONS.items()
                if name in available
            ]
            context["incident_log_url"] = reverse(self._url("log"), args=[obj.pk])
            # The parts other apps add (deadlines, exports, blast radius, step buttons).
            panels = incident_panels(incident=obj, user=request.user)
            context["incident_panels"] = panels
            may_tick = IncidentAction.TICK in available
            context["checklist"] = [
                (
                    step,
                    reverse(self._url("tick"), args=[obj.pk, step.pk]) if may_tick else "",
                    None if step.done else panels.step_buttons.get(step.bound_action),
                )
                for step in ChecklistStep.objects.filter(incident=obj)
                .select_related("done_by")
                .order_by("position")
            ]
            context["timeline"] = TimelineEntry.objects.filter(incident=obj).order_by("at", "id")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the "opened" timeline row is the record

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the "postmortem_edited" timeline row is the record

    # --- read-only panels -------------------------------------------------------------------
    @admin.display(description=_("severity policy"))
    def severity_policy(self, obj: Incident) -> SafeString:
        policy = SeverityPolicy.objects.filter(severity=obj.severity).first()
        if policy is None:
            return format_html("{}", "—")
        return format_html(
            "<strong>{}: {}</strong> — response {}<br>{}<br><em>{}</em>",
            policy.severity,
            policy.name,
            policy.response_time,
            policy.definition.replace("\n", " "),
            policy.impact.replace("\n", " "),
        )

    @admin.display(description=_("notifications"))
    def notifications_panel(self, obj: Incident) -> SafeString:
        rows = list(Notification.objects.filter(incident=obj).order_by("created_at", "pk")[:50])
        if not rows:
            return format_html("{}", "—")
        return format_html_join(
            format_html("{}", "\n"),
            "<div>{} · L{} · {} → {} · <strong>{}</strong>{}{}</div>",
            (
                (
                    f"{n.created_at:%Y-%m-%d %H:%M}",
                    n.level,
                    n.channel,
                    n.recipient,
                    n.status,
                    f" ({n.attempts} attempts: {n.last_error})" if n.last_error else "",
                    " · roster gap" if n.roster_gap else "",
                )
                for n in rows
            ),
        )

    @admin.display(description=_("playbook"))
    def playbook_reference(self, obj: Incident) -> SafeString:
        playbook = (
            selectors.playbooks_with_steps().filter(kind="solution", category=obj.category).first()
        )
        if playbook is None:
            return format_html("{}", "—")
        return format_html(
            "<strong>{}</strong><br>Symptom: {}<br>Cause: {}<br>Prevention: {}",
            playbook.title,
            playbook.symptom,
            playbook.cause,
            playbook.prevention.replace("\n", " "),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return (
            super()
            .get_queryset(request)
            .select_related("reported_by", "acknowledged_by", "resolved_by")
        )

    # --- custom views -----------------------------------------------------------------------
    def _url(self, name: str) -> str:
        return f"admin:incidents_incident_{name}"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/act/<str:action>/",
                wrap(self.action_view),
                name="incidents_incident_action",
            ),
            path(
                "<int:object_id>/tick/<int:step_id>/",
                wrap(self.tick_view),
                name="incidents_incident_tick",
            ),
            path("<int:object_id>/log.md", wrap(self.log_view), name="incidents_incident_log"),
            *super().get_urls(),
        ]

    def _incident(self, request: HttpRequest, object_id: int) -> Incident:
        incident = self.get_queryset(request).filter(pk=object_id).first()
        if incident is None:
            raise Http404
        if not self.has_view_permission(request, incident):
            raise PermissionDenied
        return incident

    def _confirm(
        self,
        request: HttpRequest,
        incident: Incident,
        title: Any,
        form: forms.Form,
        run: Callable[[dict[str, Any]], object],
    ) -> HttpResponse:
        change_url = reverse("admin:incidents_incident_change", args=[incident.pk])
        return confirm_and_run(
            self,
            request,
            run=run,
            success=str(_("%(label)s: done.") % {"label": incident.label}),
            done_url=change_url,
            error_url=change_url,
            form=form,
            title=f"{title}: {incident}",
            obj=incident,
            cancel_url=change_url,
            prompt=_("Please confirm."),
        )

    def action_view(self, request: HttpRequest, object_id: int, action: str) -> HttpResponse:
        if action not in ACTIONS:
            raise Http404
        act = IncidentAction(action)
        spec = ACTIONS[act]
        incident = self._incident(request, object_id)
        if not request.user.has_perm(transition_perm(act)):
            raise PermissionDenied
        if request.method == "POST":
            form = spec.form(request.POST)
        else:  # the console's runbook buttons may preset a field (?level=3, ?severity=SEV1)
            form = spec.form(initial=request.GET.dict())
        user = cast(User, request.user)
        return self._confirm(
            request, incident, spec.label, form, lambda data: spec.run(incident, user, data)
        )

    def tick_view(self, request: HttpRequest, object_id: int, step_id: int) -> HttpResponse:
        incident = self._incident(request, object_id)
        if not request.user.has_perm(transition_perm(IncidentAction.TICK)):
            raise PermissionDenied
        step = ChecklistStep.objects.filter(incident=incident, pk=step_id).first()
        if step is None:
            raise Http404
        form = f.TickForm(request.POST if request.method == "POST" else None)
        user = cast(User, request.user)
        return self._confirm(
            request,
            incident,
            _("Tick step %(pos)d “%(title)s”") % {"pos": step.position, "title": step.title},
            form,
            lambda data: services.checklist_step_tick(
                incident=incident, step_id=step.pk, actor=user, **data
            ),
        )

    def log_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        incident = self._incident(request, object_id)
        text = selectors.incident_log_markdown(incident=incident)
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        filename = f"incident-{incident.number:03d}.md"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

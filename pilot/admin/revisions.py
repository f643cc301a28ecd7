"""Config revisions: history, diffs, kill switch, pause and template revert."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.admin_actions import confirm_and_run
from pilot import selectors, services
from pilot.admin.common import (
    ReasonForm,
    RevertForm,
    user_of,
)
from pilot.models import (
    ConfigRevision,
)
from pilot.permissions import PilotPerm

# --- revisions ------------------------------------------------------------------------------


@admin.register(ConfigRevision)
class ConfigRevisionAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "state",
        "template_version",
        "kind",
        "created_at",
        "created_by",
        "incident",
        "short_reason",
    )
    list_select_related = ("created_by", "incident")
    list_filter = ("state", "kind", "template_version")
    search_fields = ("reason",)
    show_full_result_count = False
    readonly_fields = (
        "number",
        "parent",
        "kind",
        "state",
        "enabled",
        "template_version",
        "flags",
        "created_at",
        "created_by",
        "reason",
        "incident",
        "change_request",
        "diff_with_parent",
    )
    change_list_template = "pilot/admin/configrevision_change_list.html"

    @admin.display(description=_("reason"))
    def short_reason(self, obj: ConfigRevision) -> str:
        return obj.reason[:80]

    @admin.display(description=_("changes from the parent"))
    def diff_with_parent(self, obj: ConfigRevision) -> str:
        if obj.parent is None:
            return "—"
        changes = selectors.revision_diff(before=obj.parent, after=obj)
        url = reverse("admin:pilot_configrevision_diff")
        text = "; ".join(f"{c.field}: {c.before} → {c.after}" for c in changes) or "—"
        return format_html(
            '{} <a href="{}?a={}&b={}">{}</a>', text, url, obj.number - 1, obj.number, _("diff")
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("diff/", wrap(self.diff_view), name="pilot_configrevision_diff"),
            path("kill-switch/", wrap(self.kill_switch_view), name="pilot_kill_switch"),
            path("pause/", wrap(self.pause_view), name="pilot_pause"),
            path("revert-template/", wrap(self.revert_view), name="pilot_revert_template"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        user = request.user
        extra = {
            "can_disable": user.has_perm(PilotPerm.DISABLE),
            "can_pause": user.has_perm(PilotPerm.PAUSE),
            "can_revert": user.has_perm(PilotPerm.REVERT_TEMPLATE),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def diff_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        revisions = list(
            ConfigRevision.objects.order_by("-number").values_list("number", flat=True)
        )
        a, b = request.GET.get("a", ""), request.GET.get("b", "")
        changes, before, after = None, None, None
        if a.isdigit() and b.isdigit():
            before = selectors.revision_get(number=int(a))
            after = selectors.revision_get(number=int(b))
            if before and after:
                changes = selectors.revision_diff(before=before, after=after)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Compare config revisions"),
            "revisions": revisions,
            "a": a,
            "b": b,
            "before": before,
            "after": after,
            "changes": changes,
        }
        return TemplateResponse(request, "pilot/admin/revision_diff.html", context)

    def _form_action(
        self,
        request: HttpRequest,
        *,
        perm: str,
        form_class: type[ReasonForm],
        title: str,
        submit: str,
        call: Any,
        success: str,
    ) -> HttpResponse:
        if not request.user.has_perm(perm):
            raise PermissionDenied
        form = form_class(request.POST or None, initial=request.GET.dict())  # ?incident=N
        current = selectors.pilot_config_current()
        changelist = reverse("admin:pilot_configrevision_changelist")
        return confirm_and_run(
            self,
            request,
            run=call,
            success=success,
            done_url=changelist,
            form=form,
            title=title,
            cancel_url=changelist,
            summary=[
                (_("Current state"), current.state),
                (_("Template version"), current.template_version),
                (_("Revision"), f"r{current.revision}"),
            ],
            submit=submit,
            danger=True,
        )

    def kill_switch_view(self, request: HttpRequest) -> HttpResponse:
        return self._form_action(
            request,
            perm=PilotPerm.DISABLE,
            form_class=ReasonForm,
            title=str(_("Disable the pilot (kill switch)")),
            submit=str(_("Yes, disable new pilot deals now")),
            call=lambda d: services.pilot_disable(actor=user_of(request), **d),
            success=str(_("The pilot is disabled.")),
        )

    def pause_view(self, request: HttpRequest) -> HttpResponse:
        return self._form_action(
            request,
            perm=PilotPerm.PAUSE,
            form_class=ReasonForm,
            title=str(_("Pause the pilot")),
            submit=str(_("Yes, pause the pilot")),
            call=lambda d: services.pilot_pause(actor=user_of(request), **d),
            success=str(_("The pilot is paused.")),
        )

    def revert_view(self, request: HttpRequest) -> HttpResponse:
        return self._form_action(
            request,
            perm=PilotPerm.REVERT_TEMPLATE,
            form_class=RevertForm,
            title=str(_("Revert the template version")),
            submit=str(_("Yes, revert for new deals")),
            call=lambda d: services.pilot_revert_template(
                actor=user_of(request),
                version=d["version"].label,
                reason=d["reason"],
                incident=d["incident"],
            ),
            success=str(_("Template version reverted. Existing deals keep their version.")),
        )

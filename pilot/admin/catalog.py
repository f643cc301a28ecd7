"""Template versions, feature flags, rollback records and webhooks."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.admin_actions import DomainErrorMessageAdmin, confirm_and_run
from core.secret_admin import SigningSecretAdminMixin
from pilot import selectors, services
from pilot.admin.common import (
    ReasonForm,
    per_request,
    user_of,
)
from pilot.enums import CODE_ROLLBACK_STEPS, TemplateStatus
from pilot.models import (
    FeatureFlag,
    RollbackRecord,
    TemplateVersion,
    WebhookDelivery,
    WebhookSubscription,
)
from pilot.permissions import PilotPerm
from pilot.services.catalog import (
    FEATURE_FLAG_FIELDS,
    TEMPLATE_VERSION_FIELDS,
    WEBHOOK_SUBSCRIPTION_FIELDS,
)

# --- template versions and flags ------------------------------------------------------------


def _changes(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: form.cleaned_data[n] for n in names if n in form.changed_data}


class _SavedByServices(DomainErrorMessageAdmin):
    """Catalog rows are written by pilot.services (permission, validation, the rule, the audit
    event); ``save_model``/``delete_model`` only call them, and a refusal is shown, never a 500."""


@admin.register(TemplateVersion)
class TemplateVersionAdmin(_SavedByServices):
    list_display = ("label", "sequence", "status", "open_deals", "is_current", "description")
    list_filter = ("status",)
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        if not services.template_version_frozen(obj):
            return ("label", "sequence")
        return ("label", "sequence", "body")  # the body of a version in use never changes

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            services.template_version_update(
                actor=user_of(request),
                version=obj,
                changes=_changes(form, TEMPLATE_VERSION_FIELDS),
            )
            return
        d = form.cleaned_data
        created = services.template_version_create(
            actor=user_of(request),
            label=d["label"],
            sequence=d["sequence"],
            description=d.get("description", ""),
            body=d.get("body"),
            status=d.get("status", TemplateStatus.DRAFT),
        )
        obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        per_request.open_deals = selectors.open_deal_counts()
        per_request.current = selectors.pilot_config_current().template_version
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("open deals"))
    def open_deals(self, obj: TemplateVersion) -> Any:
        counts = getattr(per_request, "open_deals", None)
        return "n/a" if counts is None else counts.get(obj.label, 0)

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, obj: TemplateVersion) -> bool:
        return bool(getattr(per_request, "current", None) == obj.label)


class FlagOffForm(ReasonForm):
    pass


@admin.register(FeatureFlag)
class FeatureFlagAdmin(_SavedByServices):
    list_display = ("name", "value", "description", "switch_off")
    search_fields = ("name",)
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            services.feature_flag_update(
                actor=user_of(request), flag=obj, changes=_changes(form, FEATURE_FLAG_FIELDS)
            )
            return
        d = form.cleaned_data
        created = services.feature_flag_create(
            actor=user_of(request), name=d["name"], description=d.get("description", "")
        )
        obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        per_request.flags = selectors.pilot_config_current().flags
        per_request.can_flag_off = request.user.has_perm(PilotPerm.FLAG_OFF)
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("value now"), boolean=True)
    def value(self, obj: FeatureFlag) -> bool:
        return bool(getattr(per_request, "flags", {}).get(obj.name, False))

    @admin.display(description=_("switch off"))
    def switch_off(self, obj: FeatureFlag) -> str:
        if not getattr(per_request, "can_flag_off", False) or not self.value(obj):
            return "—"
        url = reverse("admin:pilot_featureflag_off", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Switch off…"))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/off/", wrap(self.off_view), name="pilot_featureflag_off"),
            *super().get_urls(),
        ]

    def off_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm(PilotPerm.FLAG_OFF):
            raise PermissionDenied
        flag = get_object_or_404(FeatureFlag, pk=pk)
        changelist = reverse("admin:pilot_featureflag_changelist")
        return confirm_and_run(
            self,
            request,
            run=lambda d: services.pilot_flag_off(actor=user_of(request), flag=flag.name, **d),
            success=str(_("Flag %(f)s is off.") % {"f": flag.name}),
            done_url=changelist,
            form=FlagOffForm(request.POST or None),
            title=str(_("Switch flag %(f)s off") % {"f": flag.name}),
            cancel_url=changelist,
            summary=[(_("Flag"), flag.name), (_("Description"), flag.description)],
            submit=str(_("Yes, switch it off now")),
            danger=True,
        )


# --- rollbacks and webhooks -----------------------------------------------------------------


@admin.register(RollbackRecord)
class RollbackRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "incident",
        "from_revision",
        "to_revision",
        "from_commit",
        "to_commit",
        "recorded_by",
        "verified_by",
        "recorded_at",
    )
    list_select_related = ("incident", "from_revision", "to_revision", "recorded_by", "verified_by")
    list_filter = ("kind",)
    show_full_result_count = False
    readonly_fields = ("checklist_table",)
    change_list_template = "pilot/admin/rollbackrecord_change_list.html"

    @admin.display(description=_("runbook checklist"))
    def checklist_table(self, obj: RollbackRecord) -> str:
        return format_html_join(
            "",
            "<div>{} {} {}</div>",
            (
                ("☑" if step["done"] else "☐", step["title"], step.get("done_by") or "")
                for step in obj.checklist
            ),
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {
            "can_record": request.user.has_perm(PilotPerm.ADD_ROLLBACK),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("record-code/", wrap(self.record_code_view), name="pilot_rollback_record_code"),
            *super().get_urls(),
        ]

    def record_code_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(PilotPerm.ADD_ROLLBACK):
            raise PermissionDenied
        form = CodeRollbackForm(request.POST or None, initial=request.GET.dict())  # ?incident=
        changelist = reverse("admin:pilot_rollbackrecord_changelist")
        return confirm_and_run(
            self,
            request,
            run=lambda d: services.rollback_record_code(actor=user_of(request), **d),
            success=str(_("Code rollback recorded.")),
            done_url=changelist,
            form=form,
            title=str(_("Record a code rollback")),
            cancel_url=changelist,
            summary=[
                (_("Runbook"), _("Code rollback: only if a config rollback is insufficient."))
            ],
            submit=str(_("Record the rollback")),
        )


class CodeRollbackForm(ReasonForm):
    from_commit = forms.CharField(label=_("From commit (the bad one)"), max_length=64)
    to_commit = forms.CharField(label=_("To commit (last known good)"), max_length=64)
    what_reverted = forms.CharField(label=_("What was reverted"), widget=forms.Textarea)
    impact_on_deals = forms.CharField(label=_("Impact on existing deals"), widget=forms.Textarea)
    verified_by = forms.ModelChoiceField(
        label=_("Verified by"),
        queryset=User.objects.filter(is_staff=True, is_active=True).order_by("username"),
        required=False,
    )
    steps_done = forms.MultipleChoiceField(
        label=_("Runbook steps done"),
        choices=CODE_ROLLBACK_STEPS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SigningSecretAdminMixin, _SavedByServices):
    fields = ("name", "url", "secret", "active", "events", "description")
    list_display = ("name", "url", "active", "events", "created_at")
    list_filter = ("active",)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The form already settled the secret (typed, kept or generated): pass what it holds.
        values = {n: getattr(obj, n) for n in WEBHOOK_SUBSCRIPTION_FIELDS}
        if change:
            services.webhook_subscription_update(
                actor=user_of(request), subscription=obj, changes=values
            )
            return
        created = services.webhook_subscription_create(actor=user_of(request), **values)
        obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.webhook_subscription_delete(actor=user_of(request), subscription=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for subscription in queryset:
            services.webhook_subscription_delete(actor=user_of(request), subscription=subscription)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "subscription",
        "event",
        "revision",
        "checkpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "sent_at",
    )
    list_select_related = ("subscription", "revision", "checkpoint")
    list_filter = ("status", "event")
    show_full_result_count = False

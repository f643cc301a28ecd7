"""Severity policies and playbooks: everyone reads them; only the decision owner edits, through
audited services. The timeline is read-only."""

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin import CappedCountPaginator, ReadOnlyAdmin
from core.admin_actions import DomainErrorMessageAdmin
from incidents import services
from incidents.models import Playbook, PlaybookStep, SeverityPolicy, TimelineEntry
from incidents.permissions import IncidentPerm
from incidents.services.policy import PLAYBOOK_FIELDS, POLICY_FIELDS, STEP_FIELDS


class ReasonedForm(forms.ModelForm):  # type: ignore[type-arg]
    change_reason = forms.CharField(
        label=_("Reason for this change"),
        required=False,
        help_text=_("Recorded in the audit trail with the before/after values."),
    )


class _OwnerEditable(DomainErrorMessageAdmin):
    edit_perm: IncidentPerm
    form = ReasonedForm

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the runbook defines them (seeded); edit, don't multiply

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(self.edit_perm)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service wrote the audit event


@admin.register(SeverityPolicy)
class SeverityPolicyAdmin(_OwnerEditable):
    edit_perm = IncidentPerm.CHANGE_POLICY
    list_display = ("severity", "name", "response_time", "immediate_actions")
    list_select_related = ("immediate_actions",)
    fields = ("severity", *POLICY_FIELDS, "change_reason")
    readonly_fields = ("severity",)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in POLICY_FIELDS}
        services.severity_policy_update(
            policy=SeverityPolicy.objects.get(pk=obj.pk),
            actor=cast(User, request.user),
            changes=changes,
            reason=form.cleaned_data.get("change_reason", ""),
        )


class PlaybookStepInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PlaybookStep
    fields = STEP_FIELDS
    extra = 0
    ordering = ("position",)

    def _may(self, request: HttpRequest) -> bool:
        return request.user.has_perm(IncidentPerm.CHANGE_PLAYBOOK)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)


@admin.register(Playbook)
class PlaybookAdmin(_OwnerEditable):
    edit_perm = IncidentPerm.CHANGE_PLAYBOOK
    list_display = ("title", "kind", "category", "position")
    list_filter = ("kind", "category")
    search_fields = ("title", "symptom", "cause")
    fields = ("slug", "kind", *PLAYBOOK_FIELDS, "change_reason")
    readonly_fields = ("slug", "kind")
    inlines = (PlaybookStepInline,)
    show_full_result_count = False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in PLAYBOOK_FIELDS}
        self._reason = form.cleaned_data.get("change_reason", "")
        if changes:
            services.playbook_update(
                playbook=Playbook.objects.get(pk=obj.pk),
                actor=cast(User, request.user),
                changes=changes,
                reason=self._reason,
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Steps go through the audited services, never ``formset.save()``."""
        user = cast(User, request.user)
        reason = form.cleaned_data.get("change_reason", "")
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for step_form in formset.deleted_forms:
            if step_form.instance.pk:
                services.playbook_step_delete(step=step_form.instance, actor=user, reason=reason)
                formset.deleted_objects.append(step_form.instance)
        for step_form in formset.forms:
            if step_form in formset.deleted_forms or not step_form.has_changed():
                continue
            data = {
                n: step_form.cleaned_data[n] for n in STEP_FIELDS if n in step_form.cleaned_data
            }
            if step_form.instance.pk:
                changes = {n: data[n] for n in step_form.changed_data if n in STEP_FIELDS}
                original = PlaybookStep.objects.get(pk=step_form.instance.pk)
                step = services.playbook_step_update(
                    step=original, actor=user, changes=changes, reason=reason
                )
                formset.changed_objects.append((step, list(changes)))
            else:
                step = services.playbook_step_create(
                    playbook=form.instance, actor=user, fields=data, reason=reason
                )
                formset.new_objects.append(step)


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "incident", "kind", "actor_label", "message")
    list_select_related = ("incident",)
    list_filter = ("kind",)
    search_fields = ("message", "actor_label")
    paginator = CappedCountPaginator
    show_full_result_count = False

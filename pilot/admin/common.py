"""Forms and helpers shared by the pilot admin pages."""

import threading
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from pilot import selectors
from pilot.enums import ChangeAction, TemplateStatus
from pilot.models import (
    TemplateVersion,
)

per_request = threading.local()  # per-request values shared by a changelist's columns


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    incident = forms.IntegerField(
        label=_("Incident number"), required=False, min_value=1, help_text=_("Optional.")
    )

    def clean_incident(self) -> Any:
        number = self.cleaned_data.get("incident")
        if number is None:
            return None
        incident = selectors.incident_by_number(number=number)
        if incident is None:
            raise forms.ValidationError(_("No incident #%(n)d.") % {"n": number})
        return incident


class RevertForm(ReasonForm):
    version = forms.ModelChoiceField(
        label=_("Template version"),
        queryset=TemplateVersion.objects.filter(status=TemplateStatus.ACTIVE),
        to_field_name="label",
    )


class ChangeRequestForm(ReasonForm):
    action = forms.ChoiceField(label=_("Action"), choices=ChangeAction.choices)
    params = forms.JSONField(
        label=_("Parameters"),
        required=False,
        initial=dict,
        help_text=_('{"version": "v2"}, {"flag": "name"} or {"revision": 3}; {} otherwise.'),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


def user_of(request: HttpRequest) -> User:
    """The admin only serves logged-in staff (``admin_site.admin_view``)."""
    return cast(User, request.user)


def confirm_page(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    *,
    title: str,
    form: forms.Form | None,
    summary: list[tuple[Any, Any]],
    submit: str,
    danger: bool = False,
    changes: Any = None,
) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        "form": form,
        "summary": summary,
        "submit": submit,
        "danger": danger,
        "changes": changes,
    }
    return TemplateResponse(request, "pilot/admin/confirm.html", context)


def run_service(
    model_admin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    call: Any,
    success: str,
) -> bool:
    try:
        call()
    except DomainError as exc:
        model_admin.message_user(request, exc.message, messages.ERROR)
        return False
    model_admin.message_user(request, success, messages.SUCCESS)
    return True

"""Forms and helpers shared by the pilot admin pages."""

import threading
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

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

"""Forms of the incident admin's confirmation pages."""

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from incidents.enums import Severity, criterion_choices
from incidents.models import Playbook, SeverityPolicy


def severity_policy_help() -> str:
    """Every severity's definition, impact and response time, for whoever picks a severity."""
    policies = SeverityPolicy.objects.order_by("severity")
    return format_html(
        '<div class="severity-policies">{}</div>',
        format_html_join(
            "",
            "<p><strong>{}: {}</strong> — response {}<br>{}<br><em>{}</em></p>",
            (
                (
                    p.severity,
                    p.name,
                    p.response_time,
                    p.definition.replace("\n", " "),
                    p.impact.replace("\n", " "),
                )
                for p in policies
            ),
        ),
    )


class ConfirmForm(forms.Form):
    pass


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class DeferForm(forms.Form):
    bug_tracker_url = forms.URLField(
        label=_("Bug-tracker link"), max_length=500, assume_scheme="https"
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))


class EscalateForm(forms.Form):
    # Grouped by the level each criterion leaves, as the runbook's escalation path lists them.
    criterion = forms.ChoiceField(label=_("Escalation criterion"), choices=criterion_choices)
    level = forms.TypedChoiceField(
        label=_("To level"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("next level up"))] + [(n, f"L{n}") for n in range(2, 5)],
    )
    note = forms.CharField(label=_("Note"), required=False)


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=_("New severity"), choices=Severity)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["severity"].help_text = severity_policy_help()


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 4}))


class PlaybookForm(forms.Form):
    playbook = forms.ModelChoiceField(
        label=_("Playbook"), queryset=Playbook.objects.order_by("kind", "position")
    )


class TickForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False)

"""The one way the admin handles a webhook receiver's signing secret (incident webhook endpoints,
config-change subscriptions).

- Write-only: the field never renders a value, not even back to the person who typed it, and
  people who may only view the row do not get the field at all.
- Left empty on a change, the current secret stays; left empty on creation, one is generated.
- *Rotate* generates a new one. A generated secret is shown once, after the save succeeded (the
  receiver's operator has to be given it); it cannot be read again, only rotated.
- The URL is checked by the outbound address policy when it is saved, with the same rule the
  sender applies before connecting."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core import delivery
from core.delivery import address_problem

SECRET_BYTES = 32
_ISSUED = "_issued_signing_secret"  # request attribute: the secret to show once


def new_secret() -> str:
    """A generated signing secret: Standard Webhooks' ``whsec_`` form (core.delivery's rule)."""
    return delivery.new_secret(SECRET_BYTES)


class SigningSecretForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Write-only. Leave empty to keep the current secret (a new endpoint gets a "
            "generated one, shown once after saving)."
        ),
    )
    rotate_secret = forms.BooleanField(
        label=_("Rotate the signing secret"),
        required=False,
        help_text=_("Generate a new secret on save; it is shown once. The receiver needs it."),
    )

    issued_secret = ""

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        problem = address_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed = str(data.get("secret") or "")
        if data.get("rotate_secret") and typed:
            raise forms.ValidationError(_("Type a new secret or rotate it, not both."))
        if data.get("rotate_secret") or (not typed and self.instance.pk is None):
            self.issued_secret = new_secret()
            data["secret"] = self.issued_secret
        elif not typed:
            data["secret"] = self.instance.secret  # unchanged
        return data


class SigningSecretAdminMixin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Put first in the bases of a ModelAdmin whose model has ``url`` and ``secret``."""

    form = SigningSecretForm

    def _may_edit(self, request: HttpRequest, obj: Any) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return self.has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = [f for f in super().get_fields(request, obj) if f != "rotate_secret"]
        if not self._may_edit(request, obj):
            return [f for f in fields if f != "secret"]  # viewers never see the secret
        if obj is not None and "secret" in fields:
            fields.insert(fields.index("secret") + 1, "rotate_secret")
        return fields

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        obj = super().save_form(request, form, change)
        if getattr(form, "issued_secret", ""):
            setattr(request, _ISSUED, form.issued_secret)
        return obj

    def _show_issued_secret(self, request: HttpRequest) -> None:
        issued = getattr(request, _ISSUED, "")
        if issued:
            self.message_user(
                request,
                _("Copy this signing secret now; it is not shown again: %(secret)s")
                % {"secret": issued},
                messages.WARNING,
            )

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        self._show_issued_secret(request)  # only reached once the row was saved
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        self._show_issued_secret(request)
        return super().response_change(request, obj)

"""Admin actions that change state: one confirmation page and one DomainError → message rule.

Modelled on Django's own ``delete_selected``: a GET shows a page built on
``admin_site.each_context`` from the first template found of
``admin/<app>/<model>/<name>.html``, ``admin/<app>/<name>.html`` and ``admin/<name>.html``
(``templates/admin/action_confirmation.html`` is the base every override extends), with the
form, the object and a way back. The POST re-validates, calls the service and reports with
``message_user``. A service refusing (``DomainError``) is never a 500 in the admin: its message
is shown, wherever it is raised — a confirmation page or a change form."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db.models import Model
from django.db.models.options import Options
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError

CONFIRMATION_TEMPLATE = "action_confirmation"

T = TypeVar("T")
ModelAdmin: TypeAlias = "admin.ModelAdmin[Any]"


def report_domain_error(model_admin: ModelAdmin, request: HttpRequest, exc: DomainError) -> None:
    """The one place a service's refusal becomes an admin message."""
    model_admin.message_user(request, exc.message, messages.ERROR)


class DomainErrorMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A change form whose service refuses the save shows the refusal and reloads the page
    (Django's ``changeform_view`` already rolled the transaction back)."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            report_domain_error(self, request, exc)
            return HttpResponseRedirect(request.path)


def confirmation_templates(opts: Options[Any], name: str = CONFIRMATION_TEMPLATE) -> list[str]:
    """Django's lookup order for admin templates: the model's, the app's, the site's."""
    return [
        f"admin/{opts.app_label}/{opts.model_name}/{name}.html",
        f"admin/{opts.app_label}/{name}.html",
        f"admin/{name}.html",
    ]


def confirmation_page(
    model_admin: ModelAdmin,
    request: HttpRequest,
    *,
    title: Any,
    cancel_url: str,
    form: forms.Form | None = None,
    obj: Model | None = None,
    obj_url: str | None = None,
    summary: Sequence[tuple[Any, Any]] = (),
    prompt: Any = "",
    submit: Any = None,
    danger: bool = False,
    template: str = CONFIRMATION_TEMPLATE,
    **extra: Any,
) -> TemplateResponse:
    """The page that asks before an action; ``extra`` reaches the per-model override."""
    opts = model_admin.model._meta
    if obj is not None and obj_url is None and isinstance(obj, model_admin.model):
        obj_url = reverse(
            f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[obj.pk],
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "app_label": opts.app_label,
        "title": title,
        "form": form,
        "object": obj,
        "object_url": obj_url,
        "summary": summary,
        "prompt": prompt,
        "submit": submit or _("Confirm"),
        "danger": danger,
        "cancel_url": cancel_url,
        "media": model_admin.media + (form.media if form is not None else forms.Media()),
        **extra,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, confirmation_templates(opts, template), context)


def confirm_and_run(
    model_admin: ModelAdmin,
    request: HttpRequest,
    *,
    run: Callable[[dict[str, Any]], T],
    success: str | Callable[[T], str],
    done_url: str | Callable[[T], str],
    error_url: str | None = None,
    form: forms.Form | None = None,
    **page: Any,
) -> HttpResponse:
    """GET (or an invalid form): the confirmation page. A valid POST runs ``run`` with the
    form's cleaned data and goes to ``done_url``; when the service refuses, its message is
    shown and the user goes to ``error_url``, or sees the page again with what they typed."""
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            result = run(form.cleaned_data if form is not None else {})
        except DomainError as exc:
            report_domain_error(model_admin, request, exc)
            if error_url is not None:
                return HttpResponseRedirect(error_url)
        else:
            message = success(result) if callable(success) else success
            model_admin.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(done_url(result) if callable(done_url) else done_url)
    return confirmation_page(model_admin, request, form=form, **page)

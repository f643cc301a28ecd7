from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.admin_actions import DomainErrorMessageAdmin
from core.errors import DomainError
from core.forms import OneLineFieldsMixin
from core.models import ApiKey, AuditEvent
from core.permissions import CorePerm
from core.services import api_key_create, api_key_revoke

admin.site.site_header = _("Pilot Control Plane")
admin.site.site_title = _("Pilot Control Plane")
admin.site.index_title = _("Operator console")


# Big tables: a changelist counts at most this many rows.
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):  # type: ignore[type-arg]
    """Counts at most COUNT_CAP rows (``SELECT COUNT(*) FROM (... LIMIT cap)``): bounded work on
    tables of millions; narrow the list with filters or an exact-id search to reach older rows."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if isinstance(qs, QuerySet):
            return qs.order_by().values("pk")[:COUNT_CAP].count()
        return len(qs)


def choices_filter(field: str, title: Any, choices: list[tuple[str, Any]]) -> type[Any]:
    """A list filter offering a fixed vocabulary. ``list_filter = ("state",)`` on a field
    without ``choices`` runs ``SELECT DISTINCT state`` over the whole table on every page."""

    class ChoicesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    ChoicesFilter.title = title
    return ChoicesFilter


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Append-only records: viewable, never added, edited or deleted through the admin."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyForm(OneLineFieldsMixin, ModelForm):  # type: ignore[type-arg]
    one_line_fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(DomainErrorMessageAdmin):
    """Keys are minted by ``api_key_create``: a person's own, or a service account's; a key in
    another person's name is refused with a message (the service's rule)."""

    list_display = (
        "name",
        "prefix",
        "user",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_select_related = ("user",)
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = (
        "prefix",
        "created_at",
        "created_by",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    autocomplete_fields = ("user",)
    form = ApiKeyForm
    actions = ("revoke_keys",)
    show_full_result_count = False

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ["name", "user", "expires_at"]
        return ["name", "user", "expires_at", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ()
        return ("name", "user", "expires_at", *self.readonly_fields)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are immutable; revoke and create another

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked keys stay on record

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:  # type: ignore[type-arg]
        issued = api_key_create(
            name=obj.name,
            user=obj.user,
            created_by=request.user,
            expires_at=obj.expires_at,
            via="admin",
        )
        obj.pk = issued.api_key.pk
        obj.prefix = issued.api_key.prefix
        self.message_user(
            request,
            _("Copy this key now; it is not shown again: %(key)s") % {"key": issued.raw},
            messages.WARNING,
        )

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # the service wrote the audit event

    @admin.action(description=_("Revoke selected API keys"), permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for key in queryset:
            try:
                api_key_revoke(api_key=key, actor=request.user, reason="revoked in the admin")
                revoked += 1
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, _("%(n)d key(s) revoked.") % {"n": revoked})

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CorePerm.REVOKE_APIKEY)

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.has_perm(CorePerm.ADD_APIKEY):
            raise PermissionDenied
        return super().add_view(request, *args, **kwargs)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "target_type", "target_id", "actor", "reason")
    list_select_related = ("actor",)
    # No list_filter: these are free-form strings, a filter would SELECT DISTINCT the whole table.
    search_fields = ("=action", "=target_type", "=target_id", "reason")
    paginator = CappedCountPaginator
    show_full_result_count = False

"""The console's admin site: Django's ``AdminSite`` with the app list cached per process.

Every admin page builds the app list for its navigation sidebar (``each_context``): one reverse()
per model and app, a permission check per model and a sort of lazily translated names. For
this console's 36 models that measured 1.9 ms of every page (in process, on the bench data), a
fifth of an empty changelist. The list depends only on the registry, the user's permissions,
the active language and the script prefix, so it is built once per such combination and copied
out.

What this relies on: a ``ModelAdmin``'s ``has_{module,view,add,change,delete}_permission`` without
an object depends on the user's permissions only (``user.has_perm``), as every one here does. One
that looked at anything else (time, pilot state, a setting) would need its own key part below.
"""

from __future__ import annotations

import threading
from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.urls import get_script_prefix
from django.utils.translation import get_language

AppList = list[dict[str, Any]]


class ConsoleAdminSite(AdminSite):
    # Distinct permission sets x languages; real deployments have a handful of roles.
    app_list_cache_size = 256

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._app_lists: dict[tuple[Any, ...], AppList] = {}
        self._app_lists_lock = threading.Lock()
        self._app_list_hits = 0
        self._app_list_misses = 0

    # --- registry changes (tests, late registrations) forget every cached list ------------------
    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        super().register(model_or_iterable, admin_class, **options)
        self.app_list_cache_clear()

    def unregister(self, model_or_iterable: Any) -> None:
        super().unregister(model_or_iterable)
        self.app_list_cache_clear()

    def app_list_cache_clear(self) -> None:
        """Forget every cached list and reset the counters (as ``functools.lru_cache`` does)."""
        with self._app_lists_lock:
            self._app_lists.clear()
            self._app_list_hits = self._app_list_misses = 0

    def app_list_cache_info(self) -> dict[str, int]:
        return {
            "hits": self._app_list_hits,
            "misses": self._app_list_misses,
            "size": len(self._app_lists),
        }

    # --- the cached list ------------------------------------------------------------------------
    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> AppList:
        key = self._app_list_key(request, app_label)
        cached = self._app_lists.get(key)
        if cached is None:
            self._app_list_misses += 1
            cached = _resolved(super().get_app_list(request, app_label))
            with self._app_lists_lock:
                if len(self._app_lists) >= self.app_list_cache_size:
                    self._app_lists.clear()
                self._app_lists[key] = cached
        else:
            self._app_list_hits += 1
        return _copied(cached)

    def _app_list_key(self, request: HttpRequest, app_label: str | None) -> tuple[Any, ...]:
        user: Any = request.user
        if user.is_active and user.is_superuser:
            perms: frozenset[str] = frozenset()  # has_perm is True for every permission
        else:
            # The same (per-request cached) set the permission checks would read: no extra query.
            perms = frozenset(user.get_all_permissions()) if user.is_active else frozenset()
        return (
            app_label,
            bool(user.is_active),
            bool(user.is_staff),
            bool(user.is_superuser),
            perms,
            get_language(),
            get_script_prefix(),
        )


def _resolved(app_list: AppList) -> AppList:
    """The names as plain strings (the key holds the language): later renders and sorts do not
    go through gettext again."""
    return [
        {
            **app,
            "name": str(app["name"]),
            "models": [{**model, "name": str(model["name"])} for model in app["models"]],
        }
        for app in app_list
    ]


def _copied(app_list: AppList) -> AppList:
    """A copy a caller may change (Django's own views add to these dicts) without touching the
    cached one."""
    return [
        {
            **app,
            "models": [{**model, "perms": dict(model["perms"])} for model in app["models"]],
        }
        for app in app_list
    ]


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`ConsoleAdminSite` as ``admin.site``."""

    default_site = "core.admin_site.ConsoleAdminSite"

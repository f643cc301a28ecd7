"""``{% nav_app_list %}``: the admin's navigation sidebar list, rendered once per distinct input.

Django's ``admin/nav_sidebar.html`` includes ``admin/app_list.html`` on every admin page: a loop
over every model with a ``with``, three ``if``s and two translations per row, about a third of an
empty changelist's render here. That fragment depends only on the app list, which of its links
the current path contains (the "current" marks), the ``show_changelinks`` flag and the active
language. This tag renders Django's own template for such an input once per process and reuses
the HTML, so the output is the template's, byte for byte.
"""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.template import Engine
from django.template.context import Context
from django.template.defaultfilters import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

CACHE_SIZE = 512  # permission sets x languages x pages that mark a different model
_rendered: dict[tuple[Any, ...], str] = {}
_lock = threading.Lock()


def _fingerprint(app_list: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Everything of the app list that ``admin/app_list.html`` reads, as a hashable value."""
    return tuple(
        (
            app["app_label"],
            str(app["name"]),
            app["app_url"],
            tuple(
                (
                    model["object_name"],
                    str(model["name"]),
                    model.get("admin_url"),
                    model.get("add_url"),
                    bool(model.get("view_only")),
                )
                for model in app["models"]
            ),
        )
        for app in app_list
    )


def _marks(app_list: list[dict[str, Any]], path: str) -> tuple[str, ...]:
    """The app and model links the template marks as current (``url in request.path|urlencode``)."""
    links = [app["app_url"] for app in app_list]
    links += [m["admin_url"] for app in app_list for m in app["models"] if m.get("admin_url")]
    return tuple(link for link in links if link in path)


@register.simple_tag(takes_context=True)
def nav_app_list(context: Context, show_changelinks: bool = False) -> SafeString:
    app_list = context.get("available_apps") or []
    request = context.get("request")
    path = urlencode(request.path) if request is not None else ""
    key = (
        get_language(),
        bool(show_changelinks),
        _marks(app_list, path),
        _fingerprint(app_list),
    )
    html = _rendered.get(key)
    if html is None:
        engine = context.template.engine if context.template else Engine.get_default()
        fragment = engine.get_template("admin/app_list.html")
        html = fragment.render(
            context.new(
                {"app_list": app_list, "request": request, "show_changelinks": show_changelinks}
            )
        )
        with _lock:
            if len(_rendered) >= CACHE_SIZE:
                _rendered.clear()
            _rendered[key] = html
    return mark_safe(html)  # noqa: S308 - the output of Django's admin/app_list.html


def cache_clear() -> None:
    with _lock:
        _rendered.clear()

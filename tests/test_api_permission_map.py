"""Every API route declares who may call each of its actions, and uses the shared base classes."""

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

from core.api.base import ApiView
from core.permissions import AUTHENTICATED

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_routes() -> list[tuple[str, URLPattern]]:
    return [
        (route, p) for route, p in _walk(get_resolver().url_patterns) if route.startswith("api/v1/")
    ]


def test_there_are_api_routes_to_check() -> None:
    assert len(api_routes()) >= 3


def test_every_api_action_has_a_declared_permission() -> None:
    missing: list[str] = []
    for route, pattern in api_routes():
        callback = pattern.callback
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert cls is not None, f"{route} is not a class-based DRF view"
        assert issubclass(cls, ApiView), f"{route}: {cls.__name__} must subclass core ApiView"
        declared = cls.action_permissions
        actions = getattr(callback, "actions", None)
        # A viewset route maps {http method: action}; a plain view's actions are its methods.
        names = set(actions.values()) if actions else {m for m in HTTP_METHODS if hasattr(cls, m)}
        for name in sorted(names):
            perm = declared.get(name)
            if not perm:
                missing.append(f"{route} {cls.__name__}.{name}")
            else:
                assert perm == AUTHENTICATED or "." in perm, (route, name, perm)
    assert not missing, "actions without a permission entry:\n" + "\n".join(missing)

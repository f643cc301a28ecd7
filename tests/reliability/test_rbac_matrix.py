"""ONE role matrix generated from the single permission table (core/roles.py + each API view's
``action_permissions`` + each admin's permission checks): every role x every API action, every
admin changelist / add page and every admin action, expecting exactly the allowed ones."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from core.permissions import AUTHENTICATED
from core.roles import PROJECT_APPS, ROLES, VIEW_ALL_EXCLUDED, Role, role_permissions
from tests.conftest import ClientFor, MakeMember
from tests.reliability.conftest import report

pytestmark = pytest.mark.django_db

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def table_permissions(role: Role) -> frozenset[str]:
    """What the table grants ``role``: explicit grants (inherited) plus view_all."""
    from django.contrib.auth.models import Permission

    grants, view_all = role_permissions(role)
    if not view_all:
        return grants
    views = {
        f"{app}.{code}"
        for app, code in Permission.objects.filter(
            content_type__app_label__in=PROJECT_APPS, codename__startswith="view_"
        ).values_list("content_type__app_label", "codename")
    }
    return grants | (views - VIEW_ALL_EXCLUDED)


class TableUser:
    """A user whose permissions are exactly the table's (no database, no groups)."""

    is_active = True
    is_superuser = False
    is_anonymous = False
    is_authenticated = True
    pk = id = None

    def __init__(self, role: Role) -> None:
        self.role = role
        self.perms = table_permissions(role)
        self.is_staff = ROLES[role].staff

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.perms

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(p in self.perms for p in perm_list)

    def has_module_perms(self, module: str) -> bool:
        return any(p.startswith(f"{module}.") for p in self.perms)


# --- API -----------------------------------------------------------------------------------


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _path(route: str, pattern: URLPattern) -> str:
    """A concrete path for the route: every converter gets a value of an object that does not
    exist (a permitted caller then gets 404, a refused one 403 first)."""
    kwargs = dict.fromkeys(pattern.pattern.regex.groupindex, "999999")
    name = pattern.name
    if name:
        for ns in ("api:",):
            try:
                return reverse(ns + name, kwargs=kwargs)
            except Exception:
                try:
                    return reverse(ns + name, kwargs=dict.fromkeys(kwargs, "no-such-thing"))
                except Exception:  # noqa: S112
                    continue
    raise AssertionError(f"cannot build a path for {route}")


def api_actions() -> list[tuple[str, str, str, str]]:
    """(path, http method, action, permission) of every API action."""
    out = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        cls = pattern.callback.cls  # type: ignore[attr-defined]
        actions = getattr(pattern.callback, "actions", None)
        pairs = (
            list(actions.items()) if actions else [(m, m) for m in HTTP_METHODS if hasattr(cls, m)]
        )
        for method, action in pairs:
            out.append((_path(route, pattern), method, action, cls.action_permissions[action]))
    return out


def _expected(role: Role, perm: str) -> bool:
    return perm == AUTHENTICATED or perm in table_permissions(role)


def test_every_role_on_every_api_action(make_member: MakeMember, client_for: ClientFor) -> None:
    actions = api_actions()
    assert len(actions) >= 30
    clients: dict[Role, APIClient] = {role: client_for(make_member(role)) for role in Role}
    wrong: list[str] = []
    requests = 0
    for path, method, action, perm in actions:
        anonymous = getattr(APIClient(), method)(path, {}, format="json")
        requests += 1
        if anonymous.status_code != 401:
            wrong.append(f"anonymous {method.upper()} {path}: {anonymous.status_code}")
        for role, client in clients.items():
            response = getattr(client, method)(path, {}, format="json")
            requests += 1
            allowed = _expected(role, perm)
            got = response.status_code
            if response.status_code >= 500:
                wrong.append(f"{role} {method.upper()} {path} ({action}): server error {got}")
            elif allowed and got in (401, 403):
                wrong.append(f"{role} {method.upper()} {path} ({action}, {perm}): refused {got}")
            elif not allowed and got != 403:
                wrong.append(f"{role} {method.upper()} {path} ({action}, {perm}): got {got}")
    report(
        "rbac_api",
        roles=len(clients) + 1,
        actions=len(actions),
        requests=requests,
        wrong=len(wrong),
    )
    assert not wrong, "\n".join(wrong)


# --- admin ----------------------------------------------------------------------------------


def _admin_url(model: Any, page: str) -> str | None:
    """The page's URL; None when that admin has no such page (e.g. a report without "add")."""
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}")
    except NoReverseMatch:
        return None


def test_every_role_on_every_admin_page_and_action(make_member: MakeMember) -> None:
    factory = RequestFactory()
    wrong: list[str] = []
    checked = 0
    forged = 0
    for role in Role:
        user: User = make_member(role)
        browser = Client()
        browser.force_login(user)
        table_user = TableUser(role)
        rows_before = _row_counts()
        for model, model_admin in admin.site._registry.items():
            probe = factory.get("/admin/")
            probe.user = table_user  # type: ignore[assignment]
            can_view = model_admin.has_view_or_change_permission(probe)
            can_add = model_admin.has_add_permission(probe)
            for page, allowed in (("changelist", can_view), ("add", can_add)):
                url = _admin_url(model, page)
                if url is None:
                    continue
                response = browser.get(url)
                checked += 1
                # Not staff: redirected to the login page (no admin at all).
                expected = (200 if allowed else 403) if ROLES[role].staff else 302
                if response.status_code != expected:
                    wrong.append(
                        f"{role} {model._meta.label_lower} {page}: {response.status_code},"
                        f" expected {expected}"
                    )
            # Admin actions: the ones offered are exactly the ones the table allows.
            real = factory.get(_admin_url(model, "changelist") or "/admin/")
            real.user = user
            offered = set(model_admin.get_actions(real)) if ROLES[role].staff else set()
            expected_actions = set(model_admin.get_actions(probe)) if ROLES[role].staff else set()
            checked += 1
            if offered != expected_actions:
                wrong.append(
                    f"{role} {model._meta.label_lower} actions: {sorted(offered)}"
                    f" != table {sorted(expected_actions)}"
                )
            for name in sorted(set(model_admin.get_actions(_superuser_request(factory)))):
                if name in offered or not ROLES[role].staff:
                    continue
                # A refused action posted anyway (forged form) does nothing: it is not offered.
                response = browser.post(
                    _admin_url(model, "changelist") or "/admin/",
                    {"action": name, "_selected_action": ["1"], "index": "0"},
                )
                checked += 1
                forged += 1
                if response.status_code not in (200, 302, 403):
                    wrong.append(f"{role} forged {name}: {response.status_code}")
        # Its pages and forged actions changed no row (what a forged delete would do).
        changed = _changed(rows_before, _row_counts())
        if changed:
            wrong.append(f"{role}: rows changed by its pages and forged actions: {changed}")
    report(
        "rbac_admin",
        roles=len(Role),
        models=len(admin.site._registry),
        checks=checked,
        forged_actions=forged,
        wrong=len(wrong),
    )
    assert not wrong, "\n".join(wrong)


def _row_counts() -> dict[str, int]:
    """Rows per table (sessions aside: logging in writes one)."""
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table == "django_session":
                continue
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {t: (before.get(t, 0), n) for t, n in after.items() if before.get(t, 0) != n}


def _superuser_request(factory: RequestFactory) -> Any:
    request = factory.get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return request


def test_four_eyes_in_api_and_admin(seeded, make_member: MakeMember, client_for: ClientFor) -> None:
    """The requester may never approve their own change request — owner included, both ways."""
    from pilot.models import ChangeRequest
    from pilot.services import change_request_create, pilot_disable

    owner = make_member(Role.OWNER)
    pilot_disable(actor=owner, reason="stop")
    request = change_request_create(actor=owner, action="enable", reason="resume")
    api = client_for(owner)
    response = api.post(f"/api/v1/pilot/change-requests/{request.pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "four_eyes"
    browser = Client()
    browser.force_login(owner)
    for path in _admin_paths_with(request.pk, "approve"):
        browser.post(path, {"confirm": "yes", "post": "yes"})
    request.refresh_from_db()
    assert request.status == "pending"
    assert ChangeRequest.objects.filter(status="applied").count() == 0
    # Control: a second decision owner's approval through the same page applies it.
    other = Client()
    other.force_login(make_member(Role.OWNER))
    for path in _admin_paths_with(request.pk, "approve"):
        assert other.post(path, {}).status_code == 302
    request.refresh_from_db()
    assert request.status == "applied"


def _admin_paths_with(pk: int, word: str) -> list[str]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith("admin/") and word in route and pattern.pattern.regex.groupindex:
            kwargs = {name: str(pk) for name in pattern.pattern.regex.groupindex}
            found.append(reverse(f"admin:{pattern.name}", kwargs=kwargs))
    assert found, f"no admin page for {word}"
    return found

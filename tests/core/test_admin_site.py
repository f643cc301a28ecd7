"""The console's admin site caches the app list and the sidebar fragment (issue 8, case 5): what
it serves must be exactly what Django's uncached code would, for every role, path and language,
and a permission change must show on the next page."""

from pathlib import Path
from typing import Any

import django.contrib.admin
import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.template import Engine, RequestContext
from django.test import RequestFactory
from django.utils import translation

from core.admin_site import ConsoleAdminSite
from core.roles import Role
from core.templatetags import admin_nav
from tests.conftest import MakeMember

STAFF_ROLES = [Role.OPERATOR, Role.ENGINEER, Role.COORDINATOR, Role.OWNER, Role.AUDITOR]
DJANGO_SIDEBAR = Path(django.contrib.admin.__file__).parent / "templates/admin/nav_sidebar.html"


@pytest.fixture(autouse=True)
def _cold_caches() -> None:
    admin.site.app_list_cache_clear()  # type: ignore[attr-defined]
    admin_nav.cache_clear()


def _request(user: User, path: str = "/admin/") -> Any:
    request = RequestFactory().get(path)
    request.user = User.objects.get(pk=user.pk)  # a fresh instance: no permission cache
    return request


def _plain(app_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **app,
            "name": str(app["name"]),
            "models": [{**m, "name": str(m["name"])} for m in app["models"]],
        }
        for app in app_list
    ]


def _djangos(user: User, app_label: str | None = None) -> list[dict[str, Any]]:
    """Django's own, uncached AdminSite.get_app_list for the same site and user."""
    return _plain(
        django.contrib.admin.AdminSite.get_app_list(admin.site, _request(user), app_label)
    )


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root-admin", "root@example.com", "pw-for-tests")


@pytest.fixture
def people(make_member: MakeMember, superuser: User) -> dict[str, User]:
    out = {role.value: make_member(role) for role in STAFF_ROLES}
    out["superuser"] = superuser
    return out


def test_admin_site_is_the_console_site() -> None:
    assert isinstance(admin.site, ConsoleAdminSite)


def test_the_cached_list_is_djangos_for_every_role(people: dict[str, User]) -> None:
    site: Any = admin.site
    seen = set()
    for name, user in people.items():
        expected = _djangos(user)
        assert expected, name
        first = site.get_app_list(_request(user))
        again = site.get_app_list(_request(user))
        assert _plain(first) == expected, name
        assert _plain(again) == expected, name
        one_app = site.get_app_list(_request(user), "incidents")
        assert _plain(one_app) == _djangos(user, "incidents"), name
        seen.add(tuple(m["object_name"] for app in expected for m in app["models"]))
    # The roles do see different lists, so equality above is not one list compared with itself.
    assert len(seen) >= 3
    info = site.app_list_cache_info()
    assert info["hits"] == len(people)
    assert info["misses"] == 2 * len(people)


def test_a_permission_granted_shows_on_the_next_page(operator: User) -> None:
    site: Any = admin.site
    names = {
        m["object_name"] for app in site.get_app_list(_request(operator)) for m in app["models"]
    }
    assert "Group" not in names
    operator.user_permissions.add(Permission.objects.get(codename="view_group"))
    names = {
        m["object_name"] for app in site.get_app_list(_request(operator)) for m in app["models"]
    }
    assert "Group" in names
    operator.user_permissions.clear()
    operator.groups.clear()
    assert site.get_app_list(_request(operator)) == []


def test_the_language_is_part_of_the_key(superuser: User) -> None:
    site: Any = admin.site
    english = _plain(site.get_app_list(_request(superuser)))
    with translation.override("de"):
        german = _plain(site.get_app_list(_request(superuser)))
        assert german == _djangos(superuser)
    assert english == _djangos(superuser)
    names = {app["name"] for app in german}
    assert "Authentifizierung und Autorisierung" in names
    assert names != {app["name"] for app in english}


def test_a_caller_changing_its_list_does_not_change_the_next(superuser: User) -> None:
    site: Any = admin.site
    first = site.get_app_list(_request(superuser))
    first[0]["models"][0]["perms"]["add"] = "changed"
    first[0]["models"].clear()
    first.clear()
    assert _plain(site.get_app_list(_request(superuser))) == _djangos(superuser)


def test_registering_or_unregistering_forgets_the_cached_lists(superuser: User) -> None:
    site: Any = admin.site
    group_admin = type(site._registry[Group])
    assert any(
        m["model"] is Group for app in site.get_app_list(_request(superuser)) for m in app["models"]
    )
    site.unregister(Group)
    try:
        listed = site.get_app_list(_request(superuser))
        assert not any(m["model"] is Group for app in listed for m in app["models"])
    finally:
        site.register(Group, group_admin)
    assert any(
        m["model"] is Group for app in site.get_app_list(_request(superuser)) for m in app["models"]
    )


# --- the sidebar fragment -------------------------------------------------------------------

PATHS = [
    "/admin/",
    "/admin/ledger_audit/",
    "/admin/ledger_audit/deal/",
    "/admin/ledger_audit/ledgerentry/",
    "/admin/ledger_audit/ledgerentry/7/change/",
    "/admin/incidents/incident/?status=open",
    "/admin/auth/group/",
]


def _sidebars(user: User, path: str) -> tuple[str, str]:
    """(ours, Django's) for the same page context."""
    engine = Engine.get_default()
    request = _request(user, path)
    context = admin.site.each_context(request)
    ours = engine.get_template("admin/nav_sidebar.html").render(RequestContext(request, context))
    djangos = engine.from_string(DJANGO_SIDEBAR.read_text()).render(
        RequestContext(request, context)
    )
    return ours, djangos


def test_the_sidebar_is_byte_for_byte_djangos(people: dict[str, User]) -> None:
    pages = set()
    for name, user in people.items():
        for path in PATHS:
            for _ in range(2):  # rendered, then served from the cache
                ours, djangos = _sidebars(user, path)
                assert ours == djangos, (name, path)
            pages.add(ours)
    with translation.override("de"):
        ours, djangos = _sidebars(people["superuser"], "/admin/ledger_audit/deal/")
        assert ours == djangos
        assert "Gruppen" in ours
    # Different roles and paths give different fragments (current-model marks, visible models).
    assert len(pages) > len(PATHS)
    marked = _sidebars(people["superuser"], "/admin/ledger_audit/deal/")[0]
    assert 'class="model-deal current-model"' in marked
    assert 'class="model-ledgerentry"' in marked


def test_an_admin_page_carries_the_cached_sidebar(client: Any, superuser: User) -> None:
    client.force_login(superuser)
    first = client.get("/admin/ledger_audit/deal/")
    again = client.get("/admin/ledger_audit/deal/")
    assert first.status_code == again.status_code == 200
    assert 'id="nav-sidebar"' in first.content.decode()
    assert 'class="model-deal current-model"' in again.content.decode()
    assert len(admin_nav._rendered) >= 1

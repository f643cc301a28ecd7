import itertools
import os

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError

from core.roles import ROLES, Role, role_permissions
from core.services import roles_bootstrap, user_level

pytestmark = pytest.mark.django_db


def _group_perms(role: Role) -> set[str]:
    group = Group.objects.get(name=ROLES[role].group)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_bootstrap_creates_every_role_group_and_is_idempotent() -> None:
    first = roles_bootstrap()
    second = roles_bootstrap()
    assert first == second
    assert set(Group.objects.values_list("name", flat=True)) >= {i.group for i in ROLES.values()}
    assert Group.objects.filter(name__in=[i.group for i in ROLES.values()]).count() == len(ROLES)


def test_bootstrap_removes_permissions_not_in_the_table() -> None:
    from django.contrib.auth.models import Permission

    roles_bootstrap()
    operator = Group.objects.get(name="Operator")
    operator.permissions.add(Permission.objects.get(codename="add_apikey"))
    roles_bootstrap()
    assert "core.add_apikey" not in _group_perms(Role.OPERATOR)


def test_each_role_gets_exactly_its_table_permissions() -> None:
    roles_bootstrap()
    for role in Role:
        grants, view_all = role_permissions(role)
        perms = _group_perms(role)
        assert grants <= perms, role
        view_perms = {p for p in perms if p.split(".")[1].startswith("view_")}
        if view_all:
            assert "core.view_apikey" in view_perms
            assert "core.view_idempotencyrecord" not in view_perms
        else:
            assert view_perms == {p for p in grants if p.split(".")[1].startswith("view_")}


def test_higher_levels_have_everything_below() -> None:
    roles_bootstrap()
    ladder = [Role.OPERATOR, Role.ENGINEER, Role.COORDINATOR, Role.OWNER]
    for lower, higher in itertools.pairwise(ladder):
        assert _group_perms(lower) <= _group_perms(higher), (lower, higher)
    assert [ROLES[r].level for r in ladder] == [1, 2, 3, 4]


def test_monitoring_is_a_machine_role_that_opens_and_records_alerts_only(make_member) -> None:
    roles_bootstrap()
    assert ROLES[Role.MONITORING].machine
    assert _group_perms(Role.MONITORING) == {
        "core.use_api",
        "incidents.add_incident",
        "incidents.record_alert_incident",
    }
    member = make_member(Role.MONITORING)
    assert not member.is_staff
    assert not member.has_usable_password()


def test_create_api_key_for_the_monitoring_role(capsys) -> None:
    call_command("create_api_key", "--name", "alertmanager", "--role", "monitoring")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    from core.models import ApiKey

    key = ApiKey.objects.get(name="alertmanager")
    assert key.user.username.endswith("monitoring")
    assert key.user.has_perm("incidents.record_alert_incident")
    assert raw


def test_api_client_and_auditor_cannot_manage_keys(make_member) -> None:
    client_user = make_member(Role.API_CLIENT)
    auditor = make_member(Role.AUDITOR)
    owner = make_member(Role.OWNER)
    assert not client_user.is_staff
    assert auditor.is_staff
    assert not client_user.has_perm("core.add_apikey")
    assert not auditor.has_perm("core.add_apikey")
    assert auditor.has_perm("core.view_apikey")
    assert owner.has_perm("core.add_apikey")
    assert owner.has_perm("core.revoke_apikey")
    assert user_level(owner) == 4
    assert user_level(auditor) is None


def test_create_member_command_uses_member_password(monkeypatch) -> None:
    monkeypatch.setitem(os.environ, "MEMBER_PASSWORD", "s3cret-pass-for-test")
    call_command("create_member", "alice", "--role", "engineer", "--email", "a@example.test")
    alice = User.objects.get(username="alice")
    assert alice.check_password("s3cret-pass-for-test")
    assert alice.email == "a@example.test"
    assert list(alice.groups.values_list("name", flat=True)) == ["On-call engineer"]
    assert user_level(alice) == 2
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_member", "alice", "--role", "operator")


def test_create_member_without_password_and_no_terminal_fails(monkeypatch) -> None:
    monkeypatch.delitem(os.environ, "MEMBER_PASSWORD", raising=False)
    monkeypatch.setattr(os, "isatty", lambda fd: False)
    with pytest.raises(CommandError, match="MEMBER_PASSWORD"):
        call_command("create_member", "bob", "--role", "operator")
    assert not User.objects.filter(username="bob").exists()

"""Every pilot action, allowed and refused, per role (API)."""

import pytest

from core.roles import Role
from pilot.models import ChangeRequest
from pilot.services import change_request_create, pilot_disable, pilot_flag_off

OP, ENG, CO, OWN, AUD, API = (
    Role.OPERATOR,
    Role.ENGINEER,
    Role.COORDINATOR,
    Role.OWNER,
    Role.AUDITOR,
    Role.API_CLIENT,
)
ALL = (OP, ENG, CO, OWN, AUD, API)


def _allowed(roles):
    return [(role, role in roles) for role in ALL]


ACTIONS = {
    # name: (method, url, body, roles allowed)
    "disable": ("post", "/api/v1/pilot/disable/", {"reason": "r"}, {OP, ENG, CO, OWN}),
    "pause": ("post", "/api/v1/pilot/pause/", {"reason": "r"}, {CO, OWN}),
    "revert_template": (
        "post",
        "/api/v1/pilot/revert-template/",
        {"version": "v1", "reason": "r"},
        {ENG, CO, OWN},
    ),
    "flag_off": (
        "post",
        "/api/v1/pilot/flags/hotfix_timer_display/off/",
        {"reason": "r"},
        {ENG, CO, OWN},
    ),
    "request_resume": (
        "post",
        "/api/v1/pilot/change-requests/",
        {"action": "enable", "reason": "r"},
        {OP, ENG, CO, OWN},
    ),
    "request_template_change": (
        "post",
        "/api/v1/pilot/change-requests/",
        {"action": "set_template_version", "params": {"version": "v1"}, "reason": "r"},
        {ENG, CO, OWN},
    ),
    "record_code_rollback": (
        "post",
        "/api/v1/pilot/rollbacks/",
        {
            "from_commit": "abcdef1",
            "to_commit": "1234567",
            "reason": "r",
            "what_reverted": "w",
            "impact_on_deals": "none",
        },
        {ENG, CO, OWN},
    ),
    "list_revisions": ("get", "/api/v1/pilot/revisions/", None, {OP, ENG, CO, OWN, AUD}),
    "list_change_requests": (
        "get",
        "/api/v1/pilot/change-requests/",
        None,
        {OP, ENG, CO, OWN, AUD},
    ),
    "list_template_versions": (
        "get",
        "/api/v1/pilot/template-versions/",
        None,
        {OP, ENG, CO, OWN, AUD},
    ),
    "list_rollbacks": ("get", "/api/v1/pilot/rollbacks/", None, {OP, ENG, CO, OWN, AUD}),
    "read_config": ("get", "/api/v1/pilot/config/", None, set(ALL)),
}


@pytest.fixture
def pilot_ready(seeded, make_member):
    """State in which every action above is possible: disabled (so resume makes sense), on v2
    (so revert to v1 makes sense), hotfix_timer_display on (so switching it off makes sense)."""
    from pilot.services import change_request_approve

    eng = make_member(Role.ENGINEER, username="setup-eng")
    coord = make_member(Role.COORDINATOR, username="setup-coord")
    for action, params in (
        ("set_template_version", {"version": "v2"}),
        ("flag_on", {"flag": "hotfix_timer_display"}),
    ):
        req = change_request_create(actor=eng, action=action, params=params, reason="setup")
        change_request_approve(change_request=req, actor=coord)
    pilot_disable(actor=eng, reason="setup")
    return eng


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("role", ALL)
def test_role_action_matrix(pilot_ready, make_member, client_for, action, role):
    method, url, body, allowed_roles = ACTIONS[action]
    client = client_for(make_member(role))
    response = getattr(client, method)(url, body, format="json") if body else client.get(url)
    if role in allowed_roles:
        assert response.status_code in (200, 201), (action, role, response.content)
    else:
        assert response.status_code == 403, (action, role, response.content)


APPROVALS = {
    # request action, params, roles that may approve it (never the requester)
    "enable": ({}, {CO, OWN}),
    "set_template_version": ({"version": "v1"}, {CO, OWN}),
    "cancel": ({}, {OWN}),
}


@pytest.mark.parametrize("request_action", sorted(APPROVALS))
@pytest.mark.parametrize("role", ALL)
def test_approve_matrix(pilot_ready, make_member, client_for, request_action, role):
    params, allowed_roles = APPROVALS[request_action]
    request = change_request_create(
        actor=pilot_ready, action=request_action, params=params, reason="r"
    )
    response = client_for(make_member(role)).post(
        f"/api/v1/pilot/change-requests/{request.pk}/approve/"
    )
    expected = 200 if role in allowed_roles else 403
    assert response.status_code == expected, (role, response.content)
    request.refresh_from_db()
    assert request.status == ("applied" if expected == 200 else "pending")


@pytest.mark.parametrize("role", ALL)
def test_reject_matrix(pilot_ready, make_member, client_for, role):
    request = change_request_create(actor=pilot_ready, action="enable", reason="r")
    response = client_for(make_member(role)).post(
        f"/api/v1/pilot/change-requests/{request.pk}/reject/", {"reason": "no"}, format="json"
    )
    assert response.status_code == (200 if role in {CO, OWN} else 403)
    assert ChangeRequest.objects.get(pk=request.pk).status == (
        "rejected" if role in {CO, OWN} else "pending"
    )


def test_services_enforce_the_same_rules(seeded, make_member):
    from core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        pilot_disable(actor=make_member(AUD), reason="r")
    with pytest.raises(NotAllowed):
        pilot_flag_off(actor=make_member(OP), flag="hotfix_timer_display", reason="r")
    with pytest.raises(NotAllowed):
        change_request_create(
            actor=make_member(OP), action="flag_on", params={"flag": "x"}, reason="r"
        )


def test_every_pilot_route_declares_its_permissions():
    from core.api.base import ApiView
    from pilot.api.urls import urlpatterns

    checked = 0
    for pattern in urlpatterns:
        callback = pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert view_class is not None, pattern
        assert issubclass(view_class, ApiView), pattern
        actions = getattr(callback, "actions", None) or {
            m: m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
        }
        for name in actions.values():
            assert name in view_class.action_permissions, (view_class, name)
            checked += 1
    assert checked >= 15

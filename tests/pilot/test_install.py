"""A production install can use its kill switch: after the README's production commands
(``migrate``, which pytest-django has run, ``bootstrap_roles``, ``collectstatic``) the pilot has
a first revision, disabled (fail-safe), and starts only when a coordinator approves an enable
change request that names the template version it starts on."""

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from core.audit_chain import chain_verify
from core.install import STEPS, install_steps_run
from core.models import AuditEvent
from pilot.enums import PilotState, RevisionKind, TemplateStatus
from pilot.models import ConfigRevision
from pilot.services import pilot_bootstrap, pilot_seed_demo, template_version_create
from pilot.services.config import BOOTSTRAP_REASON, pilot_bootstrap_step

pytestmark = pytest.mark.django_db

CONFIG = "/api/v1/pilot/config/"
DISABLE = "/api/v1/pilot/disable/"
CRS = "/api/v1/pilot/change-requests/"


def _production_commands(tmp_path: Path, settings: Any) -> str:
    settings.STATIC_ROOT = tmp_path / "static"
    out = StringIO()
    call_command("bootstrap_roles", stdout=out)
    call_command("collectstatic", "--noinput", verbosity=0)
    return out.getvalue()


def _revision_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="pilot.revision.create").order_by("id"))


def test_bootstrap_roles_creates_one_disabled_first_revision_audited_once(
    tmp_path: Path, settings: Any
) -> None:
    assert ConfigRevision.objects.count() == 0
    printed = _production_commands(tmp_path, settings)
    assert "pilot config: r1 disabled, no template version" in printed.splitlines()

    first = ConfigRevision.objects.get()
    assert (first.number, first.state, first.enabled) == (1, PilotState.DISABLED, False)
    assert (first.template_version, first.flags, first.kind) == ("", {}, RevisionKind.SEED)
    assert first.created_by is None
    assert first.reason == BOOTSTRAP_REASON
    events = _revision_events()
    assert [(e.target_id, e.actor_id) for e in events] == [(str(first.pk), None)]
    assert chain_verify().ok

    call_command("bootstrap_roles", stdout=StringIO())  # idempotent
    assert list(ConfigRevision.objects.values_list("number", flat=True)) == [1]
    assert len(_revision_events()) == 1


def test_the_install_step_is_registered_by_pilot_and_idempotent() -> None:
    assert STEPS["pilot-config"] is pilot_bootstrap_step
    assert install_steps_run() == [
        ("pilot-config", "pilot config: r1 disabled, no template version")
    ]
    assert pilot_bootstrap().number == 1
    assert ConfigRevision.objects.count() == 1


def test_an_existing_config_is_left_alone(seeded: ConfigRevision) -> None:
    assert pilot_bootstrap() == seeded
    assert list(ConfigRevision.objects.values_list("number", "state")) == [(1, "running")]


def test_after_the_production_commands_the_kill_switch_answers_and_enable_needs_four_eyes(
    tmp_path: Path, settings: Any, operator, coordinator, owner, api_user, client_for
) -> None:
    _production_commands(tmp_path, settings)

    disabled = client_for(operator).post(DISABLE, {"reason": "drill"}, format="json")
    assert disabled.status_code == 200, disabled.content
    # Already disabled since the install: no new revision, and the answer says so.
    assert (disabled.json()["number"], disabled.json()["enabled"]) == (1, False)
    assert disabled.json()["state"] == "disabled"
    assert disabled.json()["reason"] == BOOTSTRAP_REASON
    config = client_for(api_user).get(CONFIG).json()
    assert (config["enabled"], config["revision"], config["template_version"]) == (False, 1, "")

    requester = client_for(operator)
    no_version_exists = requester.post(
        CRS, {"action": "enable", "reason": "go live"}, format="json"
    )
    assert no_version_exists.status_code == 409, no_version_exists.content
    assert no_version_exists.json()["error"]["code"] == "no_template_version"
    assert "create and activate one" in no_version_exists.json()["error"]["message"]

    template_version_create(actor=owner, label="v1", sequence=1, status=TemplateStatus.ACTIVE)
    unnamed = requester.post(CRS, {"action": "enable", "reason": "go live"}, format="json")
    assert unnamed.status_code == 400, unnamed.content
    assert "params.version" in unnamed.json()["error"]["fields"]

    filed = requester.post(
        CRS, {"action": "enable", "params": {"version": "v1"}, "reason": "go live"}, format="json"
    )
    assert filed.status_code == 201, filed.content
    own = requester.post(f"{CRS}{filed.json()['id']}/approve/")
    assert own.status_code == 403, own.content
    assert client_for(api_user).get(CONFIG).json()["enabled"] is False

    approved = client_for(coordinator).post(f"{CRS}{filed.json()['id']}/approve/")
    assert approved.status_code == 200, approved.content
    config = client_for(api_user).get(CONFIG).json()
    assert (config["enabled"], config["revision"], config["template_version"]) == (True, 2, "v1")
    assert config["changed_by"] == coordinator.username

    again = client_for(operator).post(DISABLE, {"reason": "duplicates"}, format="json")
    assert (again.status_code, again.json()["number"], again.json()["enabled"]) == (200, 3, False)
    assert chain_verify().ok


def test_a_revert_needs_a_current_template_version(
    tmp_path: Path, settings: Any, engineer, owner, client_for
) -> None:
    _production_commands(tmp_path, settings)
    template_version_create(actor=owner, label="v1", sequence=1, status=TemplateStatus.ACTIVE)
    response = client_for(engineer).post(
        "/api/v1/pilot/revert-template/", {"version": "v1", "reason": "r"}, format="json"
    )
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "no_template_version"
    assert ConfigRevision.objects.count() == 1


def test_enabling_a_pilot_that_has_a_version_keeps_it(
    seeded: ConfigRevision, operator, engineer, client_for
) -> None:
    client_for(operator).post(DISABLE, {"reason": "drill"}, format="json")
    response = client_for(engineer).post(
        CRS, {"action": "enable", "params": {"version": "v2"}, "reason": "r"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "set_template_version" in response.json()["error"]["message"]


def test_seed_demo_after_the_install_runs_the_demo_pilot_on_v1_as_r2() -> None:
    pilot_bootstrap()
    pilot_seed_demo()
    pilot_seed_demo()
    rows = list(ConfigRevision.objects.order_by("number").values_list("number", "state", "enabled"))
    assert rows == [(1, "disabled", False), (2, "running", True)]
    head = ConfigRevision.objects.get(number=2)
    assert head.template_version == "v1"
    assert head.flags == {"hotfix_dispute_resolution": False, "hotfix_timer_display": False}

import threading

import pytest
from django.db import connection

from pilot.enums import PilotState, RevisionKind
from pilot.models import ConfigRevision, FeatureFlag, TemplateVersion
from pilot.selectors import pilot_config_current
from pilot.services import pilot_disable, pilot_flag_off, pilot_initialise
from tests.pilot.conftest import steps_done

DISABLE = "/api/v1/pilot/disable/"


def test_disable_makes_one_revision_and_config_says_disabled_at_once(
    seeded, operator, client_for, sev0_incident
):
    client = client_for(operator)
    first = client.post(
        DISABLE,
        {"reason": "duplicate ledger entries", "incident": sev0_incident.number},
        format="json",
    )
    assert first.status_code == 200, first.content
    assert first.json()["number"] == 2
    assert first.json()["enabled"] is False
    assert first.json()["incident"] == sev0_incident.number

    second = client.post(DISABLE, {"reason": "again"}, format="json")
    assert second.status_code == 200
    assert second.json()["number"] == 2  # no new revision
    assert ConfigRevision.objects.count() == 2

    config = client_for(operator).get("/api/v1/pilot/config/").json()
    assert config["enabled"] is False
    assert config["state"] == "disabled"
    assert config["revision"] == 2
    assert config["reason"] == "duplicate ledger entries"
    assert config["changed_by"] == operator.username


def test_disable_ticks_the_incident_step_and_writes_the_timeline(seeded, operator, sev0_incident):
    assert steps_done(sev0_incident, "disable_pilot") == [False, False]
    revision = pilot_disable(actor=operator, reason="SEV0", incident=sev0_incident)
    assert revision.kind == RevisionKind.DISABLE
    assert steps_done(sev0_incident, "disable_pilot") == [True, True]
    kinds = list(sev0_incident.timeline.values_list("kind", flat=True))
    assert "config_changed" in kinds
    assert kinds.count("step_ticked") >= 1


def test_disabling_an_already_disabled_pilot_still_ticks_the_step(seeded, operator, make_member):
    from incidents.services import incident_open

    pilot_disable(actor=operator, reason="first")
    incident = incident_open(
        title="Another duplicate",
        severity="SEV0",
        category="duplicate_ledger",
        actor=None,
        source="detector",
    )
    revision = pilot_disable(actor=operator, reason="for the incident", incident=incident)
    assert revision.number == 2
    assert ConfigRevision.objects.count() == 2
    assert all(steps_done(incident, "disable_pilot"))
    assert not incident.timeline.filter(kind="config_changed").exists()


def test_disable_needs_a_reason_but_no_incident(seeded, operator, client_for):
    response = client_for(operator).post(DISABLE, {"reason": "  "}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert ConfigRevision.objects.count() == 1
    unknown = client_for(operator).post(DISABLE, {"reason": "x", "incident": 999}, format="json")
    assert unknown.status_code == 400
    assert "incident" in unknown.json()["error"]["fields"]


def test_revisions_are_append_only_in_postgresql(seeded):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        ConfigRevision.objects.filter(number=1).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        ConfigRevision.objects.filter(number=1).delete()


@pytest.mark.django_db(transaction=True)
def test_eight_racing_writers_form_one_gap_free_chain(make_member):
    from core.roles import Role

    engineer = make_member(Role.ENGINEER)
    TemplateVersion.objects.create(label="v1", sequence=1, status="active")
    names = [f"hotfix-{i}" for i in range(8)]
    FeatureFlag.objects.bulk_create([FeatureFlag(name=n) for n in names])
    pilot_initialise(template_version="v1", flags=dict.fromkeys(names, True), reason="test")

    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            pilot_flag_off(actor=engineer, flag=name, reason=f"off {name}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    chain = list(ConfigRevision.objects.order_by("number"))
    assert [r.number for r in chain] == list(range(1, 10))
    assert [r.parent_id for r in chain] == [None, *[r.pk for r in chain[:-1]]]
    assert chain[-1].flags == dict.fromkeys(names, False)  # no write was lost
    assert pilot_config_current().revision == 9
    assert pilot_config_current().state == PilotState.RUNNING

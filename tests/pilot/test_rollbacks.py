from pilot.models import RollbackRecord

ROLLBACKS = "/api/v1/pilot/rollbacks/"


def _body(**extra):
    return {
        "from_commit": "9f8e7d6c5b4a",
        "to_commit": "1a2b3c4d5e6f",
        "reason": "idempotency patch made it worse",
        "what_reverted": "commit 9f8e7d6c: ledger idempotency check",
        "impact_on_deals": "none; 3 deals in INSPECTION keep running",
        **extra,
    }


def test_code_rollback_is_recorded_on_the_incident(
    seeded, engineer, coordinator, client_for, rollback_incident
):
    response = client_for(engineer).post(
        ROLLBACKS,
        _body(
            incident=rollback_incident.number,
            verified_by=coordinator.username,
            steps_done=["identify_commit", "revert_code"],
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "code"
    assert body["verified_by"] == coordinator.username
    assert body["recorded_by"] == engineer.username
    assert [(s["key"], s["done"]) for s in body["checklist"]] == [
        ("identify_commit", True),
        ("revert_code", True),
        ("deploy", False),
        ("document", True),
    ]
    entry = rollback_incident.timeline.get(kind="rollback_recorded")
    assert "9f8e7d6c5b" in entry.message
    done = dict(rollback_incident.checklist.values_list("bound_action", "done"))
    assert done["record_rollback"] is True

    listed = client_for(coordinator).get(ROLLBACKS).json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]


def test_code_rollback_needs_commits_and_the_runbook_fields(seeded, engineer, client_for):
    response = client_for(engineer).post(
        ROLLBACKS, _body(from_commit="HEAD~1", impact_on_deals=" "), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"from_commit", "impact_on_deals"}
    assert not RollbackRecord.objects.exists()


def test_rollback_checklist_steps_can_be_ticked_later(seeded, engineer):
    from pilot.services import rollback_record_code, rollback_step_tick

    record = rollback_record_code(
        actor=engineer,
        from_commit="abcdef1",
        to_commit="1234567",
        reason="r",
        what_reverted="w",
        impact_on_deals="none",
    )
    rollback_step_tick(record=record, step="deploy", actor=engineer)
    record.refresh_from_db()
    assert {s["key"]: s["done"] for s in record.checklist}["deploy"] is True

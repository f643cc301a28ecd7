"""The runbook's steps tick on exactly the act that does them; escalation criteria and the SLA
say what the runbook says (the SEV0/SEV1 page at open, no resolution SLA, a new clock on
reopen, each criterion belonging to the level it leaves)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django import forms
from django.core import mail

from incidents.enums import (
    CRITERION_TARGET_LEVEL,
    BoundAction,
    Category,
    EscalationCriterion,
    Severity,
    TimelineKind,
)
from incidents.models import Escalation, Incident, Notification, Playbook, PlaybookStep
from incidents.runbook import COMMUNICATION_STEPS, split_communication_step
from incidents.services import (
    incident_acknowledge,
    incident_add_playbook,
    incident_escalate,
    incident_reopen,
    incident_resolve,
    incident_update_log,
    notification_deliver,
)
from incidents.services.escalation import sla_sweep
from incidents.sla.reports import sla_report
from tests.incidents.factories import open_incident, roster_member

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)  # a Tuesday

COMMUNICATION = [
    "Communication: Notify pilot coordinator immediately",
    "Communication: Document incident in incident log",
    "Communication: Prepare post-mortem",
]


def _done(incident: Incident) -> dict[str, bool]:
    return {s.title: s.done for s in incident.checklist.all()}


def _level3_notifications(incident: Incident) -> list[Notification]:
    return list(Notification.objects.filter(incident=incident, level=3).order_by("pk"))


@pytest.fixture
def roster(operator, engineer, coordinator, owner):
    since = T0 - timedelta(days=1)
    return {
        "l1": roster_member(operator, 1, on_call_from=since),
        "l2": roster_member(engineer, 2, on_call_from=since),
        "l3": roster_member(coordinator, 3, on_call_from=since),
        "l4": roster_member(owner, 4, on_call_from=since),
    }


# --- 1. SEV0 step 5, one step per sub-item -----------------------------------------------


def test_sev0_step_5_is_three_steps_in_the_runbook_order():
    incident = open_incident(severity=Severity.SEV0, category=Category.FUNDS_INCORRECT)
    steps = list(incident.checklist.order_by("position").values_list("title", "bound_action"))
    assert steps[4:] == [
        (COMMUNICATION[0], BoundAction.NOTIFY_COORDINATOR),
        (COMMUNICATION[1], BoundAction.DOCUMENT_INCIDENT),
        (COMMUNICATION[2], BoundAction.PREPARE_POSTMORTEM),
    ]
    assert [t for t, _ in steps[:4]] == [
        "Disable New Pilot Deals",
        "Preserve Logs + Export Affected Deal Timelines",
        "Identify Idempotency Keys + Ledger Entries",
        "Fix Only Minimal Patch",
    ]


def test_notify_coordinator_ticks_on_delivery_not_when_queued(roster, operator):
    incident = open_incident(severity=Severity.SEV0, actor=operator)
    [queued] = _level3_notifications(incident)
    assert queued.status == "queued"
    assert _done(incident)[COMMUNICATION[0]] is False  # queued is not told
    assert notification_deliver(notification_id=queued.pk).status == "sent"
    assert [m.to for m in mail.outbox if m.to == [queued.recipient]] == [[queued.recipient]]
    step = incident.checklist.get(title=COMMUNICATION[0])
    assert step.done is True
    assert step.done_by is None
    assert queued.recipient in step.note
    # Nothing else of step 5 was done by the notification.
    assert _done(incident)[COMMUNICATION[1]] is False
    assert _done(incident)[COMMUNICATION[2]] is False


def test_notify_coordinator_stays_open_when_nobody_is_on_level_3(operator):
    incident = open_incident(severity=Severity.SEV0, actor=operator)
    assert _level3_notifications(incident) == []
    assert _done(incident)[COMMUNICATION[0]] is False


def test_a_failed_delivery_to_level_3_does_not_tick(roster, operator, settings):
    settings.EMAIL_BACKEND = "tests.incidents.test_runbook_acts.RefusingBackend"
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    incident = open_incident(severity=Severity.SEV0, actor=operator)
    [queued] = _level3_notifications(incident)
    outcome = notification_deliver(notification_id=queued.pk)
    assert outcome.status in {"failed", "retry"}
    assert _done(incident)[COMMUNICATION[0]] is False


class RefusingBackend:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def send_messages(self, messages: object) -> int:
        raise ConnectionRefusedError("smtp down")


def test_document_incident_ticks_when_description_and_impact_are_both_written(coordinator):
    incident = open_incident(severity=Severity.SEV0, actor=coordinator)
    incident_update_log(incident=incident, actor=coordinator, changes={"description": "Two rows"})
    assert _done(incident)[COMMUNICATION[1]] is False  # the impact is still missing
    incident_update_log(incident=incident, actor=coordinator, changes={"impact": "D-1 twice"})
    assert _done(incident)[COMMUNICATION[1]] is True
    assert _done(incident)[COMMUNICATION[2]] is False


def test_prepare_postmortem_ticks_when_every_postmortem_field_is_written(coordinator, engineer):
    incident = open_incident(severity=Severity.SEV0, actor=coordinator)
    incident_update_log(
        incident=incident,
        actor=coordinator,
        changes={"root_cause": "race", "prevention": "unique index", "lessons_learned": "db"},
    )
    assert _done(incident)[COMMUNICATION[2]] is False  # no resolution yet
    incident_resolve(incident=incident, actor=engineer, resolution="Unique index on the key.")
    assert _done(incident)[COMMUNICATION[2]] is True


def test_an_incident_opened_with_its_log_written_has_documented_it(operator):
    incident = open_incident(severity=Severity.SEV0, actor=operator)
    assert _done(incident)[COMMUNICATION[1]] is False
    from incidents.services import incident_open

    written = incident_open(
        title="Ledger mismatch",
        severity=Severity.SEV0,
        category=Category.DATA_INTEGRITY,
        actor=operator,
        source="person",
        description="Balances differ",
        impact="3 deals",
    )
    assert _done(written)[COMMUNICATION[1]] is True


def test_the_seed_migration_splits_an_existing_communication_step():
    playbook = Playbook.objects.get(slug="immediate-sev0")
    playbook.steps.filter(position__gte=5).delete()
    PlaybookStep.objects.create(
        playbook=playbook,
        position=5,
        title="Communication",
        detail="Notify pilot coordinator immediately. ...",
        bound_action=BoundAction.NOTIFY_COORDINATOR,
    )
    PlaybookStep.objects.create(playbook=playbook, position=6, title="A step added by the owner")
    assert split_communication_step(Playbook, PlaybookStep) == 3
    assert list(playbook.steps.order_by("position").values_list("position", "title"))[4:] == [
        (5, COMMUNICATION[0]),
        (6, COMMUNICATION[1]),
        (7, COMMUNICATION[2]),
        (8, "A step added by the owner"),
    ]
    assert [s.title for s in COMMUNICATION_STEPS] == COMMUNICATION
    assert split_communication_step(Playbook, PlaybookStep) == 0  # once


# --- 1. the pilot's acts -------------------------------------------------------------------


@pytest.fixture
def sev1(seeded, engineer):
    incident = open_incident(
        severity=Severity.SEV1, category=Category.TIMER_NOT_VISIBLE, actor=engineer
    )
    return incident


HOTFIX = "Apply Hotfix Behind Feature Flag (If Possible)"


def test_switching_a_hotfix_flag_off_does_not_apply_a_hotfix(sev1, engineer):
    from pilot.services import pilot_flag_off

    pilot_flag_off(actor=engineer, flag="hotfix_timer_display", reason="off", incident=sev1)
    assert _done(sev1)[HOTFIX] is False


def test_a_hotfix_is_a_flag_turned_on_through_an_approved_change(sev1, engineer, coordinator):
    from pilot.services import change_request_approve, change_request_create

    request = change_request_create(
        actor=engineer,
        action="flag_on",
        params={"flag": "hotfix_timer_display"},
        reason="patched timer service",
        incident=sev1,
    )
    assert _done(sev1)[HOTFIX] is False  # filed, not applied
    change_request_approve(change_request=request, actor=coordinator)
    step = sev1.checklist.get(title=HOTFIX)
    assert (step.done, step.done_by) == (True, coordinator)


def test_a_config_rollback_is_not_the_code_rollbacks_document_step(
    sev1, engineer, coordinator, owner
):
    from pilot.services import (
        change_request_approve,
        change_request_create,
        pilot_flag_off,
        rollback_record_code,
    )

    for slug in ("rollback-config", "rollback-code"):
        incident_add_playbook(incident=sev1, playbook=Playbook.objects.get(slug=slug), actor=owner)
    request = change_request_create(
        actor=engineer,
        action="flag_on",
        params={"flag": "hotfix_timer_display"},
        reason="fix",
        incident=sev1,
    )
    change_request_approve(change_request=request, actor=coordinator)
    pilot_flag_off(actor=engineer, flag="hotfix_timer_display", reason="worse", incident=sev1)
    assert sev1.timeline.filter(kind=TimelineKind.ROLLBACK_RECORDED, data__kind="config").exists()
    assert _done(sev1)["Document Rollback"] is False
    rollback_record_code(
        actor=engineer,
        from_commit="9f8e7d6c5b4a",
        to_commit="1a2b3c4d5e6f",
        reason="patch made it worse",
        what_reverted="commit 9f8e7d6c",
        impact_on_deals="none",
        incident=sev1,
    )
    assert _done(sev1)["Document Rollback"] is True


# --- 1. "If Hotfix Not Possible": a person's escalation with that criterion -----------------

NOT_POSSIBLE = "If Hotfix Not Possible"


def test_the_automatic_escalation_does_not_tick_if_hotfix_not_possible(engineer):
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(
            severity=Severity.SEV1, category=Category.TIMER_NOT_VISIBLE, actor=engineer
        )
        clock.move_to(T0 + timedelta(hours=1, seconds=1))
        sla_sweep()
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    assert Escalation.objects.get().actor is None
    assert _done(incident)[NOT_POSSIBLE] is False


def test_a_persons_escalation_with_another_criterion_does_not_tick(operator):
    incident = open_incident(
        severity=Severity.SEV1, category=Category.TIMER_NOT_VISIBLE, actor=operator
    )
    incident_escalate(
        incident=incident, actor=operator, criterion=EscalationCriterion.NOT_RESOLVED_IN_TIME
    )
    assert _done(incident)[NOT_POSSIBLE] is False
    incident_escalate(
        incident=incident, actor=operator, criterion=EscalationCriterion.HOTFIX_NOT_POSSIBLE
    )
    step = incident.checklist.get(title=NOT_POSSIBLE)
    assert (step.done, step.done_by) == (True, operator)


# --- 2. "SEV0 or SEV1" pages L2 at open; the incident stays at L1 ---------------------------


@pytest.mark.parametrize(("severity", "minutes"), [(Severity.SEV0, 15), (Severity.SEV1, 60)])
def test_sev0_and_sev1_page_the_l2_on_call_at_open(roster, operator, severity, minutes):
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(
            severity=severity, category=Category.TIMER_NOT_VISIBLE, actor=operator
        )
        paged = Notification.objects.filter(incident=incident, level=2)
        assert list(paged.values_list("recipient", flat=True)) == [roster["l2"].email]
        row = incident.timeline.get(kind=TimelineKind.NOTIFIED, data__level=2)
        assert row.data["criterion"] == EscalationCriterion.SEV0_OR_SEV1
        assert "SEV0 or SEV1" in row.message
        incident.refresh_from_db()
        assert incident.escalation_level == 1  # paged, not escalated
        clock.move_to(T0 + timedelta(minutes=minutes, seconds=1))
        sla_sweep()
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    assert Escalation.objects.get().criterion == EscalationCriterion.NOT_RESOLVED_IN_TIME


def test_sev2_does_not_page_l2(roster, operator):
    incident = open_incident(severity=Severity.SEV2, category=Category.OTHER, actor=operator)
    assert not Notification.objects.filter(incident=incident, level=2).exists()
    assert not incident.timeline.filter(data__criterion=EscalationCriterion.SEV0_OR_SEV1).exists()


# --- 3. resolving after the escalation point is not a breach --------------------------------


def test_resolved_late_is_no_breach_in_metrics_or_compliance(operator, engineer, client, settings):
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(severity=Severity.SEV0, actor=operator)
        clock.move_to(T0 + timedelta(minutes=5))
        incident_acknowledge(incident=incident, actor=operator)
        clock.move_to(T0 + timedelta(minutes=40))
        incident_resolve(incident=incident, actor=engineer, resolution="patched")
    incident.refresh_from_db()
    assert incident.resolved_late is True  # recorded as a fact
    report = sla_report(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    assert report["per_severity"]["SEV0"]["compliance"] == 1.0
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.METRICS_TOKEN = ""
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    assert 'pcp_incident_deadline_breaches_total{kind="acknowledge"} 0' in text
    assert 'kind="resolve"' not in text


def test_the_incident_page_says_escalates_to_l2_at(operator, client):
    incident = open_incident(severity=Severity.SEV0, actor=operator)
    client.force_login(operator)
    html = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert "Escalates to L2 at" in html
    assert "Escalation due (resolve)" not in html


# --- 4. reopening starts a new clock --------------------------------------------------------


def test_a_reopened_sev0_gets_new_deadlines_and_escalates_by_itself_again(operator, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(severity=Severity.SEV0, actor=operator)
        clock.move_to(T0 + timedelta(minutes=3))
        incident_acknowledge(incident=incident, actor=operator)
        clock.move_to(T0 + timedelta(minutes=10))
        incident_resolve(incident=incident, actor=engineer, resolution="restarted")
        reopened_at = T0 + timedelta(hours=2)
        clock.move_to(reopened_at)
        incident_reopen(incident=incident, actor=engineer, reason="duplicates again")
        incident.refresh_from_db()
        assert incident.response_due_at == reopened_at + timedelta(minutes=15)
        assert incident.escalation_due_at == reopened_at + timedelta(minutes=15)
        assert incident.acknowledged_at is None  # a new response is due
        clock.move_to(reopened_at + timedelta(minutes=14))
        sla_sweep()
        incident.refresh_from_db()
        assert incident.escalation_level == 1
        clock.move_to(reopened_at + timedelta(minutes=15, seconds=1))
        sla_sweep()
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    assert Escalation.objects.get().criterion == EscalationCriterion.NOT_RESOLVED_IN_TIME


def test_an_earlier_late_acknowledgement_stays_on_record_after_reopen(operator, engineer):
    with time_machine.travel(T0, tick=False) as clock:
        incident = open_incident(severity=Severity.SEV0, actor=operator)
        clock.move_to(T0 + timedelta(minutes=20))
        incident_acknowledge(incident=incident, actor=operator)
        incident_resolve(incident=incident, actor=engineer)
        clock.move_to(T0 + timedelta(hours=1))
        incident_reopen(incident=incident, actor=engineer, reason="back")
        clock.move_to(T0 + timedelta(hours=1, minutes=2))
        incident_acknowledge(incident=incident, actor=operator)
    incident.refresh_from_db()
    assert incident.acknowledged_at == T0 + timedelta(hours=1, minutes=2)
    assert incident.acknowledged_late is True


# --- 6. criteria belong to the level they leave ---------------------------------------------


def test_each_criterion_takes_the_incident_one_above_the_level_it_belongs_to():
    by_prefix = {"L1": 2, "L2": 3, "L3": 4, "L4": 4}
    for criterion in EscalationCriterion:
        prefix = str(criterion.label).split(":")[0]
        assert CRITERION_TARGET_LEVEL[criterion] == by_prefix[prefix], criterion


@pytest.mark.parametrize(
    "criterion",
    [
        EscalationCriterion.PILOT_MUST_PAUSE,
        EscalationCriterion.LEGAL_COMPLIANCE,
        EscalationCriterion.MAJOR_SCOPE_CHANGE,
    ],
)
def test_level_3s_criteria_take_the_incident_to_the_decision_owner(owner, criterion):
    incident = open_incident(severity=Severity.SEV0, actor=owner)
    incident_escalate(
        incident=incident, actor=owner, criterion=EscalationCriterion.CORE_CHANGE_REQUIRED
    )
    incident.refresh_from_db()
    assert incident.escalation_level == 3
    incident_escalate(incident=incident, actor=owner, criterion=criterion)
    incident.refresh_from_db()
    assert incident.escalation_level == 4


def test_the_escalate_form_groups_criteria_by_the_level_they_leave():
    from incidents.admin.forms import EscalateForm

    field = EscalateForm().fields["criterion"]
    assert isinstance(field, forms.ChoiceField)
    groups = dict(list(field.choices))  # type: ignore[arg-type]
    assert list(groups) == [
        "L1 Operator → L2 On-call engineer",
        "L2 On-call engineer → L3 Pilot coordinator",
        "L3 Pilot coordinator → L4 Decision owner",
        "L4 Decision owner (top of the path)",
    ]
    assert [v for v, _ in groups["L3 Pilot coordinator → L4 Decision owner"]] == [
        "pilot_must_pause",
        "legal_compliance",
        "major_scope_change",
    ]

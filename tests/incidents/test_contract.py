"""The cross-app contract: incident_open (numbers, checklist, dedup), bound actions, timeline."""

import pytest
from django.db import DatabaseError, transaction

from core.errors import NotAllowed
from incidents.enums import BoundAction, Category, Severity, Source, Status, TimelineKind
from incidents.models import Incident, TimelineEntry
from incidents.services import incident_bound_action_done, incident_open, timeline_record
from tests.incidents.factories import open_incident

pytestmark = pytest.mark.django_db

SEV0_STEPS = [
    "Disable New Pilot Deals",
    "Preserve Logs + Export Affected Deal Timelines",
    "Identify Idempotency Keys + Ledger Entries",
    "Fix Only Minimal Patch",
    # The runbook's step 5 "Communication", one step per sub-item.
    "Communication: Notify pilot coordinator immediately",
    "Communication: Document incident in incident log",
    "Communication: Prepare post-mortem",
]
DUPLICATE_LEDGER_STEPS = [
    "Disable pilot (SEV0)",
    "Export affected deal timelines",
    "Identify duplicate entries",
    "Fix idempotency check logic",
    "Test fix thoroughly",
    "Re-enable pilot",
]


def test_sev0_duplicate_ledger_checklist_is_sev0_steps_then_solution_steps():
    incident = open_incident(severity=Severity.SEV0, category=Category.DUPLICATE_LEDGER)
    steps = list(incident.checklist.order_by("position"))
    assert [s.title for s in steps] == SEV0_STEPS + DUPLICATE_LEDGER_STEPS
    assert [s.position for s in steps] == list(range(1, 14))
    assert [s.bound_action for s in steps] == [
        BoundAction.DISABLE_PILOT,
        BoundAction.EXPORT_TIMELINES,
        BoundAction.IDENTIFY_KEYS,
        "",
        BoundAction.NOTIFY_COORDINATOR,
        BoundAction.DOCUMENT_INCIDENT,
        BoundAction.PREPARE_POSTMORTEM,
        BoundAction.DISABLE_PILOT,
        BoundAction.EXPORT_TIMELINES,
        BoundAction.IDENTIFY_KEYS,
        "",
        "",
        BoundAction.RE_ENABLE_PILOT,
    ]
    assert not any(s.done for s in steps)


@pytest.mark.parametrize(
    ("severity", "category", "count", "first", "last"),
    [
        (
            Severity.SEV1,
            Category.TIMER_NOT_VISIBLE,
            9,
            "Check Dispute TTL and Timer Display",
            "Verify fix with test deal",
        ),
        (
            Severity.SEV1,
            Category.DEAL_STUCK,
            9,
            "Check Dispute TTL and Timer Display",
            "Fix underlying issue",
        ),
        (
            Severity.SEV2,
            Category.OTHER,
            4,
            "Document issue in bug tracker",
            "If becomes blocking, escalate to SEV1",
        ),
        (
            Severity.SEV3,
            Category.OTHER,
            4,
            "Document issue in bug tracker",
            "If becomes blocking, escalate to SEV1",
        ),
        (
            Severity.SEV0,
            Category.FUNDS_INCORRECT,
            7,
            "Disable New Pilot Deals",
            "Communication: Prepare post-mortem",
        ),
    ],
)
def test_checklist_per_severity_and_category(severity, category, count, first, last):
    incident = open_incident(severity=severity, category=category)
    titles = list(incident.checklist.order_by("position").values_list("title", flat=True))
    assert len(titles) == count
    assert titles[0] == first
    assert titles[-1] == last


def test_open_writes_number_label_and_opened_row(operator):
    incident = open_incident(title="Ledger mismatch", actor=operator, affected_deals=["D-1", "D-1"])
    assert incident.number == 1
    assert incident.label == "Incident #001"
    assert str(incident) == "Incident #001 — Ledger mismatch"
    assert incident.status == Status.OPEN
    assert incident.escalation_level == 1
    assert incident.reported_by == operator
    assert incident.affected_deals == ["D-1"]
    assert list(incident.timeline.values_list("kind", flat=True)) == [TimelineKind.OPENED]


def test_open_refused_without_permission(auditor):
    with pytest.raises(NotAllowed):
        open_incident(actor=auditor)
    assert Incident.objects.count() == 0


def test_same_dedup_key_attaches_while_active_and_opens_after_resolution():
    first = open_incident(source=Source.DETECTOR, dedup_key="dup:K1", affected_deals=["D-1"])
    again = open_incident(source=Source.DETECTOR, dedup_key="dup:K1", affected_deals=["D-2"])
    same = open_incident(source=Source.DETECTOR, dedup_key="dup:K1", affected_deals=["D-2"])
    assert again.pk == first.pk == same.pk
    assert Incident.objects.count() == 1
    first.refresh_from_db()
    assert first.affected_deals == ["D-1", "D-2"]
    kinds = list(first.timeline.values_list("kind", flat=True))
    assert kinds == [TimelineKind.OPENED, TimelineKind.ATTACHED]  # nothing new the third time
    Incident.objects.filter(pk=first.pk).update(status=Status.RESOLVED)
    later = open_incident(source=Source.DETECTOR, dedup_key="dup:K1")
    assert later.pk != first.pk
    assert later.number == 2


def test_bound_action_ticks_every_open_step_bound_to_it_once(operator):
    incident = open_incident()
    step = incident_bound_action_done(
        incident=incident, action=BoundAction.DISABLE_PILOT, actor=operator, note="kill switch"
    )
    assert step is not None
    assert step.position == 1
    ticked = incident.checklist.filter(done=True).order_by("position")
    assert [s.position for s in ticked] == [1, 8]
    assert all(s.done_by == operator and s.done_at and "kill switch" in s.note for s in ticked)
    assert incident.timeline.filter(kind=TimelineKind.STEP_TICKED).count() == 2
    again = incident_bound_action_done(
        incident=incident, action=BoundAction.DISABLE_PILOT, actor=operator
    )
    assert again is None
    assert incident.timeline.filter(kind=TimelineKind.STEP_TICKED).count() == 2


def test_bound_action_without_step_returns_none():
    incident = open_incident(severity=Severity.SEV3, category=Category.OTHER)
    assert (
        incident_bound_action_done(incident=incident, action=BoundAction.DISABLE_PILOT, actor=None)
        is None
    )


def test_timeline_record_and_append_only_in_database():
    incident = open_incident()
    entry = timeline_record(
        incident=incident,
        kind=TimelineKind.CONFIG_CHANGED,
        actor=None,
        message="pilot.enabled=false",
        data={"revision": 2},
    )
    assert entry.actor_label == "system"
    with pytest.raises(DatabaseError), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).update(message="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).delete()
    entry.refresh_from_db()
    assert entry.message == "pilot.enabled=false"


def test_runbook_seeded_on_fresh_database():
    from incidents.models import Playbook, SeverityPolicy

    policies = {p.severity: p for p in SeverityPolicy.objects.select_related("immediate_actions")}
    assert sorted(policies) == ["SEV0", "SEV1", "SEV2", "SEV3"]
    assert policies["SEV0"].response_time == "Immediate (< 15 minutes)"
    assert policies["SEV3"].response_time == "Next business day"
    assert policies["SEV2"].immediate_actions == policies["SEV3"].immediate_actions
    assert set(Playbook.objects.filter(kind="rollback").values_list("slug", flat=True)) == {
        "rollback-config",
        "rollback-code",
    }


def test_incident_open_validates_choices():
    from core.errors import DomainError

    with pytest.raises(DomainError) as exc:
        incident_open(
            title="x", severity="SEV9", category="nope", actor=None, source=Source.DETECTOR
        )
    assert set(exc.value.fields or {}) == {"severity", "category"}

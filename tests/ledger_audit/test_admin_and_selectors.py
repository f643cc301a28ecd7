from decimal import Decimal

import pytest
from django.urls import reverse

from core.errors import DomainError
from incidents.enums import BoundAction, Category, Severity, Source
from incidents.models import ChecklistStep, Incident
from incidents.services import incident_open
from ledger_audit.models import ExportDownload, Finding, TimelineExport
from ledger_audit.selectors import incident_blast_radius, open_deal_count_by_template_version
from ledger_audit.services import duplicate_keys_reviewed, export_run
from tests.ledger_audit.factories import ago, dispute, entry, event, timer
from tests.ledger_audit.helpers import full_scan, ingest

pytestmark = pytest.mark.django_db

MODELS = [
    "deal",
    "dealevent",
    "ledgerentry",
    "timer",
    "dispute",
    "detectionwork",
    "finding",
    "timelineexport",
    "exportdownload",
]


@pytest.fixture
def duplicate_incident():
    ingest(
        "deals", [event("D1", "INSPECTION", ago(minutes=2)), event("D2", "ISSUE", ago(minutes=2))]
    )
    ingest("timers", [timer("D1", ago(hours=-1)), timer("D2", ago(hours=-1))])
    ingest("disputes", [dispute("D2", ago(minutes=2))])
    ingest(
        "ledger-entries",
        [
            entry("D1", "hold", "100", key="K1", entry_id="E1"),
            entry("D1", "hold", "100", key="K1", entry_id="E2"),
            entry("D2", "hold", "50", key="K2", entry_id="E3", currency="USD"),
            entry("D2", "hold", "50", key="K2", entry_id="E4", currency="USD"),
            entry("D2", "release", "20", currency="USD"),
        ],
    )
    full_scan()
    return Incident.objects.get(category=Category.DUPLICATE_LEDGER)


@pytest.mark.parametrize("model", MODELS)
def test_changelists_render_without_counting_the_table(
    model, operator, client, duplicate_incident, django_assert_max_num_queries
):
    client.force_login(operator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse(f"admin:ledger_audit_{model}_changelist"))
    assert response.status_code == 200


def test_mirror_is_read_only_in_the_admin(owner, client, duplicate_incident):
    client.force_login(owner)
    assert client.get(reverse("admin:ledger_audit_ledgerentry_add")).status_code == 403
    entry_pk = Finding.objects.values_list("pk", flat=True)[0]
    assert (
        client.get(reverse("admin:ledger_audit_finding_change", args=[entry_pk])).status_code == 200
    )


def test_blast_radius_in_constant_queries(duplicate_incident, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        blast = incident_blast_radius(incident=duplicate_incident)
    assert blast.deals_affected == 2
    assert blast.blocked == {"INSPECTION": 1, "ISSUE": 1}
    assert blast.money["EUR"]["hold"] == Decimal("200")
    assert blast.money["USD"] == {
        "hold": Decimal("100"),
        "release": Decimal("20"),
        "refund": Decimal("0"),
    }


def test_review_page_shows_keys_side_by_side_and_review_ticks_the_step(
    duplicate_incident, operator, client
):
    client.force_login(operator)
    url = reverse("admin:ledger_audit_finding_review_keys", args=[duplicate_incident.number])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("K1", "K2", "E1", "E2", "E3", "E4", "Blast radius"):
        assert text in html
    assert client.post(url).status_code == 302
    steps = list(
        ChecklistStep.objects.filter(
            incident=duplicate_incident, bound_action=BoundAction.IDENTIFY_KEYS
        )
    )
    assert steps
    for step in steps:
        assert step.done
        assert step.done_by == operator
        assert "K1: E1, E2" in step.note
        assert "K2: E3, E4" in step.note
    assert duplicate_keys_reviewed(incident=duplicate_incident, actor=operator) is None


def test_auditor_sees_review_page_but_may_not_review(duplicate_incident, auditor, client):
    client.force_login(auditor)
    url = reverse("admin:ledger_audit_finding_review_keys", args=[duplicate_incident.number])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 403
    assert not ChecklistStep.objects.filter(
        incident=duplicate_incident, bound_action=BoundAction.IDENTIFY_KEYS, done=True
    ).exists()


def test_export_request_page_confirms_then_creates(duplicate_incident, operator, client):
    client.force_login(operator)
    url = (
        reverse("admin:ledger_audit_timelineexport_request")
        + f"?incident={duplicate_incident.number}"
    )
    page = client.get(url)
    assert page.status_code == 200
    assert not TimelineExport.objects.exists()
    assert "Yes, export timelines" in page.content.decode()
    assert client.post(url, {"incident": duplicate_incident.number}).status_code == 302
    export = TimelineExport.objects.get()
    assert sorted(export.deal_ids) == ["D1", "D2"]
    export_run(export_id=export.pk)
    download = client.get(reverse("admin:ledger_audit_timelineexport_download", args=[export.pk]))
    assert download.status_code == 200
    assert ExportDownload.objects.get().via == "admin"


def test_auditor_may_not_request_an_export_in_the_admin(duplicate_incident, auditor, client):
    client.force_login(auditor)
    url = (
        reverse("admin:ledger_audit_timelineexport_request")
        + f"?incident={duplicate_incident.number}"
    )
    assert client.post(url, {"incident": duplicate_incident.number}).status_code == 403
    assert not TimelineExport.objects.exists()


def test_open_deal_count_by_template_version():
    ingest(
        "deals",
        [
            event("A", "FUNDED", ago(hours=1), "v1"),
            event("B", "INSPECTION", ago(hours=1), "v2"),
            event("C", "RELEASED", ago(hours=1), "v1"),
            event("D", "CANCELLED", ago(hours=1), "v2"),
            event("E", "ISSUE", ago(hours=1), "v1"),
        ],
    )
    ingest("ledger-entries", [entry("F-only-referenced")])
    assert open_deal_count_by_template_version() == {"v1": 2, "v2": 1}


def test_incident_from_person_with_no_findings_has_empty_review(operator):
    incident = incident_open(
        title="x",
        severity=Severity.SEV0,
        category=Category.DUPLICATE_LEDGER,
        actor=None,
        source=Source.PERSON,
        affected_deals=["Z"],
    )
    with pytest.raises(DomainError):
        duplicate_keys_reviewed(incident=incident, actor=operator)

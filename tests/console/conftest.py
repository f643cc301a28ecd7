"""Fixtures of the console tests: a seeded pilot, a SEV0 from the feed with a finding, a
roster, a pending change request — the state an operator meets at 3 a.m."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents.enums import Category, Severity, Source
from incidents.models import Incident
from incidents.services import incident_open
from ledger_audit.enums import Detector
from ledger_audit.models import Finding
from pilot.enums import ChangeAction
from pilot.services import change_request_create, pilot_disable
from tests.incidents.factories import roster_member
from tests.ledger_audit.factories import ago, entry, event
from tests.ledger_audit.helpers import ingest


@pytest.fixture(autouse=True)
def _private_exports(exports_dir: Path) -> None:
    """Every test writes exports into its own directory (tests/conftest.py)."""


@pytest.fixture
def sev0(seeded: None) -> Incident:
    """Two ledger entries with one idempotency key in the mirror, their finding and the SEV0
    incident it opened (the detectors' own tests cover detection; this is its outcome)."""
    ingest("deals", [event("D1", "INSPECTION", ago(hours=1)), event("D2", "FUNDED", ago(hours=2))])
    ingest(
        "ledger-entries",
        [entry("D1", "hold", "10", key="K-dup"), entry("D2", "hold", "10", key="K-dup")],
    )
    incident = incident_open(
        title="Duplicate ledger entries",
        severity=Severity.SEV0,
        category=Category.DUPLICATE_LEDGER,
        actor=None,
        source=Source.DETECTOR,
        affected_deals=["D1", "D2"],
        dedup_key="duplicate_key",
    )
    Finding.objects.create(
        detector=Detector.DUPLICATE_KEY,
        fingerprint="duplicate_key:K-dup",
        subject="K-dup",
        severity=Severity.SEV0,
        title="Idempotency key K-dup on 2 ledger entries",
        evidence={"key": "K-dup"},
        deal_ids=["D1", "D2"],
        incident=incident,
    )
    return incident


@pytest.fixture
def roster(operator, engineer, coordinator) -> None:
    """L1 and L2 covered now, L3 on the roster but off shift (a gap), L4 empty."""
    now = timezone.now()
    roster_member(operator, 1, on_call_from=now - timedelta(hours=1))
    roster_member(engineer, 2, on_call_from=now - timedelta(hours=1))
    roster_member(coordinator, 3)


@pytest.fixture
def resume_request(sev0: Incident, operator, engineer):
    """The pilot disabled for the incident, and a resume requested by the engineer."""
    pilot_disable(actor=operator, reason="duplicate ledger entries", incident=sev0)
    return change_request_create(
        actor=engineer, action=ChangeAction.ENABLE, reason="fix deployed", incident=sev0
    )

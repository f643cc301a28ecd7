"""Fixtures of the pilot tests: incidents with the bound steps (the seeded pilot and the clean
pilot cache are in tests/conftest.py)."""

import pytest
from django.contrib.auth.models import User


@pytest.fixture
def sev0_incident(db: None):
    """A SEV0 duplicate-ledger incident: its checklist has "disable pilot" and "re-enable"."""
    from incidents.services import incident_open

    return incident_open(
        title="Duplicate ledger entries",
        severity="SEV0",
        category="duplicate_ledger",
        actor=None,
        source="detector",
    )


@pytest.fixture
def rollback_incident(sev0_incident, owner: User):
    """The SEV0 incident with the runbook's two rollback playbooks on its checklist."""
    from incidents.models import Playbook
    from incidents.services import incident_add_playbook

    for slug in ("rollback-config", "rollback-code"):
        incident_add_playbook(
            incident=sev0_incident, playbook=Playbook.objects.get(slug=slug), actor=owner
        )
    return sev0_incident


def steps_done(incident, action: str) -> list[bool]:
    return list(
        incident.checklist.filter(bound_action=action)
        .order_by("position")
        .values_list("done", flat=True)
    )

"""Fixtures of the pilot tests: a seeded pilot, incidents with the bound steps, a clean cache."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache

from pilot.cache import CACHE_KEY
from pilot.models import ConfigRevision
from pilot.services import pilot_seed_demo


@pytest.fixture(autouse=True)
def _clean_pilot_cache() -> Iterator[None]:
    """The cache (Redis) outlives each test's database: never let one test read another's."""
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


@pytest.fixture
def seeded(db: None) -> ConfigRevision:
    """Template versions v1, v2 (both active), two flags, r1: running on v1."""
    pilot_seed_demo()
    return ConfigRevision.objects.get(number=1)


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

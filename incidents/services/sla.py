"""SLA deadlines of an incident (filled in by the SLA clock, issue 4)."""

from __future__ import annotations

from incidents.models import Incident


def deadlines_recompute(*, incident: Incident) -> None:
    """The single place where an incident's deadlines (``response_due_at``,
    ``escalation_due_at``) are computed: called when it opens and when its severity changes.
    The SLA clock (issue 4) implements it; until then deadlines stay empty."""
    return None

"""The operator's review of an incident's duplicate idempotency keys (runbook SEV0 step 3)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.services import require_perm
from incidents.enums import BoundAction
from incidents.models import ChecklistStep, Incident
from incidents.services import incident_bound_action_done
from ledger_audit.permissions import LedgerPerm
from ledger_audit.selectors import incident_duplicate_keys


@transaction.atomic
def duplicate_keys_reviewed(*, incident: Incident, actor: User) -> ChecklistStep | None:
    """The operator reviewed each duplicate key with its entries: tick the incident's
    "identify idempotency keys + ledger entries" step with the list as its note.

    Returns the ticked step, or None when it was already ticked (idempotent)."""
    require_perm(actor, LedgerPerm.REVIEW_DUPLICATE_KEYS, _("You may not review duplicate keys."))
    groups = incident_duplicate_keys(incident=incident)
    if not groups:
        raise DomainError(_("%(label)s has no duplicate-key findings.") % {"label": incident.label})
    lines = [f"{g.key}: {', '.join(str(e['entry_id']) for e in g.entries)}" for g in groups]
    note = _("Reviewed %(n)d duplicate key(s):") % {"n": len(groups)} + "\n" + "\n".join(lines)
    return incident_bound_action_done(
        incident=incident,
        action=BoundAction.IDENTIFY_KEYS,
        actor=actor,
        note=note,
        data={"keys": {g.key: [str(e["entry_id"]) for e in g.entries] for g in groups}},
    )

"""Code rollbacks on record (the code itself is reverted outside this system)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, NotFound
from pilot.enums import CODE_ROLLBACK_STEPS, RollbackKind
from pilot.models import RollbackRecord
from pilot.permissions import PilotPerm
from pilot.services import _incidents as inc
from pilot.services.config import require_perm, require_reason

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident

COMMIT_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")
STEP_KEYS = tuple(key for key, _title in CODE_ROLLBACK_STEPS)


def _checklist(done: Sequence[str], actor: User) -> list[dict[str, Any]]:
    unknown = sorted(set(done) - set(STEP_KEYS))
    if unknown:
        raise DomainError(
            _("Unknown checklist steps: %(s)s.") % {"s": ", ".join(unknown)},
            fields={"steps_done": [_("Use: %(k)s.") % {"k": ", ".join(STEP_KEYS)}]},
        )
    now = timezone.now().isoformat()
    # Recording the rollback with its reason, what was reverted and the impact *is* step 4.
    done_keys = {*done, "document"}
    return [
        {
            "key": key,
            "title": title,
            "done": key in done_keys,
            "done_by": actor.get_username() if key in done_keys else None,
            "done_at": now if key in done_keys else None,
        }
        for key, title in CODE_ROLLBACK_STEPS
    ]


@transaction.atomic
def rollback_record_code(
    *,
    actor: User,
    from_commit: str,
    to_commit: str,
    reason: str,
    what_reverted: str,
    impact_on_deals: str,
    incident: Incident | None = None,
    verified_by: User | None = None,
    steps_done: Sequence[str] = (),
) -> RollbackRecord:
    """Record a code rollback (On-call engineer and above), following the runbook's steps."""
    require_perm(actor, PilotPerm.ADD_ROLLBACK, _("You may not record a code rollback."))
    reason = require_reason(reason)
    errors: dict[str, object] = {}
    for name, value in (("from_commit", from_commit), ("to_commit", to_commit)):
        if not COMMIT_RE.match(value or ""):
            errors[name] = [_("A commit hash (7 to 64 hex digits) is required.")]
    for name, value in (("what_reverted", what_reverted), ("impact_on_deals", impact_on_deals)):
        if not (value or "").strip():
            errors[name] = [_("This field is required.")]
    if errors:
        raise DomainError(_("The rollback record is incomplete."), fields=errors)
    record = RollbackRecord.objects.create(
        kind=RollbackKind.CODE,
        incident=incident,
        from_commit=from_commit.lower(),
        to_commit=to_commit.lower(),
        reason=reason,
        what_reverted=what_reverted.strip(),
        impact_on_deals=impact_on_deals.strip(),
        checklist=_checklist(steps_done, actor),
        verified_by=verified_by,
        recorded_by=actor,
    )
    inc.timeline(
        incident=incident,
        kind=inc.ROLLBACK_RECORDED,
        actor=actor,
        message=_("Code rollback %(a)s → %(b)s: %(what)s")
        % {"a": record.from_commit[:10], "b": record.to_commit[:10], "what": record.what_reverted},
        data={"rollback": record.pk, "kind": "code", "reason": reason},
    )
    inc.step_done(
        incident=incident,
        action=inc.RECORD_ROLLBACK,
        actor=actor,
        note=_("Code rollback recorded (#%(id)d).") % {"id": record.pk},
    )
    return record


@transaction.atomic
def rollback_step_tick(*, record: RollbackRecord, step: str, actor: User) -> RollbackRecord:
    """Tick one step of a code rollback's checklist (idempotent)."""
    require_perm(actor, PilotPerm.ADD_ROLLBACK, _("You may not update rollback records."))
    locked = RollbackRecord.objects.select_for_update().filter(pk=record.pk).first()
    if locked is None:
        raise NotFound(_("No such rollback record."))
    if locked.kind != RollbackKind.CODE:
        raise Conflict(_("Only code rollbacks have a checklist."))
    if step not in STEP_KEYS:
        raise DomainError(_("Unknown checklist step."), fields={"step": [_("Unknown step.")]})
    for item in locked.checklist:
        if item["key"] == step and not item["done"]:
            item.update(done=True, done_by=actor.get_username(), done_at=timezone.now().isoformat())
            locked.save(update_fields=["checklist"])
    return locked

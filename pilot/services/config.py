"""Config writes that go towards safety and apply at once: kill switch, pause, template revert,
flag off. Every write appends one immutable revision under the pilot lock."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import AuditEventType, record
from core.errors import Conflict, DomainError, NotFound
from core.services import require_perm as _core_require_perm
from pilot import cache
from pilot.enums import PilotState, RevisionKind, RollbackKind, TemplateStatus
from pilot.metrics import CONFIG_CHANGES
from pilot.models import ConfigRevision, FeatureFlag, Pilot, RollbackRecord, TemplateVersion
from pilot.permissions import PilotPerm
from pilot.selectors import ConfigSnapshot, pilot_config_from_db, revision_diff
from pilot.services import _incidents as inc
from pilot.services.catalog import feature_flag_create, template_version_create
from pilot.services.webhooks import webhook_deliveries_create

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident

logger = logging.getLogger(__name__)


# --- the chain ------------------------------------------------------------------------------


def pilot_lock() -> ConfigRevision | None:
    """Lock the pilot (the singleton row) for the rest of the transaction; return the head."""
    Pilot.objects.bulk_create([Pilot(id=1)], ignore_conflicts=True)
    Pilot.objects.select_for_update().get(id=1)
    return ConfigRevision.objects.select_related("created_by").order_by("-number").first()


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(
            _("A reason is required."), fields={"reason": [_("This field is required.")]}
        )
    return reason


# Every pilot change names a person: the system (``None``) is refused, unlike in other apps.
require_perm = partial(_core_require_perm, system=False)


def require_head(head: ConfigRevision | None) -> ConfigRevision:
    if head is None:
        raise Conflict(
            _("The pilot config has not been initialised: run manage.py bootstrap_roles."),
            code="not_initialised",
        )
    return head


def require_not_cancelled(head: ConfigRevision) -> None:
    if head.state == PilotState.CANCELLED:
        raise Conflict(
            _("The pilot is cancelled; its config can no longer change."), code="cancelled"
        )


def pilot_config_cache_refresh() -> ConfigSnapshot:
    """Store the newest committed config in the cache, under the pilot lock (see pilot.cache)."""
    with transaction.atomic():
        pilot_lock()
        snapshot = pilot_config_from_db()
        cache.store(snapshot.as_data())
    return snapshot


def revision_append(
    *,
    head: ConfigRevision | None,
    actor: User | None,
    kind: str,
    reason: str,
    incident: Incident | None = None,
    change_request: Any = None,
    state: str | None = None,
    template_version: str | None = None,
    flags: dict[str, bool] | None = None,
) -> ConfigRevision:
    """Append the next revision. The caller holds the pilot lock (``pilot_lock``) and has
    checked that something changes. Webhook deliveries, the incident timeline row and the cache
    invalidation go with it; the cache refresh and webhook pushes run after commit."""
    new_state = state or (head.state if head else PilotState.RUNNING)
    revision = ConfigRevision.objects.create(
        number=(head.number + 1) if head else 1,
        parent=head,
        kind=kind,
        state=new_state,
        enabled=new_state == PilotState.RUNNING,
        template_version=template_version
        if template_version is not None
        else (head.template_version if head else ""),
        flags=dict(flags if flags is not None else (head.flags if head else {})),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        reason=reason,
        incident=incident,
        change_request=change_request,
    )
    webhook_deliveries_create(revision=revision)
    CONFIG_CHANGES.count(kind=str(kind), state=str(new_state))  # after commit, as the revision
    changes = _diff_dicts(head, revision) if head is not None else []
    inc.timeline(
        incident=incident,
        kind=inc.CONFIG_CHANGED,
        actor=actor,
        message=_("Pilot config r%(n)d (%(kind)s): %(state)s, template %(tv)s. %(reason)s")
        % {
            "n": revision.number,
            "kind": revision.get_kind_display(),
            "state": revision.state,
            "tv": revision.template_version,
            "reason": reason,
        },
        data={"revision": revision.number, "changes": changes},
    )
    record(
        event=AuditEventType.PILOT_REVISION_CREATE,
        actor=actor,
        target=revision,
        after=revision.config(),
        reason=reason,
        data={"revision": revision.number, "kind": kind},
    )
    cache.forget()  # a reader missing now re-reads the database
    transaction.on_commit(pilot_config_cache_refresh, robust=True)
    return revision


def config_rollback_record(
    *,
    from_revision: ConfigRevision,
    to_revision: ConfigRevision,
    actor: User | None,
    reason: str,
    incident: Incident | None,
) -> RollbackRecord:
    """Config rollbacks are recorded automatically, on the incident timeline too."""
    record = RollbackRecord.objects.create(
        kind=RollbackKind.CONFIG,
        incident=incident,
        from_revision=from_revision,
        to_revision=to_revision,
        reason=reason,
        what_reverted=", ".join(
            f"{c['field']}: {c['before']} → {c['after']}"
            for c in _diff_dicts(from_revision, to_revision)
        ),
        impact_on_deals=_("None: existing deals keep the template version they were created with."),
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    inc.timeline(
        incident=incident,
        kind=inc.ROLLBACK_RECORDED,
        actor=actor,
        message=_("Config rollback r%(a)d → r%(b)d: %(what)s")
        % {"a": from_revision.number, "b": to_revision.number, "what": record.what_reverted},
        data={"rollback": record.pk, "kind": "config"},
    )
    # Only on the timeline: "Document Rollback" is the code-rollback playbook's step, done by a
    # recorded code rollback (rollbacks.rollback_record_code), never by a config one.
    return record


def _diff_dicts(before: ConfigRevision, after: ConfigRevision) -> list[dict[str, Any]]:
    return [
        {"field": c.field, "before": c.before, "after": c.after}
        for c in revision_diff(before=before, after=after)
    ]


# --- initial config -------------------------------------------------------------------------


@transaction.atomic
def pilot_initialise(
    *,
    template_version: str,
    flags: dict[str, bool],
    reason: str,
    actor: User | None = None,
    state: str = PilotState.RUNNING,
) -> ConfigRevision:
    """The first revision (system/bootstrap). Does nothing when a revision exists already."""
    head = pilot_lock()
    if head is not None:
        return head
    if not TemplateVersion.objects.filter(label=template_version).exists():
        raise NotFound(_("Template version %(v)s does not exist.") % {"v": template_version})
    return revision_append(
        head=None,
        actor=actor,
        kind=RevisionKind.SEED,
        reason=require_reason(reason),
        state=state,
        template_version=template_version,
        flags=flags,
    )


BOOTSTRAP_REASON = (
    "New install: the pilot starts disabled until a coordinator approves enabling it."
)


@transaction.atomic
def pilot_bootstrap() -> ConfigRevision:
    """The first revision of a new install, so the kill switch works from the first minute.

    Fail-safe: r1 is *disabled*, names no template version (``""``, none may exist yet) and no
    flag is on; starting the pilot is an ``enable`` change request that a second person
    approves, and that request names the template version to start on. Idempotent: does
    nothing (returns the head) once any revision exists."""
    head = pilot_lock()
    if head is not None:
        return head
    return revision_append(
        head=None,
        actor=None,
        kind=RevisionKind.SEED,
        reason=BOOTSTRAP_REASON,
        state=PilotState.DISABLED,
        template_version="",
        flags={},
    )


def pilot_bootstrap_step() -> str:
    """``bootstrap_roles``' install step (registered in ``PilotConfig.ready``): one line."""
    head = pilot_bootstrap()
    return f"pilot config: r{head.number} {head.state}" + (
        f", template {head.template_version}" if head.template_version else ", no template version"
    )


# --- towards safety, at once ----------------------------------------------------------------


@transaction.atomic
def pilot_disable(*, actor: User, reason: str, incident: Incident | None = None) -> ConfigRevision:
    """The kill switch (Operator and above, never needs approval). Disabling a pilot that takes
    no new deals already (disabled, paused, cancelled) makes no new revision, but still ticks
    the incident's "disable new pilot deals" step."""
    require_perm(actor, PilotPerm.DISABLE, _("You may not disable the pilot."))
    reason = require_reason(reason)
    head = require_head(pilot_lock())
    if head.enabled:
        revision = revision_append(
            head=head,
            actor=actor,
            kind=RevisionKind.DISABLE,
            reason=reason,
            incident=incident,
            state=PilotState.DISABLED,
        )
        note = _("Pilot disabled (r%(n)d).") % {"n": revision.number}
    else:
        revision = head
        note = _("Pilot already %(state)s since r%(n)d.") % {"state": head.state, "n": head.number}
    inc.step_done(
        incident=incident,
        action=inc.DISABLE_PILOT,
        actor=actor,
        note=note,
        data={"revision": revision.number},
    )
    return revision


@transaction.atomic
def pilot_pause(*, actor: User, reason: str, incident: Incident | None = None) -> ConfigRevision:
    """Pause (Pilot coordinator and above, at once: pausing is towards safety). Lifting a pause
    is an ``enable`` change request."""
    require_perm(actor, PilotPerm.PAUSE, _("You may not pause the pilot."))
    reason = require_reason(reason)
    head = require_head(pilot_lock())
    require_not_cancelled(head)
    if head.state == PilotState.PAUSED:
        return head
    return revision_append(
        head=head,
        actor=actor,
        kind=RevisionKind.PAUSE,
        reason=reason,
        incident=incident,
        state=PilotState.PAUSED,
    )


def template_version_get(label: str) -> TemplateVersion:
    version = TemplateVersion.objects.filter(label=label).first()
    if version is None:
        raise NotFound(
            _("Template version %(v)s does not exist.") % {"v": label},
            fields={"version": [_("Unknown template version.")]},
        )
    return version


def template_version_usable(label: str) -> TemplateVersion:
    version = template_version_get(label)
    if version.status != TemplateStatus.ACTIVE:
        raise Conflict(
            _("Template version %(v)s is %(s)s, not active.") % {"v": label, "s": version.status},
            code="template_not_active",
        )
    return version


@transaction.atomic
def pilot_revert_template(
    *, actor: User, version: str, reason: str, incident: Incident | None = None
) -> ConfigRevision:
    """Revert to an EARLIER template version (On-call engineer and above, at once). Existing
    deals keep the version they were created with; new deals get this one. A newer version
    needs a change request."""
    require_perm(actor, PilotPerm.REVERT_TEMPLATE, _("You may not revert the template version."))
    reason = require_reason(reason)
    target = template_version_usable(version)
    head = require_head(pilot_lock())
    require_not_cancelled(head)
    if not head.template_version:
        # Nothing to go back to: the first version is chosen by the approved enable request.
        raise Conflict(
            _("The pilot has no template version yet; the enable change request sets the first."),
            code="no_template_version",
        )
    if head.template_version == target.label:
        revision = head
    else:
        current = TemplateVersion.objects.filter(label=head.template_version).first()
        if current is not None and target.sequence > current.sequence:
            raise Conflict(
                _("%(v)s is newer than the current %(c)s: moving forward needs a change request.")
                % {"v": target.label, "c": current.label},
                code="not_earlier",
            )
        revision = revision_append(
            head=head,
            actor=actor,
            kind=RevisionKind.REVERT_TEMPLATE,
            reason=reason,
            incident=incident,
            template_version=target.label,
        )
        config_rollback_record(
            from_revision=head, to_revision=revision, actor=actor, reason=reason, incident=incident
        )
    inc.step_done(
        incident=incident,
        action=inc.REVERT_TEMPLATE,
        actor=actor,
        note=_("Template version is %(v)s (r%(n)d).") % {"v": target.label, "n": revision.number},
    )
    return revision


@transaction.atomic
def pilot_flag_off(
    *, actor: User, flag: str, reason: str, incident: Incident | None = None
) -> ConfigRevision:
    """Switch a hotfix flag off (On-call engineer and above, at once)."""
    require_perm(actor, PilotPerm.FLAG_OFF, _("You may not switch feature flags off."))
    reason = require_reason(reason)
    if not FeatureFlag.objects.filter(name=flag).exists():
        raise NotFound(_("Feature flag %(f)s does not exist.") % {"f": flag})
    head = require_head(pilot_lock())
    require_not_cancelled(head)
    if head.flags.get(flag) is True:
        revision = revision_append(
            head=head,
            actor=actor,
            kind=RevisionKind.FLAG_OFF,
            reason=reason,
            incident=incident,
            flags={**head.flags, flag: False},
        )
        config_rollback_record(
            from_revision=head, to_revision=revision, actor=actor, reason=reason, incident=incident
        )
    else:
        revision = head
    # No runbook step ticks: a hotfix is a flag turned *on* through an approved change
    # (change_requests), switching one off undoes a hotfix rather than applying it.
    return revision


# --- demo -----------------------------------------------------------------------------------

DEMO_FLAGS = {
    "hotfix_timer_display": "Show inspection/dispute timers from the fixed timer service.",
    "hotfix_dispute_resolution": "Use the patched dispute-resolution form for admins.",
}


@transaction.atomic
def pilot_seed_demo() -> None:
    """Demo data (idempotent): template versions v1 (active) and v2 (active, newer), two hotfix
    flags, and the pilot running on v1, both flags off: r1 on a fresh database, r2 after the
    install's disabled r1 (``bootstrap_roles`` ran first, as ``make run`` does)."""
    for sequence, label, description in (
        (1, "v1", "Initial escrow deal template."),
        (2, "v2", "Shorter inspection window; dispute evidence upload."),
    ):
        if not TemplateVersion.objects.filter(label=label).exists():
            template_version_create(
                actor=None,
                label=label,
                sequence=sequence,
                description=description,
                status=TemplateStatus.ACTIVE,
                body={"inspection_days": 7 if sequence == 1 else 5, "dispute_ttl_days": 14},
            )
    for name, description in DEMO_FLAGS.items():
        if not FeatureFlag.objects.filter(name=name).exists():
            feature_flag_create(actor=None, name=name, description=description)
    flags = dict.fromkeys(DEMO_FLAGS, False)
    reason = "Demo seed: pilot running on v1."
    head = pilot_lock()
    if head is None:
        pilot_initialise(template_version="v1", flags=flags, reason=reason)
    elif head.number == 1 and not head.template_version:
        # The install's fail-safe r1, never started: the demo (refused in production) skips the
        # four-eyes enable so that ``make run`` shows a running pilot.
        revision_append(
            head=head,
            actor=None,
            kind=RevisionKind.SEED,
            reason=reason,
            state=PilotState.RUNNING,
            template_version="v1",
            flags=flags,
        )

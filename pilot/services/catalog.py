"""Writes of the pilot's catalog: template versions, hotfix feature flags and change-webhook
subscriptions. The admin saves through these (never ``Model.save`` around them), each checks the
permission, validates, locks the row it changes and records the change in the audit sink.

A template version in use never changes its body (nor its label, which revisions and deals name):
once it left draft (it was offered to the platform) or any config revision ever named it, it is
frozen, and it never goes back to draft. ``template_version_frozen`` is the rule; on PostgreSQL a
trigger (migration ``pilot.0003``) refuses the same UPDATE in the database.

The system (``actor=None``: the demo seed, commands) may write the catalog; a person needs the
model permission.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from core.audit import AuditEventType, Deleted, field_changes, record, snapshot
from core.delivery import address_problem
from core.errors import Conflict, DomainError
from core.services import require_perm
from core.text import one_line, one_line_field
from pilot.enums import TemplateStatus
from pilot.models import ConfigRevision, FeatureFlag, TemplateVersion, WebhookSubscription
from pilot.permissions import PilotPerm
from pilot.webhook_events import default_events

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TEMPLATE_VERSION_FIELDS = ("description", "body", "status")
FEATURE_FLAG_FIELDS = ("description",)
WEBHOOK_SUBSCRIPTION_FIELDS = ("name", "url", "secret", "active", "events", "description")


def _validated(obj: models.Model) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise DomainError(
            _("Please correct the errors below."),
            fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()},
        ) from None


def _apply(
    obj: models.Model, changes: Mapping[str, Any], allowed: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Set the fields that change; (before, after, names) of those that did."""
    before, after = field_changes(obj, changes, allowed)
    return before, after, list(after)


def _require_address(url: str) -> None:
    """The sender's address policy, applied when the URL is saved as well as before sending."""
    problem = address_problem(url)
    if problem:
        raise DomainError(problem, code="url_refused", fields={"url": [problem]})


def _default_name(url: str) -> str:
    """A subscription saved without a name is called after its receiver's host."""
    return (urllib.parse.urlsplit(url).hostname or "receiver")[:100]


# --- template versions ----------------------------------------------------------------------


def template_version_frozen(version: TemplateVersion) -> bool:
    """True once the version's body may no longer change: it left draft, or a config revision
    ever named it (deals were or may have been created with it)."""
    if version.status != TemplateStatus.DRAFT:
        return True
    return ConfigRevision.objects.filter(template_version=version.label).exists()


@transaction.atomic
def template_version_create(
    *,
    actor: User | None,
    label: str,
    sequence: int,
    description: str = "",
    body: dict[str, Any] | None = None,
    status: str = TemplateStatus.DRAFT,
) -> TemplateVersion:
    require_perm(actor, PilotPerm.ADD_TEMPLATE_VERSION, _("You may not add template versions."))
    version = TemplateVersion(
        # The label names the version in the config, revisions and headlines: one line.
        label=one_line_field(label, field="label", fold=actor is None),
        sequence=sequence,
        description=description,
        body=dict(body or {}),
        status=status,
    )
    _validated(version)
    version.save()
    record(
        event=AuditEventType.PILOT_TEMPLATE_VERSION_CREATE,
        actor=actor,
        target=version,
        after=snapshot(version, ("label", "sequence", *TEMPLATE_VERSION_FIELDS)),
    )
    return version


@transaction.atomic
def template_version_update(
    *,
    actor: User | None,
    version: TemplateVersion,
    changes: Mapping[str, Any],
    reason: str = "",
) -> TemplateVersion:
    """Change a version's description, status or (while it is not frozen) body."""
    require_perm(
        actor, PilotPerm.CHANGE_TEMPLATE_VERSION, _("You may not change template versions.")
    )
    locked = TemplateVersion.objects.select_for_update().get(pk=version.pk)
    frozen = template_version_frozen(locked)
    if "body" in changes and changes["body"] != locked.body and frozen:
        raise Conflict(
            _("Template version %(v)s is in use: its body never changes; add a new version.")
            % {"v": locked.label},
            code="template_in_use",
            fields={"body": [_("A version in use never changes its body.")]},
        )
    status = changes.get("status", locked.status)
    if status == TemplateStatus.DRAFT and locked.status != TemplateStatus.DRAFT:
        raise Conflict(
            _("Template version %(v)s was %(s)s: it never goes back to draft.")
            % {"v": locked.label, "s": locked.status},
            code="template_in_use",
            fields={"status": [_("A version that left draft never returns to it.")]},
        )
    before, after, changed = _apply(locked, changes, TEMPLATE_VERSION_FIELDS)
    if not changed:
        return locked
    _validated(locked)
    locked.save(update_fields=changed)
    record(
        event=AuditEventType.PILOT_TEMPLATE_VERSION_UPDATE,
        actor=actor,
        target=locked,
        before=before,
        after=after,
        reason=reason,
        data={"label": locked.label},
    )
    return locked


# --- feature flags --------------------------------------------------------------------------


@transaction.atomic
def feature_flag_create(*, actor: User | None, name: str, description: str = "") -> FeatureFlag:
    """A new hotfix flag (off until a change request switches it on)."""
    require_perm(actor, PilotPerm.ADD_FEATURE_FLAG, _("You may not add feature flags."))
    # The description is shown as one line beside the flag (lists, confirmation summaries).
    flag = FeatureFlag(
        name=name.strip(),
        description=one_line_field(description, field="description", fold=actor is None),
    )
    _validated(flag)
    flag.save()
    record(
        event=AuditEventType.PILOT_FEATURE_FLAG_CREATE,
        actor=actor,
        target=flag,
        after=snapshot(flag, ("name", *FEATURE_FLAG_FIELDS)),
    )
    return flag


@transaction.atomic
def feature_flag_update(
    *, actor: User | None, flag: FeatureFlag, changes: Mapping[str, Any], reason: str = ""
) -> FeatureFlag:
    """Describe a flag differently. Its name never changes: revisions store values by name."""
    require_perm(actor, PilotPerm.CHANGE_FEATURE_FLAG, _("You may not change feature flags."))
    locked = FeatureFlag.objects.select_for_update().get(pk=flag.pk)
    if "description" in changes:
        typed = str(changes["description"] or "")
        changes = {
            **changes,
            "description": one_line_field(typed, field="description", fold=actor is None),
        }
    before, after, changed = _apply(locked, changes, FEATURE_FLAG_FIELDS)
    if not changed:
        return locked
    _validated(locked)
    locked.save(update_fields=changed)
    record(
        event=AuditEventType.PILOT_FEATURE_FLAG_UPDATE,
        actor=actor,
        target=locked,
        before=before,
        after=after,
        reason=reason,
        data={"name": locked.name},
    )
    return locked


# --- change-webhook subscriptions -----------------------------------------------------------


@transaction.atomic
def webhook_subscription_create(
    *,
    actor: User | None,
    url: str,
    secret: str,
    name: str = "",
    active: bool = True,
    events: list[str] | None = None,
    description: str = "",
) -> WebhookSubscription:
    """A new receiver of the ``events`` it names (default: config revisions). The admin and the
    API both create through here: the URL meets the sender's address policy, the event filter
    ``pilot.webhook_events``, the name is one line."""
    require_perm(actor, PilotPerm.ADD_WEBHOOK, _("You may not add webhook subscriptions."))
    _require_address(url)
    subscription = WebhookSubscription(
        name=one_line(name) or _default_name(url),
        url=url,
        secret=secret,
        active=active,
        events=default_events() if events is None else list(events),
        description=description,
    )
    _validated(subscription)
    subscription.save()
    record(
        event=AuditEventType.PILOT_WEBHOOK_SUBSCRIPTION_CREATE,
        actor=actor,
        target=subscription,
        after=snapshot(subscription, WEBHOOK_SUBSCRIPTION_FIELDS),
    )
    return subscription


@transaction.atomic
def webhook_subscription_update(
    *,
    actor: User | None,
    subscription: WebhookSubscription,
    changes: Mapping[str, Any],
    reason: str = "",
) -> WebhookSubscription:
    """Change a subscription; a ``secret`` in ``changes`` rotates the signing secret."""
    require_perm(actor, PilotPerm.CHANGE_WEBHOOK, _("You may not change webhook subscriptions."))
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if "name" in changes:
        changes = {**changes, "name": one_line(str(changes["name"])) or locked.name}
    before, after, changed = _apply(locked, changes, WEBHOOK_SUBSCRIPTION_FIELDS)
    if "url" in changed:
        _require_address(locked.url)
    if not changed:
        return locked
    _validated(locked)
    locked.save(update_fields=changed)
    record(
        event=AuditEventType.PILOT_WEBHOOK_SUBSCRIPTION_UPDATE,
        actor=actor,
        target=locked,
        before=before,
        after=after,
        reason=reason,
    )
    return locked


@transaction.atomic
def webhook_subscription_delete(
    *, actor: User | None, subscription: WebhookSubscription, reason: str = ""
) -> None:
    """Remove a subscription (its delivery records go with it)."""
    require_perm(actor, PilotPerm.DELETE_WEBHOOK, _("You may not delete webhook subscriptions."))
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    before = snapshot(locked, WEBHOOK_SUBSCRIPTION_FIELDS)
    gone = Deleted.of(locked)
    locked.delete()
    record(
        event=AuditEventType.PILOT_WEBHOOK_SUBSCRIPTION_DELETE,
        actor=actor,
        target=gone,
        before=before,
        reason=reason,
    )

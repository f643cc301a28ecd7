"""Reads of the pilot switchboard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from pilot import cache
from pilot.enums import ChangeAction, ChangeStatus, PilotState
from pilot.models import (
    ChangeRequest,
    ConfigRevision,
    RollbackRecord,
    TemplateVersion,
    WebhookSubscription,
)
from pilot.permissions import PilotPerm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfigSnapshot:
    """The current config as the platform reads it."""

    enabled: bool
    state: str
    template_version: str
    flags: dict[str, bool] = field(default_factory=dict)
    revision: int = 0
    changed_at: datetime | None = None
    changed_by: str | None = None
    reason: str = ""

    @property
    def etag(self) -> str:
        return f'"pilot-r{self.revision}"'

    def as_data(self) -> dict[str, Any]:
        """JSON-ready (also the form kept in the cache)."""
        return {
            "enabled": self.enabled,
            "state": self.state,
            "template_version": self.template_version,
            "flags": dict(self.flags),
            "revision": self.revision,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "changed_by": self.changed_by,
            "reason": self.reason,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ConfigSnapshot:
        changed_at = data.get("changed_at")
        return cls(
            enabled=bool(data["enabled"]),
            state=str(data["state"]),
            template_version=str(data["template_version"]),
            flags={str(k): bool(v) for k, v in dict(data.get("flags") or {}).items()},
            revision=int(data["revision"]),
            changed_at=parse_datetime(changed_at) if changed_at else None,
            changed_by=data.get("changed_by"),
            reason=str(data.get("reason") or ""),
        )

    @classmethod
    def from_revision(cls, revision: ConfigRevision | None) -> ConfigSnapshot:
        if revision is None:  # never initialised: fail safe, no new deals
            return cls(
                enabled=False,
                state=PilotState.DISABLED.value,
                template_version="",
                reason="The pilot config has not been initialised.",
            )
        return cls(
            enabled=revision.enabled,
            state=revision.state,
            template_version=revision.template_version,
            flags=dict(revision.flags),
            revision=revision.number,
            changed_at=revision.created_at,
            changed_by=revision.created_by.get_username() if revision.created_by else None,
            reason=revision.reason,
        )


def revision_head() -> ConfigRevision | None:
    """The newest revision (the current config), or None before the first one."""
    return ConfigRevision.objects.select_related("created_by").order_by("-number").first()


def pilot_config_from_db() -> ConfigSnapshot:
    return ConfigSnapshot.from_revision(revision_head())


def snapshot_from_cached(value: Any) -> ConfigSnapshot | None:
    """The snapshot a cache entry holds; None when there is none (or it cannot be read)."""
    if not isinstance(value, dict):
        return None
    try:
        return ConfigSnapshot.from_data(value)
    except (KeyError, TypeError, ValueError):
        logger.warning("pilot config cache entry unreadable; reading the database")
        return None


def pilot_config_current() -> ConfigSnapshot:
    """The current config: from the cache when it has it, else from PostgreSQL (and the cache
    is filled, without ever overwriting a newer entry). See ``pilot.cache``."""
    cached = snapshot_from_cached(cache.cached_snapshot())
    if cached is not None:
        return cached
    snapshot = pilot_config_from_db()
    if snapshot.revision:
        cache.fill(snapshot.as_data())
    return snapshot


# --- revisions and diffs --------------------------------------------------------------------


def revision_list() -> QuerySet[ConfigRevision]:
    return ConfigRevision.objects.select_related(
        "created_by", "incident", "change_request", "parent"
    ).order_by("-number")


def revision_get(*, number: int) -> ConfigRevision | None:
    return revision_list().filter(number=number).first()


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


def revision_diff(*, before: ConfigRevision, after: ConfigRevision) -> list[FieldChange]:
    """What changed from ``before`` to ``after`` (either order): state, enabled, template
    version and each flag (``flags.<name>``; an absent flag is shown as None)."""
    changes = [
        FieldChange(name, getattr(before, name), getattr(after, name))
        for name in ("state", "enabled", "template_version")
        if getattr(before, name) != getattr(after, name)
    ]
    for flag in sorted(set(before.flags) | set(after.flags)):
        old, new = before.flags.get(flag), after.flags.get(flag)
        if old != new:
            changes.append(FieldChange(f"flags.{flag}", old, new))
    return changes


# --- change requests ------------------------------------------------------------------------


def change_request_list() -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.select_related(
        "requested_by", "decided_by", "incident", "base_revision"
    ).order_by("-requested_at", "-id")


def change_requests_awaiting(*, user: Any) -> QuerySet[ChangeRequest]:
    """Pending requests this user may decide: not their own, and within their approval rights."""
    if not user.has_perm(PilotPerm.APPROVE_CHANGE_REQUEST):
        return ChangeRequest.objects.none()
    qs = change_request_list().filter(status=ChangeStatus.PENDING).exclude(requested_by=user)
    if not user.has_perm(PilotPerm.APPROVE_CANCEL):
        qs = qs.exclude(action=ChangeAction.CANCEL)
    return qs


def rollback_list() -> QuerySet[RollbackRecord]:
    return RollbackRecord.objects.select_related(
        "incident", "from_revision", "to_revision", "verified_by", "recorded_by"
    ).order_by("-recorded_at", "-id")


def webhook_subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.order_by("name", "id")


# --- template versions ----------------------------------------------------------------------


# Open deals live in the ledger mirror, and pilot must not import ledger_audit (the two apps are
# independent). The app that composes both registers the counter at start-up (console/apps.py).
OpenDealCounter = Callable[[], dict[str, int]]
_open_deal_counter: OpenDealCounter | None = None


def open_deal_counter_register(counter: OpenDealCounter) -> None:
    global _open_deal_counter
    _open_deal_counter = counter


def open_deal_counts() -> dict[str, int] | None:
    """Open deals per template version; None while no app provides the figure."""
    if _open_deal_counter is None:
        return None
    return _open_deal_counter()


def template_version_list() -> QuerySet[TemplateVersion]:
    return TemplateVersion.objects.order_by("sequence")


def template_version_by_label(*, label: str) -> TemplateVersion | None:
    return TemplateVersion.objects.filter(label=label).first()


def incident_by_number(*, number: int) -> Any:
    """The incident with this number, or None."""
    from incidents.models import Incident

    return Incident.objects.filter(number=number).first()

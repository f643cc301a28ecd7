"""Changes towards risk: a change request, applied when a second person approves it.

* Filing: anyone with ``add_changerequest`` may ask for a resume (``enable``); every other action
  needs ``request_any_change`` (On-call engineer and above).
* Filing, approving and rejecting must be done by people, never a service account (a role
  key): four eyes compares people.
* Approving: ``approve_changerequest`` (Pilot coordinator and above; ``cancel`` needs
  ``approve_cancel``, Decision owner), never by the requester (four eyes). Approval applies the
  change in the same transaction. The request row and the pilot are locked, so a request is
  applied at most once.
* Stale: a request records the head revision it was based on. If the config moved since, the
  approval is refused (409); the request is marked ``stale`` (terminal) so it leaves the queue —
  file a new one against the current config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import AuditEventType, record
from core.errors import Conflict, DomainError, NotAllowed, NotFound
from core.selectors import is_service_account
from pilot.enums import ChangeAction, ChangeStatus, PilotState, RevisionKind, TemplateStatus
from pilot.models import ChangeRequest, ConfigRevision, FeatureFlag, TemplateVersion
from pilot.permissions import PilotPerm
from pilot.services import _incidents as inc
from pilot.services.config import (
    config_rollback_record,
    pilot_lock,
    require_head,
    require_not_cancelled,
    require_perm,
    require_reason,
    revision_append,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident


def _field_error(name: str, message: str) -> DomainError:
    return DomainError(message, fields={f"params.{name}": [message]})


def _active_version(params: dict[str, Any]) -> str:
    """``params.version``, which must name an active template version."""
    label = str(params.get("version") or "")
    version = TemplateVersion.objects.filter(label=label).first()
    if version is None:
        raise _field_error("version", _("Unknown template version %(v)r.") % {"v": label})
    if version.status != TemplateStatus.ACTIVE:
        raise _field_error("version", _("Template version %(v)s is not active.") % {"v": label})
    return label


def _enable_template_version(params: dict[str, Any], head: ConfigRevision) -> dict[str, Any]:
    """A pilot that never ran (a new install's r1 names no template version) starts on the
    active version the request names, so the approver sees what goes live. Otherwise enabling
    keeps the current version: a different one is a ``set_template_version`` request."""
    if head.template_version:
        if params.get("version") not in (None, "", head.template_version):
            raise _field_error(
                "version",
                _("Enabling keeps template version %(v)s; change it with set_template_version.")
                % {"v": head.template_version},
            )
        return {}
    if params.get("version") in (None, ""):
        if not TemplateVersion.objects.filter(status=TemplateStatus.ACTIVE).exists():
            raise Conflict(
                _(
                    "The pilot has no template version yet and none is active: create and "
                    "activate one (admin, Template versions) before enabling the pilot."
                ),
                code="no_template_version",
            )
        raise _field_error(
            "version",
            _("The pilot has no template version yet: name the active one it starts on."),
        )
    return {"template_version": _active_version(params)}


def _planned_change(*, action: str, params: dict[str, Any], head: ConfigRevision) -> dict[str, Any]:
    """The new config fields the request would set, validated against ``head``. Raises when the
    request makes no sense on this config."""
    require_not_cancelled(head)
    if action == ChangeAction.ENABLE:
        if head.state == PilotState.RUNNING:
            raise Conflict(_("The pilot is already running."), code="no_change")
        return {"state": PilotState.RUNNING, **_enable_template_version(params, head)}
    if action == ChangeAction.PAUSE:
        if head.state == PilotState.PAUSED:
            raise Conflict(_("The pilot is already paused."), code="no_change")
        return {"state": PilotState.PAUSED}
    if action == ChangeAction.CANCEL:
        return {"state": PilotState.CANCELLED}
    if action == ChangeAction.SET_TEMPLATE_VERSION:
        label = _active_version(params)
        if head.template_version == label:
            raise Conflict(
                _("%(v)s is already the template version.") % {"v": label}, code="no_change"
            )
        return {"template_version": label}
    if action == ChangeAction.FLAG_ON:
        name = str(params.get("flag") or "")
        if not FeatureFlag.objects.filter(name=name).exists():
            raise _field_error("flag", _("Unknown feature flag %(f)r.") % {"f": name})
        if head.flags.get(name) is True:
            raise Conflict(_("Flag %(f)s is already on.") % {"f": name}, code="no_change")
        return {"flags": {**head.flags, name: True}}
    if action == ChangeAction.RESTORE_REVISION:
        try:
            number = int(params.get("revision"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _field_error("revision", _("A revision number is required.")) from None
        target = ConfigRevision.objects.filter(number=number).first()
        if target is None or number >= head.number:
            raise _field_error("revision", _("Choose an earlier revision than the current one."))
        if target.state == PilotState.CANCELLED:
            raise _field_error("revision", _("A cancelled revision cannot be restored."))
        return {
            "state": target.state,
            "template_version": target.template_version,
            "flags": dict(target.flags),
        }
    raise _field_error("action", _("Unknown action %(a)r.") % {"a": action})


@transaction.atomic
def change_request_create(
    *,
    actor: User,
    action: str,
    reason: str,
    params: dict[str, Any] | None = None,
    incident: Incident | None = None,
) -> ChangeRequest:
    if action not in ChangeAction.values:
        raise DomainError(_("Unknown action."), fields={"action": [_("Unknown action.")]})
    perm = (
        PilotPerm.ADD_CHANGE_REQUEST
        if action == ChangeAction.ENABLE
        else PilotPerm.REQUEST_ANY_CHANGE
    )
    # The requester is a person, so that four eyes (approver != requester) compares people: a
    # machine's request could be its key holder's own.
    require_perm(
        actor, perm, _("You may not request this change."), person=_("Filing a change request")
    )
    reason = require_reason(reason)
    params = dict(params or {})
    head = require_head(pilot_lock())
    _planned_change(action=action, params=params, head=head)
    request = ChangeRequest.objects.create(
        action=action,
        params=params,
        reason=reason,
        incident=incident,
        requested_by=actor,
        base_revision=head,
    )
    inc.timeline(
        incident=incident,
        kind=inc.NOTE,
        actor=actor,
        message=_("Pilot change requested (#%(id)d, %(action)s): %(reason)s")
        % {"id": request.pk, "action": request.get_action_display(), "reason": reason},
        data={"change_request": request.pk, "action": action, "params": params},
    )
    record(
        event=AuditEventType.PILOT_CHANGE_REQUEST_PENDING,
        actor=actor,
        target=request,
        after={"action": action, "params": params, "base_revision": head.number},
        reason=reason,
    )
    return request


def _lock_request(change_request: ChangeRequest) -> ChangeRequest:
    locked = (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("incident", "requested_by")
        .filter(pk=change_request.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("No such change request."))
    return locked


def _require_decider(request: ChangeRequest, actor: User) -> None:
    require_perm(
        actor,
        PilotPerm.APPROVE_CHANGE_REQUEST,
        _("You may not decide change requests."),
        person=_("Deciding a change request"),
    )
    if request.action == ChangeAction.CANCEL:
        require_perm(
            actor, PilotPerm.APPROVE_CANCEL, _("Only a Decision owner may cancel the pilot.")
        )


def _require_pending(request: ChangeRequest) -> None:
    if request.status != ChangeStatus.PENDING:
        raise Conflict(
            _("Change request #%(id)d is %(status)s already.")
            % {"id": request.pk, "status": request.get_status_display()},
            code="not_pending",
        )


@transaction.atomic
def _approve(*, change_request: ChangeRequest, actor: User) -> ConfigRevision | None:
    head = require_head(pilot_lock())
    request = _lock_request(change_request)
    _require_decider(request, actor)
    # Four eyes compares people: both sides are people (a person holds keys only in their own
    # name), and they differ.
    if request.requested_by_id == actor.pk:
        raise NotAllowed(_("Nobody approves their own change request."), code="four_eyes")
    if is_service_account(request.requested_by):
        raise NotAllowed(
            _(
                "This request was filed by a service account, so no second person can be told "
                "apart from the first: reject it and file it again as a person."
            ),
            code="four_eyes",
        )
    _require_pending(request)
    now = timezone.now()
    if request.base_revision_id != head.pk:
        request.status = ChangeStatus.STALE
        request.decided_by = actor
        request.decided_at = now
        request.decision_reason = _("Config moved to r%(n)d since the request.") % {
            "n": head.number
        }
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record(
            event=AuditEventType.PILOT_CHANGE_REQUEST_STALE,
            actor=actor,
            target=request,
            before={"status": ChangeStatus.PENDING.value},
            after={"status": request.status},
            reason=request.decision_reason,
        )
        return None  # committed as stale; the caller raises 409
    planned = _planned_change(action=request.action, params=request.params, head=head)
    revision = revision_append(
        head=head,
        actor=actor,
        kind=RevisionKind.CHANGE_REQUEST,
        reason=request.reason,
        incident=request.incident,
        change_request=request,
        **planned,
    )
    request.status = ChangeStatus.APPLIED
    request.decided_by = actor
    request.decided_at = now
    request.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        event=AuditEventType.PILOT_CHANGE_REQUEST_APPLIED,
        actor=actor,
        target=request,
        before={"status": ChangeStatus.PENDING.value},
        after={"status": request.status, "revision": revision.number},
    )
    incident = request.incident
    note = _("Change request #%(id)d approved by %(who)s, applied as r%(n)d.") % {
        "id": request.pk,
        "who": actor.get_username(),
        "n": revision.number,
    }
    if request.action == ChangeAction.ENABLE:
        inc.step_done(incident=incident, action=inc.RE_ENABLE_PILOT, actor=actor, note=note)
    elif request.action == ChangeAction.FLAG_ON:
        inc.step_done(incident=incident, action=inc.APPLY_HOTFIX, actor=actor, note=note)
    elif request.action == ChangeAction.RESTORE_REVISION:
        config_rollback_record(
            from_revision=head,
            to_revision=revision,
            actor=actor,
            reason=request.reason,
            incident=incident,
        )
    return revision


def change_request_approve(*, change_request: ChangeRequest, actor: User) -> ConfigRevision:
    """Approve and apply at once. Raises Conflict (409, code ``stale``) when the config moved
    since the request was filed; the request is then recorded as stale."""
    revision = _approve(change_request=change_request, actor=actor)
    if revision is None:
        raise Conflict(
            _("The config changed since this request was filed; it is stale. File a new one."),
            code="stale",
        )
    return revision


@transaction.atomic
def change_request_reject(
    *, change_request: ChangeRequest, actor: User, reason: str
) -> ChangeRequest:
    request = _lock_request(change_request)
    _require_decider(request, actor)
    reason = require_reason(reason)
    _require_pending(request)
    request.status = ChangeStatus.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    record(
        event=AuditEventType.PILOT_CHANGE_REQUEST_REJECTED,
        actor=actor,
        target=request,
        before={"status": ChangeStatus.PENDING.value},
        after={"status": request.status},
        reason=reason,
    )
    inc.timeline(
        incident=request.incident,
        kind=inc.NOTE,
        actor=actor,
        message=_("Pilot change request #%(id)d rejected: %(reason)s")
        % {"id": request.pk, "reason": reason},
        data={"change_request": request.pk},
    )
    return request

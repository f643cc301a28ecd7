"""The pilot's side of the incidents contract: tick bound steps, write the timeline.

Imported lazily so the pilot app never depends on import order with ``incidents``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from incidents.models import Incident


def step_done(
    *,
    incident: Incident | None,
    action: str,
    actor: User | None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    if incident is None:
        return
    from incidents.enums import BoundAction
    from incidents.services import incident_bound_action_done

    incident_bound_action_done(
        incident=incident, action=BoundAction(action), actor=actor, note=note, data=data
    )


def timeline(
    *,
    incident: Incident | None,
    kind: str,
    actor: User | None,
    message: str,
    data: dict[str, Any] | None = None,
) -> None:
    if incident is None:
        return
    from incidents.enums import TimelineKind
    from incidents.services import timeline_record

    timeline_record(
        incident=incident, kind=TimelineKind(kind), actor=actor, message=message, data=data
    )


# Values of incidents.enums.BoundAction / TimelineKind (contract), checked when used.
DISABLE_PILOT = "disable_pilot"
REVERT_TEMPLATE = "revert_template"
APPLY_HOTFIX = "apply_hotfix"
RE_ENABLE_PILOT = "re_enable_pilot"
RECORD_ROLLBACK = "record_rollback"
CONFIG_CHANGED = "config_changed"
ROLLBACK_RECORDED = "rollback_recorded"
NOTE = "note"

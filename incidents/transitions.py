"""The incident life cycle as one table: for every act on an incident, the statuses it is allowed
in, the permission it needs and any extra condition. The services guard with it, the admin
offers what it allows, the API's permission map is read from it and the console shows a
button only where it says so, so the four cannot disagree.

    open → acknowledged → resolved → closed
    open/acknowledged → deferred (SEV2/SEV3 only, bug-tracker link)
    resolved/closed/deferred → open (reopen, with a reason; a closed one by the coordinator)

Some acts must name a person (``person_only``): a service account (a role's machine key) is
refused them whatever its permissions, with the same rule as every other person-only act
(``core.services.require_person``).

A verdict is checked in this order: the permission (403), a person where the act needs one
(403), "already done" (a repeat of what is
already the case is a no-op: acknowledging an acknowledged incident changes nothing), the
status (409), a permission that depends on the status (403), then the extra conditions (409).
What the act's *input* must satisfy (a reason, a URL, the post-mortem fields before closing, a
step that exists) stays with the service that validates it: the table is about the incident's
state and the actor, so that a page can ask it without the input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, NotAllowed
from core.selectors import is_person
from core.services import person_required
from incidents.enums import ACTIVE_STATUSES, DEFERRABLE_SEVERITIES, Status
from incidents.models import Incident
from incidents.permissions import IncidentPerm

Actor = User | AnonymousUser | None

TOP_LEVEL = 4  # the decision owner: nothing to escalate to


class IncidentAction(StrEnum):
    """The acts on one incident (admin action names; the API routes map onto them)."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    CLOSE = "close"
    DEFER = "defer"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    SEVERITY = "severity"
    NOTE = "note"
    PLAYBOOK = "playbook"
    TICK = "tick"
    EDIT_LOG = "edit_log"


class Verdict(Enum):
    GO = "go"  # the act changes the incident
    ALREADY = "already"  # already the case: the service returns the incident unchanged


@dataclass(frozen=True)
class Condition:
    """An extra rule beyond the status; ``refusal`` says why not, for the incident at hand."""

    holds: Callable[[Incident], bool]
    refusal: Callable[[Incident], DomainError]


@dataclass(frozen=True)
class Transition:
    perm: IncidentPerm
    denied: Callable[[], str]  # the 403 message
    doing: Callable[[], str]  # "acknowledged", for "… cannot be acknowledged"
    statuses: frozenset[str]
    allowed_text: Callable[[], str]  # the statuses in words, for the 409 message
    already: frozenset[str] = frozenset()
    status_perms: Mapping[str, tuple[IncidentPerm, Callable[[], str]]] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()
    # The act in words ("Closing an incident") when it must be done by a person.
    person_only: Callable[[], str] | None = None


EVERY_STATUS = frozenset(Status.values)
NOT_CLOSED = EVERY_STATUS - {Status.CLOSED}
# A deferred SEV2/SEV3 waits in the bug tracker: reopening brings it back into the flow.
REOPENABLE = frozenset({Status.RESOLVED, Status.CLOSED, Status.DEFERRED})


def _refuse(incident: Incident, doing: str, allowed: str) -> Conflict:
    return Conflict(
        _("%(label)s is %(status)s: it cannot be %(doing)s (only when %(allowed)s).")
        % {
            "label": incident.label,
            "status": Status(incident.status).label,
            "doing": doing,
            "allowed": allowed,
        },
        code="invalid_transition",
    )


def _not_deferrable(incident: Incident) -> DomainError:
    return Conflict(
        _("Only SEV2/SEV3 incidents may be deferred; %(label)s is %(sev)s.")
        % {"label": incident.label, "sev": incident.severity},
        code="not_deferrable",
    )


def _at_top(incident: Incident) -> DomainError:
    return Conflict(
        _("%(label)s is already at level 4 (Decision owner).") % {"label": incident.label},
        code="invalid_transition",
    )


TRANSITIONS: dict[IncidentAction, Transition] = {
    IncidentAction.ACKNOWLEDGE: Transition(
        perm=IncidentPerm.ACKNOWLEDGE,
        denied=lambda: _("You may not acknowledge incidents."),
        doing=lambda: _("acknowledged"),
        statuses=frozenset({Status.OPEN}),
        allowed_text=lambda: _("open"),
        already=frozenset({Status.ACKNOWLEDGED}),
    ),
    IncidentAction.RESOLVE: Transition(
        perm=IncidentPerm.RESOLVE,
        denied=lambda: _("Only an on-call engineer or above may resolve."),
        doing=lambda: _("resolved"),
        statuses=ACTIVE_STATUSES,
        allowed_text=lambda: _("open, acknowledged or deferred"),
        already=frozenset({Status.RESOLVED}),
    ),
    IncidentAction.CLOSE: Transition(
        perm=IncidentPerm.CLOSE,
        denied=lambda: _("Only the pilot coordinator or above may close."),
        doing=lambda: _("closed"),
        statuses=frozenset({Status.RESOLVED}),
        allowed_text=lambda: _("resolved"),
        already=frozenset({Status.CLOSED}),
        person_only=lambda: _("Closing an incident"),
    ),
    IncidentAction.DEFER: Transition(
        perm=IncidentPerm.DEFER,
        denied=lambda: _("You may not defer incidents."),
        doing=lambda: _("deferred"),
        statuses=frozenset({Status.OPEN, Status.ACKNOWLEDGED}),
        allowed_text=lambda: _("open or acknowledged"),
        already=frozenset({Status.DEFERRED}),
        conditions=(Condition(lambda i: i.severity in DEFERRABLE_SEVERITIES, _not_deferrable),),
    ),
    IncidentAction.REOPEN: Transition(
        perm=IncidentPerm.REOPEN,
        denied=lambda: _("Only an on-call engineer or above may reopen."),
        doing=lambda: _("reopened"),
        statuses=REOPENABLE,
        allowed_text=lambda: _("resolved, closed or deferred"),
        person_only=lambda: _("Reopening an incident"),
        status_perms={
            Status.CLOSED: (
                IncidentPerm.CLOSE,
                lambda: _("Only the pilot coordinator or above may reopen a closed incident."),
            )
        },
    ),
    IncidentAction.ESCALATE: Transition(
        perm=IncidentPerm.ESCALATE,
        denied=lambda: _("You may not escalate incidents."),
        doing=lambda: _("escalated"),
        statuses=ACTIVE_STATUSES,
        allowed_text=lambda: _("open, acknowledged or deferred"),
        conditions=(Condition(lambda i: i.escalation_level < TOP_LEVEL, _at_top),),
    ),
    IncidentAction.SEVERITY: Transition(
        perm=IncidentPerm.CHANGE_SEVERITY,
        denied=lambda: _("You may not change severities."),
        doing=lambda: _("reclassified"),
        statuses=NOT_CLOSED,
        allowed_text=lambda: _("not closed"),
    ),
    IncidentAction.NOTE: Transition(
        perm=IncidentPerm.ANNOTATE,
        denied=lambda: _("You may not annotate incidents."),
        doing=lambda: _("annotated"),
        statuses=EVERY_STATUS,  # a closed incident's timeline still takes notes
        allowed_text=lambda: _("any status"),
    ),
    IncidentAction.PLAYBOOK: Transition(
        perm=IncidentPerm.TICK,
        denied=lambda: _("You may not change this incident's checklist."),
        doing=lambda: _("given another playbook"),
        statuses=NOT_CLOSED,
        allowed_text=lambda: _("not closed"),
    ),
    IncidentAction.TICK: Transition(
        perm=IncidentPerm.TICK,
        denied=lambda: _("You may not tick checklist steps."),
        doing=lambda: _("changed"),
        statuses=NOT_CLOSED,
        allowed_text=lambda: _("not closed"),
    ),
    IncidentAction.EDIT_LOG: Transition(
        perm=IncidentPerm.ANNOTATE,
        denied=lambda: _("You may not edit the incident log."),
        doing=lambda: _("edited"),
        statuses=NOT_CLOSED,
        allowed_text=lambda: _("not closed (reopen it first)"),
    ),
}


def _holds(actor: Actor, perm: str) -> bool:
    """``None`` is the system (commands, tasks, detectors): it may do every act."""
    if actor is None:
        return True
    return bool(actor.is_authenticated and actor.is_active and actor.has_perm(perm))


def _person_refusal(actor: Actor, transition: Transition) -> NotAllowed | None:
    """A service account doing a person-only act (the system, ``None``, still may)."""
    if transition.person_only is None or actor is None or is_person(actor):
        return None
    return person_required(transition.person_only())


def transition_perm(action: IncidentAction) -> IncidentPerm:
    return TRANSITIONS[action].perm


def transition_require(*, actor: Actor, action: IncidentAction) -> None:
    """The permission half, checked before the service reads its input or locks anything."""
    transition = TRANSITIONS[action]
    if not _holds(actor, transition.perm):
        raise NotAllowed(transition.denied())
    refusal = _person_refusal(actor, transition)
    if refusal is not None:
        raise refusal


def transition_statuses_allow(incident: Incident, action: IncidentAction) -> bool:
    return incident.status in TRANSITIONS[action].statuses


def transition_verdict(
    *, incident: Incident, action: IncidentAction, actor: Actor
) -> Verdict | DomainError:
    """GO, ALREADY, or the error the service raises (returned, not raised, so pages can ask)."""
    transition = TRANSITIONS[action]
    if not _holds(actor, transition.perm):
        return NotAllowed(transition.denied())
    refusal = _person_refusal(actor, transition)
    if refusal is not None:
        return refusal
    if incident.status in transition.already:
        return Verdict.ALREADY
    if incident.status not in transition.statuses:
        return _refuse(incident, transition.doing(), transition.allowed_text())
    extra = transition.status_perms.get(incident.status)
    if extra is not None and not _holds(actor, extra[0]):
        return NotAllowed(extra[1]())
    for condition in transition.conditions:
        if not condition.holds(incident):
            return condition.refusal(incident)
    return Verdict.GO


def transition_guard(*, incident: Incident, action: IncidentAction, actor: Actor) -> Verdict:
    """The services' guard (call it on the locked row): raises NotAllowed/Conflict, else GO or
    ALREADY (then the service returns the incident as it is)."""
    verdict = transition_verdict(incident=incident, action=action, actor=actor)
    if isinstance(verdict, DomainError):
        raise verdict
    return verdict


def incident_actions_available(*, incident: Incident, user: Any) -> set[IncidentAction]:
    """The acts ``user`` may take on ``incident`` now and that would change it: what the admin
    offers and the console shows."""
    return {
        action
        for action in TRANSITIONS
        if transition_verdict(incident=incident, action=action, actor=user) is Verdict.GO
    }


def incident_runbook_live(incident: Incident) -> bool:
    """Its checklist still changes (steps tick, bound acts count): the same statuses as ticking.
    Pages offer the other apps' runbook acts (kill switch, exports…) only then."""
    return transition_statuses_allow(incident, IncidentAction.TICK)

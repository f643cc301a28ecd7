"""The incident vocabulary: severities, categories, statuses, sources, bound actions, timeline
kinds and the runbook's escalation criteria. Values are part of the API contract."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    SEV0 = "SEV0", _("SEV0: Critical (Funds/Ledger)")
    SEV1 = "SEV1", _("SEV1: High (Blocking Operations)")
    SEV2 = "SEV2", _("SEV2: Medium (UX/Performance)")
    SEV3 = "SEV3", _("SEV3: Low (Cosmetics)")


# SEV2/SEV3 may be deferred (bug-tracker link); SEV0/SEV1 need the full post-mortem to close.
DEFERRABLE_SEVERITIES = frozenset({Severity.SEV2, Severity.SEV3})
POSTMORTEM_SEVERITIES = frozenset({Severity.SEV0, Severity.SEV1})


class Category(models.TextChoices):
    DUPLICATE_LEDGER = "duplicate_ledger", _("Duplicate ledger entries")
    TIMER_NOT_VISIBLE = "timer_not_visible", _("Timer not visible")
    # The runbook's SEV1 "Disputes stuck (cannot resolve)": a dispute past its TTL. Apart from
    # "Admin cannot resolve dispute" (Incident 3), which needs a resolution tried and failed.
    DISPUTE_STUCK = "dispute_stuck", _("Disputes stuck (cannot resolve)")
    ADMIN_CANNOT_RESOLVE_DISPUTE = "admin_cannot_resolve_dispute", _("Admin cannot resolve dispute")
    DEAL_STUCK = "deal_stuck", _("Deal stuck in state")
    FUNDS_INCORRECT = "funds_incorrect", _("Funds incorrect / double release")
    DATA_INTEGRITY = "data_integrity", _("Ledger inconsistency / data integrity")
    TRANSITION_BLOCKED = "transition_blocked", _("Deal state transitions blocked")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    OPEN = "open", _("open")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    DEFERRED = "deferred", _("deferred")


# An incident in one of these still needs work; a repeat alert (same dedup key) attaches to it.
ACTIVE_STATUSES = frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.DEFERRED})


class Source(models.TextChoices):
    PERSON = "person", _("person")
    API_CLIENT = "api_client", _("API client")
    DETECTOR = "detector", _("detector")
    MONITORING = "monitoring", _("monitoring")


class BoundAction(models.TextChoices):
    """Acts a checklist step may be bound to: when the act happens, the step ticks itself."""

    DISABLE_PILOT = "disable_pilot", _("Disable the pilot")
    EXPORT_TIMELINES = "export_timelines", _("Export affected deal timelines")
    IDENTIFY_KEYS = "identify_idempotency_keys", _("Identify idempotency keys and ledger entries")
    NOTIFY_COORDINATOR = (
        "notify_coordinator",
        _("A notification delivered to the pilot coordinator"),
    )
    DOCUMENT_INCIDENT = "document_incident", _("Description and impact written in the incident log")
    PREPARE_POSTMORTEM = "prepare_postmortem", _("Post-mortem fields written")
    REVERT_TEMPLATE = "revert_template", _("Revert the template version")
    APPLY_HOTFIX = "apply_hotfix", _("A hotfix flag turned on through an approved change")
    RE_ENABLE_PILOT = "re_enable_pilot", _("Re-enable the pilot")
    ESCALATE = "escalate", _("Escalated by a person: hotfix not possible")
    RECORD_ROLLBACK = "record_rollback", _("Record a code rollback")
    # Acts of this app itself (SEV2/SEV3 process).
    DOCUMENT_BUG = "document_bug", _("Document the issue in the bug tracker (defer)")
    PROMOTE_SEVERITY = "promote_severity", _("Promote to SEV1")


class TimelineKind(models.TextChoices):
    OPENED = "opened", _("opened")
    ATTACHED = "attached", _("attached")
    SEVERITY_CHANGED = "severity_changed", _("severity changed")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    STEP_TICKED = "step_ticked", _("step ticked")
    NOTE = "note", _("note")
    ESCALATED = "escalated", _("escalated")
    CONFIG_CHANGED = "config_changed", _("config changed")
    EXPORT_FINISHED = "export_finished", _("export finished")
    FINDING = "finding", _("finding")
    ROLLBACK_RECORDED = "rollback_recorded", _("rollback recorded")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    DEFERRED = "deferred", _("deferred")
    REOPENED = "reopened", _("reopened")
    POSTMORTEM_EDITED = "postmortem_edited", _("post-mortem edited")
    NOTIFIED = "notified", _("notified")
    PLAYBOOK_ADDED = "playbook_added", _("playbook added")
    ALERT = "alert", _("alert")


class PlaybookKind(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate actions (per severity)")
    SOLUTION = "solution", _("Common incident solution (per category)")
    ROLLBACK = "rollback", _("Rollback strategy")


class ResponseClock(models.TextChoices):
    """How a severity's response time is counted (the SLA clock turns it into a deadline)."""

    WALL = "wall", _("wall-clock minutes")
    BUSINESS = "business", _("business-hours minutes")
    NEXT_BUSINESS_DAY = "next_business_day", _("next business day")


class EscalationCriterion(models.TextChoices):
    """The runbook's escalation criteria; each belongs to the level it escalates *from*."""

    # Level 1: Operator → L2
    SEV0_OR_SEV1 = "sev0_or_sev1", _("L1: SEV0 or SEV1")
    NOT_RESOLVED_IN_TIME = (
        "not_resolved_in_time",
        _("L1: Cannot resolve within 15 minutes (SEV0) or 1 hour (SEV1)"),
    )
    HOTFIX_NOT_POSSIBLE = "hotfix_not_possible", _("L1: Hotfix not possible (SEV1 step 4)")
    # Level 2: On-call engineer → L3
    CORE_CHANGE_REQUIRED = "core_change_required", _("L2: Fix requires core code changes")
    UNAVAILABLE_OVER_1H = "unavailable_over_1h", _("L2: System unavailability > 1 hour")
    DATA_INTEGRITY_CONCERN = "data_integrity_concern", _("L2: Data integrity concerns")
    # Level 3: Pilot coordinator → L4
    PILOT_MUST_PAUSE = "pilot_must_pause", _("L3: Pilot must be paused")
    LEGAL_COMPLIANCE = "legal_compliance", _("L3: Legal/compliance concerns")
    MAJOR_SCOPE_CHANGE = "major_scope_change", _("L3: Major scope changes needed")
    # Level 4: Decision owner (top of the path)
    PILOT_CANCELLATION = "pilot_cancellation", _("L4: Pilot cancellation consideration")
    MAJOR_POLICY_CHANGE = "major_policy_change", _("L4: Major policy changes")
    RESOURCE_CONSTRAINTS = "resource_constraints", _("L4: Resource constraints")


# The level each criterion belongs to: the level it leaves, as the runbook's sections list them.
CRITERION_LEVEL: dict[str, int] = {
    EscalationCriterion.SEV0_OR_SEV1: 1,
    EscalationCriterion.NOT_RESOLVED_IN_TIME: 1,
    EscalationCriterion.HOTFIX_NOT_POSSIBLE: 1,
    EscalationCriterion.CORE_CHANGE_REQUIRED: 2,
    EscalationCriterion.UNAVAILABLE_OVER_1H: 2,
    EscalationCriterion.DATA_INTEGRITY_CONCERN: 2,
    EscalationCriterion.PILOT_MUST_PAUSE: 3,
    EscalationCriterion.LEGAL_COMPLIANCE: 3,
    EscalationCriterion.MAJOR_SCOPE_CHANGE: 3,
    EscalationCriterion.PILOT_CANCELLATION: 4,
    EscalationCriterion.MAJOR_POLICY_CHANGE: 4,
    EscalationCriterion.RESOURCE_CONSTRAINTS: 4,
}

TOP_ESCALATION_LEVEL = 4

# The level a criterion escalates *to* when no level is named: one above the level it leaves
# (L1's take it to L2, L2's to L3, L3's to L4); L4 is the top, its criteria are recorded there.
CRITERION_TARGET_LEVEL: dict[str, int] = {
    criterion: min(TOP_ESCALATION_LEVEL, level + 1) for criterion, level in CRITERION_LEVEL.items()
}

LEVEL_NAMES: dict[int, str] = {
    1: "Operator",
    2: "On-call engineer",
    3: "Pilot coordinator",
    4: "Decision owner",
}


class RuleTrigger(models.TextChoices):
    """When an escalation rule fires."""

    ON_SEVERITY = "on_severity", _("at once, when the incident gets this severity")
    UNACKNOWLEDGED = "unacknowledged", _("not acknowledged by the response deadline")
    UNRESOLVED_AFTER = "unresolved_after", _("not resolved after N minutes")


class RuleAction(models.TextChoices):
    NOTIFY = "notify", _("notify the level")
    ESCALATE = "escalate", _("escalate to the level (and notify it)")


class TimerState(models.TextChoices):
    PENDING = "pending", _("pending")
    FIRED = "fired", _("fired")
    SKIPPED = "skipped", _("skipped (condition no longer true)")


class Channel(models.TextChoices):
    EMAIL = "email", _("email")
    WEBHOOK = "webhook", _("webhook")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


def criterion_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The escalation criteria grouped by the level they leave (forms show the runbook's
    sections), each group saying where its criteria take the incident."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for level, name in LEVEL_NAMES.items():
        target = min(TOP_ESCALATION_LEVEL, level + 1)
        heading = (
            f"L{level} {name} → L{target} {LEVEL_NAMES[target]}"
            if target != level
            else f"L{level} {name} (top of the path)"
        )
        groups.append(
            (
                heading,
                [
                    (c.value, str(c.label))
                    for c in EscalationCriterion
                    if CRITERION_LEVEL[c] == level
                ],
            )
        )
    return groups

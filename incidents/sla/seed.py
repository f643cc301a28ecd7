"""The runbook's escalation path and the default escalation policy as data. ``seed_escalation``
creates what is missing and never overwrites an edit (the decision owner edits the policy).
Plain strings on purpose: the data migration imports this module."""

from __future__ import annotations

from typing import Any

LEVELS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "Operator",
        "Initial incident assessment; apply immediate actions (disable pilot, export data); "
        "document incident; escalate if cannot resolve.",
    ),
    (
        2,
        "On-call engineer",
        "Technical investigation; apply hotfixes; system health checks; escalate if fix "
        "requires core changes.",
    ),
    (
        3,
        "Pilot coordinator",
        "Business decision making; user communication; pilot pause/resume decisions; "
        "resource allocation.",
    ),
    (
        4,
        "Decision owner",
        "Final decisions on pilot continuation; resource approval; strategic direction.",
    ),
)

# (position, name, severity, trigger, after_minutes, action, level, criterion)
RULES: tuple[tuple[int, str, str, str, int | None, str, int | None, str], ...] = (
    (
        10,
        "Any new incident: notify the operators (current level) at once",
        "",
        "on_severity",
        None,
        "notify",
        None,
        "sev0_or_sev1",
    ),
    (
        20,
        "SEV0: notify the pilot coordinator (L3) immediately",
        "SEV0",
        "on_severity",
        None,
        "notify",
        3,
        "sev0_or_sev1",
    ),
    # L1's escalation criterion "SEV0 or SEV1": the L2 on-call is paged at open; the incident
    # stays at L1 until "cannot resolve within 15 minutes / 1 hour" moves it (rules 40, 50).
    (
        22,
        "SEV0 (L1 criterion SEV0 or SEV1): page the L2 on-call at open",
        "SEV0",
        "on_severity",
        None,
        "notify",
        2,
        "sev0_or_sev1",
    ),
    (
        24,
        "SEV1 (L1 criterion SEV0 or SEV1): page the L2 on-call at open",
        "SEV1",
        "on_severity",
        None,
        "notify",
        2,
        "sev0_or_sev1",
    ),
    (
        30,
        "Not acknowledged by the response deadline: re-notify the current level",
        "",
        "unacknowledged",
        None,
        "notify",
        None,
        "not_resolved_in_time",
    ),
    (
        40,
        "SEV0 unresolved after 15 minutes: escalate to L2",
        "SEV0",
        "unresolved_after",
        15,
        "escalate",
        2,
        "not_resolved_in_time",
    ),
    (
        50,
        "SEV1 unresolved after 1 hour: escalate to L2",
        "SEV1",
        "unresolved_after",
        60,
        "escalate",
        2,
        "not_resolved_in_time",
    ),
)


def seed_escalation(level_model: Any, rule_model: Any) -> int:
    """Create the missing levels, and the default rules when there are none at all."""
    created = 0
    for level, name, responsibilities in LEVELS:
        _obj, made = level_model.objects.get_or_create(
            level=level, defaults={"name": name, "responsibilities": responsibilities}
        )
        created += int(made)
    if not rule_model.objects.exists():
        for position, name, severity, trigger, minutes, action, target, criterion in RULES:
            rule_model.objects.create(
                position=position,
                name=name,
                severity=severity,
                trigger=trigger,
                after_minutes=minutes,
                action=action,
                level_id=target,
                criterion=criterion,
            )
            created += 1
    return created


# The rules added to the default policy since it was first seeded (positions 22 and 24).
PAGE_L2_AT_OPEN = tuple(rule for rule in RULES if rule[0] in (22, 24))


def add_page_l2_at_open(rule_model: Any) -> int:
    """Add the "SEV0 or SEV1 pages L2 at open" rules to an existing policy that has no such
    rule for the severity (an edited policy that already pages L2 is left as it is)."""
    created = 0
    for position, name, severity, trigger, minutes, action, target, criterion in PAGE_L2_AT_OPEN:
        if rule_model.objects.filter(
            severity=severity, trigger=trigger, level_id=target, criterion=criterion
        ).exists():
            continue
        rule_model.objects.create(
            position=position,
            name=name,
            severity=severity,
            trigger=trigger,
            after_minutes=minutes,
            action=action,
            level_id=target,
            criterion=criterion,
        )
        created += 1
    return created

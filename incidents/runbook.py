"""The runbook (INCIDENT_RUNBOOK.md) as data: severity policies, immediate actions, the common
incidents' playbooks and the rollback strategy.

``seed_runbook`` creates whatever is missing and never overwrites an edit made since (the decision
owner may edit policies and playbooks). The data migration and a post-migrate hook call it, so a
fresh database (or one flushed by a transactional test) always has the runbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Plain strings on purpose: the data migration imports this module.


@dataclass(frozen=True)
class StepData:
    title: str
    detail: str = ""
    bound_action: str = ""


@dataclass(frozen=True)
class PlaybookData:
    slug: str
    kind: str
    title: str
    steps: tuple[StepData, ...]
    category: str = ""
    symptom: str = ""
    cause: str = ""
    prevention: str = ""
    notes: str = ""
    position: int = 0


@dataclass(frozen=True)
class PolicyData:
    severity: str
    name: str
    definition: str
    impact: str
    response_time: str
    response_minutes: int | None
    response_clock: str
    immediate: str  # playbook slug
    extra: dict[str, Any] = field(default_factory=dict)


# SEV0 step 5 "Communication", one step per sub-item, each bound to the act that does it.
COMMUNICATION_STEPS: tuple[StepData, ...] = (
    StepData(
        "Communication: Notify pilot coordinator immediately",
        "Ticks when a notification to the pilot coordinator (L3) is delivered; opening a SEV0 "
        "sends one. If it has not ticked, escalate to the coordinator.",
        "notify_coordinator",
    ),
    StepData(
        "Communication: Document incident in incident log",
        "Ticks when the incident log's Description and Impact are both written.",
        "document_incident",
    ),
    StepData(
        "Communication: Prepare post-mortem",
        "Ticks when the post-mortem fields (root cause, resolution, prevention, lessons "
        "learned) are written.",
        "prepare_postmortem",
    ),
)

# The composite step the seed wrote before it became COMMUNICATION_STEPS.
OLD_COMMUNICATION_TITLE = "Communication"

PLAYBOOKS: tuple[PlaybookData, ...] = (
    PlaybookData(
        slug="immediate-sev0",
        kind="immediate",
        title="SEV0 immediate actions: Critical (Funds/Ledger)",
        position=0,
        steps=(
            StepData(
                "Disable New Pilot Deals",
                "Set pilot.enabled = false (the kill switch; no approval needed).",
                "disable_pilot",
            ),
            StepData(
                "Preserve Logs + Export Affected Deal Timelines",
                "Export timelines for affected deals (timeline export). "
                "Store in secure location for audit.",
                "export_timelines",
            ),
            StepData(
                "Identify Idempotency Keys + Ledger Entries",
                "Query ledger for affected deals. Identify duplicate entries (if any). "
                "Document idempotency keys.",
                "identify_idempotency_keys",
            ),
            StepData(
                "Fix Only Minimal Patch",
                "Do NOT redesign core. Fix only the specific issue. Test fix thoroughly. "
                "Deploy fix. Re-enable pilot if fix successful.",
            ),
            # Step 5 "Communication" is three acts, each its own step ticked by that act.
            *COMMUNICATION_STEPS,
        ),
    ),
    PlaybookData(
        slug="immediate-sev1",
        kind="immediate",
        title="SEV1 immediate actions: High (Blocking Operations)",
        position=1,
        steps=(
            StepData(
                "Check Dispute TTL and Timer Display",
                "Verify disputes have TTL timers. Check timer visibility in UI. "
                "Verify timer expiration logic.",
            ),
            StepData(
                "Verify Admin Role Access",
                "Check admin can access dispute list. Verify admin can resolve disputes. "
                "Check role permissions.",
            ),
            StepData(
                "Apply Hotfix Behind Feature Flag (If Possible)",
                "If fix can be feature-flagged, apply hotfix. Test in staging first "
                "(if time permits). Deploy to production. Monitor closely.",
                "apply_hotfix",
            ),
            StepData(
                "If Hotfix Not Possible",
                "Document workaround. Escalate to engineer. "
                "Consider temporary manual process (if safe).",
                "escalate",
            ),
        ),
    ),
    PlaybookData(
        slug="immediate-sev2-sev3",
        kind="immediate",
        title="SEV2/SEV3 immediate actions: Defer unless blocks pilot",
        position=2,
        steps=(
            StepData(
                "Document issue in bug tracker",
                "Defer the incident with the bug-tracker link.",
                "document_bug",
            ),
            StepData("Prioritize for next sprint"),
            StepData("Fix during regular maintenance window"),
            StepData(
                "If becomes blocking, escalate to SEV1",
                "Change the severity to SEV1 with the reason.",
                "promote_severity",
            ),
        ),
    ),
    PlaybookData(
        slug="duplicate-ledger",
        kind="solution",
        category="duplicate_ledger",
        title="Incident 1: Duplicate Ledger Entries",
        position=1,
        symptom="Same idempotency key creates multiple ledger entries",
        cause="Idempotency check failure",
        prevention="- Test idempotency in staging\n- Monitor duplicate entry metrics",
        steps=(
            StepData("Disable pilot (SEV0)", bound_action="disable_pilot"),
            StepData("Export affected deal timelines", bound_action="export_timelines"),
            StepData("Identify duplicate entries", bound_action="identify_idempotency_keys"),
            StepData("Fix idempotency check logic"),
            StepData("Test fix thoroughly"),
            StepData("Re-enable pilot", bound_action="re_enable_pilot"),
        ),
    ),
    PlaybookData(
        slug="timer-not-visible",
        kind="solution",
        category="timer_not_visible",
        title="Incident 2: Timer Not Visible",
        position=2,
        symptom="Deals in INSPECTION/ISSUE but timer not shown",
        cause="Timer creation failure or UI bug",
        prevention="- Timer SLA monitoring\n- Automated tests for timer visibility",
        steps=(
            StepData("Check timer creation in backend logs"),
            StepData("Verify timer exists in database"),
            StepData("Check UI timer display logic"),
            StepData("Fix timer creation or display"),
            StepData("Verify fix with test deal"),
        ),
    ),
    PlaybookData(
        slug="admin-cannot-resolve-dispute",
        kind="solution",
        category="admin_cannot_resolve_dispute",
        title="Incident 3: Admin Cannot Resolve Dispute",
        position=3,
        symptom="Admin sees dispute but cannot select resolution",
        cause="Role permission issue or UI bug",
        prevention="- Role permission tests\n- Admin workflow tests",
        steps=(
            StepData("Verify admin role in database"),
            StepData("Check role permission logic"),
            StepData("Verify UI role check"),
            StepData("Fix permission or UI bug"),
            StepData("Test with admin user"),
        ),
    ),
    PlaybookData(
        slug="deal-stuck",
        kind="solution",
        category="deal_stuck",
        title="Incident 4: Deal Stuck in State",
        position=4,
        symptom="Deal in same state > 7 days",
        cause="State transition failure or timer not firing",
        prevention="- Stuck deal monitoring\n- Automated state transition tests",
        steps=(
            StepData("Check deal state in database"),
            StepData("Check timer status"),
            StepData("Verify state transition logic"),
            StepData("Manually trigger transition (if safe)"),
            StepData("Fix underlying issue"),
        ),
    ),
    PlaybookData(
        slug="rollback-config",
        kind="rollback",
        title="Rollback: Prefer Config Rollback (Flags/Templates)",
        position=1,
        notes="Prefer config rollback. No code changes required; instant rollback; "
        "existing deals continue normally.",
        steps=(
            StepData(
                "Disable Feature Flag", "Set pilot.enabled = false.", bound_action="disable_pilot"
            ),
            StepData(
                "Revert Template Version (If Needed)",
                "Set pilot.template-version back (e.g. v2 → v1); existing deals keep the "
                "version they were created with.",
                bound_action="revert_template",
            ),
            StepData(
                "Restart Application",
                "No code changes required. Instant rollback. Existing deals continue normally. "
                "(The platform reads the config on its next request: no restart is needed here.)",
            ),
        ),
    ),
    PlaybookData(
        slug="rollback-code",
        kind="rollback",
        title="Rollback: Code Rollback (Only If Config Insufficient)",
        position=2,
        notes="Only if config rollback is insufficient. Recorded here, performed outside.",
        steps=(
            StepData(
                "Identify Commit to Revert To",
                "Find last known good commit. Verify commit does not break existing deals.",
            ),
            StepData(
                "Revert Code", "git revert <commit-hash>  (OR git reset --hard <commit-hash>)"
            ),
            StepData(
                "Deploy Reverted Code",
                "Test in staging first. Deploy to production. Monitor closely.",
            ),
            StepData(
                "Document Rollback",
                "Reason for rollback. What was reverted. Impact on existing deals.",
                bound_action="record_rollback",
            ),
        ),
    ),
)

POLICIES: tuple[PolicyData, ...] = (
    PolicyData(
        severity="SEV0",
        name="Critical (Funds/Ledger)",
        definition="- Funds incorrect / double release\n- Ledger inconsistency\n"
        "- Data integrity issues",
        impact="- Financial loss\n- Legal/compliance risk\n- System trust compromised",
        response_time="Immediate (< 15 minutes)",
        response_minutes=15,
        response_clock="wall",
        immediate="immediate-sev0",
    ),
    PolicyData(
        severity="SEV1",
        name="High (Blocking Operations)",
        definition="- Disputes stuck (cannot resolve)\n- Timers not visible\n"
        "- Admin cannot resolve disputes\n- Deal state transitions blocked",
        impact="- Pilot operations blocked\n- User experience severely degraded\n- SLA violations",
        response_time="< 1 hour",
        response_minutes=60,
        response_clock="wall",
        immediate="immediate-sev1",
    ),
    PolicyData(
        severity="SEV2",
        name="Medium (UX/Performance)",
        definition="- UX bugs (non-blocking)\n- Translation issues\n- Slow pages\n"
        "- Minor display errors",
        impact="- User experience degraded\n- Support requests increase\n"
        "- Pilot continues but with friction",
        response_time="< 4 hours (business hours)",
        response_minutes=240,
        response_clock="business",
        immediate="immediate-sev2-sev3",
    ),
    PolicyData(
        severity="SEV3",
        name="Low (Cosmetics)",
        definition="- Minor UI cosmetics\n- Typos\n- Styling issues",
        impact="- Minimal user impact\n- Professional appearance",
        response_time="Next business day",
        response_minutes=None,
        response_clock="next_business_day",
        immediate="immediate-sev2-sev3",
    ),
)


def seed_runbook(playbook_model: Any, step_model: Any, policy_model: Any) -> int:
    """Create missing playbooks (with their steps) and severity policies. Returns rows created.

    Takes the model classes so the data migration can pass its historical models."""
    created = 0
    by_slug: dict[str, Any] = {}
    for data in PLAYBOOKS:
        playbook = playbook_model.objects.filter(slug=data.slug).first()
        if playbook is None:
            playbook = playbook_model.objects.create(
                slug=data.slug,
                kind=data.kind,
                title=data.title,
                category=data.category,
                symptom=data.symptom,
                cause=data.cause,
                prevention=data.prevention,
                notes=data.notes,
                position=data.position,
            )
            step_model.objects.bulk_create(
                [
                    step_model(
                        playbook=playbook,
                        position=i,
                        title=step.title,
                        detail=step.detail,
                        bound_action=step.bound_action,
                    )
                    for i, step in enumerate(data.steps, start=1)
                ]
            )
            created += 1 + len(data.steps)
        by_slug[data.slug] = playbook
    for policy in POLICIES:
        if policy_model.objects.filter(severity=policy.severity).exists():
            continue
        policy_model.objects.create(
            severity=policy.severity,
            name=policy.name,
            definition=policy.definition,
            impact=policy.impact,
            response_time=policy.response_time,
            response_minutes=policy.response_minutes,
            response_clock=policy.response_clock,
            immediate_actions=by_slug[policy.immediate],
        )
        created += 1
    return created


def split_communication_step(playbook_model: Any, step_model: Any) -> int:
    """Replace the seeded SEV0 playbook's composite "Communication" step with
    ``COMMUNICATION_STEPS`` (same place in the order; later steps move down). A playbook whose
    step was edited since (title or bound act changed) is left alone. Returns steps created."""
    playbook = playbook_model.objects.filter(slug="immediate-sev0").first()
    if playbook is None:
        return 0
    old = step_model.objects.filter(
        playbook=playbook, title=OLD_COMMUNICATION_TITLE, bound_action="notify_coordinator"
    ).first()
    if old is None:
        return 0
    position = old.position
    later = list(
        step_model.objects.filter(playbook=playbook, position__gt=position).order_by("-position")
    )
    old.delete()
    for step in later:  # from the end, so positions never collide
        step.position += len(COMMUNICATION_STEPS) - 1
        step.save(update_fields=["position"])
    step_model.objects.bulk_create(
        [
            step_model(
                playbook=playbook,
                position=position + i,
                title=step.title,
                detail=step.detail,
                bound_action=step.bound_action,
            )
            for i, step in enumerate(COMMUNICATION_STEPS)
        ]
    )
    return len(COMMUNICATION_STEPS)

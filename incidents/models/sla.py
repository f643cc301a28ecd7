"""The SLA clock's data: extra holidays, the escalation levels and rules (policy as data, edited
by the decision owner), the per-incident timers the sweep fires, escalations and the sweep's
heartbeat."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.enums import (
    EscalationCriterion,
    RuleAction,
    RuleTrigger,
    Severity,
    TimerState,
)
from incidents.models.incident import Incident

LEVEL_RANGE = Q(level__gte=1) & Q(level__lte=4)


class BusinessHoliday(models.Model):
    """A day without business hours beyond the country's public holidays (company days off)."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("business holiday")
        verbose_name_plural = _("business holidays")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}"


class EscalationLevel(models.Model):
    """The runbook's escalation path: 1 Operator, 2 On-call engineer, 3 Pilot coordinator,
    4 Decision owner."""

    level = models.PositiveSmallIntegerField(_("level"), primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    responsibilities = models.TextField(_("responsibilities"), blank=True)

    class Meta:
        ordering = ["level"]
        constraints = [models.CheckConstraint(condition=LEVEL_RANGE, name="incidents_level_1_4")]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")

    def __str__(self) -> str:
        return f"L{self.level} {self.name}"


class EscalationRule(models.Model):
    """One line of the escalation policy: for a severity (or all), when (trigger), what
    (notify or escalate) and which level (empty: the incident's current level)."""

    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    severity = models.CharField(
        _("severity"),
        max_length=4,
        choices=Severity.choices,
        blank=True,
        help_text=_("Empty: every severity."),
    )
    trigger = models.CharField(_("trigger"), max_length=20, choices=RuleTrigger.choices)
    after_minutes = models.PositiveIntegerField(
        _("after minutes"), null=True, blank=True, help_text=_("For “not resolved after”.")
    )
    action = models.CharField(_("action"), max_length=10, choices=RuleAction.choices)
    level = models.ForeignKey(
        EscalationLevel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("level"),
        help_text=_("Empty: the incident's current level."),
    )
    criterion = models.CharField(
        _("criterion"),
        max_length=40,
        choices=EscalationCriterion.choices,
        default=EscalationCriterion.NOT_RESOLVED_IN_TIME,
        help_text=_("Recorded on escalations this rule makes."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="unresolved_after") | Q(after_minutes__isnull=False),
                name="incidents_rule_unresolved_needs_minutes",
            ),
            models.CheckConstraint(
                condition=~Q(action="escalate") | Q(level__isnull=False),
                name="incidents_rule_escalate_needs_level",
            ),
        ]
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")

    def __str__(self) -> str:
        return self.name


class SlaTimer(models.Model):
    """A rule's deadline for one incident; the sweep fires due pending timers (indexed)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="sla_timers")
    rule = models.ForeignKey(EscalationRule, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField(_("due at"))
    state = models.CharField(
        _("state"), max_length=10, choices=TimerState.choices, default=TimerState.PENDING
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                condition=Q(state="pending"),
                name="incidents_slatimer_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "rule", "due_at"], name="incidents_slatimer_unique"
            )
        ]
        verbose_name = _("SLA timer")
        verbose_name_plural = _("SLA timers")

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.due_at:%Y-%m-%d %H:%M}"


class Escalation(models.Model):
    """An incident reaching a level. A level is reached at most once (never down)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="escalations")
    from_level = models.PositiveSmallIntegerField(_("from level"))
    to_level = models.PositiveSmallIntegerField(_("to level"))
    criterion = models.CharField(_("criterion"), max_length=40, choices=EscalationCriterion.choices)
    rule = models.ForeignKey(
        EscalationRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["incident", "to_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "to_level"], name="incidents_escalation_once_per_level"
            ),
            models.CheckConstraint(
                condition=Q(to_level__gt=models.F("from_level")) & Q(to_level__lte=4),
                name="incidents_escalation_goes_up",
            ),
        ]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"L{self.from_level} → L{self.to_level}"


class SweepHeartbeat(models.Model):
    """One row: when the SLA sweep last ran (``/healthz/`` watches it)."""

    last_started_at = models.DateTimeField(_("last started at"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished at"), null=True, blank=True)
    last_processed = models.PositiveIntegerField(_("timers handled in the last run"), default=0)
    runs = models.PositiveBigIntegerField(_("runs"), default=0)

    class Meta:
        verbose_name = _("SLA sweep heartbeat")

    def __str__(self) -> str:
        return f"sweep @ {self.last_finished_at}"

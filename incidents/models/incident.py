"""Incidents, their checklist and append-only timeline; severity policies and playbooks (data
seeded from the runbook, editable by the decision owner)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.enums import (
    ACTIVE_STATUSES,
    BoundAction,
    Category,
    PlaybookKind,
    ResponseClock,
    Severity,
    Source,
    Status,
    TimelineKind,
)


class SeverityPolicy(models.Model):
    """One severity level as the runbook defines it: shown wherever someone picks a severity."""

    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices, unique=True)
    name = models.CharField(_("name"), max_length=100)
    definition = models.TextField(_("definition"))
    impact = models.TextField(_("impact"))
    response_time = models.CharField(_("response time"), max_length=100)
    response_minutes = models.PositiveIntegerField(
        _("response minutes"), null=True, blank=True, help_text=_("Empty for next business day.")
    )
    response_clock = models.CharField(
        _("response clock"), max_length=20, choices=ResponseClock.choices
    )
    immediate_actions = models.ForeignKey(
        "Playbook",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("immediate actions"),
    )

    class Meta:
        ordering = ["severity"]
        verbose_name = _("severity policy")
        verbose_name_plural = _("severity policies")

    def __str__(self) -> str:
        return f"{self.severity}: {self.name}"


class Playbook(models.Model):
    """An ordered list of steps from the runbook: a severity's immediate actions, a common
    incident's solution, or the rollback strategy."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=PlaybookKind.choices)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(
        _("category"), max_length=40, choices=Category.choices, blank=True, default=""
    )
    symptom = models.TextField(_("symptom"), blank=True)
    cause = models.TextField(_("likely cause"), blank=True)
    prevention = models.TextField(_("prevention"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["kind", "position", "slug"]
        constraints = [
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(kind="solution") & ~Q(category=""),
                name="incidents_one_solution_playbook_per_category",
            )
        ]

    def __str__(self) -> str:
        return self.title


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    bound_action = models.CharField(
        _("bound action"), max_length=40, choices=BoundAction.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "position"], name="incidents_playbookstep_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class IncidentCounter(models.Model):
    """One row holding the last incident number; locked while a number is taken (gap-free)."""

    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.last_number)


ACTIVE_Q = Q(status__in=sorted(str(s) for s in ACTIVE_STATUSES))  # sorted: stable migrations


class Incident(models.Model):
    number = models.PositiveIntegerField(_("number"), unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices)
    category = models.CharField(
        _("category"), max_length=40, choices=Category.choices, default=Category.OTHER
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.PERSON
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=1)
    affected_deals = models.JSONField(_("affected deals"), default=list, blank=True)
    dedup_key = models.CharField(_("dedup key"), max_length=200, blank=True, default="")
    bug_tracker_url = models.URLField(_("bug-tracker link"), max_length=500, blank=True)

    # The incident log (runbook template).
    description = models.TextField(_("description"), blank=True)
    impact = models.TextField(_("impact"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    prevention = models.TextField(_("prevention"), blank=True)
    lessons_learned = models.TextField(_("lessons learned"), blank=True)

    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    deferred_at = models.DateTimeField(_("deferred at"), null=True, blank=True)
    # The SLA clock: deadlines from the severity policy and the escalation rules,
    # counted from when the incident got its current severity or was last reopened (the clock
    # restarts then); breaches recorded when they happen.
    severity_set_at = models.DateTimeField(_("severity set at"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("response due at"), null=True, blank=True)
    escalation_due_at = models.DateTimeField(
        _("escalation due at"), null=True, blank=True, db_index=True
    )
    acknowledged_late = models.BooleanField(_("acknowledged late"), default=False)
    resolved_late = models.BooleanField(_("resolved late"), default=False)

    class Meta:
        ordering = ["-number"]
        indexes = [
            models.Index(fields=["status", "severity"], name="incidents_status_severity"),
            models.Index(fields=["response_due_at"], name="incidents_response_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_level__gte=1) & Q(escalation_level__lte=4),
                name="incidents_escalation_level_1_4",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="incidents_number_positive"),
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=ACTIVE_Q & ~Q(dedup_key=""),
                name="incidents_one_active_per_dedup_key",
            ),
            models.CheckConstraint(
                condition=~Q(status="deferred") | Q(severity__in=["SEV2", "SEV3"]),
                name="incidents_only_sev2_sev3_deferred",
            ),
        ]
        permissions = [
            ("acknowledge_incident", "Can acknowledge incidents"),
            ("annotate_incident", "Can add notes and edit the incident log"),
            ("tick_incident", "Can tick checklist steps"),
            ("escalate_incident", "Can escalate incidents"),
            ("change_severity_incident", "Can change an incident's severity"),
            ("defer_incident", "Can defer SEV2/SEV3 incidents"),
            ("resolve_incident", "Can resolve incidents"),
            ("reopen_incident", "Can reopen incidents"),
            ("close_incident", "Can close incidents after the post-mortem"),
            ("record_alert_incident", "Can record monitoring alerts (firing, resolved)"),
        ]

    def __str__(self) -> str:
        return f"{self.label} — {self.title}"

    @property
    def label(self) -> str:
        return f"Incident #{self.number:03d}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ChecklistStep(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveSmallIntegerField(_("position"))
    section = models.CharField(_("section"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200)
    detail = models.TextField(_("detail"), blank=True)
    bound_action = models.CharField(
        _("bound action"), max_length=40, choices=BoundAction.choices, blank=True, default=""
    )
    playbook = models.ForeignKey(
        Playbook, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done = models.BooleanField(_("done"), default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "position"], name="incidents_checkliststep_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class TimelineEntry(models.Model):
    """Append-only: services insert rows; PostgreSQL refuses UPDATE and DELETE (trigger)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="timeline")
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=24, choices=TimelineKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    message = models.TextField(_("message"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["incident", "at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="incidents_timeline_inc_at")]
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}: {self.message[:60]}"

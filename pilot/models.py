"""The pilot's runtime switches: an immutable chain of config revisions, template versions,
hotfix flags, change requests (four eyes), rollback records and change webhooks."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pilot.enums import (
    ChangeAction,
    ChangeStatus,
    DeliveryStatus,
    PilotState,
    RevisionKind,
    RollbackKind,
    TemplateStatus,
)
from pilot.webhook_events import (
    AUDIT_CHECKPOINT,
    PILOT_CONFIG,
    default_events,
    validate_events,
)

CONFIG_FIELDS = ("enabled", "state", "template_version", "flags")


class Pilot(models.Model):
    """Singleton (pk=1). Its row is the lock every config write takes, so concurrent writers
    append to the revision chain one after the other."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)

    class Meta:
        verbose_name = _("pilot")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="pilot_singleton")]

    def __str__(self) -> str:
        return "pilot"


class TemplateVersion(models.Model):
    label = models.CharField(_("label"), max_length=20, unique=True, help_text=_("v1, v2…"))
    sequence = models.PositiveIntegerField(
        _("sequence"), unique=True, help_text=_("Order of versions: a higher number is newer.")
    )
    description = models.TextField(_("description"), blank=True)
    body = models.JSONField(_("template body"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TemplateStatus.choices, default=TemplateStatus.DRAFT
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("template version")

    def __str__(self) -> str:
        return self.label


class FeatureFlag(models.Model):
    """A hotfix flag the platform may read. Its on/off value lives in the config revisions."""

    name = models.SlugField(_("name"), max_length=64, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("feature flag")

    def __str__(self) -> str:
        return self.name


class ConfigRevision(models.Model):
    """One immutable state of the pilot's config. The newest revision is the current config.

    ``number`` is gap-free (1, 2, 3…) and each revision has exactly one child at most (unique
    ``parent``), so the history is one straight chain."""

    number = models.PositiveIntegerField(_("revision"), unique=True)
    parent = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="child"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RevisionKind.choices)
    state = models.CharField(_("state"), max_length=10, choices=PilotState.choices)
    enabled = models.BooleanField(_("enabled"))
    template_version = models.CharField(_("template version"), max_length=20)
    flags = models.JSONField(_("flags"), default=dict, blank=True)
    created_at = models.DateTimeField(_("changed at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    reason = models.TextField(_("reason"))
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pilot_revisions",
    )
    change_request = models.OneToOneField(
        "pilot.ChangeRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applied_revision",
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("config revision")
        permissions = [
            ("read_config", "Can read the pilot config (API)"),
            ("disable_pilot", "Can disable the pilot (kill switch)"),
            ("pause_pilot", "Can pause the pilot"),
            ("revert_template", "Can revert the template version to an earlier one"),
            ("switch_flag_off", "Can switch a hotfix flag off"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="pilot_revision_number_gte_1"),
            models.CheckConstraint(
                condition=Q(state=PilotState.RUNNING, enabled=True)
                | (~Q(state=PilotState.RUNNING) & Q(enabled=False)),
                name="pilot_revision_enabled_iff_running",
            ),
            models.CheckConstraint(
                condition=Q(number=1, parent__isnull=True) | Q(number__gt=1, parent__isnull=False),
                name="pilot_revision_parent_iff_not_first",
            ),
        ]

    def __str__(self) -> str:
        return f"r{self.number} — {self.state}, {self.template_version}"

    def config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONFIG_FIELDS}


class ChangeRequest(models.Model):
    """A change towards risk: applied only when a second person approves it."""

    action = models.CharField(_("action"), max_length=24, choices=ChangeAction.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    reason = models.TextField(_("reason"))
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pilot_change_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    base_revision = models.ForeignKey(
        ConfigRevision, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ChangeStatus.choices,
        default=ChangeStatus.PENDING,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("change request")
        permissions = [
            ("request_any_change", "Can request any pilot config change"),
            ("approve_changerequest", "Can approve or reject pilot change requests"),
            ("approve_cancel", "Can approve cancelling the pilot"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=ChangeStatus.PENDING)
                | Q(decided_at__isnull=False, decided_by__isnull=False),
                name="pilot_changerequest_decided_has_decider",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_action_display()} ({self.status})"


class RollbackRecord(models.Model):
    """A rollback on record: config rollbacks are written by the services, code rollbacks by an
    engineer (the code itself is reverted outside this system)."""

    kind = models.CharField(_("kind"), max_length=10, choices=RollbackKind.choices)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pilot_rollbacks",
    )
    from_revision = models.ForeignKey(
        ConfigRevision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_revision = models.ForeignKey(
        ConfigRevision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_commit = models.CharField(_("from commit"), max_length=64, blank=True)
    to_commit = models.CharField(_("to commit"), max_length=64, blank=True)
    reason = models.TextField(_("reason"))
    what_reverted = models.TextField(_("what was reverted"), blank=True)
    impact_on_deals = models.TextField(_("impact on existing deals"), blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("rollback record")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=RollbackKind.CONFIG, to_revision__isnull=False)
                | (Q(kind=RollbackKind.CODE) & ~Q(from_commit="") & ~Q(to_commit="")),
                name="pilot_rollback_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == RollbackKind.CODE:
            return f"code rollback {self.from_commit[:10]} → {self.to_commit[:10]}"
        return f"config rollback #{self.pk}"


class WebhookSubscription(models.Model):
    """A receiver of the events its ``events`` filter names (``pilot.webhook_events``)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    events = models.JSONField(
        _("events"),
        default=default_events,
        validators=[validate_events],
        help_text=_('Event names or patterns, e.g. ["pilot.config"] or ["incident.*"].'),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook subscription")

    def __str__(self) -> str:
        return self.name or self.url


class WebhookDelivery(models.Model):
    """One event pushed to one subscriber, sent at most once: an applied config revision
    (``pilot.config``, created with the revision) or a published audit checkpoint
    (``audit.checkpoint``, created when it is recorded). Exactly one of the two is set."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, default=PILOT_CONFIG)
    revision = models.ForeignKey(
        ConfigRevision, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    checkpoint = models.ForeignKey(
        "core.AuditCheckpoint", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "revision"], name="pilot_delivery_once_per_revision"
            ),
            models.UniqueConstraint(
                fields=["subscription", "checkpoint"], name="pilot_delivery_once_per_checkpoint"
            ),
            models.CheckConstraint(
                condition=(
                    Q(event=PILOT_CONFIG, revision__isnull=False, checkpoint__isnull=True)
                    | Q(event=AUDIT_CHECKPOINT, revision__isnull=True, checkpoint__isnull=False)
                ),
                name="pilot_delivery_of_one_event",
            ),
        ]

    def __str__(self) -> str:
        what = f"r{self.revision_id}" if self.revision_id else f"checkpoint {self.checkpoint_id}"
        return f"{what} → {self.subscription_id} ({self.status})"

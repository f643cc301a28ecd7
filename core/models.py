from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A machine credential. Only a keyed hash of the key is stored; the key is shown once."""

    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys"
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        permissions = [
            ("use_api", "Can call the API"),
            ("revoke_apikey", "Can revoke API keys"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ServiceAccount(models.Model):
    """Marks a user as a machine account (the one behind ``create_api_key --role ROLE``), not a
    person. Acts that must name a person (deciding change requests, closing, policy edits)
    refuse such an account whatever its permissions; four eyes compares people. A row of its
    own, not a group or a name prefix, so that editing a user's groups or name in the admin
    cannot turn a machine into a person."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="service_account",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("service account")

    def __str__(self) -> str:
        return str(self.user_id)


class IdempotencyRecord(models.Model):
    """The first completed response to an unsafe request carrying an ``Idempotency-Key``."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")

    client = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_PROGRESS)
    claim = models.UUIDField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_client_key"),
            models.CheckConstraint(
                condition=Q(state="in_progress") | Q(status_code__isnull=False),
                name="idempotency_completed_has_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.key} ({self.state})"


class AuditEvent(models.Model):
    """One audited change (who, what, which row, before/after, why), written only by
    ``core.audit.record`` in the same transaction as the change and sealed on the hash chain.
    Append-only (on PostgreSQL the database refuses UPDATE and DELETE)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}#{self.target_id}"


# The audit chain's model lives with its logic.
from core.audit_chain import AuditLink  # noqa: E402

__all__ = ["ApiKey", "AuditEvent", "AuditLink", "IdempotencyRecord", "ServiceAccount"]

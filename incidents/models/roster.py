"""Who gets told: the roster of each level with their contact channels, on-call shifts,
webhook endpoints and the notifications with their delivery record."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.enums import Channel, DeliveryStatus
from incidents.models.incident import Incident
from incidents.models.sla import Escalation, EscalationLevel


class WebhookFormat(models.TextChoices):
    """The payload a webhook endpoint is sent (``incidents.services.chat``)."""

    GENERIC = "generic", _("Generic JSON (text, key, incident fields)")
    SLACK = "slack", _("Slack (Block Kit blocks and text)")
    MATTERMOST = "mattermost", _("Mattermost (attachments with a severity colour)")


class WebhookEndpoint(models.Model):
    """A chat/webhook receiver, sent the payload its ``format`` names; requests are signed with
    its secret (Standard Webhooks and X-Signature)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=200)
    format = models.CharField(
        _("payload format"),
        max_length=12,
        choices=WebhookFormat.choices,
        default=WebhookFormat.GENERIC,
        help_text=_("What the receiver understands: a chat's incoming webhook, or plain JSON."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name


class RosterMember(models.Model):
    """A person at an escalation level and how to reach them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT, related_name="members")
    email = models.EmailField(_("email"), blank=True, help_text=_("Empty: no email."))
    webhook = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("webhook endpoint"),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["level", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "level"], name="incidents_roster_unique")
        ]
        verbose_name = _("roster member")
        verbose_name_plural = _("roster members")

    def __str__(self) -> str:
        return f"L{self.level_id} {self.user.get_username()}"


class OnCallShift(models.Model):
    """A roster member covers their level from ``starts_at`` until ``ends_at``."""

    member = models.ForeignKey(RosterMember, on_delete=models.CASCADE, related_name="shifts")
    level = models.ForeignKey(EscalationLevel, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        ordering = ["level", "starts_at"]
        indexes = [
            models.Index(fields=["level", "starts_at", "ends_at"], name="incidents_shift_cover")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="incidents_shift_ends_after_start"
            )
        ]
        verbose_name = _("on-call shift")
        verbose_name_plural = _("on-call shifts")

    def __str__(self) -> str:
        return f"L{self.level_id} {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """One message to one recipient on one channel. ``key`` makes it exist once; the delivery
    record says whether it was sent."""

    key = models.CharField(_("key"), max_length=200, unique=True)
    event = models.CharField(
        _("event"), max_length=150, db_index=True, help_text=_("What it is about (one per event).")
    )
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notifications")
    escalation = models.ForeignKey(
        Escalation, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    level = models.PositiveSmallIntegerField(_("level"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    member = models.ForeignKey(
        RosterMember, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("body"))
    roster_gap = models.BooleanField(
        _("roster gap"), default=False, help_text=_("Nobody was on call: sent to every member.")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="incidents_notification_queued",
            )
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient} ({self.status})"

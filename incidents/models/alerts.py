"""Alerts from monitoring (Alertmanager, Grafana) and the incident each one was filed under."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models.incident import Incident


class AlertStatus(models.TextChoices):
    FIRING = "firing", _("firing")
    RESOLVED = "resolved", _("resolved")


class IncidentAlert(models.Model):
    """One alert (by its fingerprint) as it last stood on an incident: the incident's alerts all
    resolved is what lets a SEV2/SEV3 incident resolve itself."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="alerts")
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    name = models.CharField(_("alert name"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=AlertStatus.choices)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    starts_at = models.DateTimeField(_("starts at"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["incident", "fingerprint"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "fingerprint"], name="incidents_alert_unique_fingerprint"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} ({self.status})"

"""The mirror of the platform's deals, ledger entries, timers and disputes, plus what we derive
from it: detector findings, the detection outbox and timeline exports.

Child rows point at ``Deal`` through the platform's deal id (``to_field="deal_id"``), so the feed
can insert them in bulk without looking deals up first."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger_audit.enums import (
    Detector,
    DisputeStatus,
    EntryKind,
    ExportStatus,
    TimerStatus,
)

ID_LENGTH = 128


class Deal(models.Model):
    """A platform deal. Created by its first event or by the first item that mentions it."""

    deal_id = models.CharField(_("deal id"), max_length=ID_LENGTH, unique=True)
    state = models.CharField(_("state"), max_length=32, blank=True)
    state_since = models.DateTimeField(_("state since"), null=True, blank=True)
    template_version = models.CharField(_("template version"), max_length=64, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("deal")
        indexes = [
            models.Index(fields=["state", "state_since"], name="la_deal_state_since"),
            models.Index(fields=["template_version", "state"], name="la_deal_version_state"),
        ]

    def __str__(self) -> str:
        return self.deal_id


class DealEvent(models.Model):
    """A deal state event. The platform gives no event id: (deal, state, occurred_at) is one."""

    deal = models.ForeignKey(
        Deal,
        to_field="deal_id",
        db_column="deal_id",
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # covered by the (deal, occurred_at) index
    )
    state = models.CharField(_("state"), max_length=32)
    occurred_at = models.DateTimeField(_("occurred at"))
    template_version = models.CharField(_("template version"), max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("deal event")
        permissions = [("push_feed", "Can push the platform feed")]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "state", "occurred_at"], name="la_event_unique_identity"
            )
        ]
        indexes = [models.Index(fields=["deal", "occurred_at"], name="la_event_deal_time")]

    def __str__(self) -> str:
        return f"{self.deal_id} {self.state} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class LedgerEntry(models.Model):
    """Immutable. Unique by the platform's entry id, never by idempotency key: duplicate keys are
    exactly what the audit looks for."""

    entry_id = models.CharField(_("entry id"), max_length=ID_LENGTH)
    deal = models.ForeignKey(
        Deal,
        to_field="deal_id",
        db_column="deal_id",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=255)
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=8)
    currency = models.CharField(_("currency"), max_length=3)
    created_at = models.DateTimeField(_("created at"))
    received_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        # Constraints and plain indexes (not unique=/db_index=): on PostgreSQL those would add a
        # second, LIKE-only index per column, and every index slows the feed's inserts.
        constraints = [models.UniqueConstraint(fields=["entry_id"], name="la_entry_unique_id")]
        indexes = [
            models.Index(fields=["idempotency_key"], name="la_entry_key"),
            models.Index(fields=["deal", "created_at"], name="la_entry_deal_time"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.kind} {self.amount} {self.currency}"


class Timer(models.Model):
    """Upserted by timer id: status and expires_at follow the platform; deal and kind are fixed."""

    timer_id = models.CharField(_("timer id"), max_length=ID_LENGTH, unique=True)
    deal = models.ForeignKey(
        Deal,
        to_field="deal_id",
        db_column="deal_id",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=64)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(_("status"), max_length=16, choices=TimerStatus.choices)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("timer")
        indexes = [
            models.Index(fields=["status", "expires_at"], name="la_timer_status_expiry"),
            models.Index(fields=["deal", "expires_at"], name="la_timer_deal"),
        ]

    def __str__(self) -> str:
        return f"{self.timer_id} ({self.kind}, {self.status})"


class Dispute(models.Model):
    """Upserted by dispute id: status, resolution and the failed resolution attempts follow the
    platform; the rest is fixed."""

    dispute_id = models.CharField(_("dispute id"), max_length=ID_LENGTH, unique=True)
    deal = models.ForeignKey(
        Deal,
        to_field="deal_id",
        db_column="deal_id",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    opened_at = models.DateTimeField(_("opened at"))
    ttl_seconds = models.PositiveIntegerField(_("TTL (seconds)"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(_("status"), max_length=16, choices=DisputeStatus.choices)
    resolution = models.CharField(_("resolution"), max_length=255, blank=True)
    # What the platform reports of resolutions tried and refused ({attempted_at, error, by}),
    # sorted by time: the evidence that an admin saw the dispute and could not resolve it.
    failed_resolution_attempts = models.JSONField(
        _("failed resolution attempts"), default=list, blank=True
    )
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("dispute")
        indexes = [
            models.Index(fields=["status", "expires_at"], name="la_dispute_status_expiry"),
            models.Index(fields=["deal", "opened_at"], name="la_dispute_deal"),
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} ({self.status})"


class DetectionWork(models.Model):
    """Transactional outbox: written in the feed batch's transaction, consumed by the detection
    task right after commit, or by the periodic sweep when the broker was down."""

    created_at = models.DateTimeField(default=timezone.now)
    deal_ids = models.JSONField(default=list)
    keys = models.JSONField(default=list)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("detection work item")
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(processed_at__isnull=True),
                name="la_work_pending",
            )
        ]

    def __str__(self) -> str:
        return f"detection work #{self.pk}"


class Finding(models.Model):
    """One open problem per fingerprint. Clears itself when the data no longer shows it."""

    detector = models.CharField(_("detector"), max_length=32, choices=Detector.choices)
    fingerprint = models.CharField(_("fingerprint"), max_length=400)
    # What the finding is about, for scoping incremental re-checks: a deal id or an idempotency key.
    subject = models.CharField(_("subject"), max_length=255, db_index=True)
    severity = models.CharField(_("severity"), max_length=8)
    title = models.CharField(_("title"), max_length=300)
    evidence = models.JSONField(_("evidence"), default=dict)
    deal_ids = models.JSONField(_("deal ids"), default=list)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
    )

    class Meta:
        verbose_name = _("finding")
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=Q(cleared_at__isnull=True),
                name="la_finding_one_open_per_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["detector", "cleared_at"], name="la_finding_detector")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class TimelineExport(models.Model):
    """A JSONL export of the affected deals' timelines. Immutable once done."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="timeline_exports"
    )
    deal_ids = models.JSONField(_("deal ids"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows_done = models.PositiveBigIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveBigIntegerField(_("rows total"), null=True, blank=True)
    file_name = models.CharField(_("file"), max_length=300, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    manifest = models.JSONField(_("manifest"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("timeline export")
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("download_timelineexport", "Can download timeline exports"),
            ("review_duplicate_keys", "Can review an incident's duplicate idempotency keys"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(sha256=""), name="la_export_done_has_sha256"
            )
        ]

    def __str__(self) -> str:
        return f"export #{self.pk}"

    @property
    def is_done(self) -> bool:
        return self.status == ExportStatus.DONE


class ExportDownload(models.Model):
    """Every download of an export: who and when."""

    export = models.ForeignKey(TimelineExport, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=16)  # "api" or "admin"

    class Meta:
        verbose_name = _("export download")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.export} by {self.user_id} at {self.at:%Y-%m-%d %H:%M}"

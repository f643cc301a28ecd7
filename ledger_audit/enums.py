"""Vocabulary of the ledger-audit mirror: deal states, entry kinds, statuses, detectors."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DealState(models.TextChoices):
    """States the platform reports. Other strings are stored as sent (the mirror is faithful)."""

    CREATED = "CREATED", _("created")
    FUNDED = "FUNDED", _("funded")
    INSPECTION = "INSPECTION", _("inspection")
    ISSUE = "ISSUE", _("issue / dispute")
    RELEASED = "RELEASED", _("released")
    REFUNDED = "REFUNDED", _("refunded")
    CANCELLED = "CANCELLED", _("cancelled")


TERMINAL_STATES = frozenset({DealState.RELEASED, DealState.REFUNDED, DealState.CANCELLED})
# States in which the platform must show a running timer.
TIMED_STATES = frozenset({DealState.INSPECTION, DealState.ISSUE})


class EntryKind(models.TextChoices):
    HOLD = "hold", _("hold")
    RELEASE = "release", _("release")
    REFUND = "refund", _("refund")


OUTGOING_KINDS = frozenset({EntryKind.RELEASE, EntryKind.REFUND})


class TimerStatus(models.TextChoices):
    RUNNING = "running", _("running")
    EXPIRED = "expired", _("expired")
    CANCELLED = "cancelled", _("cancelled")
    FIRED = "fired", _("fired")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("open")
    RESOLVED = "resolved", _("resolved")


class Detector(models.TextChoices):
    DUPLICATE_KEY = "duplicate_key", _("duplicate ledger entries")
    FUNDS_INCORRECT = "funds_incorrect", _("funds incorrect / double release")
    DATA_INTEGRITY = "data_integrity", _("mixed currencies or non-positive amounts")
    TIMER_MISSING = "timer_missing", _("timer not visible")
    TRANSITION_BLOCKED = "transition_blocked", _("deal state transition blocked")
    DISPUTE_TTL = "dispute_ttl", _("dispute stuck past its TTL")
    DISPUTE_RESOLUTION_FAILED = "dispute_resolution_failed", _("dispute resolution attempts failed")
    DEAL_STUCK = "deal_stuck", _("deal stuck in state")
    ENTRY_CHANGED = "entry_changed", _("ledger entry changed")


class FeedKind(models.TextChoices):
    DEALS = "deals", _("deal events")
    LEDGER_ENTRIES = "ledger_entries", _("ledger entries")
    TIMERS = "timers", _("timers")
    DISPUTES = "disputes", _("disputes")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")

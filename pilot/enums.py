"""Choices of the pilot switchboard."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PilotState(models.TextChoices):
    RUNNING = "running", _("running")
    DISABLED = "disabled", _("disabled (kill switch)")
    PAUSED = "paused", _("paused")
    CANCELLED = "cancelled", _("cancelled")


class RevisionKind(models.TextChoices):
    SEED = "seed", _("initial configuration")
    DISABLE = "disable", _("kill switch")
    PAUSE = "pause", _("pause")
    REVERT_TEMPLATE = "revert_template", _("template version reverted")
    FLAG_OFF = "flag_off", _("hotfix flag switched off")
    CHANGE_REQUEST = "change_request", _("approved change request")


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    ACTIVE = "active", _("active")
    RETIRED = "retired", _("retired")


class ChangeAction(models.TextChoices):
    ENABLE = "enable", _("enable / resume")
    PAUSE = "pause", _("pause")
    SET_TEMPLATE_VERSION = "set_template_version", _("set template version")
    FLAG_ON = "flag_on", _("switch a hotfix flag on")
    RESTORE_REVISION = "restore_revision", _("restore an earlier revision")
    CANCEL = "cancel", _("cancel the pilot")


class ChangeStatus(models.TextChoices):
    """``pending`` → ``applied`` (approved and applied in one transaction) | ``rejected`` |
    ``stale`` (the config moved after the request was filed; file a new one)."""

    PENDING = "pending", _("pending")
    APPLIED = "applied", _("approved and applied")
    REJECTED = "rejected", _("rejected")
    STALE = "stale", _("stale")


class RollbackKind(models.TextChoices):
    CONFIG = "config", _("config rollback")
    CODE = "code", _("code rollback")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed (gave up)")


# The runbook's "Code Rollback (Only If Config Insufficient)" steps, in order.
CODE_ROLLBACK_STEPS: tuple[tuple[str, str], ...] = (
    ("identify_commit", "Identify the commit to revert to (last known good; does not break deals)"),
    ("revert_code", "Revert the code (git revert <commit> or reset to it)"),
    ("deploy", "Deploy the reverted code (staging first, then production; monitor closely)"),
    ("document", "Document the rollback (reason, what was reverted, impact on existing deals)"),
)

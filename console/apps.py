from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The operator console: dashboard, the incident page as the runbook, Go/No-Go reports."""

    name = "console"
    verbose_name = _("Console")

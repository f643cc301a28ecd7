from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The operator console: dashboard, the incident page as the runbook, Go/No-Go reports."""

    name = "console"
    verbose_name = _("Console")

    def ready(self) -> None:
        # console sits on top and is the one app that may import the others, so it wires the
        # hooks that join them: its own parts of the incident page, and the open-deal counts
        # pilot shows per template version but cannot read from ledger_audit itself.
        from console.selectors import incident_console, runbook_buttons
        from incidents.panels import CHECKLIST_ORDER, register_panel, register_step_buttons
        from ledger_audit.selectors import open_deal_count_by_template_version
        from pilot.selectors import open_deal_counter_register

        register_panel(
            name="console.deadlines",
            template="admin/console/incident_deadlines.html",
            context=incident_console,
            order=CHECKLIST_ORDER - 10,
        )
        register_step_buttons(name="console.runbook", buttons=runbook_buttons)
        open_deal_counter_register(open_deal_count_by_template_version)

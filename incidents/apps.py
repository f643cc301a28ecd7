from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_runbook(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Re-seed the runbook data after ``migrate``/``flush`` when it is missing (a flushed test
    database, a fresh one). Never overwrites edits: only missing rows are created."""
    from django.db import connections

    from incidents.models import (
        EscalationLevel,
        EscalationRule,
        Playbook,
        PlaybookStep,
        SeverityPolicy,
    )
    from incidents.runbook import seed_runbook
    from incidents.sla.seed import seed_escalation

    tables = connections[using].introspection.table_names()
    if SeverityPolicy._meta.db_table not in tables:
        return  # migrated back below the incidents tables
    if not SeverityPolicy.objects.using(using).exists():
        seed_runbook(Playbook, PlaybookStep, SeverityPolicy)
    if EscalationLevel._meta.db_table in tables and not EscalationLevel.objects.exists():
        seed_escalation(EscalationLevel, EscalationRule)


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from core.health import CHECKS
        from incidents.health import check_sla_sweep

        post_migrate.connect(_seed_runbook, sender=self, dispatch_uid="incidents-seed-runbook")
        CHECKS["sla_sweep"] = check_sla_sweep  # /healthz/: degraded when the sweep stops
        from incidents.metrics import register as register_metrics

        register_metrics()  # /metrics: this app's counters and gauges

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _seed_runbook(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Re-seed the runbook data after ``migrate``/``flush`` when it is missing (a flushed test
    database, a fresh one). Never overwrites edits: only missing rows are created."""
    from django.db import connections

    from incidents.models import Playbook, PlaybookStep, SeverityPolicy
    from incidents.runbook import seed_runbook

    connection = connections[using]
    if SeverityPolicy._meta.db_table not in connection.introspection.table_names():
        return  # migrated back below the incidents tables
    if SeverityPolicy.objects.using(using).exists():
        return
    seed_runbook(Playbook, PlaybookStep, SeverityPolicy)


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Incidents"

    def ready(self) -> None:
        post_migrate.connect(_seed_runbook, sender=self, dispatch_uid="incidents-seed-runbook")

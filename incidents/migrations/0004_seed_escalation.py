"""Seed the runbook's escalation levels and the default escalation policy; open incidents get
``severity_set_at`` (their clock start) from ``opened_at``."""

from django.db import migrations
from django.db.models import F

from incidents.sla.seed import seed_escalation


def seed(apps, schema_editor):
    seed_escalation(
        apps.get_model("incidents", "EscalationLevel"),
        apps.get_model("incidents", "EscalationRule"),
    )
    apps.get_model("incidents", "Incident").objects.filter(severity_set_at__isnull=True).update(
        severity_set_at=F("opened_at")
    )
    apps.get_model("incidents", "SweepHeartbeat").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0003_sla_clock")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

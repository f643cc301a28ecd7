"""Seed the runbook (severity policies, immediate actions, playbooks, rollback strategy) and make
the incident timeline append-only on PostgreSQL."""

from django.db import migrations

from incidents.runbook import seed_runbook

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION incidents_timeline_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'the incident timeline is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS incidents_timeline_append_only ON incidents_timelineentry;
CREATE TRIGGER incidents_timeline_append_only
    BEFORE UPDATE OR DELETE ON incidents_timelineentry
    FOR EACH ROW EXECUTE FUNCTION incidents_timeline_append_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS incidents_timeline_append_only ON incidents_timelineentry;
DROP FUNCTION IF EXISTS incidents_timeline_append_only();
"""


def seed(apps, schema_editor):
    seed_runbook(
        apps.get_model("incidents", "Playbook"),
        apps.get_model("incidents", "PlaybookStep"),
        apps.get_model("incidents", "SeverityPolicy"),
    )
    apps.get_model("incidents", "IncidentCounter").objects.get_or_create(
        pk=1, defaults={"last_number": 0}
    )


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def drop_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(append_only, drop_append_only),
    ]

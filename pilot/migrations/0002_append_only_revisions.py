"""Config revisions are immutable: on PostgreSQL the database refuses UPDATE and DELETE."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION pilot_configrevision_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pilot config revisions are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
DROP TRIGGER IF EXISTS pilot_configrevision_append_only ON pilot_configrevision;
CREATE TRIGGER pilot_configrevision_append_only
    BEFORE UPDATE OR DELETE ON pilot_configrevision
    FOR EACH ROW EXECUTE FUNCTION pilot_configrevision_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS pilot_configrevision_append_only ON pilot_configrevision;
DROP FUNCTION IF EXISTS pilot_configrevision_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)
        schema_editor.execute(TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("pilot", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]

"""A template version in use never changes its body: on PostgreSQL the database refuses an UPDATE
of the body or label of a version that left draft or that a config revision ever named, and
refuses sending such a version back to draft (the service, pilot.services.catalog, refuses the
same first; this catches everything that bypasses it). SQLite migrates without the trigger."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION pilot_templateversion_frozen() RETURNS trigger AS $$
BEGIN
    IF (NEW.body IS DISTINCT FROM OLD.body
        OR NEW.label IS DISTINCT FROM OLD.label
        OR (NEW.status = 'draft' AND OLD.status <> 'draft'))
       AND (OLD.status <> 'draft'
            OR EXISTS (SELECT 1 FROM pilot_configrevision r
                       WHERE r.template_version = OLD.label)) THEN
        RAISE EXCEPTION 'template version % is in use: its body never changes', OLD.label;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS pilot_templateversion_frozen ON pilot_templateversion;
CREATE TRIGGER pilot_templateversion_frozen
    BEFORE UPDATE ON pilot_templateversion
    FOR EACH ROW EXECUTE FUNCTION pilot_templateversion_frozen();
"""
DROP = """
DROP TRIGGER IF EXISTS pilot_templateversion_frozen ON pilot_templateversion;
DROP FUNCTION IF EXISTS pilot_templateversion_frozen();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("pilot", "0002_append_only_revisions")]

    operations = [migrations.RunPython(forwards, backwards)]

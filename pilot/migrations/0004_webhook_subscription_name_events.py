"""Webhook subscriptions get a name and an event filter. Existing subscriptions keep receiving
what they always did (``pilot.config``) and are named after their receiver's host."""

import urllib.parse

from django.db import migrations, models

import pilot.webhook_events


def name_existing(apps, schema_editor):
    Subscription = apps.get_model("pilot", "WebhookSubscription")
    for row in Subscription.objects.filter(name=""):
        host = urllib.parse.urlsplit(row.url).hostname or "receiver"
        row.name = (row.description or host)[:100]
        row.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("pilot", "0003_template_version_frozen")]

    operations = [
        migrations.AddField(
            model_name="webhooksubscription",
            name="name",
            field=models.CharField(default="", max_length=100, verbose_name="name"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="events",
            field=models.JSONField(
                default=pilot.webhook_events.default_events,
                help_text='Event names or patterns, e.g. ["pilot.config"] or ["incident.*"].',
                validators=[pilot.webhook_events.validate_events],
                verbose_name="events",
            ),
        ),
        migrations.RunPython(name_existing, migrations.RunPython.noop),
    ]

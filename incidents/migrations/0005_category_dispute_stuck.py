from django.db import migrations, models

CATEGORIES = [
    ("duplicate_ledger", "Duplicate ledger entries"),
    ("timer_not_visible", "Timer not visible"),
    ("dispute_stuck", "Disputes stuck (cannot resolve)"),
    ("admin_cannot_resolve_dispute", "Admin cannot resolve dispute"),
    ("deal_stuck", "Deal stuck in state"),
    ("funds_incorrect", "Funds incorrect / double release"),
    ("data_integrity", "Ledger inconsistency / data integrity"),
    ("transition_blocked", "Deal state transitions blocked"),
    ("other", "Other"),
]


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_seed_escalation")]

    operations = [
        migrations.AlterField(
            model_name="incident",
            name="category",
            field=models.CharField(
                choices=CATEGORIES, default="other", max_length=40, verbose_name="category"
            ),
        ),
        migrations.AlterField(
            model_name="playbook",
            name="category",
            field=models.CharField(
                blank=True, choices=CATEGORIES, default="", max_length=40, verbose_name="category"
            ),
        ),
    ]

"""Runbook steps tick on the act that does them: SEV0 step 5 "Communication" becomes one step per
sub-item in the seeded playbook (new bound acts: document_incident, prepare_postmortem), and the
default escalation policy gets L1's "SEV0 or SEV1" criterion (page the L2 on-call at open).
Incidents already open keep the checklist they were given."""

from django.db import migrations, models

from incidents.runbook import split_communication_step
from incidents.sla.seed import add_page_l2_at_open


def forward(apps, schema_editor):
    split_communication_step(
        apps.get_model("incidents", "Playbook"), apps.get_model("incidents", "PlaybookStep")
    )
    add_page_l2_at_open(apps.get_model("incidents", "EscalationRule"))


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_alerts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="checkliststep",
            name="bound_action",
            field=models.CharField(
                blank=True,
                choices=[
                    ("disable_pilot", "Disable the pilot"),
                    ("export_timelines", "Export affected deal timelines"),
                    ("identify_idempotency_keys", "Identify idempotency keys and ledger entries"),
                    ("notify_coordinator", "A notification delivered to the pilot coordinator"),
                    ("document_incident", "Description and impact written in the incident log"),
                    ("prepare_postmortem", "Post-mortem fields written"),
                    ("revert_template", "Revert the template version"),
                    ("apply_hotfix", "A hotfix flag turned on through an approved change"),
                    ("re_enable_pilot", "Re-enable the pilot"),
                    ("escalate", "Escalated by a person: hotfix not possible"),
                    ("record_rollback", "Record a code rollback"),
                    ("document_bug", "Document the issue in the bug tracker (defer)"),
                    ("promote_severity", "Promote to SEV1"),
                ],
                default="",
                max_length=40,
                verbose_name="bound action",
            ),
        ),
        migrations.AlterField(
            model_name="playbookstep",
            name="bound_action",
            field=models.CharField(
                blank=True,
                choices=[
                    ("disable_pilot", "Disable the pilot"),
                    ("export_timelines", "Export affected deal timelines"),
                    ("identify_idempotency_keys", "Identify idempotency keys and ledger entries"),
                    ("notify_coordinator", "A notification delivered to the pilot coordinator"),
                    ("document_incident", "Description and impact written in the incident log"),
                    ("prepare_postmortem", "Post-mortem fields written"),
                    ("revert_template", "Revert the template version"),
                    ("apply_hotfix", "A hotfix flag turned on through an approved change"),
                    ("re_enable_pilot", "Re-enable the pilot"),
                    ("escalate", "Escalated by a person: hotfix not possible"),
                    ("record_rollback", "Record a code rollback"),
                    ("document_bug", "Document the issue in the bug tracker (defer)"),
                    ("promote_severity", "Promote to SEV1"),
                ],
                default="",
                max_length=40,
                verbose_name="bound action",
            ),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]

from django.apps import AppConfig


class PilotConfig(AppConfig):
    name = "pilot"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.install import STEPS
        from pilot.services.config import pilot_bootstrap_step

        # A new install gets its first, disabled revision from ``bootstrap_roles``, so the kill
        # switch answers from the first minute (seed_demo is refused in production).
        STEPS["pilot-config"] = pilot_bootstrap_step
        from pilot.metrics import register as register_metrics

        register_metrics()  # /metrics: config changes and reads, the pilot's state
        from core.audit_chain import CHECKPOINT_LISTENERS
        from pilot.services.webhooks import webhook_checkpoint_deliveries_create

        # Each new audit checkpoint goes to the subscriptions that ask for audit.checkpoint.
        if webhook_checkpoint_deliveries_create not in CHECKPOINT_LISTENERS:
            CHECKPOINT_LISTENERS.append(webhook_checkpoint_deliveries_create)

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

from django.apps import AppConfig


class PilotConfig(AppConfig):
    name = "pilot"
    default_auto_field = "django.db.models.BigAutoField"

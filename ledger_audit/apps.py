from django.apps import AppConfig


class LedgerAuditConfig(AppConfig):
    name = "ledger_audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger_audit import panels

        panels.register()

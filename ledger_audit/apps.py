from django.apps import AppConfig


class LedgerAuditConfig(AppConfig):
    name = "ledger_audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger_audit import panels

        panels.register()
        from ledger_audit import metrics  # noqa: F401  (its counters show on /metrics from the start)

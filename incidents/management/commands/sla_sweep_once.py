from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from incidents.models import Notification
from incidents.services.escalation import sla_sweep
from incidents.services.notify import notification_deliver


class Command(BaseCommand):
    help = "Run the SLA sweep once (what celery beat does every SLA_SWEEP_SECONDS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deliver",
            action="store_true",
            help="Then deliver every queued notification in this process (no worker needed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = sla_sweep()
        self.stdout.write(
            f"fired={result.fired} skipped={result.skipped} busy={result.busy} "
            f"requeued={result.requeued}"
        )
        if options["deliver"]:
            outcomes: dict[str, int] = {}
            ids = list(
                Notification.objects.filter(status="queued")
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for notification_id in ids:
                status = notification_deliver(notification_id=notification_id).status
                outcomes[status] = outcomes.get(status, 0) + 1
            self.stdout.write(" ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))

"""``python manage.py verify_audit``: recompute the audit hash chain and every record's digest:
each audit event (``core.audit.record`` is the one sink) and each domain row an event sealed.

Exit 0 with "OK: N links verified", or exit 1 naming the first broken link (and how many)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit_chain import chain_verify


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain; exit 1 at the first broken link."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="List every broken link.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = chain_verify()
        if result.ok:
            self.stdout.write(f"OK: {result.links} links verified")
            return
        first = result.first
        if options["all"]:
            for broken in sorted(result.broken, key=lambda b: b.seq):
                self.stderr.write(f"BROKEN: {broken}")
        raise CommandError(
            f"BROKEN: first broken link: {first} ({len(result.broken)} problem(s) in "
            f"{result.links} links)",
            returncode=1,
        )

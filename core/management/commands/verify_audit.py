"""``python manage.py verify_audit [--expect SEQ:HASH …]``: recompute the audit hash chain and
every record's digest: each audit event (``core.audit.record`` is the one sink) and each domain
row an event sealed; and check that the chain still holds every stored checkpoint and each
``--expect`` one (a checkpoint copied from the log, ``/metrics`` or a webhook: the anchor that a
cut-off tail or a consistently rebuilt chain cannot match).

Exit 0 with "OK: N links verified", or exit 1 naming the first broken link (and how many); an
expected checkpoint the chain no longer holds is named first."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.audit_chain import chain_verify, checkpoint_parse


class Command(BaseCommand):
    help = "Verify the tamper-evident audit chain; exit 1 at the first broken link."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--all", action="store_true", help="List every broken link.")
        parser.add_argument(
            "--expect",
            action="append",
            default=[],
            metavar="SEQ:HASH",
            help="A published checkpoint the chain must still hold (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            expect = [checkpoint_parse(text) for text in options["expect"]]
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        result = chain_verify(expect=expect)
        if result.ok:
            held = f", {result.checkpoints} checkpoint(s) held" if result.checkpoints else ""
            self.stdout.write(f"OK: {result.links} links verified{held}")
            return
        if options["all"]:
            for broken in sorted(result.broken, key=lambda b: b.seq):
                self.stderr.write(f"BROKEN: {broken}")
        anchors = [
            b for b in result.broken if b.label == "checkpoint" and b.record_pk == "expected"
        ]
        if anchors:
            raise CommandError(
                f"BROKEN: {anchors[0].problem} ({len(result.broken)} problem(s) in "
                f"{result.links} links)",
                returncode=1,
            )
        raise CommandError(
            f"BROKEN: first broken link: {result.first} ({len(result.broken)} problem(s) in "
            f"{result.links} links)",
            returncode=1,
        )

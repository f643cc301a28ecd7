from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.errors import DomainError
from core.roles import Role
from core.services import api_key_create, roles_bootstrap


class Command(BaseCommand):
    help = (
        "Create an API key for a user or for a role's service account. "
        "The key is printed once, alone on the last line. Runs as the machine's operator, so it "
        "may create a key in any user's name (the API allows only one's own); the audit event "
        "says via: cli."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--role", choices=[r.value for r in Role])
        who.add_argument("--user")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        role, user = None, None
        if options["role"]:
            roles_bootstrap()
            role = Role(options["role"])
        else:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}.")
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = api_key_create(
                name=options["name"], user=user, role=role, expires_at=expires_at, via="cli"
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"API key {issued.api_key.prefix} for {issued.api_key.user.username}; store it now, "
            "it is not shown again:"
        )
        self.stdout.write(issued.raw)

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.errors import DomainError
from core.roles import Role
from core.services import api_key_create, roles_bootstrap, service_account_for_role


class Command(BaseCommand):
    help = (
        "Create an API key for a user or for a role's service account. "
        "The key is printed once, alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--role", choices=[r.value for r in Role])
        who.add_argument("--user")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["role"]:
            roles_bootstrap()
            user = service_account_for_role(role=Role(options["role"]))
        else:
            found = User.objects.filter(username=options["user"]).first()
            if found is None:
                raise CommandError(f"No user named {options['user']!r}.")
            user = found
        days = options["expires_in_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-in-days must be positive.")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = api_key_create(name=options["name"], user=user, expires_at=expires_at)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"API key {issued.api_key.prefix} for {user.username}; store it now, "
            "it is not shown again:"
        )
        self.stdout.write(issued.raw)

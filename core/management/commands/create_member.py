import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from core.roles import Role
from core.services import member_create, roles_bootstrap


class Command(BaseCommand):
    help = (
        "Create a person in one role. The password comes from MEMBER_PASSWORD, else it is prompted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("MEMBER_PASSWORD")
        if not password:
            if not os.isatty(0):
                raise CommandError("Set MEMBER_PASSWORD or run interactively to type a password.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        if not password:
            raise CommandError("An empty password is not allowed.")
        roles_bootstrap()
        try:
            user = member_create(
                username=options["username"],
                role=Role(options["role"]),
                password=password,
                email=options["email"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created {user.username} ({options['role']}).")

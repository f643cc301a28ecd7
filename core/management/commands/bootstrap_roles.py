from typing import Any

from django.core.management.base import BaseCommand

from core.services import roles_bootstrap


class Command(BaseCommand):
    help = "Create or update the role groups and their permissions from core/roles.py (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for group, count in roles_bootstrap().items():
            self.stdout.write(f"{group}: {count} permissions")

from typing import Any

from django.core.management.base import BaseCommand

from core.install import install_steps_run
from core.services import roles_bootstrap


class Command(BaseCommand):
    help = (
        "Create or update the role groups and their permissions from core/roles.py, then run "
        "the apps' install steps (the pilot's first, disabled config revision). Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for group, count in roles_bootstrap().items():
            self.stdout.write(f"{group}: {count} permissions")
        for _name, line in install_steps_run():
            self.stdout.write(line)

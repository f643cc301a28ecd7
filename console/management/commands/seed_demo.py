"""Demo logins, a demo API key and the demo pilot. It lives in console, the one app that may
import every other: it seeds core's people and keys and pilot's config."""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from core.roles import ROLES, Role
from core.services import (
    api_key_create,
    member_create,
    roles_bootstrap,
    service_account_for_role,
)
from pilot.selectors import pilot_config_current
from pilot.services import pilot_seed_demo

DEMO_USERS = {
    Role.OPERATOR: "operator",
    Role.ENGINEER: "engineer",
    Role.COORDINATOR: "coordinator",
    Role.OWNER: "owner",
    Role.AUDITOR: "auditor",
}


def demo_password(role: Role) -> str:
    return f"{role.value}-demo-pass"


class Command(BaseCommand):
    help = "Create one demo login per role and a demo API key (development only), and print them."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_DATA_ALLOWED:
            raise CommandError("Demo data is never created with production settings.")
        roles_bootstrap()
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"Demo logins (http://127.0.0.1:{port}/admin/):")
        for role, username in DEMO_USERS.items():
            if not User.objects.filter(username=username).exists():
                member_create(username=username, role=role, password=demo_password(role))
            self.stdout.write(
                f"  {ROLES[role].group:<18} {username:<12} password: {demo_password(role)}"
            )
        key_file = Path(settings.VAR_DIR) / "demo-api-key.txt"
        if not key_file.exists():
            client = service_account_for_role(role=Role.API_CLIENT)
            issued = api_key_create(name="demo platform", user=client)
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(issued.raw + "\n")
            key_file.chmod(0o600)
        self.stdout.write(f"  API client key (Bearer): {key_file.read_text().strip()}")
        pilot_seed_demo()
        config = pilot_config_current()
        self.stdout.write(
            f"Demo pilot: {config.state}, template {config.template_version}, "
            f"revision {config.revision}"
        )

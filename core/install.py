"""Install steps: rows a fresh install needs besides the roles, run by ``bootstrap_roles``.

``core`` imports no app, so an app that needs a row on a new database (the pilot's first,
fail-safe config revision) registers a step here from its ``AppConfig.ready()``. A step is
idempotent (it creates only what is missing) and returns one line for the command to print."""

from collections.abc import Callable

InstallStep = Callable[[], str]

# name → step, run in registration order.
STEPS: dict[str, InstallStep] = {}


def install_steps_run() -> list[tuple[str, str]]:
    """Run every registered step; (name, the line it printed) in order."""
    return [(name, step()) for name, step in STEPS.items()]

"""Which settings module runs, chosen by ``DJANGO_ENV`` (development when unset)."""

import os

_MODULES = {
    "development": "config.settings.local",
    "local": "config.settings.local",
    "test": "config.settings.test",
    "production": "config.settings.production",
    "bench": "config.settings.bench",
}


def settings_module() -> str:
    name = os.environ.get("DJANGO_ENV", "development").strip().lower() or "development"
    try:
        return _MODULES[name]
    except KeyError:
        known = ", ".join(sorted(_MODULES))
        raise SystemExit(f"DJANGO_ENV={name!r} is not one of: {known}") from None

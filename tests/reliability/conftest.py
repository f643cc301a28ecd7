"""Fixtures of the reliability tests: a seeded pilot, a clean pilot cache, private exports."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from pilot.cache import CACHE_KEY


@pytest.fixture(autouse=True)
def _clean_pilot_cache() -> Iterator[None]:
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


@pytest.fixture
def seeded(db: None) -> Any:
    from pilot.models import ConfigRevision
    from pilot.services import pilot_seed_demo

    pilot_seed_demo()
    return ConfigRevision.objects.get(number=1)


@pytest.fixture
def exports_dir(tmp_path: Path, settings: Any) -> Path:
    location = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


def report(name: str, **figures: Any) -> str:
    """Print the figures line RELIABILITY.md quotes (run pytest with -s to see it)."""
    line = f"RELIABILITY: {name} " + " ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    return line

"""Fixtures shared by every test: people in each role, API clients authenticated as them, a
seeded pilot, a clean pilot-config cache and a private exports directory."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from core.roles import Role
from core.services import api_key_create, member_create, roles_bootstrap
from pilot.cache import CACHE_KEY
from pilot.models import ConfigRevision
from pilot.services import pilot_seed_demo


@pytest.fixture(autouse=True)
def _clean_pilot_cache() -> Iterator[None]:
    """The cache (Redis) outlives each test's database: never let one test read another's."""
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


@pytest.fixture
def seeded(db: None) -> ConfigRevision:
    """Template versions v1, v2 (both active), two flags, r1: running on v1."""
    pilot_seed_demo()
    return ConfigRevision.objects.get(number=1)


@pytest.fixture
def exports_dir(tmp_path: Path, settings: Any) -> Path:
    """Exports written into this test's own directory."""
    location = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


MakeMember = Callable[..., User]


@pytest.fixture
def make_member(db: None) -> MakeMember:
    """``make_member(Role.OPERATOR)`` → a new person in that role (roles bootstrapped first)."""
    counter = iter(range(1, 10_000))
    bootstrapped = False

    def make(role: Role, username: str | None = None, password: str = "pw-for-tests") -> User:
        nonlocal bootstrapped
        if not bootstrapped:
            roles_bootstrap()
            bootstrapped = True
        name = username or f"{role.value}-{next(counter)}"
        return member_create(
            username=name, role=role, password=None if role is Role.API_CLIENT else password
        )

    return make


@pytest.fixture
def operator(make_member: MakeMember) -> User:
    return make_member(Role.OPERATOR)


@pytest.fixture
def engineer(make_member: MakeMember) -> User:
    return make_member(Role.ENGINEER)


@pytest.fixture
def coordinator(make_member: MakeMember) -> User:
    return make_member(Role.COORDINATOR)


@pytest.fixture
def owner(make_member: MakeMember) -> User:
    return make_member(Role.OWNER)


@pytest.fixture
def auditor(make_member: MakeMember) -> User:
    return make_member(Role.AUDITOR)


@pytest.fixture
def api_user(make_member: MakeMember) -> User:
    return make_member(Role.API_CLIENT)


ClientFor = Callable[[User], APIClient]


@pytest.fixture
def client_for(db: None) -> ClientFor:
    """``client_for(user)`` → an APIClient sending ``Authorization: Bearer <a new key of user>``."""

    def make(user: User) -> APIClient:
        issued = api_key_create(name=f"test key of {user.username}", user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
        return client

    return make

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from core.roles import Role
from tests.conftest import MakeMember


@pytest.fixture
def member_of(make_member: MakeMember) -> Callable[[str], User]:
    """``member_of("operator")`` → a new person in that role (by slug, for parametrised tests)."""

    def make(slug: str) -> User:
        return make_member(Role(slug))

    return make

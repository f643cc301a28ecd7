from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import ClientFor


@pytest.fixture
def feed_client(api_user: Any, client_for: ClientFor) -> APIClient:
    return client_for(api_user)


@pytest.fixture(autouse=True)
def _private_exports(exports_dir: Path) -> None:
    """Every test writes exports into its own directory (tests/conftest.py)."""


Post = Callable[[str, list[dict[str, Any]]], Any]


@pytest.fixture
def post(feed_client: APIClient) -> Post:
    """``post("ledger-entries", items)`` → the response of POST /api/v1/feed/<kind>/."""

    def send(kind: str, items: list[dict[str, Any]]) -> Any:
        return feed_client.post(f"/api/v1/feed/{kind}/", items, format="json")

    return send

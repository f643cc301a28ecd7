"""A NUL in the address never reaches PostgreSQL (which refuses text containing it) as a 500:
every route refuses it with a 400 before its view runs."""

import pytest

pytestmark = pytest.mark.django_db

API_PATHS = [
    "/api/v1/pilot/change-requests/?status=%00",
    "/api/v1/incidents/?status=open%00",
    "/api/v1/incidents/?%00=x",
    "/api/v1/reports/sla/?from=2025-01-01%00",
]


@pytest.mark.parametrize("path", API_PATHS)
def test_nul_in_an_api_query_is_a_json_400(client_for, owner, path) -> None:
    response = client_for(owner).get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_character"


@pytest.mark.parametrize(
    "path",
    ["/admin/incidents/incident/?q=%00", "/admin/pilot/changerequest/?status__exact=%00"],
)
def test_nul_in_an_admin_query_is_a_400(client, owner, path) -> None:
    client.force_login(owner)
    response = client.get(path)
    assert response.status_code == 400
    assert b"NUL" in response.content


def test_an_ordinary_query_still_works(client_for, owner) -> None:
    response = client_for(owner).get("/api/v1/pilot/change-requests/?status=pending")
    assert response.status_code == 200

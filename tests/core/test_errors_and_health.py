"""JSON errors everywhere, and /healthz/."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_with_a_json_error(client_for, owner) -> None:
    response = client_for(owner).post(
        "/api/v1/api-keys/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "malformed_request"
    assert "JSON parse error" in body["error"]["message"]


def test_wrong_types_name_the_field(client_for, owner) -> None:
    response = client_for(owner).post(
        "/api/v1/api-keys/",
        {"name": "x", "role": "api-client", "expires_at": "yesterday-ish"},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "expires_at" in error["fields"]


def test_unknown_api_route_is_a_json_404(client) -> None:
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_routes_are_json_whatever_debug_says(client, settings, debug, method) -> None:
    """``make run`` has DEBUG on: its 404 page would list every URL pattern."""
    settings.DEBUG = debug
    response = getattr(client, method)("/api/v1/no-such-thing/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == "not_found"
    assert "admin/" not in response.content.decode()


def test_a_missing_trailing_slash_is_named_in_the_json_404(client, settings) -> None:
    settings.DEBUG = True
    response = client.post("/api/v1/incidents", {}, content_type="application/json")
    assert response.status_code == 404
    assert "/api/v1/incidents/ (with a trailing slash)" in response.json()["error"]["message"]


def test_an_unacceptable_accept_header_is_a_json_406(client_for, owner, settings) -> None:
    settings.DEBUG = True
    response = client_for(owner).get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_acceptable"


def test_unknown_object_is_a_json_404(client_for, owner) -> None:
    response = client_for(owner).get("/api/v1/api-keys/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_no_credentials_is_a_json_401(client) -> None:
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_wrong_method_is_a_json_405(client_for, owner) -> None:
    response = client_for(owner).delete("/api/v1/me/")
    assert response.status_code in (403, 405)
    assert "error" in response.json()


def test_unsupported_media_type_is_a_json_415(client_for, owner) -> None:
    response = client_for(owner).post(
        "/api/v1/api-keys/", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_pagination_refuses_bad_limits(client_for, owner) -> None:
    response = client_for(owner).get("/api/v1/api-keys/?limit=abc")
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["fields"]


def test_healthz_is_ok_with_real_postgres_and_redis(client) -> None:
    from incidents.services import sla_sweep

    sla_sweep()  # the SLA clock's heartbeat: a sweep that never ran is reported as degraded
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "sla_sweep": "ok"},
    }


def test_healthz_is_degraded_while_the_sla_sweep_has_never_run(client) -> None:
    body = client.get("/healthz/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["sla_sweep"] != "ok"


def test_healthz_is_degraded_but_200_when_redis_is_unreachable(client) -> None:
    dead = "redis://127.0.0.1:1/0"
    caches = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=caches, CELERY_BROKER_URL=dead):
        response = client.get("/healthz/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("error")
    assert body["checks"]["broker"].startswith("error")


def test_schema_and_offline_docs_are_served(client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/api-keys/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()


def test_security_headers_forbid_inline_script_and_framing(client) -> None:
    response = client.get("/admin/login/")
    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_api_docs_page_has_no_inline_script(client) -> None:
    import re

    html = client.get("/api/docs/").content.decode()
    inline = [s for s in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if s[1].strip()]
    assert inline == []

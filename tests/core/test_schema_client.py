"""The OpenAPI schema tells the truth: a client generated from it by a tool nobody here wrote
(openapi-python-client) types the errors the server really sends, and the schema validates.

Every operation documents the error envelope for 400/401/403/404/429/503, every unsafe one also
409/413/415/422 and the ``Idempotency-Key`` header; the incident log is ``text/markdown`` only."""

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

from core.api.schema import ERRORS_ANY, ERRORS_UNSAFE
from core.roles import Role
from core.services import api_key_create
from tests.conftest import MakeMember

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "pcp_generated_client"
METHODS = ("get", "post", "put", "patch", "delete")


def _schema() -> dict[str, Any]:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:500]
    return dict(json.loads(response.content))


@pytest.mark.django_db
def test_the_schema_is_valid_openapi_and_documents_every_error() -> None:
    schema = _schema()
    validate(schema)  # openapi-spec-validator: raises on an invalid document
    envelope = {"$ref": "#/components/schemas/ErrorResponse"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message"]
    operations = 0
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operations += 1
            operation = item[method]
            expected = set(ERRORS_ANY) | (set(ERRORS_UNSAFE) if method != "get" else set())
            missing = expected - set(operation["responses"])
            assert not missing, f"{method.upper()} {path} documents no {sorted(missing)}"
            # OFREP answers its own spec's error bodies (documented by its views)
            for code in ("401", "403", "404", "429") if path.startswith("/api/") else ():
                content = operation["responses"][code]["content"]
                assert content["application/json"]["schema"] == envelope, (method, path, code)
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if path.startswith("/api/"):  # every API view claims the key (core.api.base)
                assert ("Idempotency-Key" in headers) == (method != "get"), (method, path)
    print(f"{operations} operations, each documenting its error responses")
    assert operations > 40
    for path in ("/api/v1/incidents/{number}/log.md", "/api/v1/incidents/log.md"):
        ok = schema["paths"][path]["get"]["responses"]["200"]
        assert list(ok["content"]) == ["text/markdown"], path


@pytest.fixture
def generated_client(tmp_path: Path) -> Iterator[ModuleType]:
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(_schema()))
    # The export download streams NDJSON, which the generator would otherwise skip with a
    # warning: it is bytes to a client.
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"content_type_overrides": {"application/x-ndjson": "application/octet-stream"}})
    )
    out = tmp_path / PACKAGE
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [
            *(str(GENERATOR), "generate", "--path", str(schema_file), "--meta", "none"),
            *("--config", str(config), "--output-path", str(out)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        shutil.rmtree(out, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_generated_client_types_the_errors_the_server_sends(
    generated_client: ModuleType, live_server: Any, make_member: MakeMember
) -> None:
    client_module = importlib.import_module(f"{PACKAGE}.client")
    api = f"{PACKAGE}.api.api"
    create = importlib.import_module(f"{api}.api_v1_incidents_create")
    resolve = importlib.import_module(f"{api}.api_v1_incidents_resolve_create")
    acknowledge = importlib.import_module(f"{api}.api_v1_incidents_acknowledge_create")
    log = importlib.import_module(f"{api}.incidents_log")
    models = importlib.import_module(f"{PACKAGE}.models")

    def as_role(role: Role) -> Any:
        raw = api_key_create(name=f"generated client {role.value}", user=make_member(role)).raw
        return client_module.AuthenticatedClient(
            base_url=live_server.url, token=raw, raise_on_unexpected_status=True
        )

    engineer, auditor = as_role(Role.ENGINEER), as_role(Role.AUDITOR)
    body = models.IncidentCreateRequest(
        title="Ledger entries double-posted",
        severity=models.IncidentSeverityEnum.SEV2,
        category=models.IncidentCategoryEnum.OTHER,
    )

    opened = create.sync_detailed(client=engineer, body=body, idempotency_key="gen-client-1")
    assert opened.status_code == 201
    assert isinstance(opened.parsed, models.IncidentDetail)
    number = opened.parsed.number
    assert opened.parsed.title == "Ledger entries double-posted"

    # the same key again replays the first answer
    replay = create.sync_detailed(client=engineer, body=body, idempotency_key="gen-client-1")
    assert (replay.status_code, replay.parsed.number) == (201, number)

    # a role without the permission: a typed 403
    denied = create.sync_detailed(client=auditor, body=body)
    assert denied.status_code == 403
    assert isinstance(denied.parsed, models.ErrorResponse)
    assert denied.parsed.error.code == "permission_denied"
    assert denied.parsed.error.message

    resolved = resolve.sync_detailed(
        str(number), client=engineer, body=models.ResolveRequest(resolution="Reposted once.")
    )
    assert resolved.status_code == 200, resolved.content
    # acknowledging a resolved incident: a typed 409 naming the state
    conflict = acknowledge.sync_detailed(str(number), client=engineer)
    print(conflict.status_code, conflict.parsed)
    assert conflict.status_code == 409
    assert isinstance(conflict.parsed, models.ErrorResponse)
    assert conflict.parsed.error.code == "invalid_transition"
    assert "resolved" in conflict.parsed.error.message.lower()

    # the incident log is Markdown text, not JSON
    text = log.sync_detailed(number, client=engineer)
    assert text.status_code == 200
    assert isinstance(text.parsed, str)
    assert text.parsed.startswith("#"), text.parsed[:200]


@pytest.mark.django_db
def test_a_refused_session_post_under_api_is_the_documented_json_403(
    make_member: MakeMember,
) -> None:
    # A path no API view matched is checked for CSRF before its JSON 404 answers.
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_member(Role.OWNER))
    response = client.post("/api/v1/api-keys/%C2%84/revoke/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"]["code"] == "csrf_failed"

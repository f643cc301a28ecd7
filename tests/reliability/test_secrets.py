"""Secrets and personal data: never in error responses, export manifests or export files."""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from core.roles import Role
from core.services import api_key_create
from ledger_audit import feed
from ledger_audit.services import export_request, export_run
from tests.conftest import MakeMember
from tests.incidents.factories import open_incident
from tests.reliability.conftest import report

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.reliability.boom_urls")
@pytest.mark.parametrize("path", ["/api/v1/boom/", "/boom/"])
def test_a_server_error_shows_no_traceback_and_no_secret(path: str) -> None:
    client = Client(raise_request_exception=False)
    response = client.get(path)
    assert response.status_code == 500
    body = response.content.decode()
    for leak in ("Traceback", "RuntimeError", settings.SECRET_KEY, "pepper-in-message", "boom"):
        assert leak not in body
    if path.startswith("/api/"):
        assert response.json() == {
            "error": {
                "code": "server_error",
                "message": "Internal error; it has been logged with the request id.",
            }
        }
        assert response["X-Request-ID"]


def test_export_manifest_and_file_hold_no_email_password_or_key(
    make_member: MakeMember, exports_dir: Path
) -> None:
    operator = make_member(Role.OPERATOR)
    User.objects.filter(pk=operator.pk).update(email="olga.private@example.test")
    operator.refresh_from_db()
    key = api_key_create(name="k", user=operator).raw
    incident = open_incident(actor=operator, affected_deals=["D-1", "D-2"])
    feed.feed_deal_events_ingest(
        items=[{"deal_id": "D-1", "state": "FUNDED", "occurred_at": "2026-01-01T00:00:00Z"}]
    )
    feed.feed_ledger_entries_ingest(
        items=[
            {
                "entry_id": "E-1",
                "deal_id": "D-1",
                "idempotency_key": "k-1",
                "kind": "hold",
                "amount": "5.00",
                "currency": "EUR",
                "created_at": "2026-01-01T00:00:00Z",
            }
        ]
    )
    export = export_request(incident=incident, actor=operator)
    done = export_run(export_id=export.pk)
    assert done is not None
    manifest_text = json.dumps(done.manifest)
    file_text = (exports_dir / done.file_name).read_text()
    manifest_file = (exports_dir / f"{done.file_name}.manifest.json").read_text()
    documents = {"manifest": manifest_text, "file": file_text, "manifest file": manifest_file}
    secrets = (
        "olga.private@example.test",
        "@",
        operator.password,
        key,
        key.split("_", 2)[2],
        settings.SECRET_KEY,
    )
    leaks = [(name, s) for name, text in documents.items() for s in secrets if s in text]
    assert "D-1" in file_text  # the export is not empty: there was something to leak
    report("secrets", checked_documents=len(documents), secrets=len(secrets), leaks=len(leaks))
    assert leaks == []

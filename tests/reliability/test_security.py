"""API keys (hashed only, constant-time, revocation, never logged or stored in clear), admin
login lockout (django-axes), CSRF on every admin POST, security headers (CSP, frames, HSTS)."""

import hmac
import json
import logging
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.roles import Role
from tests.conftest import ClientFor, MakeMember
from tests.reliability.conftest import report

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _tables_containing(needle: str) -> list[str]:
    """Every table of the database whose any row, as text, contains ``needle``."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*) FROM {quoted} t WHERE position(%s in t::text) > 0",  # noqa: S608
                [needle],
            )
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_api_keys_are_never_stored_in_clear_nor_logged(
    make_member: MakeMember, client_for: ClientFor, caplog, capfd, monkeypatch
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = client_for(make_member(Role.OWNER))
    created = owner.post(
        "/api/v1/api-keys/",
        {"name": "platform", "role": "api-client"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-platform-key",
    )
    assert created.status_code == 201
    raw = created.json()["key"]
    secret_part = raw.split("_", 2)[2]
    # The same Idempotency-Key replays the creation without the key: it was shown once.
    replay = owner.post(
        "/api/v1/api-keys/",
        {"name": "platform", "role": "api-client"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="create-platform-key",
    )
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == created.json()["id"]
    assert secret_part not in replay.content.decode()

    compared: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what core.services calls
    good, bad = APIClient(), APIClient()
    good.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    wrong = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    bad.credentials(HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert good.get("/api/v1/me/").status_code == 200
    refused = bad.get("/api/v1/me/")
    assert refused.status_code == 401
    assert wrong not in refused.content.decode()
    assert len(compared) == 2, "every key check goes through hmac.compare_digest"

    # Never in the database (any table, any column), never in the logs.
    needles = (secret_part, wrong.split("_", 2)[2])
    in_db = [table for needle in needles for table in _tables_containing(needle)]
    assert in_db == []
    captured = capfd.readouterr()
    logs = caplog.text + captured.out + captured.err
    assert "Unauthorized: /api/v1/me/" in logs, "the refused request was logged"
    in_logs = [needle for needle in needles if needle in logs]
    assert in_logs == []

    # Revocation works on the very next request.
    key_id = created.json()["id"]
    assert (
        owner.post(
            f"/api/v1/api-keys/{key_id}/revoke/", {"reason": "rotated"}, format="json"
        ).status_code
        == 200
    )
    assert good.get("/api/v1/me/").status_code == 401
    report(
        "api_keys",
        key_checks_through_compare_digest=len(compared),
        tables_with_raw_key=len(in_db),
        raw_key_in_logs=len(in_logs),
    )


def _login(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    page = client.get("/admin/login/", REMOTE_ADDR=ip)
    token = page.cookies["csrftoken"].value
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
        REMOTE_ADDR=ip,
    )


def test_admin_login_locks_out_after_five_failures_for_fifteen_minutes(
    make_member: MakeMember, caplog
) -> None:
    user = make_member(Role.OPERATOR, username="olga", password="a-long-pass-phrase-9")
    browser = Client(enforce_csrf_checks=True)
    failures = [_login(browser, "olga", "wrong-password").status_code for _ in range(5)]
    # The form again, with an error, four times; the fifth failure locks.
    assert failures == [200, 200, 200, 200, 429]
    locked = _login(browser, "olga", "a-long-pass-phrase-9")
    assert locked.status_code == 429
    assert "_auth_user_id" not in browser.session
    # Locked by username + address: the same person from another address may still log in.
    other = Client(enforce_csrf_checks=True)
    elsewhere = _login(other, "olga", "a-long-pass-phrase-9", ip="10.0.0.2").status_code
    assert elsewhere == 302
    # After the cool-off the right password works again.
    later = timedelta(minutes=16)
    with time_machine.travel(timezone.now() + later):
        again = Client(enforce_csrf_checks=True)
        response = _login(again, "olga", "a-long-pass-phrase-9")
        assert response.status_code == 302
        assert again.session["_auth_user_id"] == str(user.pk)
    assert "a-long-pass-phrase-9" not in caplog.text
    assert "wrong-password" not in caplog.text
    report(
        "admin_lockout",
        attempts=len(failures) + 3,
        locked_at_failure=failures.index(429) + 1,
        other_address_status=elsewhere,
        unlocked_after_minutes=later.seconds // 60,
    )


def _admin_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry

    paths = []
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("admin/") or not pattern.name:
            continue
        names = list(pattern.pattern.regex.groupindex)
        try:
            paths.append(reverse(f"admin:{pattern.name}", kwargs=dict.fromkeys(names, "1")))
        except Exception:  # noqa: S112 - routes that take no such value (jsi18n, r/)
            continue
    return sorted(set(paths))


def test_every_admin_post_without_csrf_token_is_refused(db) -> None:
    root = User.objects.create_superuser("root", "root@example.test", "pw-for-tests")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(root)
    paths = _admin_routes()
    assert len(paths) > 100
    wrong = []
    posted = 0
    for path in paths:
        if path.startswith("/admin/logout/"):
            continue
        response = browser.post(path, {"action": "delete_selected", "_selected_action": ["1"]})
        posted += 1
        if response.status_code != 403:
            wrong.append(f"{path}: {response.status_code}")
    report("csrf_admin", admin_posts=posted, accepted_without_token=len(wrong))
    assert not wrong, "\n".join(wrong)


def test_security_headers_on_admin_and_api(client: Client) -> None:
    for path in ("/admin/login/", "/api/v1/me/", "/healthz/"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src
        assert "'unsafe-eval'" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


def _production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PYTEST"))
    }
    db = connection.settings_dict
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="control-plane.example",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        **extra,
    )
    return env


PROBE = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
django.setup()
from django.conf import settings
from django.test import Client
c = Client(HTTP_HOST="control-plane.example")
secure = c.get("/api/v1/me/", secure=True)
plain = c.get("/api/v1/me/")
print(json.dumps({
    "hsts": secure.get("Strict-Transport-Security"),
    "redirect": [plain.status_code, plain.get("Location")],
    "secret_from_env": settings.SECRET_KEY == os.environ["SECRET_KEY"],
    "pepper_from_env": settings.API_KEY_PEPPER == os.environ["API_KEY_PEPPER"],
    "email_from_env": settings.EMAIL_HOST_PASSWORD == "mail-pw-from-env",
    "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "axes": "axes" in settings.INSTALLED_APPS,
    "storages": sorted(settings.STORAGES),
}))
"""


@pytest.mark.slow
def test_production_sends_hsts_and_reads_secrets_from_the_environment() -> None:
    env = _production_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        API_KEY_PEPPER=secrets.token_urlsafe(32),
        EMAIL_URL="smtp://mailer:mail-pw-from-env@mail.example:587",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert out["redirect"] == [301, "https://control-plane.example/api/v1/me/"]
    assert out["secret_from_env"]
    assert out["pepper_from_env"]
    assert out["email_from_env"]
    assert out["cookies_secure"] == [True, True]
    assert out["axes"]
    # Exports need their storage in production too (a replaced STORAGES once dropped it).
    assert out["storages"] == ["default", "exports", "staticfiles"]

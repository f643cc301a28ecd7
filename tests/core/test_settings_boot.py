"""The embedded default and the production configuration, each in a fresh process."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PYTEST"))
    }
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.slow
def test_embedded_default_boots_with_no_environment(tmp_path: Path) -> None:
    env = _clean_env(VAR_DIR=str(tmp_path / "var"))
    migrate = _run(["manage.py", "migrate", "--noinput", "-v0"], env)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "var" / "db.sqlite3").exists()
    sweep = _run(["manage.py", "sla_sweep_once"], env)  # what beat does every 30 s
    assert sweep.returncode == 0, sweep.stderr
    (tmp_path / "var" / "broker" / "queue").mkdir(parents=True)
    probe = _run(
        [
            "-c",
            "import django, json;"
            "from config.env import settings_module; import os;"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', settings_module());"
            "django.setup();"
            "from django.conf import settings; from django.test import Client;"
            "r = Client(HTTP_HOST='localhost').get('/healthz/');"
            "print(json.dumps({'status': r.status_code, 'body': r.json(),"
            " 'db': settings.DATABASES['default']['ENGINE'],"
            " 'broker': settings.CELERY_BROKER_URL,"
            " 'cache': settings.CACHES['default']['BACKEND'],"
            " 'email': settings.EMAIL_BACKEND}))",
        ],
        env,
    )
    assert probe.returncode == 0, probe.stderr
    out = json.loads(probe.stdout.strip().splitlines()[-1])
    assert out["status"] == 200
    assert out["body"]["status"] == "ok", out["body"]
    assert out["db"] == "django.db.backends.sqlite3"
    assert out["broker"] == "filesystem://"
    assert out["cache"].endswith("LocMemCache")
    assert out["email"].endswith("console.EmailBackend")


def _production_env(**overrides: str) -> dict[str, str]:
    base = {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "control-plane.example",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    base.update(overrides)
    return _clean_env(**base)


@pytest.mark.slow
def test_production_settings_pass_check_deploy_with_no_issue() -> None:
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "secret", ["", "django-insecure-" + "x" * 60, "too-short"], ids=["missing", "insecure", "short"]
)
def test_production_refuses_to_start_without_a_real_secret_key(secret: str) -> None:
    result = _run(["manage.py", "check"], _production_env(SECRET_KEY=secret))
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.slow
def test_production_never_creates_demo_users() -> None:
    result = _run(["manage.py", "seed_demo"], _production_env())
    assert result.returncode != 0
    assert "never created with production settings" in result.stderr


@pytest.mark.slow
def test_production_requires_redis_and_postgres() -> None:
    no_redis = _run(["manage.py", "check"], _production_env(REDIS_URL=""))
    assert "REDIS_URL is required" in no_redis.stderr
    sqlite = _run(["manage.py", "check"], _production_env(DATABASE_URL="sqlite:////tmp/x.db"))
    assert "DATABASE_URL (PostgreSQL) is required" in sqlite.stderr


def test_json_logs_carry_the_request_id(client, caplog) -> None:
    import logging

    from core.logging import JsonFormatter, RequestIdFilter
    from core.request_context import request_id_var

    token = request_id_var.set("req-123")
    try:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("world",), "levelname": "INFO"})
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-123"


@pytest.mark.django_db
def test_request_id_is_echoed_or_generated(client) -> None:
    given = client.get("/healthz/", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/healthz/", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces"
    assert len(made["X-Request-ID"]) == 32

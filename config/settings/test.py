"""The test suite: the machine's real PostgreSQL and Redis (DATABASE_URL / REDIS_URL override)."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pilot_control_plane")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, env

DEBUG = False
SECRET_KEY = "django-insecure-test-key-only-for-the-test-suite-0123456789"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Parallel test runs (pytest-xdist) each get their own cache namespace.
CACHES["default"]["KEY_PREFIX"] = "pcp-test-" + env.str("PYTEST_XDIST_WORKER", default="main")
# The suite's receivers listen on loopback; outbound delivery refuses it unless allowed here.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]

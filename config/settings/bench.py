"""Benchmarks (``make bench``): test-like settings on their own PostgreSQL database (pcp_bench)
and Redis database (9), DEBUG off, plus a bare baseline view (``bench/urls.py``)."""

import os

os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pcp_bench"
)
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, LOGGING, REST_FRAMEWORK

DEBUG = False
SECRET_KEY = "django-insecure-bench-key-only-for-the-benchmarks-0123456789abcdef"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES["default"]["KEY_PREFIX"] = "pcp-bench"
ROOT_URLCONF = "bench.urls"
# The load generator sends one key's requests far beyond the production default (6000/min, which
# would answer 429 after 6,000 requests). The throttle still does its bookkeeping on every
# request, over a one-second window (a history list of at most ~1 s of requests, comparable to
# the production minute at its 100 req/s limit); it just never refuses one here.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"client": "1000000/s"}
LOGGING["root"]["level"] = "ERROR"  # e.g. "nobody on the roster to notify" per incident

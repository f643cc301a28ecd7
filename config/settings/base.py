"""Settings shared by every environment. Everything an operator may change is an environment
variable read through django-environ and documented in the README."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
if env.bool("READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# Everything the embedded default writes (database, broker queues, exports) lives here.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "core.api.exceptions.csrf_failure"  # JSON under /api/

INSTALLED_APPS = [
    "core.admin_site.ConsoleAdminConfig",  # django.contrib.admin, app list cached
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "incidents",
    "pilot",
    "ledger_audit",
    "console",  # operator console: dashboard, reports
    "axes",  # login throttling and lockout
]

MIDDLEWARE = [
    "core.http_metrics.HttpMetricsMiddleware",  # first: its latency covers the whole stack
    "core.middleware.RequestIdMiddleware",
    "core.access_log.AccessLogMiddleware",  # only while ACCESS_LOG (production)
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",
    "core.middleware.NulRefusingMiddleware",
    "pilot.middleware.ConfigReadMiddleware",  # the platform's hot path: see there
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its response
]
# Axes first: it refuses a locked-out username+address before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# No inline script anywhere (styles: the admin uses style attributes). Data: URIs for admin icons.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    ),
)
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pilot.context_processors.pilot_banner",  # pilot
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Embedded default: SQLite under var/, in WAL mode so the web server, the worker and beat can
# share it. Set DATABASE_URL (postgres://...) for anything real.
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES: dict[str, dict[str, Any]] = {"default": env.db("DATABASE_URL", default=_SQLITE_DEFAULT)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and Django cache --------------------------------------------------
REDIS_URL: str = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pcp"),
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Email ----------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="pilot-control-plane@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# How long an API key's authentication (key, user, permissions) may be served from the cache.
# Revocation and any change of users, groups or permissions invalidate it at once regardless.
API_KEY_CACHE_SECONDS = env.int("API_KEY_CACHE_SECONDS", default=300)
# Keyed hash of API keys: HMAC-SHA256 with this pepper (falls back to SECRET_KEY).
API_KEY_PEPPER: str = env.str("API_KEY_PEPPER", default="")

# --- I18N / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.BearerKeyAuthentication",
        "core.authentication.JSONSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ActionPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.PerClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"client": env.str("API_THROTTLE_RATE", default="6000/min")},
    "EXCEPTION_HANDLER": "core.api.exceptions.json_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",  # documents every error response
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pilot Control Plane API",
    "DESCRIPTION": "Incidents, the pilot's runtime switches and the ledger-audit feed.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Feed batches of 5,000 items fit well within this (bodies are read whole for Idempotency-Key).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
# How long a completed response is replayed for the same Idempotency-Key.
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=24 * 3600)
# A claim older than this is considered abandoned (its request died) and may be taken over.
IDEMPOTENCY_STALE_SECONDS = env.int("IDEMPOTENCY_STALE_SECONDS", default=600)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=900)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=840)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic work. Each app's issue adds its entries here (the SLA sweep, full detector scans...).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "core-purge-idempotency-records": {
        "task": "core.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
}
# The audit chain's head is published this often (a checkpoint row, one log line, /metrics): the
# anchor ``verify_audit --expect SEQ:HASH`` checks a later chain against.
AUDIT_CHECKPOINT_SECONDS = env.float("AUDIT_CHECKPOINT_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["core-audit-checkpoint"] = {
    "task": "core.tasks.audit_checkpoint",
    "schedule": AUDIT_CHECKPOINT_SECONDS,
    "options": {"expires": AUDIT_CHECKPOINT_SECONDS},
}

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "json" in production
# One line per request (core.access logger: method, route, status, duration_ms, request id).
ACCESS_LOG = env.bool("ACCESS_LOG", default=False)  # production: on
# The same LOGGING configures the web process, the Celery worker and beat (config/celery_app.py).
LOGGING_CONFIG = "core.logging.configure"
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.logging.RequestIdFilter"},
        "client_errors": {"()": "core.logging.ClientErrorFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "client_errors"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Warnings (captured by core.logging.configure) go through the console handler too,
        # not Django's default handler, which would print them as bare text.
        "py.warnings": {"handlers": [], "propagate": True},
    },
}

# Demo users and the demo pilot are created only where this is true (never in production).
DEMO_DATA_ALLOWED = True

# --- incidents ----------------------------------------------------------------
# OpenAPI: the incident enums keep stable names (other apps also have "status" fields).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **dict(SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES") or {}),  # type: ignore[call-overload]
    "IncidentStatusEnum": "incidents.enums.Status",
    "IncidentSeverityEnum": "incidents.enums.Severity",
    "IncidentCategoryEnum": "incidents.enums.Category",
}
# The SLA clock. Business calendar for SEV2 (business hours) and SEV3 (next business
# day): zone, working days (Monday = 0, "0-4" = Mon-Fri), hours, public holidays by country
# (``holidays`` package; empty: none) — extra days off are edited in the admin.
SLA_TIME_ZONE = env.str("SLA_TIME_ZONE", default="UTC")
SLA_WORKING_DAYS = env.str("SLA_WORKING_DAYS", default="0-4")
SLA_WORKING_HOURS = env.str("SLA_WORKING_HOURS", default="09:00-17:00")
SLA_HOLIDAY_COUNTRY = env.str("SLA_HOLIDAY_COUNTRY", default="")
SLA_HOLIDAY_SUBDIV = env.str("SLA_HOLIDAY_SUBDIV", default="")
# The sweep fires due deadlines; /healthz/ is degraded after 3 intervals without a run.
SLA_SWEEP_SECONDS = env.int("SLA_SWEEP_SECONDS", default=30)
SLA_SWEEP_BATCH = env.int("SLA_SWEEP_BATCH", default=1000)
# Outbound delivery (core/delivery.py), one group for incident notifications (webhook and
# email) and config-change webhooks: the POST timeout, attempts before giving up, the backoff
# after the n-th failure (base · 2^(n-1) seconds, capped) and how overdue a queued delivery is
# before a sweep re-queues it.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_BACKOFF_SECONDS = env.int("WEBHOOK_BACKOFF_SECONDS", default=10)
WEBHOOK_BACKOFF_MAX_SECONDS = env.int("WEBHOOK_BACKOFF_MAX_SECONDS", default=1800)
WEBHOOK_SWEEP_GRACE_SECONDS = env.int("WEBHOOK_SWEEP_GRACE_SECONDS", default=30)
# Where outbound delivery may connect: plain http only while this is true (production sets
# https only), and addresses that are not public (loopback, private, link-local, ...) only
# inside these CIDRs, for receivers deliberately run on an internal network.
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=True)
WEBHOOK_ALLOWED_NETWORKS: list[str] = env.list("WEBHOOK_ALLOWED_NETWORKS", default=[])
# Links in notifications point here (e.g. https://pcp.example.com); empty: no link.
SLA_PUBLIC_URL = env.str("SLA_PUBLIC_URL", default="")
# /metrics (Prometheus text): a bearer token, or else these client addresses only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS: list[str] = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# The Celery queues whose depth /metrics shows (the tasks' own queue= names and the default).
METRICS_CELERY_QUEUES = ("default", "sla", "exports")
CELERY_BEAT_SCHEDULE["incidents-sla-sweep"] = {
    "task": "incidents.tasks.sla_sweep",
    "schedule": float(SLA_SWEEP_SECONDS),
    "options": {"expires": float(SLA_SWEEP_SECONDS)},
}

# --- pilot ------------------------------------------------------------------------
# Seconds a cached copy of the pilot config may live (writers refresh it on every change; the
# TTL only bounds staleness after a refresh lost to a cache outage).
PILOT_CONFIG_CACHE_TTL = env.int("PILOT_CONFIG_CACHE_TTL", default=60)
CELERY_BEAT_SCHEDULE["pilot-sweep-webhook-deliveries"] = {
    "task": "pilot.tasks.sweep_webhook_deliveries",
    "schedule": 60.0,
}

# --- ledger_audit -----------------------------------------------------------------
# Detector thresholds (seconds unless named otherwise).
LEDGER_AUDIT_TIMER_MISSING_GRACE_SECONDS = env.int(
    "LEDGER_AUDIT_TIMER_MISSING_GRACE_SECONDS", default=300
)
LEDGER_AUDIT_TIMER_EXPIRED_GRACE_SECONDS = env.int(
    "LEDGER_AUDIT_TIMER_EXPIRED_GRACE_SECONDS", default=600
)
LEDGER_AUDIT_DISPUTE_TTL_GRACE_SECONDS = env.int(
    "LEDGER_AUDIT_DISPUTE_TTL_GRACE_SECONDS", default=0
)
LEDGER_AUDIT_STUCK_DAYS = env.int("LEDGER_AUDIT_STUCK_DAYS", default=7)
# Feed batches: at most this many items per request.
LEDGER_AUDIT_FEED_MAX_BATCH = env.int("LEDGER_AUDIT_FEED_MAX_BATCH", default=5000)
# Exports: JSONL timeline files (filesystem by default; any Django storage backend, e.g.
# django-storages' S3 backend, through LEDGER_AUDIT_EXPORTS_STORAGE_BACKEND + _OPTIONS JSON).
LEDGER_AUDIT_EXPORTS_DIR = Path(
    env.str("LEDGER_AUDIT_EXPORTS_DIR", default=str(VAR_DIR / "exports"))
)
LEDGER_AUDIT_EXPORT_PROGRESS_EVERY = env.int("LEDGER_AUDIT_EXPORT_PROGRESS_EVERY", default=5000)
# A ``*.part`` file untouched this long belongs to a dead writer and is swept.
LEDGER_AUDIT_EXPORT_PART_MAX_AGE_SECONDS = env.int(
    "LEDGER_AUDIT_EXPORT_PART_MAX_AGE_SECONDS", default=3600
)
STORAGES["exports"] = {
    "BACKEND": env.str(
        "LEDGER_AUDIT_EXPORTS_STORAGE_BACKEND",
        default="django.core.files.storage.FileSystemStorage",
    ),
    "OPTIONS": env.json(
        "LEDGER_AUDIT_EXPORTS_STORAGE_OPTIONS",
        default={"location": str(LEDGER_AUDIT_EXPORTS_DIR)},
    ),
}
# Detection: the outbox sweep catches batches whose task never ran; the full scan re-checks
# everything (time-based detectors fire as time passes) and clears what no longer shows.
CELERY_BEAT_SCHEDULE["ledger-audit-detection-sweep"] = {
    "task": "ledger_audit.tasks.detection_sweep",
    "schedule": env.float("LEDGER_AUDIT_SWEEP_SECONDS", default=30.0),
}
CELERY_BEAT_SCHEDULE["ledger-audit-sweep-export-parts"] = {
    "task": "ledger_audit.tasks.sweep_export_parts",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["ledger-audit-full-scan"] = {
    "task": "ledger_audit.tasks.full_scan",
    "schedule": env.float("LEDGER_AUDIT_FULL_SCAN_SECONDS", default=300.0),
}

# --- security ---------------------------------------------------------------------
# Admin login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username from
# one address, that pair is locked out for AXES_COOLOFF_MINUTES (answer 429); a success resets it.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
# Behind a reverse proxy every request comes from the proxy: name its addresses (CIDRs) and the
# lockout keys on the client address it forwards (X-Forwarded-For). Unset, the header is ignored.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "core.security.client_ip"
# Redis transport: an unacknowledged task (its worker died) is delivered again after this many
# seconds. Keep it above the longest task (exports) in production.
# How often the worker looks for such abandoned messages: every interval * throttle seconds.
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
            "unacked_restore_interval": env.int("CELERY_BROKER_RESTORE_INTERVAL", default=10),
            "unacked_restore_throttle": env.int("CELERY_BROKER_RESTORE_THROTTLE", default=10),
        }
    )
# Hostile JSON (nested thousands deep) is a 400, not a RecursionError (500).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["core.api.parsers.SafeJSONParser"]
# No ``?format=`` override: an unknown value made DRF answer 404 before authentication; the
# representation is chosen by the Accept header (and the incident log's ``.md`` path) only.
REST_FRAMEWORK["URL_FORMAT_OVERRIDE"] = None

# --- console ----------------------------------------------------------------------
# Go/No-Go: below this share of incidents acknowledged by their response deadline the report
# recommends NO_GO (so does any open SEV0/SEV1). Default period: the last N days.
GO_NO_GO_MIN_COMPLIANCE = env.float("GO_NO_GO_MIN_COMPLIANCE", default=0.9)
GO_NO_GO_DEFAULT_DAYS = env.int("GO_NO_GO_DEFAULT_DAYS", default=14)
# How many open incidents / findings / requests the dashboard lists (counts are always full).
CONSOLE_DASHBOARD_LIMIT = env.int("CONSOLE_DASHBOARD_LIMIT", default=25)

# --- alert receivers (Alertmanager, Grafana) ----------------------------------------
# One incident per alert group (Alertmanager's groupKey) while it is open, or per alert
# ("fingerprint"): the receiver's grouping then decides nothing.
ALERT_DEDUP_BY = env.str("ALERT_DEDUP_BY", default="group")
# Alert ``severity`` label → incident severity (lower-cased label); ``pcp_severity`` (SEV0-SEV3)
# wins over it. A value in neither opens as ALERT_DEFAULT_SEVERITY and says so on the timeline.
ALERT_SEVERITY_MAP: dict[str, str] = env.json(
    "ALERT_SEVERITY_MAP",
    default={
        "critical": "SEV0",
        "high": "SEV1",
        "error": "SEV1",
        "warning": "SEV2",
        "info": "SEV3",
    },
)
ALERT_DEFAULT_SEVERITY = env.str("ALERT_DEFAULT_SEVERITY", default="SEV2")
# The most alerts one payload may carry (Alertmanager sends a whole group at once).
ALERT_MAX_PER_PAYLOAD = env.int("ALERT_MAX_PER_PAYLOAD", default=5000)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **dict(SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES") or {}),  # type: ignore[call-overload]
    "AlertStatusEnum": "incidents.models.alerts.AlertStatus",
}

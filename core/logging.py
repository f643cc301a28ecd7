"""Log plumbing: every record carries the request id (and, in a Celery task, the task's id and
name); ``LOG_FORMAT=json`` writes one JSON object a line, web, worker and beat alike."""

import json
import logging
import logging.config
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.request_context import request_id_var

# ``request`` (Django's request object on django.request lines) is reduced to its id and path
# rather than printed as a repr.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
    "task_name",
    "request",
}


def configure(config: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG`` (and Celery's, see core.celery_logging): the dict config, and
    Python's warnings logged as records (so in JSON too) rather than printed as bare text."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def json_logs() -> bool:
    """Whether this process writes JSON lines (production's default, ``LOG_FORMAT=json``)."""
    from django.conf import settings

    formatter = settings.LOGGING.get("handlers", {}).get("console", {}).get("formatter")
    return str(formatter or os.environ.get("LOG_FORMAT", "text")) == "json"


def _task_fields(record: logging.LogRecord) -> tuple[str | None, str | None]:
    # Celery's worker lines about a task ("Task %(name)s[%(id)s] received/succeeded") pass the
    # task as a mapping argument and are logged outside the task; inside it, the current task.
    args = record.args
    if isinstance(args, Mapping) and "id" in args and "name" in args:
        return str(args["id"]), str(args["name"])
    if "celery" not in sys.modules:  # a web process never pays for importing Celery here
        return None, None
    from celery._state import get_current_task

    task = get_current_task()
    if task is None or not task.request.id:
        return None, None
    return str(task.request.id), str(task.name)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id == "-":
            # django.request's "Forbidden: /path" is logged after the middleware chain returned
            # (the context variable is reset by then); the request object still carries its id.
            request_id = getattr(getattr(record, "request", None), "request_id", request_id)
        record.request_id = request_id
        record.task_id, record.task_name = _task_fields(record)
        return True


class ClientErrorFilter(logging.Filter):
    """A 4xx is the client's mistake, not ours: its line (django.request's "Forbidden
    (Permission denied)", a SuspiciousOperation's 400) is a WARNING with no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
            if record.levelno > logging.WARNING:
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        task_id = getattr(record, "task_id", None)
        if task_id:
            payload["task_id"] = task_id
            payload["task_name"] = getattr(record, "task_name", None)
        request: Any = getattr(record, "request", None)
        if request is not None and hasattr(request, "method"):
            payload["method"] = request.method
            payload["path"] = request.path
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = (
                    value if isinstance(value, str | int | float | bool | dict) else str(value)
                )
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)

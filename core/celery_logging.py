"""Celery's worker and beat log through Django's LOGGING, so ``LOG_FORMAT=json`` makes every
line they write one JSON object (task lines with ``task_id``/``task_name``, see core.logging).

Celery would otherwise install its own text handlers, print an ASCII banner, and write its
shutdown notices straight to the terminal; with JSON logs the banner is left out (its facts are
logged as one line) and those notices are logged."""

import logging
from typing import Any

from celery.apps import worker as celery_worker
from celery.apps.beat import Beat
from celery.apps.worker import Worker

from core.logging import configure, json_logs

logger = logging.getLogger("celery.worker")


def setup_logging(**_: Any) -> None:
    """A ``setup_logging`` receiver: with one connected Celery configures no logging of its own
    (in the main process and in each pool child) and Django's LOGGING applies as it stands."""
    from django.conf import settings

    configure(settings.LOGGING)


def _logged_say(msg: str, f: Any = None) -> None:
    logger.warning("%s", msg.strip())


class JsonAwareWorker(Worker):
    def on_before_init(self, quiet: bool = False, **kwargs: Any) -> None:
        if json_logs():
            quiet = True
            # The module's shutdown/restart notices are written with os.write to the terminal.
            setattr(celery_worker, "safe_say", _logged_say)  # noqa: B010 - not in the stubs
        super().on_before_init(quiet=quiet, **kwargs)

    def on_start(self) -> None:
        super().on_start()
        if getattr(self, "quiet", False):
            hostname = getattr(self, "hostname", "")
            logger.info(
                "worker %s started",
                hostname,
                extra={
                    "hostname": hostname,
                    "queues": ",".join(sorted(self.app.amqp.queues.keys())),
                    "concurrency": getattr(self, "concurrency", None),
                },
            )


class JsonAwareBeat(Beat):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["quiet"] = bool(kwargs.get("quiet")) or json_logs()
        super().__init__(*args, **kwargs)

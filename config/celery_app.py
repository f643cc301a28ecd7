"""The one Celery app. Configured from ``CELERY_*`` settings; tasks autodiscovered from the apps."""

import os
from typing import Any

from celery import Celery, signals
from kombu.utils.objects import cached_property

from config.env import settings_module

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()


class App(Celery):
    """Worker and beat programs that leave out their banner when logs are JSON."""

    @cached_property
    def Worker(self) -> Any:  # noqa: N802 - Celery's name
        return self.subclass_with_self("core.celery_logging:JsonAwareWorker")  # type: ignore[arg-type]

    @cached_property
    def Beat(self) -> Any:  # noqa: N802 - Celery's name
        return self.subclass_with_self("core.celery_logging:JsonAwareBeat")  # type: ignore[arg-type]


app = App("pilot_control_plane")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _django_logging(**kwargs: Any) -> None:
    from core.celery_logging import setup_logging

    setup_logging(**kwargs)

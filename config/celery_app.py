"""The one Celery app. Configured from ``CELERY_*`` settings; tasks autodiscovered from the apps."""

import os

from celery import Celery

from config.env import settings_module

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()

app = Celery("pilot_control_plane")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

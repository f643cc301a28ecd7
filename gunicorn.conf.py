"""gunicorn reads this file from the working directory by itself: its own lines (booting,
workers, timeouts) are JSON too when the application's are (``LOG_FORMAT=json``, production's
default), with the formatter the application uses. Requests are logged by the application
(``ACCESS_LOG``, core.access_log), so gunicorn's access log stays off."""

import os

from config.env import settings_module

_settings = os.environ.get("DJANGO_SETTINGS_MODULE") or settings_module()
_default = "json" if _settings == "config.settings.production" else "text"
if os.environ.get("LOG_FORMAT", _default) == "json":
    # Merged over gunicorn's defaults: its handlers keep their streams, their formatter is ours.
    logconfig_dict = {"formatters": {"generic": {"()": "core.logging.JsonFormatter"}}}

"""Development / the embedded default: no environment needed at all."""

from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, SECRET_KEY, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Visibly fake: never valid in production (production refuses to start without a real key).
SECRET_KEY = SECRET_KEY or "django-insecure-local-development-key-do-not-use-in-production"
ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]

import os

from django.core.asgi import get_asgi_application

from config.env import settings_module

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()

application = get_asgi_application()

import os

from django.core.wsgi import get_wsgi_application

from config.env import settings_module

if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()

application = get_wsgi_application()

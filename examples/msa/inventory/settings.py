"""Django settings of the inventory service: no database, no apps, just views.

The two msatrace lines: ``msatrace.init()`` below, and the middleware first in ``MIDDLEWARE``.
"""

from __future__ import annotations

import msatrace

msatrace.init(service_name="inventory")

SECRET_KEY = "demo-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "inventory.urls"
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
MIDDLEWARE = [
    "msatrace.django.TraceMiddleware",  # first: it sees every request and every exception
    "django.middleware.common.CommonMiddleware",
]
USE_TZ = True
